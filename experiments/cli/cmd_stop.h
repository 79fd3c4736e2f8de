/* cmd_stop.h: Ctrl-C for the commands that run one training, qadapt run
 * and qadapt eval: SIGINT/SIGTERM raise a flag the run loop checks after
 * every step (exp_run_opts.stop); the handler resets itself, so a second
 * Ctrl-C ends the process at once.
 *
 * Deliberately not here: qadapt sweep, whose handler stays installed and
 * counts signals to forward them to its children (cmd_sweep.c). */
#ifndef EXP_CMD_STOP_H
#define EXP_CMD_STOP_H

#include <signal.h>

/* The flag the handlers raise: for exp_run_opts.stop. */
volatile sig_atomic_t *exp_stop_flag(void);
/* Installs the one-shot SIGINT/SIGTERM handlers. */
void exp_stop_on_signals(void);

#endif
