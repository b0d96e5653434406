/*
 * test_dircache.c - the saver's cache of directory fds (dircache.h):
 * a hit is checked from the output directory before it is used, once
 * per pass of the job loop at most PG_DIRCACHE_TRUST hits apart, and a
 * directory renamed or swapped for a symlink is never handed out after
 * the next check.
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
#include <sys/stat.h>
#include <unistd.h>

#include "dircache.h"
#include "unit.h"

struct fixture {
    char *dir;   /* the output directory */
    int root;    /* its fd */
    struct pg__dircache c;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char path[4096];

    if (!f)
        return -1;
    f->dir = ut_tmpdir();
    if (!f->dir)
        return -1;
    snprintf(path, sizeof(path), "%s/h", f->dir);
    if (mkdir(path, 0755))
        return -1;
    snprintf(path, sizeof(path), "%s/h/d", f->dir);
    if (mkdir(path, 0755))
        return -1;
    f->root = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->root < 0)
        return -1;
    pg__dircache_init(&f->c);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc;

    pg__dircache_release(&f->c);
    close(f->root);
    rc = ut_rm_tree(f->dir);
    free(f->dir);
    free(f);
    return rc;
}

/* Walk to h/d as the saver does and hand the fd to the cache. */
static void put_hd(struct fixture *f)
{
    int h = openat(f->root, "h", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                   O_CLOEXEC), d;

    assert_true(h >= 0);
    d = openat(h, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(h);
    assert_true(d >= 0);
    pg__dircache_put(&f->c, f->root, "h/d", 3, d);
    pg__dircache_end(&f->c);
}

/* Rename FROM to TO, both relative to the output directory. */
static void rename_in(struct fixture *f, const char *from, const char *to)
{
    char a[4096], b[4096];

    snprintf(a, sizeof(a), "%s/%s", f->dir, from);
    snprintf(b, sizeof(b), "%s/%s", f->dir, to);
    assert_int_equal(rename(a, b), 0);
}

static int get_hd(struct fixture *f)
{
    int fd = pg__dircache_get(&f->c, f->root, "h/d", 3);

    pg__dircache_end(&f->c);
    return fd;
}

/* Without passes every hit is checked (and a rename seen at once). */
static void test_every_hit_checked(void **state)
{
    struct fixture *f = *state;

    put_hd(f);
    assert_true(get_hd(f) >= 0);
    assert_true(get_hd(f) >= 0);
    assert_int_equal(f->c.checks, 2);
    rename_in(f, "h/d", "h/e");
    assert_int_equal(get_hd(f), -1);
    assert_int_equal(f->c.checks, 3);
}

/* In a pass, one check serves many hits; the next pass checks again
 * and sees the directory replaced by a symlink. */
static void test_one_check_a_pass(void **state)
{
    struct fixture *f = *state;
    char from[4096];
    int i, fd;

    pg__dircache_pass(&f->c);
    put_hd(f);
    fd = get_hd(f);
    assert_true(fd >= 0);
    for (i = 0; i < 100; i++)
        assert_int_equal(get_hd(f), fd);
    /* put() checked the path itself: no check yet. */
    assert_int_equal(f->c.checks, 0);
    pg__dircache_pass(&f->c);
    assert_int_equal(get_hd(f), fd);
    assert_int_equal(get_hd(f), fd);
    assert_int_equal(f->c.checks, 1);
    rename_in(f, "h/d", "h/e");
    snprintf(from, sizeof(from), "%s/h/d", f->dir);
    assert_int_equal(symlink("e", from), 0);
    pg__dircache_pass(&f->c);
    assert_int_equal(get_hd(f), -1);
    assert_int_equal(f->c.checks, 2);
    /* Dropped: a miss from now on, not a check. */
    assert_int_equal(get_hd(f), -1);
    assert_int_equal(f->c.checks, 2);
}

/* A long pass is checked again every PG_DIRCACHE_TRUST hits. */
static void test_trust_is_bounded(void **state)
{
    struct fixture *f = *state;
    int i;

    pg__dircache_pass(&f->c);
    put_hd(f);
    for (i = 0; i < PG_DIRCACHE_TRUST; i++)
        assert_true(get_hd(f) >= 0);
    assert_int_equal(f->c.checks, 0);
    rename_in(f, "h", "g");
    assert_int_equal(get_hd(f), -1);
    assert_int_equal(f->c.checks, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_hit_checked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_check_a_pass, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trust_is_bounded, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
