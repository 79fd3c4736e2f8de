/* registry.h: the table of training methods a config can name
 * ([experiment] method). One line per method in registry.c; each method is
 * its own file, experiments/methods/method_<name>.c, defining a const
 * exp_method (the hooks: experiments/run/method.h).
 *
 * Deliberately not here: the hooks themselves (run/method.h), the methods. */
#ifndef EXP_REGISTRY_H
#define EXP_REGISTRY_H

#include "experiments/run/run.h"

/* The table: index i is what [experiment] method stores. */
const exp_method *exp_method_get(int i);
/* Name of entry i, NULL past the end (the schema's enum choices). */
const char *exp_method_choice(int i);

/* Runs cfg with the method it names (run.h: exp_run_with). */
int exp_run_main(const exp_config *cfg, const exp_run_opts *opts, exp_run_result *res,
                 qa_err *err);

#endif
