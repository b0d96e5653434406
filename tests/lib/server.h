/*
 * server.h - the one in-process HTTP test server (libmicrohttpd) of the
 * integration tests and of pg-serve: a site declared as a table of
 * routes, each with its normal answer and, optionally, a fault.
 *
 * The server listens on one IPv4 address (127.0.0.1 unless told
 * otherwise, any local address), on an ephemeral port chosen by the
 * kernel (port 0); pg_test_server_port() reads it back.
 *
 * A route (struct pg_test_route) has a normal answer, one of
 *
 *   - PG_ROUTE_STATIC: an exact path (or a prefix, PG_ROUTE_PREFIX)
 *     answered with a status, extra headers, a content type and a body.
 *     The body is borrowed, never copied: it must stay valid and
 *     unchanged until pg_test_server_stop() returns, so large bodies cost
 *     nothing per request. With body NULL and gen_len > 0 the body is
 *     generated: gen_len bytes of pg_fault_pattern(gen_seed).
 *     PG_ROUTE_CHUNKED sends it without a Content-Length.
 *   - PG_ROUTE_DIR: every path under a prefix is served from a directory
 *     tree on disk ("/" + "site" serves site/a/b.png as /a/b.png; a
 *     directory is answered with its index.html). ".." segments are
 *     refused (403).
 *   - PG_ROUTE_FILES: a family of numbered files under the route's path
 *     (a prefix): "<path>000123.bin" for 0 <= i < nfiles, sizes and
 *     contents from pg_fault_file_size()/pg_fault_file_fill(), counted
 *     per file, every slow_every-th file delayed slow_ms; for big
 *     batches.
 *
 * and a fault kind that replaces the normal answer for the route's first
 * `times` requests (all requests when times is 0):
 *
 *   PG_FAULT_NONE         always the normal answer
 *   PG_FAULT_STATUS       fault_status (default 503) with fault_headers
 *                         and a short text body (e.g. "fail the first 2
 *                         requests with 503", "429 with Retry-After: 1")
 *   PG_FAULT_RETRY_DATE   429 with "Retry-After: <HTTP date now+retry_s>"
 *   PG_FAULT_SHORT        announce the body's length (or claim), send the
 *                         first `cut` bytes (0 = half), then close the
 *                         connection (a truncated transfer)
 *   PG_FAULT_RESET        the same, then reset the connection (RST)
 *   PG_FAULT_STALL        send the headers (and `cut` body bytes), then
 *                         nothing
 *   PG_FAULT_DRIP         send the headers and `cut` bytes, then one byte
 *                         every interval_ms (default 1000) forever
 *   PG_FAULT_GZIP_BOMB    200, "Content-Encoding: gzip", a ~1 MiB gzip
 *                         body that inflates to 1 GiB of zeros
 *   PG_FAULT_BIG_HEADER   the normal answer plus one header line of
 *                         header_bytes
 *   PG_FAULT_MANY_HEADERS the normal answer plus header_bytes of headers
 *                         in lines of about 1 KiB
 *
 * Redirects, redirect loops, HTML served for an image and any other
 * status or header are plain normal answers (status + headers). Any
 * other path gets 404.
 *
 * Every route ends by itself: the slow parts (delay, stall, drip) look
 * at the client socket every 20 ms and give up as soon as the client has
 * closed it, when the server stops, or after PG_FAULT_CAP_S seconds.
 * pg_test_server_stop() therefore returns within about a second even
 * with stalled transfers.
 *
 * What the server records:
 *   - per route, its requests (per method; per file of a PG_ROUTE_FILES
 *     route) and the request headers of its latest request;
 *   - the requests in flight, now and at the peak;
 *   - a request log: arrival and completion time on CLOCK_MONOTONIC,
 *     method, Host header, decoded path, route, file index, the
 *     request's number for its route or file, the client's TCP port,
 *     whether it got the fault. Tests measure retry gaps with it, list
 *     the transfers in flight and map them to the client process that
 *     holds the socket (pg_proc_socket_owner(), fault.h);
 *   - the requests "waiting": from their arrival until their response is
 *     queued (after the route's delay), overall and per Host header
 *     value. A waiting request has certainly not been answered yet, so a
 *     client that never has more than N requests outstanding to a host
 *     can never make that host's waiting peak exceed N - unlike the
 *     in-flight peak, which ends only when libmicrohttpd reports the
 *     response as sent and so can briefly overlap with the client's next
 *     request. Give the routes a delay_ms to make the waiting intervals
 *     long enough to overlap.
 *
 * Threads: libmicrohttpd runs one internal thread per connection (plus
 * the listening thread), so hundreds of concurrent keep-alive
 * connections are fine. The route table is read-only after start;
 * counters are atomics, the log and the recorded headers are under a
 * mutex. All functions may be called from any thread, but start and stop
 * must not race with each other.
 */
#ifndef PG_TEST_SERVER_H
#define PG_TEST_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* Longest time any slow route keeps a connection (seconds). */
#define PG_FAULT_CAP_S 120

/* The normal answer of a route. */
enum pg_test_route_kind {
    PG_ROUTE_STATIC = 0,
    PG_ROUTE_DIR,
    PG_ROUTE_FILES
};

enum pg_test_route_flags {
    /* path is a prefix: every path starting with it matches. */
    PG_ROUTE_PREFIX = 1 << 0,
    /* Send the body without Content-Length (chunked). */
    PG_ROUTE_CHUNKED = 1 << 1
};

/* What replaces the normal answer for the first `times` requests. */
enum pg_fault_kind {
    PG_FAULT_NONE = 0,
    PG_FAULT_STATUS,
    PG_FAULT_RETRY_DATE,
    PG_FAULT_SHORT,
    PG_FAULT_RESET,
    PG_FAULT_STALL,
    PG_FAULT_DRIP,
    PG_FAULT_GZIP_BOMB,
    PG_FAULT_BIG_HEADER,
    PG_FAULT_MANY_HEADERS
};

struct pg_test_route {
    /* Exact request path ("/files/f0001.bin"), or the prefix for
     * PG_ROUTE_DIR, PG_ROUTE_FILES and PG_ROUTE_PREFIX ("/" serves
     * everything). Borrowed. Routes are tried in table order. */
    const char *path;
    /* HTTP status; 0 means 200. */
    unsigned status;
    /* NULL, or "Name: value" lines separated by '\n' (e.g.
     * "Location: /x"). Borrowed. */
    const char *headers;
    /* The body (borrowed, must outlive the server) and its length. */
    const void *body;
    size_t body_len;
    /* Content-Type header value, or NULL for none (PG_ROUTE_DIR guesses
     * it from the file name extension, PG_ROUTE_FILES and the gzip bomb
     * default to application/octet-stream). */
    const char *content_type;
    enum pg_test_route_kind kind;
    /* PG_ROUTE_DIR: the directory served under path. Borrowed. */
    const char *dir;
    /* enum pg_test_route_flags. */
    unsigned flags;
    /* NULL, or "Name: value" lines separated by '\n': every request
     * must carry each header with the value somewhere in it (e.g.
     * "Cookie: sid=1\nReferer: /page.html"), else it gets 403. */
    const char *require;
    /* Wait this long before answering (every request; 0 = no delay). */
    unsigned delay_ms;

    /* Body generated when body is NULL: gen_len bytes of
     * pg_fault_pattern(gen_seed). */
    uint64_t gen_len;
    uint32_t gen_seed;
    /* The fault, given to the first `times` requests; 0 = all. */
    enum pg_fault_kind fault;
    unsigned times;
    /* PG_FAULT_STATUS: status (0 = 503) and header lines. */
    unsigned fault_status;
    const char *fault_headers;
    /* SHORT, RESET, STALL, DRIP: the announced Content-Length (0 = the
     * body's length; ignored with PG_ROUTE_CHUNKED) and the number of
     * body bytes sent before the fault (SHORT/RESET: 0 = half). */
    uint64_t claim;
    uint64_t cut;
    /* DRIP: milliseconds between two bytes (0 = 1000). */
    unsigned interval_ms;
    /* RETRY_DATE: the date is now + retry_s seconds. */
    unsigned retry_s;
    /* BIG_HEADER, MANY_HEADERS: header bytes to add. */
    size_t header_bytes;
    /* PG_ROUTE_FILES: number of files, size range, and every
     * slow_every-th file (i % slow_every == slow_every - 1) waits slow_ms
     * instead of delay_ms (0 = none). */
    size_t nfiles;
    size_t size_min;
    size_t size_max;
    size_t slow_every;
    unsigned slow_ms;
    /* Validators (NULL = none): the normal answer carries "ETag: etag"
     * and "Last-Modified: last_modified", and a request whose
     * If-None-Match holds etag (or, without If-None-Match, whose
     * If-Modified-Since equals last_modified) gets 304 Not Modified
     * without a body (counted: pg_test_server_not_modified()).
     * Borrowed. */
    const char *etag;
    const char *last_modified;
};

struct pg_test_server;

/*
 * Start a server for the n routes (copied; the strings and bodies they
 * point to are borrowed until stop) on 127.0.0.1, or on addr (any local
 * IPv4 address; NULL = 127.0.0.1). Returns NULL on failure after
 * printing the reason on stderr.
 */
struct pg_test_server *pg_test_server_start(const struct pg_test_route *routes,
                                            size_t n);
struct pg_test_server *pg_test_server_start_on(
    const struct pg_test_route *routes, size_t n, const char *addr);

/*
 * The same server over HTTPS (libmicrohttpd with GnuTLS) on 127.0.0.1:
 * cert_file and key_file are PEM files, read at start (tlscert.h makes
 * them).  NULL, after a message on stderr, when libmicrohttpd was built
 * without TLS (pg_test_server_tls_supported() is 0: skip the test) or the
 * files are unusable.  Everything else works as for plain HTTP;
 * pg_test_server_url() gives "https://..." URLs.
 */
/* pg_test_server_start(), or fail the test ("cannot start the test
 * server"). */
struct pg_test;
struct pg_test_server *pg_test_server_must_start(
    struct pg_test *t, const struct pg_test_route *routes, size_t n);

int pg_test_server_tls_supported(void);
struct pg_test_server *pg_test_server_start_tls(
    const struct pg_test_route *routes, size_t n, const char *cert_file,
    const char *key_file);

/* The port the server listens on. */
unsigned pg_test_server_port(const struct pg_test_server *srv);
/* "http://ADDR:PORT" (or "https://...") + path (heap). */
char *pg_test_server_url(const struct pg_test_server *srv, const char *path);

/*
 * Stop the server: every slow route gives up, the listening socket and
 * every connection are closed, the threads joined, everything freed.
 * NULL is a no-op.
 */
void pg_test_server_stop(struct pg_test_server *srv);

/*
 * Number of requests received for path (exactly as given in the route
 * table; for a prefix route the route's path, all its files for
 * PG_ROUTE_FILES) with the given method ("GET", "HEAD"; NULL = any
 * method). A path not in the table gives the count of requests that got
 * 404 because no route matched.
 */
unsigned long pg_test_server_hits(const struct pg_test_server *srv,
                                  const char *path, const char *method);
/* Requests for file i of the PG_ROUTE_FILES route route_path. */
unsigned long pg_test_server_file_hits(const struct pg_test_server *srv,
                                       const char *route_path, size_t i);

/* The 304 answers given on route path (exactly as in the table). */
unsigned long pg_test_server_not_modified(const struct pg_test_server *srv,
                                          const char *path);

/*
 * Give the route whose path is path (exactly as in the table) a new
 * normal answer: r's status, headers, body, body_len, content_type,
 * etag and last_modified (borrowed until stop), e.g. between two runs
 * of a test.  Its counters stay.  0, or -1 if there is no such route.
 */
int pg_test_server_set_route(struct pg_test_server *srv, const char *path,
                             const struct pg_test_route *r);

/* Requests received in total (all routes, including 404s). */
unsigned long pg_test_server_total(const struct pg_test_server *srv);

/*
 * Highest number of requests that were being answered at the same time
 * (from the request's arrival until its response was completely sent or
 * the connection failed).
 */
unsigned pg_test_server_peak(const struct pg_test_server *srv);
/* Requests whose completion the server has not yet seen.  A client gets
 * its response a moment before that, so a test that wants strictly
 * serial requests waits for 0 between them. */
unsigned pg_test_server_inflight(const struct pg_test_server *srv);

/*
 * Copy the value of request header name (case-insensitive) of the latest
 * request to path (a route's path) into buf. Returns 1 if found, else 0
 * (buf is then ""). Only requests that matched a route are recorded.
 */
int pg_test_server_header(struct pg_test_server *srv, const char *path,
                          const char *name, char *buf, size_t len);

/*
 * A test wrote route data (a body or header buffer the routes point to)
 * after the server started: make the writes visible to the server's
 * threads before the requests that read them (ThreadSanitizer sees no
 * order through the client's socket).
 */
void pg_test_server_publish(struct pg_test_server *srv);

/*
 * Set every counter (hits, totals, the numbering `times` counts) back to
 * zero and empty the request log. The peaks restart from the number of
 * requests in flight (waiting) right now; those requests keep their
 * numbers.
 */
void pg_test_server_reset(struct pg_test_server *srv);

/* Longest Host header value kept (longer ones are truncated). */
#define PG_TEST_HOST_MAX 128

/* One entry of the request log. */
struct pg_test_request {
    /* Arrival (request headers read), seconds on CLOCK_MONOTONIC. */
    double start;
    /* Completion, 0 while in flight. */
    double end;
    char method[16];
    /* The Host header as sent ("127.0.0.1:8080"), "" if none. */
    char host[PG_TEST_HOST_MAX];
    /* The path as libmicrohttpd gives it: percent-decoded, no query. */
    char path[512];
    int route;               /* route index, -1 = no route (404) */
    long file;               /* PG_ROUTE_FILES: file index, else -1 */
    unsigned nth;            /* 1-based request number for route/file */
    unsigned port;           /* client TCP port */
    int faulted;             /* got the fault rather than the normal answer */
};

/*
 * Copy the request log, in arrival order, into out (at most max entries;
 * out may be NULL when max is 0) and return the number of requests
 * logged (the first 200000 are kept; a path or Host header too long for
 * the entry is truncated).
 */
size_t pg_test_server_requests(struct pg_test_server *srv,
                               struct pg_test_request *out, size_t max);
/* The same, only the requests still in flight. */
size_t pg_test_server_inflight_requests(struct pg_test_server *srv,
                                        struct pg_test_request *out,
                                        size_t max);
/* The logged requests for one path (decoded, as logged), in order. */
size_t pg_test_server_requests_for(struct pg_test_server *srv,
                                   const char *path,
                                   struct pg_test_request *out, size_t max);

/*
 * Number of logged requests with this Host header value and this decoded
 * path; NULL matches any host or any path.
 */
unsigned long pg_test_server_count(struct pg_test_server *srv,
                                   const char *host, const char *path);

/*
 * Peak number of requests waiting at the same time (see above): all
 * hosts together, or those whose Host header equals host exactly (0 for
 * a host never seen; at most 32 distinct hosts are tracked).
 */
unsigned pg_test_server_wait_peak(struct pg_test_server *srv);
unsigned pg_test_server_host_peak(struct pg_test_server *srv,
                                  const char *host);

/* ---- Bodies ---- */

/* Deterministic bytes: the content at offset off of stream seed. */
void pg_fault_pattern(uint32_t seed, uint64_t off, void *buf, size_t len);
/* PG_ROUTE_FILES: path (heap), size and content of file i. */
char *pg_fault_file_path(const struct pg_test_route *r, size_t i);
size_t pg_fault_file_size(const struct pg_test_route *r, size_t i);
void pg_fault_file_fill(const struct pg_test_route *r, size_t i, void *buf);
/* The gzip bomb (built once, shared, never freed) and the size it
 * inflates to. */
const void *pg_fault_gzip_bomb(size_t *len);
#define PG_FAULT_BOMB_SIZE ((uint64_t)1 << 30)

/* ---- The names the fault tests' checks are written with ---- */

/* The same functions as above, under the names that the checks of
 * test_faults.c, test_net.c and test_workers.c use. */
static inline unsigned pg_fault_port(const struct pg_test_server *srv)
{
    return pg_test_server_port(srv);
}

static inline char *pg_fault_url(const struct pg_test_server *srv,
                                 const char *path)
{
    return pg_test_server_url(srv, path);
}

static inline unsigned long pg_fault_hits(struct pg_test_server *srv,
                                          const char *path)
{
    return pg_test_server_hits(srv, path, NULL);
}

static inline unsigned long pg_fault_file_hits(struct pg_test_server *srv,
                                               const char *route_path,
                                               size_t i)
{
    return pg_test_server_file_hits(srv, route_path, i);
}

static inline unsigned long pg_fault_total(struct pg_test_server *srv)
{
    return pg_test_server_total(srv);
}

static inline unsigned pg_fault_inflight_now(struct pg_test_server *srv)
{
    return pg_test_server_inflight(srv);
}

static inline unsigned pg_fault_peak(struct pg_test_server *srv)
{
    return pg_test_server_peak(srv);
}

static inline size_t pg_fault_requests(struct pg_test_server *srv,
                                       struct pg_test_request *out,
                                       size_t max)
{
    return pg_test_server_requests(srv, out, max);
}

static inline size_t pg_fault_inflight(struct pg_test_server *srv,
                                       struct pg_test_request *out,
                                       size_t max)
{
    return pg_test_server_inflight_requests(srv, out, max);
}

static inline size_t pg_fault_requests_for(struct pg_test_server *srv,
                                           const char *path,
                                           struct pg_test_request *out,
                                           size_t max)
{
    return pg_test_server_requests_for(srv, path, out, max);
}

static inline void pg_fault_reset(struct pg_test_server *srv)
{
    pg_test_server_reset(srv);
}

#endif /* PG_TEST_SERVER_H */
