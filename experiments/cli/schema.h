/* schema.h: the whole schema of qadapt's configs (exp_schema): every
 * section the run and the methods read, in order, and [experiment], whose
 * method key chooses from the method registry. Loading a config binds it
 * here (exp_config.schema points at exp_schema), so the layers below can
 * render, compare and describe a config without knowing the methods.
 *
 * Deliberately not here: the sections' structs and keys (run/schema.h,
 * methods/sections.h), INI syntax (config/config.h). */
#ifndef EXP_CLI_SCHEMA_H
#define EXP_CLI_SCHEMA_H

#include "experiments/run/schema.h"

extern const cfg_schema exp_schema;

/* Every key at its default, bound to exp_schema. */
int exp_config_defaults(exp_config *c, qa_err *err);
/* Defaults, then the file (NULL: none), then each "section.key=value" of
 * sets in order, then exp_config_check. */
int exp_config_load(exp_config *c, const char *path, char *const *sets, int nsets,
                    qa_err *err);
/* The same from the config stored in run file `run` (its /config; keys
 * that moved since are read in their new place), then sets, then the
 * check: a finished run's config for qadapt eval and export. */
int exp_config_load_run(exp_config *c, const char *run, char *const *sets, int nsets,
                        qa_err *err);
/* The run's rules across keys and each section's own check; messages say
 * where the offending keys were set. */
int exp_config_check(exp_config *c, qa_err *err);

#endif
