/*
 * wire_fuzzer.c - libFuzzer target for the parent <-> worker framing
 * (src/wire.c) and the job, result and log frame layouts of
 * src/codec.c.
 *
 * The input is a byte stream as a worker or parent would read it from
 * its socket.  The first byte chooses the size of the reads, so frames
 * arrive split and glued; the rest goes through a pipe into
 * pg__wire_rx_read() and every whole frame from pg__wire_rx_next() is
 * decoded field by field in the order codec.c reads it (the field order
 * is mirrored here, to check each read).  Checked invariants:
 * a frame never reaches past the bytes given, a reader never reads past
 * its frame, a string is NUL-terminated inside the frame, and a decoded
 * job re-encodes to a frame that decodes to the same values.  A broken
 * invariant aborts; ASan reports overreads and leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extract.h"
#include "item.h"
#include "mem.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads never exceed the pipe's buffer, so a write never blocks. */
#define CHUNK_MAX 4096

static const char *get_str(struct pg__wire_reader *r)
{
    const char *s = pg__wire_get_str(r);

    if (r->off > r->len)
        abort();
    if (s && ((const unsigned char *)s < r->p ||
              (const unsigned char *)s + strlen(s) >= r->p + r->len))
        abort();
    return s;
}

/* A job frame (pg__codec_get_job() in codec.c), checked by a round trip. */
static void job(const void *payload, size_t len)
{
    struct pg__wire_reader r, r2;
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    uint64_t id;
    uint32_t attempts, flags;
    const char *url;

    pg__wire_reader_init(&r, payload, len);
    id = pg__wire_get_u64(&r);
    attempts = pg__wire_get_u32(&r);
    flags = pg__wire_get_u32(&r);
    url = get_str(&r);
    if (r.bad || !url)
        return;
    if (pg__wire_begin(&b, PG_WIRE_JOB) || pg__wire_put_u64(&b, id) ||
        pg__wire_put_u32(&b, attempts) || pg__wire_put_u32(&b, flags) ||
        pg__wire_put_str(&b, url) || pg__wire_end(&b))
        abort();
    pg__wire_reader_init(&r2, b.ptr + PG_WIRE_HEADER,
                         b.len - PG_WIRE_HEADER);
    if (pg__wire_get_u64(&r2) != id || pg__wire_get_u32(&r2) != attempts ||
        pg__wire_get_u32(&r2) != flags)
        abort();
    if (strcmp(get_str(&r2), url) || r2.bad || r2.off != r2.len)
        abort();
    pg__buf_release(&b);
}

/* A result frame (pg__codec_get_result() in codec.c). */
static void result(const void *payload, size_t len)
{
    struct pg__wire_reader r;
    struct pg__item *it = pg__item_new();
    uint32_t n, i;
    int k;

    if (!it)
        abort();
    pg__wire_reader_init(&r, payload, len);
    it->id = pg__wire_get_u64(&r);
    it->res.status = (enum pg_status)pg__wire_get_u32(&r);
    it->res.http_code = (long)pg__wire_get_u64(&r);
    it->res.bytes = pg__wire_get_u64(&r);
    it->res.time_ms = pg__wire_get_f64(&r);
    for (k = 0; k < 5; k++)
        (void)get_str(&r);
    it->flags = pg__wire_get_u32(&r);
    it->retry_after_ms = (long)(int64_t)pg__wire_get_u64(&r);
    it->res.links = pg__wire_get_u32(&r);
    n = pg__wire_get_u32(&r);
    for (i = 0; !r.bad && i < n; i++) {
        uint32_t kind = pg__wire_get_u32(&r);
        const char *url = get_str(&r);

        if (r.bad || !url || kind > PG_LINK_CSS)
            break;
        if (pg__links_add(&it->links, (enum pg__link_kind)kind, url))
            abort();
    }
    if (r.off > r.len)
        abort();
    pg__item_free(it);
}

static void frame(unsigned type, const void *payload, size_t len)
{
    struct pg__wire_reader r;

    switch (type) {
    case PG_WIRE_JOB:
        job(payload, len);
        break;
    case PG_WIRE_RESULT:
        result(payload, len);
        break;
    case PG_WIRE_LOG:
        pg__wire_reader_init(&r, payload, len);
        (void)pg__wire_get_u32(&r);
        (void)get_str(&r);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fds[2] = { -1, -1 };
    struct pg__wire_rx rx;
    size_t chunk, off = 0, given = 0;
    int got = 0;

    if (size < 1)
        return 0;
    if (fds[0] < 0 && pipe(fds) < 0)
        abort();
    chunk = data[0] ? data[0] * 16u : CHUNK_MAX;
    data++;
    size--;
    pg__wire_rx_init(&rx);
    while (off < size && got >= 0) {
        size_t n = size - off < chunk ? size - off : chunk;
        unsigned type;
        const void *payload;
        size_t len;

        if (write(fds[1], data + off, n) != (ssize_t)n)
            abort();
        off += n;
        if (pg__wire_rx_read(&rx, fds[0]) != PG_OK)
            abort();
        given += n;
        while ((got = pg__wire_rx_next(&rx, &type, &payload,
                                       &len)) == 1) {
            const char *p = payload;

            if (p < rx.in.ptr || p + len > rx.in.ptr + rx.in.len ||
                rx.consumed > rx.in.len)
                abort();
            frame(type, payload, len);
        }
    }
    if (off < size && given != off)
        abort();
    pg__wire_rx_release(&rx);
    return 0;
}
