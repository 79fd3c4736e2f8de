/* dirlock.c: see dirlock.h. */
#include "experiments/io/dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* mkdir -p dir */
static int make_dirs(const char *dir, qa_err *err)
{
    char d[1024];
    if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d)
        return qa_fail(err, QA_ERR_ARG, "folder name is too long: %s", dir);
    for (char *p = d + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(d, 0777) != 0 && errno != EEXIST)
            return qa_fail(err, QA_ERR_IO, "%s: cannot create the folder: %s", d,
                           strerror(errno));
        if (!c)
            return QA_OK;
        *p = c;
    }
}

/* exp_dir_claim's work; *busy is set when another process holds the lock */
static int claim(const char *dir, const char *what, int *fd, int *busy, qa_err *err)
{
    *fd = -1;
    *busy = 0;
    if (!dir[0])
        return qa_fail(err, QA_ERR_ARG, "empty folder name");
    int rc = make_dirs(dir, err);
    if (rc)
        return rc;
    if (access(dir, W_OK | X_OK) != 0)
        return qa_fail(err, QA_ERR_IO, "%s: cannot write in this folder: %s", dir,
                       strerror(errno));
    int f = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f < 0)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open the folder: %s", dir, strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) == 0) {
        *fd = f;
        return QA_OK;
    }
    int e = errno;
    close(f);
    if (e != EWOULDBLOCK)
        return QA_OK; /* a file system without flock (some network mounts): unlocked */
    *busy = 1;
    return qa_fail(err, QA_ERR_IO, "%s is in use by another qadapt process (%s); wait for it to "
                   "end or stop it", dir, what);
}

int exp_dir_claim(const char *dir, const char *what, int *fd, qa_err *err)
{
    int busy;
    return claim(dir, what, fd, &busy, err);
}

int exp_dir_claim_wait(const char *dir, const char *what, double seconds, int *fd,
                       qa_err *err)
{
    const struct timespec pause = {0, 50 * 1000 * 1000};
    for (int tries = (int)(seconds / 0.05);; tries--) {
        int busy, rc = claim(dir, what, fd, &busy, err);
        if (!busy || tries <= 0)
            return rc;
        nanosleep(&pause, NULL);
    }
}

int exp_dir_claim_for(const char *path, const char *what, int *fd, qa_err *err)
{
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path) >=
             (int)sizeof dir)
        return qa_fail(err, QA_ERR_ARG, "path is too long: %s", path);
    return exp_dir_claim(dir, what, fd, err);
}

void exp_dir_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
