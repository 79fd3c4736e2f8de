/* cmd_stop.c: the stop flag of qadapt run and qadapt eval. */
#include "experiments/cli/cmd_stop.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { MAX_TEMP = 4 };

static volatile sig_atomic_t stop_flag;
static char temp_path[MAX_TEMP][1100];
static volatile sig_atomic_t ntemp;

/* The first signal asks the run to stop; the second ends the process
 * now, after removing the run's temporary files (unlink is
 * async-signal-safe), and dies of the signal as if unhandled. */
static void on_signal(int sig)
{
    if (!stop_flag) {
        stop_flag = 1;
        return;
    }
    for (int i = 0; i < ntemp; i++)
        unlink(temp_path[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void exp_stop_remove_on_exit(const char *path)
{
    if (ntemp < MAX_TEMP) {
        snprintf(temp_path[ntemp], sizeof temp_path[0], "%s", path);
        ntemp++;
    }
}

volatile sig_atomic_t *exp_stop_flag(void)
{
    return &stop_flag;
}

void exp_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
