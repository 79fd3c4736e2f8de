/* cmd_args.h: the option syntax shared by qadapt run, sweep and eval:
 * "--opt value" and "--opt=value".
 *
 * Deliberately not here: which options a command has (its cmd_*.c). */
#ifndef EXP_CMD_ARGS_H
#define EXP_CMD_ARGS_H

#include "nn/status.h"

/* 1 when arg is opt itself or "opt=...": "--set" is not "--settle". */
int exp_arg_is(const char *arg, const char *opt);
/* The value of option opt at argv[*i]: after its '=' or the next argument
 * (*i then moves to it); an error naming opt and `qadapt <command> --help`
 * when there is none or it is empty. */
int exp_arg_value(int argc, char **argv, int *i, const char *opt, const char *command,
                  const char **val, qa_err *err);

#endif
