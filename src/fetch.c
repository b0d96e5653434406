/*
 * fetch.c - see fetch.h: running transfers.  The slots of a fetcher,
 * what happens before and after one transfer (the target, redirects,
 * the hash, the page parse, classifying the outcome) and the blocking
 * and multi drivers.
 *
 * It is not the configuration of an easy handle or the callbacks curl
 * calls during a transfer (fetch_opts.c).
 */
#include <stdlib.h>
#include <time.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "css.h"
#include "fetch.h"
#include "hold.h"
#include "mem.h"
#include "proxy.h"
#include "spool.h"
#include "tls.h"
#include "url.h"
#include "util.h"

/* Longest Content-Type kept (hostile servers send anything). */
#define CONTENT_TYPE_MAX 200

/* ---- slots ------------------------------------------------------------ */

/* Make slots [f->ready, n) and put them on the free list, stopping at
 * the first that cannot be made (out of memory); returns f->ready.  The
 * slots beyond the window are made when it grows: a handle costs about
 * 50 us to set up, 128 of them a worker's first requests 6 ms. */
static unsigned make_slots(struct pg__fetcher *f, unsigned n)
{
    while (f->ready < n) {
        struct pg__xfer *x = &f->slots[f->ready];

        if (pg__xfer_init(x, f) != PG_OK) {
            pg__xfer_release(x);
            break;
        }
        x->next_free = f->free_slots;
        f->free_slots = x;
        f->ready++;
    }
    return f->ready;
}

enum pg_code pg__fetcher_init(struct pg__fetcher *f,
                              const struct pg__fetch_config *cfg,
                              unsigned worker, unsigned k)
{
    memset(f, 0, sizeof(*f));
    f->ev.ep = f->ev.wake = -1;
    f->cfg = cfg;
    f->worker = worker;
    f->pid = getpid();   /* the process that runs the transfers */
    f->k = k < 1 ? 1 : k;
    f->window = cfg->window > 0 && cfg->window < f->k ? cfg->window : f->k;
    f->slots = pg__calloc(f->k, sizeof(*f->slots));
    if (!f->slots)
        return PG_E_NOMEM;
    if (f->k > 1) {
        /* One idle connection kept per slot. */
        if (pg__events_init(&f->ev, (long)f->k,
                            f->k >= PG_EVENTS_FROM) != PG_OK) {
            pg__fetcher_release(f);
            return PG_E_NOMEM;
        }
        f->multi = 1;
    }
    if (make_slots(f, f->window) < f->window) {
        pg__fetcher_release(f);
        return PG_E_NOMEM;
    }
    return PG_OK;
}

void pg__fetcher_release(struct pg__fetcher *f)
{
    unsigned i;

    for (i = 0; f->slots && i < f->ready; i++) {
        struct pg__xfer *x = &f->slots[i];

        if (x->it && f->multi)
            pg__events_remove(&f->ev, x->easy);
        if (x->it) {
            /* A transfer dropped unfinished: its spool file goes. */
            close(x->fd);
            x->fd = -1;
            unlinkat(f->cfg->outdir_fd, x->it->res.tmp_name, 0);
            PG_FREE_CONST(x->it->res.tmp_name);
            x->it = NULL;
        }
        pg__xfer_release(x);
    }
    pg__events_release(&f->ev);
    f->multi = 0;
    pg_free(f->slots);
    f->slots = NULL;
    f->free_slots = NULL;
    pg__extractor_free(f->x);
    f->x = NULL;
}

/* ---- one transfer: before and after ----------------------------------- */

static void hash_final(struct pg__xfer *x, struct pg__item *it)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0, i;

    if (EVP_DigestFinal_ex(x->md, d, &n) != 1 || n * 2 >= sizeof(it->hash))
        return;
    for (i = 0; i < n; i++) {
        it->hash[2 * i] = hex[d[i] >> 4];
        it->hash[2 * i + 1] = hex[d[i] & 15];
    }
    it->hash[2 * n] = '\0';
}

/* The start of the spooled body (at most PG_PARSE_MAX bytes, then a
 * NUL), or NULL when out of memory; *got says how much was read. */
static char *read_body(struct pg__xfer *x, const struct pg__item *it,
                       size_t *got)
{
    size_t want = it->res.bytes > PG_PARSE_MAX ? PG_PARSE_MAX
                                               : (size_t)it->res.bytes;
    char *body = pg_malloc(want + 1);

    *got = 0;
    if (!body)
        return NULL;
    while (*got < want) {
        ssize_t r = pread(x->fd, body + *got, want - *got, (off_t)*got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        *got += (size_t)r;
    }
    body[*got] = '\0';
    return body;
}

/* After a parse that ended with rc and err: the cut, logged, counted. */
static void parsed(const struct pg__fetch_config *c, struct pg__item *it,
                   enum pg_code rc, char *err, size_t errlen)
{
    if (rc)
        pg__log(c->log, PG_LOG_DEBUG, "%s: not parsed: %s", it->url, err);
    if (!rc && it->res.bytes > PG_PARSE_MAX && !it->links.truncated) {
        it->links.truncated = 1;
        snprintf(err, errlen, "%s of %llu bytes: only the first %u are "
                 "parsed", (it->flags & PG_ITEM_CSS) ? "stylesheet" : "page",
                 (unsigned long long)it->res.bytes, PG_PARSE_MAX);
    }
    if (it->links.truncated) {
        it->res.links_truncated = 1;
        pg__log(c->log, PG_LOG_WARN, "%s: links truncated: %s", it->url,
                err);
    }
    it->res.links = (unsigned)it->links.n;
}

/* Parse a fetched stylesheet: its url()s and @imports, resolved against
 * its own (final) URL. */
static void parse_css(struct pg__xfer *x, struct pg__item *it)
{
    const struct pg__fetch_config *c = x->f->cfg;
    const struct pg__extract_config *xc = c->extract;
    char err[PG_ERRBUF_SIZE];
    size_t got;
    char *body = read_body(x, it, &got);
    enum pg_code rc;

    if (!body)
        return;
    rc = pg__css_extract(body, got, it->res.final_url ? it->res.final_url
                         : it->url, xc->max_links, xc->max_bytes ?
                         xc->max_bytes : PG_EXTRACT_MAX_BYTES, &it->links,
                         err, sizeof(err));
    parsed(c, it, rc, err, sizeof(err));
    pg_free(body);
}

/* Parse a fetched HTML page from its spool file (still open). */
void pg__fetch_parse(struct pg__xfer *x, struct pg__item *it)
{
    struct pg__fetcher *f = x->f;
    const struct pg__fetch_config *c = f->cfg;
    char err[PG_ERRBUF_SIZE];
    char *body;
    size_t got;
    enum pg_code rc;

    if (c->extract && (it->flags & PG_ITEM_CSS)) {
        parse_css(x, it);
        return;
    }
    if (!c->extract || !pg__extract_is_html(it->res.content_type, x->sniff,
                                            x->sniff_len))
        return;
    it->flags |= PG_ITEM_HTML;
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
    body = read_body(x, it, &got);
    if (!body)
        return;
    rc = pg__extract(f->x, body, got, it->res.content_type,
                     it->res.final_url ? it->res.final_url : it->url,
                     &it->links, err, sizeof(err));
    parsed(c, it, rc, err, sizeof(err));
    pg_free(body);
}

static char *dup_info(CURL *e, CURLINFO info, size_t max)
{
    char *v = NULL;

    if (curl_easy_getinfo(e, info, &v) != CURLE_OK || !v)
        return NULL;
    return pg__strndup(v, strnlen(v, max));
}

/* The HTTP version of the last response (0: none). */
static unsigned http_version(CURL *e)
{
    long v = 0;

    if (curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &v) != CURLE_OK)
        return 0;
    switch (v) {
    case CURL_HTTP_VERSION_1_0: return 10;
    case CURL_HTTP_VERSION_1_1: return 11;
    case CURL_HTTP_VERSION_2_0: return 20;
    case CURL_HTTP_VERSION_3: return 30;
    }
    return 0;
}

static void classify(struct pg__xfer *x, struct pg__item *it, CURLcode cc)
{
    const struct pg__fetch_config *c = x->f->cfg;
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
    char errtxt[128];

    if (x->too_large || cc == CURLE_FILESIZE_EXCEEDED ||
        cc == CURLE_OUT_OF_MEMORY) {
        /* libcurl answers a header line over its own 100 KiB limit with
         * CURLE_OUT_OF_MEMORY: that is the server's doing, not ours. */
        if (cc == CURLE_OUT_OF_MEMORY)
            pg__item_error(it, PG_ST_TOO_LARGE, "a response header line "
                           "longer than libcurl accepts (100 KiB)");
        else if (x->header_bytes > PG_HEADER_MAX)
            pg__item_error(it, PG_ST_TOO_LARGE, "response headers larger "
                           "than %u bytes", PG_HEADER_MAX);
        else
            pg__item_error(it, PG_ST_TOO_LARGE, "body larger than "
                           "--max-size %llu bytes",
                           (unsigned long long)c->max_size);
        return;
    }
    if (x->blocked && cc != CURLE_OK) {
        /* (A private address refused, then a public one that worked, is
         * a success.) */
        pg__item_error(it, PG_ST_BLOCKED, "refused to connect to a "
                       "private address (use --allow-private)");
        return;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK && c->abort_flag &&
        atomic_load(c->abort_flag)) {
        pg__item_error(it, PG_ST_INTERRUPTED, "interrupted");
        return;
    }
    if (pg__tls_permanent(cc, detail)) {
        char msg[PG_ITEM_ERR_MAX];

        pg__tls_describe(x->easy, cc, detail, msg, sizeof(msg));
        pg__item_error(it, PG_ST_NETWORK_ERROR, "%s", msg);
        it->flags |= PG_ITEM_PERMANENT;
        return;
    }
    switch (cc) {
    case CURLE_OK:
        if (it->res.http_code >= 200 && it->res.http_code <= 299)
            it->res.status = PG_ST_OK;
        else
            pg__item_error(it, PG_ST_HTTP_ERROR, "HTTP status %ld",
                           it->res.http_code);
        break;
    case CURLE_WRITE_ERROR:
        if (x->discard) {
            pg__item_error(it, PG_ST_HTTP_ERROR, "HTTP status %ld (error "
                           "page cut at %u bytes)", it->res.http_code,
                           PG_ERROR_BODY_MAX);
            break;
        }
        pg__item_error(it, PG_ST_SAVE_ERROR, "cannot write '%s': %s",
                       it->res.tmp_name ? it->res.tmp_name : "?",
                       pg__errstr(x->write_errno, errtxt, sizeof(errtxt)));
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        pg__item_error(it, PG_ST_REDIRECT_ERROR,
                       "too many redirects (limit %ld)", c->max_redirs);
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

/*
 * Point slot x at url (copied by libcurl).  The custom headers go only
 * to the origin of the item, and only when its redirects are followed
 * here: libcurl itself would send them to any host a redirect names.
 * Also the hop's proxy, and behind one the check of its target.
 */
static void xfer_target(struct pg__xfer *x, const char *url)
{
    const struct pg__fetch_config *c = x->f->cfg;
    char *origin = x->manual ? pg__url_origin(url) : NULL;
    int mine = origin && x->origin && !strcmp(origin, x->origin);

    const char *proxy = pg__proxy_for(c->proxy_http, c->proxy_https,
                                      c->no_proxy, url);

    pg_free(origin);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, pg__cond_headers(x, mine));
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    /* The proxy of this hop, or none ("": not even the environment's). */
    curl_easy_setopt(x->easy, CURLOPT_PROXY, proxy ? proxy : "");
    x->proxied = proxy != NULL;
    x->refused = 0;
    if (x->proxied && x->it &&
        !pg__proxy_target_ok(x->it->flags, &x->first_addr, url))
        x->refused = x->blocked = 1;
    if (c->timeout_ms > 0) {
        long left = c->timeout_ms - (long)((pg__now() - x->t0) * 1000);

        curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
    }
}

/*
 * After a hop of a transfer whose redirects are followed here: 1 if
 * slot x now points at the next hop (to be performed again); 0 if the
 * transfer is over, *cc then says how (a refused redirect, as libcurl
 * would report it).  The rules are libcurl's: http and https only, at
 * most --max-redirs, and the address checks of every connection.
 */
static int xfer_next_hop(struct pg__xfer *x, CURLcode *cc)
{
    const struct pg__fetch_config *c = x->f->cfg;
    curl_off_t us = 0;
    long code = 0;
    char *loc = NULL;
    char *next;

    if (!x->manual || *cc != CURLE_OK)
        return 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if ((code != 301 && code != 302 && code != 303 && code != 307 &&
         code != 308) ||
        curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &loc) !=
            CURLE_OK || !loc)
        return 0;
    if (strncasecmp(loc, "http://", 7) && strncasecmp(loc, "https://", 8)) {
        snprintf(x->errbuf, sizeof(x->errbuf), "redirect to '%.200s'",
                 loc);
        *cc = CURLE_UNSUPPORTED_PROTOCOL;
        return 0;
    }
    if (c->max_redirs >= 0 && x->hops >= c->max_redirs) {
        *cc = CURLE_TOO_MANY_REDIRECTS;
        return 0;
    }
    next = pg__strdup(loc);
    if (!next)
        return 0;   /* (recorded as the 3xx it is) */
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
    x->time_us += us;
    x->hops++;
    x->discard = 0;
    x->discarded = 0;
    x->errbuf[0] = '\0';
    xfer_target(x, next);
    pg_free(next);
    return 1;
}

/* Reset slot x for it and open its spool file.  -1 if it ended at once. */
static int xfer_begin(struct pg__xfer *x, struct pg__item *it)
{
    struct pg__fetcher *f = x->f;
    const struct pg__fetch_config *c = f->cfg;
    char errtxt[128], *tmp;

    pg__item_reset_result(it);
    it->res.attempts++;
    x->errbuf[0] = '\0';
    x->bytes = 0;
    x->discard = 0;
    x->discarded = 0;
    x->write_errno = 0;
    x->sniff_len = 0;
    x->header_bytes = 0;
    x->too_large = 0;
    x->blocked = 0;
    x->retry_after_ms = -1;
    x->got_cookie = 0;
    x->first_addr = PG_ADDR_NONE;
    x->hops = 0;
    x->time_us = 0;
    x->t0 = pg__now();
    PG_FREE(x->origin);
    x->manual = c->headers && (it->flags & PG_ITEM_HEADERS);
    if (x->manual)
        x->origin = pg__url_origin(it->url);  /* NULL: no headers */
    /* Behind a proxy each hop's proxy and target are decided here. */
    if (c->proxy_http || c->proxy_https)
        x->manual = 1;
    x->it = it;
    pg__cond_begin(x, it);
    if (c->hash)
        EVP_DigestInit_ex(x->md, EVP_sha256(), NULL);
    if (pg__spool_create_pid(c->outdir_fd, f->pid, f->worker, &f->seq,
                             &x->fd, &tmp)) {
        pg__item_error(it, PG_ST_SAVE_ERROR,
                       "cannot create a temporary file: %s",
                       pg__errstr(errno, errtxt, sizeof(errtxt)));
        x->it = NULL;
        return -1;
    }
    it->res.tmp_name = tmp;
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, x->manual ? 0L : 1L);
    /* The page a link was found on (every hop of it); inputs: none. */
    curl_easy_setopt(x->easy, CURLOPT_REFERER,
                     c->referer ? it->res.referrer : NULL);
    xfer_target(x, it->url);
    return 0;
}

/* The transfer on slot x ended with cc: fill in its item's result. */
static void xfer_end(struct pg__xfer *x, CURLcode cc)
{
    struct pg__item *it = x->it;
    const struct pg__fetch_config *c = x->f->cfg;
    curl_off_t us = 0;
    char errtxt[128];

    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &it->res.http_code);
    it->res.http_version = it->res.http_code > 0 ?
        pg__http_version_name(http_version(x->easy)) : NULL;
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
    it->res.time_ms = (double)(us + x->time_us) / 1000.0;
    it->res.bytes = x->bytes;
    it->res.final_url = dup_info(x->easy, CURLINFO_EFFECTIVE_URL, 8192);
    it->res.content_type = dup_info(x->easy, CURLINFO_CONTENT_TYPE,
                                CONTENT_TYPE_MAX);
    classify(x, it, cc);
    pg__cond_end(x, it);
    it->retry_after_ms = x->retry_after_ms;
    if (c->holds)
        pg__holds_note(c->holds, it);
    if (x->got_cookie && c->jar)
        pg__jar_collect(c->jar, x->easy);
    /* Private from the start, not by a redirect: only then may the
     * page's links reach private addresses. */
    if (x->first_addr == PG_ADDR_PRIVATE)
        it->flags |= PG_ITEM_PRIVATE_IP;
    /* By Content-Type or by the bytes, whatever the type claims. */
    if (it->res.status == PG_ST_OK &&
        (it->flags & (PG_ITEM_IMAGE | PG_ITEM_CSS)) &&
        (pg__extract_is_html(it->res.content_type, x->sniff, x->sniff_len) ||
         pg__extract_is_html(NULL, x->sniff, x->sniff_len)))
        pg__item_error(it, PG_ST_TYPE_MISMATCH, "%s link answered "
                       "with HTML (Content-Type %s)",
                       (it->flags & PG_ITEM_CSS) ? "a stylesheet" : "an image",
                       it->res.content_type ? it->res.content_type : "none");
    if (it->res.status == PG_ST_OK) {
        if (c->hash)
            hash_final(x, it);
        if (it->flags & (PG_ITEM_PARSE | PG_ITEM_CSS))
            pg__fetch_parse(x, it);
    }

    /* --sync: the body is on disk before its record can be. */
    if (c->sync && it->res.status == PG_ST_OK && fsync(x->fd) < 0)
        pg__item_error(it, PG_ST_SAVE_ERROR, "cannot sync '%s': %s",
                       it->res.tmp_name, pg__errstr(errno, errtxt,
                                                sizeof(errtxt)));
    if (close(x->fd) < 0 && it->res.status == PG_ST_OK)
        pg__item_error(it, PG_ST_SAVE_ERROR, "cannot write '%s': %s",
                       it->res.tmp_name, pg__errstr(errno, errtxt,
                                                sizeof(errtxt)));
    x->fd = -1;
    if (it->res.status != PG_ST_OK) {
        unlinkat(c->outdir_fd, it->res.tmp_name, 0);
        PG_FREE_CONST(it->res.tmp_name);
    }
    x->it = NULL;
    pg__log(c->log, PG_LOG_DEBUG, "worker %u: %s -> %s %ld (%llu bytes)",
            x->f->worker, it->url, pg_status_name(it->res.status),
            it->res.http_code, (unsigned long long)it->res.bytes);
}

/* ---- drivers ---------------------------------------------------------- */

/*
 * Its origin is held (another transfer got a 429 or 503 with
 * Retry-After): it goes back unstarted.  robots.txt fetches and crash
 * suspects (ALONE) are not held back.
 */
static int recalled(const struct pg__fetcher *f, struct pg__item *it)
{
    if (!f->cfg->holds || (it->flags & (PG_ITEM_ROBOTS | PG_ITEM_ALONE)) ||
        !pg__holds_active(f->cfg->holds, it->url))
        return 0;
    pg__item_reset_result(it);
    it->flags |= PG_ITEM_RECALLED;
    return 1;
}

void pg__fetch(struct pg__fetcher *f, struct pg__item *it)
{
    struct pg__xfer *x = &f->slots[0];

    CURLcode cc;

    if (recalled(f, it) || xfer_begin(x, it))
        return;
    cc = curl_easy_perform(x->easy);
    while (xfer_next_hop(x, &cc))
        cc = curl_easy_perform(x->easy);
    xfer_end(x, cc);
}

int pg__fetch_start(struct pg__fetcher *f, struct pg__item *it)
{
    struct pg__xfer *x = f->free_slots;

    if (!x) {
        /* A caller's bug; the item still comes back with a result. */
        pg__item_reset_result(it);
        pg__item_error(it, PG_ST_NETWORK_ERROR, "no free transfer slot");
        return 1;
    }
    if (recalled(f, it) || xfer_begin(x, it))
        return 1;
    if (pg__events_add(&f->ev, x->easy) != CURLM_OK) {
        xfer_end(x, CURLE_OUT_OF_MEMORY);
        /* (Not a header problem: say what it was.) */
        pg__item_error(it, PG_ST_NETWORK_ERROR, "cannot start a transfer");
        return 1;
    }
    f->free_slots = x->next_free;
    f->active++;
    return 0;
}

/*
 * The window.  A worker of the defaults may run K transfers at once (K
 * from pg_options_tune(), sized for a distant server), but it starts
 * with fewer, cfg->window, and doubles that each time one wait in poll
 * with every transfer of the window running lasts PG_WINDOW_QUIET (2
 * ms) with nothing at all happening, as long as the window is below
 * what the server's latency needs: twice the smallest time to first
 * byte of its last 32 responses over the worker's own time per
 * transfer (Little's law; before the first response, quiet is enough).
 * A near, fast server never needs more, so the window stays where it
 * started even when a busy machine makes it late now and then: on 2
 * CPUs against nginx on 127.0.0.1, 32 transfers in all beat 256 by
 * 1.1x on small pages and the crawl and 1.5x on 1 MiB files (every body
 * at once thrashes the caches), and quiet waits alone grew the window
 * there in 1 run of 3.  A server 50 ms (or 5 ms) away is quiet at once,
 * and the window reaches K within 4 quiet waits (8 ms).  Bytes that
 * trickle in smoothly (a server that throttles each connection, a slow
 * link) keep a worker from being quiet, so it also doubles the window
 * when, the window full all along, it was blocked in poll for
 * PG_WINDOW_IDLE (9/10) of PG_WINDOW_PERIOD (50 ms) or more.  The
 * window never shrinks.  A worker out of work is not waiting on the
 * network (its window is not full), so an empty queue never grows it.
 */
unsigned pg__window_next(unsigned window, unsigned k, double waited_s,
                         int events, double need)
{
    if (window >= k || events > 0 || waited_s < PG_WINDOW_QUIET ||
        (need > 0 && (double)window >= need))
        return window;
    return window > k / 2 ? k : 2 * window;
}

double pg__window_need(double min_ttfb_s, double per_transfer_s)
{
    if (min_ttfb_s <= 0 || per_transfer_s <= 0)
        return 0;
    return 2 * min_ttfb_s / per_transfer_s;
}

/* What the window needs now (pg__window_need()), 0 if not known. */
static double window_need(const struct pg__fetcher *f)
{
    double min = 0;
    unsigned i, n = f->n_ttfb < PG_WINDOW_SAMPLES ? f->n_ttfb
                                                  : PG_WINDOW_SAMPLES;

    for (i = 0; i < n; i++) {
        if (i == 0 || f->ttfb[i] < min)
            min = f->ttfb[i];
    }
    return f->finished ? pg__window_need(min, f->busy / (double)f->finished)
                       : 0;
}

/* A transfer of f finished: its time to first byte (request sent to
 * response begun) is a sample of the server's latency. */
static void window_sample(struct pg__fetcher *f, CURL *easy)
{
    curl_off_t pre = 0, start = 0;

    f->finished++;
    if (f->window >= f->k)
        return;
    curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
    curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &start);
    if (start <= pre)
        return;                 /* no response, or no time to measure */
    f->ttfb[f->n_ttfb++ % PG_WINDOW_SAMPLES] = (double)(start - pre) / 1e6;
}

unsigned pg__window_idle_next(unsigned window, unsigned k, double period_s,
                              double blocked_s)
{
    if (window >= k || period_s < PG_WINDOW_PERIOD ||
        blocked_s < PG_WINDOW_IDLE * period_s)
        return window;
    return window > k / 2 ? k : 2 * window;
}

/* Grow f's window to w (> f->window): the slots first.  When they
 * cannot be made, the window stays what it is for good. */
static void grow(struct pg__fetcher *f, unsigned w, const char *why,
                 double ms)
{
    unsigned was = f->window;

    if (make_slots(f, w) == was) {
        pg__log(f->cfg->log, PG_LOG_WARN, "worker %u: cannot make more "
                "transfer handles: %u at once", f->worker, was);
        f->k = was;
        return;
    }
    f->window = f->ready;
    pg__log(f->cfg->log, PG_LOG_DEBUG, "worker %u: %u transfers at once "
            "(%s for %.1f ms)", f->worker, f->window, why, ms);
}

void pg__fetch_poll(struct pg__fetcher *f, struct curl_waitfd *extra,
                    unsigned n_extra, int timeout_ms)
{
    double t0, t1;
    int events = 0;
    unsigned w;

    if (f->window >= f->k) {
        pg__events_wait(&f->ev, extra, n_extra, timeout_ms);
        return;
    }
    if (f->active < f->window) {
        f->period_t0 = 0;      /* a period runs only while it is full */
        pg__events_wait(&f->ev, extra, n_extra, timeout_ms);
        return;
    }
    /* Full, and it may grow: one wait of PG_WINDOW_QUIET at most tells
     * whether anything at all happens meanwhile. */
    if (timeout_ms < 0 || timeout_ms > PG_WINDOW_QUIET_MS)
        timeout_ms = PG_WINDOW_QUIET_MS;
    t0 = pg__now();
    if (f->period_t0 <= 0) {
        f->period_t0 = t0;
        f->blocked = 0;
    }
    events = pg__events_wait(&f->ev, extra, n_extra, timeout_ms);
    t1 = pg__now();
    f->blocked += t1 - t0;
    w = pg__window_next(f->window, f->k, t1 - t0, events, window_need(f));
    if (w != f->window) {
        grow(f, w, "nothing arrived", (t1 - t0) * 1000);
        f->period_t0 = 0;
        return;
    }
    /* Bytes trickling in (a server that throttles each connection) keep
     * it from ever being quiet, but not from waiting nearly all the
     * time. */
    if (t1 - f->period_t0 < PG_WINDOW_PERIOD)
        return;
    w = pg__window_idle_next(f->window, f->k, t1 - f->period_t0,
                             f->blocked);
    if (w != f->window)
        grow(f, w, "waiting on the network nearly all the time",
             (t1 - f->period_t0) * 1000);
    f->period_t0 = 0;
}

void pg__fetch_wakeup(struct pg__fetcher *f)
{
    if (f->multi)
        pg__events_wakeup(&f->ev);
}

unsigned pg__fetch_run(struct pg__fetcher *f, pg__fetch_done_cb done,
                       void *ud)
{
    unsigned n = 0;
    CURLMsg *m;
    /* While the window may grow: the worker's time per transfer. */
    double t0 = f->window < f->k ? pg__now() : 0;

    /* An abort is seen by each transfer's progress callback: every one
     * must run now, not only those with data. */
    if (f->cfg->abort_flag && atomic_load(f->cfg->abort_flag))
        pg__events_fall_back(&f->ev);
    pg__events_run(&f->ev);
    while ((m = pg__events_info_read(&f->ev)) != NULL) {
        struct pg__xfer *x = NULL;
        struct pg__item *it;
        CURLcode cc;

        if (m->msg != CURLMSG_DONE)
            continue;
        cc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        pg__events_remove(&f->ev, m->easy_handle);
        if (!x || !x->it)
            continue;
        it = x->it;
        if (xfer_next_hop(x, &cc)) {
            if (pg__events_add(&f->ev, x->easy) == CURLM_OK)
                continue;
            cc = CURLE_FAILED_INIT;
        }
        window_sample(f, x->easy);
        xfer_end(x, cc);
        x->next_free = f->free_slots;
        f->free_slots = x;
        f->active--;
        n++;
        done(it, ud);
    }
    if (t0 > 0)
        f->busy += pg__now() - t0;
    return n;
}
