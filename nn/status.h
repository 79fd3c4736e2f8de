/* status.h: qadapt's error convention, shared by every module.
 *
 * A fallible function returns int (QA_OK or a negative qa_status) and takes a
 * qa_err *err last; on failure it fills err->msg with a sentence naming the
 * file, line, key or value that is wrong and what was expected. Only main.c
 * prints and exits. QA_ASSERT is for programmer errors (broken invariants
 * after build), never for bad input. */
#ifndef QA_STATUS_H
#define QA_STATUS_H

typedef enum {
    QA_OK = 0,
    QA_ERR_IO = -1,          /* open/read/write failed */
    QA_ERR_FORMAT = -2,      /* a file's content is malformed */
    QA_ERR_CONFIG = -3,      /* bad config key/value */
    QA_ERR_NOMEM = -4,       /* allocation failed */
    QA_ERR_ARG = -5,         /* bad argument (CLI or API) */
    QA_ERR_NUMERIC = -6,     /* NaN/Inf detected */
    QA_ERR_INTERRUPTED = -7, /* stopped by a signal */
    QA_ERR_UNSUPPORTED = -8, /* valid but not implemented for this input */
} qa_status;

typedef struct {
    int code;
    char msg[1024];
} qa_err;

/* Formats msg into err (if non-NULL) and returns code, so callers write
 * `return qa_fail(err, QA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));` */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int qa_fail(qa_err *err, int code, const char *fmt, ...);

/* Prepends context ("while loading x: ") to an existing message; returns err->code. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int qa_err_prefix(qa_err *err, const char *fmt, ...);

const char *qa_status_name(int code);

void qa_assert_fail(const char *expr, const char *file, int line);
#define QA_ASSERT(c) ((c) ? (void)0 : qa_assert_fail(#c, __FILE__, __LINE__))

#endif
