/*
 * names.c - see save.h: the names a job gave and the URLs holding them
 * (struct pg__names, a table of 32-bit fingerprints, and struct
 * pg__urlstore, the unlinked file of records it points into), so that
 * no two URLs ever share a file.  The saver (save.c), --resume
 * (crawl.c) and --update (refresh.c) claim and look up names here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "save.h"
#include "spool.h"
#include "url.h"
#include "util.h"

void pg__urlstore_init(struct pg__urlstore *u)
{
    memset(u, 0, sizeof(*u));
    u->fd = -1;
}

void pg__urlstore_release(struct pg__urlstore *u)
{
    if (u->fd >= 0)
        close(u->fd);
    pg_free(u->tail);
    pg__urlstore_init(u);
}

/* Write the tail to the file.  On an error it stays (still read from
 * memory) and is tried again by the next add. */
static enum pg_code urlstore_flush(struct pg__urlstore *u)
{
    if (u->tail_len == 0)
        return PG_OK;
    if (pg__pwrite_all(u->fd, u->tail, u->tail_len, u->flushed))
        return PG_E_IO;
    u->flushed += u->tail_len;
    u->tail_len = 0;
    return PG_OK;
}

/* n bytes of the store at off: from the file or the tail. */
static enum pg_code urlstore_read(const struct pg__urlstore *u, void *p,
                                  size_t n, uint64_t off)
{
    if (off + n > u->end) {
        errno = EIO;
        return PG_E_IO;
    }
    if (off >= u->flushed) {
        memcpy(p, u->tail + (off - u->flushed), n);
        return PG_OK;
    }
    /* (A record is either all in the file or all in the tail.) */
    return pg__pread_all(u->fd, p, n, off) ? PG_E_IO : PG_OK;
}

/*
 * Append one record (the name's hash, the URL's length, the URL, zero
 * padding to 8 bytes) of rec bytes.  It goes into the tail; a full tail is written first, and a
 * record longer than the tail is written on its own.
 */
static enum pg_code urlstore_append(struct pg__urlstore *u, uint64_t h,
                                    const char *url, uint32_t len, size_t rec)
{
    static const char pad[8];
    char *p;

    if (!u->tail) {
        u->tail = pg_malloc(PG_URLSTORE_TAIL);
        if (!u->tail)
            return PG_E_NOMEM;
    }
    if (u->tail_len + rec > PG_URLSTORE_TAIL && urlstore_flush(u))
        return PG_E_IO;
    if (rec > PG_URLSTORE_TAIL) {
        if (pg__pwrite_all(u->fd, &h, 8, u->end) ||
            pg__pwrite_all(u->fd, &len, 4, u->end + 8) ||
            pg__pwrite_all(u->fd, url, len, u->end + 12) ||
            pg__pwrite_all(u->fd, pad, rec - 12 - len, u->end + 12 + len))
            return PG_E_IO;
        u->flushed = u->end + rec;
        return PG_OK;
    }
    p = u->tail + u->tail_len;
    memcpy(p, &h, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, url, len);
    memset(p + 12 + len, 0, rec - 12 - len);
    u->tail_len += rec;
    return PG_OK;
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

    if (u->fd < 0 || urlstore_read(u, head, 4, off + 8))
        return -1;
    memcpy(&len, head, 4);
    if (len != n)
        return 0;
    for (done = 0; done < n; done += sizeof(chunk)) {
        size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);

        if (urlstore_read(u, chunk, k, off + 12 + done))
            return -1;
        if (memcmp(chunk, url + done, k))
            return 0;
    }
    return 1;
}

void pg__names_init(struct pg__names *s)
{
    memset(s, 0, sizeof(*s));
}

void pg__names_release(struct pg__names *s)
{
    PG_FREE(s->fp);
    PG_FREE(s->val);
    s->cap = s->used = 0;
}

static uint32_t names_fp(uint64_t h)
{
    uint32_t fp = (uint32_t)(h >> 32);

    return fp ? fp : 1;
}

/* Where a fingerprint's probe starts (its bits mixed, so that names
 * sharing a prefix spread). */
static size_t names_home(uint32_t fp, size_t cap)
{
    return (size_t)((fp ^ (fp >> 15)) * 0x2c1b3c6dU) & (cap - 1);
}

/*
 * Find the name of hash h: 1 with *slot its entry, 0 with *slot the
 * empty slot it would take, -1 when a record cannot be read (errno).
 * A fingerprint match is checked against the hash in its record.
 */
static int names_find(const struct pg__names *s, const struct pg__urlstore *u,
                      uint64_t h, size_t *slot)
{
    uint32_t fp = names_fp(h);
    size_t i;

    if (!s->cap)
        return 0;
    for (i = names_home(fp, s->cap);; i = (i + 1) & (s->cap - 1)) {
        uint64_t got;

        if (!s->fp[i]) {
            *slot = i;
            return 0;
        }
        if (s->fp[i] != fp)
            continue;
        if (urlstore_read(u, &got, 8, (uint64_t)s->val[i] * 8))
            return -1;
        if (got == h) {
            *slot = i;
            return 1;
        }
    }
}

/* Double the table (the entries move by their fingerprints alone). */
static enum pg_code names_grow(struct pg__names *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024, i;
    uint32_t *fp = pg__calloc(cap, sizeof(*fp));
    uint32_t *val = pg_malloc(cap * sizeof(*val));

    if (!fp || !val) {
        pg_free(fp);
        pg_free(val);
        return PG_E_NOMEM;
    }
    for (i = 0; i < s->cap; i++) {
        size_t j;

        if (!s->fp[i])
            continue;
        for (j = names_home(s->fp[i], cap); fp[j]; j = (j + 1) & (cap - 1))
            ;
        fp[j] = s->fp[i];
        val[j] = s->val[i];
    }
    pg_free(s->fp);
    pg_free(s->val);
    s->fp = fp;
    s->val = val;
    s->cap = cap;
    return PG_OK;
}

int pg__names_owner(const struct pg__names *names,
                    const struct pg__urlstore *u, const char *relname,
                    const char *url)
{
    size_t i;
    int found, eq;

    found = names_find(names, u, pg__hash64(relname, strlen(relname)), &i);
    if (found <= 0)
        return found;
    eq = urlstore_equal(u, names->val[i], url);
    return eq < 0 ? -1 : eq ? 1 : 2;
}

enum pg_code pg__names_claim(struct pg__names *names,
                             struct pg__urlstore *u, int dirfd,
                             const char *relname, const char *url)
{
    uint64_t h = pg__hash64(relname, strlen(relname));
    size_t n = strlen(url), i;
    uint32_t len = (uint32_t)n;
    size_t rec;
    enum pg_code rc;
    int found;

    found = names_find(names, u, h, &i);
    if (found < 0)
        return PG_E_IO;
    if (found)
        return PG_OK;
    if (n > UINT32_MAX - 16 || u->end / 8 > UINT32_MAX)
        return PG_E_LIMIT;
    if ((names->used + 1) * 4 > names->cap * 3) {
        rc = names_grow(names);
        if (rc)
            return rc;
        if (names_find(names, u, h, &i) < 0)
            return PG_E_IO;
    }
    if (u->fd < 0) {
        rc = urlstore_open(u, dirfd);
        if (rc)
            return rc;
    }
    rec = (12 + n + 7) / 8 * 8;
    rc = urlstore_append(u, h, url, len, rec);
    if (rc)
        return rc;
    names->fp[i] = names_fp(h);
    names->val[i] = (uint32_t)(u->end / 8);
    names->used++;
    u->end += rec;
    return PG_OK;
}
