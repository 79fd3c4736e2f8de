/* status.c: formatting of qa_err messages and the assertion handler. */
#include "nn/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qa_fail(qa_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int qa_err_prefix(qa_err *err, const char *fmt, ...)
{
    if (!err)
        return QA_ERR_ARG;
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof err->msg ? (size_t)n : sizeof err->msg - 1;
    size_t room = sizeof err->msg - 1 - used, len = strnlen(old, sizeof old - 1);
    memcpy(err->msg + used, old, len < room ? len : room);
    err->msg[used + (len < room ? len : room)] = '\0';
    return err->code;
}

const char *qa_status_name(int code)
{
    switch (code) {
    case QA_OK: return "ok";
    case QA_ERR_IO: return "I/O error";
    case QA_ERR_FORMAT: return "format error";
    case QA_ERR_CONFIG: return "config error";
    case QA_ERR_NOMEM: return "out of memory";
    case QA_ERR_ARG: return "bad argument";
    case QA_ERR_NUMERIC: return "numeric error";
    case QA_ERR_INTERRUPTED: return "interrupted";
    case QA_ERR_UNSUPPORTED: return "unsupported";
    default: return "unknown error";
    }
}

void qa_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "qadapt: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
