/*
 * wire.h - parent <-> worker message framing (process mode).
 *
 * A frame is a 4-byte little-endian payload length, a 1-byte type, and
 * the payload.  Payload fields are appended with pg__wire_put_*() and
 * read back in the same order with pg__wire_get_*(), which never read
 * past the frame: a malformed frame sets r->bad instead.  Strings travel
 * as a u32 length, the bytes and a NUL, and come back in place (a string that
 * contains a NUL is malformed).  Frames are capped at PG_WIRE_MAX.
 *
 * The receive side (struct pg__wire_rx) accumulates bytes read from a
 * non-blocking or blocking socket and yields whole frames; it is owned
 * by one side of one connection.
 */
#ifndef PG_WIRE_H
#define PG_WIRE_H

#include <stdint.h>
#include <stddef.h>

#include "buf.h"
#include "util.h"

#define PG_WIRE_HEADER 5
#define PG_WIRE_MAX (1u << 20)

enum pg__wire_type {
    PG_WIRE_JOB = 1,    /* parent -> worker: id, url */
    PG_WIRE_RESULT = 2, /* worker -> parent: id, result fields */
    PG_WIRE_LOG = 3,    /* worker -> parent: level, line */
    PG_WIRE_LINKS = 4,  /* worker -> parent: id, links of that item; as
                           many frames as needed, before its RESULT */
    PG_WIRE_COOKIES = 5, /* both ways: cookie lines (jar.h) */
    PG_WIRE_WINDOW = 6  /* worker -> parent: the transfers it runs at
                           once now, its window having grown (fetch.c) */
};

/* Start a frame of type t in b (b is reset first). */
enum pg_code pg__wire_begin(struct pg__buf *b, enum pg__wire_type t)
    PG_WARN_UNUSED;
enum pg_code pg__wire_put_u32(struct pg__buf *b, uint32_t v) PG_WARN_UNUSED;
enum pg_code pg__wire_put_u64(struct pg__buf *b, uint64_t v) PG_WARN_UNUSED;
enum pg_code pg__wire_put_f64(struct pg__buf *b, double v) PG_WARN_UNUSED;
/* s may be NULL (decoded back as NULL). */
enum pg_code pg__wire_put_str(struct pg__buf *b, const char *s)
    PG_WARN_UNUSED;
/* Write the payload length into the header; the frame is b->ptr/b->len. */
enum pg_code pg__wire_end(struct pg__buf *b) PG_WARN_UNUSED;

struct pg__wire_reader {
    const unsigned char *p;
    size_t len;
    size_t off;
    int bad;
};

void pg__wire_reader_init(struct pg__wire_reader *r, const void *payload,
                          size_t len);
uint32_t pg__wire_get_u32(struct pg__wire_reader *r);
uint64_t pg__wire_get_u64(struct pg__wire_reader *r);
double pg__wire_get_f64(struct pg__wire_reader *r);
/* Points into the payload; NULL for a NULL string or when bad. */
const char *pg__wire_get_str(struct pg__wire_reader *r);

struct pg__wire_rx {
    struct pg__buf in;
    size_t consumed; /* bytes of `in` already handed out */
};

void pg__wire_rx_init(struct pg__wire_rx *rx);
void pg__wire_rx_release(struct pg__wire_rx *rx);

/*
 * Read once from fd into rx.  Returns PG_OK (data or EAGAIN), PG_E_IO on
 * EOF or error (errno set; 0 for EOF), PG_E_NOMEM.
 */
enum pg_code pg__wire_rx_read(struct pg__wire_rx *rx, int fd)
    PG_WARN_UNUSED;

/*
 * The next whole frame in rx, if any: returns 1 and sets *type, *payload
 * (valid until the next pg__wire_rx_* call) and *len; 0 if none is
 * complete yet; -1 if the stream is malformed (oversized frame).
 */
int pg__wire_rx_next(struct pg__wire_rx *rx, unsigned *type,
                     const void **payload, size_t *len);

/* Write all n bytes (the one write loop, util.h). */
static inline enum pg_code pg__wire_write_all(int fd, const void *p, size_t n)
{
    return pg__write_all(fd, p, n);
}

#endif
