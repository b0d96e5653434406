/*
 * spool.c - see spool.h; also pg_result_save() and pg_result_fail().
 */
#define _GNU_SOURCE /* renameat2() and RENAME_NOREPLACE (Linux) */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "item.h"
#include "job.h"
#include "log.h"
#include "mem.h"
#include "name.h"
#include "spool.h"
#include "url.h"

/* Variants tried for one name before giving up. */
#define NAME_TRIES 100

void pg__nameset_init(struct pg__nameset *s)
{
    memset(s, 0, sizeof(*s));
}

void pg__nameset_release(struct pg__nameset *s)
{
    PG_FREE(s->keys);
    PG_FREE(s->vals);
    s->cap = s->used = 0;
}

static size_t slot(const struct pg__nameset *s, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 29)) & (s->cap - 1);

    while (s->keys[i] && s->keys[i] != key)
        i = (i + 1) & (s->cap - 1);
    return i;
}

int pg__nameset_get(const struct pg__nameset *s, uint64_t name_hash,
                    uint32_t *val)
{
    size_t i;

    if (!s->cap)
        return 0;
    name_hash |= !name_hash;
    i = slot(s, name_hash);
    if (!s->keys[i])
        return 0;
    *val = s->vals[i];
    return 1;
}

static enum pg_code nameset_grow(struct pg__nameset *s)
{
    struct pg__nameset n;
    size_t i;

    n.cap = s->cap ? s->cap * 2 : 1024;
    n.used = s->used;
    n.keys = pg_calloc(n.cap, sizeof(*n.keys));
    n.vals = pg_calloc(n.cap, sizeof(*n.vals));
    if (!n.keys || !n.vals) {
        pg_free(n.keys);
        pg_free(n.vals);
        return PG_E_NOMEM;
    }
    for (i = 0; i < s->cap; i++) {
        if (s->keys[i]) {
            size_t j = slot(&n, s->keys[i]);

            n.keys[j] = s->keys[i];
            n.vals[j] = s->vals[i];
        }
    }
    pg__nameset_release(s);
    *s = n;
    return PG_OK;
}

enum pg_code pg__nameset_put(struct pg__nameset *s, uint64_t name_hash,
                             uint32_t val)
{
    size_t i;

    if ((s->used + 1) * 4 > s->cap * 3) {
        enum pg_code rc = nameset_grow(s);

        if (rc)
            return rc;
    }
    name_hash |= !name_hash;
    i = slot(s, name_hash);
    if (!s->keys[i])
        s->used++;
    s->keys[i] = name_hash;
    s->vals[i] = val;
    return PG_OK;
}

void pg__urlstore_init(struct pg__urlstore *u)
{
    u->fd = -1;
    u->end = 0;
}

void pg__urlstore_release(struct pg__urlstore *u)
{
    if (u->fd >= 0)
        close(u->fd);
    pg__urlstore_init(u);
}

static enum pg_code urlstore_open(struct pg__urlstore *u, int dirfd)
{
    uint64_t seq = 0;
    char *name = NULL;
    enum pg_code rc;

#ifdef O_TMPFILE
    u->fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (u->fd >= 0)
        return PG_OK;
#endif
    /* No O_TMPFILE here: a spool file, unlinked at once. */
    rc = pg__spool_create(dirfd, 0xffffu, &seq, &u->fd, &name);
    if (rc)
        return rc;
    unlinkat(dirfd, name, 0);
    pg_free(name);
    return PG_OK;
}

/* 1 when the URL stored at slot val is url, 0 if not, -1 on error. */
static int urlstore_equal(const struct pg__urlstore *u, uint32_t val,
                          const char *url)
{
    uint64_t off = (uint64_t)val * 8;
    size_t n = strlen(url);
    char head[4], chunk[512];
    uint32_t len;
    size_t done;

    if (u->fd < 0 || off + 4 > u->end) {
        errno = EIO;
        return -1;
    }
    if (pg__pread_all(u->fd, head, 4, off))
        return -1;
    memcpy(&len, head, 4);
    if (len != n)
        return 0;
    for (done = 0; done < n; done += sizeof(chunk)) {
        size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);

        if (pg__pread_all(u->fd, chunk, k, off + 4 + done))
            return -1;
        if (memcmp(chunk, url + done, k))
            return 0;
    }
    return 1;
}

int pg__names_owner(const struct pg__nameset *names,
                    const struct pg__urlstore *u, const char *relname,
                    const char *url)
{
    uint32_t val;
    int eq;

    if (!pg__nameset_get(names, pg__hash64(relname, strlen(relname)),
                         &val))
        return 0;
    eq = urlstore_equal(u, val, url);
    return eq < 0 ? -1 : eq ? 1 : 2;
}

enum pg_code pg__names_claim(struct pg__nameset *names,
                             struct pg__urlstore *u, int dirfd,
                             const char *relname, const char *url)
{
    static const char pad[8];
    uint64_t h = pg__hash64(relname, strlen(relname));
    size_t n = strlen(url);
    uint32_t val, len = (uint32_t)n;
    enum pg_code rc;

    if (pg__nameset_get(names, h, &val))
        return PG_OK;
    if (n > UINT32_MAX || u->end / 8 > UINT32_MAX)
        return PG_E_LIMIT;
    if (u->fd < 0) {
        rc = urlstore_open(u, dirfd);
        if (rc)
            return rc;
    }
    val = (uint32_t)(u->end / 8);
    if (pg__pwrite_all(u->fd, &len, 4, u->end) ||
        pg__pwrite_all(u->fd, url, n, u->end + 4) ||
        pg__pwrite_all(u->fd, pad, (8 - (4 + n) % 8) % 8, u->end + 4 + n))
        return PG_E_IO;
    rc = pg__nameset_put(names, h, val);
    if (!rc)
        u->end += (4 + n + 7) / 8 * 8;
    return rc;
}

void pg__dedup_init(struct pg__dedup *d)
{
    memset(d, 0, sizeof(*d));
    pg__nameset_init(&d->idx);
}

void pg__dedup_release(struct pg__dedup *d)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        pg_free(d->hex[i]);
        pg_free(d->path[i]);
    }
    pg_free(d->hex);
    pg_free(d->path);
    pg__nameset_release(&d->idx);
    memset(d, 0, sizeof(*d));
}

const char *pg__dedup_find(const struct pg__dedup *d, const char *hex)
{
    uint32_t v;

    if (!pg__nameset_get(&d->idx, pg__hash64(hex, strlen(hex)), &v) ||
        v == 0 || v > d->n || strcmp(d->hex[v - 1], hex))
        return NULL;
    return d->path[v - 1];
}

enum pg_code pg__dedup_add(struct pg__dedup *d, const char *hex,
                           const char *path)
{
    if (pg__dedup_find(d, hex))
        return PG_OK;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        char **h = pg_realloc(d->hex, cap * sizeof(*h));

        if (!h)
            return PG_E_NOMEM;
        d->hex = h;
        h = pg_realloc(d->path, cap * sizeof(*h));
        if (!h)
            return PG_E_NOMEM;
        d->path = h;
        d->cap = cap;
    }
    d->hex[d->n] = pg_strdup(hex);
    d->path[d->n] = pg_strdup(path);
    if (!d->hex[d->n] || !d->path[d->n]) {
        PG_FREE(d->hex[d->n]);
        PG_FREE(d->path[d->n]);
        return PG_E_NOMEM;
    }
    d->n++;
    return pg__nameset_put(&d->idx, pg__hash64(hex, strlen(hex)),
                           (uint32_t)d->n);
}

enum pg_code pg__spool_create(int dirfd, unsigned worker, uint64_t *seq,
                              int *fd, char **name)
{
    return pg__spool_create_pid(dirfd, getpid(), worker, seq, fd, name);
}

enum pg_code pg__spool_create_pid(int dirfd, pid_t pid, unsigned worker,
                                  uint64_t *seq, int *fd, char **name)
{
    char tmp[96];
    int tries;

    for (tries = 0; tries < 1000; tries++) {
        snprintf(tmp, sizeof(tmp), "%s%ld-%u-%llu.part",
                 PG_NAME_TMP_PREFIX, (long)pid, worker,
                 (unsigned long long)(*seq)++);
        *fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
                     O_CLOEXEC, 0644);
        if (*fd >= 0) {
            *name = pg_strdup(tmp);
            if (!*name) {
                close(*fd);
                unlinkat(dirfd, tmp, 0);
                return PG_E_NOMEM;
            }
            return PG_OK;
        }
        if (errno != EEXIST && errno != EINTR)
            return PG_E_IO;
    }
    return PG_E_IO;
}

unsigned pg__spool_cleanup(int dirfd)
{
    int fd = dup(dirfd);
    unsigned n = 0;
    struct dirent *de;
    DIR *d;

    if (fd < 0)
        return 0;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        const char *p = de->d_name;
        char *end;
        long pid;
        size_t len = strlen(p);

        if (strncmp(p, PG_NAME_TMP_PREFIX, PG_NAME_TMP_PREFIX_LEN) ||
            len < 5 || strcmp(p + len - 5, ".part"))
            continue;
        pid = strtol(p + PG_NAME_TMP_PREFIX_LEN, &end, 10);
        if (end == p + PG_NAME_TMP_PREFIX_LEN || *end != '-' || pid <= 0)
            continue;
        /* A live process (another pagegrab here) keeps its files. */
        if (pid != (long)getpid() && kill((pid_t)pid, 0) == 0)
            continue;
        if (pid != (long)getpid() && errno == EPERM)
            continue;
        if (unlinkat(dirfd, p, 0) == 0)
            n++;
    }
    closedir(d);
    return n;
}

int pg__spool_check_name(const char *relname)
{
    const char *p = relname, *end;
    size_t n;

    if (!*p || *p == '/' || strlen(p) > PG_NAME_MAX + 64)
        return -1;
    while (*p) {
        end = strchr(p, '/');
        n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n > 255)
            return -1;
        if ((n == 1 && p[0] == '.') || (n == 2 && !memcmp(p, "..", 2)))
            return -1;
        if (n >= PG_NAME_TMP_PREFIX_LEN &&
            !memcmp(p, PG_NAME_TMP_PREFIX, PG_NAME_TMP_PREFIX_LEN))
            return -1;
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return -1;
        }
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return -1; /* trailing slash: no file name */
    }
    return 0;
}

/*
 * Open (creating if needed) directory `name` in dirfd, never following a
 * symlink.  When something else is in the way, try "name.d", "name.d2",
 * ... and append the name used to path.  Returns the fd or -1 (errno).
 */
static int open_dir(int dirfd, const char *name, size_t n,
                    struct pg_buf *path, enum pg_code *rc)
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
            *rc = pg_buf_addstr(path, comp);
            if (!*rc)
                *rc = pg_buf_addc(path, '/');
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
 * --dedup: open the directory holding the first copy dup (relative to
 * rootfd) one component at a time with O_NOFOLLOW, so that a symlink
 * planted in the output directory after the first save is never
 * followed.  Returns the fd (or rootfd itself) and sets *leaf, or -1.
 */
static int open_dup_dir(int rootfd, const char *dup, const char **leaf)
{
    char comp[300];
    const char *p, *slash;
    int dirfd = rootfd, fd;

    for (p = dup; (slash = strchr(p, '/')); p = slash + 1) {
        size_t n = (size_t)(slash - p);

        if (n == 0 || n >= sizeof(comp)) {
            fd = -1;
        } else {
            memcpy(comp, p, n);
            comp[n] = '\0';
            fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                        O_CLOEXEC);
        }
        if (dirfd != rootfd)
            close(dirfd);
        if (fd < 0)
            return -1;
        dirfd = fd;
    }
    *leaf = p;
    return dirfd;
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

enum pg_code pg_result_save(struct pg_result *res, const char *relname,
                            unsigned flags)
{
    struct pg_job *job = res->job;
    struct pg__item *it = job ? job->cur : NULL;
    struct pg_buf path = PG_BUF_INIT(PG_NAME_MAX + 4096);
    char leaf[300], errtxt[128];
    const char *p, *slash, *dup = NULL, *dupleaf = NULL;
    enum pg_code rc = PG_OK;
    int dirfd, fd, i, r = -1, kept = 0, dupdir = -1;
    size_t dirlen;

    if (!it || !it->tmp_name || res->status != PG_ST_OK)
        return PG_E_INVALID;
    if (pg__spool_check_name(relname)) {
        pg_result_fail(res, PG_ST_SAVE_ERROR, "unsafe file name '%.200s'",
                       relname);
        return PG_E_INVALID;
    }
    /* --overwrite replaces files, which would leave the dedup index
     * pointing at other content: the two do not combine. */
    if (job->o->dedup && it->hash[0] && !(flags & PG_SAVE_OVERWRITE))
        dup = pg__dedup_find(&job->dedup, it->hash);
    /* The first copy is reached through directory fds, never by its
     * path walked again; if that fails the body is saved on its own. */
    if (dup) {
        dupdir = open_dup_dir(job->outdir_fd, dup, &dupleaf);
        if (dupdir < 0)
            dup = NULL;
    }
    dirfd = job->outdir_fd;
    for (p = relname; (slash = strchr(p, '/')); p = slash + 1) {
        fd = open_dir(dirfd, p, (size_t)(slash - p), &path, &rc);
        if (dirfd != job->outdir_fd)
            close(dirfd);
        dirfd = job->outdir_fd;
        if (fd < 0) {
            if (rc == PG_E_IO)
                pg_result_fail(res, PG_ST_SAVE_ERROR,
                               "cannot create directory for '%.200s': %s",
                               relname, pg__errstr(errno, errtxt,
                                                   sizeof(errtxt)));
            goto out;
        }
        dirfd = fd;
    }
    dirlen = path.len;
again:
    for (i = 0; i < NAME_TRIES; i++) {
        int owner;

        leaf_variant(leaf, sizeof(leaf), p, i);
        pg_buf_truncate(&path, dirlen);
        rc = pg_buf_addstr(&path, leaf);
        if (rc)
            goto out;
        /* A name is never given to two different URLs: the URLs are
         * compared, not their hashes. */
        owner = pg__names_owner(&job->names, &job->names_urls, path.ptr,
                                it->url);
        if (owner < 0) {
            r = -1;
            break;
        }
        r = place(dup ? dupdir : job->outdir_fd, dup ? dupleaf : it->tmp_name,
                  dirfd, leaf, flags & PG_SAVE_OVERWRITE, owner == 2,
                  dup != NULL, &kept);
        if (r != 0)
            break;
    }
    if (dup && r < 0 && errno != EPERM && errno != EOPNOTSUPP &&
        errno != EXDEV && errno != EMLINK) {
        /* The first copy is gone or no longer a plain file: save this
         * body on its own. */
        dup = NULL;
        goto again;
    }
    if (dup && r < 0) {
        /* No hard link possible: the record points at the copy. */
        pg_buf_reset(&path);
        rc = pg_buf_addstr(&path, dup);
        if (rc)
            goto out;
        r = 1;
    }
    if (r <= 0) {
        if (r == 0)
            errno = EEXIST;
        pg_result_fail(res, PG_ST_SAVE_ERROR, "cannot save '%.200s': %s",
                       relname, pg__errstr(errno, errtxt, sizeof(errtxt)));
        rc = PG_E_IO;
        goto out;
    }
    rc = pg__names_claim(&job->names, &job->names_urls, job->outdir_fd,
                         path.ptr, it->url);
    if (rc == PG_E_IO || rc == PG_E_LIMIT) {
        /* Unremembered, the name could go to another URL later: this
         * URL is not recorded as saved (it is fetched again on
         * --resume). */
        pg_result_fail(res, PG_ST_SAVE_ERROR,
                       "cannot remember the name '%.200s': %s", path.ptr,
                       rc == PG_E_IO ? pg__errstr(errno, errtxt,
                                                  sizeof(errtxt))
                                     : "too many names");
        goto out;
    }
    if (rc)
        goto out;
    if (kept) {
        it->status = PG_ST_EXISTS;
        res->status = PG_ST_EXISTS;
    } else if (dup) {
        it->duplicate_of = pg_strdup(dup);
        if (!it->duplicate_of) {
            rc = PG_E_NOMEM;
            goto out;
        }
        res->duplicate_of = it->duplicate_of;
    } else {
        PG_FREE(it->tmp_name);
        res->tmp_name = NULL;
        if (job->o->dedup && it->hash[0] && !(flags & PG_SAVE_OVERWRITE)) {
            rc = pg__dedup_add(&job->dedup, it->hash, path.ptr);
            if (rc)
                goto out;
        }
    }
    pg_free(it->path);
    it->path = pg_buf_take(&path);
    res->path = it->path;
out:
    if (dirfd != job->outdir_fd)
        close(dirfd);
    if (dupdir >= 0 && dupdir != job->outdir_fd)
        close(dupdir);
    pg_buf_release(&path);
    return rc;
}

void pg_result_fail(struct pg_result *res, enum pg_status st,
                    const char *fmt, ...)
{
    struct pg__item *it = res->job ? res->job->cur : NULL;
    va_list ap;

    if (!it)
        return;
    it->status = st;
    va_start(ap, fmt);
    vsnprintf(it->error, sizeof(it->error), fmt, ap);
    va_end(ap);
    res->status = st;
    res->error = it->error;
}
