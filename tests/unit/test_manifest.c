/*
 * test_manifest.c - unit tests for the JSON Lines manifest
 * (src/manifest.c): string escaping, record format, file creation and
 * one write per record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "buf.h"
#include "item.h"
#include "manifest.h"
#include "mem.h"
#include "unit.h"
#include "update.h"

struct json_case {
    const char *in;
    const char *out;
};

/* U+FFFD, what an invalid byte becomes in text. */
#define R "\xef\xbf\xbd"

static const struct json_case json_cases[] = {
    { "", "\"\"" },
    { "abc", "\"abc\"" },
    { "http://h/x?a=1&b=2", "\"http://h/x?a=1&b=2\"" },
    { "/", "\"/\"" },
    { "a\"b", "\"a\\\"b\"" },
    { "a\\b", "\"a\\\\b\"" },
    { "\\\"", "\"\\\\\\\"\"" },
    { "\n", "\"\\n\"" },
    { "\r", "\"\\r\"" },
    { "\t", "\"\\t\"" },
    { "a\r\nb", "\"a\\r\\nb\"" },
    { "\x01", "\"\\u0001\"" },
    { "\x08\x0c", "\"\\u0008\\u000c\"" },
    { "\x0b", "\"\\u000b\"" },
    { "\x1b[31m", "\"\\u001b[31m\"" },
    { "\x1f", "\"\\u001f\"" },
    { " ~", "\" ~\"" },
    { "\x7f", "\"\\u007f\"" },
    /* Valid UTF-8 passes through. */
    { "\xc3\xa9", "\"\xc3\xa9\"" },
    { "\xc2\x80", "\"\xc2\x80\"" },
    { "\xdf\xbf", "\"\xdf\xbf\"" },
    { "\xe2\x82\xac", "\"\xe2\x82\xac\"" },
    { "\xe0\xa0\x80", "\"\xe0\xa0\x80\"" },
    { "\xed\x9f\xbf", "\"\xed\x9f\xbf\"" },
    { "\xee\x80\x80", "\"\xee\x80\x80\"" },
    { "\xef\xbf\xbf", "\"\xef\xbf\xbf\"" },
    { "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },
    { "\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"" },
    { "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" },
    /* Invalid bytes become U+FFFD, one per byte: never a valid
     * character. */
    { "\xff", "\"" R "\"" },
    { "\xfe", "\"" R "\"" },
    { "\x80", "\"" R "\"" },
    { "\xbf", "\"" R "\"" },
    { "a\xffz", "\"a" R "z\"" },
    { "\xc3", "\"" R "\"" },
    { "\xc3(", "\"" R "(\"" },
    { "\xe2\x82", "\"" R R "\"" },
    { "\xe2\x82x", "\"" R R "x\"" },
    { "\xf0\x9f\x98", "\"" R R R "\"" },
    { "\xc0\xaf", "\"" R R "\"" },
    { "\xc1\xbf", "\"" R R "\"" },
    { "\xe0\x80\xaf", "\"" R R R "\"" },
    { "\xe0\x9f\xbf", "\"" R R R "\"" },
    { "\xf0\x80\x80\xaf", "\"" R R R R "\"" },
    { "\xed\xa0\x80", "\"" R R R "\"" },
    { "\xed\xbf\xbf", "\"" R R R "\"" },
    { "\xf4\x90\x80\x80", "\"" R R R R "\"" },
    { "\xf5\x80\x80\x80", "\"" R R R R "\"" },
    { "\xf8\x88\x80\x80\x80", "\"" R R R R R "\"" },
    /* An invalid lead byte does not swallow a following quote. */
    { "\xc3\"", "\"" R "\\\"\"" },
    { "\xe2\x82\"", "\"" R R "\\\"\"" },
};
#undef R

static void test_json_str_table(void **state)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(json_cases); i++) {
        struct pg__buf b = PG_BUF_INIT(4096);

        assert_int_equal(pg__json_str(&b, json_cases[i].in), PG_OK);
        UT_EXPECT(bad, !strcmp(pg__buf_str(&b), json_cases[i].out),
                  "case %zu: got %s, want %s", i, pg__buf_str(&b),
                  json_cases[i].out);
        pg__buf_release(&b);
    }
    assert_int_equal(bad, 0);
}

static void test_json_str_null_and_append(void **state)
{
    struct pg__buf b = PG_BUF_INIT(100);

    assert_int_equal(pg__json_str(&b, NULL), PG_OK);
    assert_string_equal(pg__buf_str(&b), "null");
    /* It appends; it does not reset the buffer. */
    assert_int_equal(pg__buf_addc(&b, ','), PG_OK);
    assert_int_equal(pg__json_str(&b, "a"), PG_OK);
    assert_string_equal(pg__buf_str(&b), "null,\"a\"");
    pg__buf_release(&b);

    /* Over the cap: PG_E_LIMIT, buffer released. */
    pg__buf_init(&b, 5);
    assert_int_equal(pg__json_str(&b, "abcdef"), PG_E_LIMIT);
    assert_null(b.ptr);
    pg__buf_release(&b);
}

/*
 * An independent validator: the output must be one JSON string
 * literal in valid UTF-8 with no raw control byte.  Returns NULL if
 * so, else what is wrong.
 */
static const char *json_problem(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (*p++ != '"')
        return "no opening quote";
    while (*p && *p != '"') {
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                int k;

                for (k = 1; k <= 4; k++) {
                    if (!p[k] || !strchr("0123456789abcdef", p[k]))
                        return "bad \\u escape";
                }
                p += 5;
            } else if (*p && strchr("\"\\/bfnrt", *p)) {
                p++;
            } else {
                return "bad escape";
            }
        } else if (*p < 0x20 || *p == 0x7f) {
            return "raw control byte";
        } else if (*p < 0x80) {
            p++;
        } else {
            unsigned cp;
            int n, k;

            if (*p >= 0xc2 && *p <= 0xdf) {
                n = 1;
                cp = *p & 0x1f;
            } else if (*p >= 0xe0 && *p <= 0xef) {
                n = 2;
                cp = *p & 0x0f;
            } else if (*p >= 0xf0 && *p <= 0xf4) {
                n = 3;
                cp = *p & 0x07;
            } else {
                return "invalid UTF-8 lead byte";
            }
            for (k = 1; k <= n; k++) {
                if ((p[k] & 0xc0) != 0x80)
                    return "invalid UTF-8 continuation";
                cp = cp << 6 | (p[k] & 0x3f);
            }
            if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return "overlong, surrogate or out of range";
            p += n + 1;
        }
    }
    if (*p != '"')
        return "no closing quote";
    if (p[1])
        return "bytes after the closing quote";
    return NULL;
}

/*
 * Every 1- and 2-byte string and every 3-byte string starting with a
 * lead byte gives a valid JSON string.
 */
static void test_json_str_exhaustive(void **state)
{
    struct pg__buf b = PG_BUF_INIT(1024);
    unsigned a, c, d;
    int bad = 0;

    for (a = 1; a < 256; a++) {
        for (c = 0; c < 256; c++) {
            unsigned char s[4] = { (unsigned char)a, (unsigned char)c, 0,
                                   0 };
            const char *why;

            pg__buf_reset(&b);
            assert_int_equal(pg__json_str(&b, (const char *)s), PG_OK);
            why = json_problem(pg__buf_str(&b));
            UT_EXPECT(bad, !why, "%02x %02x: %s", a, c, why);
            if (a < 0xc0 || c < 0x80 || c >= 0xc0)
                continue;
            for (d = 1; d < 256; d++) {
                s[2] = (unsigned char)d;
                pg__buf_reset(&b);
                assert_int_equal(pg__json_str(&b, (const char *)s), PG_OK);
                why = json_problem(pg__buf_str(&b));
                UT_EXPECT(bad, !why, "%02x %02x %02x: %s", a, c, d, why);
                if (bad > 10)
                    break;
            }
        }
    }
    pg__buf_release(&b);
    assert_int_equal(bad, 0);
}

/* A full record, every field set. */
static void full_result(struct pg_result *r)
{
    memset(r, 0, sizeof(*r));
    r->url = "http://example.com/a b";
    r->line = 42;
    r->status = PG_ST_OK;
    r->http_code = 200;
    r->bytes = 12345678901ULL;
    r->content_type = "text/html; charset=\"utf-8\"";
    r->final_url = "https://example.com/a%20b";
    r->attempts = 2;
    r->time_ms = 12.3456;
    r->error = NULL;
    r->path = "example.com/a b";
    r->http_version = "1.1";
}

static const char full_line[] =
    "{\"url\":\"http://example.com/a b\",\"line\":42,\"status\":\"ok\","
    "\"http_code\":200,\"bytes\":12345678901,"
    "\"content_type\":\"text/html; charset=\\\"utf-8\\\"\","
    "\"path\":\"example.com/a b\","
    "\"final_url\":\"https://example.com/a%20b\",\"attempts\":2,"
    "\"time_ms\":12.346,\"error\":null,"
    "\"kind\":\"file\",\"depth\":0,\"referrer\":null,\"links\":0,"
    "\"hash\":null,\"duplicate_of\":null,\"http_version\":\"1.1\","
    "\"etag\":null,\"last_modified\":null}\n";

static const char failed_line[] =
    "{\"url\":\"http://h/x\",\"line\":7,\"status\":\"http-error\","
    "\"http_code\":404,\"bytes\":0,\"content_type\":null,\"path\":null,"
    "\"final_url\":null,\"attempts\":1,\"time_ms\":0.000,"
    "\"error\":\"HTTP 404\","
    "\"kind\":\"file\",\"depth\":0,\"referrer\":null,\"links\":0,"
    "\"hash\":null,\"duplicate_of\":null,\"http_version\":null,"
    "\"etag\":null,\"last_modified\":null}\n";

static size_t count_char(const char *s, char c)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == c;
    return n;
}

static void test_format_full_record(void **state)
{
    struct pg__buf b = PG_BUF_INIT(256 * 1024);
    struct pg_result r;

    full_result(&r);
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    assert_string_equal(pg__buf_str(&b), full_line);
    /* format() resets the buffer: the same record again, not twice. */
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    assert_string_equal(pg__buf_str(&b), full_line);

    memset(&r, 0, sizeof(r));
    r.url = "http://h/x";
    r.line = 7;
    r.status = PG_ST_HTTP_ERROR;
    r.http_code = 404;
    r.attempts = 1;
    r.error = "HTTP 404";
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    assert_string_equal(pg__buf_str(&b), failed_line);
    pg__buf_release(&b);
}

/* --exec: the pending key, then the hook's end, after duplicate_of. */
static void test_format_exec(void **state)
{
    struct pg__buf b = PG_BUF_INIT(256 * 1024);
    struct pg_result r;
    const char *s;

    (void)state;
    full_result(&r);
    r.exec_state = PG_EXEC_PENDING;
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    s = pg__buf_str(&b);
    assert_non_null(strstr(s, ",\"exec_pending\":true}\n"));
    assert_null(strstr(s, "exec_status"));
    assert_true(record_complete(s));
    r.exec_state = PG_EXEC_DONE;
    r.exec_status = 137;
    r.exec_ms = 12.5;
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    s = pg__buf_str(&b);
    assert_non_null(strstr(s, ",\"exec_status\":137,\"exec_ms\":12.500}"));
    assert_null(strstr(s, "exec_pending"));
    assert_true(record_complete(s));
    pg__buf_release(&b);
}

/* Every status has its documented name in the record. */
static void test_format_status_names(void **state)
{
    static const char *const names[PG_ST__COUNT] = {
        "ok", "exists", "http-error", "network-error", "redirect-error",
        "invalid-url", "save-error", "filtered", "robots", "listed",
        "too-large", "skipped", "interrupted", "worker-crash",
        "type-mismatch", "blocked", "other-shard", "unchanged", "changed",
        "gone",
    };
    struct pg__buf b = PG_BUF_INIT(4096);
    struct pg_result r;
    unsigned st;

    for (st = 0; st < PG_ST__COUNT; st++) {
        char want[64];

        memset(&r, 0, sizeof(r));
        r.url = "u";
        r.status = (enum pg_status)st;
        assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
        snprintf(want, sizeof(want), ",\"status\":\"%s\",", names[st]);
        assert_non_null(strstr(pg__buf_str(&b), want));
    }
    pg__buf_release(&b);
}

/* Hostile strings never add a line or a field to the record. */
static void test_format_no_forgery(void **state)
{
    static const char forged_url[] =
        "http://h/\n{\"url\":\"forged\"}";
    static const char want[] =
        "{\"url\":\"http://h/\\n{\\\"url\\\":\\\"forged\\\"}\",\"line\":1,"
        "\"status\":\"save-error\",\"http_code\":200,\"bytes\":5,"
        "\"content_type\":\"a\\r\\nX-Injected: 1\",\"path\":null,"
        "\"final_url\":\"http://h/\\u0001%FF\",\"attempts\":1,"
        "\"time_ms\":1.500,\"error\":\"cannot save '\\u001b[2J\\n'\","
        "\"kind\":\"file\",\"depth\":0,\"referrer\":null,\"links\":0,"
        "\"hash\":null,\"duplicate_of\":null,\"http_version\":null,"
    "\"etag\":null,\"last_modified\":null}\n";
    struct pg__buf b = PG_BUF_INIT(256 * 1024);
    struct pg_result r;

    memset(&r, 0, sizeof(r));
    r.url = forged_url;
    r.line = 1;
    r.status = PG_ST_SAVE_ERROR;
    r.http_code = 200;
    r.bytes = 5;
    r.content_type = "a\r\nX-Injected: 1";
    r.final_url = "http://h/\x01\xff";
    r.attempts = 1;
    r.time_ms = 1.5;
    r.error = "cannot save '\x1b[2J\n'";
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    assert_string_equal(pg__buf_str(&b), want);
    assert_int_equal(count_char(pg__buf_str(&b), '\n'), 1);
    assert_int_equal(b.ptr[b.len - 1], '\n');
    assert_null(memchr(b.ptr, '\r', b.len));
    pg__buf_release(&b);
}

static int setup_dir(void **state)
{
    *state = ut_tmpdir();
    return *state ? 0 : -1;
}

static int teardown_dir(void **state)
{
    int rc = ut_rm_tree(*state);

    free(*state);
    return rc;
}

/* The file is created 0600 (whatever the umask), one line a record. */
static void test_open_mode_and_records(void **state)
{
    char *path = ut_path(*state, "manifest.jsonl");
    struct pg__manifest m;
    struct pg_result r;
    struct stat st;
    mode_t old;
    char *data, *want;
    size_t n;

    assert_non_null(path);
    pg__manifest_init(&m);
    assert_int_equal(m.fd, -1);
    old = umask(0);
    assert_int_equal(pg__manifest_open(&m, path, 0), PG_OK);
    umask(old);
    assert_true(m.fd >= 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);

    full_result(&r);
    assert_int_equal(pg__manifest_write(&m, &r), PG_OK);
    memset(&r, 0, sizeof(r));
    r.url = "http://h/x";
    r.line = 7;
    r.status = PG_ST_HTTP_ERROR;
    r.http_code = 404;
    r.attempts = 1;
    r.error = "HTTP 404";
    assert_int_equal(pg__manifest_write(&m, &r), PG_OK);
    assert_int_equal(pg__manifest_close(&m), PG_OK);
    assert_int_equal(m.fd, -1);

    data = ut_read_file(path, &n);
    assert_non_null(data);
    want = malloc(sizeof(full_line) + sizeof(failed_line));
    assert_non_null(want);
    snprintf(want, sizeof(full_line) + sizeof(failed_line), "%s%s",
             full_line, failed_line);
    assert_string_equal(data, want);
    free(data);
    free(want);

    /* Opening again truncates. */
    assert_int_equal(pg__manifest_open(&m, path, 0), PG_OK);
    assert_int_equal(pg__manifest_close(&m), PG_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    free(path);
}

static void test_open_errors(void **state)
{
    char *path = ut_path(*state, "no/such/dir/manifest.jsonl");
    struct pg__manifest m;
    struct pg_result r;

    assert_non_null(path);
    pg__manifest_init(&m);
    errno = 0;
    assert_int_equal(pg__manifest_open(&m, path, 0), PG_E_IO);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(m.fd, -1);
    /* Without a file, write and close do nothing and succeed. */
    full_result(&r);
    assert_int_equal(pg__manifest_write(&m, &r), PG_OK);
    assert_int_equal(pg__manifest_close(&m), PG_OK);
    free(path);
}

/*
 * Whole lines per write(): the manifest fd is swapped for a
 * SOCK_SEQPACKET socket, which keeps write boundaries.  Records wait
 * in the batch until pg__manifest_flush, which sends them in one packet
 * of whole lines; a batch that would pass PG_MANIFEST_BATCH is sent
 * first, so no packet is larger and none ends inside a record.
 */
static void test_whole_lines_per_write(void **state)
{
    char *path = ut_path(*state, "m.jsonl");
    static char pkt[PG_MANIFEST_BATCH + 1];
    struct pg__manifest m;
    struct pg_result r;
    char *long_url;
    ssize_t n;
    size_t lines = 0, packets = 0;
    int sv[2], i;

    assert_non_null(path);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    pg__manifest_init(&m);
    assert_int_equal(pg__manifest_open(&m, path, 0), PG_OK);
    assert_true(dup2(sv[0], m.fd) == m.fd);
    close(sv[0]);
    m.kind = pg__fd_kind(m.fd);
    assert_int_equal(m.kind, PG_FD_SOCKET);

    full_result(&r);
    assert_int_equal(pg__manifest_write(&m, &r), PG_OK);
    r.url = "http://h/\n{\"url\":\"forged\"}";
    assert_int_equal(pg__manifest_write(&m, &r), PG_OK);
    r.url = "http://h/3";
    assert_int_equal(pg__manifest_write(&m, &r), PG_OK);
    /* Nothing is sent before the flush. */
    assert_true(recv(sv[1], pkt, sizeof(pkt) - 1, MSG_DONTWAIT) < 0);
    assert_int_equal(pg__manifest_flush(&m), PG_OK);
    n = recv(sv[1], pkt, sizeof(pkt) - 1, 0);
    assert_true(n > 0);
    pkt[n] = '\0';
    assert_int_equal(count_char(pkt, '\n'), 3);
    assert_int_equal(pkt[n - 1], '\n');
    assert_memory_equal(pkt, full_line, strlen(full_line));
    assert_non_null(strstr(pkt, "forged"));
    assert_non_null(strstr(pkt, "{\"url\":\"http://h/3\","));
    /* An empty batch sends nothing. */
    assert_int_equal(pg__manifest_flush(&m), PG_OK);
    assert_true(recv(sv[1], pkt, sizeof(pkt) - 1, MSG_DONTWAIT) < 0);

    /* 10 records of ~8 KiB: more than one batch. */
    long_url = malloc(8001);
    assert_non_null(long_url);
    memcpy(long_url, "http://h/", 9);
    memset(long_url + 9, 'a', 8000 - 9);
    long_url[8000] = '\0';
    r.url = long_url;
    for (i = 0; i < 10; i++)
        assert_int_equal(pg__manifest_write(&m, &r), PG_OK);
    assert_int_equal(pg__manifest_flush(&m), PG_OK);
    while ((n = recv(sv[1], pkt, sizeof(pkt) - 1, MSG_DONTWAIT)) > 0) {
        assert_true((size_t)n <= PG_MANIFEST_BATCH);
        assert_int_equal(pkt[n - 1], '\n');
        pkt[n] = '\0';
        lines += count_char(pkt, '\n');
        packets++;
    }
    assert_int_equal(lines, 10);
    assert_int_equal(packets, 2);
    free(long_url);

    /* fsync on a socket fails with EINVAL, which close() tolerates. */
    assert_int_equal(pg__manifest_close(&m), PG_OK);
    close(sv[1]);
    free(path);
}

/*
 * A FIFO whose reader is gone: EPIPE, and no SIGPIPE, whatever the
 * host's disposition (the default one kills the process); one already
 * pending stays pending.
 */
static void test_write_pipe_no_sigpipe(void **state)
{
    struct sigaction dfl, old;
    sigset_t set, oldmask, pending;
    int p[2];

    (void)state;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    assert_int_equal(sigaction(SIGPIPE, &dfl, &old), 0);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pg__fd_kind(p[1]), PG_FD_PIPE);
    close(p[0]);
    errno = 0;
    assert_int_equal(pg__write_kind(p[1], PG_FD_PIPE, "x\n", 2), PG_E_IO);
    assert_int_equal(errno, EPIPE);
    sigemptyset(&pending);
    assert_int_equal(sigpending(&pending), 0);
    assert_false(sigismember(&pending, SIGPIPE));

    /* Blocked and pending before: still pending after. */
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &oldmask), 0);
    assert_int_equal(raise(SIGPIPE), 0);
    assert_int_equal(pg__write_kind(p[1], PG_FD_PIPE, "x\n", 2), PG_E_IO);
    sigemptyset(&pending);
    assert_int_equal(sigpending(&pending), 0);
    assert_true(sigismember(&pending, SIGPIPE));
    {
        struct timespec zero = { 0, 0 };

        assert_int_equal(sigtimedwait(&set, NULL, &zero), SIGPIPE);
    }
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &oldmask, NULL), 0);
    close(p[1]);
    assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
    assert_int_equal(pg__fd_kind(STDERR_FILENO) == PG_FD_SOCKET ||
                     pg__fd_kind(STDERR_FILENO) == PG_FD_PIPE ||
                     pg__fd_kind(STDERR_FILENO) == PG_FD_FILE, 1);
}

/* A long URL of invalid bytes (3x expansion: %XX in URLs, U+FFFD in
 * text) still fits a record, uncut. */
static void test_format_long_url(void **state)
{
    struct pg__buf b = PG_BUF_INIT(256 * 1024);
    struct pg_result r;
    char *url = malloc(8193);

    assert_non_null(url);
    memset(url, 0xff, 8192);
    url[8192] = '\0';
    memset(&r, 0, sizeof(r));
    r.url = url;
    r.error = url;
    r.final_url = url;
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    assert_int_equal(count_char(pg__buf_str(&b), '\n'), 1);
    assert_true(b.len > 3 * 3 * 8192);
    assert_null(strstr(pg__buf_str(&b), "_truncated"));
    free(url);
    pg__buf_release(&b);
}

/* --resume appends: a torn last line is cut, never glued to. */
static void test_append_cuts_torn_line(void **state)
{
    static const char whole[] = "{\"url\":\"a\"}\n{\"url\":\"b\"}\n";
    static const char torn[] = "{\"url\":\"c\",\"li";
    char path[] = "/tmp/pg-test-torn-XXXXXX";
    char buf[256];
    struct pg__manifest m;
    ssize_t n;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, whole, sizeof(whole) - 1),
                     (ssize_t)sizeof(whole) - 1);
    assert_int_equal(write(fd, torn, sizeof(torn) - 1),
                     (ssize_t)sizeof(torn) - 1);
    close(fd);
    pg__manifest_init(&m);
    assert_int_equal(pg__manifest_open(&m, path, 1), PG_OK);
    assert_int_equal(pg__manifest_close(&m), PG_OK);
    fd = open(path, O_RDONLY);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, whole);
    /* A file that is all torn is emptied. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, torn, sizeof(torn) - 1),
                     (ssize_t)sizeof(torn) - 1);
    close(fd);
    pg__manifest_init(&m);
    assert_int_equal(pg__manifest_open(&m, path, 1), PG_OK);
    assert_int_equal(pg__manifest_close(&m), PG_OK);
    fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, buf, sizeof(buf)), 0);
    close(fd);
    unlink(path);
}

/* Issue 9: a page cut by a parsing limit says so, last; others do not. */
static void test_format_links_truncated(void **state)
{
    struct pg__buf b = PG_BUF_INIT(1 << 20);
    struct pg_result r;
    const char *line;
    size_t n;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.url = "http://h/p.html";
    r.kind = PG_KIND_PAGE;
    r.links = 10000;
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    assert_null(strstr(pg__buf_str(&b), "links_truncated"));
    r.links_truncated = 1;
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    line = pg__buf_str(&b);
    n = strlen(line);
    assert_true(n > 25);
    assert_string_equal(line + n - 25, ",\"links_truncated\":true}\n");
    assert_non_null(strstr(line, "\"links\":10000,"));
    pg__buf_release(&b);
}

/*
 * A record whose strings would pass the 256 KiB cap is still written:
 * the long strings are cut (never inside an escape) and each is marked
 * "<key>_truncated":true; short ones are left whole.
 */
static void test_format_cuts_long_fields(void **state)
{
    static const char tail[] =
        ",\"duplicate_of\":null,\"http_version\":\"1.1\","
        "\"etag\":null,\"last_modified\":null,"
        "\"url_truncated\":true,\"error_truncated\":true}\n";
    struct pg__buf b = PG_BUF_INIT(256 * 1024);
    struct pg_result r;
    char *url = malloc(300001), *err = malloc(300001);
    size_t i;

    assert_non_null(url);
    assert_non_null(err);
    memcpy(url, "http://h/", 9);
    memset(url + 9, 0xff, 300000 - 9);
    url[300000] = '\0';
    memset(err, '"', 300000);
    err[300000] = '\0';
    full_result(&r);
    r.url = url;
    r.error = err;
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    assert_true(b.len <= 256 * 1024);
    assert_true(b.len > 2 * 16 * 1024);
    assert_int_equal(count_char(pg__buf_str(&b), '\n'), 1);
    assert_true(b.len > sizeof(tail));
    assert_string_equal(b.ptr + b.len - (sizeof(tail) - 1), tail);
    assert_non_null(strstr(b.ptr, "\"content_type\":\"text/html; "));
    /* No escape is cut in half: each \u is followed by 00ff. */
    for (i = 0; i + 1 < b.len; i++) {
        if (b.ptr[i] == '\\' && b.ptr[i + 1] == 'u')
            assert_memory_equal(b.ptr + i + 2, "00ff", 4);
        if (b.ptr[i] == '\\')
            i++;
    }
    /* A record that fits is never marked. */
    full_result(&r);
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    assert_null(strstr(pg__buf_str(&b), "_truncated"));
    pg__buf_release(&b);
    free(url);
    free(err);
}

struct seen {
    char url[64][64];
    char status[64][16];
    char path[64][32];
    char ctype[64][32];
    char etag[64][300];
    char lm[64][64];
    unsigned long long lineno[64];
    int pending[64];
    int n;
};

static enum pg_code collect(const struct pg__manifest_rec *rec, void *ud)
{
    struct seen *s = ud;
    const char *url = rec->url, *status = rec->status, *path = rec->path;

    if (s->n < 64) {
        snprintf(s->url[s->n], sizeof(s->url[0]), "%s", url);
        snprintf(s->status[s->n], sizeof(s->status[0]), "%s", status);
        snprintf(s->path[s->n], sizeof(s->path[0]), "%s",
                 path ? path : "(null)");
        snprintf(s->ctype[s->n], sizeof(s->ctype[0]), "%s",
                 rec->content_type ? rec->content_type : "(null)");
        snprintf(s->etag[s->n], sizeof(s->etag[0]), "%s",
                 rec->etag ? rec->etag : "(null)");
        snprintf(s->lm[s->n], sizeof(s->lm[0]), "%s",
                 rec->last_modified ? rec->last_modified : "(null)");
        s->lineno[s->n] = (unsigned long long)rec->lineno;
        s->pending[s->n] = rec->exec_pending;
        assert_int_equal(rec->len, strlen(rec->line));
    }
    s->n++;
    return PG_OK;
}

#define REC(u, st, p)                                                    \
    "{\"url\":\"" u "\",\"line\":1,\"status\":\"" st "\",\"http_code\":" \
    "200,\"bytes\":3,\"content_type\":null,\"path\":" p ",\"final_url\":" \
    "null,\"attempts\":1,\"time_ms\":1.500,\"error\":null,\"kind\":"     \
    "\"image\",\"depth\":0,\"referrer\":null,\"links\":0,\"hash\":null,"  \
    "\"duplicate_of\":null}"

/*
 * Issue 9: a torn or glued line in the middle of the manifest is
 * skipped; it never gives one URL's status (or path) to another.
 */
static void test_read_skips_torn_middle(void **state)
{
    static const char text[] =
        REC("http://h/1", "ok", "\"h/1\"") "\n"
        /* Torn after the url: the next record glued on. */
        "{\"url\":\"http://h/2\",\"line\":1,\"sta"
        REC("http://h/3", "ok", "\"h/3\"") "\n"
        /* Torn right after the url's value, then a whole record. */
        "{\"url\":\"http://h/4\"" REC("http://h/5", "ok", "null") "\n"
        /* Two whole records on one line. */
        REC("http://h/6", "failed", "null") REC("http://h/7", "ok",
                                                "\"h/7\"") "\n"
        /* A record cut short, then its newline. */
        "{\"url\":\"http://h/8\",\"line\":1,\"status\":\"ok\"\n"
        REC("http://h/9", "http-error", "null") "\n"
        /* A torn last line. */
        "{\"url\":\"http://h/10\",\"status\":\"ok\"";
    char *dir = *state, path[4096];
    struct seen s;
    FILE *f;

    snprintf(path, sizeof(path), "%s/m.jsonl", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f),
                     sizeof(text) - 1);
    assert_int_equal(fclose(f), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pg__manifest_read(path, collect, &s), PG_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.url[0], "http://h/1");
    assert_string_equal(s.status[0], "ok");
    assert_string_equal(s.path[0], "h/1");
    assert_string_equal(s.url[1], "http://h/9");
    assert_string_equal(s.status[1], "http-error");
    assert_string_equal(s.path[1], "(null)");
}

/* --resume reads exec_pending, never from inside a string. */
static void test_read_exec_pending(void **state)
{
    char *dir = *state, path[4096];
    struct pg__buf b = PG_BUF_INIT(256 * 1024);
    struct pg_result r;
    struct seen s;
    FILE *f;

    snprintf(path, sizeof(path), "%s/m.jsonl", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    memset(&r, 0, sizeof(r));
    r.url = "http://h/1";
    r.path = "h/1";
    r.content_type = "image/png";
    r.exec_state = PG_EXEC_PENDING;
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    fputs(pg__buf_str(&b), f);
    r.url = "http://h/2?,\"exec_pending\":true";
    r.content_type = ",\"exec_pending\":true";
    r.exec_state = PG_EXEC_DONE;
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    fputs(pg__buf_str(&b), f);
    assert_int_equal(fclose(f), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pg__manifest_read(path, collect, &s), PG_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.pending[0], 1);
    assert_string_equal(s.ctype[0], "image/png");
    assert_int_equal(s.pending[1], 0);
    pg__buf_release(&b);
}

/*
 * --update: etag and last_modified are written and read back as they
 * were (quotes, W/ and a comma inside), a key inside another string is
 * never taken for them, a marker line is skipped but counted in the
 * line numbers, and a hostile validator never reaches a record.
 */
static void test_validators_round_trip(void **state)
{
    char *dir = *state, path[4096], big[PG_VALIDATOR_MAX + 2];
    struct pg__buf b = PG_BUF_INIT(256 * 1024);
    struct pg_result r;
    struct seen s;
    char *v;
    FILE *f;

    snprintf(path, sizeof(path), "%s/m.jsonl", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    memset(&r, 0, sizeof(r));
    r.url = "http://h/1";
    r.status = PG_ST_CHANGED;
    r.etag = "W/\"a,\\\"b\"";
    r.last_modified = "Mon, 01 Jan 2024 00:00:00 GMT";
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    assert_non_null(strstr(pg__buf_str(&b), ",\"etag\":\"W/\\\"a,"
                           "\\\\\\\"b\\\"\",\"last_modified\":\"Mon, 01 "
                           "Jan 2024 00:00:00 GMT\"}\n"));
    assert_true(record_complete(pg__buf_str(&b)));
    fputs(pg__buf_str(&b), f);
    fputs(PG_MANIFEST_UPDATE_MARK ",\"pid\":1}\n", f);
    r.url = "http://h/2?\"etag\":\"forged";
    r.status = PG_ST_UNCHANGED;
    r.content_type = ",\"last_modified\":\"forged\"";
    r.etag = NULL;
    r.last_modified = NULL;
    assert_int_equal(pg__manifest_format(&b, &r), PG_OK);
    fputs(pg__buf_str(&b), f);
    assert_int_equal(fclose(f), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pg__manifest_read(path, collect, &s), PG_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.status[0], "changed");
    assert_string_equal(s.etag[0], "W/\"a,\\\"b\"");
    assert_string_equal(s.lm[0], "Mon, 01 Jan 2024 00:00:00 GMT");
    assert_int_equal(s.lineno[0], 1);
    assert_string_equal(s.status[1], "unchanged");
    assert_string_equal(s.etag[1], "(null)");
    assert_string_equal(s.lm[1], "(null)");
    assert_int_equal(s.lineno[1], 3);
    pg__buf_release(&b);

    /* What a response header may hold: printable ASCII, bounded. */
    v = pg__validator_dupn(" \"x\"\r\n", 6);
    assert_string_equal(v, "\"x\"");
    pg_free(v);
    assert_null(pg__validator_dup("\"a\"\r\nX-Injected: 1"));
    assert_null(pg__validator_dup("\"\x80\""));
    assert_null(pg__validator_dup(""));
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_null(pg__validator_dup(big));
    big[PG_VALIDATOR_MAX] = '\0';
    v = pg__validator_dup(big);
    assert_non_null(v);
    pg_free(v);
}

/* Every URL with one hash, as two URLs of a hostile site can be. */
static uint64_t one_hash(const void *p, size_t n)
{
    (void)p;
    (void)n;
    return 42;
}

/* Compaction tells URLs apart by their text, not by their 64-bit hash:
 * colliding URLs each keep their last record. */
static void test_compact_hash_collision(void **state)
{
    static const char text[] =
        "{\"url\":\"http://h/a\",\"status\":\"ok\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/b\",\"status\":\"ok\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/a\",\"status\":\"changed\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/ab\",\"status\":\"gone\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/\\\"x\",\"status\":\"ok\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/b\",\"status\":\"unchanged\",\"kind\":\"file\"}\n";
    static const char want[] =
        "{\"url\":\"http://h/a\",\"status\":\"changed\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/ab\",\"status\":\"gone\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/\\\"x\",\"status\":\"ok\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/b\",\"status\":\"unchanged\",\"kind\":\"file\"}\n";
    char *dir = *state, path[4096], err[256], got[1024];
    uint64_t (*saved)(const void *, size_t) = pg__compact_hash;
    uint64_t kept = 0, dropped = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/m.jsonl", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f),
                     sizeof(text) - 1);
    assert_int_equal(fclose(f), 0);
    pg__compact_hash = one_hash;
    assert_int_equal(pg_manifest_compact(path, &kept, &dropped, err,
                                         sizeof(err)), PG_OK);
    pg__compact_hash = saved;
    assert_int_equal(kept, 4);
    assert_int_equal(dropped, 2);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    got[n] = '\0';
    assert_string_equal(got, want);
}

/* The update map with every URL on one hash: each URL still finds its
 * own last record, and replacing one keeps the others reachable. */
static void test_update_map_collision(void **state)
{
    uint64_t (*saved)(const void *, size_t) = pg__update_hash;
    const char *urls[] = { "http://h/a", "http://h/b", "http://h/c" };
    struct pg__update u;
    struct pg__upd_entry e;
    const char *f[PG_UPD_NF] = { NULL };
    size_t i;

    (void)state;
    pg__update_hash = one_hash;
    pg__update_init(&u);
    for (i = 0; i < 3; i++) {
        f[PG_UPD_URL] = urls[i];
        f[PG_UPD_PATH] = urls[i] + 9;
        assert_int_equal(pg__update_add(&u, 'S', f), PG_OK);
    }
    f[PG_UPD_URL] = "http://h/b";     /* b's later record: gone */
    f[PG_UPD_PATH] = "b2";
    assert_int_equal(pg__update_add(&u, 'G', f), PG_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(pg__update_find(&u, urls[i], &e), 1);
        assert_string_equal(e.f[PG_UPD_URL], urls[i]);
        assert_int_equal(e.cls, i == 1 ? 'G' : 'S');
        assert_string_equal(e.f[PG_UPD_PATH], i == 1 ? "b2" : urls[i] + 9);
    }
    assert_int_equal(pg__update_find(&u, "http://h/d", &e), 0);
    pg__update_release(&u);
    pg__update_hash = saved;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_str_table),
        cmocka_unit_test(test_format_links_truncated),
        cmocka_unit_test(test_json_str_null_and_append),
        cmocka_unit_test(test_json_str_exhaustive),
        cmocka_unit_test(test_format_full_record),
        cmocka_unit_test(test_format_exec),
        cmocka_unit_test(test_format_status_names),
        cmocka_unit_test(test_format_no_forgery),
        cmocka_unit_test(test_format_long_url),
        cmocka_unit_test(test_append_cuts_torn_line),
        cmocka_unit_test_setup_teardown(test_read_skips_torn_middle,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_exec_pending,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_open_mode_and_records,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_open_errors, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_whole_lines_per_write,
                                        setup_dir, teardown_dir),
        cmocka_unit_test(test_write_pipe_no_sigpipe),
        cmocka_unit_test(test_format_cuts_long_fields),
        cmocka_unit_test(test_update_map_collision),
        cmocka_unit_test_setup_teardown(test_validators_round_trip,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_compact_hash_collision,
                                        setup_dir, teardown_dir),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
