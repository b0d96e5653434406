/*
 * test_spool.c - unit tests for src/spool.c: the final-name checker
 * pg__spool_check_name(), spool file creation pg__spool_create() and
 * the saved-name set pg__nameset_*.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "name.h"
#include "hashmap.h"
#include "save.h"
#include "spool.h"
#include "url.h"
#include "unit.h"

struct check_case {
    const char *name;
    int ok;
};

static const struct check_case check_cases[] = {
    { "a", 1 },
    { "a/b", 1 },
    { "h/index.html", 1 },
    { "example.com:8080/a/b.html", 1 },
    { "[::1]:8080/x", 1 },
    { "a b", 1 },
    { ".hidden", 1 },
    { "..a", 1 },
    { "a..", 1 },
    { "...", 1 },
    { "a/.b/..c", 1 },
    { "a\\b", 1 },
    { "\xc3\xbc/\xff", 1 },
    { ".pagegrab", 1 },
    { "_pagegrab-1.part", 1 },
    { "x.pagegrab-1", 1 },
    { "", 0 },
    { "/", 0 },
    { "/a", 0 },
    { "//a", 0 },
    { "a/", 0 },
    { "a//b", 0 },
    { ".", 0 },
    { "..", 0 },
    { "./a", 0 },
    { "../a", 0 },
    { "a/.", 0 },
    { "a/..", 0 },
    { "a/./b", 0 },
    { "a/../b", 0 },
    { "a/../../etc/passwd", 0 },
    { ".pagegrab-1-2-3.part", 0 },
    { ".pagegrab-", 0 },
    { "a/.pagegrab-x", 0 },
    { ".pagegrab-x/a", 0 },
    { "a\nb", 0 },
    { "a\rb", 0 },
    { "a\tb", 0 },
    { "\x01", 0 },
    { "a/\x1b[2J", 0 },
    { "a\x1f/b", 0 },
    { "a\x7f", 0 },
};

static void test_check_name_table(void **state)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(check_cases); i++) {
        int r = pg__spool_check_name(check_cases[i].name);

        UT_EXPECT(bad, (r == 0) == check_cases[i].ok, "check_name('%s') ="
                  " %d, want %s", check_cases[i].name, r,
                  check_cases[i].ok ? "0 (safe)" : "-1 (unsafe)");
    }
    assert_int_equal(bad, 0);
}

/* Length limits: 255 bytes a component, PG_NAME_MAX + 64 in total. */
static void test_check_name_lengths(void **state)
{
    char name[PG_NAME_MAX + 128];
    size_t n, i;

    memset(name, 'a', 255);
    name[255] = '\0';
    assert_int_equal(pg__spool_check_name(name), 0);
    name[255] = 'a';
    name[256] = '\0';
    assert_int_equal(pg__spool_check_name(name), -1);

    /* "aaa...a/aaa...a/..." of exactly PG_NAME_MAX + 64 bytes. */
    n = PG_NAME_MAX + 64;
    for (i = 0; i < n; i++)
        name[i] = (i % 200 == 199) ? '/' : 'b';
    name[n] = '\0';
    if (name[n - 1] == '/')
        name[n - 1] = 'b';
    assert_int_equal(pg__spool_check_name(name), 0);
    name[n] = 'b';
    name[n + 1] = '\0';
    assert_int_equal(pg__spool_check_name(name), -1);
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

/* The documented name: ".pagegrab-PID-WORKER-SEQ.part". */
static void spool_name(char *out, size_t n, unsigned worker, uint64_t seq)
{
    snprintf(out, n, ".pagegrab-%ld-%u-%llu.part", (long)getpid(), worker,
             (unsigned long long)seq);
}

static void test_create_distinct(void **state)
{
    int dirfd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *names[5];
    uint64_t seq = 0;
    size_t i, j;

    assert_true(dirfd >= 0);
    for (i = 0; i < 5; i++) {
        char want[96];
        struct stat st;
        int fd = -1;

        names[i] = NULL;
        assert_int_equal(pg__spool_create(dirfd, 3, &seq, &fd, &names[i]),
                         PG_OK);
        assert_int_equal(seq, i + 1);
        assert_true(fd >= 0);
        assert_non_null(names[i]);
        spool_name(want, sizeof(want), 3, i);
        assert_string_equal(names[i], want);
        /* Open for writing, close-on-exec, a new empty regular file. */
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        /* Read-write: the worker parses pages from the spool file. */
        assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
        assert_int_equal(write(fd, "body", 4), 4);
        assert_int_equal(fstatat(dirfd, names[i], &st,
                                 AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 4);
        /* A spool name can never be a final name. */
        assert_int_equal(pg__spool_check_name(names[i]), -1);
        close(fd);
    }
    for (i = 0; i < 5; i++) {
        for (j = i + 1; j < 5; j++)
            assert_string_not_equal(names[i], names[j]);
    }
    for (i = 0; i < 5; i++)
        pg_free(names[i]);
    close(dirfd);
}

/* Different workers never share a name, even with the same seq. */
static void test_create_workers(void **state)
{
    int dirfd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    uint64_t s1 = 9, s2 = 9;
    char *a = NULL, *b = NULL;
    int fa = -1, fb = -1;

    assert_true(dirfd >= 0);
    assert_int_equal(pg__spool_create(dirfd, 1, &s1, &fa, &a), PG_OK);
    assert_int_equal(pg__spool_create(dirfd, 2, &s2, &fb, &b), PG_OK);
    assert_string_not_equal(a, b);
    assert_int_equal(s1, 10);
    assert_int_equal(s2, 10);
    close(fa);
    close(fb);
    pg_free(a);
    pg_free(b);
    close(dirfd);
}

/* A dead worker's spool files go; another process's (pid 12, or the
 * pid that only starts with the dead one's digits) and other files stay. */
static void test_remove_pid(void **state)
{
    int dirfd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    uint64_t seq = 0;
    char *names[4] = { NULL, NULL, NULL, NULL };
    const pid_t pids[4] = { 1, 1, 12, 123 };
    int fd, i;

    assert_true(dirfd >= 0);
    for (i = 0; i < 4; i++) {
        assert_int_equal(pg__spool_create_pid(dirfd, pids[i], 0, &seq, &fd,
                                              &names[i]), PG_OK);
        close(fd);
    }
    fd = openat(dirfd, "keep.txt", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pg__spool_remove_pid(dirfd, 1), 2);
    assert_int_equal(faccessat(dirfd, names[0], F_OK, 0), -1);
    assert_int_equal(faccessat(dirfd, names[1], F_OK, 0), -1);
    assert_int_equal(faccessat(dirfd, names[2], F_OK, 0), 0);
    assert_int_equal(faccessat(dirfd, names[3], F_OK, 0), 0);
    assert_int_equal(faccessat(dirfd, "keep.txt", F_OK, 0), 0);
    assert_int_equal(pg__spool_remove_pid(dirfd, 1), 0);
    for (i = 0; i < 4; i++) {
        unlinkat(dirfd, names[i], 0);
        pg_free(names[i]);
    }
    unlinkat(dirfd, "keep.txt", 0);
    close(dirfd);
}

/*
 * O_EXCL: an existing file (or a symlink, even a dangling one) with the
 * next name is skipped, never opened, truncated or followed.
 */
static void test_create_skips_existing(void **state)
{
    int dirfd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char n5[96], n6[96], n7[96], want[96];
    char *name = NULL, *data, *path, *target;
    uint64_t seq = 5;
    struct stat st;
    size_t len;
    int fd = -1;

    assert_true(dirfd >= 0);
    spool_name(n5, sizeof(n5), 7, 5);
    spool_name(n6, sizeof(n6), 7, 6);
    spool_name(n7, sizeof(n7), 7, 7);
    path = ut_path(*state, n5);
    target = ut_path(*state, "target");
    assert_non_null(path);
    assert_non_null(target);
    assert_int_equal(ut_write_file(path, "keep", 4), 0);
    assert_int_equal(symlinkat("target", dirfd, n6), 0);

    assert_int_equal(pg__spool_create(dirfd, 7, &seq, &fd, &name), PG_OK);
    spool_name(want, sizeof(want), 7, 7);
    assert_string_equal(name, want);
    assert_int_equal(seq, 8);
    close(fd);

    /* The old file is untouched, the symlink target never created. */
    data = ut_read_file(path, &len);
    assert_non_null(data);
    assert_int_equal(len, 4);
    assert_string_equal(data, "keep");
    free(data);
    errno = 0;
    assert_int_equal(stat(target, &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(fstatat(dirfd, n6, &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISLNK(st.st_mode));
    pg_free(name);
    free(path);
    free(target);
    close(dirfd);
}

static void test_create_errors(void **state)
{
    char *name = (char *)"unset";
    uint64_t seq = 0;
    int fd = 99, dirfd;

    /* A bad directory fd. */
    assert_int_equal(pg__spool_create(-1, 0, &seq, &fd, &name), PG_E_IO);
    assert_true(fd < 0);

    /* A directory we cannot write (not meaningful for root). */
    if (geteuid() != 0) {
        assert_int_equal(chmod(*state, 0500), 0);
        dirfd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dirfd >= 0);
        errno = 0;
        assert_int_equal(pg__spool_create(dirfd, 0, &seq, &fd, &name),
                         PG_E_IO);
        assert_int_equal(errno, EACCES);
        close(dirfd);
        assert_int_equal(chmod(*state, 0700), 0);
    }

    /* Out of memory for the name: no file is left behind. */
    dirfd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);
    seq = 0;
    pg__mem_fail_at(1);
    assert_int_equal(pg__spool_create(dirfd, 4, &seq, &fd, &name),
                     PG_E_NOMEM);
    pg__mem_fail_at(0);
    {
        char n0[96];
        struct stat st;

        spool_name(n0, sizeof(n0), 4, 0);
        errno = 0;
        assert_int_equal(fstatat(dirfd, n0, &st, AT_SYMLINK_NOFOLLOW),
                         -1);
        assert_int_equal(errno, ENOENT);
    }
    close(dirfd);
}

static void test_nameset_basic(void **state)
{
    struct pg__nameset s;
    uint32_t v = 77;

    pg__nameset_init(&s);
    assert_int_equal(s.cap, 0);
    assert_int_equal(s.used, 0);
    assert_int_equal(pg__nameset_get(&s, 1, &v), 0);
    assert_int_equal(pg__nameset_get(&s, 0, &v), 0);
    assert_int_equal(v, 77);

    assert_int_equal(pg__nameset_put(&s, 0x1234, 0xaaaa), PG_OK);
    assert_int_equal(s.used, 1);
    assert_int_equal(pg__nameset_get(&s, 0x1234, &v), 1);
    assert_int_equal(v, 0xaaaa);
    assert_int_equal(pg__nameset_get(&s, 0x1235, &v), 0);

    /* Put again replaces the value; the count is unchanged. */
    assert_int_equal(pg__nameset_put(&s, 0x1234, 0xbbbb), PG_OK);
    assert_int_equal(s.used, 1);
    assert_int_equal(pg__nameset_get(&s, 0x1234, &v), 1);
    assert_int_equal(v, 0xbbbb);

    /* A URL hash of 0 is a value like any other. */
    assert_int_equal(pg__nameset_put(&s, 0x99, 0), PG_OK);
    v = 5;
    assert_int_equal(pg__nameset_get(&s, 0x99, &v), 1);
    assert_int_equal(v, 0);

    pg__nameset_release(&s);
    assert_null(s.keys);
    assert_null(s.vals);
    assert_int_equal(s.cap, 0);
    assert_int_equal(pg__nameset_get(&s, 0x1234, &v), 0);
    pg__nameset_release(&s);
}

/* Key 0 (the empty-slot marker) can still be stored and found. */
static void test_nameset_key_zero(void **state)
{
    struct pg__nameset s;
    uint32_t v = 0;

    pg__nameset_init(&s);
    assert_int_equal(pg__nameset_put(&s, 7, 70), PG_OK);
    assert_int_equal(pg__nameset_get(&s, 0, &v), 0);
    assert_int_equal(pg__nameset_put(&s, 0, 1234), PG_OK);
    assert_int_equal(pg__nameset_get(&s, 0, &v), 1);
    assert_int_equal(v, 1234);
    assert_int_equal(pg__nameset_get(&s, 7, &v), 1);
    assert_int_equal(v, 70);
    assert_int_equal(s.used, 2);
    pg__nameset_release(&s);
}

/* Growth from 1024 slots past 10,000 entries keeps every entry. */
static void test_nameset_growth(void **state)
{
    const uint64_t n = 25000;
    struct pg__nameset s;
    uint64_t i;
    uint32_t v;
    int bad = 0;

    pg__nameset_init(&s);
    for (i = 0; i < n; i++) {
        char key[32];
        uint64_t h;
        int len = snprintf(key, sizeof(key), "h/file-%llu.html",
                           (unsigned long long)i);

        h = pg__hash64(key, (size_t)len);
        assert_int_equal(pg__nameset_put(&s, h, (uint32_t)(i * 3 + 1)), PG_OK);
        /* Sequential small keys too: the worst case for a weak hash. */
        assert_int_equal(pg__nameset_put(&s, i + 1, (uint32_t)~i), PG_OK);
    }
    assert_int_equal(s.used, 2 * n);
    assert_true(s.cap >= 2 * n * 4 / 3);
    assert_int_equal(s.cap & (s.cap - 1), 0);
    for (i = 0; i < n; i++) {
        char key[32];
        int len = snprintf(key, sizeof(key), "h/file-%llu.html",
                           (unsigned long long)i);
        uint64_t h = pg__hash64(key, (size_t)len);

        v = 0;
        UT_EXPECT(bad, pg__nameset_get(&s, h, &v) == 1 &&
                  v == (uint32_t)(i * 3 + 1),
                  "entry %llu lost", (unsigned long long)i);
        UT_EXPECT(bad, pg__nameset_get(&s, i + 1, &v) == 1 &&
                  v == (uint32_t)~i,
                  "small key %llu lost", (unsigned long long)i + 1);
        if (bad > 5)
            break;
    }
    /* Absent keys are not found. */
    for (i = n + 1; i < n + 1000; i++)
        UT_EXPECT(bad, pg__nameset_get(&s, i, &v) == 0, "absent key %llu "
                  "found", (unsigned long long)i);
    pg__nameset_release(&s);
    assert_int_equal(bad, 0);
}

/* Issue 14: the set of URLs seen keeps keys only (8 bytes a slot, no
 * value array), through growth, and finds exactly what was put. */
static void test_nameset_keys_only(void **state)
{
    const uint64_t n = 20000;
    struct pg__nameset s;
    uint64_t i;
    uint32_t v;
    int bad = 0;

    pg__nameset_init_keys(&s);
    for (i = 0; i < n; i++)
        assert_int_equal(pg__nameset_put(&s, i * 7919 + 1, 77), PG_OK);
    assert_int_equal(s.used, n);
    assert_true(s.cap >= n * 4 / 3);
    assert_null(s.vals);
    for (i = 0; i < n; i++) {
        v = 0;
        UT_EXPECT(bad, pg__nameset_get(&s, i * 7919 + 1, &v) == 1 && v == 1,
                  "key %llu lost", (unsigned long long)i);
        UT_EXPECT(bad, pg__nameset_get(&s, i * 7919 + 2, &v) == 0,
                  "key %llu found", (unsigned long long)i * 7919 + 2);
        if (bad > 5)
            break;
    }
    pg__nameset_release(&s);
    /* Still a set of keys after a release. */
    assert_int_equal(pg__nameset_put(&s, 5, 9), PG_OK);
    assert_null(s.vals);
    assert_int_equal(pg__nameset_get(&s, 5, &v), 1);
    pg__nameset_release(&s);
    assert_int_equal(bad, 0);
}

/* A failed growth returns PG_E_NOMEM and keeps the set intact. */
static void test_nameset_nomem(void **state)
{
    struct pg__nameset s;
    uint64_t i;
    uint32_t v;

    pg__nameset_init(&s);
    pg__mem_fail_at(1);
    assert_int_equal(pg__nameset_put(&s, 1, 1), PG_E_NOMEM);
    pg__mem_fail_at(0);
    assert_int_equal(s.cap, 0);
    assert_int_equal(pg__nameset_get(&s, 1, &v), 0);

    /* 768 entries fill 1024 slots to 3/4; the next put must grow. */
    for (i = 1; i <= 768; i++)
        assert_int_equal(pg__nameset_put(&s, i * 0x9e3779b97f4a7c15ULL,
                                         (uint32_t)i), PG_OK);
    assert_int_equal(s.cap, 1024);
    for (i = 1; i <= 2; i++) {
        pg__mem_fail_at(i);
        assert_int_equal(pg__nameset_put(&s, 1, 1), PG_E_NOMEM);
        pg__mem_fail_at(0);
        assert_int_equal(s.cap, 1024);
        assert_int_equal(s.used, 768);
    }
    for (i = 1; i <= 768; i++) {
        assert_int_equal(pg__nameset_get(&s, i * 0x9e3779b97f4a7c15ULL,
                                         &v), 1);
        assert_int_equal(v, i);
    }
    assert_int_equal(pg__nameset_put(&s, 1, 1), PG_OK);
    assert_int_equal(s.cap, 2048);
    assert_int_equal(s.used, 769);
    pg__nameset_release(&s);
}

/* Claim names NAME_FMT % i for URLs URL_FMT % i, i < n. */
static void claim_all(struct pg__names *names, struct pg__urlstore *u,
                      int dirfd, const char *name_fmt, const char *url_fmt,
                      int n)
{
    char name[64], url[128];
    int i;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), name_fmt, i);
        snprintf(url, sizeof(url), url_fmt, i);
        assert_int_equal(pg__names_claim(names, u, dirfd, name, url), PG_OK);
    }
}

/* Each name of claim_all() is owned by its URL, not by the next one's;
 * returns the count of failures. */
static int check_owners(const struct pg__names *names,
                        const struct pg__urlstore *u, const char *name_fmt,
                        const char *url_fmt, int n)
{
    char name[64], url[128];
    int i, bad = 0;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), name_fmt, i);
        snprintf(url, sizeof(url), url_fmt, i);
        UT_EXPECT(bad, pg__names_owner(names, u, name, url) == 1,
                  "owner of %s", name);
        snprintf(url, sizeof(url), url_fmt, i + 1);
        UT_EXPECT(bad, pg__names_owner(names, u, name, url) == 2,
                  "other owner of %s", name);
    }
    return bad;
}

/*
 * Issue 9: the name set decides "same URL" by comparing the URLs (kept
 * in an unlinked file of the output directory), not a 32-bit fold.
 */
static void test_names_compare_urls(void **state)
{
    const char *dir = *state;
    struct pg__names names;
    struct pg__urlstore u;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), bad = 0;
    DIR *d;
    struct dirent *de;

    assert_true(dirfd >= 0);
    pg__names_init(&names);
    pg__urlstore_init(&u);
    assert_int_equal(pg__names_owner(&names, &u, "h/x.jpg", "http://h/x"),
                     0);
    assert_int_equal(pg__names_claim(&names, &u, dirfd, "h/x.jpg",
                                     "http://h/x.jpg?id=3241"), PG_OK);
    assert_int_equal(pg__names_owner(&names, &u, "h/x.jpg",
                                     "http://h/x.jpg?id=3241"), 1);
    assert_int_equal(pg__names_owner(&names, &u, "h/x.jpg",
                                     "http://h/x.jpg?id=27449"), 2);
    assert_int_equal(pg__names_owner(&names, &u, "h/x.jpg",
                                     "http://h/x.jpg?id=324"), 2);
    /* The first owner keeps its name. */
    assert_int_equal(pg__names_claim(&names, &u, dirfd, "h/x.jpg",
                                     "http://h/x.jpg?id=27449"), PG_OK);
    assert_int_equal(pg__names_owner(&names, &u, "h/x.jpg",
                                     "http://h/x.jpg?id=3241"), 1);
    /* Many names, long URLs (more than one read chunk). */
    claim_all(&names, &u, dirfd, "n/%d", "http://h/%0100d", 2000);
    bad = check_owners(&names, &u, "n/%d", "http://h/%0100d", 2000);
    assert_int_equal(bad, 0);
    /* The store leaves nothing behind in the directory. */
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        UT_EXPECT(bad, de->d_name[0] == '.' &&
                  (!de->d_name[1] || !strcmp(de->d_name, "..")),
                  "left '%s'", de->d_name);
    closedir(d);
    assert_int_equal(bad, 0);
    pg__urlstore_release(&u);
    pg__names_release(&names);
    close(dirfd);
}

/*
 * Issue 14: names are remembered without a system call each: records
 * gather in memory and reach the store's file 64 KiB at a time; a URL
 * longer than that is written on its own, and every URL reads back
 * right wherever it is.
 */
static void test_names_store_batched(void **state)
{
    const char *dir = *state;
    struct pg__names names;
    struct pg__urlstore u;
    size_t big_n = PG_URLSTORE_TAIL + 5000;
    char *big = malloc(big_n + 1);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), bad = 0;
    struct stat st;

    assert_true(dirfd >= 0);
    assert_non_null(big);
    pg__names_init(&names);
    pg__urlstore_init(&u);
    claim_all(&names, &u, dirfd, "a/%d", "http://h/a%d", 10);
    /* Ten names, no write yet. */
    assert_int_equal(fstat(u.fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(pg__names_owner(&names, &u, "a/3", "http://h/a3"), 1);
    assert_int_equal(pg__names_owner(&names, &u, "a/3", "http://h/a4"), 2);
    /* A URL longer than the tail: the tail first, then the URL. */
    memset(big, 'x', big_n);
    memcpy(big, "http://h/", 9);
    big[big_n] = '\0';
    assert_int_equal(pg__names_claim(&names, &u, dirfd, "big", big), PG_OK);
    assert_int_equal(fstat(u.fd, &st), 0);
    assert_true((uint64_t)st.st_size == u.end);
    /* (Names 0-9 again: claims of taken names change nothing.) */
    claim_all(&names, &u, dirfd, "a/%d", "http://h/a%d", 3000);
    assert_true(u.flushed > 0 && u.flushed < u.end);
    bad = check_owners(&names, &u, "a/%d", "http://h/a%d", 3000);
    assert_int_equal(bad, 0);
    assert_int_equal(pg__names_owner(&names, &u, "big", big), 1);
    big[big_n - 1] = 'y';
    assert_int_equal(pg__names_owner(&names, &u, "big", big), 2);
    pg__urlstore_release(&u);
    pg__names_release(&names);
    free(big);
    close(dirfd);
}

struct hashed {
    uint64_t h;
    unsigned i;
};

static int by_high32(const void *a, const void *b)
{
    uint32_t x = (uint32_t)(((const struct hashed *)a)->h >> 32);
    uint32_t y = (uint32_t)(((const struct hashed *)b)->h >> 32);

    return x < y ? -1 : x > y;
}

/*
 * Issue 14: the names table keeps 32 bits of a name's hash.  Two names
 * whose hashes share those bits (found among 300,000) are still two
 * names, each with its own URL; a third name sharing them is free.
 */
static void test_names_shared_fingerprint(void **state)
{
    const unsigned n = 300000;
    struct hashed *hs = malloc(n * sizeof(*hs));
    struct pg__names names;
    struct pg__urlstore u;
    char a[64], b[64], c[64];
    int dirfd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    unsigned i, pair = 0;

    assert_non_null(hs);
    assert_true(dirfd >= 0);
    for (i = 0; i < n; i++) {
        char name[64];
        int len = snprintf(name, sizeof(name), "h/f%u.jpg", i);

        hs[i].h = pg__hash64(name, (size_t)len);
        hs[i].i = i;
    }
    qsort(hs, n, sizeof(*hs), by_high32);
    for (i = 1; i < n && !pair; i++) {
        if ((hs[i].h >> 32) == (hs[i - 1].h >> 32) && hs[i].h != hs[i - 1].h)
            pair = i;
    }
    assert_true(pair > 0);   /* ~10 such pairs are expected in 300,000 */
    snprintf(a, sizeof(a), "h/f%u.jpg", hs[pair - 1].i);
    snprintf(b, sizeof(b), "h/f%u.jpg", hs[pair].i);
    pg__names_init(&names);
    pg__urlstore_init(&u);
    assert_int_equal(pg__names_claim(&names, &u, dirfd, a, "http://h/a"),
                     PG_OK);
    /* b shares a's 32 bits but is nobody's yet. */
    assert_int_equal(pg__names_owner(&names, &u, b, "http://h/a"), 0);
    assert_int_equal(pg__names_claim(&names, &u, dirfd, b, "http://h/b"),
                     PG_OK);
    assert_int_equal(names.used, 2);
    assert_int_equal(pg__names_owner(&names, &u, a, "http://h/a"), 1);
    assert_int_equal(pg__names_owner(&names, &u, a, "http://h/b"), 2);
    assert_int_equal(pg__names_owner(&names, &u, b, "http://h/b"), 1);
    assert_int_equal(pg__names_owner(&names, &u, b, "http://h/a"), 2);
    /* Through growth of the table, too. */
    for (i = 0; i < 5000; i++) {
        snprintf(c, sizeof(c), "g/%u", i);
        assert_int_equal(pg__names_claim(&names, &u, dirfd, c, c), PG_OK);
    }
    assert_true(names.cap >= 4096);
    assert_int_equal(pg__names_owner(&names, &u, a, "http://h/a"), 1);
    assert_int_equal(pg__names_owner(&names, &u, b, "http://h/b"), 1);
    /* A claim of a taken name keeps its owner. */
    assert_int_equal(pg__names_claim(&names, &u, dirfd, b, "http://h/c"),
                     PG_OK);
    assert_int_equal(pg__names_owner(&names, &u, b, "http://h/b"), 1);
    assert_int_equal(names.used, 5002);
    pg__urlstore_release(&u);
    pg__names_release(&names);
    free(hs);
    close(dirfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_name_table),
        cmocka_unit_test(test_check_name_lengths),
        cmocka_unit_test_setup_teardown(test_create_distinct, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_create_workers, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_remove_pid, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_create_skips_existing,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_create_errors, setup_dir,
                                        teardown_dir),
        cmocka_unit_test(test_nameset_basic),
        cmocka_unit_test(test_nameset_key_zero),
        cmocka_unit_test(test_nameset_growth),
        cmocka_unit_test(test_nameset_keys_only),
        cmocka_unit_test(test_nameset_nomem),
        cmocka_unit_test_setup_teardown(test_names_compare_urls, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_names_store_batched, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_names_shared_fingerprint,
                                        setup_dir, teardown_dir),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
