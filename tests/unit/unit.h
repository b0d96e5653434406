/*
 * unit.h - helpers shared by the cmocka unit tests in tests/unit/.
 *
 * Include after <cmocka.h>.  Every helper is static inline, so a test
 * file that does not use one does not warn.  The helpers run in the
 * test's main thread only.
 */
#ifndef PG_UNIT_H
#define PG_UNIT_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/*
 * A soft check for table-driven tests: report the failing case with
 * print_error(), count it in `bad` and go on, so that one run shows
 * every failing row.  End the test with assert_int_equal(bad, 0).
 */
#define UT_EXPECT(bad, cond, ...)                                       \
    do {                                                                \
        if (!(cond)) {                                                  \
            print_error("%s:%d: ", __FILE__, __LINE__);                 \
            print_error(__VA_ARGS__);                                   \
            print_error("\n");                                          \
            (bad)++;                                                    \
        }                                                               \
    } while (0)

/* A new private directory (mkdtemp); free the result with free(). */
static inline char *ut_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];

    if (!base || !*base)
        base = "/tmp";
    snprintf(tmpl, sizeof(tmpl), "%s/pagegrab-unit.XXXXXX", base);
    if (!mkdtemp(tmpl))
        return NULL;
    return strdup(tmpl);
}

/* Remove name (file, symlink or tree) in directory `at`; 0 or -1. */
static inline int ut_rm_at(int at, const char *name)
{
    struct stat st;
    struct dirent *de;
    DIR *d;
    int fd, rc = 0;

    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(at, name, 0);
    fchmodat(at, name, 0700, 0);
    fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                O_CLOEXEC);
    if (fd < 0)
        return -1;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (ut_rm_at(dirfd(d), de->d_name) < 0)
            rc = -1;
    }
    closedir(d);
    if (unlinkat(at, name, AT_REMOVEDIR) < 0)
        rc = -1;
    return rc;
}

/* Remove the directory tree at path; 0 or -1. */
static inline int ut_rm_tree(const char *path)
{
    return ut_rm_at(AT_FDCWD, path);
}

/* Create or truncate path with n bytes of data; 0 or -1. */
static inline int ut_write_file(const char *path, const void *data,
                                size_t n)
{
    const char *p = data;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return -1;
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return close(fd);
}

/* Read all of fd into a new NUL-terminated buffer; *n is its length. */
static inline char *ut_read_fd(int fd, size_t *n)
{
    size_t cap = 4096, len = 0;
    char *p = malloc(cap + 1);

    if (!p)
        return NULL;
    for (;;) {
        ssize_t r;

        if (len == cap) {
            char *q = realloc(p, cap * 2 + 1);

            if (!q) {
                free(p);
                return NULL;
            }
            p = q;
            cap *= 2;
        }
        r = read(fd, p + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(p);
            return NULL;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    p[len] = '\0';
    *n = len;
    return p;
}

/* Read the whole file at path (see ut_read_fd); NULL on error. */
static inline char *ut_read_file(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *p;

    if (fd < 0)
        return NULL;
    p = ut_read_fd(fd, n);
    close(fd);
    return p;
}

/* A new string of path "dir/name"; free with free(). */
static inline char *ut_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

#endif
