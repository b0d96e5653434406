/*
 * test_wire.c - unit tests for the parent <-> worker framing
 * (src/wire.c): frame building, the receive buffer, the payload reader
 * and pg__wire_write_all().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem.h"
#include "wire.h"
#include "unit.h"

static int group_setup(void **state)
{
    struct sigaction sa;

    /* Writes to a closed peer must fail with EPIPE, not kill us. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGPIPE, &sa, NULL);
}

static uint32_t le32(const void *p)
{
    const unsigned char *s = p;

    return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
           (uint32_t)s[3] << 24;
}

/* Build the sample frame used by several tests into b. */
static void sample_frame(struct pg__buf *b, enum pg__wire_type t)
{
    assert_int_equal(pg__wire_begin(b, t), PG_OK);
    assert_int_equal(pg__wire_put_u32(b, 0), PG_OK);
    assert_int_equal(pg__wire_put_u32(b, 0xdeadbeefu), PG_OK);
    assert_int_equal(pg__wire_put_u32(b, UINT32_MAX), PG_OK);
    assert_int_equal(pg__wire_put_u64(b, 0x0123456789abcdefULL), PG_OK);
    assert_int_equal(pg__wire_put_u64(b, UINT64_MAX), PG_OK);
    assert_int_equal(pg__wire_put_f64(b, -1.5), PG_OK);
    assert_int_equal(pg__wire_put_f64(b, 1e300), PG_OK);
    assert_int_equal(pg__wire_put_str(b, "hello"), PG_OK);
    assert_int_equal(pg__wire_put_str(b, ""), PG_OK);
    assert_int_equal(pg__wire_put_str(b, NULL), PG_OK);
    assert_int_equal(pg__wire_put_str(b, "\xc3\xbc\n\"x"), PG_OK);
    assert_int_equal(pg__wire_end(b), PG_OK);
}

/* The payload size of sample_frame(). */
#define SAMPLE_PAYLOAD (3 * 4 + 2 * 8 + 2 * 8 + (4 + 6) + (4 + 1) + 4 + \
                        (4 + 6))

/* Decode a sample_frame() payload and check every field. */
static void check_sample(const void *payload, size_t len)
{
    struct pg__wire_reader r;

    assert_int_equal(len, SAMPLE_PAYLOAD);
    pg__wire_reader_init(&r, payload, len);
    assert_int_equal(pg__wire_get_u32(&r), 0);
    assert_int_equal(pg__wire_get_u32(&r), 0xdeadbeefu);
    assert_int_equal(pg__wire_get_u32(&r), UINT32_MAX);
    assert_int_equal(pg__wire_get_u64(&r), 0x0123456789abcdefULL);
    assert_int_equal(pg__wire_get_u64(&r), UINT64_MAX);
    assert_true(pg__wire_get_f64(&r) == -1.5);
    assert_true(pg__wire_get_f64(&r) == 1e300);
    assert_string_equal(pg__wire_get_str(&r), "hello");
    assert_string_equal(pg__wire_get_str(&r), "");
    assert_null(pg__wire_get_str(&r));
    assert_int_equal(r.bad, 0);
    assert_string_equal(pg__wire_get_str(&r), "\xc3\xbc\n\"x");
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.off, len);
    /* Reading past the end marks the reader bad and yields 0. */
    assert_int_equal(pg__wire_get_u32(&r), 0);
    assert_int_equal(r.bad, 1);
}

/* Header layout: 4-byte little-endian payload length, then the type. */
static void test_frame_layout(void **state)
{
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    static const unsigned char want[] = {
        10, 0, 0, 0, PG_WIRE_LOG,
        0x04, 0x03, 0x02, 0x01,
        1, 0, 0, 0, 'a', 0,
    };

    assert_int_equal(pg__wire_begin(&b, PG_WIRE_LOG), PG_OK);
    assert_int_equal(pg__wire_put_u32(&b, 0x01020304u), PG_OK);
    assert_int_equal(pg__wire_put_str(&b, "a"), PG_OK);
    assert_int_equal(pg__wire_end(&b), PG_OK);
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.ptr, want, sizeof(want));

    /* begin() resets: a second frame does not append to the first. */
    sample_frame(&b, PG_WIRE_RESULT);
    assert_int_equal(b.len, PG_WIRE_HEADER + SAMPLE_PAYLOAD);
    assert_int_equal(le32(b.ptr), SAMPLE_PAYLOAD);
    assert_int_equal((unsigned char)b.ptr[4], PG_WIRE_RESULT);
    pg__buf_release(&b);
}

/* Frame -> rx buffer -> rx_next -> reader gives back every value. */
static void test_roundtrip(void **state)
{
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct pg__wire_rx rx;
    const void *payload;
    unsigned type = 0;
    size_t len = 0;

    sample_frame(&b, PG_WIRE_JOB);
    pg__wire_rx_init(&rx);
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 0);
    assert_int_equal(pg__buf_add(&rx.in, b.ptr, b.len), PG_OK);
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 1);
    assert_int_equal(type, PG_WIRE_JOB);
    check_sample(payload, len);
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 0);
    pg__wire_rx_release(&rx);
    pg__buf_release(&b);
}

/* An empty payload is a valid frame. */
static void test_empty_payload(void **state)
{
    struct pg__buf b = PG_BUF_INIT(64);
    struct pg__wire_rx rx;
    const void *payload = NULL;
    unsigned type = 0;
    size_t len = 99;
    struct pg__wire_reader r;

    assert_int_equal(pg__wire_begin(&b, PG_WIRE_LOG), PG_OK);
    assert_int_equal(pg__wire_end(&b), PG_OK);
    assert_int_equal(b.len, PG_WIRE_HEADER);
    pg__wire_rx_init(&rx);
    assert_int_equal(pg__buf_add(&rx.in, b.ptr, b.len), PG_OK);
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 1);
    assert_int_equal(type, PG_WIRE_LOG);
    assert_int_equal(len, 0);
    pg__wire_reader_init(&r, payload, len);
    assert_null(pg__wire_get_str(&r));
    assert_int_equal(r.bad, 1);
    pg__wire_rx_release(&rx);
    pg__buf_release(&b);
}

/* A frame written one byte at a time through a socketpair. */
static void test_one_byte_pieces_socket(void **state)
{
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct pg__wire_rx rx;
    const void *payload;
    unsigned type;
    size_t len, i;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sample_frame(&b, PG_WIRE_RESULT);
    pg__wire_rx_init(&rx);
    for (i = 0; i < b.len; i++) {
        assert_int_equal(pg__wire_write_all(sv[0], b.ptr + i, 1), PG_OK);
        assert_int_equal(pg__wire_rx_read(&rx, sv[1]), PG_OK);
        if (i + 1 < b.len)
            assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len),
                             0);
    }
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 1);
    assert_int_equal(type, PG_WIRE_RESULT);
    check_sample(payload, len);
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 0);

    /* EOF: PG_E_IO with errno 0. */
    close(sv[0]);
    errno = EINVAL;
    assert_int_equal(pg__wire_rx_read(&rx, sv[1]), PG_E_IO);
    assert_int_equal(errno, 0);
    close(sv[1]);
    pg__wire_rx_release(&rx);
    pg__buf_release(&b);
}

/*
 * Two frames fed into rx->in in every possible split: whatever the
 * pieces, both decode, in order, and nothing more.
 */
static void test_every_split(void **state)
{
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    char *two;
    size_t n, cut;

    sample_frame(&b, PG_WIRE_JOB);
    n = b.len * 2;
    two = malloc(n);
    assert_non_null(two);
    memcpy(two, b.ptr, b.len);
    sample_frame(&b, PG_WIRE_LOG);
    memcpy(two + b.len, b.ptr, b.len);

    for (cut = 0; cut <= n; cut++) {
        struct pg__wire_rx rx;
        const void *payload;
        unsigned type, want = PG_WIRE_JOB;
        size_t len;
        int got = 0, r;

        pg__wire_rx_init(&rx);
        assert_int_equal(pg__buf_add(&rx.in, two, cut), PG_OK);
        while ((r = pg__wire_rx_next(&rx, &type, &payload, &len)) == 1) {
            assert_int_equal(type, want);
            check_sample(payload, len);
            want = PG_WIRE_LOG;
            got++;
        }
        assert_int_equal(r, 0);
        assert_int_equal(got, cut / b.len);
        assert_int_equal(pg__buf_add(&rx.in, two + cut, n - cut), PG_OK);
        while ((r = pg__wire_rx_next(&rx, &type, &payload, &len)) == 1) {
            assert_int_equal(type, want);
            check_sample(payload, len);
            want = PG_WIRE_LOG;
            got++;
        }
        assert_int_equal(r, 0);
        assert_int_equal(got, 2);
        pg__wire_rx_release(&rx);
    }
    free(two);
    pg__buf_release(&b);
}

/* Two frames in one write come out of one read as two frames. */
static void test_two_frames_one_read(void **state)
{
    struct pg__buf a = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct pg__wire_rx rx;
    const void *payload;
    unsigned type;
    size_t len;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sample_frame(&a, PG_WIRE_JOB);
    sample_frame(&b, PG_WIRE_RESULT);
    assert_int_equal(pg__buf_add(&a, b.ptr, b.len), PG_OK);
    assert_int_equal(pg__wire_write_all(sv[0], a.ptr, a.len), PG_OK);
    pg__wire_rx_init(&rx);
    assert_int_equal(pg__wire_rx_read(&rx, sv[1]), PG_OK);
    assert_int_equal(rx.in.len, a.len);
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 1);
    assert_int_equal(type, PG_WIRE_JOB);
    check_sample(payload, len);
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 1);
    assert_int_equal(type, PG_WIRE_RESULT);
    check_sample(payload, len);
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 0);

    /* The next read drops the frames handed out. */
    assert_int_equal(pg__wire_write_all(sv[0], b.ptr, 3), PG_OK);
    assert_int_equal(pg__wire_rx_read(&rx, sv[1]), PG_OK);
    assert_int_equal(rx.in.len, 3);
    assert_int_equal(rx.consumed, 0);
    close(sv[0]);
    close(sv[1]);
    pg__wire_rx_release(&rx);
    pg__buf_release(&a);
    pg__buf_release(&b);
}

/* A non-blocking socket without data: PG_OK and nothing read. */
static void test_rx_read_eagain(void **state)
{
    struct pg__wire_rx rx;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    pg__wire_rx_init(&rx);
    assert_int_equal(pg__wire_rx_read(&rx, sv[1]), PG_OK);
    assert_int_equal(rx.in.len, 0);
    close(sv[0]);
    close(sv[1]);
    pg__wire_rx_release(&rx);
}

/* A header claiming more than PG_WIRE_MAX is a malformed stream. */
static void test_oversized_header(void **state)
{
    static const struct {
        uint32_t len;
        int want;
    } cases[] = {
        { PG_WIRE_MAX + 1, -1 },
        { PG_WIRE_MAX * 2, -1 },
        { UINT32_MAX, -1 },
        { PG_WIRE_MAX, 0 },      /* legal, just not complete yet */
        { 2, 0 },
        { 1, 1 },                /* the 'x' completes it */
    };
    size_t i;

    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        unsigned char h[PG_WIRE_HEADER + 1];
        struct pg__wire_rx rx;
        const void *payload;
        unsigned type;
        size_t len;

        h[0] = (unsigned char)cases[i].len;
        h[1] = (unsigned char)(cases[i].len >> 8);
        h[2] = (unsigned char)(cases[i].len >> 16);
        h[3] = (unsigned char)(cases[i].len >> 24);
        h[4] = PG_WIRE_RESULT;
        h[5] = 'x';
        pg__wire_rx_init(&rx);
        assert_int_equal(pg__buf_add(&rx.in, h, sizeof(h)), PG_OK);
        assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len),
                         cases[i].want);
        pg__wire_rx_release(&rx);
    }
}

/* An incomplete header is not a frame yet. */
static void test_partial_header(void **state)
{
    static const unsigned char h[] = { 0, 0, 0, 0, PG_WIRE_LOG };
    struct pg__wire_rx rx;
    const void *payload;
    unsigned type;
    size_t len, i;

    pg__wire_rx_init(&rx);
    for (i = 0; i < sizeof(h); i++) {
        assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 0);
        assert_int_equal(pg__buf_add(&rx.in, h + i, 1), PG_OK);
    }
    assert_int_equal(pg__wire_rx_next(&rx, &type, &payload, &len), 1);
    assert_int_equal(len, 0);
    pg__wire_rx_release(&rx);
}

/*
 * Malformed payloads.  Each is copied into a heap block of exactly its
 * size, so a read past the payload is caught by ASan/valgrind.
 */
enum op { U32, U64, F64, STR, STR_NULL };

struct bad_case {
    const char *what;
    const char *bytes;
    size_t len;
    enum op ops[4];
    size_t nops;
    int bad;            /* r.bad at the end */
};

static const struct bad_case bad_cases[] = {
    { "empty payload, u32", "", 0, { U32 }, 1, 1 },
    { "3 bytes for a u32", "\1\2\3", 3, { U32 }, 1, 1 },
    { "7 bytes for a u64", "\1\2\3\4\5\6\7", 7, { U64 }, 1, 1 },
    { "7 bytes for an f64", "\1\2\3\4\5\6\7", 7, { F64 }, 1, 1 },
    { "string length past the end", "\12\0\0\0abc\0", 8, { STR }, 1, 1 },
    { "string without NUL", "\3\0\0\0abcd", 8, { STR }, 1, 1 },
    { "string NUL missing at the end", "\3\0\0\0abc", 7, { STR }, 1, 1 },
    { "string with an embedded NUL", "\3\0\0\0a\0c\0", 8, { STR }, 1, 1 },
    { "string length 0xfffffffe", "\xfe\xff\xff\xff", 4, { STR }, 1, 1 },
    { "string length only 2 bytes", "\1\0", 2, { STR }, 1, 1 },
    { "bad is sticky", "\1\0\0\0z\0", 6, { U64, STR }, 2, 1 },
    { "NULL string is not bad", "\xff\xff\xff\xff", 4, { STR_NULL }, 1,
      0 },
    { "valid string", "\1\0\0\0z\0", 6, { STR }, 1, 0 },
};

static void test_reader_malformed(void **state)
{
    size_t i, k;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        unsigned char *p = malloc(c->len ? c->len : 1);
        struct pg__wire_reader r;

        assert_non_null(p);
        memcpy(p, c->bytes, c->len);
        pg__wire_reader_init(&r, p, c->len);
        for (k = 0; k < c->nops; k++) {
            int last = k + 1 == c->nops;

            switch (c->ops[k]) {
            case U32: {
                uint32_t v = pg__wire_get_u32(&r);

                UT_EXPECT(bad, !r.bad || v == 0, "%s: u32 %u when bad",
                          c->what, v);
                break;
            }
            case U64: {
                uint64_t v = pg__wire_get_u64(&r);

                UT_EXPECT(bad, !r.bad || v == 0, "%s: u64 %llu when bad",
                          c->what, (unsigned long long)v);
                break;
            }
            case F64: {
                double v = pg__wire_get_f64(&r);

                UT_EXPECT(bad, !r.bad || v == 0.0, "%s: f64 %g when bad",
                          c->what, v);
                break;
            }
            case STR:
            case STR_NULL: {
                const char *s = pg__wire_get_str(&r);

                if (r.bad || c->ops[k] == STR_NULL)
                    UT_EXPECT(bad, s == NULL, "%s: string '%s'", c->what,
                              s);
                else if (last)
                    UT_EXPECT(bad, s && !strcmp(s, "z"), "%s: string",
                              c->what);
                break;
            }
            }
            UT_EXPECT(bad, r.off <= r.len, "%s: offset %zu past %zu",
                      c->what, r.off, r.len);
        }
        UT_EXPECT(bad, r.bad == c->bad, "%s: bad %d, want %d", c->what,
                  r.bad, c->bad);
        free(p);
    }
    assert_int_equal(bad, 0);
}

/* Fields that do not fit a frame are refused when built. */
static void test_put_limits(void **state)
{
    struct pg__buf b = PG_BUF_INIT(2 * PG_WIRE_MAX + 64);
    char *s = malloc(PG_WIRE_MAX + 1);

    assert_non_null(s);
    memset(s, 'a', PG_WIRE_MAX);
    s[PG_WIRE_MAX] = '\0';
    assert_int_equal(pg__wire_begin(&b, PG_WIRE_LOG), PG_OK);
    assert_int_equal(pg__wire_put_str(&b, s), PG_E_LIMIT);

    /* A payload of exactly PG_WIRE_MAX is fine, one more byte is not. */
    assert_int_equal(pg__wire_begin(&b, PG_WIRE_LOG), PG_OK);
    assert_int_equal(pg__buf_add(&b, s, PG_WIRE_MAX), PG_OK);
    assert_int_equal(pg__wire_end(&b), PG_OK);
    assert_int_equal(le32(b.ptr), PG_WIRE_MAX);
    assert_int_equal(pg__wire_begin(&b, PG_WIRE_LOG), PG_OK);
    assert_int_equal(pg__buf_add(&b, s, PG_WIRE_MAX + 1), PG_OK);
    assert_int_equal(pg__wire_end(&b), PG_E_LIMIT);
    free(s);
    pg__buf_release(&b);
}

struct reader_arg {
    int fd;
    size_t frames;
    int ok;
    char *str;          /* the decoded big string (copied) */
    uint64_t tail;
};

/* Reader thread: rx_read until one frame is complete, then decode it. */
static void *reader_main(void *p)
{
    struct reader_arg *a = p;
    struct pg__wire_rx rx;
    const void *payload;
    unsigned type;
    size_t len;
    int r;

    pg__wire_rx_init(&rx);
    for (;;) {
        r = pg__wire_rx_next(&rx, &type, &payload, &len);
        if (r != 0)
            break;
        if (pg__wire_rx_read(&rx, a->fd) != PG_OK)
            break;
    }
    if (r == 1 && type == PG_WIRE_RESULT) {
        struct pg__wire_reader rd;
        const char *s;

        pg__wire_reader_init(&rd, payload, len);
        s = pg__wire_get_str(&rd);
        a->tail = pg__wire_get_u64(&rd);
        a->str = s ? strdup(s) : NULL;
        a->ok = !rd.bad && rd.off == len;
        a->frames = 1;
    }
    pg__wire_rx_release(&rx);
    return NULL;
}

/*
 * A 512 KiB frame written with pg__wire_write_all() while a thread
 * reads it: the socket buffer is smaller, so the write has to wait
 * for the reader and the frame arrives over many reads.
 */
static void test_write_all_large(void **state)
{
    const size_t n = 512 * 1024;
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct reader_arg arg;
    pthread_t th;
    char *s = malloc(n);
    size_t i;
    int sv[2];

    assert_non_null(s);
    for (i = 0; i < n - 1; i++)
        s[i] = (char)('A' + (i * 7 + i / 251) % 26);
    s[n - 1] = '\0';
    assert_int_equal(pg__wire_begin(&b, PG_WIRE_RESULT), PG_OK);
    assert_int_equal(pg__wire_put_str(&b, s), PG_OK);
    assert_int_equal(pg__wire_put_u64(&b, 0x1122334455667788ULL), PG_OK);
    assert_int_equal(pg__wire_end(&b), PG_OK);
    assert_true(b.len > n);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(&arg, 0, sizeof(arg));
    arg.fd = sv[1];
    assert_int_equal(pthread_create(&th, NULL, reader_main, &arg), 0);
    assert_int_equal(pg__wire_write_all(sv[0], b.ptr, b.len), PG_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    close(sv[0]);
    close(sv[1]);

    assert_int_equal(arg.frames, 1);
    assert_true(arg.ok);
    assert_int_equal(arg.tail, 0x1122334455667788ULL);
    assert_non_null(arg.str);
    assert_int_equal(strlen(arg.str), n - 1);
    assert_memory_equal(arg.str, s, n - 1);
    free(arg.str);
    free(s);
    pg__buf_release(&b);
}

/* Writing to a closed peer or a bad fd fails with PG_E_IO. */
static void test_write_all_errors(void **state)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    errno = 0;
    assert_int_equal(pg__wire_write_all(sv[0], "abc", 3), PG_E_IO);
    assert_int_equal(errno, EPIPE);
    close(sv[0]);
    assert_int_equal(pg__wire_write_all(-1, "abc", 3), PG_E_IO);
    /* Nothing to write is not an error. */
    assert_int_equal(pg__wire_write_all(-1, "", 0), PG_OK);
}

/* A failed allocation while receiving is reported as PG_E_NOMEM. */
static void test_rx_read_nomem(void **state)
{
    struct pg__wire_rx rx;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(pg__wire_write_all(sv[0], "abcdef", 6), PG_OK);
    pg__wire_rx_init(&rx);
    pg__mem_fail_at(1);
    assert_int_equal(pg__wire_rx_read(&rx, sv[1]), PG_E_NOMEM);
    pg__mem_fail_at(0);
    assert_int_equal(rx.in.len, 0);
    close(sv[0]);
    close(sv[1]);
    pg__wire_rx_release(&rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_layout),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_empty_payload),
        cmocka_unit_test(test_one_byte_pieces_socket),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_two_frames_one_read),
        cmocka_unit_test(test_rx_read_eagain),
        cmocka_unit_test(test_oversized_header),
        cmocka_unit_test(test_partial_header),
        cmocka_unit_test(test_reader_malformed),
        cmocka_unit_test(test_put_limits),
        cmocka_unit_test(test_write_all_large),
        cmocka_unit_test(test_write_all_errors),
        cmocka_unit_test(test_rx_read_nomem),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
