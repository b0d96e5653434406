/*
 * test_shard.c - unit tests for static sharding (src/shard.c): the
 * golden vectors of the documented hash (any change to it, to the
 * finaliser or to the reduction fails here: the vectors were computed
 * independently from the formula in pagegrab.h, not by this code), the
 * spread over shards, "K/N" parsing, K and N from a Slurm job array or
 * a Kubernetes Indexed Job, the option checks, which key a job uses and
 * the --divert file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shard.h"
#include "unit.h"

/* key, its hash, and its shard for n = 2, 3, 7, 16 and 1000. */
static const struct golden {
    const char *key;
    uint64_t hash;
    unsigned shard[5];
} golden[] = {
    {"", 0xefd01f60ba992926ULL, {0, 2, 1, 6, 342}},
    {"a", 0x82a2a958a9bece5bULL, {1, 2, 1, 11, 315}},
    {"http://example.com/", 0x22e692fac52b31ebULL, {1, 2, 6, 11, 379}},
    {"https://example.org/img/1.jpg", 0xb3e83be4729fcfadULL,
     {1, 1, 2, 13, 21}},
    {"example.com", 0x9591d6421994d599ULL, {1, 0, 1, 9, 593}},
    {"127.0.0.1", 0xcede3ba3b6417b22ULL, {0, 1, 1, 2, 154}},
    {"localhost", 0x289e337d8e8c49c1ULL, {1, 1, 0, 1, 257}},
    {"[::1]", 0x2fbf5c65a4fe21a9ULL, {1, 1, 1, 9, 761}},
    {"not a url", 0x51ce8f8660a52adfULL, {1, 1, 6, 15, 735}},
    {"http://\xe4\xbe\x8b\xe3\x81\x88.jp/\xc3\xbc", 0x7529d14d2b19a28fULL,
     {1, 1, 5, 15, 687}},
};

static void test_golden(void **state)
{
    static const unsigned ns[5] = {2, 3, 7, 16, 1000};
    size_t i, j;
    int bad = 0;

    (void)state;
    for (i = 0; i < PG_ARRAY_SIZE(golden); i++) {
        const struct golden *g = &golden[i];
        size_t len = strlen(g->key);
        uint64_t h = pg_shard_hash(g->key, len);

        UT_EXPECT(bad, h == g->hash, "hash('%s') = %016llx, expected "
                  "%016llx", g->key, (unsigned long long)h,
                  (unsigned long long)g->hash);
        for (j = 0; j < 5; j++) {
            unsigned s = pg_shard_of(g->key, len, ns[j]);

            UT_EXPECT(bad, s == g->shard[j], "shard('%s', %u) = %u, "
                      "expected %u", g->key, ns[j], s, g->shard[j]);
        }
        UT_EXPECT(bad, pg_shard_of(g->key, len, 1) == 0, "n = 1");
    }
    assert_int_equal(bad, 0);
}

/* Similar URLs spread evenly, also over 2 or 16 shards.  The second
 * family ("http://h/I/I") defeats FNV-1a without the finaliser: the
 * lowest bit of FNV-1a is the parity of the bytes' lowest bits, which
 * is the same for every key of that family, so all would land in one
 * shard of 2 (and half of the 16 would stay empty). */
static void test_spread(void **state)
{
    static const unsigned ns[] = {2, 3, 16};
    unsigned count[16];
    char key[64];
    size_t j;
    unsigned i, s;

    (void)state;
    for (j = 0; j < PG_ARRAY_SIZE(ns); j++) {
        unsigned n = ns[j], total = 48000;

        memset(count, 0, sizeof(count));
        for (i = 0; i < total; i++) {
            int len = i % 2 ? snprintf(key, sizeof(key), "http://h/%u", i)
                            : snprintf(key, sizeof(key), "http://h/%u/%u",
                                       i, i);

            count[pg_shard_of(key, (size_t)len, n)]++;
        }
        for (s = 0; s < n; s++) {
            double share = (double)count[s] * n / total;

            if (share < 0.95 || share > 1.05)
                fail_msg("n=%u: shard %u got %u of %u", n, s, count[s],
                         total);
        }
    }
}

static void test_parse(void **state)
{
    static const struct {
        const char *spec;
        unsigned k, n;     /* n = 0: refused */
        const char *why;   /* part of the message */
    } cases[] = {
        {"0/1", 0, 1, NULL},
        {"3/16", 3, 16, NULL},
        {"15/16", 15, 16, NULL},
        {"007/010", 7, 10, NULL},
        {"999999/1000000", 999999, 1000000, NULL},
        {"3/2", 0, 0, "K (3) must be less than N (2)"},
        {"2/2", 0, 0, "K (2) must be less than N (2)"},
        {"a/4", 0, 0, "K is not a whole number"},
        {"-1/4", 0, 0, "K is not a whole number"},
        {"+1/4", 0, 0, "K is not a whole number"},
        {" 1/4", 0, 0, "K is not a whole number"},
        {"1/ 4", 0, 0, "N is not a whole number"},
        {"1/4 ", 0, 0, "N is not a whole number"},
        {"0x1/4", 0, 0, "K is not a whole number"},
        {"0/0", 0, 0, "N must be at least 1"},
        {"1/", 0, 0, "N is not a whole number"},
        {"/4", 0, 0, "K is not a whole number"},
        {"1/4/5", 0, 0, "N is not a whole number"},
        {"3", 0, 0, "expected K/N"},
        {"", 0, 0, "expected K/N"},
        {"0/1000001", 0, 0, "N is too large"},
        {"0/99999999999999999999", 0, 0, "N is too large"},
        {"18446744073709551617/4", 0, 0, "K is too large"},
    };
    char err[256];
    size_t i;
    int bad = 0;

    (void)state;
    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        unsigned k = 77, n = 77;
        enum pg_code rc;

        err[0] = '\0';
        rc = pg_shard_parse(cases[i].spec, &k, &n, err, sizeof(err));
        if (cases[i].n) {
            UT_EXPECT(bad, rc == PG_OK && k == cases[i].k &&
                      n == cases[i].n, "'%s': rc %d, %u/%u (%s)",
                      cases[i].spec, rc, k, n, err);
        } else {
            UT_EXPECT(bad, rc == PG_E_INVALID && k == 77 && n == 77 &&
                      strstr(err, cases[i].why), "'%s': rc %d, '%s', "
                      "expected '%s'", cases[i].spec, rc, err,
                      cases[i].why);
        }
    }
    assert_int_equal(bad, 0);
}

/* A stand-in environment: NAME=VALUE strings. */
static const char *const *fake_env;

static const char *fake_get(const char *name)
{
    size_t n = strlen(name);
    const char *const *e;

    for (e = fake_env; e && *e; e++) {
        if (!strncmp(*e, name, n) && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_env(void **state)
{
    const struct {
        const char *const *env;
        unsigned shards;
        unsigned k, n;    /* n = 0: refused */
        const char *why;
    } cases[] = {
        /* sbatch --array=0-15 */
        {ENV("SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=0",
             "SLURM_ARRAY_TASK_STEP=1", "SLURM_ARRAY_TASK_COUNT=16"),
         0, 3, 16, NULL},
        /* --array=1-31:3 (1, 4, ..., 31): task 10 is 31 */
        {ENV("SLURM_ARRAY_TASK_ID=31", "SLURM_ARRAY_TASK_MIN=1",
             "SLURM_ARRAY_TASK_STEP=3", "SLURM_ARRAY_TASK_COUNT=11"),
         0, 10, 11, NULL},
        /* no STEP: 1; --shards agreeing */
        {ENV("SLURM_ARRAY_TASK_ID=5", "SLURM_ARRAY_TASK_MIN=5",
             "SLURM_ARRAY_TASK_COUNT=2"), 2, 0, 2, NULL},
        {ENV("SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=0",
             "SLURM_ARRAY_TASK_COUNT=16"), 8, 0, 0,
         "number of shards (8) differs from SLURM_ARRAY_TASK_COUNT=16"},
        {ENV("SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=0"), 0, 0, 0,
         "SLURM_ARRAY_TASK_COUNT is not set"},
        {ENV("SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_COUNT=4"), 0, 0, 0,
         "SLURM_ARRAY_TASK_MIN is not set"},
        {ENV("SLURM_ARRAY_TASK_ID=x", "SLURM_ARRAY_TASK_MIN=0",
             "SLURM_ARRAY_TASK_COUNT=4"), 0, 0, 0,
         "SLURM_ARRAY_TASK_ID='x' is not a whole number"},
        {ENV("SLURM_ARRAY_TASK_ID=-1", "SLURM_ARRAY_TASK_MIN=0",
             "SLURM_ARRAY_TASK_COUNT=4"), 0, 0, 0, "not a whole number"},
        {ENV("SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=3",
             "SLURM_ARRAY_TASK_COUNT=4"), 0, 0, 0,
         "SLURM_ARRAY_TASK_ID=2 is not SLURM_ARRAY_TASK_MIN=3 plus"},
        {ENV("SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_MIN=0",
             "SLURM_ARRAY_TASK_STEP=3", "SLURM_ARRAY_TASK_COUNT=4"), 0, 0, 0,
         "plus a multiple of SLURM_ARRAY_TASK_STEP=3"},
        {ENV("SLURM_ARRAY_TASK_ID=9", "SLURM_ARRAY_TASK_MIN=1",
             "SLURM_ARRAY_TASK_STEP=1", "SLURM_ARRAY_TASK_COUNT=3"), 0, 0, 0,
         "is not below SLURM_ARRAY_TASK_COUNT=3"},
        {ENV("SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0",
             "SLURM_ARRAY_TASK_STEP=0", "SLURM_ARRAY_TASK_COUNT=3"), 0, 0, 0,
         "SLURM_ARRAY_TASK_STEP=0 must be at least 1"},
        {ENV("SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0",
             "SLURM_ARRAY_TASK_COUNT=0"), 0, 0, 0,
         "SLURM_ARRAY_TASK_COUNT=0 is out of range"},
        {ENV("SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0",
             "SLURM_ARRAY_TASK_COUNT=99999999999"), 0, 0, 0,
         "SLURM_ARRAY_TASK_COUNT='99999999999' is too large"},
        /* Kubernetes Indexed Job */
        {ENV("JOB_COMPLETION_INDEX=4"), 5, 4, 5, NULL},
        {ENV("JOB_COMPLETION_INDEX=0"), 1, 0, 1, NULL},
        {ENV("JOB_COMPLETION_INDEX=4"), 0, 0, 0,
         "JOB_COMPLETION_INDEX=4 is set, but not the number of shards"},
        {ENV("JOB_COMPLETION_INDEX=5"), 5, 0, 0,
         "JOB_COMPLETION_INDEX=5 is not below the number of shards (5"},
        {ENV("JOB_COMPLETION_INDEX=four"), 5, 0, 0,
         "JOB_COMPLETION_INDEX='four' is not a whole number"},
        /* both, neither; empty values count as unset */
        {ENV("JOB_COMPLETION_INDEX=1", "SLURM_ARRAY_TASK_ID=1",
             "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_COUNT=4"), 4, 0, 0,
         "both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set"},
        {ENV("HOME=/root"), 4, 0, 0, "neither a Slurm job array"},
        {ENV("SLURM_ARRAY_TASK_ID=", "JOB_COMPLETION_INDEX="), 4, 0, 0,
         "neither a Slurm job array"},
        {ENV("SLURM_ARRAY_TASK_ID=", "JOB_COMPLETION_INDEX=2"), 4, 2, 4,
         NULL},
    };
    char err[256];
    size_t i;
    int bad = 0;

    (void)state;
    for (i = 0; i < PG_ARRAY_SIZE(cases); i++) {
        unsigned k = 77, n = 77;
        enum pg_code rc;

        fake_env = cases[i].env;
        err[0] = '\0';
        rc = pg_shard_from_env(fake_get, cases[i].shards, &k, &n, err,
                               sizeof(err));
        if (cases[i].n) {
            UT_EXPECT(bad, rc == PG_OK && k == cases[i].k &&
                      n == cases[i].n, "case %zu: rc %d, %u/%u (%s)", i, rc,
                      k, n, err);
        } else {
            UT_EXPECT(bad, rc == PG_E_INVALID && k == 77 && n == 77 &&
                      strstr(err, cases[i].why), "case %zu: rc %d, '%s', "
                      "expected '%s'", i, rc, err, cases[i].why);
        }
    }
    assert_int_equal(bad, 0);
}

/* NULL reads the real environment. */
static void test_env_getenv(void **state)
{
    unsigned k = 0, n = 0;
    char err[256];

    (void)state;
    unsetenv("SLURM_ARRAY_TASK_ID");
    setenv("JOB_COMPLETION_INDEX", "2", 1);
    assert_int_equal(pg_shard_from_env(NULL, 3, &k, &n, err, sizeof(err)),
                     PG_OK);
    assert_int_equal(k, 2);
    assert_int_equal(n, 3);
    unsetenv("JOB_COMPLETION_INDEX");
    assert_int_equal(pg_shard_from_env(NULL, 3, &k, &n, err, sizeof(err)),
                     PG_E_INVALID);
}

static void test_check_and_key(void **state)
{
    struct pg_options o;
    char err[256];

    (void)state;
    pg_options_init(&o);
    assert_int_equal(pg__shard_check(&o, err, sizeof(err)), PG_OK);
    assert_int_equal(pg__shard_owns(&o, 0, "http://x/", "x"), 1);
    o.divert_path = "d.txt";
    assert_int_equal(pg__shard_check(&o, err, sizeof(err)), PG_E_INVALID);
    assert_non_null(strstr(err, "--divert 'd.txt' needs --shard"));
    o.shard_n = 3;
    o.shard_k = 3;
    assert_int_equal(pg__shard_check(&o, err, sizeof(err)), PG_E_INVALID);
    assert_non_null(strstr(err, "3/3"));
    o.shard_k = 1;
    o.shard_key = (enum pg_shard_key)7;
    assert_int_equal(pg__shard_check(&o, err, sizeof(err)), PG_E_INVALID);
    o.shard_key = PG_SHARD_KEY_DEFAULT;
    o.divert_path = "";
    assert_int_equal(pg__shard_check(&o, err, sizeof(err)), PG_E_INVALID);
    o.divert_path = NULL;
    o.shard_n = 0;
    assert_int_equal(pg__shard_check(&o, err, sizeof(err)), PG_E_INVALID);
    o.shard_n = 3;
    assert_int_equal(pg__shard_check(&o, err, sizeof(err)), PG_OK);

    /* The default key: host only when pages are followed. */
    o.depth = 1;
    assert_int_equal(pg__shard_by_host(&o), 0);
    o.n_follow = 1;
    assert_int_equal(pg__shard_by_host(&o), 1);
    o.depth = 0;
    assert_int_equal(pg__shard_by_host(&o), 0);
    o.shard_key = PG_SHARD_KEY_HOST;
    assert_int_equal(pg__shard_by_host(&o), 1);
    o.shard_key = PG_SHARD_KEY_URL;
    o.depth = 3;
    assert_int_equal(pg__shard_by_host(&o), 0);

    /* "127.0.0.1" is shard 1 of 3, "localhost" 1 of 7 and 0 of 7
     * ... (golden); the URL is keyed when asked or when it has no host. */
    o.shard_n = 3;
    o.shard_k = 1;
    assert_int_equal(pg__shard_owns(&o, 1, "http://example.com/",
                                    "127.0.0.1"), 1);
    assert_int_equal(pg__shard_owns(&o, 0, "http://example.com/",
                                    "127.0.0.1"), 0);
    assert_int_equal(pg__shard_owns(&o, 1, "not a url", NULL), 1);
    o.shard_k = 2;
    assert_int_equal(pg__shard_owns(&o, 0, "http://example.com/",
                                    "127.0.0.1"), 1);
    o.shard_n = 7;
    o.shard_k = 0;
    assert_int_equal(pg__shard_owns(&o, 1, "a", "localhost"), 1);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

static void test_divert(void **state)
{
    char *dir = ut_tmpdir();
    char path[4200];
    struct pg__divert d;
    int fd;

    (void)state;
    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/divert.txt", dir);
    pg__divert_init(&d);
    assert_int_equal(pg__divert_add(&d, "http://nowhere/", 0), PG_OK);
    assert_int_equal(pg__divert_close(&d), PG_OK);

    assert_int_equal(pg__divert_open(&d, path, 0), PG_OK);
    assert_int_equal(pg__divert_add(&d, "http://a/1", 0), PG_OK);
    assert_int_equal(pg__divert_add(&d, "http://b/2", 1), PG_OK);
    assert_int_equal(pg__divert_close(&d), PG_OK);
    assert_int_equal(d.fd, -1);
    assert_string_equal(slurp(path), "http://a/1\nhttp://b/2\n");

    /* A torn last line is cut when appending (--resume). */
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "http://c/", 9), 9);
    close(fd);
    assert_int_equal(pg__divert_open(&d, path, 1), PG_OK);
    assert_int_equal(pg__divert_add(&d, "http://d/4", 0), PG_OK);
    assert_int_equal(pg__divert_close(&d), PG_OK);
    assert_string_equal(slurp(path), "http://a/1\nhttp://b/2\nhttp://d/4\n");

    /* Without a newline at all: emptied; without append: truncated. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "torn", 4), 4);
    close(fd);
    assert_int_equal(pg__divert_open(&d, path, 1), PG_OK);
    assert_int_equal(pg__divert_close(&d), PG_OK);
    assert_string_equal(slurp(path), "");
    assert_int_equal(pg__divert_open(&d, path, 0), PG_OK);
    assert_int_equal(pg__divert_add(&d, "http://e/5", 0), PG_OK);
    assert_int_equal(pg__divert_close(&d), PG_OK);
    assert_string_equal(slurp(path), "http://e/5\n");

    snprintf(path, sizeof(path), "%s/no/such/dir", dir);
    assert_int_equal(pg__divert_open(&d, path, 0), PG_E_IO);
    assert_int_equal(d.fd, -1);
    ut_rm_at(AT_FDCWD, dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_env_getenv),
        cmocka_unit_test(test_check_and_key),
        cmocka_unit_test(test_divert),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
