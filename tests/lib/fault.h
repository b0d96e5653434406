/*
 * fault.h - a fault-injecting HTTP test server (libmicrohttpd, in
 * process) and the client-side fault helpers of the fault tolerance
 * tests (tests/integration/test_faults.c).
 *
 * The server listens on one IPv4 address (127.0.0.1 unless told
 * otherwise), on an ephemeral port. It serves a table of routes; each
 * route has a normal answer (status, headers, body) and a fault kind
 * that replaces the normal answer for the route's first `times` requests
 * (all requests when times is 0):
 *
 *   PG_FAULT_NONE         always the normal answer
 *   PG_FAULT_STATUS       fault_status (default 503) with fault_headers
 *                         and a short text body (e.g. "fail the first 2
 *                         requests with 503", "429 with Retry-After: 1")
 *   PG_FAULT_RETRY_DATE   429 with "Retry-After: <HTTP date now+retry_s>"
 *   PG_FAULT_SHORT        announce the body's length (or claim), send the
 *                         first `cut` bytes, then close the connection
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
 *   PG_FAULT_FILES        a family of numbered files under the route's
 *                         path (a prefix): "<path>000123.bin" for
 *                         0 <= i < nfiles, sizes and contents from
 *                         pg_fault_file_size()/pg_fault_file_fill(),
 *                         counted per file; used for big batches
 *
 * Redirect loops, redirects to file://, HTML served for an image and any
 * other status or header are plain normal answers (status + headers).
 *
 * Bodies are either borrowed (body/body_len, valid until stop) or
 * generated: with body NULL and gen_len > 0 the body is gen_len bytes of
 * pg_fault_pattern(gen_seed). PG_FAULT_CHUNKED sends the body without a
 * Content-Length.
 *
 * Every route ends by itself: the slow kinds (delay, stall, drip) look
 * at the client socket every 20 ms and give up as soon as the client has
 * closed it, when the server stops, or after PG_FAULT_CAP_S seconds.
 * pg_fault_stop() therefore returns within about a second even with
 * stalled transfers.
 *
 * Each request is logged (arrival and completion time on CLOCK_MONOTONIC,
 * route, file index, the request's number for its route or file, the
 * client's TCP port, whether it got the fault), so tests can measure
 * retry gaps, find the requests in flight and map them to the client
 * process that holds the socket (pg_proc_socket_owner()).
 *
 * Threads: one libmicrohttpd thread per connection. The route table is
 * read-only after start; counters are atomics, the log is under a mutex.
 * Query functions may be called from any thread.
 */
#ifndef PG_TEST_FAULT_H
#define PG_TEST_FAULT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testlib.h"

/* Longest time any slow route keeps a connection (seconds). */
#define PG_FAULT_CAP_S 120

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
    PG_FAULT_MANY_HEADERS,
    PG_FAULT_FILES
};

enum pg_fault_flags {
    /* path is a prefix: every path starting with it matches. */
    PG_FAULT_PREFIX = 1 << 0,
    /* Send the body without Content-Length (chunked). */
    PG_FAULT_CHUNKED = 1 << 1
};

struct pg_fault_route {
    /* Exact path, or a prefix (PG_FAULT_PREFIX, PG_FAULT_FILES).
     * Borrowed. Routes are tried in table order. */
    const char *path;
    enum pg_fault_kind kind;
    /* The fault is given to the first `times` requests; 0 = all. */
    unsigned times;
    unsigned flags;
    /* The normal answer: status (0 = 200), extra header lines
     * ("Name: value" separated by '\n'), content type (NULL = none). */
    unsigned status;
    const char *headers;
    const char *content_type;
    /* Borrowed body, or NULL for a generated one (gen_len bytes of
     * pg_fault_pattern(gen_seed)). */
    const void *body;
    size_t body_len;
    uint64_t gen_len;
    uint32_t gen_seed;
    /* PG_FAULT_STATUS: status (0 = 503) and header lines. */
    unsigned fault_status;
    const char *fault_headers;
    /* SHORT, RESET, STALL, DRIP: the announced Content-Length (0 = the
     * body's length; ignored with PG_FAULT_CHUNKED) and the number of
     * body bytes sent before the fault (SHORT/RESET: 0 = half). */
    uint64_t claim;
    uint64_t cut;
    /* DRIP: milliseconds between two bytes (0 = 1000). */
    unsigned interval_ms;
    /* RETRY_DATE: the date is now + retry_s seconds. */
    unsigned retry_s;
    /* BIG_HEADER, MANY_HEADERS: header bytes to add. */
    size_t header_bytes;
    /* Wait this long before answering (every request; 0 = none). */
    unsigned delay_ms;
    /* PG_FAULT_FILES: number of files, size range, and every slow_every-th
     * file (i % slow_every == slow_every - 1) waits slow_ms instead of
     * delay_ms (0 = none). */
    size_t nfiles;
    size_t size_min;
    size_t size_max;
    size_t slow_every;
    unsigned slow_ms;
};

/* One logged request. */
struct pg_fault_request {
    double start;            /* arrival, CLOCK_MONOTONIC seconds */
    double end;              /* completion, 0 while in flight */
    int route;               /* route index, -1 = no route (404) */
    long file;               /* PG_FAULT_FILES: file index, else -1 */
    unsigned nth;            /* 1-based request number for route/file */
    unsigned port;           /* client TCP port */
    int faulted;             /* got the fault rather than the normal answer */
    char path[200];          /* decoded path (truncated) */
};

struct pg_fault_server;

/*
 * Start a server for the n routes (copied; what they point to is
 * borrowed until stop) on addr ("127.0.0.1" when NULL; any local IPv4
 * address). Returns NULL after printing the reason on stderr.
 */
struct pg_fault_server *pg_fault_start(const struct pg_fault_route *routes,
                                       size_t n, const char *addr);
/* Stop: every slow route gives up, connections are closed, threads
 * joined. NULL is a no-op. */
void pg_fault_stop(struct pg_fault_server *srv);

unsigned pg_fault_port(const struct pg_fault_server *srv);
/* "http://ADDR:PORT" + path (heap). */
char *pg_fault_url(const struct pg_fault_server *srv, const char *path);

/* Requests for the route whose path is exactly path (all files of a
 * PG_FAULT_FILES route); a path of no route: the 404s. */
unsigned long pg_fault_hits(struct pg_fault_server *srv, const char *path);
/* Requests for file i of the PG_FAULT_FILES route route_path. */
unsigned long pg_fault_file_hits(struct pg_fault_server *srv,
                                 const char *route_path, size_t i);
/* All requests. */
unsigned long pg_fault_total(struct pg_fault_server *srv);
/* Requests in flight now, and the peak so far, all routes. */
unsigned pg_fault_inflight_now(struct pg_fault_server *srv);
unsigned pg_fault_peak(struct pg_fault_server *srv);

/*
 * Copy the log (arrival order) into out, at most max entries (out may be
 * NULL with max 0); returns the number logged (at most 200000 are kept).
 */
size_t pg_fault_requests(struct pg_fault_server *srv,
                         struct pg_fault_request *out, size_t max);
/* The same, only the requests still in flight. */
size_t pg_fault_inflight(struct pg_fault_server *srv,
                         struct pg_fault_request *out, size_t max);
/* The logged requests for one path (decoded, as logged), in order. */
size_t pg_fault_requests_for(struct pg_fault_server *srv, const char *path,
                             struct pg_fault_request *out, size_t max);
/* Zero every counter (the `times` numbering starts again) and empty the
 * log. Requests in flight keep their numbers. */
void pg_fault_reset(struct pg_fault_server *srv);

/* ---- Bodies ---- */

/* Deterministic bytes: the content at offset off of stream seed. */
void pg_fault_pattern(uint32_t seed, uint64_t off, void *buf, size_t len);
/* PG_FAULT_FILES: path (heap), size and content of file i. */
char *pg_fault_file_path(const struct pg_fault_route *r, size_t i);
size_t pg_fault_file_size(const struct pg_fault_route *r, size_t i);
void pg_fault_file_fill(const struct pg_fault_route *r, size_t i, void *buf);
/* The gzip bomb (built once, shared, never freed) and the size it
 * inflates to. */
const void *pg_fault_gzip_bomb(size_t *len);
#define PG_FAULT_BOMB_SIZE ((uint64_t)1 << 30)

/* ---- Processes ---- */

/* A program started without waiting for it. */
struct pg_proc {
    pid_t pid;
    double start;
    double end;              /* when it was seen to end (0 = running) */
    int own_group;           /* started as leader of its own group */
    int done;                /* reaped; status holds the wait status */
    int status;
    char out_path[PATH_MAX + 64];
    char err_path[PATH_MAX + 64];
    char *cmd;
};

enum pg_proc_flags {
    /* Put the program in a new process group (pgid = pid), e.g. to send
     * a terminal's Ctrl-C to it and its workers with kill(-pid, ...). */
    PG_PROC_OWN_GROUP = 1 << 0
};

/*
 * Start the binary under test like pg_run() (PG_TEST_WRAPPER, stdin from
 * stdin_path or /dev/null, stdout/stderr captured) but return at once.
 */
void pg_proc_start(struct pg_test *t, struct pg_proc *p,
                   const char *stdin_path, unsigned flags,
                   const char *const *args);
/*
 * Wait for it (at most timeout_s, scaled; then SIGKILL and fail) and
 * fill r like pg_run(). If allow_signal is 0 a death by signal fails the
 * test. Returns the exit status (128 + signal when killed).
 */
int pg_proc_wait(struct pg_test *t, struct pg_proc *p, unsigned timeout_s,
                 int allow_signal, struct pg_run *r);
/* Has it ended? (Non-blocking; reaps it, then pg_proc_wait() returns
 * at once.) */
int pg_proc_done(struct pg_proc *p);

/* One process seen in /proc. */
struct pg_child {
    pid_t pid;
    char state;              /* 'R', 'S', 'Z', ... */
};

/* The children of parent (from /proc/<pid>/stat), at most max; returns
 * how many exist. */
size_t pg_proc_children(pid_t parent, struct pg_child *out, size_t max);
/*
 * The child of parent holding the client end of a TCP connection from
 * 127.x local port `port` (found via /proc/net/tcp and /proc/<pid>/fd),
 * or parent itself, or 0 if none.
 */
pid_t pg_proc_socket_owner(pid_t parent, unsigned port);

/* ---- Environment (Linux namespaces; need CAP_SYS_ADMIN) ---- */

/*
 * Move the calling process into a new network namespace with only the
 * loopback interface, brought up; then add each extra IPv4 address (NULL
 * terminated list) to it. Call before starting any thread. Returns 0, or
 * -1 with the reason in err.
 */
int pg_fault_netns(const char *const *extra_addrs, char *err, size_t len);
/*
 * Move the calling process into a private mount namespace and mount a
 * tmpfs of `size` bytes on dir (created first). The mount disappears with
 * the namespace when the test process ends. 0, or -1 with the reason.
 */
int pg_fault_tmpfs(const char *dir, size_t size, char *err, size_t len);

/* ---- Small helpers ---- */

double pg_fault_now(void);
void pg_fault_sleep_ms(unsigned ms);

#endif /* PG_TEST_FAULT_H */
