/*
 * test_filter.c - pcre2 pattern lists and naming rules (src/filter.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "filter.h"
#include "pagegrab.h"
#include "spool.h"

static int setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

static void test_regex_list(void **state)
{
    static const char *const pats[] = { "\\.(jpe?g|png)$", "/thumb/" };
    char err[256];
    struct pg__regex_list *l = pg__regex_list_new(pats, 2, err,
                                                  sizeof(err));

    (void)state;
    assert_non_null(l);
    assert_int_equal(pg__regex_list_count(l), 2);
    assert_int_equal(pg__regex_list_match(l, "http://h/a.jpg"), 0);
    assert_int_equal(pg__regex_list_match(l, "http://h/a.jpeg"), 0);
    assert_int_equal(pg__regex_list_match(l, "http://h/thumb/a.gif"), 1);
    assert_int_equal(pg__regex_list_match(l, "http://h/a.gif"), -1);
    pg__regex_list_free(l);
    /* An empty list matches nothing; NULL is an empty list. */
    l = pg__regex_list_new(NULL, 0, err, sizeof(err));
    assert_non_null(l);
    assert_int_equal(pg__regex_list_match(l, "x"), -1);
    pg__regex_list_free(l);
    assert_int_equal(pg__regex_list_match(NULL, "x"), -1);
    assert_int_equal(pg__regex_list_count(NULL), 0);
}

static void test_regex_invalid(void **state)
{
    static const char *const pats[] = { "ok", "a(b" };
    char err[256];

    (void)state;
    assert_null(pg__regex_list_new(pats, 2, err, sizeof(err)));
    assert_non_null(strstr(err, "'a(b'"));
    assert_non_null(strstr(err, "offset 3"));
    assert_int_equal(pg_check_regex("[", err, sizeof(err)), PG_E_INVALID);
    assert_non_null(strstr(err, "offset"));
    assert_int_equal(pg_check_regex("^a+$", err, sizeof(err)), PG_OK);
}

struct name_case {
    const char *rule;
    const char *url;
    const char *hash;
    const char *want;   /* NULL: PG_E_INVALID expected */
};

static void test_namer_table(void **state)
{
    static const struct name_case cases[] = {
        /* The seed's classic rule. */
        { "www\\.(.*?)\\.com=$1.html", "http://www.example.com/", NULL,
          "example.html" },
        { "www\\.(.*?)\\.com=$1.html", "https://www.pagegrab.com/x/y?z",
          NULL, "pagegrab.html" },
        { "/([^/]+)$=$1", "http://h/a/b/c.jpg", NULL, "c.jpg" },
        { "/([^/]+)\\.jpg$=img-$1.jpeg", "http://h/p/q.jpg", NULL,
          "img-q.jpeg" },
        { "(?<id>\\d+)\\.html$=pages/${id}/index.html",
          "http://h/tupian/123.html", NULL, "pages/123/index.html" },
        { "^(.*)$={host}/{path}", "http://Example.org:8080/a/b.png", NULL,
          "example.org/a/b.png" },
        { "x=${1}-{basename}.{ext}", "http://h/dir/photo.x.webp", NULL,
          "-photo.x.webp" },
        { "a$=.{ext}", "http://h/a", NULL, "_" },
        { "h/(.*)={hash}.bin", "http://h/a",
          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
          "0123456789abcdef.bin" },
        /* Templates cannot escape: "..", "/", control bytes, NUL. */
        { "h/(.*)$=../../$1", "http://h/etc/passwd", NULL,
          "__/__/etc/passwd" },
        { "h/(.*)$=/abs/$1", "http://h/x", NULL, "abs/x" },
        { "h/(.*)$=$1", "http://h/a%2f..%2fb", NULL, "a_.._b" },
        { "h/(.*)$=$1", "http://h/%2e%2e", NULL, "__" },
        { "h/(.*)$=$1", "http://h/a%0ab%00c", NULL, "a_b_c" },
        { "h/(.*)$=x/$1", "http://h/.pagegrab-1-2-3.part", NULL,
          "x/_pagegrab-1-2-3.part" },
        /* A group that did not take part is empty; nothing left fails. */
        { "h/(z)?=$1", "http://h/a", NULL, NULL },
        { "h/(.*)$=${nosuch}", "http://h/a", NULL, NULL },
    };
    char err[256];
    size_t i;
    int bad = 0;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct name_case *c = &cases[i];
        struct pg_namer *nm = pg_namer_new(&c->rule, 1, 0, err,
                                           sizeof(err));
        char *name = NULL;
        enum pg_code rc;

        assert_non_null(nm);
        rc = pg_namer_name(nm, c->url, c->hash, &name);
        if (c->want && (rc != PG_OK || strcmp(name, c->want))) {
            fprintf(stderr, "case %zu: '%s' on %s: got %d '%s', want '%s'\n",
                    i, c->rule, c->url, rc, name ? name : "", c->want);
            bad++;
        } else if (!c->want && rc != PG_E_INVALID) {
            fprintf(stderr, "case %zu: '%s' on %s: got %d '%s', want "
                    "PG_E_INVALID\n", i, c->rule, c->url, rc,
                    name ? name : "");
            bad++;
        }
        if (name && pg__spool_check_name(name) != 0) {
            fprintf(stderr, "case %zu: unsafe name '%s'\n", i, name);
            bad++;
        }
        pg_free(name);
        pg_namer_free(nm);
    }
    assert_int_equal(bad, 0);
}

static void test_namer_order_and_fallback(void **state)
{
    static const char *const rules[] = {
        "\\.png$=png/{basename}.png",
        "\\.(png|jpg)$=any/{basename}.{ext}",
    };
    char err[256], *name = NULL;
    struct pg_namer *nm;

    (void)state;
    nm = pg_namer_new(rules, 2, 0, err, sizeof(err));
    assert_non_null(nm);
    /* The first matching rule wins. */
    assert_int_equal(pg_namer_name(nm, "http://h/a.png", NULL, &name),
                     PG_OK);
    assert_string_equal(name, "png/a.png");
    pg_free(name);
    assert_int_equal(pg_namer_name(nm, "http://h/b.jpg", NULL, &name),
                     PG_OK);
    assert_string_equal(name, "any/b.jpg");
    pg_free(name);
    /* No rule: the default layout. */
    assert_int_equal(pg_namer_name(nm, "http://h:81/d/c.gif", NULL, &name),
                     PG_OK);
    assert_string_equal(name, "h:81/d/c.gif");
    pg_free(name);
    pg_namer_free(nm);

    /* No rules and --flat. */
    nm = pg_namer_new(NULL, 0, PG_NAME_FLAT, err, sizeof(err));
    assert_non_null(nm);
    assert_int_equal(pg_namer_name(nm, "http://h/d/c.gif", NULL, &name),
                     PG_OK);
    assert_string_equal(name, "c.gif");
    pg_free(name);
    pg_namer_free(nm);
}

static void test_namer_invalid(void **state)
{
    static const char *const no_eq[] = { "abc" };
    static const char *const empty_re[] = { "=x" };
    static const char *const bad_re[] = { "(a=x" };
    char err[256];

    (void)state;
    assert_null(pg_namer_new(no_eq, 1, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "'abc'"));
    assert_null(pg_namer_new(empty_re, 1, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "REGEX=TEMPLATE"));
    assert_null(pg_namer_new(bad_re, 1, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "'(a'"));
    assert_non_null(strstr(err, "offset"));
    /* The split is at the last '=': the regex may contain '='. */
    {
        static const char *const eq_in_re[] = { "id=(\\d+)=img$1.jpg" };
        struct pg_namer *nm = pg_namer_new(eq_in_re, 1, 0, err,
                                           sizeof(err));
        char *name = NULL;

        assert_non_null(nm);
        assert_int_equal(pg_namer_name(nm, "http://h/show?id=42", NULL,
                                       &name), PG_OK);
        assert_string_equal(name, "img42.jpg");
        pg_free(name);
        pg_namer_free(nm);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_list),
        cmocka_unit_test(test_regex_invalid),
        cmocka_unit_test(test_namer_table),
        cmocka_unit_test(test_namer_order_and_fallback),
        cmocka_unit_test(test_namer_invalid),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
