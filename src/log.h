/*
 * log.h - library logging through the user's callback.
 *
 * A line is formatted into a stack buffer (no allocation), its control
 * bytes escaped as \xNN (so no URL or server text can forge a line or
 * drive a terminal), and handed to the callback in one piece; errno is
 * preserved.  A struct pg__logger is
 * read-only once the job runs, so it is shared by worker threads.
 */
#ifndef PG_LOG_H
#define PG_LOG_H

#include "pagegrab.h"
#include "util.h" /* pg__errstr */

#define PG_LOG_LINE_MAX 1024

struct pg__logger {
    pg_log_cb cb;
    void *userdata;
    enum pg_log_level level;
};

void pg__log(const struct pg__logger *lg, enum pg_log_level level,
             const char *fmt, ...) PG_PRINTF(3, 4);

/* Replace control bytes in s (a string in a buffer of size bytes) with
 * \xNN, truncating to fit. */
void pg__log_escape(char *s, size_t size);

#define pg__log_enabled(lg, lvl) ((lg)->cb && (lvl) <= (lg)->level)

#endif
