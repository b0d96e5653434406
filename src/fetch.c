/*
 * fetch.c - see fetch.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <time.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fetch.h"
#include "mem.h"
#include "spool.h"

/* Longest Content-Type kept (hostile servers send anything). */
#define CONTENT_TYPE_MAX 200

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct pg__fetcher *f = ud;
    size_t n = size * nmemb, left = n;
    long code = 0;

    if (f->bytes == 0 && !f->discard) {
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299)
            f->discard = 1;
    }
    if (f->discard) {
        f->discarded += n;
        return f->discarded > PG_ERROR_BODY_MAX ? 0 : n;
    }
    if (f->cfg->max_size && f->bytes + n > f->cfg->max_size) {
        /* The decoded size counts, so a compressed bomb stops here. */
        f->too_large = 1;
        return 0;
    }
    if (f->sniff_len < PG_SNIFF) {
        size_t k = PG_SNIFF - f->sniff_len < n ? PG_SNIFF - f->sniff_len : n;

        memcpy(f->sniff + f->sniff_len, data, k);
        f->sniff_len += k;
    }
    if (f->cfg->hash)
        EVP_DigestUpdate(f->md, data, n);
    while (left > 0) {
        ssize_t w = write(f->fd, data, left);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            f->write_errno = w < 0 ? errno : ENOSPC;
            return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        data += w;
        left -= (size_t)w;
    }
    f->bytes += n;
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
        static const unsigned char zero[16];
        char v4[INET_ADDRSTRLEN];

        if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1))
            return 1;                        /* :: and ::1 */
        if ((a[0] & 0xfe) == 0xfc)
            return 1;                        /* fc00::/7 */
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
            return 1;                        /* fe80::/10 */
        if (!memcmp(a, mapped, 12) &&
            inet_ntop(AF_INET, a + 12, v4, sizeof(v4)))
            return pg__ip_is_private(v4);
        return 0;
    }
    return 1; /* not an address we understand: treat as unsafe */
}

/* Headers: count them (capped) and keep Retry-After. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct pg__fetcher *f = ud;
    size_t n = size * nmemb;

    f->header_bytes += n;
    if (f->header_bytes > PG_HEADER_MAX) {
        f->too_large = 1;
        return 0;
    }
    if (n > 5 && !strncmp(data, "HTTP/", 5)) {
        f->retry_after_ms = -1;  /* a new response begins */
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
            f->retry_after_ms = secs > 86400 ? 86400000L : secs * 1000;
        } else {
            time_t when = curl_getdate(v, NULL);
            time_t now = time(NULL);

            if (when != (time_t)-1)
                f->retry_after_ms = when > now ?
                                    (long)(when - now) * 1000 : 0;
        }
    }
    return n;
}

/* Aborts the transfer when the job is stopping at once. */
static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln,
                       curl_off_t ult, curl_off_t uln)
{
    struct pg__fetcher *f = ud;

    (void)dlt;
    (void)dln;
    (void)ult;
    (void)uln;
    return f->cfg->abort_flag && atomic_load(f->cfg->abort_flag);
}

/*
 * Every connection (redirects included) is opened here, so a private
 * address can be refused before any packet is sent to it.
 */
static curl_socket_t on_opensocket(void *ud, curlsocktype purpose,
                                   struct curl_sockaddr *a)
{
    struct pg__fetcher *f = ud;
    char ip[INET6_ADDRSTRLEN] = "";
    const void *raw = NULL;
    int fd;

    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (a->family == AF_INET)
        raw = &((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
    else if (a->family == AF_INET6)
        raw = &((const struct sockaddr_in6 *)(const void *)
                &a->addr)->sin6_addr;
    if (raw)
        inet_ntop(a->family, raw, ip, sizeof(ip));
    if (f->it && (f->it->flags & PG_ITEM_PUBLIC_ONLY) &&
        (!raw || pg__ip_is_private(ip))) {
        f->blocked = 1;
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
    struct pg__fetcher *f = ud;

    (void)local_ip;
    (void)port;
    (void)local_port;
    if (f->it && (f->it->flags & PG_ITEM_PUBLIC_ONLY) &&
        pg__ip_is_private(ip)) {
        f->blocked = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

enum pg_code pg__fetcher_init(struct pg__fetcher *f,
                              const struct pg__fetch_config *cfg,
                              unsigned worker)
{
    const struct pg__fetch_config *c = cfg;
    CURL *e;

    memset(f, 0, sizeof(*f));
    f->cfg = cfg;
    f->worker = worker;
    f->fd = -1;
    f->md = EVP_MD_CTX_new();
    if (!f->md)
        return PG_E_NOMEM;
    e = curl_easy_init();
    if (!e) {
        EVP_MD_CTX_free(f->md);
        f->md = NULL;
        return PG_E_NOMEM;
    }
    f->easy = e;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, c->max_redirs);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    if (c->stall_s > 0) {
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->stall_s);
    }
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    if (c->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, f);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, f);
    if (c->max_size)
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                         (curl_off_t)c->max_size);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 128L * 1024);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    return PG_OK;
}

void pg__fetcher_release(struct pg__fetcher *f)
{
    if (f->easy)
        curl_easy_cleanup(f->easy);
    f->easy = NULL;
    EVP_MD_CTX_free(f->md);
    f->md = NULL;
    pg__extractor_free(f->x);
    f->x = NULL;
}

static void hash_final(struct pg__fetcher *f, struct pg__item *it)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0, i;

    if (EVP_DigestFinal_ex(f->md, d, &n) != 1 || n * 2 >= sizeof(it->hash))
        return;
    for (i = 0; i < n; i++) {
        it->hash[2 * i] = hex[d[i] >> 4];
        it->hash[2 * i + 1] = hex[d[i] & 15];
    }
    it->hash[2 * n] = '\0';
}

/* Parse a fetched HTML page from its spool file (still open). */
static void parse_page(struct pg__fetcher *f, struct pg__item *it)
{
    const struct pg__fetch_config *c = f->cfg;
    char err[PG_ERRBUF_SIZE];
    char *body;
    size_t got = 0;
    enum pg_code rc;

    if (!c->extract || !pg__extract_is_html(it->content_type, f->sniff,
                                            f->sniff_len))
        return;
    it->flags |= PG_ITEM_HTML;
    if (it->bytes > PG_PARSE_MAX) {
        pg__log(c->log, PG_LOG_WARN, "%s: page of %llu bytes is too large "
                "to parse (limit %u)", it->url,
                (unsigned long long)it->bytes, PG_PARSE_MAX);
        return;
    }
    if (!f->x && !f->x_failed) {
        rc = pg__extractor_new(c->extract, &f->x, err, sizeof(err));
        if (rc) {
            f->x_failed = 1;
            pg__log(c->log, PG_LOG_ERROR, "cannot set up the HTML parser: "
                    "%s", err);
        }
    }
    if (!f->x)
        return;
    body = pg_malloc((size_t)it->bytes + 1);
    if (!body)
        return;
    while (got < it->bytes) {
        ssize_t r = pread(f->fd, body + got, (size_t)it->bytes - got,
                          (off_t)got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    body[got] = '\0';
    rc = pg__extract(f->x, body, got, it->content_type,
                     it->final_url ? it->final_url : it->url, &it->links,
                     err, sizeof(err));
    if (rc)
        pg__log(c->log, PG_LOG_DEBUG, "%s: not parsed: %s", it->url, err);
    it->n_links = (unsigned)it->links.n;
    pg_free(body);
}

static char *dup_info(CURL *e, CURLINFO info, size_t max)
{
    char *v = NULL;

    if (curl_easy_getinfo(e, info, &v) != CURLE_OK || !v)
        return NULL;
    return pg_strndup(v, strnlen(v, max));
}

static void classify(struct pg__fetcher *f, struct pg__item *it,
                     CURLcode cc)
{
    const char *detail = f->errbuf[0] ? f->errbuf : curl_easy_strerror(cc);
    char errtxt[128];

    if (f->too_large || cc == CURLE_FILESIZE_EXCEEDED ||
        cc == CURLE_OUT_OF_MEMORY) {
        /* libcurl answers a header line over its own 100 KiB limit with
         * CURLE_OUT_OF_MEMORY: that is the server's doing, not ours. */
        if (cc == CURLE_OUT_OF_MEMORY)
            pg__item_error(it, PG_ST_TOO_LARGE, "a response header line "
                           "longer than libcurl accepts (100 KiB)");
        else if (f->header_bytes > PG_HEADER_MAX)
            pg__item_error(it, PG_ST_TOO_LARGE, "response headers larger "
                           "than %u bytes", PG_HEADER_MAX);
        else
            pg__item_error(it, PG_ST_TOO_LARGE, "body larger than "
                           "--max-size %llu bytes",
                           (unsigned long long)f->cfg->max_size);
        return;
    }
    if (f->blocked && cc != CURLE_OK) {
        /* (A private address refused, then a public one that worked, is
         * a success.) */
        pg__item_error(it, PG_ST_BLOCKED, "refused to connect to a "
                       "private address (use --allow-private)");
        return;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK && f->cfg->abort_flag &&
        atomic_load(f->cfg->abort_flag)) {
        pg__item_error(it, PG_ST_INTERRUPTED, "interrupted");
        return;
    }
    switch (cc) {
    case CURLE_OK:
        if (it->http_code >= 200 && it->http_code <= 299)
            it->status = PG_ST_OK;
        else
            pg__item_error(it, PG_ST_HTTP_ERROR, "HTTP status %ld",
                           it->http_code);
        break;
    case CURLE_WRITE_ERROR:
        if (f->discard) {
            pg__item_error(it, PG_ST_HTTP_ERROR, "HTTP status %ld (error "
                           "page cut at %u bytes)", it->http_code,
                           PG_ERROR_BODY_MAX);
            break;
        }
        pg__item_error(it, PG_ST_SAVE_ERROR, "cannot write '%s': %s",
                       it->tmp_name ? it->tmp_name : "?",
                       pg__errstr(f->write_errno, errtxt, sizeof(errtxt)));
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        pg__item_error(it, PG_ST_REDIRECT_ERROR,
                       "too many redirects (limit %ld)", f->cfg->max_redirs);
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        /* The start URL is http(s), so this is a redirect elsewhere. */
        pg__item_error(it, PG_ST_REDIRECT_ERROR,
                       "redirect refused (only http and https are "
                       "followed): %s", detail);
        break;
    default:
        pg__item_error(it, PG_ST_NETWORK_ERROR, "%s", detail);
        break;
    }
}

void pg__fetch(struct pg__fetcher *f, struct pg__item *it)
{
    const struct pg__fetch_config *c = f->cfg;
    curl_off_t us = 0;
    CURLcode cc;
    char errtxt[128];

    pg__item_reset_result(it);
    it->attempts++;
    f->errbuf[0] = '\0';
    f->bytes = 0;
    f->discard = 0;
    f->discarded = 0;
    f->write_errno = 0;
    f->sniff_len = 0;
    f->header_bytes = 0;
    f->too_large = 0;
    f->blocked = 0;
    f->retry_after_ms = -1;
    f->it = it;
    if (c->hash)
        EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
    if (pg__spool_create(c->outdir_fd, f->worker, &f->seq, &f->fd,
                         &it->tmp_name)) {
        pg__item_error(it, PG_ST_SAVE_ERROR,
                       "cannot create a temporary file: %s",
                       pg__errstr(errno, errtxt, sizeof(errtxt)));
        return;
    }
    curl_easy_setopt(f->easy, CURLOPT_URL, it->url);
    cc = curl_easy_perform(f->easy);

    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &it->http_code);
    curl_easy_getinfo(f->easy, CURLINFO_TOTAL_TIME_T, &us);
    it->time_ms = (double)us / 1000.0;
    it->bytes = f->bytes;
    it->final_url = dup_info(f->easy, CURLINFO_EFFECTIVE_URL, 8192);
    it->content_type = dup_info(f->easy, CURLINFO_CONTENT_TYPE,
                                CONTENT_TYPE_MAX);
    classify(f, it, cc);
    it->retry_after_ms = f->retry_after_ms;
    f->it = NULL;
    {
        char *ip = NULL;

        if (curl_easy_getinfo(f->easy, CURLINFO_PRIMARY_IP, &ip) ==
            CURLE_OK && ip && *ip && pg__ip_is_private(ip))
            it->flags |= PG_ITEM_PRIVATE_IP;
    }
    /* By Content-Type or by the bytes, whatever the type claims. */
    if (it->status == PG_ST_OK && (it->flags & PG_ITEM_IMAGE) &&
        (pg__extract_is_html(it->content_type, f->sniff, f->sniff_len) ||
         pg__extract_is_html(NULL, f->sniff, f->sniff_len)))
        pg__item_error(it, PG_ST_TYPE_MISMATCH, "an image link answered "
                       "with HTML (Content-Type %s)",
                       it->content_type ? it->content_type : "none");
    if (it->status == PG_ST_OK) {
        if (c->hash)
            hash_final(f, it);
        if (it->flags & PG_ITEM_PARSE)
            parse_page(f, it);
    }

    /* --sync: the body is on disk before its record can be. */
    if (c->sync && it->status == PG_ST_OK && fsync(f->fd) < 0)
        pg__item_error(it, PG_ST_SAVE_ERROR, "cannot sync '%s': %s",
                       it->tmp_name, pg__errstr(errno, errtxt,
                                                sizeof(errtxt)));
    if (close(f->fd) < 0 && it->status == PG_ST_OK)
        pg__item_error(it, PG_ST_SAVE_ERROR, "cannot write '%s': %s",
                       it->tmp_name, pg__errstr(errno, errtxt,
                                                sizeof(errtxt)));
    f->fd = -1;
    if (it->status != PG_ST_OK) {
        unlinkat(c->outdir_fd, it->tmp_name, 0);
        PG_FREE(it->tmp_name);
    }
    pg__log(c->log, PG_LOG_DEBUG, "worker %u: %s -> %s %ld (%llu bytes)",
            f->worker, it->url, pg_status_name(it->status), it->http_code,
            (unsigned long long)it->bytes);
}
