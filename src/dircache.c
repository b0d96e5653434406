/*
 * dircache.c - see dircache.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dircache.h"
#include "mem.h"
#include "spool.h"

/* Longest path kept (a longer one is walked every time). */
#define PATH_KEEP 4096

void pg__dircache_init(struct pg__dircache *c)
{
    unsigned i;

    memset(c, 0, sizeof(*c));
    for (i = 0; i < PG_DIRCACHE_SLOTS; i++)
        c->e[i].fd = -1;
}

/* Close fd once the running operation is over (it may be borrowed). */
static void defer_close(struct pg__dircache *c, int fd)
{
    if (fd < 0)
        return;
    /* (At most a few drops an operation: the array never fills.) */
    if (c->n_deferred < sizeof(c->deferred) / sizeof(c->deferred[0]))
        c->deferred[c->n_deferred++] = fd;
    else
        close(fd);
}

static void drop(struct pg__dircache *c, struct pg__dircache_ent *e)
{
    defer_close(c, e->fd);
    pg_free(e->path);
    e->path = NULL;
    e->fd = -1;
}

void pg__dircache_pass(struct pg__dircache *c)
{
    c->pass++;
}

void pg__dircache_end(struct pg__dircache *c)
{
    while (c->n_deferred > 0)
        close(c->deferred[--c->n_deferred]);
}

void pg__dircache_release(struct pg__dircache *c)
{
    unsigned i;

    for (i = 0; i < PG_DIRCACHE_SLOTS; i++) {
        if (c->e[i].path)
            drop(c, &c->e[i]);
    }
    pg__dircache_end(c);
}

/*
 * Each prefix of path (a NUL-terminated copy in buf, len bytes) checked
 * from root with AT_SYMLINK_NOFOLLOW: a directory, not a symlink.  With
 * fill, its device and inode are stored in e; else they must match e's.
 * 0 when they do.
 */
static int check_levels(int root, char *buf, size_t len,
                        struct pg__dircache_ent *e, int fill)
{
    unsigned level = 0;
    size_t i;

    for (i = 0; i <= len; i++) {
        struct stat st;
        int r;

        if (i < len && buf[i] != '/')
            continue;
        buf[i] = '\0';
        r = fstatat(root, buf, &st, AT_SYMLINK_NOFOLLOW);
        if (i < len)
            buf[i] = '/';
        if (r < 0 || !S_ISDIR(st.st_mode) || level >= PG_DIRCACHE_DEPTH)
            return -1;
        if (fill) {
            e->dev[level] = st.st_dev;
            e->ino[level] = st.st_ino;
        } else if (e->dev[level] != st.st_dev || e->ino[level] != st.st_ino) {
            return -1;
        }
        level++;
    }
    if (fill)
        e->depth = level;
    return level == e->depth ? 0 : -1;
}

int pg__dircache_get(struct pg__dircache *c, int root, const char *path,
                     size_t len)
{
    char buf[PATH_KEEP];
    unsigned i;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    for (i = 0; i < PG_DIRCACHE_SLOTS; i++) {
        struct pg__dircache_ent *e = &c->e[i];

        if (!e->path || e->len != len || memcmp(e->path, path, len))
            continue;
        if (c->pass && e->checked == c->pass &&
            e->trusted < PG_DIRCACHE_TRUST) {
            e->trusted++;   /* checked earlier in this pass */
        } else {
            memcpy(buf, path, len);
            buf[len] = '\0';
            c->checks++;
            if (check_levels(root, buf, len, e, 0)) {
                /* Renamed, replaced or a symlink now: walk again. */
                drop(c, e);
                break;
            }
            e->checked = c->pass;
            e->trusted = 0;
        }
        e->used = ++c->tick;
        c->hits++;
        return e->fd;
    }
    c->misses++;
    return -1;
}

void pg__dircache_put(struct pg__dircache *c, int root, const char *path,
                      size_t len, int fd)
{
    struct pg__dircache_ent *e = NULL;
    char buf[PATH_KEEP];
    struct stat st;
    unsigned i;

    for (i = 0; i < PG_DIRCACHE_SLOTS; i++) {
        struct pg__dircache_ent *x = &c->e[i];

        if (x->path && x->len == len && !memcmp(x->path, path, len))
            drop(c, x);   /* (a stale twin) */
        if (!x->path && !e)
            e = x;
    }
    if (!e) {
        /* Full: the least recently used goes. */
        e = &c->e[0];
        for (i = 1; i < PG_DIRCACHE_SLOTS; i++) {
            if (c->e[i].used < e->used)
                e = &c->e[i];
        }
    }
    if (e->path)
        drop(c, e);
    if (len == 0 || len >= sizeof(buf) || fstat(fd, &st) < 0)
        goto not_kept;
    memcpy(buf, path, len);
    buf[len] = '\0';
    /* What the walk opened must be what the path names now. */
    if (check_levels(root, buf, len, e, 1) ||
        e->dev[e->depth - 1] != st.st_dev || e->ino[e->depth - 1] != st.st_ino)
        goto not_kept;
    e->path = pg_malloc(len + 1);
    if (!e->path)
        goto not_kept;
    memcpy(e->path, buf, len + 1);
    e->len = len;
    e->fd = fd;
    e->used = ++c->tick;
    e->checked = c->pass;
    e->trusted = 0;
    return;
not_kept:
    defer_close(c, fd);
}

int pg__dircache_parent(struct pg__dircache *c, int root,
                        const char *relname, const char **leaf)
{
    const char *slash;
    int fd;

    if (pg__spool_check_name(relname)) {
        errno = EINVAL;
        return -1;
    }
    slash = strrchr(relname, '/');
    if (!slash) {
        *leaf = relname;
        return root;
    }
    fd = pg__dircache_get(c, root, relname, (size_t)(slash - relname));
    if (fd >= 0) {
        *leaf = slash + 1;
        return fd;
    }
    fd = pg__spool_parent(root, relname, leaf);
    if (fd >= 0 && fd != root)
        pg__dircache_put(c, root, relname, (size_t)(slash - relname), fd);
    return fd;
}
