/*
 * test_url.c - unit tests for URL parsing and hashing (src/url.c).
 *
 * pg__url_parse() sits on libcurl's URL API, so the group setup calls
 * curl_global_init().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mem.h"
#include "url.h"
#include "unit.h"

static int group_setup(void **state)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    curl_global_cleanup();
    return 0;
}

/* "(null)"-safe string for messages. */
static const char *str(const char *s)
{
    return s ? s : "(null)";
}

/* 1 if a and b are both NULL or equal strings. */
static int same(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return !strcmp(a, b);
}

/* Assert that every field of u is NULL (the state after a failure). */
static int is_empty(const struct pg__url *u)
{
    return !u->url && !u->scheme && !u->host && !u->port && !u->path &&
           !u->query;
}

struct accept_case {
    const char *in;
    const char *url;
    const char *scheme;
    const char *host;
    const char *port;
    const char *path;
    const char *query;
};

static const struct accept_case accept_cases[] = {
    { "http://example.com/", "http://example.com/", "http",
      "example.com", NULL, "/", NULL },
    { "https://example.com", "https://example.com/", "https",
      "example.com", NULL, "/", NULL },
    /* Scheme and host lower-cased, the path keeps its case. */
    { "HTTP://Example.COM/A/b", "http://example.com/A/b", "http",
      "example.com", NULL, "/A/b", NULL },
    { "HtTpS://WWW.X.ORG/", "https://www.x.org/", "https", "www.x.org",
      NULL, "/", NULL },
    /* Default ports dropped, others kept. */
    { "http://h:80/x", "http://h/x", "http", "h", NULL, "/x", NULL },
    { "https://h:443/x", "https://h/x", "https", "h", NULL, "/x", NULL },
    { "http://h:8080/x", "http://h:8080/x", "http", "h", "8080", "/x",
      NULL },
    { "https://h:80/x", "https://h:80/x", "https", "h", "80", "/x",
      NULL },
    { "http://h:443/x", "http://h:443/x", "http", "h", "443", "/x",
      NULL },
    { "http://h:65535/", "http://h:65535/", "http", "h", "65535", "/",
      NULL },
    /* Dot segments removed, never above the root. */
    { "http://h/a/./b/../c", "http://h/a/c", "http", "h", NULL, "/a/c",
      NULL },
    { "http://h/a/../../../etc/passwd", "http://h/etc/passwd", "http",
      "h", NULL, "/etc/passwd", NULL },
    { "http://h/./", "http://h/", "http", "h", NULL, "/", NULL },
    { "http://h/a/..", "http://h/", "http", "h", NULL, "/", NULL },
    /* Fragment dropped, query kept. */
    { "http://h/x#frag", "http://h/x", "http", "h", NULL, "/x", NULL },
    { "http://h/x?a=1&b=2", "http://h/x?a=1&b=2", "http", "h", NULL,
      "/x", "a=1&b=2" },
    { "http://h/x?a=1#f?g=2", "http://h/x?a=1", "http", "h", NULL, "/x",
      "a=1" },
    { "http://h?q", "http://h/?q", "http", "h", NULL, "/", "q" },
    /* Spaces and 8-bit bytes percent-encoded. */
    { "http://h/a b", "http://h/a%20b", "http", "h", NULL, "/a%20b",
      NULL },
    { "http://h/\xc3\xbc.html", "http://h/%C3%BC.html", "http", "h", NULL,
      "/%C3%BC.html", NULL },
    /* Existing percent escapes are left alone. */
    { "http://h/%2E%2E/x", "http://h/%2E%2E/x", "http", "h", NULL,
      "/%2E%2E/x", NULL },
    /* No path at all. */
    { "http://h", "http://h/", "http", "h", NULL, "/", NULL },
    /* IPv6 literal in brackets. */
    { "http://[::1]:8080/x", "http://[::1]:8080/x", "http", "[::1]",
      "8080", "/x", NULL },
    { "http://[::1]:80/x", "http://[::1]/x", "http", "[::1]", NULL, "/x",
      NULL },
};

static void test_parse_accept_table(void **state)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(accept_cases); i++) {
        const struct accept_case *c = &accept_cases[i];
        struct pg__url u;
        char err[PG_ERRBUF_SIZE];
        enum pg_code rc;

        memset(err, 'E', sizeof(err));
        rc = pg__url_parse(&u, c->in, strlen(c->in), err, sizeof(err));
        UT_EXPECT(bad, rc == PG_OK, "'%s': rc %d (%s)", c->in, rc,
                  rc ? err : "");
        if (rc)
            continue;
        UT_EXPECT(bad, err[0] == '\0', "'%s': err '%s' on success", c->in,
                  err);
        UT_EXPECT(bad, same(u.url, c->url), "'%s': url '%s', want '%s'",
                  c->in, str(u.url), c->url);
        UT_EXPECT(bad, same(u.scheme, c->scheme),
                  "'%s': scheme '%s', want '%s'", c->in, str(u.scheme),
                  c->scheme);
        UT_EXPECT(bad, same(u.host, c->host), "'%s': host '%s', want '%s'",
                  c->in, str(u.host), c->host);
        UT_EXPECT(bad, same(u.port, c->port), "'%s': port '%s', want '%s'",
                  c->in, str(u.port), str(c->port));
        UT_EXPECT(bad, same(u.path, c->path), "'%s': path '%s', want '%s'",
                  c->in, str(u.path), c->path);
        UT_EXPECT(bad, same(u.query, c->query),
                  "'%s': query '%s', want '%s'", c->in, str(u.query),
                  str(c->query));
        pg__url_release(&u);
        UT_EXPECT(bad, is_empty(&u), "'%s': release left fields", c->in);
    }
    assert_int_equal(bad, 0);
}

struct reject_case {
    const char *in;
    size_t len;        /* 0: strlen(in) */
    enum pg_code rc;
    const char *err;   /* a substring of the message, or NULL */
};

static const struct reject_case reject_cases[] = {
    { "not a url", 0, PG_E_URL, "not a URL" },
    { "", 0, PG_E_URL, NULL },
    { "example.com/x", 0, PG_E_URL, NULL },
    { "//h/x", 0, PG_E_URL, NULL },
    { "ftp://h/x", 0, PG_E_SCHEME, "'ftp'" },
    { "FTP://h/x", 0, PG_E_SCHEME, "'ftp'" },
    { "file:///etc/passwd", 0, PG_E_SCHEME, "'file'" },
    { "gopher://h/", 0, PG_E_SCHEME, NULL },
    { "ws://h/", 0, PG_E_SCHEME, NULL },
    { "http://", 0, PG_E_URL, NULL },
    { "http://h:99999/", 0, PG_E_URL, NULL },
    { "http://h:65536/", 0, PG_E_URL, NULL },
    { "http://h:abc/", 0, PG_E_URL, NULL },
    { "http://h:-1/", 0, PG_E_URL, NULL },
    { "http://ex ample.com/", 0, PG_E_URL, NULL },
    /* Control characters anywhere, including NUL inside len. */
    { "http://h/a\nb", 0, PG_E_URL, "0x0a" },
    { "http://h/a\rb", 0, PG_E_URL, "0x0d" },
    { "http://h/a\tb", 0, PG_E_URL, "0x09" },
    { "http://h/\x01", 0, PG_E_URL, "0x01" },
    { "http://h/\x1b[31m", 0, PG_E_URL, "0x1b" },
    { "http://h/\x1f", 0, PG_E_URL, "0x1f" },
    { "http://h/\x7f", 0, PG_E_URL, "0x7f" },
    { "\nhttp://h/", 0, PG_E_URL, "0x0a" },
    { "http://h/a\0b", 12, PG_E_URL, "NUL byte" },
    { "http://h\x7f/", 0, PG_E_URL, "0x7f" },
};

/*
 * pg__url_host_of() reads the host of a normalised URL without parsing
 * it again (the parent's crawl scope check): it must give what the
 * parser gives, for every accepted case and the awkward ones (user info,
 * IPv6 with a zone, ports, upper case).
 */
static void test_host_of_normalised(void **state)
{
    static const char *extra[] = {
        "http://User:Pw@EXAMPLE.com:80/a", "http://@host/",
        "http://[fe80::1%25eth0]:8080/x", "https://[::1]/",
        "http://a.b:8/?q", "http://x.y?z", "http://u:p%40x@h.example/",
        "HTTP://WWW.Example.COM.:8080/p?q#f",
    };
    size_t i, n = PG_ARRAY_SIZE(accept_cases) + PG_ARRAY_SIZE(extra);
    char host[PG_URL_MAX];
    int bad = 0;

    for (i = 0; i < n; i++) {
        const char *in = i < PG_ARRAY_SIZE(accept_cases) ?
                         accept_cases[i].in :
                         extra[i - PG_ARRAY_SIZE(accept_cases)];
        struct pg__url u;
        char err[PG_ERRBUF_SIZE];
        size_t len;

        if (pg__url_parse(&u, in, strlen(in), err, sizeof(err)) != PG_OK)
            continue;
        len = pg__url_host_of(u.url, host, sizeof(host));
        UT_EXPECT(bad, len == strlen(u.host) && !strcmp(host, u.host),
                  "'%s' -> '%s': host '%s' (%zu), parser says '%s'", in,
                  u.url, len ? host : "", len, u.host);
        pg__url_release(&u);
    }
    /* Too small a buffer, or no host: 0, never a cut host. */
    assert_int_equal(pg__url_host_of("http://example.com/", host, 5), 0);
    assert_int_equal(pg__url_host_of("no-scheme", host, sizeof(host)), 0);
    assert_int_equal(bad, 0);
}

static void test_parse_reject_table(void **state)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(reject_cases); i++) {
        const struct reject_case *c = &reject_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        struct pg__url u;
        char err[PG_ERRBUF_SIZE];
        enum pg_code rc;

        memset(&u, 0x5a, sizeof(u));
        memset(err, 0, sizeof(err));
        rc = pg__url_parse(&u, c->in, len, err, sizeof(err));
        UT_EXPECT(bad, rc == c->rc, "case %zu: rc %d, want %d (%s)", i,
                  rc, c->rc, err);
        UT_EXPECT(bad, is_empty(&u), "case %zu: fields left set", i);
        UT_EXPECT(bad, err[0] != '\0', "case %zu: empty err", i);
        UT_EXPECT(bad, memchr(err, '\0', sizeof(err)) != NULL,
                  "case %zu: err not terminated", i);
        if (c->err)
            UT_EXPECT(bad, strstr(err, c->err) != NULL,
                      "case %zu: err '%s' lacks '%s'", i, err, c->err);
        if (rc == PG_OK)
            pg__url_release(&u);
    }
    assert_int_equal(bad, 0);
}

/*
 * pagegrab.h documents PG_E_SCHEME as "URL scheme other than http or
 * https" (and url.h lists it for that case).  "javascript:" and
 * "mailto:" URLs have such a scheme, so they must be refused with
 * PG_E_SCHEME and a message naming the scheme.
 */
static void test_parse_reject_opaque_scheme(void **state)
{
    static const char *const urls[] = {
        "javascript:alert(1)",
        "mailto:someone@example.com",
        "data:text/html,<script>x</script>",
    };
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(urls); i++) {
        struct pg__url u;
        char err[PG_ERRBUF_SIZE];
        enum pg_code rc;

        rc = pg__url_parse(&u, urls[i], strlen(urls[i]), err, sizeof(err));
        UT_EXPECT(bad, rc == PG_E_SCHEME, "'%s': rc %d (%s), want "
                  "PG_E_SCHEME", urls[i], rc, err);
        UT_EXPECT(bad, rc != PG_OK && err[0], "'%s': no err", urls[i]);
        UT_EXPECT(bad, is_empty(&u), "'%s': fields left", urls[i]);
        if (rc == PG_OK)
            pg__url_release(&u);
    }
    assert_int_equal(bad, 0);
}

/*
 * Port 0 is not a usable port.  It must be refused as a bad URL; it is
 * not an out-of-memory condition (the job stops on PG_E_NOMEM).
 */
static void test_parse_port_zero_is_not_nomem(void **state)
{
    static const char *const urls[] = {
        "http://h:0/",
        "https://h:0/x",
        "http://[::1]:0/",
    };
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(urls); i++) {
        struct pg__url u;
        char err[PG_ERRBUF_SIZE];
        enum pg_code rc;

        rc = pg__url_parse(&u, urls[i], strlen(urls[i]), err, sizeof(err));
        UT_EXPECT(bad, rc == PG_E_URL, "'%s': rc %d (%s), want PG_E_URL",
                  urls[i], rc, err);
        if (rc == PG_OK)
            pg__url_release(&u);
    }
    assert_int_equal(bad, 0);
}

/*
 * url.h: "spaces ... percent-encoded".  In the query a space must not
 * become '+': under RFC 3986 '+' is a literal plus, so "q=1 2" and
 * "q=1+2" would be fetched as the same URL.
 */
static void test_parse_query_space_percent_encoded(void **state)
{
    static const char in[] = "http://h/x?q=1 2";
    struct pg__url u;
    char err[PG_ERRBUF_SIZE], query[64], url[64];

    assert_int_equal(pg__url_parse(&u, in, strlen(in), err, sizeof(err)),
                     PG_OK);
    snprintf(query, sizeof(query), "%s", u.query ? u.query : "(null)");
    snprintf(url, sizeof(url), "%s", u.url);
    pg__url_release(&u);
    assert_string_equal(query, "q=1%202");
    assert_string_equal(url, "http://h/x?q=1%202");
}

/* %XX escapes get one spelling, so the same resource is seen once. */
static void test_parse_escape_case_normalised(void **state)
{
    static const char *const in[] = {
        "http://h/%C3%BC/a%2Fb?q=%7E%7e", "http://h/%c3%bc/a%2fb?q=%7e%7E",
    };
    char err[PG_ERRBUF_SIZE], urls[2][64];
    struct pg__url u;
    size_t i;

    for (i = 0; i < 2; i++) {
        assert_int_equal(pg__url_parse(&u, in[i], strlen(in[i]), err,
                                       sizeof(err)), PG_OK);
        snprintf(urls[i], sizeof(urls[i]), "%s", u.url);
        assert_string_equal(u.path, "/%C3%BC/a%2Fb");
        assert_string_equal(u.query, "q=%7E%7E");
        pg__url_release(&u);
    }
    assert_string_equal(urls[0], urls[1]);
    assert_string_equal(urls[0], "http://h/%C3%BC/a%2Fb?q=%7E%7E");
}

/*
 * The normalised URL is the one fetched.  Re-setting the lower-cased
 * host must not lose the IPv6 zone id of a link-local address.
 */
static void test_parse_ipv6_zone_kept(void **state)
{
    static const char in[] = "http://[fe80::1%25eth0]:8080/x";
    struct pg__url u;
    char err[PG_ERRBUF_SIZE], url[64];

    assert_int_equal(pg__url_parse(&u, in, strlen(in), err, sizeof(err)),
                     PG_OK);
    snprintf(url, sizeof(url), "%s", u.url);
    pg__url_release(&u);
    assert_string_equal(url, "http://[fe80::1%25eth0]:8080/x");
}

/* Only len bytes are read: the input need not be NUL-terminated. */
static void test_parse_uses_len(void **state)
{
    static const char in[] = "http://h/xyz\n\x01garbage";
    struct pg__url u;
    char err[PG_ERRBUF_SIZE];

    assert_int_equal(pg__url_parse(&u, in, 10, err, sizeof(err)), PG_OK);
    assert_string_equal(u.url, "http://h/x");
    assert_string_equal(u.path, "/x");
    pg__url_release(&u);
}

/* Exactly PG_URL_MAX bytes are accepted, one more is PG_E_LIMIT. */
static void test_parse_length_limit(void **state)
{
    size_t n = PG_URL_MAX + 1;
    char *s = malloc(n + 1);
    struct pg__url u;
    char err[PG_ERRBUF_SIZE];

    assert_non_null(s);
    memcpy(s, "http://h/", 9);
    memset(s + 9, 'a', n - 9);
    s[n] = '\0';

    assert_int_equal(pg__url_parse(&u, s, PG_URL_MAX, err, sizeof(err)),
                     PG_OK);
    assert_int_equal(strlen(u.url), PG_URL_MAX);
    pg__url_release(&u);

    memset(&u, 0x5a, sizeof(u));
    assert_int_equal(pg__url_parse(&u, s, n, err, sizeof(err)),
                     PG_E_LIMIT);
    assert_true(is_empty(&u));
    assert_non_null(strstr(err, "8192"));

    /* The limit is checked before anything else, even a bad byte. */
    s[20] = '\n';
    assert_int_equal(pg__url_parse(&u, s, n, err, sizeof(err)),
                     PG_E_LIMIT);
    free(s);
}

/* A short error buffer is filled and terminated, never overrun. */
static void test_parse_small_errbuf(void **state)
{
    char err[9];
    struct pg__url u;

    memset(err, 'Z', sizeof(err));
    assert_int_equal(pg__url_parse(&u, "ftp://h/", 8, err, 8),
                     PG_E_SCHEME);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(err[8], 'Z');

    memset(err, 'Z', sizeof(err));
    assert_int_equal(pg__url_parse(&u, "http://h/\n", 10, err, 1),
                     PG_E_URL);
    assert_int_equal(err[0], '\0');
    assert_int_equal(err[1], 'Z');
}

/* Releasing twice, or a zeroed struct, is harmless. */
static void test_release_idempotent(void **state)
{
    struct pg__url u;
    char err[PG_ERRBUF_SIZE];

    memset(&u, 0, sizeof(u));
    pg__url_release(&u);
    assert_true(is_empty(&u));
    assert_int_equal(pg__url_parse(&u, "http://h/?a", 11, err,
                                   sizeof(err)), PG_OK);
    pg__url_release(&u);
    pg__url_release(&u);
    assert_true(is_empty(&u));
}

/*
 * Allocation failure at every step: the result is PG_E_NOMEM with a
 * message and no fields (nothing leaks under ASan/valgrind), until
 * enough allocations succeed.
 */
static void test_parse_nomem_sweep(void **state)
{
    static const char in[] = "HTTP://Example.com:8080/a/../b?q=1#f";
    unsigned long n;
    int ok = 0;

    for (n = 1; n < 100 && !ok; n++) {
        struct pg__url u;
        char err[PG_ERRBUF_SIZE];
        enum pg_code rc;

        pg__mem_fail_at(n);
        rc = pg__url_parse(&u, in, strlen(in), err, sizeof(err));
        pg__mem_fail_at(0);
        if (rc == PG_OK) {
            assert_string_equal(u.url, "http://example.com:8080/b?q=1");
            pg__url_release(&u);
            ok = 1;
            continue;
        }
        assert_int_equal(rc, PG_E_NOMEM);
        assert_true(is_empty(&u));
        assert_string_equal(err, "out of memory");
    }
    assert_true(ok);
    assert_true(n > 2);
}

struct hash_case {
    const char *in;
    size_t len;
    uint64_t h;
};

/* FNV-1a 64 reference values (the published test vectors). */
static void test_hash64_known_values(void **state)
{
    static const struct hash_case cases[] = {
        { "", 0, 0xcbf29ce484222325ULL },
        { "a", 1, 0xaf63dc4c8601ec8cULL },
        { "b", 1, 0xaf63df4c8601f1a5ULL },
        { "foobar", 6, 0x85944171f73967e8ULL },
        { "ab", 1, 0xaf63dc4c8601ec8cULL }, /* only n bytes are read */
    };
    size_t i;

    for (i = 0; i < PG_ARRAY_SIZE(cases); i++)
        assert_int_equal(pg__hash64(cases[i].in, cases[i].len),
                         cases[i].h);
    /* NUL bytes are hashed like any other byte. */
    assert_int_not_equal(pg__hash64("a\0b", 3), pg__hash64("a", 1));
    assert_int_not_equal(pg__hash64("a\0b", 3), pg__hash64("ab", 2));
    assert_int_equal(pg__hash64(NULL, 0), 0xcbf29ce484222325ULL);
    /* Stable: the same input always gives the same value. */
    assert_int_equal(pg__hash64("http://h/x", 10),
                     pg__hash64("http://h/x", 10));
}

/* Origins decide where --header lines go: scheme, host and port. */
static void test_origin(void **state)
{
    static const struct {
        const char *url, *want;
    } cases[] = {
        { "http://Example.COM/a?b", "http://example.com" },
        { "http://example.com:80/x", "http://example.com" },
        { "https://example.com:443/", "https://example.com" },
        { "http://example.com:8080/", "http://example.com:8080" },
        { "https://example.com:80/", "https://example.com:80" },
        { "http://127.0.0.1:5/", "http://127.0.0.1:5" },
        { "http://[::1]:8/", "http://[::1]:8" },
        { "ftp://example.com/", NULL },
        { "not a url", NULL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *o = pg__url_origin(cases[i].url);

        if (cases[i].want)
            assert_string_equal(o ? o : "(null)", cases[i].want);
        else
            assert_null(o);
        pg_free(o);
    }
}

/*
 * Input lines are recorded with NUL, control bytes and bytes that are
 * not UTF-8 as %XX: a raw 0xFF byte and U+00FF stay apart.
 */
static void test_escape_input(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        { "http://h/x\xff", 11, "http://h/x%FF" },
        { "http://h/x\xc3\xbf", 12, "http://h/x\xc3\xbf" },
        { "http://h/a\0b", 12, "http://h/a%00b" },
        { "a\x01\x7f\t", 4, "a%01%7F%09" },
        { "\xc3(\xe2\x82\xac", 5, "%C3(\xe2\x82\xac" },
        { "\xed\xa0\x80", 3, "%ED%A0%80" },
        { "", 0, "" },
    };
    size_t i;

    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        char *got = pg__url_escape_input(cases[i].in, cases[i].len);

        assert_non_null(got);
        assert_string_equal(got, cases[i].out);
        pg_free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accept_table),
        cmocka_unit_test(test_host_of_normalised),
        cmocka_unit_test(test_parse_reject_table),
        cmocka_unit_test(test_parse_reject_opaque_scheme),
        cmocka_unit_test(test_parse_port_zero_is_not_nomem),
        cmocka_unit_test(test_parse_query_space_percent_encoded),
        cmocka_unit_test(test_parse_escape_case_normalised),
        cmocka_unit_test(test_parse_ipv6_zone_kept),
        cmocka_unit_test(test_parse_uses_len),
        cmocka_unit_test(test_parse_length_limit),
        cmocka_unit_test(test_parse_small_errbuf),
        cmocka_unit_test(test_release_idempotent),
        cmocka_unit_test(test_parse_nomem_sweep),
        cmocka_unit_test(test_hash64_known_values),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_escape_input),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
