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
    e = curl_easy_init();
    if (!e)
        return PG_E_NOMEM;
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
