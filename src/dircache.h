/*
 * dircache.h - a few directory fds of the output directory kept open by
 * the saver (main thread only), so that saving many files into the same
 * directories does not walk and close their paths each time.
 *
 * An entry is keyed by a directory's path relative to the output
 * directory as it was reached by a walk that never followed a symlink
 * (one openat(O_NOFOLLOW) a component).  A hit is used only after each
 * prefix of its path is checked, from the output directory, with
 * fstatat(AT_SYMLINK_NOFOLLOW): every component must still be a
 * directory (no symlink) with the device and inode the walk found.  So
 * a directory renamed (inside the output directory or out of it), or
 * replaced by a symlink, anywhere along the path, is never written
 * through: the entry is dropped and the caller walks again.  The fd of
 * the entry itself pins its inode, so its number cannot be reused.
 * That costs one fstatat a path component instead of an openat and a
 * close; the race left (a component swapped between the checks) is the
 * one a walk has between its openat calls.
 *
 * The caller may divide time into passes (pg__dircache_pass: the job
 * loop calls it before each wait for results): within one pass an entry
 * checked once is trusted for up to PG_DIRCACHE_TRUST more hits, so that
 * a burst of results into one directory costs one check, not one each.
 * The window is the time one pass spends on its results (a few hundred
 * saves at most), no wider in kind than the race above.  Without a call
 * to pg__dircache_pass every hit is checked.
 *
 * Fds returned by pg__dircache_get and pg__dircache_parent are
 * borrowed: they stay open until pg__dircache_end (entries dropped
 * before then are closed there).  Fds are O_CLOEXEC; forked workers
 * close them (fds.c); pg__dircache_release closes them all.
 */
#ifndef PG_DIRCACHE_H
#define PG_DIRCACHE_H

#include <stddef.h>
#include <sys/types.h>

#include "pagegrab.h"

#define PG_DIRCACHE_SLOTS 16   /* directories kept */
#define PG_DIRCACHE_DEPTH 16   /* deeper paths are walked every time */
#define PG_DIRCACHE_TRUST 256  /* hits in one pass after a check */

struct pg__dircache_ent {
    char *path;                /* "host/dir" (no trailing '/'), or NULL */
    size_t len;
    int fd;
    unsigned depth;            /* components of path */
    unsigned long long used;   /* for least-recently-used eviction */
    unsigned long long checked; /* the pass of the last check */
    unsigned trusted;          /* hits since then, unchecked */
    dev_t dev[PG_DIRCACHE_DEPTH];
    ino_t ino[PG_DIRCACHE_DEPTH];
};

struct pg__dircache {
    struct pg__dircache_ent e[PG_DIRCACHE_SLOTS];
    int deferred[2 * PG_DIRCACHE_SLOTS]; /* dropped, closed at _end */
    unsigned n_deferred;
    unsigned long long tick;
    unsigned long long pass;   /* 0: every hit is checked */
    unsigned long long hits, misses, checks; /* (for the tests) */
};

void pg__dircache_init(struct pg__dircache *c);
/* Close every fd kept. */
void pg__dircache_release(struct pg__dircache *c);

/*
 * The fd of directory path[0..len) (relative to root, no trailing '/')
 * if it is cached and still there, checked as above; -1 on a miss.
 */
int pg__dircache_get(struct pg__dircache *c, int root, const char *path,
                     size_t len);

/*
 * Keep fd (opened by a symlink-free walk from root to path[0..len)).
 * The cache owns fd from now on, whatever happens: it is closed by a
 * later drop, an eviction or pg__dircache_release (never before
 * pg__dircache_end).
 */
void pg__dircache_put(struct pg__dircache *c, int root, const char *path,
                      size_t len, int fd);

/*
 * The directory holding relname (pg__spool_parent's contract: no
 * creation, never through a symlink), from the cache or walked and
 * cached.  Borrowed (root itself when relname has no '/'); -1 (errno).
 */
int pg__dircache_parent(struct pg__dircache *c, int root,
                        const char *relname, const char **leaf);

/* A new pass: every entry is checked again at its next hit. */
void pg__dircache_pass(struct pg__dircache *c);

/* The end of one operation: close the fds dropped while it ran. */
void pg__dircache_end(struct pg__dircache *c);

#endif
