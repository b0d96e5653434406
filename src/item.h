/*
 * item.h - struct pg__item, one URL travelling through the pool.
 *
 * The main thread creates an item, the pool owns it from submit until
 * it is handed back, and a worker fills in the result part (fetch.c).
 * Every string is owned by the item and freed by pg__item_free().
 */
#ifndef PG_ITEM_H
#define PG_ITEM_H

#include <stddef.h>
#include <stdint.h>

struct pg__host;

#include "extract.h"
#include "pagegrab.h"

#define PG_ITEM_ERR_MAX 256

enum pg__item_flags {
    PG_ITEM_PARSE = 1 << 0,        /* parse the body if it is HTML */
    PG_ITEM_HTML = 1 << 1,         /* set by the worker: it was HTML */
    PG_ITEM_ROBOTS = 1 << 2,       /* a robots.txt fetch, not recorded */
    PG_ITEM_ROBOTS_CHECK = 1 << 3, /* a discovered link: robots apply */
    PG_ITEM_NOFETCH = 1 << 4,      /* --list: recorded once allowed */
    PG_ITEM_IMAGE = 1 << 5,        /* an image link: HTML is a mismatch */
    PG_ITEM_PUBLIC_ONLY = 1 << 6,  /* refuse private addresses */
    PG_ITEM_PRIVATE_IP = 1 << 7,   /* set by the worker: it connected to
                                      a private address */
    PG_ITEM_CANCELLED = 1 << 8,    /* handed back unstarted (stopping) */
    PG_ITEM_COUNTED = 1 << 9,      /* counted against --max-pages */
    PG_ITEM_ALONE = 1 << 10,       /* process mode, K > 1: a crash suspect,
                                      run in a worker running nothing else */
    PG_ITEM_HEADERS = 1 << 11,     /* on an input origin: send --header
                                      lines there (not to other origins a
                                      redirect leads to) */
    PG_ITEM_GUARD = 1 << 12,       /* may use a private address only if
                                      the first one it used was private */
    PG_ITEM_IN_CALLBACK = 1 << 13, /* its result callback is running:
                                      pg_result_save/fail may change it */
    PG_ITEM_PERMANENT = 1 << 14,   /* set by the worker: a failure no
                                      retry can fix (a refused TLS
                                      certificate): not retried */
    PG_ITEM_LEASED = 1 << 15,      /* claimed from a shared frontier: its
                                      lease is held until complete() */
    PG_ITEM_CSS = 1 << 19,         /* a stylesheet (--images): parsed as
                                      CSS; HTML is a mismatch */
    PG_ITEM_RECALLED = 1 << 20,    /* handed back unstarted: its origin
                                      is held (hold.h); queued again */
    PG_ITEM_COND = 1 << 21         /* --update: requested with the
                                      validators below; a 304 is
                                      unchanged (update.c) */
};

/*
 * A stylesheet's nesting, kept in its flags (so that it travels with the
 * item to workers and spill files): 1 for one a page links to, 2 for one
 * that stylesheet @imports, and so on up to PG_CSS_NEST_MAX.
 */
#define PG_ITEM_NEST_SHIFT 16
#define PG_ITEM_NEST_MASK (7u << PG_ITEM_NEST_SHIFT)
#define PG_CSS_NEST_MAX 5u

/* The id bit of items the frontier makes (robots.txt fetches): a pool
 * matches results by id, so they must never meet an input's or link's. */
#define PG__ID_OWN (1ULL << 63)

struct pg__item {
    struct pg__item *next;  /* queue link, owned by whoever holds it */
    uint64_t id;            /* unique within the job: inputs and links
                               count up from 0; items the frontier makes
                               itself (robots.txt) have PG__ID_OWN set */

    /*
     * The result, in the one shape the result callback sees: the main
     * thread sets url (the input URL as given, trimmed), line, kind,
     * depth, referrer and job; the worker fills in the rest; the saver
     * sets path and duplicate_of.  Every string in it is owned by the
     * item (pg__item_free frees them); error and hash point into the
     * buffers below or are NULL.
     */
    struct pg_result res;

    /* Set by the main thread. */
    char *url;              /* normalised, what is fetched */
    unsigned flags;         /* enum pg__item_flags */
    struct pg__host *host;  /* the frontier's origin, main side only */
    double not_before;      /* a retry waits until then (monotonic) */
    unsigned crashes;       /* worker processes lost with this item */
    unsigned claims;        /* shared frontier: leases taken so far
                               (1 = first); main side only */
    /* --update (set by update.c when the item is handed to the pool,
     * read by the worker, sent in the JOB frame): the recorded copy's
     * validators, its path in the output directory (a page's links are
     * read from it on a 304) and its content type; NULL if none. */
    char *cond_etag, *cond_lm, *cond_path, *cond_ctype;

    /* Set by the worker. */
    char hash[65];          /* SHA-256 hex of the body, or "" */
    long retry_after_ms;    /* from a Retry-After header, or -1 */
    struct pg__links links; /* found on the page (PG_ITEM_PARSE) */
    char error[PG_ITEM_ERR_MAX];
};

/* A new empty item; NULL on out of memory. */
struct pg__item *pg__item_new(void);
void pg__item_free(struct pg__item *it);

/* Forget the result part (before a retry or after a crash). */
void pg__item_reset_result(struct pg__item *it);
/*
 * A copy of an ETag or Last-Modified value (n bytes, blanks around it
 * trimmed), or NULL when it is empty, longer than PG_VALIDATOR_MAX or
 * holds a byte that is not printable ASCII (or when out of memory).
 */
char *pg__validator_dupn(const char *s, size_t n);
char *pg__validator_dup(const char *s);   /* NULL -> NULL */
/* Free the cond_* strings and drop PG_ITEM_COND. */
void pg__item_cond_clear(struct pg__item *it);

/* "1.0", "1.1", "2", "3" for CURLINFO_HTTP_VERSION's 10, 11, 20, 30
 * (a static string); NULL for 0 or a value not listed. */
const char *pg__http_version_name(unsigned v);
/* The same static string for one read from the wire, or NULL. */
const char *pg__http_version_intern(const char *s);

/* The item a result is embedded in. */
#define pg__item_of(r) \
    ((struct pg__item *)(void *)((char *)(r) - offsetof(struct pg__item, res)))

/* Free a string the result points to (the item owns it). */
#define PG_FREE_CONST(p) do { pg_free((void *)(p)); (p) = NULL; } while (0)

/* Set it->error (and it->res.error) from a format (truncated to fit). */
void pg__item_error(struct pg__item *it, enum pg_status st,
                    const char *fmt, ...) PG_PRINTF(3, 4);

#endif
