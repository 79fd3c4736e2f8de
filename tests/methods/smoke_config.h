/* smoke_config.h: configs/smoke.ini as the method tests load it, with the
 * test's base --set arguments and a case's extra ones after them (so a
 * case overrides the base). The source root is fixed at build time
 * (QA_SOURCE_ROOT), not read from the environment. */
#ifndef TEST_SMOKE_CONFIG_H
#define TEST_SMOKE_CONFIG_H

#include "experiments/cli/schema.h"

/* Loads into c (the caller's); QA_OK or exp_config_load's error. */
int smoke_config_load(exp_config *c, const char *const *base, int nbase, char *const *extra,
                      int nextra, qa_err *err);

#endif
