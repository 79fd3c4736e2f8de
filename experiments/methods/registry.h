/* registry.h: the table of training methods a config can name
 * ([experiment] method). One line per method in registry.c; each method is
 * its own file, experiments/methods/method_<name>.c, defining a const
 * exp_method (the hooks: experiments/run/method.h). A program may add its
 * own methods (a test's, an experiment's) with exp_method_register, before
 * it loads a config: the config then names them like the built-in ones.
 *
 * Deliberately not here: the hooks themselves (run/method.h), the methods. */
#ifndef EXP_REGISTRY_H
#define EXP_REGISTRY_H

#include "experiments/run/run.h"

/* The table: index i is what [experiment] method stores. */
const exp_method *exp_method_get(int i);
/* Name of entry i, NULL past the end (the schema's enum choices). */
const char *exp_method_choice(int i);
/* The method of that name, NULL when none has it. */
const exp_method *exp_method_find(const char *name);
/* Appends m (which must outlive every run) after the table; an error when
 * its name is taken or the room for added methods (8) is used up. Not
 * thread-safe: register before loading configs. */
int exp_method_register(const exp_method *m, qa_err *err);

/* Runs cfg with the method it names: open, train every epoch, close
 * (run.h). Returns as exp_run_close does. */
int exp_run_main(const exp_config *cfg, const exp_run_opts *opts, exp_run_result *res,
                 qa_err *err);

#endif
