/*
 * server.h - an in-process HTTP test server (libmicrohttpd) for the
 * integration tests and for pg-serve.
 *
 * The server listens on 127.0.0.1 only, on an ephemeral port chosen by the
 * kernel (port 0); pg_test_server_port() reads it back. It serves a table
 * of routes given at start:
 *
 *   - PG_ROUTE_STATIC: an exact path answered with a fixed status, extra
 *     headers and a body. The body is borrowed, never copied: it must stay
 *     valid and unchanged until pg_test_server_stop() returns. Large bodies
 *     therefore cost nothing per request.
 *   - PG_ROUTE_DIR: every path under a prefix is served from a directory
 *     tree on disk ("/" + "site" serves site/a/b.png as /a/b.png; a
 *     directory is answered with its index.html). ".." segments are
 *     refused (403).
 *
 * Any other path gets 404. Each route counts its requests (per method)
 * and keeps the request headers of its latest request; the server tracks
 * how many requests were being answered at the same time (the peak), so
 * tests can bound request counts and concurrency.
 *
 * For crawling tests the server also keeps a log of every request (its
 * arrival time, method, Host header and decoded path), and counts the
 * requests that are "waiting": from their arrival until their response
 * is queued (after the route's delay), overall and per Host header value.
 * A waiting request has certainly not been answered yet, so a client
 * that never has more than N requests outstanding to a host can never
 * make that host's waiting peak exceed N - unlike the in-flight peak,
 * which ends only when libmicrohttpd reports the response as sent and
 * so can briefly overlap with the client's next request. Give the routes
 * a delay_ms to make the waiting intervals long enough to overlap.
 *
 * Threads: libmicrohttpd runs one internal thread per connection (plus
 * the listening thread), so hundreds of concurrent keep-alive connections
 * are fine. The route table is read-only after start; counters are
 * atomics and the recorded headers are under a mutex. All functions may
 * be called from any thread, but start and stop must not race with each
 * other.
 */
#ifndef PG_TEST_SERVER_H
#define PG_TEST_SERVER_H

#include <stddef.h>

enum pg_test_route_kind {
    PG_ROUTE_STATIC = 0,
    PG_ROUTE_DIR
};

enum pg_test_route_flags {
    /* Announce the full Content-Length but send only half of the body, then
     * close the connection (a truncated transfer). */
    PG_ROUTE_TRUNCATE = 1 << 0
};

struct pg_test_route {
    /* Exact request path ("/files/f0001.bin"), or the prefix for
     * PG_ROUTE_DIR ("/" serves everything). Borrowed. */
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
     * it from the file name extension). */
    const char *content_type;
    enum pg_test_route_kind kind;
    /* PG_ROUTE_DIR: the directory served under path. Borrowed. */
    const char *dir;
    /* enum pg_test_route_flags. */
    unsigned flags;
    /* Wait this long before answering (0 = no delay). */
    unsigned delay_ms;
};

struct pg_test_server;

/*
 * Start a server for the n routes (copied; the strings and bodies they
 * point to are borrowed until stop). Returns NULL on failure after
 * printing the reason on stderr.
 */
struct pg_test_server *pg_test_server_start(const struct pg_test_route *routes,
                                            size_t n);

/* The port the server listens on (127.0.0.1). */
unsigned pg_test_server_port(const struct pg_test_server *srv);

/*
 * Stop the server: close the listening socket and every connection, join
 * the threads, free everything. NULL is a no-op.
 */
void pg_test_server_stop(struct pg_test_server *srv);

/*
 * Number of requests received for path (exactly as given in the route
 * table; for PG_ROUTE_DIR the route's prefix) with the given method
 * ("GET", "HEAD"; NULL = any method). A path not in the table gives the
 * count of requests that got 404 because no route matched.
 */
unsigned long pg_test_server_hits(const struct pg_test_server *srv,
                                  const char *path, const char *method);

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
 * Set every counter (hits, totals, peaks) back to zero and empty the
 * request log. The waiting peaks restart from the number of requests
 * waiting right now.
 */
void pg_test_server_reset(struct pg_test_server *srv);

/* Longest Host header value kept (longer ones are truncated). */
#define PG_TEST_HOST_MAX 128

/* One entry of the request log. */
struct pg_test_request {
    /* Arrival (request headers read), seconds on CLOCK_MONOTONIC. */
    double start;
    char method[16];
    /* The Host header as sent ("127.0.0.1:8080"), "" if none. */
    char host[PG_TEST_HOST_MAX];
    /* The path as libmicrohttpd gives it: percent-decoded, no query. */
    char path[512];
};

/*
 * Copy the request log, in arrival order, into out (at most max entries;
 * out may be NULL when max is 0) and return the number of requests
 * logged (the first 20000 are kept; a path or Host header too long for
 * the entry is truncated).
 */
size_t pg_test_server_requests(struct pg_test_server *srv,
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

#endif /* PG_TEST_SERVER_H */
