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
    pg__log_escape(line, sizeof(line));
    lg->cb(level, line, lg->userdata);
    errno = saved;
}

void pg__log_escape(char *s, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    char out[PG_LOG_LINE_MAX];
    size_t i, n = 0;

    for (i = 0; s[i] && n + 5 < sizeof(out); i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f) {
            /* URLs and server texts must not drive the terminal. */
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    if (size > sizeof(out))
        size = sizeof(out);
    memcpy(s, out, n + 1 < size ? n + 1 : size);
    s[size - 1] = '\0';
}
