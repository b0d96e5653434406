/*
 * test_buf.c - unit tests for struct pg__buf (src/buf.c).
 *
 * The invariants checked after every operation: the buffer is either
 * empty (ptr NULL, len 0, cap 0) or NUL-terminated at len with
 * len < cap <= max + 1; a failed add leaves it released.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "unit.h"

/* Assert the structural invariants of b. */
static void check_invariants(const struct pg__buf *b)
{
    if (!b->ptr) {
        assert_int_equal(b->len, 0);
        assert_int_equal(b->cap, 0);
        assert_string_equal(pg__buf_str(b), "");
        return;
    }
    assert_true(b->len < b->cap);
    assert_true(b->cap <= b->max + 1);
    assert_int_equal(b->ptr[b->len], '\0');
    assert_ptr_equal(pg__buf_str(b), b->ptr);
}

/* Assert that b holds exactly the string s. */
static void check_content(const struct pg__buf *b, const char *s)
{
    check_invariants(b);
    assert_int_equal(b->len, strlen(s));
    assert_string_equal(pg__buf_str(b), s);
}

/* Assert that b is released (the state after a failed add). */
static void check_released(const struct pg__buf *b)
{
    assert_null(b->ptr);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->cap, 0);
    assert_string_equal(pg__buf_str(b), "");
}

static void test_init_allocates_nothing(void **state)
{
    struct pg__buf b;
    struct pg__buf s = PG_BUF_INIT(77);

    memset(&b, 0xa5, sizeof(b));
    pg__buf_init(&b, 100);
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    assert_string_equal(pg__buf_str(&b), "");

    assert_null(s.ptr);
    assert_int_equal(s.len, 0);
    assert_int_equal(s.cap, 0);
    assert_int_equal(s.max, 77);

    /* Releasing, resetting and taking an empty buffer are no-ops. */
    pg__buf_release(&b);
    check_released(&b);
    pg__buf_reset(&b);
    check_released(&b);
    assert_null(pg__buf_take(&b));
    check_released(&b);
    assert_int_equal(b.max, 100);
}

/* Every add variant appends; the content is a string after each step. */
static void test_add_variants(void **state)
{
    struct pg__buf b;

    pg__buf_init(&b, 1000);
    assert_int_equal(pg__buf_add(&b, "abc", 3), PG_OK);
    check_content(&b, "abc");
    assert_int_equal(pg__buf_addstr(&b, "def"), PG_OK);
    check_content(&b, "abcdef");
    assert_int_equal(pg__buf_addc(&b, 'g'), PG_OK);
    check_content(&b, "abcdefg");
    assert_int_equal(pg__buf_addf(&b, "[%d|%s|%05.1f]", -42, "x", 2.5),
                     PG_OK);
    check_content(&b, "abcdefg[-42|x|002.5]");
    assert_int_equal(pg__buf_add(&b, "zzz", 0), PG_OK);
    check_content(&b, "abcdefg[-42|x|002.5]");
    assert_int_equal(pg__buf_addstr(&b, ""), PG_OK);
    check_content(&b, "abcdefg[-42|x|002.5]");
    assert_int_equal(pg__buf_addf(&b, "%s", ""), PG_OK);
    check_content(&b, "abcdefg[-42|x|002.5]");
    pg__buf_release(&b);
    check_released(&b);
}

/* Adding zero bytes to an empty buffer still gives a string. */
static void test_add_empty_allocates_string(void **state)
{
    struct pg__buf b;

    pg__buf_init(&b, 0);
    assert_int_equal(pg__buf_add(&b, NULL, 0), PG_OK);
    assert_non_null(b.ptr);
    check_content(&b, "");
    assert_int_equal(b.cap, 1);
    pg__buf_release(&b);
}

/* Binary data with NUL bytes is kept, and terminated after len. */
static void test_add_binary(void **state)
{
    static const char data[] = { 'a', '\0', 'b', '\xff', '\0' };
    struct pg__buf b;

    pg__buf_init(&b, 64);
    assert_int_equal(pg__buf_add(&b, data, sizeof(data)), PG_OK);
    check_invariants(&b);
    assert_int_equal(b.len, sizeof(data));
    assert_memory_equal(b.ptr, data, sizeof(data));
    assert_int_equal(b.ptr[sizeof(data)], '\0');
    assert_int_equal(pg__buf_addc(&b, '\0'), PG_OK);
    assert_int_equal(b.len, sizeof(data) + 1);
    assert_int_equal(b.ptr[b.len - 1], '\0');
    pg__buf_release(&b);
}

static enum pg_code call_vaddf(struct pg__buf *b, const char *fmt, ...)
{
    va_list ap;
    enum pg_code rc;

    va_start(ap, fmt);
    rc = pg__buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/*
 * addf output of every size around the internal 256-byte stack buffer,
 * both into an empty buffer and after existing content.
 */
static void test_addf_lengths(void **state)
{
    static const size_t lens[] = { 0, 1, 254, 255, 256, 257, 511, 1000,
                                   5000, 70000 };
    size_t i, j;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(lens); i++) {
        size_t n = lens[i];
        char *s = malloc(n + 1);
        struct pg__buf b;

        assert_non_null(s);
        for (j = 0; j < n; j++)
            s[j] = (char)('a' + j % 26);
        s[n] = '\0';

        pg__buf_init(&b, 200000);
        assert_int_equal(pg__buf_addf(&b, "%s", s), PG_OK);
        check_invariants(&b);
        UT_EXPECT(bad, b.len == n && !strcmp(b.ptr, s),
                  "addf of %zu bytes: got %zu bytes", n, b.len);
        assert_int_equal(call_vaddf(&b, "<%s>%d", s, 7), PG_OK);
        check_invariants(&b);
        UT_EXPECT(bad, b.len == 2 * n + 3, "vaddf after %zu bytes: "
                  "len %zu", n, b.len);
        UT_EXPECT(bad, b.len == 2 * n + 3 && b.ptr[n] == '<' &&
                  !memcmp(b.ptr + n + 1, s, n) &&
                  !strcmp(b.ptr + 2 * n + 1, ">7"),
                  "vaddf after %zu bytes: wrong content", n);
        pg__buf_release(&b);
        free(s);
    }
    assert_int_equal(bad, 0);
}

/* Many small adds grow the buffer without losing content. */
static void test_grow_many(void **state)
{
    struct pg__buf b;
    size_t i;

    pg__buf_init(&b, 1 << 20);
    for (i = 0; i < 100000; i++) {
        assert_int_equal(pg__buf_addc(&b, (char)('0' + i % 10)), PG_OK);
        assert_int_equal(b.len, i + 1);
        assert_int_equal(b.ptr[b.len], '\0');
    }
    check_invariants(&b);
    for (i = 0; i < 100000; i++)
        assert_int_equal(b.ptr[i], '0' + i % 10);
    pg__buf_release(&b);
}

/*
 * The hard cap: content up to exactly max bytes is fine; an add that
 * goes past max returns PG_E_LIMIT and releases the buffer.
 */
struct limit_case {
    size_t max;
    size_t first;     /* bytes added first (must fit) */
    size_t second;    /* bytes added next */
    enum pg_code rc;  /* expected result of the second add */
};

static void test_limit_table(void **state)
{
    static const struct limit_case cases[] = {
        { 10, 0, 10, PG_OK },
        { 10, 0, 11, PG_E_LIMIT },
        { 10, 10, 0, PG_OK },
        { 10, 10, 1, PG_E_LIMIT },
        { 10, 5, 5, PG_OK },
        { 10, 5, 6, PG_E_LIMIT },
        { 0, 0, 1, PG_E_LIMIT },
        { 0, 0, 0, PG_OK },
        { 63, 63, 0, PG_OK },
        { 64, 63, 1, PG_OK },
        { 64, 63, 2, PG_E_LIMIT },
        { 1000, 999, 1, PG_OK },
        { 1000, 999, 2, PG_E_LIMIT },
        { 1000, 0, SIZE_MAX, PG_E_LIMIT },
        { 1000, 500, SIZE_MAX - 100, PG_E_LIMIT },
    };
    char *data = malloc(2000);
    size_t i;
    int bad = 0;

    assert_non_null(data);
    memset(data, 'x', 2000);
    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        const struct limit_case *c = &cases[i];
        struct pg__buf b;
        enum pg_code rc;

        pg__buf_init(&b, c->max);
        assert_int_equal(pg__buf_add(&b, data, c->first), PG_OK);
        /* A huge n must be refused before memcpy looks at data. */
        rc = pg__buf_add(&b, data, c->second);
        UT_EXPECT(bad, rc == c->rc, "case %zu (max %zu, %zu + %zu): "
                  "rc %d, want %d", i, c->max, c->first, c->second,
                  rc, c->rc);
        if (rc == PG_OK) {
            check_invariants(&b);
            UT_EXPECT(bad, b.len == c->first + c->second,
                      "case %zu: len %zu", i, b.len);
        } else {
            UT_EXPECT(bad, !b.ptr && b.len == 0 && b.cap == 0,
                      "case %zu: not released after %d", i, rc);
        }
        UT_EXPECT(bad, b.max == c->max, "case %zu: max changed", i);
        pg__buf_release(&b);
    }
    free(data);
    assert_int_equal(bad, 0);
}

/* Each add variant honours the cap and releases on PG_E_LIMIT. */
static void test_limit_every_variant(void **state)
{
    char big[600];
    struct pg__buf b;

    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    pg__buf_init(&b, 4);
    assert_int_equal(pg__buf_addstr(&b, "abcd"), PG_OK);
    check_content(&b, "abcd");
    assert_int_equal(pg__buf_addc(&b, 'e'), PG_E_LIMIT);
    check_released(&b);

    assert_int_equal(pg__buf_addstr(&b, "abc"), PG_OK);
    assert_int_equal(pg__buf_addstr(&b, "de"), PG_E_LIMIT);
    check_released(&b);

    /* addf through the small stack buffer. */
    assert_int_equal(pg__buf_addf(&b, "%d", 1234), PG_OK);
    check_content(&b, "1234");
    assert_int_equal(pg__buf_addf(&b, "%d", 5), PG_E_LIMIT);
    check_released(&b);

    /* addf longer than the stack buffer (the grow-then-format path). */
    pg__buf_init(&b, 500);
    assert_int_equal(pg__buf_addf(&b, "%s", big), PG_E_LIMIT);
    check_released(&b);
    assert_int_equal(pg__buf_addf(&b, "%.500s", big), PG_OK);
    assert_int_equal(b.len, 500);
    check_invariants(&b);
    assert_int_equal(pg__buf_addf(&b, "%s", ""), PG_OK);
    assert_int_equal(pg__buf_addf(&b, "%c", 'z'), PG_E_LIMIT);
    check_released(&b);

    /* The buffer is usable again after a failure; max is unchanged. */
    assert_int_equal(b.max, 500);
    assert_int_equal(pg__buf_addstr(&b, "again"), PG_OK);
    check_content(&b, "again");
    pg__buf_release(&b);
}

/* take() hands the memory over and leaves the buffer empty. */
static void test_take(void **state)
{
    struct pg__buf b;
    char *p;

    pg__buf_init(&b, 100);
    assert_int_equal(pg__buf_addstr(&b, "hello"), PG_OK);
    p = pg__buf_take(&b);
    assert_non_null(p);
    assert_string_equal(p, "hello");
    check_released(&b);
    assert_int_equal(b.max, 100);

    /* The buffer starts afresh; the taken memory is not shared. */
    assert_int_equal(pg__buf_addstr(&b, "world"), PG_OK);
    assert_ptr_not_equal(b.ptr, p);
    check_content(&b, "world");
    assert_string_equal(p, "hello");
    pg_free(p);

    /* An empty string (allocated) comes back as "", not NULL. */
    pg__buf_reset(&b);
    p = pg__buf_take(&b);
    assert_non_null(p);
    assert_string_equal(p, "");
    pg_free(p);
    assert_null(pg__buf_take(&b));
    pg__buf_release(&b);
}

/* reset() empties the content and keeps the allocation. */
static void test_reset_keeps_memory(void **state)
{
    struct pg__buf b;
    char *p;
    size_t cap;

    pg__buf_init(&b, 100);
    assert_int_equal(pg__buf_addstr(&b, "0123456789"), PG_OK);
    p = b.ptr;
    cap = b.cap;
    pg__buf_reset(&b);
    assert_ptr_equal(b.ptr, p);
    assert_int_equal(b.cap, cap);
    check_content(&b, "");
    assert_int_equal(pg__buf_addstr(&b, "ab"), PG_OK);
    assert_ptr_equal(b.ptr, p);
    check_content(&b, "ab");
    pg__buf_release(&b);
}

struct cut_case {
    const char *in;
    size_t n;
    const char *consumed;  /* after pg__buf_consume(n) */
    const char *truncated; /* after pg__buf_truncate(n) */
};

static void test_consume_truncate(void **state)
{
    static const struct cut_case cases[] = {
        { "abcdef", 0, "abcdef", "" },
        { "abcdef", 1, "bcdef", "a" },
        { "abcdef", 2, "cdef", "ab" },
        { "abcdef", 5, "f", "abcde" },
        { "abcdef", 6, "", "abcdef" },
        { "a", 1, "", "a" },
        { "a", 0, "a", "" },
    };
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        const struct cut_case *c = &cases[i];
        struct pg__buf b;

        pg__buf_init(&b, 100);
        assert_int_equal(pg__buf_addstr(&b, c->in), PG_OK);
        pg__buf_consume(&b, c->n);
        check_invariants(&b);
        UT_EXPECT(bad, b.len == strlen(c->consumed) &&
                  !strcmp(pg__buf_str(&b), c->consumed),
                  "consume('%s', %zu) = '%s', want '%s'", c->in, c->n,
                  pg__buf_str(&b), c->consumed);
        /* More can be added after a consume. */
        assert_int_equal(pg__buf_addc(&b, '+'), PG_OK);
        UT_EXPECT(bad, b.len == strlen(c->consumed) + 1 &&
                  b.ptr[b.len - 1] == '+' && b.ptr[b.len] == '\0',
                  "add after consume('%s', %zu)", c->in, c->n);

        pg__buf_reset(&b);
        assert_int_equal(pg__buf_addstr(&b, c->in), PG_OK);
        pg__buf_truncate(&b, c->n);
        check_invariants(&b);
        UT_EXPECT(bad, b.len == strlen(c->truncated) &&
                  !strcmp(pg__buf_str(&b), c->truncated),
                  "truncate('%s', %zu) = '%s', want '%s'", c->in, c->n,
                  pg__buf_str(&b), c->truncated);
        pg__buf_release(&b);
    }
    assert_int_equal(bad, 0);
}

/* Consume and truncate of 0 bytes on an empty buffer are no-ops. */
static void test_consume_truncate_empty(void **state)
{
    struct pg__buf b;

    pg__buf_init(&b, 10);
    pg__buf_consume(&b, 0);
    check_released(&b);
    pg__buf_truncate(&b, 0);
    check_released(&b);
}

/* The first allocation fails: PG_E_NOMEM, nothing allocated. */
static void test_nomem_first_alloc(void **state)
{
    struct pg__buf b;

    pg__buf_init(&b, 100);
    pg__mem_fail_at(1);
    assert_int_equal(pg__buf_addstr(&b, "abc"), PG_E_NOMEM);
    pg__mem_fail_at(0);
    check_released(&b);

    pg__mem_fail_at(1);
    assert_int_equal(pg__buf_addf(&b, "%d", 1), PG_E_NOMEM);
    pg__mem_fail_at(0);
    check_released(&b);

    /* The buffer works again once memory is back. */
    assert_int_equal(pg__buf_addstr(&b, "abc"), PG_OK);
    check_content(&b, "abc");
    pg__buf_release(&b);
}

/* A failing growth frees the existing content (no half state). */
static void test_nomem_on_growth(void **state)
{
    char big[1000];
    struct pg__buf b;

    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    pg__buf_init(&b, 10000);
    assert_int_equal(pg__buf_addstr(&b, "small"), PG_OK);
    assert_true(b.cap < sizeof(big));
    pg__mem_fail_at(1);
    assert_int_equal(pg__buf_addstr(&b, big), PG_E_NOMEM);
    pg__mem_fail_at(0);
    check_released(&b);

    /* Likewise on the long addf path. */
    assert_int_equal(pg__buf_addstr(&b, "small"), PG_OK);
    pg__mem_fail_at(1);
    assert_int_equal(pg__buf_addf(&b, "%s", big), PG_E_NOMEM);
    pg__mem_fail_at(0);
    check_released(&b);

    /* No allocation is needed while the content fits: no failure. */
    assert_int_equal(pg__buf_addstr(&b, "ab"), PG_OK);
    pg__mem_fail_at(1);
    assert_int_equal(pg__buf_addstr(&b, "cd"), PG_OK);
    pg__mem_fail_at(0);
    check_content(&b, "abcd");
    pg__buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_allocates_nothing),
        cmocka_unit_test(test_add_variants),
        cmocka_unit_test(test_add_empty_allocates_string),
        cmocka_unit_test(test_add_binary),
        cmocka_unit_test(test_addf_lengths),
        cmocka_unit_test(test_grow_many),
        cmocka_unit_test(test_limit_table),
        cmocka_unit_test(test_limit_every_variant),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_consume_truncate),
        cmocka_unit_test(test_consume_truncate_empty),
        cmocka_unit_test(test_nomem_first_alloc),
        cmocka_unit_test(test_nomem_on_growth),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
