/*
 * save.c - see save.h: pg_result_save() and pg_result_fail(), the job's
 * name set with its URL store, the --dedup index and the output
 * directory.  Not the spool files themselves (spool.c) nor the choice of
 * a name (name.c, filter.c).
 */
#define _GNU_SOURCE /* renameat2() and RENAME_NOREPLACE (Linux) */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "item.h"
#include "log.h"
#include "mem.h"
#include "name.h"
#include "util.h"
#include "save.h"
#include "spool.h"
#include "url.h"

/* Variants tried for one name before giving up. */
#define NAME_TRIES 100

void pg__saver_init(struct pg__saver *sv)
{
    memset(sv, 0, sizeof(*sv));
    sv->outdir_fd = -1;
    pg__names_init(&sv->names);
    pg__urlstore_init(&sv->names_urls);
    pg__dedup_init(&sv->dedup);
    pg__dircache_init(&sv->dirs);
}

void pg__saver_release(struct pg__saver *sv)
{
    pg__names_release(&sv->names);
    pg__urlstore_release(&sv->names_urls);
    pg__dedup_release(&sv->dedup);
    pg__dircache_release(&sv->dirs);
    if (sv->outdir_fd >= 0)
        close(sv->outdir_fd);
    sv->outdir_fd = -1;
}

/* mkdir -p for the output directory (the user's own path). */
static int mkdirs(const char *path)
{
    char tmp[4096];
    size_t i, n = strlen(path);

    if (n == 0 || n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];

            tmp[i] = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            tmp[i] = c;
        }
    }
    return 0;
}

enum pg_code pg__saver_open(struct pg__saver *sv, const char *dir, char *err,
                            size_t errlen)
{
    char errtxt[128], *tmp = NULL;
    uint64_t seq = 0;
    enum pg_code rc;
    int fd;

    if (mkdirs(dir) < 0) {
        snprintf(err, errlen, "cannot create output directory '%s': %s", dir,
                 pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    sv->outdir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sv->outdir_fd < 0) {
        snprintf(err, errlen, "cannot open output directory '%s': %s", dir,
                 pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    /* Prove it is writable before fetching anything. */
    rc = pg__spool_create(sv->outdir_fd, 0, &seq, &fd, &tmp);
    if (rc == PG_E_NOMEM)
        return PG_E_NOMEM;
    if (rc) {
        snprintf(err, errlen, "cannot write in output directory '%s': %s", dir,
                 pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    close(fd);
    unlinkat(sv->outdir_fd, tmp, 0);
    pg_free(tmp);
    return PG_OK;
}

int pg__saver_probe(const struct pg__saver *sv)
{
    char *tmp = NULL;
    uint64_t seq = 1u << 30;
    int fd, err = 0;

    if (pg__spool_create(sv->outdir_fd, 9999, &seq, &fd, &tmp)) {
        err = errno;
    } else {
        char block[4096];

        memset(block, 0, sizeof(block));
        if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
            err = errno ? errno : ENOSPC;
        if (close(fd) < 0 && !err)
            err = errno;
        unlinkat(sv->outdir_fd, tmp, 0);
        pg_free(tmp);
    }
    return err;
}

/*
 * Open (creating if needed) directory `name` in dirfd, never following a
 * symlink.  When something else is in the way, try "name.d", "name.d2",
 * ... and append the name used to path.  Returns the fd or -1 (errno).
 */
static int open_dir(int dirfd, const char *name, size_t n,
                    struct pg__buf *path, enum pg_code *rc)
{
    char comp[300];
    int i, fd;

    for (i = 0; i < NAME_TRIES; i++) {
        if (i == 0)
            snprintf(comp, sizeof(comp), "%.*s", (int)n, name);
        else if (i == 1)
            snprintf(comp, sizeof(comp), "%.*s.d", (int)n, name);
        else
            snprintf(comp, sizeof(comp), "%.*s.d%d", (int)n, name, i);
        fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                    O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            if (mkdirat(dirfd, comp, 0755) < 0 && errno != EEXIST)
                break;
            fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                        O_CLOEXEC);
        }
        if (fd >= 0) {
            *rc = pg__buf_addstr(path, comp);
            if (!*rc)
                *rc = pg__buf_addc(path, '/');
            if (*rc) {
                close(fd);
                return -1;
            }
            return fd;
        }
        if (errno != ENOTDIR && errno != ELOOP && errno != EEXIST)
            break;
    }
    *rc = PG_E_IO;
    return -1;
}

/* The i-th variant of a file name: "a.jpg", "a.1.jpg", "a.2.jpg"... */
static void leaf_variant(char *out, size_t outlen, const char *leaf, int i)
{
    const char *dot = strrchr(leaf, '.');

    if (i == 0)
        snprintf(out, outlen, "%s", leaf);
    else if (dot && dot != leaf)
        snprintf(out, outlen, "%.*s.%d%s", (int)(dot - leaf), leaf, i, dot);
    else
        snprintf(out, outlen, "%s.%d", leaf, i);
}

static int is_regular(int dirfd, const char *name)
{
    struct stat st;

    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode);
}

/*
 * Place tmp (in rootfd) as leaf in dirfd.  Returns 1 when placed, 0 when
 * the name is taken by something this URL must not use, -1 on error
 * (errno).  *kept is set when an older file of that name is kept.
 */
static int place(int rootfd, const char *tmp, int dirfd, const char *leaf,
                 int overwrite, int ours_other, int keep_src, int *kept)
{
    struct stat st;

    *kept = 0;
    if (ours_other)
        return 0;
    if (overwrite && !keep_src) {
        if (fstatat(dirfd, leaf, &(struct stat){ 0 },
                    AT_SYMLINK_NOFOLLOW) == 0 && !is_regular(dirfd, leaf))
            return 0;
        if (renameat(rootfd, tmp, dirfd, leaf) == 0)
            return 1;
        return (errno == EISDIR || errno == ENOTDIR) ? 0 : -1;
    }
#ifdef RENAME_NOREPLACE
    /* One system call where the file system has it (Linux). */
    if (!keep_src) {
        if (renameat2(rootfd, tmp, dirfd, leaf, RENAME_NOREPLACE) == 0)
            return 1;
        if (errno == EEXIST) {
            if (!is_regular(dirfd, leaf))
                return 0;
            *kept = 1;
            return 1;
        }
        /* Anything else (EINVAL: not supported here) takes the
         * portable way below. */
    }
#endif
    if (linkat(rootfd, tmp, dirfd, leaf, 0) == 0) {
        if (!keep_src)
            unlinkat(rootfd, tmp, 0);
        /* linkat() without AT_SYMLINK_FOLLOW links a symlink itself:
         * a duplicate's source swapped for one is not taken. */
        if (keep_src && (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) ||
                         !S_ISREG(st.st_mode))) {
            unlinkat(dirfd, leaf, 0);
            errno = ELOOP;
            return -1;
        }
        return 1;
    }
    if (errno == EEXIST) {
        if (!is_regular(dirfd, leaf))
            return 0;
        *kept = 1;
        return 1;
    }
    if (keep_src)
        return -1;   /* no hard link for a duplicate: keep its old path */
    if (errno == EPERM || errno == EOPNOTSUPP || errno == EXDEV ||
        errno == EMLINK) {
        /* No hard links here: check, then rename (main thread only). */
        if (fstatat(dirfd, leaf, &(struct stat){ 0 },
                    AT_SYMLINK_NOFOLLOW) == 0) {
            if (!is_regular(dirfd, leaf))
                return 0;
            *kept = 1;
            return 1;
        }
        return renameat(rootfd, tmp, dirfd, leaf) == 0 ? 1 : -1;
    }
    return -1;
}

/* One pg_result_save() call: what its steps share. */
struct save {
    struct pg__saver *sv;
    struct pg_result *res;
    struct pg__item *it;
    const char *relname;
    unsigned flags;
    struct pg__buf path;   /* the name given, relative to the output dir */
    int dirfd;            /* the directory the leaf goes in */
    int dirfd_kept;       /* dirfd is the dircache's (not closed here) */
    const char *leaf;     /* relname's last component */
    const char *dup;      /* --dedup: the first copy of this body */
    const char *dupleaf;
    int dupdir;           /* the directory holding it, or -1 (the
                             dircache's: not closed here) */
    int kept;             /* an older file of the name is kept */
};

/* The saver behind a result: the first member of its job (save.h). */
static struct pg__saver *saver_of(const struct pg_result *res)
{
    return (struct pg__saver *)(void *)res->job;
}

/* Whether this body is deduplicated: --dedup without --overwrite. */
static int dedup_applies(const struct save *s)
{
    /* --overwrite replaces files, which would leave the dedup index
     * pointing at other content: the two do not combine. */
    return s->sv->dedup_on && s->it->hash[0] &&
           !(s->flags & PG_SAVE_OVERWRITE);
}

/* --dedup: find the first copy of this body and open its directory. */
static void find_dup(struct save *s)
{
    if (dedup_applies(s))
        s->dup = pg__dedup_find(&s->sv->dedup, s->it->hash);
    /* The first copy is reached through directory fds opened one
     * component at a time with O_NOFOLLOW (or kept and checked by the
     * dircache), so that a symlink planted in the output directory
     * after the first save is never followed; if that fails the body
     * is saved on its own. */
    if (s->dup) {
        s->dupdir = pg__dircache_parent(&s->sv->dirs, s->sv->outdir_fd,
                                        s->dup, &s->dupleaf);
        if (s->dupdir < 0)
            s->dup = NULL;
    }
}

/* relname's directories kept open by the dircache (1), or 0. */
static int cached_parents(struct save *s)
{
    const char *slash = strrchr(s->relname, '/');
    int fd;

    if (!slash)
        return 0;
    fd = pg__dircache_get(&s->sv->dirs, s->sv->outdir_fd, s->relname,
                          (size_t)(slash - s->relname));
    if (fd < 0)
        return 0;
    if (pg__buf_add(&s->path, s->relname,
                    (size_t)(slash + 1 - s->relname)))
        return 0;   /* (walked instead; the fd stays the cache's) */
    s->dirfd = fd;
    s->dirfd_kept = 1;
    s->leaf = slash + 1;
    return 1;
}

/* Open (creating) relname's directories; sets s->dirfd and s->leaf. */
static enum pg_code open_parents(struct save *s)
{
    int root = s->sv->outdir_fd, fd;
    enum pg_code rc = PG_OK;
    const char *p, *slash;
    char errtxt[128];

    s->dirfd = root;
    if (cached_parents(s))
        return PG_OK;
    pg__buf_reset(&s->path);
    for (p = s->relname; (slash = strchr(p, '/')); p = slash + 1) {
        fd = open_dir(s->dirfd, p, (size_t)(slash - p), &s->path, &rc);
        if (s->dirfd != root)
            close(s->dirfd);
        s->dirfd = root;
        if (fd < 0) {
            if (rc == PG_E_IO)
                pg_result_fail(s->res, PG_ST_SAVE_ERROR,
                               "cannot create directory for '%.200s': %s",
                               s->relname, pg__errstr(errno, errtxt,
                                                      sizeof(errtxt)));
            return rc;
        }
        s->dirfd = fd;
    }
    s->leaf = p;
    if (s->dirfd != root) {
        /* Kept for the next file in this directory. */
        pg__dircache_put(&s->sv->dirs, root, s->path.ptr, s->path.len - 1,
                         s->dirfd);
        s->dirfd_kept = 1;
    }
    return rc;
}

/*
 * Try the variants of the leaf name until one is placed.  Returns 1
 * when placed, 0 or -1 (errno) as place() does, and sets *rc on a
 * buffer error.
 */
static int place_variants(struct save *s, size_t dirlen, enum pg_code *rc)
{
    char leaf[300];
    int i, r = -1;

    for (i = 0; i < NAME_TRIES; i++) {
        int owner;

        leaf_variant(leaf, sizeof(leaf), s->leaf, i);
        pg__buf_truncate(&s->path, dirlen);
        *rc = pg__buf_addstr(&s->path, leaf);
        if (*rc)
            return -1;
        /* A name is never given to two different URLs: the URLs are
         * compared, not their hashes. */
        owner = pg__names_owner(&s->sv->names, &s->sv->names_urls,
                                s->path.ptr, s->it->url);
        if (owner < 0)
            return -1;
        r = place(s->dup ? s->dupdir : s->sv->outdir_fd,
                  s->dup ? s->dupleaf : s->it->res.tmp_name, s->dirfd, leaf,
                  s->flags & PG_SAVE_OVERWRITE, owner == 2, s->dup != NULL,
                  &s->kept);
        if (r != 0)
            break;
    }
    return r;
}

/* Give the body (or a link to its first copy) a name in s->path. */
static enum pg_code place_body(struct save *s)
{
    size_t dirlen = s->path.len;
    enum pg_code rc = PG_OK;
    char errtxt[128];
    int r;

    for (;;) {
        r = place_variants(s, dirlen, &rc);
        if (rc)
            return rc;
        if (!(s->dup && r < 0 && errno != EPERM && errno != EOPNOTSUPP &&
              errno != EXDEV && errno != EMLINK))
            break;
        /* The first copy is gone or no longer a plain file: save this
         * body on its own. */
        s->dup = NULL;
    }
    if (s->dup && r < 0) {
        /* No hard link possible: the record points at the copy. */
        pg__buf_reset(&s->path);
        return pg__buf_addstr(&s->path, s->dup);
    }
    if (r <= 0) {
        if (r == 0)
            errno = EEXIST;
        pg_result_fail(s->res, PG_ST_SAVE_ERROR, "cannot save '%.200s': %s",
                       s->relname, pg__errstr(errno, errtxt,
                                              sizeof(errtxt)));
        return PG_E_IO;
    }
    return PG_OK;
}

/* Remember the name given, so that no other URL gets it. */
static enum pg_code remember_name(struct save *s)
{
    char errtxt[128];
    enum pg_code rc;

    rc = pg__names_claim(&s->sv->names, &s->sv->names_urls,
                         s->sv->outdir_fd, s->path.ptr, s->it->url);
    if (rc == PG_E_IO || rc == PG_E_LIMIT) {
        /* Unremembered, the name could go to another URL later: this
         * URL is not recorded as saved (it is fetched again on
         * --resume). */
        pg_result_fail(s->res, PG_ST_SAVE_ERROR,
                       "cannot remember the name '%.200s': %s", s->path.ptr,
                       rc == PG_E_IO ? pg__errstr(errno, errtxt,
                                                  sizeof(errtxt))
                                     : "too many names");
    }
    return rc;
}

/* Record in the result what the save came to. */
static enum pg_code record_saved(struct save *s)
{
    struct pg__item *it = s->it;
    struct pg_result *res = &it->res;
    enum pg_code rc;

    if (s->kept) {
        res->status = PG_ST_EXISTS;
    } else if (s->dup) {
        res->duplicate_of = pg__strdup(s->dup);
        if (!res->duplicate_of)
            return PG_E_NOMEM;
    } else {
        PG_FREE_CONST(res->tmp_name);
        if (dedup_applies(s)) {
            rc = pg__dedup_add(&s->sv->dedup, it->hash, s->path.ptr);
            if (rc)
                return rc;
        }
    }
    pg_free((void *)res->path);
    res->path = pg__buf_take(&s->path);
    return PG_OK;
}

/*
 * The item whose result callback is running with res, or NULL when res
 * is not such a result (it then belongs to no job, or its callback has
 * returned).
 */
static struct pg__item *item_in_callback(struct pg_result *res)
{
    struct pg__item *it;

    if (!res || !res->job)
        return NULL;
    it = pg__item_of(res);
    return (it->flags & PG_ITEM_IN_CALLBACK) ? it : NULL;
}

enum pg_code pg_result_save(struct pg_result *res, const char *relname,
                            unsigned flags)
{
    struct save s = { .res = res, .relname = relname, .flags = flags,
                      .path = PG_BUF_INIT(PG_NAME_MAX + 4096),
                      .dirfd = -1, .dupdir = -1 };
    enum pg_code rc;

    s.it = item_in_callback(res);
    if (!s.it || !res->tmp_name || res->status != PG_ST_OK)
        return PG_E_INVALID;
    s.sv = saver_of(res);
    if (pg__spool_check_name(relname)) {
        pg_result_fail(res, PG_ST_SAVE_ERROR, "unsafe file name '%.200s'",
                       relname);
        return PG_E_INVALID;
    }
    find_dup(&s);
    rc = open_parents(&s);
    if (!rc)
        rc = place_body(&s);
    if (!rc)
        rc = remember_name(&s);
    if (!rc)
        rc = record_saved(&s);
    if (s.dirfd >= 0 && s.dirfd != s.sv->outdir_fd && !s.dirfd_kept)
        close(s.dirfd);
    pg__dircache_end(&s.sv->dirs);
    pg__buf_release(&s.path);
    return rc;
}

void pg_result_fail(struct pg_result *res, enum pg_status st,
                    const char *fmt, ...)
{
    struct pg__item *it = item_in_callback(res);
    va_list ap;

    if (!it)
        return;
    res->status = st;
    va_start(ap, fmt);
    vsnprintf(it->error, sizeof(it->error), fmt, ap);
    va_end(ap);
    res->error = it->error;
}
