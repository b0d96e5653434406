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
 * The walk of remove_tree: the stack of directories being emptied (the
 * top one is open on fd), and the first errno met.
 */
struct rm_walk {
    struct rm_frame *stack;
    size_t depth;
    size_t cap;
    int fd;
    int err;
};

static void rm_note(struct rm_walk *w, int e)
{
    if (e && !w->err)
        w->err = e;
}

/*
 * Enter the directory open on w->fd, named sub (taken over): push its
 * frame, remember its identity, unlink its files and list its
 * subdirectories.  Returns 0, or -1 when the walk must stop.
 */
static int rm_enter(struct rm_walk *w, char *sub)
{
    struct rm_frame *f;
    struct stat st;
    int e;

    if (w->depth == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        struct rm_frame *ns = realloc(w->stack, ncap * sizeof(*ns));

        if (!ns) {
            free(sub);
            w->err = ENOMEM;
            return -1;
        }
        w->stack = ns;
        w->cap = ncap;
    }
    f = &w->stack[w->depth++];
    memset(f, 0, sizeof(*f));
    f->name = sub;
    if (fstat(w->fd, &st) != 0) {
        w->err = errno;
        return -1;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    e = rm_scan(w->fd, f);
    rm_note(w, e);
    return e == ENOMEM ? -1 : 0;
}

/*
 * Go down into the next subdirectory of the top frame f.  Returns its
 * name (then w->fd is open on it), or NULL when it could not be opened
 * (it was unlinked if it had been replaced by a file or a symlink).
 */
static char *rm_descend(struct rm_walk *w, struct rm_frame *f)
{
    char *sub = f->sub[--f->n_sub];
    int child = open_dir_nofollow(w->fd, sub);

    if (child < 0) {
        /* Replaced by a file or symlink meanwhile: unlink it. */
        if ((errno == ENOTDIR || errno == ELOOP) &&
            unlinkat(w->fd, sub, 0) == 0)
            errno = 0;
        if (errno && errno != ENOENT)
            rm_note(w, errno);
        free(sub);
        return NULL;
    }
    close(w->fd);
    w->fd = child;
    return sub;
}

/*
 * The top frame is empty: climb to its parent through "..", checked
 * against the parent's identity, and remove it there.  Returns 0, or -1
 * when the walk must stop (the top frame was the root, or the way back
 * up is not the way down).
 */
static int rm_climb(struct rm_walk *w, int basefd)
{
    struct rm_frame *f = &w->stack[w->depth - 1];
    const struct rm_frame *p;
    struct stat st;
    int up;

    if (w->depth == 1) {
        close(w->fd);
        w->fd = -1;
        if (unlinkat(basefd, f->name, AT_REMOVEDIR) != 0 && errno != ENOENT)
            rm_note(w, errno);
        return -1;
    }
    up = openat(w->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    p = &w->stack[w->depth - 2];
    if (up < 0 || fstat(up, &st) != 0 || st.st_dev != p->dev ||
        st.st_ino != p->ino) {
        rm_note(w, up < 0 ? errno : ESTALE);
        if (up >= 0)
            close(up);
        return -1;
    }
    close(w->fd);
    w->fd = up;
    if (unlinkat(w->fd, f->name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rm_note(w, errno);
    rm_frame_release(f);
    w->depth--;
    return 0;
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
    struct rm_walk w = { NULL, 0, 0, -1, 0 };
    char *sub = strdup(name);
    int e;

    if (!sub)
        return ENOMEM;
    w.fd = open_dir_nofollow(basefd, sub);
    if (w.fd < 0) {
        e = errno;
        free(sub);
        return e == ENOENT ? 0 : e;
    }
    for (;;) {
        struct rm_frame *f;

        if (sub && rm_enter(&w, sub) != 0)
            break;
        sub = NULL;
        f = &w.stack[w.depth - 1];
        if (f->n_sub > 0)
            sub = rm_descend(&w, f);
        else if (rm_climb(&w, basefd) != 0)
            break;
    }
    while (w.depth > 0)
        rm_frame_release(&w.stack[--w.depth]);
    free(w.stack);
    if (w.fd >= 0)
        close(w.fd);
    return w.err;
}
