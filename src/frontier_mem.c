/*
 * frontier_mem.c - see frontier_mem.h.
 *
 * This file: the per-origin FIFO queues served round robin, the
 * --per-host limit, --wait and Crawl-delay, robots.txt and Retry-After
 * holds, and deferred retries.  The
 * spill file is in frontier_spill.c; struct pg__host in frontier_host.h.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontier_mem.h"
#include "frontier_host.h"
#include "mem.h"
#include "url.h"

uint64_t pg__memfr_item_cost(const struct pg__item *it)
{
    uint64_t n = sizeof(*it) + 16;

    if (it->url)
        n += strlen(it->url) + 17;
    if (it->res.url)
        n += strlen(it->res.url) + 17;
    if (it->res.referrer)
        n += strlen(it->res.referrer) + 17;
    return n;
}

void pg__memfr_append(struct pg__memfr *f, struct pg__host *h,
                         struct pg__item *it)
{
    it->next = NULL;
    if (h->tail)
        h->tail->next = it;
    else
        h->head = it;
    h->tail = it;
    f->mem += pg__memfr_item_cost(it);
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

void pg__memfr_init(struct pg__memfr *f, unsigned per_host,
                       long wait_ms, int random_wait)
{
    memset(f, 0, sizeof(*f));
    pg__nameset_init_keys(&f->seen);
    f->per_host = per_host;
    f->wait_ms = wait_ms;
    f->random_wait = random_wait;
    f->spill.dirfd = -1;
    f->spill.fd = -1;
    f->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
             0x9e3779b97f4a7c15ULL;
}

void pg__memfr_release(struct pg__memfr *f)
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

void pg__memfr_set_spill(struct pg__memfr *f, int dirfd,
                            uint64_t budget)
{
    f->spill.dirfd = dirfd;
    f->spill.budget = budget;
}

const char *pg__memfr_spill_error(const struct pg__memfr *f,
                                     int *err_no)
{
    *err_no = f->spill.err_no;
    return f->spill.err_what ? f->spill.err_what : "write";
}

int pg__memfr_see(struct pg__memfr *f, const char *url)
{
    uint64_t h = pg__hash64(url, strlen(url));
    uint32_t v;

    if (pg__nameset_get(&f->seen, h, &v))
        return 0;
    return pg__nameset_put(&f->seen, h, 1) == PG_OK ? 1 : -1;
}

static enum pg_code grow(struct pg__memfr *f)
{
    size_t cap = f->tab_cap ? f->tab_cap * 2 : 64, i;
    struct pg__host **tab = pg__calloc(cap, sizeof(*tab));

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

static struct pg__host *host_for(struct pg__memfr *f, const char *url)
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
    h = pg__calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->origin = pg__strndup(url, n);
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

static void make_ready(struct pg__memfr *f, struct pg__host *h)
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

enum pg_code pg__memfr_push(struct pg__memfr *f, struct pg__item *it)
{
    struct pg__host *h = host_for(f, it->url);
    uint64_t cost = pg__memfr_item_cost(it);

    if (!h)
        return PG_E_NOMEM;
    if (f->spill.budget && f->spill.dirfd >= 0 &&
        f->mem + cost > f->spill.budget) {
        enum pg_code rc = pg__memfr_spill_all(f);

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
        pg__memfr_append(f, h, it);
    }
    f->queued++;
    make_ready(f, h);
    return PG_OK;
}

/* ---- deferred retries: a binary min-heap on not_before ------------- */

static void heap_swap(struct pg__memfr *f, size_t a, size_t b)
{
    struct pg__item *t = f->heap[a];

    f->heap[a] = f->heap[b];
    f->heap[b] = t;
}

enum pg_code pg__memfr_defer(struct pg__memfr *f, struct pg__item *it)
{
    size_t i;

    if (f->n_heap == f->cap_heap) {
        size_t cap = f->cap_heap ? f->cap_heap * 2 : 64;
        struct pg__item **h = pg__realloc(f->heap, cap * sizeof(*h));

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

static struct pg__item *heap_pop(struct pg__memfr *f)
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
static enum pg_code release_due(struct pg__memfr *f, double now)
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
        f->mem += pg__memfr_item_cost(it);
        f->queued++;
        make_ready(f, h);
    }
    return PG_OK;
}

/* Free an item never tried (1), or hand a tried one to keep (0). */
static size_t drop(struct pg__memfr *f, struct pg__item *it,
                   void (*keep)(struct pg__item *it, void *ud), void *ud)
{
    it->next = NULL;
    it->host = NULL;
    if (it->res.attempts > 0) {
        keep(it, ud);
        return 0;
    }
    if (f->on_drop)
        f->on_drop(it, f->drop_ud);
    pg__item_free(it);
    return 1;
}

size_t pg__memfr_clear(struct pg__memfr *f,
                          void (*keep)(struct pg__item *it, void *ud),
                          void *ud)
{
    size_t n = 0, i;

    while (f->n_heap > 0)
        n += drop(f, f->heap[--f->n_heap], keep, ud);
    for (i = 0; i < f->tab_cap; i++) {
        struct pg__host *h;

        for (h = f->tab[i]; h; h = h->hnext) {
            struct pg__item *it, *next;

            for (it = h->head; it; it = next) {
                next = it->next;
                n += drop(f, it, keep, ud);
            }
            for (it = h->bhead; it; it = next) {
                next = it->next;
                n += drop(f, it, keep, ud);
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
static double jitter(struct pg__memfr *f)
{
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return 0.5 + (double)((f->rng * 0x2545f4914f6cdd1dULL) >> 11) /
                 (double)(1ULL << 53);
}

/*
 * The gap to the next start: --wait (jittered), at least Crawl-delay.
 * It runs from this start and again from this request's end (done()): a
 * popped item may wait in a worker's queue before it starts, so only a
 * gap after the end holds at the server.  A host with a gap has one
 * request at a time, as wget's --wait ("between retrievals").
 */
static void started(struct pg__memfr *f, struct pg__host *h, double now)
{
    double w = (double)f->wait_ms / 1000.0;

    if (f->random_wait)
        w *= jitter(f);
    if ((double)h->delay_ms / 1000.0 > w)
        w = (double)h->delay_ms / 1000.0;
    h->active++;
    h->last_start = now;
    h->gap = w;
    if (now + w > h->next_start)
        h->next_start = now + w;
}

/* A host whose requests are spaced: one at a time. */
static int spaced(const struct pg__memfr *f, const struct pg__host *h)
{
    return f->wait_ms > 0 || h->delay_ms > 0;
}

static struct pg__item *robots_item(struct pg__memfr *f, struct pg__host *h,
                                    enum pg_code *err)
{
    struct pg__item *it = pg__item_new();
    size_t n = strlen(h->origin);

    if (!it)
        goto nomem;
    it->url = pg_malloc(n + sizeof("/robots.txt"));
    it->res.url = it->url ? pg__strdup(h->origin) : NULL;
    if (!it->url || !it->res.url)
        goto nomem;
    memcpy(it->url, h->origin, n);
    memcpy(it->url + n, "/robots.txt", sizeof("/robots.txt"));
    it->flags = PG_ITEM_ROBOTS;
    it->id = PG__ID_OWN | ++f->own_ids;
    it->host = h;
    return it;
nomem:
    pg__item_free(it);
    *err = PG_E_NOMEM;
    return NULL;
}

/* Take the head item of h, or a robots fetch, or NULL if held back. */
static struct pg__item *take(struct pg__memfr *f, struct pg__host *h,
                             double now, double *wake, enum pg_code *err)
{
    struct pg__item *it;
    int robots_needed;

    if (!h->head && h->segs) {
        *err = pg__memfr_load(f, h);
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
            f->mem -= pg__memfr_item_cost(it);
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
        f->mem -= pg__memfr_item_cost(it);
        return it;
    }
    if ((f->per_host && h->active >= f->per_host) ||
        (spaced(f, h) && h->active > 0) ||
        (robots_needed && h->robots_state == ROBOTS_PENDING))
        return NULL;
    if (now < h->next_start) {
        if (*wake == 0 || h->next_start < *wake)
            *wake = h->next_start;
        return NULL;
    }
    if (robots_needed && h->robots_state == ROBOTS_UNKNOWN) {
        unsigned public_only = it->flags & PG_ITEM_PUBLIC_ONLY;

        it = robots_item(f, h, err);
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
    f->mem -= pg__memfr_item_cost(it);
    started(f, h, now);
    return it;
}

struct pg__item *pg__memfr_pop(struct pg__memfr *f, double now,
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

void pg__memfr_done(struct pg__memfr *f, struct pg__item *it, double now)
{
    struct pg__host *h = it->host;

    (void)f;
    if (h && h->active > 0)
        h->active--;
    if (h && h->gap > 0) {
        double next = now + h->gap;

        if (next > h->next_start)
            h->next_start = next;
    }
    it->host = NULL;
}

void pg__memfr_set_robots(struct pg__memfr *f,
                             const struct pg__item *robots_item_done,
                             struct pg__robots *rules, double now)
{
    struct pg__host *h = robots_item_done->host;

    if (!h) {
        pg__robots_free(rules);
        return;
    }
    pg__robots_free(h->robots);
    h->robots = rules;
    h->robots_state = ROBOTS_READY;
    /* The robots.txt fetch was a request too: the gap runs from its
     * end (now). */
    h->delay_ms = rules ? pg__robots_crawl_delay_ms(rules) : 0;
    if (now + (double)h->delay_ms / 1000.0 > h->next_start)
        h->next_start = now + (double)h->delay_ms / 1000.0;
    make_ready(f, h);
}

long pg__memfr_delay_ms(const struct pg__item *it)
{
    return it->host ? it->host->delay_ms : 0;
}

enum pg_code pg__memfr_hold(struct pg__memfr *f, const char *url,
                            double until)
{
    struct pg__host *h = host_for(f, url);

    if (!h)
        return PG_E_NOMEM;
    if (until > h->next_start)
        h->next_start = until;
    return PG_OK;
}

size_t pg__memfr_queued(const struct pg__memfr *f)
{
    return f->queued + f->n_heap;
}

