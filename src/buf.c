/*
 * buf.c - struct pg__buf (see buf.h).
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

void pg__buf_init(struct pg__buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void pg__buf_release(struct pg__buf *b)
{
    PG_FREE(b->ptr);
    b->len = 0;
    b->cap = 0;
}

void pg__buf_reset(struct pg__buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

/* Make room for n more bytes plus the NUL. */
static enum pg_code grow(struct pg__buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > b->max - b->len) {
        pg__buf_release(b);
        return PG_E_LIMIT;
    }
    need = b->len + n + 1;
    if (need <= b->cap)
        return PG_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = pg__realloc(b->ptr, cap);
    if (!p) {
        pg__buf_release(b);
        return PG_E_NOMEM;
    }
    b->ptr = p;
    b->cap = cap;
    return PG_OK;
}

enum pg_code pg__buf_add(struct pg__buf *b, const void *p, size_t n)
{
    enum pg_code rc = grow(b, n);

    if (rc)
        return rc;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return PG_OK;
}

enum pg_code pg__buf_addstr(struct pg__buf *b, const char *s)
{
    return pg__buf_add(b, s, strlen(s));
}

enum pg_code pg__buf_addc(struct pg__buf *b, char c)
{
    return pg__buf_add(b, &c, 1);
}

enum pg_code pg__buf_vaddf(struct pg__buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    enum pg_code rc;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        pg__buf_release(b);
        return PG_E_INVALID;
    }
    if ((size_t)n < sizeof(small))
        return pg__buf_add(b, small, (size_t)n);
    rc = grow(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return PG_OK;
}

enum pg_code pg__buf_addf(struct pg__buf *b, const char *fmt, ...)
{
    va_list ap;
    enum pg_code rc;

    va_start(ap, fmt);
    rc = pg__buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void pg__buf_consume(struct pg__buf *b, size_t n)
{
    if (n >= b->len) {
        pg__buf_reset(b);
        return;
    }
    memmove(b->ptr, b->ptr + n, b->len - n);
    b->len -= n;
    b->ptr[b->len] = '\0';
}

void pg__buf_truncate(struct pg__buf *b, size_t n)
{
    if (n < b->len) {
        b->len = n;
        b->ptr[n] = '\0';
    }
}

char *pg__buf_take(struct pg__buf *b)
{
    char *p = b->ptr;

    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
