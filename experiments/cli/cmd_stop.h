/* cmd_stop.h: Ctrl-C for the commands that run one training, qadapt run
 * and qadapt eval: SIGINT/SIGTERM raise a flag the run loop checks after
 * every step (exp_run_opts.stop); a second one ends the process at once,
 * removing the files the run was writing under temporary names (a
 * run.h5.part, a ckpt.h5.tmp: they stayed until the next run).
 *
 * Deliberately not here: qadapt sweep, whose handler stays installed and
 * counts signals to forward them to its children (cmd_sweep.c). */
#ifndef EXP_CMD_STOP_H
#define EXP_CMD_STOP_H

#include <signal.h>

/* The flag the handlers raise: for exp_run_opts.stop. */
volatile sig_atomic_t *exp_stop_flag(void);
/* Installs the SIGINT/SIGTERM handlers. */
void exp_stop_on_signals(void);
/* A file a second signal removes (exp_run_opts.temp_file); up to 4. */
void exp_stop_remove_on_exit(const char *path);

#endif
