/*
 * fetch.c - see fetch.h.
 */
#include <errno.h>
#include <string.h>
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
    if (f->discard)
        return n;
    if (f->sniff_len < PG_SNIFF) {
        size_t k = PG_SNIFF - f->sniff_len < n ? PG_SNIFF - f->sniff_len : n;

        memcpy(f->sniff + f->sniff_len, data, k);
        f->sniff_len += k;
    }
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

    switch (cc) {
    case CURLE_OK:
        if (it->http_code >= 200 && it->http_code <= 299)
            it->status = PG_ST_OK;
        else
            pg__item_error(it, PG_ST_HTTP_ERROR, "HTTP status %ld",
                           it->http_code);
        break;
    case CURLE_WRITE_ERROR:
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
    f->write_errno = 0;
    f->sniff_len = 0;
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
    if (it->status == PG_ST_OK) {
        hash_final(f, it);
        if (it->flags & PG_ITEM_PARSE)
            parse_page(f, it);
    }

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
