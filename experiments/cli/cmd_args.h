/* cmd_args.h: the option syntax shared by qadapt run, sweep, eval and
 * search: "--opt value" and "--opt=value"; the arguments of the commands
 * that run one config (run, search).
 *
 * Deliberately not here: which options a command has (its cmd_*.c). */
#ifndef EXP_CMD_ARGS_H
#define EXP_CMD_ARGS_H

#include <stddef.h>

#include "nn/status.h"

/* 1 when arg is opt itself or "opt=...": "--set" is not "--settle". */
int exp_arg_is(const char *arg, const char *opt);
/* The value of option opt at argv[*i]: after its '=' or the next argument
 * (*i then moves to it); an error naming opt and `qadapt <command> --help`
 * when there is none or it is empty. */
int exp_arg_value(int argc, char **argv, int *i, const char *opt, const char *command,
                  const char **val, qa_err *err);

/* CONFIG [--set section.key=value ...] [--out DIR] [--resume] */
typedef struct {
    const char *config, *out;
    char **sets; /* room for argc entries, the caller's */
    int nsets;
    int resume;
} exp_config_args;

/* argv[1..] into a; errors name `qadapt <command> --help`. */
int exp_config_args_parse(int argc, char **argv, const char *command, exp_config_args *a,
                          qa_err *err);
/* "qadapt ARG ..." of argv into buf: the command line a result file stores. */
void exp_args_join(int argc, char **argv, char *buf, size_t n);

#endif
