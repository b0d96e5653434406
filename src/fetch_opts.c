/*
 * fetch_opts.c - the easy handle of a transfer slot: how it is
 * configured (protocols, redirects, timeouts, stall limit, user agent,
 * compression, HTTP/2, the size cap, the share) and the callbacks it is
 * given: the body and header writers, the abort check, and the
 * private-address guard (every connection opened, every request sent).
 * Also the share of DNS and TLS session caches between handles.
 *
 * It is not the running of transfers (fetch.c: slots, before and after
 * a transfer, the blocking and multi drivers).  New per-handle options
 * (TLS, proxy, cookies) belong here, in pg__xfer_init().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "mem.h"
#include "proxy.h"
#include "tls.h"
#include "util.h"

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct pg__xfer *x = ud;
    size_t n = size * nmemb, left = n;
    long code = 0;

    if (x->bytes == 0 && !x->discard) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299)
            x->discard = 1;
    }
    if (x->discard) {
        x->discarded += n;
        return x->discarded > PG_ERROR_BODY_MAX ? 0 : n;
    }
    if (x->f->cfg->max_size && x->bytes + n > x->f->cfg->max_size) {
        /* The decoded size counts, so a compressed bomb stops here. */
        x->too_large = 1;
        return 0;
    }
    if (x->sniff_len < PG_SNIFF) {
        size_t k = PG_SNIFF - x->sniff_len < n ? PG_SNIFF - x->sniff_len : n;

        memcpy(x->sniff + x->sniff_len, data, k);
        x->sniff_len += k;
    }
    if (x->f->cfg->hash)
        EVP_DigestUpdate(x->md, data, n);
    while (left > 0) {
        ssize_t w = write(x->fd, data, left);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->write_errno = w < 0 ? errno : ENOSPC;
            return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        data += w;
        left -= (size_t)w;
    }
    x->bytes += n;
    return n;
}

int pg__ip_is_private(const char *ip)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, ip, a) == 1) {
        return a[0] == 127 || a[0] == 10 || a[0] == 0 ||
               (a[0] == 172 && (a[1] & 0xf0) == 16) ||
               (a[0] == 192 && a[1] == 168) ||
               (a[0] == 169 && a[1] == 254) ||
               (a[0] == 100 && (a[1] & 0xc0) == 64);
    }
    if (inet_pton(AF_INET6, ip, a) == 1) {
        static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
                                                  0, 0, 0xff, 0xff };
        static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
        static const unsigned char zero[16];
        const unsigned char *v4 = NULL;
        char text[INET_ADDRSTRLEN];

        if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1))
            return 1;                        /* :: and ::1 */
        if ((a[0] & 0xfe) == 0xfc)
            return 1;                        /* fc00::/7 */
        if (a[0] == 0xfe && (a[1] & 0x80) == 0x80)
            return 1;                        /* fe80::/10, fec0::/10 */
        /* Ranges that carry an IPv4 address are judged by it:
         * ::ffff:0:0/96, NAT64 64:ff9b::/96, the IPv4-compatible ::/96
         * and 6to4 2002::/16. */
        if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12) ||
            !memcmp(a, zero, 12))
            v4 = a + 12;
        else if (a[0] == 0x20 && a[1] == 0x02)
            v4 = a + 2;
        if (v4 && inet_ntop(AF_INET, v4, text, sizeof(text)))
            return pg__ip_is_private(text);
        return 0;
    }
    return 1; /* not an address we understand: treat as unsafe */
}

int pg__addr_allowed(unsigned flags, int *first, const char *ip)
{
    int priv = !ip || pg__ip_is_private(ip);

    if (*first == PG_ADDR_NONE)
        *first = priv ? PG_ADDR_PRIVATE : PG_ADDR_PUBLIC;
    if (!priv)
        return 1;
    if (flags & PG_ITEM_PUBLIC_ONLY)
        return 0;
    return !(flags & PG_ITEM_GUARD) || *first == PG_ADDR_PRIVATE;
}

int pg__proxy_target_ok(unsigned flags, int *first, const char *url)
{
    struct addrinfo hints, *res = NULL, *ai;
    char host[512], ip[INET6_ADDRSTRLEN];
    int ok = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (pg__proxy_host(url, host, sizeof(host)) ||
        getaddrinfo(host, NULL, &hints, &res) || !res)
        return pg__addr_allowed(flags, first, NULL);
    for (ai = res; ok && ai; ai = ai->ai_next) {
        const void *raw = NULL;

        if (ai->ai_family == AF_INET)
            raw = &((const struct sockaddr_in *)(const void *)
                    ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            raw = &((const struct sockaddr_in6 *)(const void *)
                    ai->ai_addr)->sin6_addr;
        if (!raw || !inet_ntop(ai->ai_family, raw, ip, sizeof(ip)))
            continue;
        ok = pg__addr_allowed(flags, first, ip);
    }
    freeaddrinfo(res);
    return ok;
}

/* Headers: count them (capped) and keep Retry-After. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct pg__xfer *x = ud;
    size_t n = size * nmemb;

    x->header_bytes += n;
    if (x->header_bytes > PG_HEADER_MAX) {
        x->too_large = 1;
        return 0;
    }
    if (n > 11 && !strncasecmp(data, "Set-Cookie:", 11))
        x->got_cookie = 1;
    pg__cond_on_header(x, data, n);
    if (n > 5 && !strncmp(data, "HTTP/", 5)) {
        x->retry_after_ms = -1;  /* a new response begins */
    } else if (n > 12 && !strncasecmp(data, "Retry-After:", 12)) {
        char v[128], *end;
        size_t k = n - 12 < sizeof(v) - 1 ? n - 12 : sizeof(v) - 1;
        long secs;

        memcpy(v, data + 12, k);
        v[k] = '\0';
        secs = strtol(v, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n')
            end++;
        if (end != v && !*end && secs >= 0) {
            x->retry_after_ms = secs > 86400 ? 86400000L : secs * 1000;
        } else {
            time_t when = curl_getdate(v, NULL);
            time_t now = time(NULL);

            if (when != (time_t)-1)
                x->retry_after_ms = when > now ?
                                    (long)(when - now) * 1000 : 0;
        }
    }
    return n;
}

/* Has the parent hung up?  Looked at no more than every 100 ms. */
static int parent_gone(struct pg__fetcher *f)
{
    const struct pg__fetch_config *c = f->cfg;
    struct pollfd pfd;
    double now;

    if (!c->watch_parent || !c->abort_flag)
        return 0;
    now = pg__now();
    if (now - f->watched < 0.1)
        return 0;
    f->watched = now;
    pfd.fd = c->parent_fd;
    pfd.events = 0;      /* POLLHUP and POLLERR are always reported */
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) <= 0 ||
        !(pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
        return 0;
    atomic_store(c->abort_flag, 1);
    return 1;
}

/* Aborts the transfer when the job is stopping at once, or when the
 * parent process is gone. */
static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln,
                       curl_off_t ult, curl_off_t uln)
{
    struct pg__xfer *x = ud;
    const struct pg__fetch_config *c = x->f->cfg;

    (void)dlt;
    (void)dln;
    (void)ult;
    (void)uln;
    if (c->abort_flag && atomic_load(c->abort_flag))
        return 1;
    return parent_gone(x->f);
}

/*
 * Every connection (redirects included) is opened here, so a private
 * address can be refused before any packet is sent to it.
 */
static curl_socket_t on_opensocket(void *ud, curlsocktype purpose,
                                   struct curl_sockaddr *a)
{
    struct pg__xfer *x = ud;
    char ip[INET6_ADDRSTRLEN] = "";
    const void *raw = NULL;
    int fd;

    if (purpose != CURLSOCKTYPE_IPCXN || x->refused)
        return CURL_SOCKET_BAD;
    if (a->family == AF_INET)
        raw = &((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
    else if (a->family == AF_INET6)
        raw = &((const struct sockaddr_in6 *)(const void *)
                &a->addr)->sin6_addr;
    if (raw)
        inet_ntop(a->family, raw, ip, sizeof(ip));
    /* Behind a proxy this is the proxy's address: the target's own were
     * checked before (proxy.c). */
    if (x->it && !x->proxied &&
        !pg__addr_allowed(x->it->flags, &x->first_addr, raw ? ip : NULL)) {
        x->blocked = 1;
        return CURL_SOCKET_BAD;
    }
    fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/*
 * Before each request: a reused connection did not pass through
 * on_opensocket(), so the address is checked again here.
 */
static int on_prereq(void *ud, char *ip, char *local_ip, int port,
                     int local_port)
{
    struct pg__xfer *x = ud;

    (void)local_ip;
    (void)port;
    (void)local_port;
    if (x->refused || (x->it && !x->proxied &&
                       !pg__addr_allowed(x->it->flags, &x->first_addr,
                                         ip))) {
        x->blocked = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}


/* ---- the share: DNS and TLS session caches ---------------------------- */

struct pg__share {
    CURLSH *sh;
    int locked;
    pthread_mutex_t mu[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *e, curl_lock_data data, curl_lock_access acc,
                       void *ud)
{
    struct pg__share *s = ud;

    (void)e;
    (void)acc;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&s->mu[data]);
}

static void share_unlock(CURL *e, curl_lock_data data, void *ud)
{
    struct pg__share *s = ud;

    (void)e;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&s->mu[data]);
}

struct pg__share *pg__share_new(int locked)
{
    struct pg__share *s = pg__calloc(1, sizeof(*s));
    unsigned i;

    if (!s)
        return NULL;
    s->sh = curl_share_init();
    if (!s->sh) {
        pg_free(s);
        return NULL;
    }
    s->locked = locked;
    if (locked) {
        for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_init(&s->mu[i], NULL);
        curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s);
    }
    /* Connections are not shared: each worker keeps its own, so no lock
     * is held around a transfer's socket work. */
    curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return s;
}

CURLSH *pg__share_handle(struct pg__share *s)
{
    return s ? s->sh : NULL;
}

void pg__share_free(struct pg__share *s)
{
    unsigned i;

    if (!s)
        return;
    curl_share_cleanup(s->sh);
    if (s->locked) {
        for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&s->mu[i]);
    }
    pg_free(s);
}

/* ---- the easy handle -------------------------------------------------- */

enum pg_code pg__xfer_init(struct pg__xfer *x, struct pg__fetcher *f)
{
    const struct pg__fetch_config *c = f->cfg;
    CURL *e;

    x->f = f;
    x->fd = -1;
    x->md = EVP_MD_CTX_new();
    if (!x->md)
        return PG_E_NOMEM;
    e = curl_easy_init();
    if (!e) {
        EVP_MD_CTX_free(x->md);
        x->md = NULL;
        return PG_E_NOMEM;
    }
    x->easy = e;
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, c->max_redirs);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    if (c->stall_s > 0) {
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT,
                         c->min_rate > 0 ? c->min_rate : 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->stall_s);
    }
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    if (c->share)
        curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    /* The cookie engine, on the share's jar (nothing is read: ""). */
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
    /* The proxy is decided per hop (proxy.h): libcurl takes it as is. */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    if (c->max_size)
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                         (curl_off_t)c->max_size);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 128L * 1024);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    /* HTTP/2 over TLS when offered (h2c is not tried: an extra round
     * trip on every plain-HTTP connection); a multi handle multiplexes
     * transfers over it.  CURLOPT_PIPEWAIT is not set: on an HTTP/1.1
     * server it holds a transfer back until the first response on the
     * host's connection starts, which a slow response stretches into a
     * timeout. */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    pg__tls_setopt(e, c->ca_file, c->proxy_ca_file, c->no_verify);
    return PG_OK;
}

void pg__xfer_release(struct pg__xfer *x)
{
    if (x->easy)
        curl_easy_cleanup(x->easy);
    x->easy = NULL;
    PG_FREE(x->origin);
    pg__cond_release(x);
    EVP_MD_CTX_free(x->md);
    x->md = NULL;
}
