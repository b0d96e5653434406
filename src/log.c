/*
 * log.c - see log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

void pg__log(const struct pg__logger *lg, enum pg_log_level level,
             const char *fmt, ...)
{
    char line[PG_LOG_LINE_MAX];
    int saved = errno;
    va_list ap;

    if (!pg__log_enabled(lg, level))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    lg->cb(level, line, lg->userdata);
    errno = saved;
}

const char *pg__errstr(int err, char *buf, size_t len)
{
    /* The XSI strerror_r under _POSIX_C_SOURCE=200809L returns int. */
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}
