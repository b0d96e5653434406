/*
 * server.c - the one in-process libmicrohttpd test server (see server.h):
 * the route table with its normal answers (static bodies, directories,
 * numbered file families) and faults, the counters, the request log and
 * the generated bodies (pattern, files, gzip bomb).
 *
 * Not here: starting pagegrab, processes and namespaces (testlib.c,
 * fault.c).
 */
#include "bits.h"
#include "server.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

/* Request headers of the last request, as "Name: value\n" lines. */
#define HEADERS_MAX 8192
/* Distinct Host header values tracked for the per-host peaks. */
#define HOSTS_MAX 32
/* Requests kept in the request log (later ones are counted, not logged). */
#define LOG_MAX 200000
/* How often slow routes look at the client and the stop flag. */
#define POLL_MS 20

struct counts {
    atomic_ulong get;
    atomic_ulong head;
    atomic_ulong other;
    atomic_ulong all;            /* numbers the requests for `times` */
};

struct route {
    struct pg_test_route r;
    size_t path_len;
    struct counts hits;
    atomic_ulong *file_hits;     /* PG_ROUTE_FILES: nfiles counters */
    char *extra;                 /* BIG/MANY_HEADERS: the header lines */
    char *last_headers;          /* guarded by the server's lock */
    atomic_ulong not_modified;   /* 304 answers */
};

/* Per Host header value: requests waiting for their response. */
struct host_slot {
    char name[PG_TEST_HOST_MAX];
    unsigned waiting;
    unsigned peak;
};

struct pg_test_server {
    struct MHD_Daemon *daemon;
    int tls;                     /* https */
    char *tls_cert, *tls_key;    /* PEM text (MHD keeps pointers) */
    unsigned port;
    char addr[INET_ADDRSTRLEN];
    struct route *routes;
    size_t n;
    struct counts not_found;
    atomic_ulong total;
    atomic_uint inflight;
    atomic_uint peak;
    atomic_int stopping;
    pthread_mutex_t lock;
    int lock_ok;
    /* The rest is guarded by lock. */
    struct host_slot hosts[HOSTS_MAX];
    size_t nhosts;
    unsigned waiting;
    unsigned wait_peak;
    struct pg_test_request *log;
    size_t log_n;
    size_t log_cap;
    unsigned long generation;    /* bumped by reset */
};

/*
 * The state of one request, from its first handler call to the
 * completion notice (libmicrohttpd's per-request closure).
 */
struct request {
    struct route *rt;            /* NULL: no route (404) */
    long file;
    int faulted;
    int fd;
    size_t log_idx;              /* (size_t)-1: not logged */
    unsigned long gen;           /* the log's generation at arrival */
    double start;
    int host;                    /* index into hosts, or -1 */
    int waiting;                 /* still counted as waiting */
};

/* What a callback response sends; owned by the response. */
struct reader {
    struct pg_test_server *srv;
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


static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p) {
        fputs("test server: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static double now_secs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copy src into a fixed buffer, truncating. */
static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Count a request; returns its number among all methods. */
static unsigned long count(struct counts *c, const char *method)
{
    if (!strcmp(method, "GET"))
        atomic_fetch_add(&c->get, 1);
    else if (!strcmp(method, "HEAD"))
        atomic_fetch_add(&c->head, 1);
    else
        atomic_fetch_add(&c->other, 1);
    return atomic_fetch_add(&c->all, 1) + 1;
}

static unsigned long count_get(const struct counts *c, const char *method)
{
    /* The atomics are only read; the casts drop const for C11's API. */
    struct counts *m = (struct counts *)c;

    if (!method)
        return atomic_load(&m->all);
    if (!strcmp(method, "GET"))
        return atomic_load(&m->get);
    if (!strcmp(method, "HEAD"))
        return atomic_load(&m->head);
    return atomic_load(&m->other);
}

static void count_zero(struct counts *c)
{
    atomic_store(&c->get, 0);
    atomic_store(&c->head, 0);
    atomic_store(&c->other, 0);
    atomic_store(&c->all, 0);
}

/* ------------------------------------------------------------------ */
/* Bodies                                                              */
/* ------------------------------------------------------------------ */


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

char *pg_fault_file_path(const struct pg_test_route *r, size_t i)
{
    return pg_strdupf("%s%06zu.bin", r->path, i);
}

size_t pg_fault_file_size(const struct pg_test_route *r, size_t i)
{
    size_t span = r->size_max > r->size_min ? r->size_max - r->size_min : 0;

    return r->size_min + (size_t)(mix64(i ^ 0xF11E5ull) % (span + 1));
}

static uint32_t file_seed(size_t i)
{
    return (uint32_t)(i + 1) ^ 0x5EED0000u;
}

void pg_fault_file_fill(const struct pg_test_route *r, size_t i, void *buf)
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
/* Answers                                                             */
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
static int wait_until(struct pg_test_server *srv, int fd, double start,
                      double until)
{
    for (;;) {
        double now = now_secs();
        double left = until - now;

        if (atomic_load(&srv->stopping) || client_gone(fd) ||
            now - start > PG_FAULT_CAP_S)
            return -1;
        if (left <= 0)
            return 0;
        sleep_ms(left * 1000 < POLL_MS ? (unsigned)(left * 1000) + 1
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
            rd->next = now_secs() + rd->interval_ms / 1000.0;
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

static const char *guess_type(const char *name)
{
    static const char *const table[][2] = {
        {".html", "text/html"},  {".htm", "text/html"},
        {".css", "text/css"},    {".js", "application/javascript"},
        {".txt", "text/plain"},  {".json", "application/json"},
        {".png", "image/png"},   {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
        {".svg", "image/svg+xml"},
    };
    const char *dot = strrchr(name, '.');

    if (dot && !strchr(dot, '/')) {
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
            if (!strcmp(dot, table[i][0]))
                return table[i][1];
        }
    }
    return "application/octet-stream";
}

/* Does the (decoded) path contain a ".." segment? */
static int has_dotdot(const char *path)
{
    const char *p = path;

    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* A file's ETag ("size-mtime", hex) and Last-Modified (IMF-fixdate). */
static void file_validators(const struct stat *st, char *etag, size_t elen,
                            char *lastmod, size_t llen)
{
    struct tm tm;
    time_t mt = st->st_mtim.tv_sec;

    snprintf(etag, elen, "\"%llx-%llx%09ld\"",
             (unsigned long long)st->st_size, (unsigned long long)mt,
             (long)st->st_mtim.tv_nsec);
    gmtime_r(&mt, &tm);
    strftime(lastmod, llen, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* RFC 9110 13.2.2: If-None-Match decides when present; else an
 * If-Modified-Since equal to the file's date (what a client echoes). */
static int dir_not_modified(struct MHD_Connection *conn, const char *etag,
                            const char *lastmod)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  "If-None-Match");
    const char *ims = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  "If-Modified-Since");

    if (inm)
        return strstr(inm, etag) != NULL || !strcmp(inm, "*");
    return ims && !strcmp(ims, lastmod);
}

static enum MHD_Result serve_dir(struct MHD_Connection *conn,
                                 const struct route *rt, const char *url)
{
    const char *rel = url + rt->path_len;
    const char *name;
    char path[4096];
    struct stat st;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char etag[64], lastmod[40];
    int fd;
    int n;

    while (*rel == '/')
        rel++;
    if (has_dotdot(rel))
        return queue_text(conn, MHD_HTTP_FORBIDDEN, NULL, "forbidden\n");
    n = snprintf(path, sizeof(path), "%s/%s", rt->r.dir, rel);
    if (n < 0 || (size_t)n >= sizeof(path))
        return queue_text(conn, MHD_HTTP_NOT_FOUND, NULL, "not found\n");
    name = path;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) != 0) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0 && S_ISDIR(st.st_mode)) {
        int dfd = fd;

        fd = openat(dfd, "index.html", O_RDONLY | O_CLOEXEC);
        close(dfd);
        name = "index.html";
        if (fd >= 0 && fstat(fd, &st) != 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        return queue_text(conn, MHD_HTTP_NOT_FOUND, NULL, "not found\n");
    /* Validators as a static file server gives them: an ETag from size
     * and mtime, Last-Modified from mtime; a request that still holds
     * them gets 304 and no body. */
    file_validators(&st, etag, sizeof(etag), lastmod, sizeof(lastmod));
    if (dir_not_modified(conn, etag, lastmod)) {
        close(fd);
        resp = MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "ETag", etag);
        MHD_add_response_header(resp, "Last-Modified", lastmod);
        ret = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    /* On success the response owns fd and closes it when destroyed. */
    resp = MHD_create_response_from_fd((size_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            guess_type(name));
    MHD_add_response_header(resp, "ETag", etag);
    MHD_add_response_header(resp, "Last-Modified", lastmod);
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* The route's ETag and Last-Modified headers, if it has them. */
static enum MHD_Result add_validators(struct MHD_Response *resp,
                                      const struct pg_test_route *r)
{
    if (r->etag && MHD_add_response_header(resp, "ETag", r->etag) != MHD_YES)
        return MHD_NO;
    if (r->last_modified &&
        MHD_add_response_header(resp, "Last-Modified", r->last_modified) !=
            MHD_YES)
        return MHD_NO;
    return MHD_YES;
}

/* Whether the request's validators match the route's (RFC 9110 13.2.2:
 * If-None-Match first; If-Modified-Since only without it). */
static int not_modified(struct MHD_Connection *conn,
                        const struct pg_test_route *r)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  "If-None-Match");
    const char *ims = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  "If-Modified-Since");

    if (inm)
        return r->etag && strstr(inm, r->etag) != NULL;
    return ims && r->last_modified && !strcmp(ims, r->last_modified);
}

static enum MHD_Result queue_not_modified(struct MHD_Connection *conn,
                                          struct route *rt)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    if (add_validators(resp, &rt->r) != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    atomic_fetch_add(&rt->not_modified, 1);
    ret = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result answer(struct pg_test_server *srv,
                              struct MHD_Connection *conn, struct request *rq)
{
    const struct route *rt = rq->rt;
    const struct pg_test_route *r = &rt->r;
    enum pg_fault_kind kind = rq->faulted ? r->fault : PG_FAULT_NONE;
    unsigned status = r->status ? r->status : MHD_HTTP_OK;
    struct MHD_Response *resp = NULL;
    struct reader *rd;
    enum MHD_Result ret;
    uint64_t size;
    const char *ctype = r->content_type;

    /* Route data a test wrote after the start (pg_test_server_publish)
     * is read after this: the lock orders the two threads. */
    pthread_mutex_lock(&srv->lock);
    pthread_mutex_unlock(&srv->lock);
    if (kind == PG_FAULT_STATUS)
        return queue_text(conn, r->fault_status ? r->fault_status : 503,
                          r->fault_headers, "fault\n");
    if (kind == PG_FAULT_NONE && not_modified(conn, r))
        return queue_not_modified(conn, (struct route *)rt);
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
    } else if (r->kind == PG_ROUTE_FILES) {
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
    } else if ((r->body || !r->gen_len) && kind == PG_FAULT_NONE &&
               !(r->flags & PG_ROUTE_CHUNKED)) {
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
        if (r->flags & PG_ROUTE_CHUNKED) {
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
        add_validators(resp, r) != MHD_YES ||
        (kind != PG_FAULT_NONE && add_headers(resp, rt->extra) != MHD_YES)) {
        fprintf(stderr, "test server: cannot add the headers of '%s'\n",
                r->path);
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */


/* Which route (and file) a decoded path belongs to. */
static struct route *find_route(struct pg_test_server *srv,
                                 const char *url, long *file)
{
    *file = -1;
    for (size_t i = 0; i < srv->n; i++) {
        struct route *rt = &srv->routes[i];

        if (rt->r.kind == PG_ROUTE_FILES) {
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
        if (rt->r.kind == PG_ROUTE_DIR || (rt->r.flags & PG_ROUTE_PREFIX)) {
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

struct header_sink {
    char *buf;
    size_t len;
};

static enum MHD_Result add_header_line(void *cls, enum MHD_ValueKind kind,
                                       const char *key, const char *value)
{
    struct header_sink *hs = cls;
    int n = snprintf(hs->buf + hs->len, HEADERS_MAX - hs->len, "%s: %s\n",
                     key, value ? value : "");

    if (n < 0 || (size_t)n >= HEADERS_MAX - hs->len)
        return MHD_NO;
    hs->len += (size_t)n;
    return MHD_YES;
}

/* Keep the request headers of the latest request to rt. */
static void capture_headers(struct pg_test_server *srv, struct route *rt,
                            struct MHD_Connection *conn)
{
    struct header_sink hs;
    char *buf = malloc(HEADERS_MAX);

    if (!buf)
        return;
    buf[0] = '\0';
    hs.buf = buf;
    hs.len = 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header_line, &hs);
    pthread_mutex_lock(&srv->lock);
    free(rt->last_headers);
    rt->last_headers = buf;
    pthread_mutex_unlock(&srv->lock);
}

/*
 * Count a request as waiting (overall and for its Host header) and
 * append it to the request log (*log_idx: its entry, or (size_t)-1 when
 * the log is full). Returns the host slot index, or -1 when the table of
 * hosts is full. Called with the lock held.
 */
static int note_arrival(struct pg_test_server *srv, const char *host,
                        const char *method, const char *url,
                        size_t *log_idx)
{
    int slot = -1;

    for (size_t i = 0; i < srv->nhosts; i++) {
        if (!strcmp(srv->hosts[i].name, host)) {
            slot = (int)i;
            break;
        }
    }
    if (slot < 0 && srv->nhosts < HOSTS_MAX) {
        slot = (int)srv->nhosts++;
        copy_str(srv->hosts[slot].name, sizeof(srv->hosts[slot].name), host);
    }
    if (slot >= 0) {
        struct host_slot *h = &srv->hosts[slot];

        h->waiting++;
        if (h->waiting > h->peak)
            h->peak = h->waiting;
    }
    srv->waiting++;
    if (srv->waiting > srv->wait_peak)
        srv->wait_peak = srv->waiting;
    if (srv->log_n == srv->log_cap && srv->log_cap < LOG_MAX) {
        size_t cap = srv->log_cap ? srv->log_cap * 2 : 256;
        struct pg_test_request *p;

        if (cap > LOG_MAX)
            cap = LOG_MAX;
        p = realloc(srv->log, cap * sizeof(*p));
        if (p) {
            srv->log = p;
            srv->log_cap = cap;
        }
    }
    *log_idx = (size_t)-1;
    if (srv->log_n < srv->log_cap) {
        struct pg_test_request *e = &srv->log[srv->log_n];

        memset(e, 0, sizeof(*e));
        *log_idx = srv->log_n++;
        e->start = now_secs();
        copy_str(e->method, sizeof(e->method), method);
        copy_str(e->host, sizeof(e->host), host);
        copy_str(e->path, sizeof(e->path), url);
    }
    return slot;
}

/* The request no longer waits: its response is about to be sent (or it
 * failed). Takes the lock. */
static void end_waiting(struct pg_test_server *srv, struct request *rq)
{
    if (!rq->waiting)
        return;
    pthread_mutex_lock(&srv->lock);
    rq->waiting = 0;
    if (rq->host >= 0)
        srv->hosts[rq->host].waiting--;
    srv->waiting--;
    pthread_mutex_unlock(&srv->lock);
}

/* First handler call of a request: count, number and log it. */
static struct request *arrive(struct pg_test_server *srv,
                              struct MHD_Connection *conn, const char *url,
                              const char *method)
{
    struct request *rq = xcalloc(1, sizeof(*rq));
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_HOST);
    unsigned long nth;
    unsigned now;
    unsigned peak;

    rq->start = now_secs();
    rq->fd = conn_fd(conn);
    rq->rt = find_route(srv, url, &rq->file);
    rq->log_idx = (size_t)-1;
    atomic_fetch_add(&srv->total, 1);
    now = atomic_fetch_add(&srv->inflight, 1) + 1;
    peak = atomic_load(&srv->peak);
    while (now > peak && !atomic_compare_exchange_weak(&srv->peak, &peak, now))
        ;
    if (!rq->rt) {
        nth = count(&srv->not_found, method);
    } else {
        nth = count(&rq->rt->hits, method);
        if (rq->file >= 0)
            nth = atomic_fetch_add(&rq->rt->file_hits[rq->file], 1) + 1;
        rq->faulted = rq->rt->r.fault != PG_FAULT_NONE &&
                      (rq->rt->r.times == 0 || nth <= rq->rt->r.times);
        capture_headers(srv, rq->rt, conn);
    }
    pthread_mutex_lock(&srv->lock);
    rq->host = note_arrival(srv, host ? host : "", method, url,
                            &rq->log_idx);
    rq->waiting = 1;
    if (rq->log_idx != (size_t)-1) {
        struct pg_test_request *e = &srv->log[rq->log_idx];

        e->start = rq->start;
        e->route = rq->rt ? (int)(rq->rt - srv->routes) : -1;
        e->file = rq->file;
        e->nth = (unsigned)nth;
        e->port = client_port(conn);
        e->faulted = rq->faulted;
        rq->gen = srv->generation;
    }
    pthread_mutex_unlock(&srv->lock);
    return rq;
}

/* 1 if the request carries every header of require (see server.h). */
static int has_required(struct MHD_Connection *conn, const char *require)
{
    char line[1024];

    while (require && *require) {
        const char *nl = strchr(require, '\n');
        size_t n = nl ? (size_t)(nl - require) : strlen(require);
        char *colon, *want;
        const char *got;

        if (n >= sizeof(line))
            n = sizeof(line) - 1;
        memcpy(line, require, n);
        line[n] = '\0';
        require += n + (nl ? 1 : 0);
        colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        for (want = colon + 1; *want == ' '; want++)
            ;
        got = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, line);
        if (!got || !strstr(got, want))
            return 0;
    }
    return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct pg_test_server *srv = cls;
    struct request *rq = *req_cls;
    unsigned delay;

    if (!rq) {
        /* First call: headers only. Count the request and answer on a
         * later call, once the whole request has been read (answering
         * early makes libmicrohttpd close the connection). */
        *req_cls = arrive(srv, conn, url, method);
        return MHD_YES;
    }
    /* Swallow any request body. */
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!rq->rt) {
        end_waiting(srv, rq);
        return queue_text(conn, MHD_HTTP_NOT_FOUND, NULL, "not found\n");
    }
    delay = rq->rt->r.delay_ms;
    if (rq->file >= 0 && rq->rt->r.slow_every &&
        (size_t)rq->file % rq->rt->r.slow_every == rq->rt->r.slow_every - 1)
        delay = rq->rt->r.slow_ms;
    if (delay && wait_until(srv, rq->fd, rq->start,
                            rq->start + delay / 1000.0) != 0) {
        end_waiting(srv, rq);
        return MHD_NO;
    }
    end_waiting(srv, rq);
    if (!has_required(conn, rq->rt->r.require))
        return queue_text(conn, MHD_HTTP_FORBIDDEN, NULL, "forbidden\n");
    if (rq->rt->r.kind == PG_ROUTE_DIR)
        return serve_dir(conn, rq->rt, url);
    return answer(srv, conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **req_cls, enum MHD_RequestTerminationCode toe)
{
    struct pg_test_server *srv = cls;
    struct request *rq = *req_cls;

    if (!rq)
        return;
    end_waiting(srv, rq);
    pthread_mutex_lock(&srv->lock);
    if (rq->log_idx != (size_t)-1 && rq->gen == srv->generation &&
        rq->log_idx < srv->log_n)
        srv->log[rq->log_idx].end = now_secs();
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
    fprintf(stderr, "test server: %s", line);
}

/* ------------------------------------------------------------------ */
/* Start, stop, queries                                                */
/* ------------------------------------------------------------------ */


/* The header lines of BIG_HEADER / MANY_HEADERS routes. */
static char *make_extra(const struct pg_test_route *r)
{
    size_t want = r->header_bytes;
    char *s;

    if (r->fault == PG_FAULT_BIG_HEADER) {
        s = xcalloc(want + 16, 1);
        memcpy(s, "X-Big: ", 7);
        memset(s + 7, 'a', want > 7 ? want - 7 : 1);
        return s;
    }
    if (r->fault == PG_FAULT_MANY_HEADERS) {
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

/* Start the daemon: plain HTTP, or HTTPS with srv's PEM texts. */
static struct MHD_Daemon *start_daemon(struct pg_test_server *srv,
                                       struct sockaddr_in *sa, size_t mem)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;

    if (srv->tls)
        return MHD_start_daemon(
            flags | MHD_USE_TLS, 0, NULL, NULL, on_request, srv,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PG_FAULT_CAP_S,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)512,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
            MHD_OPTION_EXTERNAL_LOGGER, on_log, srv,
            MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key,
            MHD_OPTION_HTTPS_MEM_CERT, srv->tls_cert,
            MHD_OPTION_END);
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PG_FAULT_CAP_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)512,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_log, srv,
        MHD_OPTION_END);
}

static struct pg_test_server *start(const struct pg_test_route *routes,
                                    size_t n, const char *addr,
                                    const char *cert_file,
                                    const char *key_file)
{
    struct pg_test_server *srv = xcalloc(1, sizeof(*srv));
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    size_t mem = 64 * 1024;

    snprintf(srv->addr, sizeof(srv->addr), "%s", addr ? addr : "127.0.0.1");
    if (cert_file) {
        srv->tls = 1;
        srv->tls_cert = pg_read_file(cert_file, NULL);
        srv->tls_key = pg_read_file(key_file, NULL);
        if (!srv->tls_cert || !srv->tls_key) {
            fprintf(stderr, "test server: cannot read '%s' or '%s'\n",
                    cert_file, key_file);
            goto fail;
        }
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, srv->addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "test server: bad address '%s'\n", srv->addr);
        goto fail;
    }
    srv->routes = xcalloc(n, sizeof(*srv->routes));
    srv->n = n;
    if (pthread_mutex_init(&srv->lock, NULL) != 0)
        goto fail;
    srv->lock_ok = 1;
    for (size_t i = 0; i < n; i++) {
        struct route *rt = &srv->routes[i];

        rt->r = routes[i];
        if (!rt->r.path || (rt->r.kind == PG_ROUTE_DIR && !rt->r.dir)) {
            fprintf(stderr, "test server: route %zu is incomplete\n", i);
            goto fail;
        }
        rt->path_len = strlen(rt->r.path);
        if (rt->r.kind == PG_ROUTE_FILES)
            rt->file_hits = xcalloc(rt->r.nfiles, sizeof(*rt->file_hits));
        rt->extra = make_extra(&rt->r);
        if (rt->extra && strlen(rt->extra) * 2 + 64 * 1024 > mem)
            mem = strlen(rt->extra) * 2 + 64 * 1024;
        if (rt->r.fault == PG_FAULT_GZIP_BOMB) {
            size_t len;

            pg_fault_gzip_bomb(&len);
        }
    }
    srv->daemon = start_daemon(srv, &sa, mem);
    if (!srv->daemon) {
        fprintf(stderr, "test server: cannot listen on %s\n", srv->addr);
        goto fail;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        fprintf(stderr, "test server: cannot read the bound port\n");
        goto fail;
    }
    srv->port = info->port;
    return srv;

fail:
    pg_test_server_stop(srv);
    return NULL;
}

struct pg_test_server *pg_test_server_start_on(
    const struct pg_test_route *routes, size_t n, const char *addr)
{
    return start(routes, n, addr, NULL, NULL);
}

struct pg_test_server *pg_test_server_start(const struct pg_test_route *routes,
                                            size_t n)
{
    return start(routes, n, NULL, NULL, NULL);
}

int pg_test_server_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

struct pg_test_server *pg_test_server_start_tls(
    const struct pg_test_route *routes, size_t n, const char *cert_file,
    const char *key_file)
{
    if (!pg_test_server_tls_supported()) {
        fprintf(stderr, "test server: libmicrohttpd has no TLS\n");
        return NULL;
    }
    return start(routes, n, NULL, cert_file, key_file);
}

void pg_test_server_stop(struct pg_test_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, 1);
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    for (size_t i = 0; srv->routes && i < srv->n; i++) {
        free(srv->routes[i].file_hits);
        free(srv->routes[i].extra);
        free(srv->routes[i].last_headers);
    }
    if (srv->lock_ok)
        pthread_mutex_destroy(&srv->lock);
    free(srv->log);
    free(srv->routes);
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv);
}

unsigned pg_test_server_port(const struct pg_test_server *srv)
{
    return srv->port;
}

char *pg_test_server_url(const struct pg_test_server *srv, const char *path)
{
    return pg_strdupf("%s://%s:%u%s", srv->tls ? "https" : "http",
                      srv->addr, srv->port, path);
}

unsigned long pg_test_server_hits(const struct pg_test_server *srv,
                                  const char *path, const char *method)
{
    for (size_t i = 0; i < srv->n; i++) {
        if (!strcmp(srv->routes[i].r.path, path))
            return count_get(&srv->routes[i].hits, method);
    }
    return count_get(&srv->not_found, method);
}

unsigned long pg_test_server_file_hits(const struct pg_test_server *srv,
                                       const char *route_path, size_t i)
{
    for (size_t k = 0; k < srv->n; k++) {
        const struct route *rt = &srv->routes[k];

        if (rt->file_hits && !strcmp(rt->r.path, route_path))
            return i < rt->r.nfiles ? atomic_load(&rt->file_hits[i]) : 0;
    }
    return 0;
}

unsigned long pg_test_server_not_modified(const struct pg_test_server *srv,
                                          const char *path)
{
    for (size_t i = 0; i < srv->n; i++) {
        if (!strcmp(srv->routes[i].r.path, path))
            return atomic_load(&srv->routes[i].not_modified);
    }
    return 0;
}

int pg_test_server_set_route(struct pg_test_server *srv, const char *path,
                             const struct pg_test_route *r)
{
    for (size_t i = 0; i < srv->n; i++) {
        struct pg_test_route *d = &srv->routes[i].r;

        if (strcmp(d->path, path))
            continue;
        /* Under the lock: answer() takes it before reading the route. */
        pthread_mutex_lock(&srv->lock);
        d->status = r->status;
        d->headers = r->headers;
        d->body = r->body;
        d->body_len = r->body_len;
        d->content_type = r->content_type;
        d->etag = r->etag;
        d->last_modified = r->last_modified;
        pthread_mutex_unlock(&srv->lock);
        return 0;
    }
    return -1;
}

unsigned long pg_test_server_total(const struct pg_test_server *srv)
{
    return atomic_load(&((struct pg_test_server *)srv)->total);
}

unsigned pg_test_server_inflight(const struct pg_test_server *srv)
{
    return atomic_load(&((struct pg_test_server *)srv)->inflight);
}

unsigned pg_test_server_peak(const struct pg_test_server *srv)
{
    return atomic_load(&((struct pg_test_server *)srv)->peak);
}

void pg_test_server_publish(struct pg_test_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    pthread_mutex_unlock(&srv->lock);
}

void pg_test_server_reset(struct pg_test_server *srv)
{
    for (size_t i = 0; i < srv->n; i++) {
        struct route *rt = &srv->routes[i];

        count_zero(&rt->hits);
        for (size_t k = 0; rt->file_hits && k < rt->r.nfiles; k++)
            atomic_store(&rt->file_hits[k], 0);
    }
    count_zero(&srv->not_found);
    atomic_store(&srv->total, 0);
    atomic_store(&srv->peak, atomic_load(&srv->inflight));
    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->nhosts; i++)
        srv->hosts[i].peak = srv->hosts[i].waiting;
    srv->wait_peak = srv->waiting;
    srv->log_n = 0;
    srv->generation++;
    pthread_mutex_unlock(&srv->lock);
}

unsigned pg_test_server_wait_peak(struct pg_test_server *srv)
{
    unsigned peak;

    pthread_mutex_lock(&srv->lock);
    peak = srv->wait_peak;
    pthread_mutex_unlock(&srv->lock);
    return peak;
}

unsigned pg_test_server_host_peak(struct pg_test_server *srv,
                                  const char *host)
{
    unsigned peak = 0;

    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->nhosts; i++) {
        if (!strcmp(srv->hosts[i].name, host)) {
            peak = srv->hosts[i].peak;
            break;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return peak;
}

size_t pg_test_server_requests(struct pg_test_server *srv,
                               struct pg_test_request *out, size_t max)
{
    size_t n;

    pthread_mutex_lock(&srv->lock);
    n = srv->log_n;
    if (out && max)
        memcpy(out, srv->log, (n < max ? n : max) * sizeof(*out));
    pthread_mutex_unlock(&srv->lock);
    return n;
}

/* Copy the logged requests that keep(entry, arg) accepts; count them. */
static size_t log_select(struct pg_test_server *srv,
                         int (*keep)(const struct pg_test_request *,
                                     const void *),
                         const void *arg, struct pg_test_request *out,
                         size_t max)
{
    size_t k = 0;

    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->log_n; i++) {
        if (!keep(&srv->log[i], arg))
            continue;
        if (out && k < max)
            out[k] = srv->log[i];
        k++;
    }
    pthread_mutex_unlock(&srv->lock);
    return k;
}

static int is_inflight(const struct pg_test_request *r, const void *arg)
{
    (void)arg;
    return r->end == 0;
}

static int has_path(const struct pg_test_request *r, const void *path)
{
    return strcmp(r->path, path) == 0;
}

size_t pg_test_server_inflight_requests(struct pg_test_server *srv,
                                        struct pg_test_request *out,
                                        size_t max)
{
    return log_select(srv, is_inflight, NULL, out, max);
}

size_t pg_test_server_requests_for(struct pg_test_server *srv,
                                   const char *path,
                                   struct pg_test_request *out, size_t max)
{
    return log_select(srv, has_path, path, out, max);
}

unsigned long pg_test_server_count(struct pg_test_server *srv,
                                   const char *host, const char *path)
{
    unsigned long n = 0;

    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->log_n; i++) {
        const struct pg_test_request *e = &srv->log[i];

        if ((!host || !strcmp(e->host, host)) &&
            (!path || !strcmp(e->path, path)))
            n++;
    }
    pthread_mutex_unlock(&srv->lock);
    return n;
}

int pg_test_server_header(struct pg_test_server *srv, const char *path,
                          const char *name, char *buf, size_t len)
{
    size_t nlen = strlen(name);
    int found = 0;

    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < srv->n && !found; i++) {
        const char *p;

        if (strcmp(srv->routes[i].r.path, path) != 0)
            continue;
        pthread_mutex_lock(&srv->lock);
        p = srv->routes[i].last_headers;
        while (p && *p) {
            const char *eol = strchr(p, '\n');

            if (!eol)
                break;
            if (!strncasecmp(p, name, nlen) && p[nlen] == ':') {
                const char *v = p + nlen + 1;

                while (*v == ' ')
                    v++;
                snprintf(buf, len, "%.*s", (int)(eol - v), v);
                found = 1;
                break;
            }
            p = eol + 1;
        }
        pthread_mutex_unlock(&srv->lock);
        break;
    }
    return found;
}

struct pg_test_server *pg_test_server_must_start(
    struct pg_test *t, const struct pg_test_route *routes, size_t n)
{
    struct pg_test_server *srv = pg_test_server_start(routes, n);

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    return srv;
}
