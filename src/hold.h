/*
 * hold.h - origins a server asked to leave alone for a while (a 429 or
 * 503 with Retry-After), as every worker of this instance sees them.
 *
 * The frontier holds such an origin for the transfers it hands out
 * later; this table covers those already handed out: the pool keeps a
 * few items queued per worker, and a worker that got the 429 would
 * otherwise start the next item of the same origin before the main
 * thread heard of it.  A worker notes the hold at the end of the
 * transfer (pg__holds_note), and before starting an item asks whether
 * its origin is held (pg__holds_active): if so the item goes back to the
 * main thread unstarted (PG_ITEM_RECALLED) and waits in the frontier.
 *
 * The table lives in a shared anonymous mapping made before the worker
 * processes are forked, so the threads or processes of one job share
 * it; its slots are lock-free atomics.  It is small (HOLD_SLOTS origins
 * at once, by a 64-bit hash of the origin): when more are held, the one
 * that ends first is forgotten (the frontier still holds it).  The
 * clock is CLOCK_MONOTONIC, the same in every process.
 */
#ifndef PG_HOLD_H
#define PG_HOLD_H

#include "item.h"

struct pg__holds;

/* A table whose holds are capped at cap_ms; NULL on failure. */
struct pg__holds *pg__holds_new(long cap_ms);
void pg__holds_free(struct pg__holds *h);

/* url's origin is held for ms (at most the cap) from now. */
void pg__holds_set(struct pg__holds *h, const char *url, long ms);

/* 1 if url's origin is held now. */
int pg__holds_active(const struct pg__holds *h, const char *url);

/* A transfer ended: a 429 or 503 with Retry-After holds its origin. */
void pg__holds_note(struct pg__holds *h, const struct pg__item *it);

/* Whether a finished transfer asks for a hold: its length in ms (at
 * most cap_ms), or 0. */
long pg__holds_asked(const struct pg__item *it, long cap_ms);

#endif
