/*
 * frontier.c - see frontier.h.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontier.h"
#include "mem.h"
#include "spool.h"
#include "url.h"

/* Spilled items read back at once for one origin, at most. */
#define LOAD_MAX 256
/* Read buffer for loading; a bigger record gets its own. */
#define LOAD_BUF (64 * 1024)
/* Worker number in the spill file's name (workers use 0..1023). */
#define SPILL_WORKER 65535u
#define REC_MAGIC 0x70677331u /* "pgs1" */
#define NO_STR UINT32_MAX

#define ROBOTS_UNKNOWN 0
#define ROBOTS_PENDING 1
#define ROBOTS_READY 2

struct pg__host {
    struct pg__host *hnext;       /* hash chain */
    struct pg__host *rnext;       /* ready list */
    int in_ready;
    char *origin;
    uint64_t key;
    unsigned active;              /* popped and not done */
    double next_start;
    int robots_state;
    struct pg__robots *robots;
    struct pg__item *head, *tail; /* in memory, before any on disk */
    struct pg__seg *segs, *segs_tail; /* then on disk, in order */
    struct pg__item *bhead, *btail; /* then in memory again; empty
                                       whenever segs is */
};

/* A run of one origin's items in the spill file. */
struct pg__seg {
    struct pg__seg *next;
    uint64_t off, bytes, count;
};

/* One spilled item: this header, then url, input_url, referrer. */
struct rec {
    uint64_t key, id, line;
    uint32_t magic, len, url_len, in_len, ref_len;
    uint32_t depth, kind, flags, attempts, crashes;
};

/* What an item in memory costs, roughly (allocator overhead too). */
static uint64_t item_cost(const struct pg__item *it)
{
    uint64_t n = sizeof(*it) + 16;

    if (it->url)
        n += strlen(it->url) + 17;
    if (it->input_url)
        n += strlen(it->input_url) + 17;
    if (it->referrer)
        n += strlen(it->referrer) + 17;
    return n;
}

size_t pg__url_origin_len(const char *url)
{
    const char *p = strstr(url, "://");

    if (!p)
        return 0;
    p += 3;
    p += strcspn(p, "/?#");
    return (size_t)(p - url);
}

void pg__frontier_init(struct pg__frontier *f, unsigned per_host,
                       long wait_ms, int random_wait)
{
    memset(f, 0, sizeof(*f));
    pg__nameset_init(&f->seen);
    f->per_host = per_host;
    f->wait_ms = wait_ms;
    f->random_wait = random_wait;
    f->spill.dirfd = -1;
    f->spill.fd = -1;
    f->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
             0x9e3779b97f4a7c15ULL;
}

void pg__frontier_release(struct pg__frontier *f)
{
    size_t i;

    for (i = 0; i < f->tab_cap; i++) {
        struct pg__host *h = f->tab[i], *next;

        for (; h; h = next) {
            struct pg__item *it, *inext;

            next = h->hnext;
            for (it = h->head; it; it = inext) {
                inext = it->next;
                pg__item_free(it);
            }
            for (it = h->bhead; it; it = inext) {
                inext = it->next;
                pg__item_free(it);
            }
            while (h->segs) {
                struct pg__seg *sg = h->segs;

                h->segs = sg->next;
                pg_free(sg);
            }
            pg__robots_free(h->robots);
            pg_free(h->origin);
            pg_free(h);
        }
    }
    PG_FREE(f->tab);
    while (f->n_heap > 0)
        pg__item_free(f->heap[--f->n_heap]);
    PG_FREE(f->heap);
    f->cap_heap = 0;
    pg__nameset_release(&f->seen);
    f->tab_cap = f->n_hosts = f->queued = 0;
    f->ready_head = f->ready_tail = NULL;
    if (f->spill.fd >= 0)
        close(f->spill.fd);
    f->spill.fd = -1;
    f->spill.on_disk = 0;
    f->mem = 0;
}

void pg__frontier_set_spill(struct pg__frontier *f, int dirfd,
                            uint64_t budget)
{
    f->spill.dirfd = dirfd;
    f->spill.budget = budget;
}

const char *pg__frontier_spill_error(const struct pg__frontier *f,
                                     int *err_no)
{
    *err_no = f->spill.err_no;
    return f->spill.err_what ? f->spill.err_what : "write";
}

int pg__frontier_see(struct pg__frontier *f, const char *url)
{
    uint64_t h = pg__hash64(url, strlen(url));
    uint32_t v;

    if (pg__nameset_get(&f->seen, h, &v))
        return 0;
    return pg__nameset_put(&f->seen, h, 1) == PG_OK ? 1 : -1;
}

static enum pg_code grow(struct pg__frontier *f)
{
    size_t cap = f->tab_cap ? f->tab_cap * 2 : 64, i;
    struct pg__host **tab = pg_calloc(cap, sizeof(*tab));

    if (!tab)
        return PG_E_NOMEM;
    for (i = 0; i < f->tab_cap; i++) {
        struct pg__host *h = f->tab[i], *next;

        for (; h; h = next) {
            next = h->hnext;
            h->hnext = tab[h->key & (cap - 1)];
            tab[h->key & (cap - 1)] = h;
        }
    }
    pg_free(f->tab);
    f->tab = tab;
    f->tab_cap = cap;
    return PG_OK;
}

static struct pg__host *host_for(struct pg__frontier *f, const char *url)
{
    size_t n = pg__url_origin_len(url);
    uint64_t key = pg__hash64(url, n);
    struct pg__host *h;

    if (f->tab_cap) {
        for (h = f->tab[key & (f->tab_cap - 1)]; h; h = h->hnext) {
            if (h->key == key && strlen(h->origin) == n &&
                !memcmp(h->origin, url, n))
                return h;
        }
    }
    if (f->n_hosts + 1 > f->tab_cap && grow(f))
        return NULL;
    h = pg_calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->origin = pg_strndup(url, n);
    if (!h->origin) {
        pg_free(h);
        return NULL;
    }
    h->key = key;
    h->hnext = f->tab[key & (f->tab_cap - 1)];
    f->tab[key & (f->tab_cap - 1)] = h;
    f->n_hosts++;
    return h;
}

static void make_ready(struct pg__frontier *f, struct pg__host *h)
{
    if (h->in_ready || (!h->head && !h->segs))
        return;
    h->in_ready = 1;
    h->rnext = NULL;
    if (f->ready_tail)
        f->ready_tail->rnext = h;
    else
        f->ready_head = h;
    f->ready_tail = h;
}

/* ---- spilling: runs of one origin's items in an append-only file --- */

static int spill_fail(struct pg__frontier *f, const char *what, int err)
{
    f->spill.err_what = what;
    f->spill.err_no = err ? err : EIO;
    return -1;
}

static enum pg_code spill_open(struct pg__frontier *f)
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

static enum pg_code pwrite_all(struct pg__frontier *f, const char *p,
                               size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(f->spill.fd, p, n, (off_t)off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            spill_fail(f, "write", w < 0 ? errno : ENOSPC);
            return PG_E_IO;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return PG_OK;
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
        size_t li = it->input_url ? strlen(it->input_url) : 0;
        size_t lr = it->referrer ? strlen(it->referrer) : 0;
        size_t need = sizeof(r) + lu + li + lr;

        if (n + need > cap) {
            size_t nc = cap ? cap * 2 : 64 * 1024;
            char *nb;

            while (nc < n + need)
                nc *= 2;
            nb = pg_realloc(buf, nc);
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
        r.line = it->line;
        r.magic = REC_MAGIC;
        r.len = (uint32_t)need;
        r.url_len = (uint32_t)lu;
        r.in_len = it->input_url ? (uint32_t)li : NO_STR;
        r.ref_len = it->referrer ? (uint32_t)lr : NO_STR;
        r.depth = it->depth;
        r.kind = (uint32_t)it->kind;
        r.flags = it->flags;
        r.attempts = it->attempts;
        r.crashes = it->crashes;
        memcpy(buf + n, &r, sizeof(r));
        memcpy(buf + n + sizeof(r), it->url, lu);
        if (li)
            memcpy(buf + n + sizeof(r) + lu, it->input_url, li);
        if (lr)
            memcpy(buf + n + sizeof(r) + lu + li, it->referrer, lr);
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
static enum pg_code spill_list(struct pg__frontier *f, struct pg__host *h,
                               struct pg__item *first, struct pg__seg **seg)
{
    struct pg__item *it, *next;
    uint64_t count;
    size_t len;
    enum pg_code rc;
    char *buf;

    *seg = pg_calloc(1, sizeof(**seg));
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
        f->mem -= item_cost(it);
        pg__item_free(it);
    }
    return PG_OK;
}

/*
 * Spill one origin: its items after the last one already tried go
 * before its runs on disk, the items after its runs go after them.
 */
static enum pg_code spill_host(struct pg__frontier *f, struct pg__host *h)
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
        if (it->attempts || it->crashes)
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

static enum pg_code spill_all(struct pg__frontier *f)
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

static enum pg_code pread_all(struct pg__frontier *f, char *p, size_t n,
                              uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(f->spill.fd, p, n, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            spill_fail(f, "read", r < 0 ? errno : EIO);
            return PG_E_IO;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return PG_OK;
}

/* One item from a record of n bytes at p (checked), or NULL. */
static struct pg__item *unserialise(struct pg__frontier *f,
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
    it->url = pg_strndup(p, r.url_len);
    if (r.in_len != NO_STR)
        it->input_url = pg_strndup(p + r.url_len, r.in_len);
    if (r.ref_len != NO_STR)
        it->referrer = pg_strndup(p + r.url_len + li, r.ref_len);
    if (!it->url || (r.in_len != NO_STR && !it->input_url) ||
        (r.ref_len != NO_STR && !it->referrer)) {
        pg__item_free(it);
        return NULL;
    }
    it->id = r.id;
    it->line = r.line;
    it->depth = r.depth;
    it->kind = (enum pg_kind)r.kind;
    it->flags = r.flags;
    it->attempts = r.attempts;
    it->crashes = r.crashes;
    it->host = (struct pg__host *)h;
    *rc = PG_OK;
    return it;
}

static void append(struct pg__frontier *f, struct pg__host *h,
                   struct pg__item *it)
{
    it->next = NULL;
    if (h->tail)
        h->tail->next = it;
    else
        h->head = it;
    h->tail = it;
    f->mem += item_cost(it);
}

/*
 * h has nothing in memory before its runs: read a batch of its first
 * run back (one read of at most LOAD_BUF bytes, at most LOAD_MAX items,
 * only one item while memory is over the budget).
 */
static enum pg_code load(struct pg__frontier *f, struct pg__host *h)
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
            append(f, h, it);
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

enum pg_code pg__frontier_push(struct pg__frontier *f, struct pg__item *it)
{
    struct pg__host *h = host_for(f, it->url);
    uint64_t cost = item_cost(it);

    if (!h)
        return PG_E_NOMEM;
    if (f->spill.budget && f->spill.dirfd >= 0 &&
        f->mem + cost > f->spill.budget) {
        enum pg_code rc = spill_all(f);

        if (rc)
            return rc;
    }
    it->host = h;
    it->next = NULL;
    if (h->segs) {
        if (h->btail)
            h->btail->next = it;
        else
            h->bhead = it;
        h->btail = it;
        f->mem += cost;
    } else {
        append(f, h, it);
    }
    f->queued++;
    make_ready(f, h);
    return PG_OK;
}

/* ---- deferred retries: a binary min-heap on not_before ------------- */

static void heap_swap(struct pg__frontier *f, size_t a, size_t b)
{
    struct pg__item *t = f->heap[a];

    f->heap[a] = f->heap[b];
    f->heap[b] = t;
}

enum pg_code pg__frontier_defer(struct pg__frontier *f, struct pg__item *it)
{
    size_t i;

    if (f->n_heap == f->cap_heap) {
        size_t cap = f->cap_heap ? f->cap_heap * 2 : 64;
        struct pg__item **h = pg_realloc(f->heap, cap * sizeof(*h));

        if (!h)
            return PG_E_NOMEM;
        f->heap = h;
        f->cap_heap = cap;
    }
    it->next = NULL;
    i = f->n_heap++;
    f->heap[i] = it;
    while (i > 0 && f->heap[(i - 1) / 2]->not_before > f->heap[i]->not_before) {
        heap_swap(f, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return PG_OK;
}

static struct pg__item *heap_pop(struct pg__frontier *f)
{
    struct pg__item *top = f->heap[0];
    size_t i = 0;

    f->heap[0] = f->heap[--f->n_heap];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < f->n_heap && f->heap[l]->not_before < f->heap[m]->not_before)
            m = l;
        if (r < f->n_heap && f->heap[r]->not_before < f->heap[m]->not_before)
            m = r;
        if (m == i)
            break;
        heap_swap(f, i, m);
        i = m;
    }
    return top;
}

/* Move due retries to the front of their origins' queues. */
static enum pg_code release_due(struct pg__frontier *f, double now)
{
    while (f->n_heap > 0 && f->heap[0]->not_before <= now) {
        struct pg__item *it = heap_pop(f);
        struct pg__host *h = host_for(f, it->url);

        if (!h) {
            pg__item_free(it);
            return PG_E_NOMEM;
        }
        it->host = h;
        it->next = h->head;
        h->head = it;
        if (!h->tail)
            h->tail = it;
        f->mem += item_cost(it);
        f->queued++;
        make_ready(f, h);
    }
    return PG_OK;
}

/* Free an item never tried (1), or hand a tried one to keep (0). */
static size_t drop(struct pg__item *it,
                   void (*keep)(struct pg__item *it, void *ud), void *ud)
{
    it->next = NULL;
    it->host = NULL;
    if (it->attempts > 0) {
        keep(it, ud);
        return 0;
    }
    pg__item_free(it);
    return 1;
}

size_t pg__frontier_clear(struct pg__frontier *f,
                          void (*keep)(struct pg__item *it, void *ud),
                          void *ud)
{
    size_t n = 0, i;

    while (f->n_heap > 0)
        n += drop(f->heap[--f->n_heap], keep, ud);
    for (i = 0; i < f->tab_cap; i++) {
        struct pg__host *h;

        for (h = f->tab[i]; h; h = h->hnext) {
            struct pg__item *it, *next;

            for (it = h->head; it; it = next) {
                next = it->next;
                n += drop(it, keep, ud);
            }
            for (it = h->bhead; it; it = next) {
                next = it->next;
                n += drop(it, keep, ud);
            }
            /* Only items never tried are spilled. */
            while (h->segs) {
                struct pg__seg *sg = h->segs;

                n += sg->count;
                h->segs = sg->next;
                pg_free(sg);
            }
            h->head = h->tail = h->bhead = h->btail = NULL;
            h->segs_tail = NULL;
            h->in_ready = 0;
        }
    }
    f->ready_head = f->ready_tail = NULL;
    f->queued = 0;
    f->mem = 0;
    f->spill.on_disk = 0;
    return n;
}

/* A factor in [0.5, 1.5) for --random-wait (xorshift64*). */
static double jitter(struct pg__frontier *f)
{
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return 0.5 + (double)((f->rng * 0x2545f4914f6cdd1dULL) >> 11) /
                 (double)(1ULL << 53);
}

static void started(struct pg__frontier *f, struct pg__host *h, double now)
{
    double w = (double)f->wait_ms / 1000.0;

    if (f->random_wait)
        w *= jitter(f);
    h->active++;
    h->next_start = now + w;
}

static struct pg__item *robots_item(struct pg__host *h, enum pg_code *err)
{
    struct pg__item *it = pg__item_new();
    size_t n = strlen(h->origin);

    if (!it)
        goto nomem;
    it->url = pg_malloc(n + sizeof("/robots.txt"));
    it->input_url = it->url ? pg_strdup(h->origin) : NULL;
    if (!it->url || !it->input_url)
        goto nomem;
    memcpy(it->url, h->origin, n);
    memcpy(it->url + n, "/robots.txt", sizeof("/robots.txt"));
    it->flags = PG_ITEM_ROBOTS;
    it->host = h;
    return it;
nomem:
    pg__item_free(it);
    *err = PG_E_NOMEM;
    return NULL;
}

/* Take the head item of h, or a robots fetch, or NULL if held back. */
static struct pg__item *take(struct pg__frontier *f, struct pg__host *h,
                             double now, double *wake, enum pg_code *err)
{
    struct pg__item *it;
    int robots_needed;

    if (!h->head && h->segs) {
        *err = load(f, h);
        if (*err)
            return NULL;
    }
    it = h->head;
    if (!it)
        return NULL;
    robots_needed = it->flags & PG_ITEM_ROBOTS_CHECK;

    if (robots_needed && h->robots_state == ROBOTS_READY) {
        const char *path = it->url + strlen(h->origin);

        if (h->robots && !pg__robots_allowed(h->robots,
                                             *path ? path : "/")) {
            /* Recorded, never fetched: no limit or wait applies. */
            h->head = it->next;
            if (!h->head)
                h->tail = NULL;
            it->next = NULL;
            it->host = NULL; /* never started: done() is a no-op */
            f->queued--;
            f->mem -= item_cost(it);
            pg__item_error(it, PG_ST_ROBOTS, "disallowed by %s/robots.txt",
                           h->origin);
            return it;
        }
    }
    if ((it->flags & PG_ITEM_NOFETCH) &&
        (!robots_needed || h->robots_state == ROBOTS_READY)) {
        /* Listed, not fetched: no limit or wait applies. */
        h->head = it->next;
        if (!h->head)
            h->tail = NULL;
        it->next = NULL;
        it->host = NULL;
        f->queued--;
        f->mem -= item_cost(it);
        return it;
    }
    if ((f->per_host && h->active >= f->per_host) ||
        (robots_needed && h->robots_state == ROBOTS_PENDING))
        return NULL;
    if (now < h->next_start) {
        if (*wake == 0 || h->next_start < *wake)
            *wake = h->next_start;
        return NULL;
    }
    if (robots_needed && h->robots_state == ROBOTS_UNKNOWN) {
        unsigned public_only = it->flags & PG_ITEM_PUBLIC_ONLY;

        it = robots_item(h, err);
        if (!it)
            return NULL;
        /* The robots.txt fetch may not reach what the link may not. */
        it->flags |= public_only;
        h->robots_state = ROBOTS_PENDING;
        started(f, h, now);
        return it;
    }
    h->head = it->next;
    if (!h->head)
        h->tail = NULL;
    it->next = NULL;
    f->queued--;
    f->mem -= item_cost(it);
    started(f, h, now);
    return it;
}

struct pg__item *pg__frontier_pop(struct pg__frontier *f, double now,
                                  double *wake, enum pg_code *err)
{
    struct pg__host *h, *first = NULL;

    *wake = 0;
    *err = PG_OK;
    if (release_due(f, now)) {
        *err = PG_E_NOMEM;
        return NULL;
    }
    /* Visit each ready origin at most once, rotating the list. */
    while ((h = f->ready_head) != NULL && h != first) {
        struct pg__item *it;

        f->ready_head = h->rnext;
        if (!f->ready_head)
            f->ready_tail = NULL;
        h->in_ready = 0;
        it = take(f, h, now, wake, err);
        make_ready(f, h);
        if (it || *err)
            return it;
        if (!first)
            first = h;
    }
    if (f->n_heap > 0 && (*wake == 0 || f->heap[0]->not_before < *wake))
        *wake = f->heap[0]->not_before;
    return NULL;
}

void pg__frontier_done(struct pg__frontier *f, struct pg__item *it)
{
    struct pg__host *h = it->host;

    (void)f;
    if (h && h->active > 0)
        h->active--;
    it->host = NULL;
}

void pg__frontier_set_robots(struct pg__frontier *f,
                             const struct pg__item *robots_item_done,
                             struct pg__robots *rules)
{
    struct pg__host *h = robots_item_done->host;

    if (!h) {
        pg__robots_free(rules);
        return;
    }
    pg__robots_free(h->robots);
    h->robots = rules;
    h->robots_state = ROBOTS_READY;
    make_ready(f, h);
}

size_t pg__frontier_queued(const struct pg__frontier *f)
{
    return f->queued + f->n_heap;
}
