/*
 * test_name.c - unit tests for the file-name sanitiser (src/name.c):
 * pg_name_from_url() and its helpers ext_offset() and add_component().
 *
 * Every name produced here is also checked against the safety
 * invariants (check_invariants) and pg__spool_check_name(), which
 * pg_result_save() applies before touching the filesystem.
 *
 * In expected names an 'X' stands for one lower-case hex digit of the
 * "-XXXXXXXXXXXXXXXX" URL hash; no expected name contains a literal 'X'.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "mem.h"
#include "name.h"
#include "spool.h"
#include "url.h"
#include "unit.h"

/* "-" and 16 hex digits: the hash tag put before the extension. */
#define TAG_LEN 17

static int group_setup(void **state)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    curl_global_cleanup();
    return 0;
}

static int is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* 1 if name matches pattern, where 'X' matches one lower-case hex digit. */
static int match(const char *pattern, const char *name)
{
    for (; *pattern; pattern++, name++) {
        if (*pattern == 'X') {
            if (!is_hex((unsigned char)*name))
                return 0;
        } else if (*pattern != *name) {
            return 0;
        }
    }
    return *name == '\0';
}

/*
 * The safety invariants of every generated name.  Returns NULL if they
 * hold, else a static description of the first violation.
 */
static const char *violation(const char *name)
{
    const char *p = name, *end;
    size_t n, i;

    if (!name)
        return "NULL name";
    if (!*name)
        return "empty name";
    if (*name == '/')
        return "absolute (starts with '/')";
    if (strlen(name) > PG_NAME_MAX)
        return "longer than PG_NAME_MAX";
    for (;;) {
        end = strchr(p, '/');
        n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            return "empty component";
        if (n == 1 && p[0] == '.')
            return "'.' component";
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return "'..' component";
        if (n > 255)
            return "component longer than 255 bytes";
        if (n >= PG_NAME_TMP_PREFIX_LEN &&
            !memcmp(p, PG_NAME_TMP_PREFIX, PG_NAME_TMP_PREFIX_LEN))
            return "component with the temp-file prefix";
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)p[i];

            if (c < 0x20 || c == 0x7f)
                return "control byte";
            if (c == '\\')
                return "backslash";
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (pg__spool_check_name(name) != 0)
        return "rejected by pg__spool_check_name";
    return NULL;
}

/* The length of the last component of name. */
static size_t leaf_len(const char *name)
{
    const char *s = strrchr(name, '/');

    return strlen(s ? s + 1 : name);
}

/* 1 if the last component carries a "-XXXXXXXXXXXXXXXX" tag before ext. */
static int leaf_has_tag(const char *name)
{
    const char *leaf = strrchr(name, '/');
    size_t n, i, j;

    leaf = leaf ? leaf + 1 : name;
    n = strlen(leaf);
    for (i = 0; i + TAG_LEN <= n; i++) {
        if (leaf[i] != '-')
            continue;
        for (j = 1; j < TAG_LEN && is_hex((unsigned char)leaf[i + j]); j++)
            ;
        if (j == TAG_LEN && (i + TAG_LEN == n || leaf[i + TAG_LEN] == '.'))
            return 1;
    }
    return 0;
}

struct name_case {
    const char *url;
    unsigned flags;
    const char *want;   /* pattern; 'X' = hex digit */
};

#define F PG_NAME_FLAT

static const struct name_case name_cases[] = {
    /* The default layout: host[:port]/path. */
    { "http://example.com/a/b.html", 0, "example.com/a/b.html" },
    { "http://example.com/", 0, "example.com/index.html" },
    { "http://example.com", 0, "example.com/index.html" },
    { "http://example.com/dir/", 0, "example.com/dir/index.html" },
    { "http://Example.COM:8080/x", 0, "example.com:8080/x" },
    { "http://h:80/x", 0, "h/x" },
    { "https://h:443/x", 0, "h/x" },
    { "https://h:8443/x", 0, "h:8443/x" },
    { "http://[::1]:8080/x", 0, "[::1]:8080/x" },
    { "http://h/x.html#frag", 0, "h/x.html" },
    { "http://h/a b.txt", 0, "h/a b.txt" },
    { "http://h/.htaccess", 0, "h/.htaccess" },
    { "http://h/..a", 0, "h/..a" },
    { "http://h/a..", 0, "h/a.." },
    { "http://h/...", 0, "h/..." },
    { "http://h/.pagegrab", 0, "h/.pagegrab" },
    { "http://h/a%zzb", 0, "h/a%zzb" },
    { "http://h/a%", 0, "h/a%" },
    { "http://h/a%2", 0, "h/a%2" },
    { "http://h/%25", 0, "h/%" },
    { "http://h/%41%62c", 0, "h/Abc" },
    /* A query adds the hash before the extension. */
    { "http://h/x.html?a=1", 0, "h/x-XXXXXXXXXXXXXXXX.html" },
    { "http://h/?a=1", 0, "h/index-XXXXXXXXXXXXXXXX.html" },
    { "http://h/x.tar.gz?1", 0, "h/x.tar-XXXXXXXXXXXXXXXX.gz" },
    { "http://h/x?a=1", 0, "h/x-XXXXXXXXXXXXXXXX" },
    /* Plain dot segments are removed by URL normalisation. */
    { "http://h/a/./b/../c.txt", 0, "h/a/c.txt" },
    { "http://h/../../etc/passwd", 0, "h/etc/passwd" },
    { "http://h/a/../../../etc/passwd", 0, "h/etc/passwd" },
    /* Encoded dot segments are kept by curl and must be defused. */
    { "http://h/%2e%2e/x", 0, "h/__/x-XXXXXXXXXXXXXXXX" },
    { "http://h/%2E%2e/x", 0, "h/__/x-XXXXXXXXXXXXXXXX" },
    { "http://h/%2E%2E/x", 0, "h/__/x-XXXXXXXXXXXXXXXX" },
    { "http://h/.%2e/x", 0, "h/__/x-XXXXXXXXXXXXXXXX" },
    { "http://h/%2e./x", 0, "h/__/x-XXXXXXXXXXXXXXXX" },
    { "http://h/%2e/x", 0, "h/_/x-XXXXXXXXXXXXXXXX" },
    { "http://h/a/%2e%2e", 0, "h/a/__-XXXXXXXXXXXXXXXX" },
    { "http://h/a/%2e", 0, "h/a/_-XXXXXXXXXXXXXXXX" },
    { "http://h/a/.%2E", 0, "h/a/__-XXXXXXXXXXXXXXXX" },
    { "http://h/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 0,
      "h/__/__/__/etc/passwd-XXXXXXXXXXXXXXXX" },
    /* Encoded separators never make an extra component. */
    { "http://h/a%2fb", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%2Fb", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%5cb", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%5Cb", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a\\b", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%2f..", 0, "h/a_..-XXXXXXXXXXXXXXXX" },
    { "http://h/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 0,
      "h/.._.-XXXXXXXXXXXXXXXX._etc_passwd" },
    { "http://h/..%5c..%5cwin.ini", 0, "h/.._.._win-XXXXXXXXXXXXXXXX.ini" },
    /* Absolute-looking paths stay under the host directory. */
    { "http://h//etc/passwd", 0, "h/etc/passwd" },
    { "http://h///", 0, "h/index.html" },
    { "http://h/%2fetc%2fpasswd", 0, "h/_etc_passwd-XXXXXXXXXXXXXXXX" },
    { "http://h/%2Fetc/passwd", 0, "h/_etc/passwd-XXXXXXXXXXXXXXXX" },
    /* NUL and control bytes. */
    { "http://h/a%00b", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%01b", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%09b", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%0ab", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%0Ab", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%0db", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%1bb", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%1fb", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%7fb", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/a%7Fb", 0, "h/a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/%0a", 0, "h/_-XXXXXXXXXXXXXXXX" },
    { "http://h/%0d%0a.html", 0, "h/__-XXXXXXXXXXXXXXXX.html" },
    { "http://h/x%00.html", 0, "h/x_-XXXXXXXXXXXXXXXX.html" },
    { "http://h/%00/x", 0, "h/_/x-XXXXXXXXXXXXXXXX" },
    { "http://h/%1b[2J/x", 0, "h/_[2J/x-XXXXXXXXXXXXXXXX" },
    /* The spool prefix is never produced. */
    { "http://h/.pagegrab-1-2-3.part", 0,
      "h/_pagegrab-1-2-3-XXXXXXXXXXXXXXXX.part" },
    { "http://h/%2epagegrab-1.part", 0, "h/_pagegrab-1-XXXXXXXXXXXXXXXX.part" },
    { "http://h/%2Epagegrab-x", 0, "h/_pagegrab-x-XXXXXXXXXXXXXXXX" },
    { "http://h/.pagegrab-x/y", 0, "h/_pagegrab-x/y-XXXXXXXXXXXXXXXX" },
    { "http://.pagegrab-h/x", 0, "_pagegrab-h/x-XXXXXXXXXXXXXXXX" },
    /* UTF-8, raw and percent-encoded, is kept as bytes. */
    { "http://h/%c3%bc/%C3%BC.html", 0, "h/\xc3\xbc/\xc3\xbc.html" },
    { "http://h/\xc3\xbc.html", 0, "h/\xc3\xbc.html" },
    { "http://h/\xe2\x82\xac", 0, "h/\xe2\x82\xac" },
    /* A host that is a dot segment. */
    { "http://../x", 0, "__/x-XXXXXXXXXXXXXXXX" },
    /* Flat: the leaf only. */
    { "http://h/a/b.html", F, "b.html" },
    { "http://h/a/", F, "index.html" },
    { "http://h", F, "index.html" },
    { "http://h:8080/a", F, "a" },
    { "http://h/a?x", F, "a-XXXXXXXXXXXXXXXX" },
    { "http://h/?x", F, "index-XXXXXXXXXXXXXXXX.html" },
    { "http://h/a/%2e%2e", F, "__-XXXXXXXXXXXXXXXX" },
    { "http://h/a/%2e", F, "_-XXXXXXXXXXXXXXXX" },
    { "http://h/a%2fb", F, "a_b-XXXXXXXXXXXXXXXX" },
    { "http://h/%2e%2e/x", F, "x" },
    { "http://h/x/.pagegrab-1.part", F, "_pagegrab-1-XXXXXXXXXXXXXXXX.part" },
    { "http://h/x/a%0ab.txt", F, "a_b-XXXXXXXXXXXXXXXX.txt" },
    { "http://h/%c3%bc", F, "\xc3\xbc" },
};

static void test_name_table(void **state)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(name_cases); i++) {
        const struct name_case *c = &name_cases[i];
        char *name = (char *)"unset";
        const char *v;
        enum pg_code rc;

        rc = pg_name_from_url(c->url, c->flags, &name);
        UT_EXPECT(bad, rc == PG_OK, "'%s': rc %d", c->url, rc);
        if (rc) {
            UT_EXPECT(bad, name == NULL, "'%s': *out set on error",
                      c->url);
            continue;
        }
        UT_EXPECT(bad, match(c->want, name), "'%s'%s: '%s', want '%s'",
                  c->url, c->flags ? " (flat)" : "", name, c->want);
        v = violation(name);
        UT_EXPECT(bad, !v, "'%s': '%s': %s", c->url, name, v);
        pg_free(name);
    }
    assert_int_equal(bad, 0);
}

/* Unusable URLs: an error code and *out NULL. */
static void test_name_errors(void **state)
{
    static const struct {
        const char *url;
        enum pg_code rc;
    } cases[] = {
        { "not a url", PG_E_URL },
        { "", PG_E_URL },
        { "http://", PG_E_URL },
        { "http://h/a\nb", PG_E_URL },
        { "ftp://h/x", PG_E_SCHEME },
        { "file:///etc/passwd", PG_E_SCHEME },
    };
    size_t i;

    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        char *name = (char *)"unset";

        assert_int_equal(pg_name_from_url(cases[i].url, 0, &name),
                         cases[i].rc);
        assert_null(name);
        name = (char *)"unset";
        assert_int_equal(pg_name_from_url(cases[i].url, PG_NAME_FLAT,
                                          &name), cases[i].rc);
        assert_null(name);
    }
}

/* The tag is the documented hash of the normalised URL. */
static void test_name_hash_value(void **state)
{
    static const char *const urls[] = {
        "http://h/x.html?a=1",
        "HTTP://H:80/a/%2e%2e/x.html#f",
        "http://h/a%2fb",
    };
    size_t i;

    for (i = 0; i < PG_ARRAY_SIZE(urls); i++) {
        struct pg__url u;
        char err[PG_ERRBUF_SIZE], tag[24];
        char *name;
        uint64_t h;

        assert_int_equal(pg__url_parse(&u, urls[i], strlen(urls[i]), err,
                                       sizeof(err)), PG_OK);
        h = pg__hash64(u.url, strlen(u.url));
        snprintf(tag, sizeof(tag), "-%016llx", (unsigned long long)h);
        pg__url_release(&u);
        assert_int_equal(pg_name_from_url(urls[i], 0, &name), PG_OK);
        assert_non_null(strstr(name, tag));
        pg_free(name);
    }
}

/*
 * Fixed values: names must stay stable across runs and releases (the
 * tag became the full 64-bit hash in 0.1.0, issue 9).
 */
static void test_name_hash_stable(void **state)
{
    char *name;

    assert_int_equal(pg_name_from_url("http://h/x.html?a=1", 0, &name),
                     PG_OK);
    assert_string_equal(name, "h/x-992b2e95caae7683.html");
    pg_free(name);
    assert_int_equal(pg_name_from_url("http://h/a%2fb", PG_NAME_FLAT,
                                      &name), PG_OK);
    assert_string_equal(name, "a_b-fb93988dea99c9fa");
    pg_free(name);
}

/* Append n copies of s to buf (of size cap, NUL-terminated). */
static void append_rep(char *buf, size_t cap, const char *s, size_t n)
{
    size_t len = strlen(buf), sl = strlen(s);

    assert_true(len + n * sl < cap);
    while (n--) {
        memcpy(buf + len, s, sl);
        len += sl;
    }
    buf[len] = '\0';
}

struct long_case {
    const char *what;
    const char *pre;     /* URL: pre + rep * nrep + post */
    const char *rep;
    size_t nrep;
    const char *post;
    unsigned flags;
    const char *wpre;    /* name: wpre + wrep * nwrep + wpost */
    const char *wrep;
    size_t nwrep;
    const char *wpost;
};

static const struct long_case long_cases[] = {
    { "400-byte leaf with extension", "http://h/", "a", 396, ".jpg", 0,
      "h/", "a", 196, "-XXXXXXXXXXXXXXXX.jpg" },
    { "400-byte leaf, flat", "http://h/d/", "a", 396, ".jpg", F,
      "", "a", 196, "-XXXXXXXXXXXXXXXX.jpg" },
    { "400-byte leaf without extension", "http://h/", "b", 400, "", 0,
      "h/", "b", 200, "-XXXXXXXXXXXXXXXX" },
    { "400-byte directory", "http://h/", "c", 400, "/x", 0,
      "h/", "c", 200, "/x-XXXXXXXXXXXXXXXX" },
    { "extension longer than 16 bytes is not one", "http://h/", "a",
      390, ".eeeeeeeeeeeeeeeeeeee", 0, "h/", "a", 200, "-XXXXXXXXXXXXXXXX" },
    { "16-byte extension kept", "http://h/", "a", 390,
      ".eeeeeeeeeeeeeee", 0, "h/", "a", 184,
      "-XXXXXXXXXXXXXXXX.eeeeeeeeeeeeeee" },
    { "exactly 200 bytes is untouched", "http://h/", "a", 196, ".jpg", 0,
      "h/", "a", 196, ".jpg" },
    { "201 bytes is cut", "http://h/", "a", 197, ".jpg", 0,
      "h/", "a", 196, "-XXXXXXXXXXXXXXXX.jpg" },
    { "UTF-8 stem cut on a character boundary", "http://h/x", "%c3%bc",
      200, "", 0, "h/x", "\xc3\xbc", 99, "-XXXXXXXXXXXXXXXX" },
    { "UTF-8 stem with extension", "http://h/", "%c3%bc", 200, ".html", 0,
      "h/", "\xc3\xbc", 97, "-XXXXXXXXXXXXXXXX.html" },
    { "long host name", "http://", "a", 300, ".com/x", 0,
      "", "a", 196, ".com/x-XXXXXXXXXXXXXXXX" },
    { "too deep: host and leaf only", "http://h/",
      "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "dddddddddd/", 6, "x.html", 0, "h/", "", 0, "x-XXXXXXXXXXXXXXXX.html" },
    { "many short directories", "http://h/", "a/", 600, "x", 0,
      "h/", "", 0, "x-XXXXXXXXXXXXXXXX" },
    { "deep but fitting: kept whole", "http://h/",
      "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "dddddddddd/", 5, "x.html", 0, "h/",
      "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "dddddddddd/", 5, "x.html" },
};

/* 1 if s is valid UTF-8 (enough for the names made here). */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
                (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;

        if (n < 0)
            return 0;
        for (p++; n > 0; n--, p++) {
            if ((*p & 0xc0) != 0x80)
                return 0;
        }
    }
    return 1;
}

/* Long components are cut to 200 bytes (plus the tag), extension kept. */
static void test_name_long(void **state)
{
    static char url[PG_URL_MAX + 1], want[4096];
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(long_cases); i++) {
        const struct long_case *c = &long_cases[i];
        char *name = NULL;
        const char *v;
        enum pg_code rc;

        url[0] = want[0] = '\0';
        append_rep(url, sizeof(url), c->pre, 1);
        append_rep(url, sizeof(url), c->rep, c->nrep);
        append_rep(url, sizeof(url), c->post, 1);
        append_rep(want, sizeof(want), c->wpre, 1);
        append_rep(want, sizeof(want), c->wrep, c->nwrep);
        append_rep(want, sizeof(want), c->wpost, 1);

        rc = pg_name_from_url(url, c->flags, &name);
        UT_EXPECT(bad, rc == PG_OK, "%s: rc %d", c->what, rc);
        if (rc)
            continue;
        UT_EXPECT(bad, match(want, name), "%s: got '%s'\n    want '%s'",
                  c->what, name, want);
        v = violation(name);
        UT_EXPECT(bad, !v, "%s: %s", c->what, v);
        UT_EXPECT(bad, valid_utf8(name), "%s: invalid UTF-8", c->what);
        /* The component proper is at most 200 bytes; the tag is extra. */
        UT_EXPECT(bad, leaf_len(name) <= PG_NAME_COMPONENT_MAX +
                  (leaf_has_tag(name) ? TAG_LEN : 0),
                  "%s: leaf of %zu bytes", c->what, leaf_len(name));
        pg_free(name);
    }
    assert_int_equal(bad, 0);
}

/*
 * Deep paths whose directories fit under PG_NAME_MAX but whose leaf (or
 * hash tag) does not.  pagegrab.h documents only PG_E_URL, PG_E_SCHEME
 * and PG_E_NOMEM for pg_name_from_url(); such a URL must still get a
 * safe name (as the "too deep" case does: host and leaf), not
 * PG_E_LIMIT, which makes the CLI record a save-error.
 */
static void test_name_deep_leaf_overflow(void **state)
{
    static const char dir[] =
        "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
        "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
        "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
        "dddddddddd/";
    static const struct {
        const char *leaf;
        const char *leaf_start; /* the name's leaf starts with this */
        const char *leaf_end;   /* ... and ends with this */
    } cases[] = {
        /* 2 + 5 * 200 + 35 > 1024: the leaf does not fit. */
        { "llllllllllllllllllllllllllllll.html",
          "llllllllllllllllllllllllllllll", ".html" },
        /* 2 + 5 * 200 + 20 fits, the "-XXXXXXXXXXXXXXXX" tag does not. */
        { "lllllllllllllll.html?q", "lllllllllllllll", ".html" },
    };
    static char url[PG_URL_MAX + 1];
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        char *name = NULL;
        const char *v, *leaf;
        enum pg_code rc;

        url[0] = '\0';
        append_rep(url, sizeof(url), "http://h/", 1);
        append_rep(url, sizeof(url), dir, 5);
        append_rep(url, sizeof(url), cases[i].leaf, 1);
        rc = pg_name_from_url(url, 0, &name);
        UT_EXPECT(bad, rc == PG_OK, "5 x 200-byte dirs + '%s': rc %d "
                  "(%s), want PG_OK", cases[i].leaf, rc, pg_strerror(rc));
        if (rc)
            continue;
        v = violation(name);
        UT_EXPECT(bad, !v, "'%s': %s", cases[i].leaf, v);
        leaf = strrchr(name, '/');
        leaf = leaf ? leaf + 1 : name;
        UT_EXPECT(bad, !strncmp(leaf, cases[i].leaf_start,
                                strlen(cases[i].leaf_start)) &&
                  strlen(leaf) >= strlen(cases[i].leaf_end) &&
                  !strcmp(leaf + strlen(leaf) - strlen(cases[i].leaf_end),
                          cases[i].leaf_end) && leaf_has_tag(name),
                  "'%s': leaf '%s'", cases[i].leaf, leaf);
        pg_free(name);
    }
    assert_int_equal(bad, 0);
}

/*
 * URLs that sanitise to the same base name get different names, and
 * none of the altered ones takes the plain name.
 */
static void test_name_collisions(void **state)
{
    static const struct {
        const char *url;
        unsigned flags;
    } groups[][10] = {
        {
            { "http://h/a_b", 0 }, { "http://h/a%2fb", 0 },
            { "http://h/a%2fb?z", 0 }, { "http://h/a%5cb", 0 },
            { "http://h/a%00b", 0 }, { "http://h/a%0ab", 0 },
            { "http://h/a%7fb", 0 }, { "http://h/a\\b", 0 },
            { "http://h/a_b?x", 0 }, { "http://h/a_b?y", 0 },
        },
        {
            { "http://h/__/x", 0 }, { "http://h/%2e%2e/x", 0 },
            { "http://h/%2E%2E/x?a", 0 }, { "http://h/.%2e/x", 0 },
            { "http://h/%2e./x", 0 }, { "http://h/%2E./x?b", 0 },
            { "http://h/.%2E/x?c", 0 }, { "http://h/__/x?", 0 },
            { "http://h/__/x?1", 0 }, { "http://h/__/x?2", 0 },
        },
        {
            { "http://h/a_b.html", F }, { "http://h/a%2fb.html", F },
            { "http://h/x/a%2fb.html", F }, { "http://h/a%5cb.html", F },
            { "http://h/a%0db.html", F }, { "http://h/a%1bb.html", F },
            { "http://h/a_b.html?", F }, { "http://h/a_b.html?1", F },
            { "http://g/a%2fb.html", F }, { "http://h:81/a%2fb.html", F },
        },
    };
    size_t g, i, j;
    int bad = 0;
    char *a = NULL, *b = NULL;

    /* Escapes differing only in case are one URL, so one name. */
    assert_int_equal(pg_name_from_url("http://h/.%2E/x", 0, &a), PG_OK);
    assert_int_equal(pg_name_from_url("http://h/.%2e/x", 0, &b), PG_OK);
    assert_string_equal(a, b);
    pg_free(a);
    pg_free(b);

    for (g = 0; g < PG_ARRAY_SIZE(groups); g++) {
        char *names[10];

        for (i = 0; i < 10; i++) {
            assert_int_equal(pg_name_from_url(groups[g][i].url,
                                              groups[g][i].flags,
                                              &names[i]), PG_OK);
        }
        for (i = 0; i < 10; i++) {
            for (j = i + 1; j < 10; j++)
                UT_EXPECT(bad, strcmp(names[i], names[j]),
                          "'%s' and '%s' both named '%s'",
                          groups[g][i].url, groups[g][j].url, names[i]);
        }
        for (i = 0; i < 10; i++)
            pg_free(names[i]);
    }
    assert_int_equal(bad, 0);
}

/* The same URL always gives the same name. */
static void test_name_deterministic(void **state)
{
    size_t i;

    for (i = 0; i < PG_ARRAY_SIZE(name_cases); i++) {
        char *a, *b;

        assert_int_equal(pg_name_from_url(name_cases[i].url,
                                          name_cases[i].flags, &a), PG_OK);
        assert_int_equal(pg_name_from_url(name_cases[i].url,
                                          name_cases[i].flags, &b), PG_OK);
        assert_string_equal(a, b);
        pg_free(a);
        pg_free(b);
    }
}

/*
 * Every combination of up to three hostile segments, with and without
 * a trailing slash and a query, in both layouts: each name must satisfy
 * the invariants.
 */
static void test_name_invariants_combinations(void **state)
{
    static const char *const segs[] = {
        "", ".", "..", "%2e", "%2E", "%2e%2e", ".%2e", "%2e.", "%2E%2E",
        "...", "%2f", "%2F", "%5c", "\\", "%00", "%0a", "%0d", "%7f",
        "%1b", "a", ".pagegrab-", "%2epagegrab-x", "%c3%bc", "a%2f..",
        "..%2f", "%25", "%252e%252e", "%2e%2e%00", "%ff", " ",
    };
    const size_t ns = PG_ARRAY_SIZE(segs);
    size_t a, b, c, k, count = 0;
    int bad = 0;

    for (a = 0; a < ns; a++) {
        for (b = 0; b <= ns; b++) {
            for (c = 0; c <= ns; c++) {
                char url[256];

                if (b == ns && c != ns)
                    continue;
                for (k = 0; k < 8; k++) {
                    char *name = NULL;
                    const char *v;
                    enum pg_code rc;

                    snprintf(url, sizeof(url), "http://h/%s%s%s%s%s%s%s",
                             segs[a], b < ns ? "/" : "",
                             b < ns ? segs[b] : "", c < ns ? "/" : "",
                             c < ns ? segs[c] : "", (k & 1) ? "/" : "",
                             (k & 2) ? "?q=1" : "");
                    rc = pg_name_from_url(url, (k & 4) ? PG_NAME_FLAT : 0,
                                          &name);
                    count++;
                    UT_EXPECT(bad, rc == PG_OK, "'%s': rc %d", url, rc);
                    if (rc)
                        continue;
                    v = violation(name);
                    UT_EXPECT(bad, !v, "'%s' -> '%s': %s", url, name, v);
                    pg_free(name);
                }
            }
        }
    }
    assert_true(count > 200000);
    assert_int_equal(bad, 0);
}

/* Every byte value, percent-encoded, alone and inside a segment. */
static void test_name_invariants_every_byte(void **state)
{
    unsigned c;
    int bad = 0;

    for (c = 0; c < 256; c++) {
        static const char *const forms[] = {
            "http://h/%%%02x", "http://h/a%%%02xb/c", "http://h/%%%02X.txt",
            "http://h/.%%%02x", "http://h/%%%02x%%%02x",
        };
        size_t f;

        for (f = 0; f < PG_ARRAY_SIZE(forms); f++) {
            char url[64], *name = NULL;
            const char *v;

            snprintf(url, sizeof(url), forms[f], c, c);
            if (pg_name_from_url(url, 0, &name) != PG_OK) {
                UT_EXPECT(bad, 0, "'%s': refused", url);
                continue;
            }
            v = violation(name);
            UT_EXPECT(bad, !v, "'%s' -> '%s': %s", url, name, v);
            /* Bytes that had to be replaced mark the name altered. */
            if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
                UT_EXPECT(bad, leaf_has_tag(name), "'%s' -> '%s': no tag",
                          url, name);
            pg_free(name);
        }
    }
    assert_int_equal(bad, 0);
}

struct ext_case {
    const char *s;
    size_t off;
};

static void test_ext_offset(void **state)
{
    static const struct ext_case cases[] = {
        { "", 0 },
        { "a", 1 },
        { "a.jpg", 1 },
        { "a.b", 1 },
        { "a.b.c", 3 },
        { "a.tar.gz", 5 },
        { "a.", 2 },
        { "..", 2 },
        { ".htaccess", 9 },
        { "..htaccess", 1 },
        { "x.eeeeeeeeeeeeeee", 1 },   /* 16 bytes with the dot */
        { "x.eeeeeeeeeeeeeeee", 18 }, /* 17: not an extension */
        { "index.html", 5 },
    };
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        size_t off = ext_offset(cases[i].s, strlen(cases[i].s));

        UT_EXPECT(bad, off == cases[i].off, "ext_offset('%s') = %zu, "
                  "want %zu", cases[i].s, off, cases[i].off);
    }
    /* Only len bytes are looked at. */
    assert_int_equal(ext_offset("abc.def", 3), 3);
    assert_int_equal(ext_offset("a.bc.def", 4), 1);
    assert_int_equal(bad, 0);
}

struct comp_case {
    const char *in;
    size_t n;            /* 0: strlen */
    const char *out;
    int altered;
};

static void test_add_component(void **state)
{
    static const struct comp_case cases[] = {
        { "abc", 0, "abc", 0 },
        { "abcdef", 3, "abc", 0 },
        { "%41", 0, "A", 0 },
        { "%25", 0, "%", 0 },
        { "%252e", 0, "%2e", 0 },
        { "%zz", 0, "%zz", 0 },
        { "%", 0, "%", 0 },
        { "a%4", 0, "a%4", 0 },
        { "%41%42", 5, "A%4", 0 },
        { "%c3%bc", 0, "\xc3\xbc", 0 },
        { "...", 0, "...", 0 },
        { ".a", 0, ".a", 0 },
        { "a%2fb", 0, "a_b", 1 },
        { "a%2Fb", 0, "a_b", 1 },
        { "a%5cb", 0, "a_b", 1 },
        { "a\\b", 0, "a_b", 1 },
        { "a/b", 0, "a_b", 1 },
        { ".", 0, "_", 1 },
        { "..", 0, "__", 1 },
        { "%2e", 0, "_", 1 },
        { "%2e%2e", 0, "__", 1 },
        { "%2E.", 0, "__", 1 },
        { "%00", 0, "_", 1 },
        { "%0a%0d%09", 0, "___", 1 },
        { "%1f%7f%20", 0, "__ ", 1 },
        { ".pagegrab-x", 0, "_pagegrab-x", 1 },
        { "%2epagegrab-", 0, "_pagegrab-", 1 },
        { ".pagegrab", 0, ".pagegrab", 0 },
        { "x.pagegrab-", 0, "x.pagegrab-", 0 },
    };
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        const struct comp_case *c = &cases[i];
        struct pg__buf b;
        int altered = 0;
        size_t n = c->n ? c->n : strlen(c->in);

        pg__buf_init(&b, 1000);
        assert_int_equal(pg__buf_addstr(&b, "p/"), PG_OK);
        assert_int_equal(add_component(&b, c->in, n, &altered), PG_OK);
        UT_EXPECT(bad, !strcmp(b.ptr + 2, c->out), "add_component('%.*s')"
                  " = '%s', want '%s'", (int)n, c->in, b.ptr + 2, c->out);
        UT_EXPECT(bad, altered == c->altered, "add_component('%.*s'): "
                  "altered %d, want %d", (int)n, c->in, altered,
                  c->altered);
        /* An earlier alteration is never cleared. */
        altered = 1;
        pg__buf_reset(&b);
        assert_int_equal(add_component(&b, c->in, n, &altered), PG_OK);
        UT_EXPECT(bad, altered == 1, "add_component('%s') cleared "
                  "altered", c->in);
        pg__buf_release(&b);
    }
    assert_int_equal(bad, 0);
}

/* A component that does not fit the buffer gives PG_E_LIMIT. */
static void test_add_component_limit(void **state)
{
    struct pg__buf b;
    int altered = 0;

    pg__buf_init(&b, 4);
    assert_int_equal(add_component(&b, "abcd", 4, &altered), PG_OK);
    assert_int_equal(add_component(&b, "e", 1, &altered), PG_E_LIMIT);
    assert_null(b.ptr);
    pg__buf_release(&b);
}

/*
 * Allocation failure at every step gives PG_E_NOMEM and *out NULL
 * (and no leak under ASan/valgrind), until enough succeed.
 */
static void test_name_nomem_sweep(void **state)
{
    static const char *const urls[] = {
        "http://h:8080/a/%2e%2e/b.html?q=1",
        "http://h/",
    };
    size_t i;

    for (i = 0; i < PG_ARRAY_SIZE(urls); i++) {
        unsigned long n;
        int ok = 0;

        for (n = 1; n < 200 && !ok; n++) {
            char *name = (char *)"unset";
            enum pg_code rc;

            pg__mem_fail_at(n);
            rc = pg_name_from_url(urls[i], 0, &name);
            pg__mem_fail_at(0);
            if (rc == PG_OK) {
                assert_null(violation(name));
                pg_free(name);
                ok = 1;
                continue;
            }
            assert_int_equal(rc, PG_E_NOMEM);
            assert_null(name);
        }
        assert_true(ok);
        assert_true(n > 2);
    }
}

/*
 * Issue 9, defect 9: no URL name may fall in the temp-file namespace or
 * get an empty component, so no URL is refused for its name.
 */
static void test_name_never_refused(void **state)
{
    static const char *const urls[] = {
        "http://h/.pagegrab?x=1",
        "http://h/.pagegrab.part?x=1",
        "http://h/d/.pagegrab",
        "http://h/.pagegrab-",
        "http://h/.pagegrab-1-2-3.part?q",
        "http://h/%2epagegrab?x",
    };
    char url[1024];
    size_t i, len;
    int flat, bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(urls); i++) {
        for (flat = 0; flat <= 1; flat++) {
            char *name = NULL;
            const char *leaf;

            assert_int_equal(pg_name_from_url(urls[i],
                                              flat ? PG_NAME_FLAT : 0,
                                              &name), PG_OK);
            leaf = strrchr(name, '/');
            leaf = leaf ? leaf + 1 : name;
            UT_EXPECT(bad, pg__spool_check_name(name) == 0 &&
                      strncmp(leaf, PG_NAME_TMP_PREFIX,
                              PG_NAME_TMP_PREFIX_LEN),
                      "'%s': '%s' refused", urls[i], name);
            pg_free(name);
        }
    }
    /* 250 UTF-8 continuation bytes: cut, never to nothing. */
    len = (size_t)snprintf(url, sizeof(url), "http://h/img/");
    for (size_t k = 0; k < 250; k++)
        len += (size_t)snprintf(url + len, sizeof(url) - len, "%%90");
    snprintf(url + len, sizeof(url) - len, "/x.jpg");
    for (flat = 0; flat <= 1; flat++) {
        char *name = NULL;

        assert_int_equal(pg_name_from_url(url, flat ? PG_NAME_FLAT : 0,
                                          &name), PG_OK);
        UT_EXPECT(bad, pg__spool_check_name(name) == 0 &&
                  !strstr(name, "//"), "%%90 x 250: '%s' refused", name);
        pg_free(name);
    }
    /* The same as a leaf. */
    len = (size_t)snprintf(url, sizeof(url), "http://h/img/");
    for (size_t k = 0; k < 250; k++)
        len += (size_t)snprintf(url + len, sizeof(url) - len, "%%90");
    {
        char *name = NULL;

        assert_int_equal(pg_name_from_url(url, 0, &name), PG_OK);
        UT_EXPECT(bad, pg__spool_check_name(name) == 0,
                  "%%90 x 250 leaf: '%s' refused", name);
        pg_free(name);
    }
    /* "%2e" then 250 continuation bytes: the UTF-8 cut keeps only the
     * ".", which must not stay "." (or ".."), as a directory or a leaf. */
    for (int dots = 1; dots <= 2; dots++) {
        len = (size_t)snprintf(url, sizeof(url), "http://h/%s",
                               dots == 1 ? "%2e" : "..");
        for (size_t k = 0; k < 250; k++)
            len += (size_t)snprintf(url + len, sizeof(url) - len, "%%9b");
        for (int leaf = 0; leaf <= 1; leaf++) {
            char *name = NULL;

            snprintf(url + len, sizeof(url) - len, "%s",
                     leaf ? "" : "/x.jpg");
            assert_int_equal(pg_name_from_url(url, 0, &name), PG_OK);
            UT_EXPECT(bad, pg__spool_check_name(name) == 0,
                      "dot + continuation bytes: '%s' refused", name);
            pg_free(name);
        }
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_table),
        cmocka_unit_test(test_name_errors),
        cmocka_unit_test(test_name_hash_value),
        cmocka_unit_test(test_name_hash_stable),
        cmocka_unit_test(test_name_long),
        cmocka_unit_test(test_name_deep_leaf_overflow),
        cmocka_unit_test(test_name_collisions),
        cmocka_unit_test(test_name_deterministic),
        cmocka_unit_test(test_name_invariants_combinations),
        cmocka_unit_test(test_name_invariants_every_byte),
        cmocka_unit_test(test_ext_offset),
        cmocka_unit_test(test_add_component),
        cmocka_unit_test(test_add_component_limit),
        cmocka_unit_test(test_name_nomem_sweep),
        cmocka_unit_test(test_name_never_refused),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
