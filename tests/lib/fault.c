/*
 * fault.c - the fault-injecting test server and the process and
 * namespace helpers of the fault tolerance tests (see fault.h).
 */
/* unshare(), struct ifreq and the SIOCSIF* requests are Linux/GNU. */
#define _GNU_SOURCE

#include "bits.h"
#include "fault.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

extern char **environ;

/* Requests kept in the log. */
#define LOG_MAX 200000
/* How often slow routes look at the client and the stop flag. */
#define POLL_MS 20

struct froute {
    struct pg_fault_route r;
    size_t path_len;
    atomic_ulong hits;
    atomic_ulong *file_hits;     /* PG_FAULT_FILES: nfiles counters */
    char *extra;                 /* BIG/MANY_HEADERS: the header lines */
};

struct pg_fault_server {
    struct MHD_Daemon *daemon;
    unsigned port;
    char addr[INET_ADDRSTRLEN];
    struct froute *routes;
    size_t n;
    atomic_ulong not_found;
    atomic_ulong total;
    atomic_uint inflight;
    atomic_uint peak;
    atomic_int stopping;
    pthread_mutex_t lock;
    int lock_ok;
    /* Guarded by lock. */
    struct pg_fault_request *log;
    size_t log_n;
    size_t log_cap;
    unsigned long generation;    /* bumped by reset */
};

/* One request, from its first handler call to the completion notice. */
struct freq {
    struct froute *rt;           /* NULL: no route (404) */
    long file;
    int faulted;
    int fd;
    size_t log_idx;              /* (size_t)-1: not logged */
    unsigned long gen;
    double start;
};

/* What a callback response sends; owned by the response. */
struct reader {
    struct pg_fault_server *srv;
    enum pg_fault_kind kind;     /* PG_FAULT_NONE: just the body */
    int fd;
    double start;
    const unsigned char *body;   /* borrowed, or NULL: pattern(seed) */
    uint64_t body_len;
    uint32_t seed;
    uint64_t len;                /* bytes that may be sent at most */
    uint64_t cut;
    unsigned interval_ms;
    double next;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

double pg_fault_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pg_fault_sleep_ms(unsigned ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p) {
        fputs("fault server: out of memory\n", stderr);
        abort();
    }
    return p;
}

static const char *errtext(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void pg_fault_pattern(uint32_t seed, uint64_t off, void *buf, size_t len)
{
    unsigned char *p = buf;
    uint64_t base = mix64((uint64_t)seed * 0x100000001B3ull + 1);

    while (len) {
        uint64_t v = mix64(base ^ (off / 8));
        unsigned k = (unsigned)(off % 8);
        size_t n = 8 - k < len ? 8 - k : len;

        for (size_t j = 0; j < n; j++)
            p[j] = (unsigned char)(v >> (8 * (k + j)));
        p += n;
        off += n;
        len -= n;
    }
}

char *pg_fault_file_path(const struct pg_fault_route *r, size_t i)
{
    return pg_strdupf("%s%06zu.bin", r->path, i);
}

size_t pg_fault_file_size(const struct pg_fault_route *r, size_t i)
{
    size_t span = r->size_max > r->size_min ? r->size_max - r->size_min : 0;

    return r->size_min + (size_t)(mix64(i ^ 0xF11E5ull) % (span + 1));
}

static uint32_t file_seed(size_t i)
{
    return (uint32_t)(i + 1) ^ 0x5EED0000u;
}

void pg_fault_file_fill(const struct pg_fault_route *r, size_t i, void *buf)
{
    pg_fault_pattern(file_seed(i), 0, buf, pg_fault_file_size(r, i));
}

/* ------------------------------------------------------------------ */
/* The gzip bomb                                                       */
/* ------------------------------------------------------------------ */

/*
 * libz is not among the test link libraries, so the deflate stream is
 * written by hand: one dynamic-Huffman block whose literal/length code
 * has just three symbols (285 = length 258: 1 bit, literal 0 and end of
 * block: 2 bits) and whose distance code has one (distance 1: 1 bit).
 * After one literal zero, each further 258 zeros cost two 0 bits, so
 * 1 GiB of zeros takes about 1 MiB, as with zlib -9 (bits: bits.h).
 */

/* CRC-32 operators as 32x32 matrices over GF(2) (zlib's crc32_combine
 * method), to get the CRC of 2^30 zero bytes without hashing them. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
    uint32_t sum = 0;

    for (unsigned i = 0; vec; i++, vec >>= 1) {
        if (vec & 1)
            sum ^= mat[i];
    }
    return sum;
}

static void gf2_square(uint32_t *sq, const uint32_t *mat)
{
    for (unsigned i = 0; i < 32; i++)
        sq[i] = gf2_times(mat, mat[i]);
}

/* CRC-32 (IEEE) of 2^log2n zero bytes. */
static uint32_t crc32_zeros(unsigned log2n)
{
    uint32_t a[32];
    uint32_t b[32];
    uint32_t *cur = a;
    uint32_t *next = b;

    /* One zero bit. */
    cur[0] = 0xEDB88320u;
    for (unsigned i = 1; i < 32; i++)
        cur[i] = 1u << (i - 1);
    /* 8 bits = 1 byte, then 2^log2n bytes. */
    for (unsigned i = 0; i < 3 + log2n; i++) {
        uint32_t *tmp;

        gf2_square(next, cur);
        tmp = cur;
        cur = next;
        next = tmp;
    }
    return gf2_times(cur, 0xFFFFFFFFu) ^ 0xFFFFFFFFu;
}

static unsigned char *bomb;
static size_t bomb_len;
static pthread_once_t bomb_once = PTHREAD_ONCE_INIT;

static void put_zero_run(struct pg_bits *b, size_t zeros)
{
    /* Code length code: 18 = '0' (7 extra bits: 11..138 zeros). */
    while (zeros) {
        size_t k = zeros > 138 ? 138 : zeros;

        if (zeros - k > 0 && zeros - k < 11)
            k = zeros - 11;
        pg_bits_code(b, 0, 1);
        pg_bits_put(b, (unsigned)(k - 11), 7);
        zeros -= k;
    }
}

static void build_bomb(void)
{
    const uint64_t total = PG_FAULT_BOMB_SIZE;
    const uint64_t matches = (total - 1) / 258;
    const unsigned tail = (unsigned)(total - 1 - matches * 258);
    /* HCLEN order of the code length code lengths. */
    static const unsigned order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                       11, 4,  12, 3, 13, 2, 14, 1, 15};
    unsigned cl_len[19] = {0};
    size_t cap = 32 + (size_t)(matches / 4) + 64;
    struct pg_bits b = {NULL, 0, 0, 0};
    uint32_t crc = crc32_zeros(30);

    b.p = xcalloc(cap, 1);
    /* gzip member header: magic, deflate, no flags, mtime 0, OS unix. */
    {
        static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0,
                                              0,    0,    0, 0, 3};

        memcpy(b.p, hdr, sizeof(hdr));
        b.len = sizeof(hdr);
    }
    pg_bits_put(&b, 1, 1);          /* BFINAL */
    pg_bits_put(&b, 2, 2);          /* BTYPE = dynamic */
    pg_bits_put(&b, 286 - 257, 5);  /* HLIT: codes 0..285 */
    pg_bits_put(&b, 0, 5);          /* HDIST: one distance code */
    pg_bits_put(&b, 18 - 4, 4);     /* HCLEN: up to order[17] = 1 */
    /* Code length code: 18 -> '0', 1 -> '10', 2 -> '11'. */
    cl_len[18] = 1;
    cl_len[1] = 2;
    cl_len[2] = 2;
    for (unsigned i = 0; i < 18; i++)
        pg_bits_put(&b, cl_len[order[i]], 3);
    /* Literal/length lengths: 0 -> 2, 1..255 -> 0, 256 -> 2,
     * 257..284 -> 0, 285 -> 1; then the distance length: 0 -> 1. */
    pg_bits_code(&b, 3, 2);
    put_zero_run(&b, 255);
    pg_bits_code(&b, 3, 2);
    put_zero_run(&b, 28);
    pg_bits_code(&b, 2, 2);
    pg_bits_code(&b, 2, 2);
    /* Data: literal 0 = '10'; (285 = '0', distance 1 = '0') per 258;
     * the tail as literals; end of block 256 = '11'. */
    pg_bits_code(&b, 2, 2);
    /* The matches are all-zero bits: whole zero bytes when aligned. */
    {
        uint64_t left = matches * 2;

        while (left && b.nacc) {
            pg_bits_put(&b, 0, 1);
            left--;
        }
        b.len += (size_t)(left / 8);
        left %= 8;
        pg_bits_put(&b, 0, (unsigned)left);
    }
    for (unsigned i = 0; i < tail; i++)
        pg_bits_code(&b, 2, 2);
    pg_bits_code(&b, 3, 2);
    if (b.nacc)
        pg_bits_put(&b, 0, 8 - b.nacc);
    /* Trailer: CRC-32 and size mod 2^32, little endian. */
    pg_bits_put(&b, crc & 0xFFFFu, 16);
    pg_bits_put(&b, crc >> 16, 16);
    pg_bits_put(&b, (unsigned)(total & 0xFFFFu), 16);
    pg_bits_put(&b, (unsigned)((total >> 16) & 0xFFFFu), 16);
    bomb = b.p;
    bomb_len = b.len;
}

const void *pg_fault_gzip_bomb(size_t *len)
{
    pthread_once(&bomb_once, build_bomb);
    *len = bomb_len;
    return bomb;
}

/* ------------------------------------------------------------------ */
/* The server                                                          */
/* ------------------------------------------------------------------ */

/* Has the client closed (or reset) its end? */
static int client_gone(int fd)
{
    char c;
    ssize_t n;

    if (fd < 0)
        return 0;
    n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
           errno != EINTR;
}

/*
 * Sleep until `until` (CLOCK_MONOTONIC) in POLL_MS slices. Returns 0 when
 * reached, -1 as soon as the client is gone, the server stops or the
 * request is older than PG_FAULT_CAP_S.
 */
static int wait_until(struct pg_fault_server *srv, int fd, double start,
                      double until)
{
    for (;;) {
        double now = pg_fault_now();
        double left = until - now;

        if (atomic_load(&srv->stopping) || client_gone(fd) ||
            now - start > PG_FAULT_CAP_S)
            return -1;
        if (left <= 0)
            return 0;
        pg_fault_sleep_ms(left * 1000 < POLL_MS ? (unsigned)(left * 1000) + 1
                                                : POLL_MS);
    }
}

static ssize_t copy_body(struct reader *rd, uint64_t pos, char *buf,
                         size_t n)
{
    if (rd->body) {
        uint64_t have = pos < rd->body_len ? rd->body_len - pos : 0;
        size_t k = have < n ? (size_t)have : n;

        memcpy(buf, rd->body + pos, k);
        if (k < n)
            pg_fault_pattern(rd->seed, pos + k, buf + k, n - k);
    } else {
        pg_fault_pattern(rd->seed, pos, buf, n);
    }
    return (ssize_t)n;
}

/* Abort the connection with an RST: a TCP socket "connected" to
 * AF_UNSPEC is disconnected at once (tcp_disconnect); the fd stays valid
 * for libmicrohttpd to close. */
static void reset_connection(int fd)
{
    struct linger lg;
    struct sockaddr sa;

    if (fd < 0)
        return;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    memset(&sa, 0, sizeof(sa));
    sa.sa_family = AF_UNSPEC;
    connect(fd, &sa, sizeof(sa));
}

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct reader *rd = cls;
    uint64_t limit = rd->len;

    if (rd->kind != PG_FAULT_NONE && rd->cut < limit)
        limit = rd->cut;
    if (pos < limit) {
        uint64_t left = limit - pos;

        return copy_body(rd, pos, buf, left < max ? (size_t)left : max);
    }
    switch (rd->kind) {
    case PG_FAULT_NONE:
        return MHD_CONTENT_READER_END_OF_STREAM;
    case PG_FAULT_RESET:
        reset_connection(rd->fd);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    case PG_FAULT_STALL:
        wait_until(rd->srv, rd->fd, rd->start, rd->start + 2 * PG_FAULT_CAP_S);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    case PG_FAULT_DRIP:
        if (pos >= rd->len)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (rd->next == 0)
            rd->next = pg_fault_now() + rd->interval_ms / 1000.0;
        if (wait_until(rd->srv, rd->fd, rd->start, rd->next) != 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        rd->next += rd->interval_ms / 1000.0;
        return copy_body(rd, pos, buf, 1);
    default:
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void free_reader(void *cls)
{
    free(cls);
}

/* Add "Name: value" lines (any length) to a response. */
static enum MHD_Result add_headers(struct MHD_Response *resp,
                                   const char *headers)
{
    const char *p = headers;

    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = malloc(len + 1);
        char *colon;
        char *value;
        enum MHD_Result ok = MHD_YES;

        if (!line)
            return MHD_NO;
        memcpy(line, p, len);
        line[len] = '\0';
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        p = eol ? eol + 1 : p + len;
        colon = strchr(line, ':');
        if (line[0] && !colon)
            ok = MHD_NO;
        if (line[0] && colon) {
            *colon = '\0';
            value = colon + 1;
            while (*value == ' ' || *value == '\t')
                value++;
            ok = MHD_add_response_header(resp, line, value);
        }
        free(line);
        if (ok != MHD_YES)
            return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result queue_text(struct MHD_Connection *conn,
                                  unsigned status, const char *headers,
                                  const char *text)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                           MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    if (add_headers(resp, headers) != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* "Retry-After: <IMF-fixdate of now + secs>". */
static void retry_date(char *buf, size_t len, unsigned secs)
{
    time_t when = time(NULL) + (time_t)secs;
    struct tm tm;
    char date[64];

    gmtime_r(&when, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(buf, len, "Retry-After: %s", date);
}

static enum MHD_Result answer(struct pg_fault_server *srv,
                              struct MHD_Connection *conn, struct freq *rq)
{
    const struct froute *rt = rq->rt;
    const struct pg_fault_route *r = &rt->r;
    enum pg_fault_kind kind = rq->faulted ? r->kind : PG_FAULT_NONE;
    unsigned status = r->status ? r->status : MHD_HTTP_OK;
    struct MHD_Response *resp = NULL;
    struct reader *rd;
    enum MHD_Result ret;
    uint64_t size;
    const char *ctype = r->content_type;

    if (kind == PG_FAULT_STATUS)
        return queue_text(conn, r->fault_status ? r->fault_status : 503,
                          r->fault_headers, "fault\n");
    if (kind == PG_FAULT_RETRY_DATE) {
        char hdr[128];

        retry_date(hdr, sizeof(hdr), r->retry_s);
        return queue_text(conn, MHD_HTTP_TOO_MANY_REQUESTS, hdr, "slow down\n");
    }
    if (kind == PG_FAULT_GZIP_BOMB) {
        size_t len;
        const void *b = pg_fault_gzip_bomb(&len);

        resp = MHD_create_response_from_buffer(len, (void *)b,
                                               MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, "Content-Encoding", "gzip");
        if (!ctype)
            ctype = "application/octet-stream";
    } else if (r->kind == PG_FAULT_FILES) {
        size_t sz = pg_fault_file_size(r, (size_t)rq->file);

        rd = xcalloc(1, sizeof(*rd));
        rd->srv = srv;
        rd->kind = PG_FAULT_NONE;
        rd->fd = rq->fd;
        rd->start = rq->start;
        rd->seed = file_seed((size_t)rq->file);
        rd->len = sz;
        resp = MHD_create_response_from_callback(sz, 16 * 1024, read_body,
                                                 rd, free_reader);
        if (!resp)
            free(rd);
        if (!ctype)
            ctype = "application/octet-stream";
    } else if (r->body && kind == PG_FAULT_NONE &&
               !(r->flags & PG_FAULT_CHUNKED)) {
        resp = MHD_create_response_from_buffer(
            r->body_len, (void *)r->body, MHD_RESPMEM_PERSISTENT);
    } else {
        uint64_t real = r->body ? r->body_len : r->gen_len;

        int slow = kind == PG_FAULT_SHORT || kind == PG_FAULT_RESET ||
                   kind == PG_FAULT_STALL || kind == PG_FAULT_DRIP;

        rd = xcalloc(1, sizeof(*rd));
        rd->srv = srv;
        rd->kind = slow ? kind : PG_FAULT_NONE;
        rd->fd = rq->fd;
        rd->start = rq->start;
        rd->body = r->body;
        rd->body_len = r->body_len;
        rd->seed = r->gen_seed;
        rd->interval_ms = r->interval_ms ? r->interval_ms : 1000;
        size = real;
        if (slow) {
            if (r->claim)
                size = r->claim;
            rd->cut = r->cut;
            if (!rd->cut && (kind == PG_FAULT_SHORT ||
                             kind == PG_FAULT_RESET))
                rd->cut = size / 2;
        }
        rd->len = size;
        if (r->flags & PG_FAULT_CHUNKED) {
            if (kind == PG_FAULT_DRIP || kind == PG_FAULT_STALL)
                rd->len = UINT64_MAX;
            size = MHD_SIZE_UNKNOWN;
        }
        resp = MHD_create_response_from_callback(size, 32 * 1024, read_body,
                                                 rd, free_reader);
        if (!resp)
            free(rd);
    }
    if (!resp)
        return MHD_NO;
    if ((ctype && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                          ctype) != MHD_YES) ||
        add_headers(resp, r->headers) != MHD_YES ||
        (kind != PG_FAULT_NONE && add_headers(resp, rt->extra) != MHD_YES)) {
        fprintf(stderr, "fault server: cannot add the headers of '%s'\n",
                r->path);
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Which route (and file) a decoded path belongs to. */
static struct froute *find_route(struct pg_fault_server *srv,
                                 const char *url, long *file)
{
    *file = -1;
    for (size_t i = 0; i < srv->n; i++) {
        struct froute *rt = &srv->routes[i];

        if (rt->r.kind == PG_FAULT_FILES) {
            const char *p = url + rt->path_len;
            char *end;
            long v;

            if (strncmp(url, rt->r.path, rt->path_len) != 0)
                continue;
            if (strlen(p) != 10 || strcmp(p + 6, ".bin") != 0)
                continue;
            errno = 0;
            v = strtol(p, &end, 10);
            if (errno || end != p + 6 || v < 0 || (size_t)v >= rt->r.nfiles)
                continue;
            *file = v;
            return rt;
        }
        if (rt->r.flags & PG_FAULT_PREFIX) {
            if (!strncmp(url, rt->r.path, rt->path_len))
                return rt;
        } else if (!strcmp(url, rt->r.path)) {
            return rt;
        }
    }
    return NULL;
}

static unsigned client_port(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr_in *sin;

    if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
        return 0;
    sin = (const struct sockaddr_in *)(const void *)ci->client_addr;
    return ntohs(sin->sin_port);
}

static int conn_fd(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

    return ci ? (int)ci->connect_fd : -1;
}

/* First handler call of a request: count, number and log it. */
static struct freq *arrive(struct pg_fault_server *srv,
                           struct MHD_Connection *conn, const char *url)
{
    struct freq *rq = xcalloc(1, sizeof(*rq));
    unsigned long nth;
    unsigned now;
    unsigned peak;

    rq->start = pg_fault_now();
    rq->fd = conn_fd(conn);
    rq->rt = find_route(srv, url, &rq->file);
    rq->log_idx = (size_t)-1;
    atomic_fetch_add(&srv->total, 1);
    now = atomic_fetch_add(&srv->inflight, 1) + 1;
    peak = atomic_load(&srv->peak);
    while (now > peak && !atomic_compare_exchange_weak(&srv->peak, &peak, now))
        ;
    if (!rq->rt) {
        nth = atomic_fetch_add(&srv->not_found, 1) + 1;
    } else {
        nth = atomic_fetch_add(&rq->rt->hits, 1) + 1;
        if (rq->file >= 0)
            nth = atomic_fetch_add(&rq->rt->file_hits[rq->file], 1) + 1;
        rq->faulted = rq->rt->r.kind != PG_FAULT_NONE &&
                      rq->rt->r.kind != PG_FAULT_FILES &&
                      (rq->rt->r.times == 0 || nth <= rq->rt->r.times);
    }
    pthread_mutex_lock(&srv->lock);
    if (srv->log_n == srv->log_cap && srv->log_cap < LOG_MAX) {
        size_t cap = srv->log_cap ? srv->log_cap * 2 : 1024;
        struct pg_fault_request *p;

        if (cap > LOG_MAX)
            cap = LOG_MAX;
        p = realloc(srv->log, cap * sizeof(*p));
        if (p) {
            srv->log = p;
            srv->log_cap = cap;
        }
    }
    if (srv->log_n < srv->log_cap) {
        struct pg_fault_request *e = &srv->log[srv->log_n];

        memset(e, 0, sizeof(*e));
        e->start = rq->start;
        e->route = rq->rt ? (int)(rq->rt - srv->routes) : -1;
        e->file = rq->file;
        e->nth = (unsigned)nth;
        e->port = client_port(conn);
        e->faulted = rq->faulted;
        snprintf(e->path, sizeof(e->path), "%s", url);
        rq->log_idx = srv->log_n++;
        rq->gen = srv->generation;
    }
    pthread_mutex_unlock(&srv->lock);
    return rq;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct pg_fault_server *srv = cls;
    struct freq *rq = *req_cls;
    unsigned delay;

    if (!rq) {
        /* Headers only: answer once the whole request has been read. */
        *req_cls = arrive(srv, conn, url);
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!rq->rt)
        return queue_text(conn, MHD_HTTP_NOT_FOUND, NULL, "not found\n");
    delay = rq->rt->r.delay_ms;
    if (rq->file >= 0 && rq->rt->r.slow_every &&
        (size_t)rq->file % rq->rt->r.slow_every == rq->rt->r.slow_every - 1)
        delay = rq->rt->r.slow_ms;
    if (delay && wait_until(srv, rq->fd, rq->start,
                            rq->start + delay / 1000.0) != 0)
        return MHD_NO;
    return answer(srv, conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **req_cls, enum MHD_RequestTerminationCode toe)
{
    struct pg_fault_server *srv = cls;
    struct freq *rq = *req_cls;

    if (!rq)
        return;
    pthread_mutex_lock(&srv->lock);
    if (rq->log_idx != (size_t)-1 && rq->gen == srv->generation &&
        rq->log_idx < srv->log_n)
        srv->log[rq->log_idx].end = pg_fault_now();
    pthread_mutex_unlock(&srv->lock);
    atomic_fetch_sub(&srv->inflight, 1);
    free(rq);
    *req_cls = NULL;
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
    char line[1024];

    if (!getenv("PG_TEST_SERVER_LOG"))
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "fault server: %s", line);
}

/* The header lines of BIG_HEADER / MANY_HEADERS routes. */
static char *make_extra(const struct pg_fault_route *r)
{
    size_t want = r->header_bytes;
    char *s;

    if (r->kind == PG_FAULT_BIG_HEADER) {
        s = xcalloc(want + 16, 1);
        memcpy(s, "X-Big: ", 7);
        memset(s + 7, 'a', want > 7 ? want - 7 : 1);
        return s;
    }
    if (r->kind == PG_FAULT_MANY_HEADERS) {
        size_t len = 0;
        size_t cap = want + 2048;
        unsigned k = 0;

        s = xcalloc(cap, 1);
        while (len < want) {
            int n = snprintf(s + len, cap - len, "X-Pad-%05u: ", k++);

            len += (size_t)n;
            memset(s + len, 'b', 1000);
            len += 1000;
            s[len++] = '\n';
        }
        s[len] = '\0';
        return s;
    }
    return NULL;
}

struct pg_fault_server *pg_fault_start(const struct pg_fault_route *routes,
                                       size_t n, const char *addr)
{
    struct pg_fault_server *srv = xcalloc(1, sizeof(*srv));
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    size_t mem = 64 * 1024;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;

    snprintf(srv->addr, sizeof(srv->addr), "%s", addr ? addr : "127.0.0.1");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, srv->addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "fault server: bad address '%s'\n", srv->addr);
        goto fail;
    }
    srv->routes = xcalloc(n, sizeof(*srv->routes));
    srv->n = n;
    if (pthread_mutex_init(&srv->lock, NULL) != 0)
        goto fail;
    srv->lock_ok = 1;
    for (size_t i = 0; i < n; i++) {
        struct froute *rt = &srv->routes[i];

        rt->r = routes[i];
        if (!rt->r.path) {
            fprintf(stderr, "fault server: route %zu has no path\n", i);
            goto fail;
        }
        rt->path_len = strlen(rt->r.path);
        if (rt->r.kind == PG_FAULT_FILES)
            rt->file_hits = xcalloc(rt->r.nfiles, sizeof(*rt->file_hits));
        rt->extra = make_extra(&rt->r);
        if (rt->extra && strlen(rt->extra) * 2 + 64 * 1024 > mem)
            mem = strlen(rt->extra) * 2 + 64 * 1024;
        if (rt->r.kind == PG_FAULT_GZIP_BOMB) {
            size_t len;

            pg_fault_gzip_bomb(&len);
        }
    }
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PG_FAULT_CAP_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)512,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_log, srv,
        MHD_OPTION_END);
    if (!srv->daemon) {
        fprintf(stderr, "fault server: cannot listen on %s\n", srv->addr);
        goto fail;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        fprintf(stderr, "fault server: cannot read the bound port\n");
        goto fail;
    }
    srv->port = info->port;
    return srv;

fail:
    pg_fault_stop(srv);
    return NULL;
}

void pg_fault_stop(struct pg_fault_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, 1);
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    for (size_t i = 0; srv->routes && i < srv->n; i++) {
        free(srv->routes[i].file_hits);
        free(srv->routes[i].extra);
    }
    if (srv->lock_ok)
        pthread_mutex_destroy(&srv->lock);
    free(srv->log);
    free(srv->routes);
    free(srv);
}

unsigned pg_fault_port(const struct pg_fault_server *srv)
{
    return srv->port;
}

char *pg_fault_url(const struct pg_fault_server *srv, const char *path)
{
    return pg_strdupf("http://%s:%u%s", srv->addr, srv->port, path);
}

unsigned long pg_fault_hits(struct pg_fault_server *srv, const char *path)
{
    for (size_t i = 0; i < srv->n; i++) {
        if (!strcmp(srv->routes[i].r.path, path))
            return atomic_load(&srv->routes[i].hits);
    }
    return atomic_load(&srv->not_found);
}

unsigned long pg_fault_file_hits(struct pg_fault_server *srv,
                                 const char *route_path, size_t i)
{
    for (size_t k = 0; k < srv->n; k++) {
        struct froute *rt = &srv->routes[k];

        if (rt->file_hits && !strcmp(rt->r.path, route_path))
            return i < rt->r.nfiles ? atomic_load(&rt->file_hits[i]) : 0;
    }
    return 0;
}

unsigned long pg_fault_total(struct pg_fault_server *srv)
{
    return atomic_load(&srv->total);
}

unsigned pg_fault_inflight_now(struct pg_fault_server *srv)
{
    return atomic_load(&srv->inflight);
}

unsigned pg_fault_peak(struct pg_fault_server *srv)
{
    return atomic_load(&srv->peak);
}

size_t pg_fault_requests(struct pg_fault_server *srv,
                         struct pg_fault_request *out, size_t max)
{
    size_t n;

    pthread_mutex_lock(&srv->lock);
    n = srv->log_n;
    if (out && max)
        memcpy(out, srv->log, (n < max ? n : max) * sizeof(*out));
    pthread_mutex_unlock(&srv->lock);
    return n;
}

size_t pg_fault_inflight(struct pg_fault_server *srv,
                         struct pg_fault_request *out, size_t max)
{
    size_t k = 0;

    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->log_n; i++) {
        if (srv->log[i].end != 0)
            continue;
        if (out && k < max)
            out[k] = srv->log[i];
        k++;
    }
    pthread_mutex_unlock(&srv->lock);
    return k;
}

size_t pg_fault_requests_for(struct pg_fault_server *srv, const char *path,
                             struct pg_fault_request *out, size_t max)
{
    size_t k = 0;

    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->log_n; i++) {
        if (strcmp(srv->log[i].path, path) != 0)
            continue;
        if (out && k < max)
            out[k] = srv->log[i];
        k++;
    }
    pthread_mutex_unlock(&srv->lock);
    return k;
}

void pg_fault_reset(struct pg_fault_server *srv)
{
    for (size_t i = 0; i < srv->n; i++) {
        struct froute *rt = &srv->routes[i];

        atomic_store(&rt->hits, 0);
        for (size_t k = 0; rt->file_hits && k < rt->r.nfiles; k++)
            atomic_store(&rt->file_hits[k], 0);
    }
    atomic_store(&srv->not_found, 0);
    atomic_store(&srv->total, 0);
    atomic_store(&srv->peak, atomic_load(&srv->inflight));
    pthread_mutex_lock(&srv->lock);
    srv->log_n = 0;
    srv->generation++;
    pthread_mutex_unlock(&srv->lock);
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

static int verbose(void)
{
    const char *v = getenv("PG_TEST_VERBOSE");

    return v && *v && strcmp(v, "0") != 0;
}

void pg_proc_start(struct pg_test *t, struct pg_proc *p,
                   const char *stdin_path, unsigned flags,
                   const char *const *args)
{
    char **argv;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc;
    char eb[128];

    memset(p, 0, sizeof(*p));
    t->runs++;
    snprintf(p->out_path, sizeof(p->out_path), "%s/run%u.stdout", t->dir,
             t->runs);
    snprintf(p->err_path, sizeof(p->err_path), "%s/run%u.stderr", t->dir,
             t->runs);
    argv = pg_test_argv(t, args);
    p->cmd = pg_test_join_argv(argv);
    if (verbose())
        fprintf(stderr, "+ %s &\n", p->cmd);
    pg_spawn_prepare(t, &fa, &attr, stdin_path, p->out_path, p->err_path);
    if (flags & PG_PROC_OWN_GROUP) {
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                 POSIX_SPAWN_SETSIGDEF |
                                 POSIX_SPAWN_SETPGROUP);
        p->own_group = 1;
    }
    p->start = pg_fault_now();
    rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(argv);
    if (rc != 0)
        pg_test_fail(t, "cannot run '%s': %s", t->bin,
                     errtext(rc, eb, sizeof(eb)));
    snprintf(t->last_err, sizeof(t->last_err), "%s", p->err_path);
}

int pg_proc_done(struct pg_proc *p)
{
    int status;
    pid_t w;

    if (p->done)
        return 1;
    w = waitpid(p->pid, &status, WNOHANG);
    if (w == p->pid) {
        p->done = 1;
        p->status = status;
        p->end = pg_fault_now();
        return 1;
    }
    return 0;
}

int pg_proc_wait(struct pg_test *t, struct pg_proc *p, unsigned timeout_s,
                 int allow_signal, struct pg_run *r)
{
    unsigned limit = pg_test_scaled(timeout_s ? timeout_s : 60);
    double deadline = p->start + limit;

    memset(r, 0, sizeof(*r));
    while (!pg_proc_done(p)) {
        if (pg_fault_now() >= deadline) {
            if (p->own_group)
                kill(-p->pid, SIGKILL);
            kill(p->pid, SIGKILL);
            while (!pg_proc_done(p))
                pg_fault_sleep_ms(5);
            pg_test_fail(t, "time limit of %u s exceeded (killed): %s",
                         limit, p->cmd);
        }
        pg_fault_sleep_ms(5);
    }
    r->secs = p->end - p->start;
    snprintf(r->out_path, sizeof(r->out_path), "%s", p->out_path);
    snprintf(r->err_path, sizeof(r->err_path), "%s", p->err_path);
    r->out = pg_read_file(p->out_path, &r->out_len);
    r->err = pg_read_file(p->err_path, &r->err_len);
    if (!r->out || !r->err)
        pg_test_fail(t, "cannot read the captured output of: %s", p->cmd);
    if (verbose()) {
        fprintf(stderr, "  -> %s %d after %.2f s\n",
                WIFEXITED(p->status) ? "exit" : "signal",
                WIFEXITED(p->status) ? WEXITSTATUS(p->status)
                                     : WTERMSIG(p->status),
                r->secs);
        if (r->err_len)
            fprintf(stderr, "%s%s", r->err,
                    r->err[r->err_len - 1] == '\n' ? "" : "\n");
    }
    if (WIFSIGNALED(p->status)) {
        if (!allow_signal)
            pg_test_fail(t, "killed by signal %d: %s", WTERMSIG(p->status),
                         p->cmd);
        r->code = 128 + WTERMSIG(p->status);
    } else {
        r->code = WEXITSTATUS(p->status);
    }
    return r->code;
}

/* Parse "/proc/<pid>/stat": state and parent. 0 on success. */
static int read_stat(const char *pid, char *state, pid_t *ppid)
{
    char path[64];
    char buf[1024];
    ssize_t n;
    int fd;
    char *p;
    char *end;
    long v;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: use the last
     * ')'. */
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
        return -1;
    *state = p[2];
    errno = 0;
    v = strtol(p + 4, &end, 10);
    if (errno || end == p + 4)
        return -1;
    *ppid = (pid_t)v;
    return 0;
}

size_t pg_proc_children(pid_t parent, struct pg_child *out, size_t max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t k = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char state;
        pid_t ppid;
        char *end;
        long v;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        errno = 0;
        v = strtol(e->d_name, &end, 10);
        if (errno || *end)
            continue;
        if (read_stat(e->d_name, &state, &ppid) != 0 || ppid != parent)
            continue;
        if (out && k < max) {
            out[k].pid = (pid_t)v;
            out[k].state = state;
        }
        k++;
    }
    closedir(d);
    return k;
}

/* The inode of the TCP socket whose local port is port (any 127.x). */
static unsigned long socket_inode(unsigned port)
{
    FILE *f = fopen("/proc/net/tcp", "re");
    char line[512];
    unsigned long found = 0;

    if (!f)
        return 0;
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return 0;
    }
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned laddr;
        unsigned lport;
        unsigned raddr;
        unsigned rport;
        unsigned st;
        unsigned long inode;

        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*u: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u "
                   "%lu", &laddr, &lport, &raddr, &rport, &st, &inode) != 6)
            continue;
        if (lport == port && inode != 0)
            found = inode;
    }
    fclose(f);
    return found;
}

static int holds_inode(pid_t pid, unsigned long inode)
{
    char dir[64];
    char want[64];
    DIR *d;
    struct dirent *e;
    int found = 0;

    snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    d = opendir(dir);
    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[64 + 256 + 2];
        char link[64];
        ssize_t n;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        n = readlink(path, link, sizeof(link) - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        found = !strcmp(link, want);
    }
    closedir(d);
    return found;
}

pid_t pg_proc_socket_owner(pid_t parent, unsigned port)
{
    unsigned long inode = socket_inode(port);
    struct pg_child kids[1100];
    size_t n;

    if (!inode)
        return 0;
    n = pg_proc_children(parent, kids, sizeof(kids) / sizeof(kids[0]));
    if (n > sizeof(kids) / sizeof(kids[0]))
        n = sizeof(kids) / sizeof(kids[0]);
    for (size_t i = 0; i < n; i++) {
        if (holds_inode(kids[i].pid, inode))
            return kids[i].pid;
    }
    return holds_inode(parent, inode) ? parent : 0;
}

/* ------------------------------------------------------------------ */
/* Namespaces                                                          */
/* ------------------------------------------------------------------ */

static int set_err(char *err, size_t len, const char *what)
{
    char eb[128];

    snprintf(err, len, "%s: %s", what, errtext(errno, eb, sizeof(eb)));
    return -1;
}

static int if_up(int s, const char *name)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        return -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(s, SIOCSIFFLAGS, &ifr);
}

int pg_fault_netns(const char *const *extra_addrs, char *err, size_t len)
{
    int s;

    if (unshare(CLONE_NEWNET) != 0)
        return set_err(err, len, "unshare(CLONE_NEWNET)");
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return set_err(err, len, "socket");
    if (if_up(s, "lo") != 0) {
        set_err(err, len, "cannot bring 'lo' up");
        close(s);
        return -1;
    }
    for (size_t i = 0; extra_addrs && extra_addrs[i]; i++) {
        struct ifreq ifr;
        struct sockaddr_in *sin;

        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo:%u",
                 (unsigned)(i % 1000) + 1);
        sin = (struct sockaddr_in *)(void *)&ifr.ifr_addr;
        sin->sin_family = AF_INET;
        if (inet_pton(AF_INET, extra_addrs[i], &sin->sin_addr) != 1) {
            snprintf(err, len, "bad address '%s'", extra_addrs[i]);
            close(s);
            return -1;
        }
        if (ioctl(s, SIOCSIFADDR, &ifr) != 0) {
            set_err(err, len, "SIOCSIFADDR");
            close(s);
            return -1;
        }
        sin = (struct sockaddr_in *)(void *)&ifr.ifr_netmask;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(0xFFFFFFFFu);
        if (ioctl(s, SIOCSIFNETMASK, &ifr) != 0 ||
            if_up(s, ifr.ifr_name) != 0) {
            set_err(err, len, "cannot configure the extra address");
            close(s);
            return -1;
        }
    }
    close(s);
    return 0;
}

int pg_fault_tmpfs(const char *dir, size_t size, char *err, size_t len)
{
    char opts[64];

    if (unshare(CLONE_NEWNS) != 0)
        return set_err(err, len, "unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return set_err(err, len, "cannot make the mounts private");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return set_err(err, len, "mkdir");
    snprintf(opts, sizeof(opts), "size=%zu,mode=0755", size);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
        return set_err(err, len, "mount -t tmpfs");
    return 0;
}
