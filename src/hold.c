/*
 * hold.c - see hold.h.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "hold.h"
#include "url.h"
#include "util.h"

#define HOLD_SLOTS 64

struct slot {
    _Atomic uint64_t key;    /* origin hash | 1; 0 = never used */
    _Atomic int64_t until;   /* microseconds on CLOCK_MONOTONIC */
};

struct pg__holds {
    long cap_ms;
    struct slot s[HOLD_SLOTS];
};

static int64_t now_us(void)
{
    return (int64_t)(pg__now() * 1e6);
}

/* The hash of url's origin ("scheme://host:port"), never 0. */
static uint64_t origin_key(const char *url)
{
    const char *p = strstr(url, "://");
    size_t n = 0;

    if (p) {
        p += 3;
        n = (size_t)(p + strcspn(p, "/?#") - url);
    }
    return pg__hash64(url, n) | 1;
}

struct pg__holds *pg__holds_new(long cap_ms)
{
    struct pg__holds *h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (h == MAP_FAILED)
        return NULL;
    /* A fresh mapping is zeroed: every slot unused. */
    h->cap_ms = cap_ms;
    return h;
}

void pg__holds_free(struct pg__holds *h)
{
    if (h)
        munmap(h, sizeof(*h));
}

void pg__holds_set(struct pg__holds *h, const char *url, long ms)
{
    uint64_t k = origin_key(url);
    int64_t until, t, oldest = INT64_MAX;
    struct slot *victim = &h->s[0];
    size_t i;

    if (ms > h->cap_ms)
        ms = h->cap_ms;
    if (ms <= 0)
        return;
    until = now_us() + (int64_t)ms * 1000;
    for (i = 0; i < HOLD_SLOTS; i++) {
        struct slot *s = &h->s[i];

        if (atomic_load(&s->key) == k)
            break;
        t = atomic_load(&s->until);
        if (t < oldest) {
            oldest = t;
            victim = s;
        }
    }
    if (i == HOLD_SLOTS) {
        /* Two workers may take the same slot at once: one hold is then
         * lost here (the frontier still has it). */
        atomic_store(&victim->until, 0);
        atomic_store(&victim->key, k);
        i = (size_t)(victim - h->s);
    }
    t = atomic_load(&h->s[i].until);
    while (t < until &&
           !atomic_compare_exchange_weak(&h->s[i].until, &t, until))
        ;
}

int pg__holds_active(const struct pg__holds *h, const char *url)
{
    uint64_t k = origin_key(url);
    int64_t now = now_us();
    size_t i;

    for (i = 0; i < HOLD_SLOTS; i++) {
        if (atomic_load(&h->s[i].key) == k)
            return atomic_load(&h->s[i].until) > now;
    }
    return 0;
}

long pg__holds_asked(const struct pg__item *it, long cap_ms)
{
    long ms = it->retry_after_ms;

    if (ms <= 0 || (it->res.http_code != 429 && it->res.http_code != 503))
        return 0;
    return ms > cap_ms ? cap_ms : ms;
}

void pg__holds_note(struct pg__holds *h, const struct pg__item *it)
{
    long ms = pg__holds_asked(it, h->cap_ms);

    if (ms > 0)
        pg__holds_set(h, it->url, ms);
}
