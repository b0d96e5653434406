/*
 * fetch.h - one worker's libcurl transfer engine.
 *
 * A struct pg__fetcher owns K transfer slots, each with a CURL easy
 * handle reused for every URL it fetches so connections are kept alive.
 * It belongs to one thread (thread mode) or to one worker process; it is
 * never created in a process that will fork afterwards.
 *
 * With K = 1 the worker is blocking: pg__fetch() runs one transfer with
 * curl_easy_perform().  With K > 1 the slots live in one libcurl multi
 * handle (connection cache and HTTP/2 multiplexing shared by the
 * worker's transfers; events.h: polled when K < PG_EVENTS_FROM, else
 * driven by epoll):
 * pg__fetch_start() adds a transfer, pg__fetch_poll()
 * waits for network activity (and for the caller's own descriptors), and
 * pg__fetch_run() advances every transfer and hands back the finished
 * ones.  Neither can fail: every outcome is recorded in the item.
 *
 * Only http and https are allowed, also after a redirect; compressed
 * encodings are accepted; the body is streamed into a spool file in the
 * output directory and deleted again unless the transfer succeeded.  Its
 * SHA-256 is computed on the way.  An item flagged PG_ITEM_PARSE whose
 * body is HTML is parsed here, in the worker, and its links kept in the
 * item.
 */
#ifndef PG_FETCH_H
#define PG_FETCH_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>

#include <openssl/evp.h>

#include "events.h"
#include "extract.h"
#include "item.h"
#include "jar.h"
#include "log.h"

/* Settings shared read-only by every fetcher of a job. */
struct pg__fetch_config {
    long connect_timeout_ms;
    long timeout_ms;
    long stall_s;
    long min_rate;                /* bytes/s that --stall checks for */
    long max_redirs;
    const char *user_agent;
    struct curl_slist *headers;  /* owned by the job */
    int referer;                  /* send an item's referrer as Referer */
    /* Proxies (proxy.h), owned by the job; NULL: none. */
    const char *proxy_http;       /* for http URLs */
    const char *proxy_https;      /* for https URLs */
    const char *no_proxy;         /* hosts reached directly */
    int outdir_fd;
    const struct pg__logger *log;
    const struct pg__extract_config *extract; /* NULL: never parse */
    uint64_t max_size;            /* body bytes, 0 = no limit */
    int hash;                     /* compute the SHA-256 of bodies */
    int sync;                     /* fsync each body before it is kept */
    atomic_int *abort_flag;       /* non-zero: abort transfers now */
    /* Process mode: the worker's socket to its parent.  While a transfer
     * runs it is looked at (at most every 100 ms); a hang-up sets
     * *abort_flag and aborts the transfer.  watch_parent 0: not used. */
    int watch_parent;
    int parent_fd;
    CURLSH *share;                /* DNS and TLS session cache (and the
                                     cookies of jar), or NULL */
    struct pg__jar *jar;          /* the jar behind share, or NULL */
    const char *ca_file;          /* --ca-certificate, or NULL */
    const char *proxy_ca_file;    /* --proxy-ca-certificate, or NULL */
    int no_verify;                /* --no-check-certificate */
    struct pg__holds *holds;      /* origins held by a Retry-After
                                     (hold.h), shared; NULL: none */
    unsigned window;              /* multi: transfers a fetcher starts
                                     with, grown toward its K while it
                                     waits on the network (see "the
                                     window" in fetch.c); 0 or >= K: K */
};

/* An error page (non-2xx) is never kept; no more than this is read. */
#define PG_ERROR_BODY_MAX (1u << 20)

/* Response headers larger than this (all lines) stop the transfer. */
#define PG_HEADER_MAX (256u * 1024)

/* Bytes of a page read for parsing; the rest is saved but not parsed
 * (a recorded cut: links_truncated). */
#define PG_PARSE_MAX PG_EXTRACT_MAX_BYTES
/* Bytes kept from the start of a body to sniff HTML. */
#define PG_SNIFF 512

struct pg__fetcher;

/* A fetcher that may run this many transfers at once or more (K, not
 * its window) has them driven by events rather than polled (events.h):
 * at 2 x 128 against a server 50 ms away events took 23-32 % less CPU;
 * polling 16 at once from a near server took 4 % less. */
#define PG_EVENTS_FROM 32

/* Responses whose time to first byte the window remembers (fetch.c). */
#define PG_WINDOW_SAMPLES 32

/* One transfer slot: an easy handle and the state of its transfer. */
struct pg__xfer {
    struct pg__fetcher *f;
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];
    EVP_MD_CTX *md;                /* SHA-256 of the body */
    struct pg__xfer *next_free;

    /* Per transfer. */
    struct pg__item *it;  /* the item being fetched, NULL when idle */
    int fd;
    int discard;         /* non-2xx response: body not kept */
    uint64_t discarded;  /* bytes of it read */
    uint64_t bytes;
    int write_errno;
    char sniff[PG_SNIFF];
    size_t sniff_len;
    size_t header_bytes;
    int too_large;        /* body or headers over the limit */
    int blocked;          /* refused a private address */
    long retry_after_ms;  /* of the last response, or -1 */
    int got_cookie;       /* a response of the transfer set cookies */
    int proxied;          /* the current hop goes through a proxy */
    int refused;          /* its target is refused: no request */
    int first_addr;       /* enum pg__addr: the first address used */
    /* Redirects followed here, not by libcurl (PG_ITEM_HEADERS), so that
     * the custom headers stay on the item's origin. */
    int manual;
    long hops;
    char *origin;         /* the item's origin; headers only there */
    double t0;            /* start, for --timeout over all hops */
    curl_off_t time_us;   /* of the hops before the current one */
    /* --update (fetch_cond.c): the request's header lists with the
     * validators (with --header lines / alone), and the last response's
     * ETag and Last-Modified. */
    struct curl_slist *cond_own, *cond_other;
    int cond_sent;         /* the validators went with the request */
    char *etag, *last_modified;
};

struct pg__fetcher {
    const struct pg__fetch_config *cfg;
    unsigned worker;     /* index, for spool names and logs */
    pid_t pid;           /* for spool names */
    uint64_t seq;        /* spool name counter */
    struct pg__extractor *x;       /* created on first use */
    int x_failed;

    unsigned k;                    /* slots */
    unsigned ready;                /* slots [0, ready) are made */
    struct pg__xfer *slots;
    struct pg__xfer *free_slots;   /* idle ones (multi) */
    unsigned active;               /* transfers in the multi handle */
    unsigned window;   /* multi: transfers allowed at once now, <= k */
    double period_t0;   /* since when the window has been full, 0: not */
    double blocked;     /* seconds of that blocked in pg__fetch_poll() */
    /* What the window needs (Little's law): the server's time to first
     * byte, the smallest of the last PG_WINDOW_SAMPLES responses, and
     * the worker's own time per transfer (reading, writing, parsing). */
    double ttfb[PG_WINDOW_SAMPLES];
    unsigned n_ttfb;
    double busy;        /* seconds in pg__fetch_run() ... */
    uint64_t finished;  /* ... over this many finished transfers */
    double watched;                /* last look at cfg->parent_fd */
    int multi;                     /* K > 1: ev holds a multi handle */
    struct pg__events ev;          /* the multi handle (events.h) */
};

/*
 * Inside the fetch module only (fetch_opts.c, for fetch.c): make slot
 * x's easy handle and digest context for fetcher f, with every option
 * and callback set (PG_E_NOMEM if either cannot be made), and free them
 * again (also on a slot pg__xfer_init() failed on).
 */
enum pg_code pg__xfer_init(struct pg__xfer *x, struct pg__fetcher *f);
void pg__xfer_release(struct pg__xfer *x);

/*
 * fetch_cond.c, for fetch.c and fetch_opts.c: a response header line
 * (ETag, Last-Modified kept); the validators of it for slot x (before
 * the first hop) and the header list of a hop (mine: on the item's
 * origin); after classify(): the validators into the result, and a 304
 * of a PG_ITEM_COND item made PG_ST_UNCHANGED (a page parsed from its
 * saved copy); freeing the lists.
 */
void pg__cond_on_header(struct pg__xfer *x, const char *data, size_t n);
void pg__cond_begin(struct pg__xfer *x, struct pg__item *it);
struct curl_slist *pg__cond_headers(struct pg__xfer *x, int mine);
void pg__cond_end(struct pg__xfer *x, struct pg__item *it);
void pg__cond_release(struct pg__xfer *x);
/* fetch.c: parse the body in x->fd (it->res.bytes long, x->sniff its
 * start) as its item asks (a page or a stylesheet). */
void pg__fetch_parse(struct pg__xfer *x, struct pg__item *it);

/*
 * 1 if ip (text) is loopback, private, link-local, site-local or
 * unspecified, also when embedded in an IPv6 address (::ffff:0:0/96,
 * NAT64 64:ff9b::/96, ::/96, 6to4 2002::/16); 1 for text that is no
 * address.
 */
int pg__ip_is_private(const char *ip);

/* What a transfer connected to first. */
enum pg__addr { PG_ADDR_NONE = 0, PG_ADDR_PRIVATE, PG_ADDR_PUBLIC };

/*
 * Whether a transfer of an item with flags may use address ip (text;
 * NULL: not an IP address).  *first is the transfer's enum pg__addr,
 * set by the first call: PG_ITEM_PUBLIC_ONLY refuses every private
 * address, PG_ITEM_GUARD one after a public first address (a public URL
 * redirected to a private one); without either, all are allowed.
 */
int pg__addr_allowed(unsigned flags, int *first, const char *ip);

/*
 * The target of url, reached through a proxy (proxy.h): 1 if every
 * address its host resolves to here is allowed for an item with flags
 * (pg__addr_allowed, *first as there; a host that does not resolve is
 * judged as a private address), else 0.
 */
int pg__proxy_target_ok(unsigned flags, int *first, const char *url);

/*
 * Create the K slots (and the multi handle when K > 1).  PG_E_NOMEM.
 * On failure nothing is left to release.
 */
enum pg_code pg__fetcher_init(struct pg__fetcher *f,
                              const struct pg__fetch_config *cfg,
                              unsigned worker, unsigned k) PG_WARN_UNUSED;

void pg__fetcher_release(struct pg__fetcher *f);

/* Blocking (any K): fetch it->url into a spool file; fills the result. */
void pg__fetch(struct pg__fetcher *f, struct pg__item *it);

/* Multi (K > 1): how many more transfers can start now (the window
 * less those running). */
static inline unsigned pg__fetch_room(const struct pg__fetcher *f)
{
    return f->window > f->active ? f->window - f->active : 0;
}

/* How long one wait of a full window must last with nothing happening
 * for the window to double (fetch.c). */
#define PG_WINDOW_QUIET_MS 2
#define PG_WINDOW_QUIET (PG_WINDOW_QUIET_MS / 1000.0)

/*
 * The window after one wait of waited_s seconds with the window full
 * that ended with events descriptors ready: doubled (at most k) when it
 * lasted PG_WINDOW_QUIET or more, nothing was ready and the window is
 * below need (the transfers the server's latency asks for; 0: not known
 * yet), else unchanged.
 */
unsigned pg__window_next(unsigned window, unsigned k, double waited_s,
                         int events, double need);

/*
 * The transfers a worker needs at once to keep busy (Little's law):
 * twice the server's smallest recent time to first byte over the
 * worker's own time per transfer; 0 when either is not known.
 */
double pg__window_need(double min_ttfb_s, double per_transfer_s);

/* The time (seconds) a window must have been full over which the share
 * of it spent blocked in poll is judged, and the share that doubles the
 * window (fetch.c). */
#define PG_WINDOW_PERIOD 0.050
#define PG_WINDOW_IDLE 0.9

/*
 * The window after a period of period_s seconds of which blocked_s
 * were spent blocked with the window full: doubled (at most k) when the
 * period is PG_WINDOW_PERIOD or more and blocked_s at least
 * PG_WINDOW_IDLE of it, else unchanged.
 */
unsigned pg__window_idle_next(unsigned window, unsigned k, double period_s,
                              double blocked_s);

/*
 * Multi: start fetching it (pg__fetch_room() must be > 0).  Returns 0 if
 * the transfer runs; 1 if it ended at once (its result filled in, e.g. no
 * temporary file could be made): the caller hands it back itself.
 */
int pg__fetch_start(struct pg__fetcher *f, struct pg__item *it);

/*
 * Multi: wait up to timeout_ms for network activity, for one of the
 * caller's extra descriptors (revents filled in), or for
 * pg__fetch_wakeup().  Returns at once if a transfer needs attention.
 * While the window is below K and full, it waits PG_WINDOW_QUIET at
 * most and grows the window as pg__window_next() and
 * pg__window_idle_next() say.
 */
void pg__fetch_poll(struct pg__fetcher *f, struct curl_waitfd *extra,
                    unsigned n_extra, int timeout_ms);

/* Multi: wake pg__fetch_poll() up; callable from any thread. */
void pg__fetch_wakeup(struct pg__fetcher *f);

typedef void (*pg__fetch_done_cb)(struct pg__item *it, void *ud);

/*
 * Multi: advance every transfer; each finished item (result filled in)
 * goes to done(it, ud).  Returns how many finished.
 */
unsigned pg__fetch_run(struct pg__fetcher *f, pg__fetch_done_cb done,
                       void *ud);

/*
 * A cache of DNS answers and TLS sessions for the handles of a job
 * (thread mode: locked, shared by every thread) or of one worker
 * process (unlocked).  NULL on failure; transfers then work without it.
 */
struct pg__share;
struct pg__share *pg__share_new(int locked);
CURLSH *pg__share_handle(struct pg__share *s);
void pg__share_free(struct pg__share *s);

#endif
