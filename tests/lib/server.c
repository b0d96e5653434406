/*
 * server.c - the in-process libmicrohttpd test server (see server.h).
 */
#include "server.h"

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

struct counts {
    atomic_ulong get;
    atomic_ulong head;
    atomic_ulong other;
};

/* Request headers of the last request, as "Name: value\n" lines. */
#define HEADERS_MAX 8192
/* Distinct Host header values tracked for the per-host peaks. */
#define HOSTS_MAX 32
/* Requests kept in the request log (later ones are counted, not logged). */
#define LOG_MAX 20000

struct route {
    struct pg_test_route r;
    size_t path_len;
    struct counts hits;
    char *last_headers;      /* guarded by the server's lock */
};

/* Per Host header value: requests waiting for their response. */
struct host_slot {
    char name[PG_TEST_HOST_MAX];
    unsigned waiting;
    unsigned peak;
};

/*
 * The state of one request, from its first handler call to the
 * completion notice (libmicrohttpd's per-request closure).
 */
struct request {
    int host;                /* index into hosts, or -1 */
    int waiting;             /* still counted as waiting */
};

struct pg_test_server {
    struct MHD_Daemon *daemon;
    unsigned port;
    struct route *routes;
    size_t n;
    struct counts not_found;
    atomic_ulong total;
    atomic_uint inflight;
    atomic_uint peak;
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
};

static void count(struct counts *c, const char *method)
{
    if (!strcmp(method, "GET"))
        atomic_fetch_add(&c->get, 1);
    else if (!strcmp(method, "HEAD"))
        atomic_fetch_add(&c->head, 1);
    else
        atomic_fetch_add(&c->other, 1);
}

static unsigned long count_get(const struct counts *c, const char *method)
{
    /* The atomics are only read; the casts drop const for C11's API. */
    struct counts *m = (struct counts *)c;

    if (!method)
        return atomic_load(&m->get) + atomic_load(&m->head) +
               atomic_load(&m->other);
    if (!strcmp(method, "GET"))
        return atomic_load(&m->get);
    if (!strcmp(method, "HEAD"))
        return atomic_load(&m->head);
    return atomic_load(&m->other);
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

/*
 * Count a request as waiting (overall and for its Host header) and
 * append it to the request log. Returns the host slot index, or -1 when
 * the table of hosts is full. Called with the lock held.
 */
static int note_arrival(struct pg_test_server *srv, const char *host,
                        const char *method, const char *url)
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
    if (srv->log_n < srv->log_cap) {
        struct pg_test_request *e = &srv->log[srv->log_n++];

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

static struct route *find_route(struct pg_test_server *srv, const char *url)
{
    for (size_t i = 0; i < srv->n; i++) {
        struct route *rt = &srv->routes[i];

        if (rt->r.kind == PG_ROUTE_STATIC) {
            if (!strcmp(url, rt->r.path))
                return rt;
        } else if (!strncmp(url, rt->r.path, rt->path_len)) {
            return rt;
        }
    }
    return NULL;
}

static enum MHD_Result add_headers(struct MHD_Response *resp,
                                   const char *headers)
{
    const char *p = headers;

    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[2048];
        char *colon;
        char *value;

        if (len >= sizeof(line))
            return MHD_NO;
        memcpy(line, p, len);
        line[len] = '\0';
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        p = eol ? eol + 1 : p + len;
        if (!line[0])
            continue;
        colon = strchr(line, ':');
        if (!colon)
            return MHD_NO;
        *colon = '\0';
        value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        if (MHD_add_response_header(resp, line, value) != MHD_YES)
            return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result queue_simple(struct MHD_Connection *conn,
                                    unsigned status, const char *text)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                           MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A truncated body: serve the first half of the route's body, then fail. */
static ssize_t truncated_reader(void *cls, uint64_t pos, char *buf,
                                size_t max)
{
    const struct route *rt = cls;
    uint64_t half = rt->r.body_len / 2;
    size_t n;

    if (pos >= half)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    n = (size_t)(half - pos) < max ? (size_t)(half - pos) : max;
    memcpy(buf, (const char *)rt->r.body + pos, n);
    return (ssize_t)n;
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

static enum MHD_Result serve_dir(struct MHD_Connection *conn,
                                 const struct route *rt, const char *url)
{
    const char *rel = url + rt->path_len;
    const char *name;
    char path[4096];
    struct stat st;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    int fd;
    int n;

    while (*rel == '/')
        rel++;
    if (has_dotdot(rel))
        return queue_simple(conn, MHD_HTTP_FORBIDDEN, "forbidden\n");
    n = snprintf(path, sizeof(path), "%s/%s", rt->r.dir, rel);
    if (n < 0 || (size_t)n >= sizeof(path))
        return queue_simple(conn, MHD_HTTP_NOT_FOUND, "not found\n");
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
        return queue_simple(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    /* On success the response owns fd and closes it when destroyed. */
    resp = MHD_create_response_from_fd((size_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            guess_type(name));
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result serve_static(struct MHD_Connection *conn,
                                    const struct route *rt)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    unsigned status = rt->r.status ? rt->r.status : MHD_HTTP_OK;

    if (rt->r.flags & PG_ROUTE_TRUNCATE)
        resp = MHD_create_response_from_callback(
            rt->r.body_len, 32 * 1024, truncated_reader, (void *)rt, NULL);
    else
        resp = MHD_create_response_from_buffer(
            rt->r.body_len, (void *)rt->r.body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    if (rt->r.content_type &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                rt->r.content_type) != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    if (add_headers(resp, rt->r.headers) != MHD_YES) {
        fprintf(stderr, "test server: bad headers for route '%s'\n",
                rt->r.path);
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct pg_test_server *srv = cls;
    struct request *rq = *req_cls;
    struct route *rt;
    unsigned now;
    unsigned peak;

    if (!rq) {
        /* First call: headers only. Count the request and answer on a
         * later call, once the whole request has been read (answering
         * early makes libmicrohttpd close the connection). */
        const char *host = MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);

        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        *req_cls = rq;
        atomic_fetch_add(&srv->total, 1);
        now = atomic_fetch_add(&srv->inflight, 1) + 1;
        peak = atomic_load(&srv->peak);
        while (now > peak &&
               !atomic_compare_exchange_weak(&srv->peak, &peak, now))
            ;
        pthread_mutex_lock(&srv->lock);
        rq->host = note_arrival(srv, host ? host : "", method, url);
        rq->waiting = 1;
        pthread_mutex_unlock(&srv->lock);
        rt = find_route(srv, url);
        count(rt ? &rt->hits : &srv->not_found, method);
        if (rt)
            capture_headers(srv, rt, conn);
        return MHD_YES;
    }
    /* Swallow any request body. */
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    rt = find_route(srv, url);
    if (!rt) {
        end_waiting(srv, rq);
        return queue_simple(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    }
    if (rt->r.delay_ms)
        sleep_ms(rt->r.delay_ms);
    end_waiting(srv, rq);
    if (rt->r.kind == PG_ROUTE_DIR)
        return serve_dir(conn, rt, url);
    return serve_static(conn, rt);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **req_cls, enum MHD_RequestTerminationCode toe)
{
    struct pg_test_server *srv = cls;
    struct request *rq = *req_cls;

    if (rq) {
        end_waiting(srv, rq);
        atomic_fetch_sub(&srv->inflight, 1);
        free(rq);
        *req_cls = NULL;
    }
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
    char line[1024];

    if (!getenv("PG_TEST_SERVER_LOG"))
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "test server: %s", line);
}

struct pg_test_server *pg_test_server_start(const struct pg_test_route *routes,
                                            size_t n)
{
    struct pg_test_server *srv;
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;

    srv = calloc(1, sizeof(*srv));
    if (!srv)
        goto oom;
    srv->routes = calloc(n ? n : 1, sizeof(*srv->routes));
    if (!srv->routes)
        goto oom;
    srv->n = n;
    if (pthread_mutex_init(&srv->lock, NULL) != 0)
        goto fail;
    srv->lock_ok = 1;
    for (size_t i = 0; i < n; i++) {
        srv->routes[i].r = routes[i];
        if (!routes[i].path ||
            (routes[i].kind == PG_ROUTE_DIR && !routes[i].dir)) {
            fprintf(stderr, "test server: route %zu is incomplete\n", i);
            goto fail;
        }
        srv->routes[i].path_len = strlen(routes[i].path);
    }
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_log, srv,
        MHD_OPTION_END);
    if (!srv->daemon) {
        fprintf(stderr, "test server: cannot start libmicrohttpd\n");
        goto fail;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        fprintf(stderr, "test server: cannot read the bound port\n");
        goto fail;
    }
    srv->port = info->port;
    return srv;

oom:
    fprintf(stderr, "test server: out of memory\n");
fail:
    pg_test_server_stop(srv);
    return NULL;
}

unsigned pg_test_server_port(const struct pg_test_server *srv)
{
    return srv->port;
}

void pg_test_server_stop(struct pg_test_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    for (size_t i = 0; srv->routes && i < srv->n; i++)
        free(srv->routes[i].last_headers);
    if (srv->lock_ok)
        pthread_mutex_destroy(&srv->lock);
    free(srv->log);
    free(srv->routes);
    free(srv);
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

void pg_test_server_reset(struct pg_test_server *srv)
{
    for (size_t i = 0; i < srv->n; i++) {
        atomic_store(&srv->routes[i].hits.get, 0);
        atomic_store(&srv->routes[i].hits.head, 0);
        atomic_store(&srv->routes[i].hits.other, 0);
    }
    atomic_store(&srv->not_found.get, 0);
    atomic_store(&srv->not_found.head, 0);
    atomic_store(&srv->not_found.other, 0);
    atomic_store(&srv->total, 0);
    atomic_store(&srv->peak, 0);
    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->nhosts; i++)
        srv->hosts[i].peak = srv->hosts[i].waiting;
    srv->wait_peak = srv->waiting;
    srv->log_n = 0;
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
