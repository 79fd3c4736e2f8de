/* commands.h: the subcommands of the qadapt executable.
 *
 * A command is `int exp_cmd_<name>(int argc, char **argv, qa_err *err)`
 * in experiments/cli/cmd_<name>.c, with argv[0] the command's name. It handles
 * --help itself (usage on stdout, return 0), writes its normal output to
 * stdout and returns 0 or a negative qa_status with err filled; main.c
 * prints the error and picks the exit code (QA_ERR_ARG: 2, bad usage;
 * QA_ERR_INTERRUPTED: 130; others: 1). To add one: declare it here and add
 * one line to the table in main.c. */
#ifndef EXP_COMMANDS_H
#define EXP_COMMANDS_H

#include "nn/status.h"

int exp_cmd_run(int argc, char **argv, qa_err *err);
int exp_cmd_info(int argc, char **argv, qa_err *err);
int exp_cmd_sweep(int argc, char **argv, qa_err *err);
int exp_cmd_report(int argc, char **argv, qa_err *err);
int exp_cmd_corrupt(int argc, char **argv, qa_err *err);
int exp_cmd_eval(int argc, char **argv, qa_err *err);
int exp_cmd_export(int argc, char **argv, qa_err *err);
int exp_cmd_infer(int argc, char **argv, qa_err *err);
int exp_cmd_search(int argc, char **argv, qa_err *err);

#endif
