/* dirlock.h: claiming the folder a qadapt process writes into: a run's
 * folder (its run.h5, ckpt.h5) or a sweep's. The folder is created if
 * needed, must be writable, and is locked for the caller: an exclusive
 * flock on the folder itself, so no lock file is left behind and a lock
 * never goes stale (the kernel drops it when its process ends, however it
 * ends: the next process simply takes it over). The descriptor is
 * close-on-exec, so child processes (a sweep's points) do not hold their
 * parent's lock. Advisory: it keeps qadapt processes apart, nothing else.
 *
 * Deliberately not here: what is written there (h5log.h, ckpt.h). */
#ifndef EXP_DIRLOCK_H
#define EXP_DIRLOCK_H

#include "nn/status.h"

/* Creates dir (and its parents), checks it is writable and locks it;
 * *fd gets the lock (-1 on failure). what names the holder in the
 * refusal: "runs/x is in use by another qadapt process (<what>)". */
int exp_dir_claim(const char *dir, const char *what, int *fd, qa_err *err);
/* exp_dir_claim, retried for up to seconds while another process holds
 * the lock (a point of a killed sweep still closing its run file). */
int exp_dir_claim_wait(const char *dir, const char *what, double seconds, int *fd,
                       qa_err *err);
/* The folder of path (a file), claimed as exp_dir_claim. */
int exp_dir_claim_for(const char *path, const char *what, int *fd, qa_err *err);
/* Releases a lock from exp_dir_claim; fd < 0 is a no-op. */
void exp_dir_release(int fd);

#endif
