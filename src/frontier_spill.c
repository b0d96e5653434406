/*
 * frontier_spill.c - the frontier's spill file (--queue-memory): runs of
 * one origin's queued items written to an append-only file, and read
 * back in small batches when the origin comes up.  Not here: the queues,
 * limits and waits (frontier_mem.c).  See frontier_mem.h for the contract.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "frontier_mem.h"
#include "frontier_host.h"
#include "mem.h"
#include "spool.h"
#include "util.h"

/* Spilled items read back at once for one origin, at most. */
#define LOAD_MAX 256
/* Read buffer for loading; a bigger record gets its own. */
#define LOAD_BUF (64 * 1024)
/* Worker number in the spill file's name (workers use 0..1023). */
#define SPILL_WORKER 65535u
#define REC_MAGIC 0x70677331u /* "pgs1" */
#define NO_STR UINT32_MAX

/* One spilled item: this header, then url, input_url, referrer. */
struct rec {
    uint64_t key, id, line;
    uint32_t magic, len, url_len, in_len, ref_len;
    uint32_t depth, kind, flags, attempts, crashes;
};

/* ---- spilling: runs of one origin's items in an append-only file --- */

static int spill_fail(struct pg__memfr *f, const char *what, int err)
{
    f->spill.err_what = what;
    f->spill.err_no = err ? err : EIO;
    return -1;
}

static enum pg_code spill_open(struct pg__memfr *f)
{
    enum pg_code rc;
    char *name = NULL;

    if (f->spill.fd >= 0)
        return PG_OK;
    rc = pg__spool_create_pid(f->spill.dirfd, getpid(), SPILL_WORKER,
                              &f->spill.seq, &f->spill.fd, &name);
    if (rc == PG_E_NOMEM)
        return rc;
    if (rc) {
        spill_fail(f, "create", errno);
        f->spill.fd = -1;
        return PG_E_IO;
    }
    /* Nobody else needs the name: the file goes with the process. */
    unlinkat(f->spill.dirfd, name, 0);
    pg_free(name);
    return PG_OK;
}

static enum pg_code pwrite_all(struct pg__memfr *f, const char *p,
                               size_t n, uint64_t off)
{
    if (pg__pwrite_all(f->spill.fd, p, n, off) == PG_OK)
        return PG_OK;
    spill_fail(f, "write", errno);
    return PG_E_IO;
}

/* Serialise the list from `it` on into a new buffer. */
static char *serialise(const struct pg__host *h, struct pg__item *it,
                       size_t *len, uint64_t *count)
{
    size_t cap = 0, n = 0;
    char *buf = NULL;

    *count = 0;
    for (; it; it = it->next) {
        struct rec r;
        size_t lu = strlen(it->url);
        size_t li = it->res.url ? strlen(it->res.url) : 0;
        size_t lr = it->res.referrer ? strlen(it->res.referrer) : 0;
        size_t need = sizeof(r) + lu + li + lr;

        if (n + need > cap) {
            size_t nc = cap ? cap * 2 : 64 * 1024;
            char *nb;

            while (nc < n + need)
                nc *= 2;
            nb = pg__realloc(buf, nc);
            if (!nb) {
                pg_free(buf);
                return NULL;
            }
            buf = nb;
            cap = nc;
        }
        memset(&r, 0, sizeof(r));
        r.key = h->key;
        r.id = it->id;
        r.line = it->res.line;
        r.magic = REC_MAGIC;
        r.len = (uint32_t)need;
        r.url_len = (uint32_t)lu;
        r.in_len = it->res.url ? (uint32_t)li : NO_STR;
        r.ref_len = it->res.referrer ? (uint32_t)lr : NO_STR;
        r.depth = it->res.depth;
        r.kind = (uint32_t)it->res.kind;
        r.flags = it->flags;
        r.attempts = it->res.attempts;
        r.crashes = it->crashes;
        memcpy(buf + n, &r, sizeof(r));
        memcpy(buf + n + sizeof(r), it->url, lu);
        if (li)
            memcpy(buf + n + sizeof(r) + lu, it->res.url, li);
        if (lr)
            memcpy(buf + n + sizeof(r) + lu + li, it->res.referrer, lr);
        n += need;
        (*count)++;
    }
    *len = n;
    return buf;
}

/*
 * Write the list from `first` on as one run; on success the items are
 * freed and *seg describes the run.  On error nothing changes.
 */
static enum pg_code spill_list(struct pg__memfr *f, struct pg__host *h,
                               struct pg__item *first, struct pg__seg **seg)
{
    struct pg__item *it, *next;
    uint64_t count;
    size_t len;
    enum pg_code rc;
    char *buf;

    *seg = pg__calloc(1, sizeof(**seg));
    buf = *seg ? serialise(h, first, &len, &count) : NULL;
    if (!buf) {
        PG_FREE(*seg);
        return PG_E_NOMEM;
    }
    rc = pwrite_all(f, buf, len, f->spill.end);
    pg_free(buf);
    if (rc) {
        PG_FREE(*seg);
        return rc;
    }
    (*seg)->off = f->spill.end;
    (*seg)->bytes = len;
    (*seg)->count = count;
    f->spill.end += len;
    f->spill.items += count;
    f->spill.on_disk += count;
    for (it = first; it; it = next) {
        next = it->next;
        f->mem -= pg__memfr_item_cost(it);
        pg__item_free(it);
    }
    return PG_OK;
}

/*
 * Spill one origin: its items after the last one already tried go
 * before its runs on disk, the items after its runs go after them.
 */
static enum pg_code spill_host(struct pg__memfr *f, struct pg__host *h)
{
    struct pg__item *it, *keep = NULL, *first;
    struct pg__seg *sg;
    enum pg_code rc;

    if (h->bhead) {
        rc = spill_list(f, h, h->bhead, &sg);
        if (rc)
            return rc;
        h->segs_tail->next = sg;
        h->segs_tail = sg;
        h->bhead = h->btail = NULL;
    }
    for (it = h->head; it; it = it->next) {
        if (it->res.attempts || it->crashes)
            keep = it;
    }
    first = keep ? keep->next : h->head;
    if (!first)
        return PG_OK;
    rc = spill_list(f, h, first, &sg);
    if (rc)
        return rc;
    sg->next = h->segs;
    h->segs = sg;
    if (!h->segs_tail)
        h->segs_tail = sg;
    if (keep) {
        keep->next = NULL;
        h->tail = keep;
    } else {
        h->head = h->tail = NULL;
    }
    return PG_OK;
}

enum pg_code pg__memfr_spill_all(struct pg__memfr *f)
{
    enum pg_code rc = spill_open(f);
    size_t i;

    if (rc)
        return rc;
    f->spill.events++;
    for (i = 0; i < f->tab_cap; i++) {
        struct pg__host *h;

        for (h = f->tab[i]; h; h = h->hnext) {
            rc = spill_host(f, h);
            if (rc)
                return rc;
        }
    }
    return PG_OK;
}

static enum pg_code pread_all(struct pg__memfr *f, char *p, size_t n,
                              uint64_t off)
{
    if (pg__pread_all(f->spill.fd, p, n, off) == PG_OK)
        return PG_OK;
    spill_fail(f, "read", errno);
    return PG_E_IO;
}

/* One item from a record of n bytes at p (checked), or NULL. */
static struct pg__item *unserialise(struct pg__memfr *f,
                                    const struct pg__host *h,
                                    const char *p, size_t n,
                                    enum pg_code *rc)
{
    struct pg__item *it;
    struct rec r;
    uint64_t li, lr;

    memcpy(&r, p, sizeof(r));
    li = r.in_len == NO_STR ? 0 : r.in_len;
    lr = r.ref_len == NO_STR ? 0 : r.ref_len;
    if (r.magic != REC_MAGIC || r.key != h->key || r.len != n ||
        (uint64_t)sizeof(r) + r.url_len + li + lr != n) {
        spill_fail(f, "read", EIO);
        *rc = PG_E_IO;
        return NULL;
    }
    *rc = PG_E_NOMEM;
    it = pg__item_new();
    if (!it)
        return NULL;
    p += sizeof(r);
    it->url = pg__strndup(p, r.url_len);
    if (r.in_len != NO_STR)
        it->res.url = pg__strndup(p + r.url_len, r.in_len);
    if (r.ref_len != NO_STR)
        it->res.referrer = pg__strndup(p + r.url_len + li, r.ref_len);
    if (!it->url || (r.in_len != NO_STR && !it->res.url) ||
        (r.ref_len != NO_STR && !it->res.referrer)) {
        pg__item_free(it);
        return NULL;
    }
    it->id = r.id;
    it->res.line = r.line;
    it->res.depth = r.depth;
    it->res.kind = (enum pg_kind)r.kind;
    it->flags = r.flags;
    it->res.attempts = r.attempts;
    it->crashes = r.crashes;
    it->host = (struct pg__host *)h;
    *rc = PG_OK;
    return it;
}

/*
 * h has nothing in memory before its runs: read a batch of its first
 * run back (one read of at most LOAD_BUF bytes, at most LOAD_MAX items,
 * only one item while memory is over the budget).
 */
enum pg_code pg__memfr_load(struct pg__memfr *f, struct pg__host *h)
{
    struct pg__seg *sg = h->segs;
    size_t loaded = 0;
    enum pg_code rc = PG_OK;
    char *buf = NULL;

    while (sg && loaded == 0) {
        size_t cap = f->mem < f->spill.budget ? LOAD_BUF : LOAD_BUF / 16;
        size_t want = sg->bytes < cap ? (size_t)sg->bytes : cap;
        size_t at = 0, got;
        struct rec r;

        buf = pg_malloc(want);
        if (!buf)
            return PG_E_NOMEM;
        rc = pread_all(f, buf, want, sg->off);
        if (rc)
            goto out;
        got = want;
        if (got < sizeof(r)) {
            rc = PG_E_IO;
            spill_fail(f, "read", EIO);
            goto out;
        }
        memcpy(&r, buf, sizeof(r));
        if (r.len < sizeof(r) || r.len > sg->bytes) {
            rc = PG_E_IO;
            spill_fail(f, "read", EIO);
            goto out;
        }
        if (r.len > got) {
            /* One record bigger than the buffer: read it whole. */
            pg_free(buf);
            got = r.len;
            buf = pg_malloc(got);
            if (!buf)
                return PG_E_NOMEM;
            rc = pread_all(f, buf, got, sg->off);
            if (rc)
                goto out;
        }
        while (sg->count > 0 && loaded < LOAD_MAX &&
               (loaded == 0 || f->mem < f->spill.budget) &&
               got - at >= sizeof(r)) {
            struct pg__item *it;

            memcpy(&r, buf + at, sizeof(r));
            if (r.len < sizeof(r) || r.len > sg->bytes) {
                rc = PG_E_IO;
                spill_fail(f, "read", EIO);
                goto out;
            }
            if (r.len > got - at)
                break;
            it = unserialise(f, h, buf + at, r.len, &rc);
            if (!it)
                goto out;
            pg__memfr_append(f, h, it);
            at += r.len;
            sg->off += r.len;
            sg->bytes -= r.len;
            sg->count--;
            f->spill.on_disk--;
            loaded++;
        }
        PG_FREE(buf);
        if (sg->count == 0) {
            h->segs = sg->next;
            if (!h->segs)
                h->segs_tail = NULL;
            pg_free(sg);
            sg = h->segs;
        }
    }
    if (!h->segs && h->bhead) {
        /* Everything on disk is back: what came after follows. */
        if (h->tail)
            h->tail->next = h->bhead;
        else
            h->head = h->bhead;
        h->tail = h->btail;
        h->bhead = h->btail = NULL;
    }
out:
    pg_free(buf);
    return rc;
}

