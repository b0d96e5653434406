/*
 * buf.h - the one growable byte buffer (struct pg__buf).
 *
 * Invariants (as curl's dynbuf and git's strbuf):
 *  - pg__buf_init() cannot fail and allocates nothing;
 *  - b->ptr is NULL or NUL-terminated, so pg__buf_str() is always a string;
 *  - the buffer never grows beyond its hard cap `max` (content bytes): an
 *    add that would exceed it, or that runs out of memory, frees the
 *    buffer and returns PG_E_LIMIT or PG_E_NOMEM - there is no half state;
 *  - pg__buf_take() hands the memory to the caller and empties the buffer.
 * A buffer belongs to one thread at a time.
 */
#ifndef PG_BUF_H
#define PG_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "pagegrab.h"

struct pg__buf {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max;
};

#define PG_BUF_INIT(max) { NULL, 0, 0, (max) }

void pg__buf_init(struct pg__buf *b, size_t max);
void pg__buf_release(struct pg__buf *b);
void pg__buf_reset(struct pg__buf *b); /* len = 0, keeps the memory */

enum pg_code pg__buf_add(struct pg__buf *b, const void *p, size_t n)
    PG_WARN_UNUSED;
enum pg_code pg__buf_addstr(struct pg__buf *b, const char *s) PG_WARN_UNUSED;
enum pg_code pg__buf_addc(struct pg__buf *b, char c) PG_WARN_UNUSED;
enum pg_code pg__buf_addf(struct pg__buf *b, const char *fmt, ...)
    PG_PRINTF(2, 3) PG_WARN_UNUSED;
enum pg_code pg__buf_vaddf(struct pg__buf *b, const char *fmt, va_list ap)
    PG_WARN_UNUSED;

/* Remove the first n bytes (n <= len). */
void pg__buf_consume(struct pg__buf *b, size_t n);

/* Cut to n bytes (n <= len). */
void pg__buf_truncate(struct pg__buf *b, size_t n);

/* The content, always a string ("" for an empty buffer). */
static inline const char *pg__buf_str(const struct pg__buf *b)
{
    return b->ptr ? b->ptr : "";
}

/* Give the memory away (caller frees with pg_free); NULL if empty. */
char *pg__buf_take(struct pg__buf *b);

#endif
