/*
 * wire.c - see wire.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "wire.h"

static void put_le(unsigned char *p, uint64_t v, int n)
{
    int i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    int i;

    for (i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

enum pg_code pg__wire_begin(struct pg__buf *b, enum pg__wire_type t)
{
    unsigned char h[PG_WIRE_HEADER] = { 0, 0, 0, 0, (unsigned char)t };

    pg__buf_reset(b);
    return pg__buf_add(b, h, sizeof(h));
}

enum pg_code pg__wire_put_u32(struct pg__buf *b, uint32_t v)
{
    unsigned char p[4];

    put_le(p, v, 4);
    return pg__buf_add(b, p, 4);
}

enum pg_code pg__wire_put_u64(struct pg__buf *b, uint64_t v)
{
    unsigned char p[8];

    put_le(p, v, 8);
    return pg__buf_add(b, p, 8);
}

enum pg_code pg__wire_put_f64(struct pg__buf *b, double v)
{
    uint64_t u;

    memcpy(&u, &v, sizeof(u));
    return pg__wire_put_u64(b, u);
}

enum pg_code pg__wire_put_str(struct pg__buf *b, const char *s)
{
    size_t n;
    enum pg_code rc;

    if (!s)
        return pg__wire_put_u32(b, UINT32_MAX);
    n = strlen(s);
    if (n >= PG_WIRE_MAX)
        return PG_E_LIMIT;
    rc = pg__wire_put_u32(b, (uint32_t)n);
    if (!rc)
        rc = pg__buf_add(b, s, n + 1);
    return rc;
}

enum pg_code pg__wire_end(struct pg__buf *b)
{
    size_t payload = b->len - PG_WIRE_HEADER;

    if (payload > PG_WIRE_MAX)
        return PG_E_LIMIT;
    put_le((unsigned char *)b->ptr, payload, 4);
    return PG_OK;
}

void pg__wire_reader_init(struct pg__wire_reader *r, const void *payload,
                          size_t len)
{
    r->p = payload;
    r->len = len;
    r->off = 0;
    r->bad = 0;
}

static const unsigned char *take(struct pg__wire_reader *r, size_t n)
{
    const unsigned char *p;

    if (r->bad || n > r->len - r->off) {
        r->bad = 1;
        return NULL;
    }
    p = r->p + r->off;
    r->off += n;
    return p;
}

uint32_t pg__wire_get_u32(struct pg__wire_reader *r)
{
    const unsigned char *p = take(r, 4);

    return p ? (uint32_t)get_le(p, 4) : 0;
}

uint64_t pg__wire_get_u64(struct pg__wire_reader *r)
{
    const unsigned char *p = take(r, 8);

    return p ? get_le(p, 8) : 0;
}

double pg__wire_get_f64(struct pg__wire_reader *r)
{
    uint64_t u = pg__wire_get_u64(r);
    double v;

    memcpy(&v, &u, sizeof(v));
    return v;
}

/*
 * A string is sent as its length, its bytes and a NUL, so that it can be
 * handed out in place; a missing NUL or an embedded one marks the frame
 * malformed.
 */
const char *pg__wire_get_str(struct pg__wire_reader *r)
{
    uint32_t n = pg__wire_get_u32(r);
    const unsigned char *p;

    if (r->bad || n == UINT32_MAX)
        return NULL;
    p = take(r, (size_t)n + 1);
    if (!p || p[n] != '\0' || memchr(p, '\0', n)) {
        r->bad = 1;
        return NULL;
    }
    return (const char *)p;
}

void pg__wire_rx_init(struct pg__wire_rx *rx)
{
    pg__buf_init(&rx->in, PG_WIRE_MAX + PG_WIRE_HEADER + 65536);
    rx->consumed = 0;
}

void pg__wire_rx_release(struct pg__wire_rx *rx)
{
    pg__buf_release(&rx->in);
    rx->consumed = 0;
}

enum pg_code pg__wire_rx_read(struct pg__wire_rx *rx, int fd)
{
    char tmp[65536];
    ssize_t n;

    if (rx->consumed) {
        pg__buf_consume(&rx->in, rx->consumed);
        rx->consumed = 0;
    }
    do {
        n = read(fd, tmp, sizeof(tmp));
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return PG_OK;
    if (n <= 0) {
        if (n == 0)
            errno = 0;
        return PG_E_IO;
    }
    return pg__buf_add(&rx->in, tmp, (size_t)n);
}

int pg__wire_rx_next(struct pg__wire_rx *rx, unsigned *type,
                     const void **payload, size_t *len)
{
    const unsigned char *p = (const unsigned char *)rx->in.ptr;
    size_t avail = rx->in.len - rx->consumed;
    uint64_t n;

    if (avail < PG_WIRE_HEADER)
        return 0;
    p += rx->consumed;
    n = get_le(p, 4);
    if (n > PG_WIRE_MAX)
        return -1;
    if (avail < PG_WIRE_HEADER + n)
        return 0;
    *type = p[4];
    *payload = p + PG_WIRE_HEADER;
    *len = (size_t)n;
    rx->consumed += PG_WIRE_HEADER + (size_t)n;
    return 1;
}
