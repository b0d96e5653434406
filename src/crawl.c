/*
 * crawl.c - the links a parsed page leads to: scope (--span-hosts,
 * --domains), --accept/--reject, robots.txt rules, --resume's record of
 * what is already done, --shard's pages of other shards (--divert), and
 * the checks and compiled filters crawling needs.  Not the parsing
 * itself (extract.c, in the workers) nor the queue (frontier.c).  Main
 * thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "job.h"
#include "mem.h"
#include "spool.h"
#include "url.h"
#include "xpath.h"

/* A robots.txt fetch came back: turn it into rules for its origin. */
void pg__crawl_robots_done(struct pg_job *job, struct pg__item *it)
{
    struct pg__robots *rules = NULL;
    char *body = NULL;
    ssize_t n = 0;
    int fd;

    if (it->res.status == PG_ST_OK && it->res.tmp_name) {
        fd = openat(job->save.outdir_fd, it->res.tmp_name, O_RDONLY | O_NOFOLLOW |
                    O_CLOEXEC);
        /* One byte past the cap, so the parser sees a cut last line. */
        body = fd >= 0 ? pg_malloc(PG_ROBOTS_MAX_BYTES + 1) : NULL;
        if (body)
            n = pread(fd, body, PG_ROBOTS_MAX_BYTES + 1, 0);
        if (fd >= 0)
            close(fd);
        rules = pg__robots_parse(body ? body : "", n > 0 ? (size_t)n : 0,
                                 "pagegrab");
        pg_free(body);
    } else if ((it->res.http_code >= 400 && it->res.http_code < 500) ||
               it->res.status == PG_ST_BLOCKED) {
        /* RFC 9309: unavailable.  A blocked robots.txt (a private
         * address) allows all: the links themselves are then refused. */
        rules = pg__robots_allow_all();
    } else {
        rules = pg__robots_disallow_all(); /* RFC 9309: unreachable */
        pg__log(&job->log, PG_LOG_WARN, "%s: %s; nothing discovered on "
                "this host will be fetched", it->url,
                it->error[0] ? it->error : "robots.txt unreachable");
    }
    if (!rules)
        pg__job_fail(job, PG_E_NOMEM);
    pg__frontier_set_robots(job->fr, it, rules);
    if (it->res.tmp_name)
        unlinkat(job->save.outdir_fd, it->res.tmp_name, 0);
}

/*
 * --resume: whether url's last record in the old manifest was a success
 * that needs no redoing (pages and stylesheets are fetched again: their
 * links are needed).  Counted as done.
 */
int pg__crawl_already_done(struct pg_job *job, const char *url)
{
    uint32_t v;

    /* A shared frontier knows what the job has done. */
    if (!job->o->resume || pg__frontier_shared(job->fr) ||
        !pg__nameset_get(&job->done, pg__hash64(url, strlen(url)), &v) ||
        !(v & RESUME_DONE))
        return 0;
    job->stats.done++;
    job->stats.ok++;
    return 1;
}

/* Whether a followed page on `host` is inside the crawl's scope. */
static int in_scope(const struct pg_job *job, const char *host, size_t n)
{
    const struct pg_options *o = job->o;
    size_t i;
    uint32_t v;

    if (o->span_hosts ||
        pg__nameset_get(&job->start_hosts, pg__hash64(host, n), &v))
        return 1;
    for (i = 0; i < o->n_domains; i++) {
        const char *d = o->domains[i];
        size_t k = strlen(d);

        if (k == 0)
            continue;
        if ((n == k && !strcasecmp(host, d)) ||
            (n > k && host[n - k - 1] == '.' && !strcasecmp(host + n - k,
                                                            d)))
            return 1;
    }
    return 0;
}

/* The nesting of a stylesheet (0 for a page). */
static unsigned css_nest(const struct pg__item *it)
{
    return (it->flags & PG_ITEM_NEST_MASK) >> PG_ITEM_NEST_SHIFT;
}

/* What a link found on page becomes: a page, an image or a stylesheet. */
static enum pg_kind link_kind(const struct pg__link *link)
{
    switch (link->kind) {
    case PG_LINK_PAGE:
        return PG_KIND_PAGE;
    case PG_LINK_CSS:
        return PG_KIND_CSS;
    case PG_LINK_IMAGE:
        break;
    }
    return PG_KIND_IMAGE;
}

/* A new item for a discovered link, with what it inherits. */
static struct pg__item *link_item(struct pg_job *job,
                                  const struct pg__item *page,
                                  const char *url, enum pg_kind kind)
{
    struct pg__item *it = pg__item_new();

    if (!it)
        return NULL;
    it->res.url = pg__strdup(url);
    it->url = pg__strdup(url);
    it->res.referrer = pg__strdup(page->url);
    if (!it->res.url || !it->url || !it->res.referrer) {
        pg__item_free(it);
        return NULL;
    }
    it->id = job->next_id++;
    it->res.kind = kind;
    it->res.depth = page->res.depth + (kind == PG_KIND_PAGE);
    if (kind == PG_KIND_PAGE)
        it->flags |= PG_ITEM_PARSE;
    else if (kind == PG_KIND_CSS)
        it->flags |= PG_ITEM_CSS | (css_nest(page) + 1) << PG_ITEM_NEST_SHIFT;
    else
        it->flags |= PG_ITEM_IMAGE;
    if (!job->o->no_robots)
        it->flags |= PG_ITEM_ROBOTS_CHECK;
    /* Private addresses only below a start page that is on one. */
    if (!job->o->allow_private && !(page->flags & PG_ITEM_PRIVATE_IP))
        it->flags |= PG_ITEM_PUBLIC_ONLY;
    job->discovered++;
    if (job->stats.total)
        job->stats.total++;
    return it;
}

/*
 * A followed page of another shard: recorded other-shard and written to
 * --divert, once (the seen set).  A resumed run that recorded it
 * already does neither again.
 */
static void other_shard(struct pg_job *job, const struct pg__item *page,
                        const char *url)
{
    char errtxt[128];
    struct pg__item *it;
    uint32_t v;
    enum pg_code rc;

    if (job->o->resume &&
        pg__nameset_get(&job->done, pg__hash64(url, strlen(url)), &v) &&
        (v & RESUME_OTHER_SHARD))
        return;
    it = link_item(job, page, url, PG_KIND_PAGE);
    if (!it) {
        pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    job->discovered--;          /* not this run's */
    if (job->stats.total)
        job->stats.total--;
    rc = pg__divert_add(&job->divert, url, job->o->sync);
    if (rc && !job->stop) {
        pg__job_set_err(job, "cannot write divert file '%s': %s",
                        job->o->divert_path, rc == PG_E_IO ?
                        pg__errstr(errno, errtxt, sizeof(errtxt)) :
                        pg_strerror(rc));
        pg__job_fail(job, rc == PG_E_NOMEM ? rc : PG_E_FATAL);
    }
    pg__item_error(it, PG_ST_OTHER_SHARD, "a page of another shard");
    pg__job_finish(it, job);
}

/*
 * Whether a followed page is in scope (0: dropped) and this run's
 * (1), or another shard's (2).
 */
static int page_fate(struct pg_job *job, const char *url)
{
    char host[PG_URL_MAX];
    size_t n;

    /* The worker normalised the link: its host is read, not parsed
     * again. */
    n = pg__url_host_of(url, host, sizeof(host));
    if (n == 0 || !in_scope(job, host, n))
        return 0;
    return pg__shard_owns(job->o, job->shard_by_host, url, host) ? 1 : 2;
}

void pg__crawl_discover(struct pg_job *job, const struct pg__item *page,
                        const struct pg__link *link)
{
    enum pg_kind kind = link_kind(link);
    struct pg__item *it;
    enum pg_code rc;
    int seen, fate = 1;

    /* A page's stylesheets are its requisites, like its images: any
     * host, whatever --depth; only @import chains are bounded. */
    if (kind == PG_KIND_CSS && css_nest(page) + 1 > PG_CSS_NEST_MAX)
        return;
    if (kind == PG_KIND_PAGE) {
        if (page->res.depth + 1 > job->o->depth)
            return;
        fate = page_fate(job, link->url);
        if (!fate)
            return;
    }
    seen = pg__frontier_see(job->fr, link->url);
    if (seen < 0) {
        pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    if (seen == 0)
        return;
    if (fate == 2) {
        other_shard(job, page, link->url);
        return;
    }
    if (pg__crawl_already_done(job, link->url))
        return;
    it = link_item(job, page, link->url, kind);
    if (!it) {
        pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    if (pg__regex_list_match(job->reject, link->url) >= 0) {
        pg__item_error(it, PG_ST_FILTERED, "rejected by --reject");
        pg__frontier_record(job->fr, it);
        return;
    }
    if (kind == PG_KIND_IMAGE && pg__regex_list_count(job->accept) &&
        pg__regex_list_match(job->accept, link->url) < 0) {
        pg__item_error(it, PG_ST_FILTERED, "not matched by --accept");
        pg__frontier_record(job->fr, it);
        return;
    }
    if (kind == PG_KIND_IMAGE && job->o->list_only)
        it->flags |= PG_ITEM_NOFETCH;  /* listed once robots allow it */
    rc = pg__frontier_push(job->fr, it);
    if (rc) {
        pg__item_free(it);
        pg__job_fail(job, rc);
    }
}

/* Check and compile what extraction and crawling need. */
enum pg_code pg__crawl_setup(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    struct pg__extract_config *x = &job->xcfg;
    char err[PG_ERRBUF_SIZE];
    size_t i;

    job->crawl = o->images || o->n_xpaths || o->n_follow;
    for (i = 0; i < o->n_xpaths + o->n_follow; i++) {
        const char *e = i < o->n_xpaths ? o->xpaths[i]
                                        : o->follow[i - o->n_xpaths];

        if (pg__xpath_check(e, err, sizeof(err))) {
            pg__job_set_err(job, "invalid XPath expression '%s': %s", e,
                            err);
            return PG_E_INVALID;
        }
    }
    job->accept = pg__regex_list_new(o->accept, o->n_accept, err,
                                     sizeof(err));
    if (!job->accept) {
        pg__job_set_err(job, "%s", err);
        return strcmp(err, "out of memory") ? PG_E_INVALID : PG_E_NOMEM;
    }
    job->reject = pg__regex_list_new(o->reject, o->n_reject, err,
                                     sizeof(err));
    if (!job->reject) {
        pg__job_set_err(job, "%s", err);
        return strcmp(err, "out of memory") ? PG_E_INVALID : PG_E_NOMEM;
    }
    memset(x, 0, sizeof(*x));
    x->default_images = o->images;
    x->image_xpaths = o->xpaths;
    x->n_image_xpaths = o->n_xpaths;
    x->follow_xpaths = o->follow;
    x->n_follow_xpaths = o->n_follow;
    x->srcset_all = o->srcset_all;
    x->max_links = 10000;
    if (job->crawl)
        job->fetch.extract = x;
    return PG_OK;
}

/*
 * --resume: remember the last state of every URL of the old run, and
 * the names it gave (the first URL to hold a name keeps it), so that no
 * other URL is given one of them.
 */
static enum pg_code resume_record(const struct pg__manifest_rec *rec,
                                  void *ud)
{
    struct pg_job *job = ud;
    uint64_t h = pg__hash64(rec->url, strlen(rec->url));
    int ok = (!strcmp(rec->status, "ok") || !strcmp(rec->status, "exists") ||
              !strcmp(rec->status, "changed") ||
              !strcmp(rec->status, "unchanged") ||
              !strcmp(rec->status, "gone"));
    enum pg_code rc;

    /* --update: an earlier run's record is what is refreshed, not what
     * this run did (update.c claimed its names). */
    if (pg__update_before_mark(job, rec->lineno))
        return PG_OK;
    if (rec->path && !job->o->update && !pg__spool_check_name(rec->path)) {
        rc = pg__names_claim(&job->save.names, &job->save.names_urls,
                             job->save.outdir_fd, rec->path, rec->url);
        if (rc)
            return rc;
    }
    /* A saved file whose hook did not end: the hook runs again (exec.c),
     * the URL is not fetched again (unless it is a page). */
    if (ok && rec->exec_pending) {
        rc = pg__exec_resume_add(&job->exec, rec, h);
        if (rc)
            return rc;
    }
    return pg__nameset_put(&job->done, h,
                           /* pages and stylesheets: fetched again for
                            * their links */
                           (ok && strcmp(rec->kind, "page") &&
                            strcmp(rec->kind, "css") ? RESUME_DONE : 0) |
                           (ok && rec->exec_pending ? RESUME_HOOK : 0) |
                           /* recorded (and diverted) as another
                            * shard's page */
                           (!strcmp(rec->status, "other-shard") ?
                            RESUME_OTHER_SHARD : 0));
}

enum pg_code pg__crawl_resume(struct pg_job *job)
{
    const char *path = job->o->manifest_path;
    char errtxt[128];
    enum pg_code rc;

    rc = pg__manifest_read(path, resume_record, job);
    if (rc) {
        pg__job_set_err(job, "cannot read manifest '%s' to resume: %s",
                        path, rc == PG_E_IO ?
                        pg__errstr(errno, errtxt, sizeof(errtxt)) :
                        pg_strerror(rc));
        return rc == PG_E_NOMEM ? PG_E_NOMEM : PG_E_INVALID;
    }
    return PG_OK;
}

enum pg_code pg__crawl_divert_open(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    char errtxt[128];

    if (!o->divert_path || !pg__divert_open(&job->divert, o->divert_path,
                                            o->resume))
        return PG_OK;
    pg__job_set_err(job, "cannot create divert file '%s': %s",
                    o->divert_path,
                    pg__errstr(errno, errtxt, sizeof(errtxt)));
    return PG_E_FATAL;
}

void pg__crawl_divert_close(struct pg_job *job)
{
    char errtxt[128];

    if (job->divert.fd < 0 || !pg__divert_close(&job->divert))
        return;
    pg__log(&job->log, PG_LOG_ERROR, "cannot write divert file '%s': %s",
            job->o->divert_path, pg__errstr(errno, errtxt, sizeof(errtxt)));
    if (!job->fatal) {
        pg__job_set_err(job, "cannot write divert file '%s': %s",
                        job->o->divert_path, errtxt);
        job->fatal = PG_E_FATAL;
    }
}
