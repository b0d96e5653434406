/*
 * rmtree.c - remove a directory tree like `rm -rf`, never following a
 * symlink and holding a bounded number of descriptors however deep the
 * tree (`pagegrab compare` removes each run's directory with it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "compare.h"

/* ------------------------------------------------------------------ */
/* Removing a run's directory                                          */
/* ------------------------------------------------------------------ */

/*
 * A directory being emptied: its name in its parent, its identity (to
 * check the way back up), and the subdirectories still to visit.
 */
struct rm_frame {
    char *name;
    dev_t dev;
    ino_t ino;
    char **sub;
    size_t n_sub;
    size_t cap_sub;
};

static void rm_frame_release(struct rm_frame *f)
{
    while (f->n_sub > 0)
        free(f->sub[--f->n_sub]);
    free(f->sub);
    free(f->name);
}

static int open_dir_nofollow(int at, const char *name)
{
    return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int rm_frame_add_sub(struct rm_frame *f, const char *name)
{
    char *copy;

    if (f->n_sub == f->cap_sub) {
        size_t cap = f->cap_sub ? f->cap_sub * 2 : 8;
        char **v = realloc(f->sub, cap * sizeof(*v));

        if (!v)
            return -1;
        f->sub = v;
        f->cap_sub = cap;
    }
    copy = strdup(name);
    if (!copy)
        return -1;
    f->sub[f->n_sub++] = copy;
    return 0;
}

/*
 * Unlink every entry of the directory open on fd except subdirectories,
 * whose names go to f->sub.  Nothing is followed: fstatat() with
 * AT_SYMLINK_NOFOLLOW, and a symlink is unlinked like a file.  Returns 0
 * or the first errno.
 */
static int rm_scan(int fd, struct rm_frame *f)
{
    int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = 0;
    DIR *d;

    if (dfd < 0)
        return errno;
    d = fdopendir(dfd);
    if (!d) {
        err = errno;
        close(dfd);
        return err;
    }
    for (;;) {
        struct dirent *e;
        struct stat st;

        errno = 0;
        e = readdir(d);
        if (!e) {
            if (errno && !err)
                err = errno;
            break;
        }
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT && !err)
                err = errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (rm_frame_add_sub(f, e->d_name) != 0) {
                err = ENOMEM;
                break;
            }
            continue;
        }
        if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT && !err)
            err = errno;
    }
    closedir(d);
    return err;
}

/*
 * Remove the directory name (in the directory open on basefd) and
 * everything under it, like `rm -rf`, but without following a symlink.
 * The walk is depth first and holds one directory open at a time.  It
 * climbs back through "..", checked against the device and inode seen on
 * the way down; if the tree was moved meanwhile, it stops rather than
 * delete elsewhere (ESTALE).  Returns 0 (also when name does not exist)
 * or the first errno met; it removes what it can either way.
 */
int remove_tree(int basefd, const char *name)
{
    struct rm_frame *stack = NULL;
    size_t depth = 0, cap = 0;
    int fd = -1, err = 0, e;
    struct stat st;
    char *sub = strdup(name);

    if (!sub)
        return ENOMEM;
    fd = open_dir_nofollow(basefd, sub);
    if (fd < 0) {
        e = errno;
        free(sub);
        return e == ENOENT ? 0 : e;
    }
    for (;;) {
        struct rm_frame *f;

        /* Enter the directory open on fd, named sub. */
        if (sub) {
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct rm_frame *ns = realloc(stack, ncap * sizeof(*ns));

                if (!ns) {
                    free(sub);
                    err = ENOMEM;
                    break;
                }
                stack = ns;
                cap = ncap;
            }
            f = &stack[depth++];
            memset(f, 0, sizeof(*f));
            f->name = sub;
            sub = NULL;
            if (fstat(fd, &st) != 0) {
                err = errno;
                break;
            }
            f->dev = st.st_dev;
            f->ino = st.st_ino;
            e = rm_scan(fd, f);
            if (e && !err)
                err = e;
            if (e == ENOMEM)
                break;
        }
        f = &stack[depth - 1];
        if (f->n_sub > 0) {
            int child;

            sub = f->sub[--f->n_sub];
            child = open_dir_nofollow(fd, sub);
            if (child < 0) {
                /* Replaced by a file or symlink meanwhile: unlink it. */
                if ((errno == ENOTDIR || errno == ELOOP) &&
                    unlinkat(fd, sub, 0) == 0)
                    errno = 0;
                if (errno && errno != ENOENT && !err)
                    err = errno;
                free(sub);
                sub = NULL;
                continue;
            }
            close(fd);
            fd = child;
            continue;
        }
        /* f is empty: climb to its parent and remove it there. */
        if (depth == 1) {
            close(fd);
            fd = -1;
            if (unlinkat(basefd, f->name, AT_REMOVEDIR) != 0 &&
                errno != ENOENT && !err)
                err = errno;
            break;
        }
        {
            int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            const struct rm_frame *p = &stack[depth - 2];

            if (up < 0 || fstat(up, &st) != 0 || st.st_dev != p->dev ||
                st.st_ino != p->ino) {
                if (!err)
                    err = up < 0 ? errno : ESTALE;
                if (up >= 0)
                    close(up);
                break;
            }
            close(fd);
            fd = up;
        }
        if (unlinkat(fd, f->name, AT_REMOVEDIR) != 0 && errno != ENOENT &&
            !err)
            err = errno;
        rm_frame_release(f);
        depth--;
    }
    while (depth > 0)
        rm_frame_release(&stack[--depth]);
    free(stack);
    if (fd >= 0)
        close(fd);
    return err;
}
