/*
 * feed.c - the input: URLs from the argument list and the input file
 * become items in the frontier, or records of invalid lines; with
 * --shard, only this run's.  Not the reading of lines itself (input.c),
 * which shard owns a URL (shard.c) nor what happens to an item next
 * (job.c).  Main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "job.h"
#include "mem.h"
#include "url.h"

/* Where a URL came from, for messages: "urls.txt:3" or "argument 2". */
static void where(const struct pg_job *job, int from_file, uint64_t line,
                  char *buf, size_t len)
{
    const char *path = job->o->input_path;

    if (from_file)
        snprintf(buf, len, "%s:%llu", strcmp(path, "-") ? path : "<stdin>",
                 (unsigned long long)line);
    else
        snprintf(buf, len, "argument %llu", (unsigned long long)line);
}

/* What every item for an input line gets. */
static void input_item(struct pg_job *job, struct pg__item *it,
                       uint64_t line)
{
    it->id = job->next_id++;
    it->res.line = line;
    it->res.kind = job->crawl ? PG_KIND_PAGE : PG_KIND_FILE;
}

/* An input URL that cannot be fetched ends here, recorded as invalid. */
static void reject(struct pg_job *job, const char *url, size_t len,
                   uint64_t line, int from_file, const char *why)
{
    struct pg__item *it = pg__item_new();
    char *esc = pg__url_escape_input(url, len);
    char src[300];

    where(job, from_file, line, src, sizeof(src));
    pg__log(&job->log, PG_LOG_WARN, "%s: invalid URL '%.200s': %s", src,
            esc ? esc : "", why);
    if (!it || !esc) {
        pg__item_free(it);
        pg_free(esc);
        pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    it->res.url = esc;
    if (!it->res.url) {
        pg__item_free(it);
        pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    input_item(job, it, line);
    pg__item_error(it, PG_ST_INVALID_URL, "%s", why);
    pg__job_finish(it, job);
}

/*
 * --shard: whether an input line (len bytes) is this run's; u is the
 * parsed URL, or NULL for an invalid line.  An input URL of another
 * shard still marks the crawl's scope, and is seen: its own shard
 * fetches it, so a link to it is not recorded here.  -1 on out of
 * memory.
 */
static int own_input(struct pg_job *job, const char *s, size_t len,
                     const struct pg__url *u)
{
    char *in;
    int own;

    if (job->o->shard_n <= 1)
        return 1;
    in = pg__url_escape_input(s, len);
    if (!in)
        return -1;
    own = pg__shard_owns(job->o, job->shard_by_host, in,
                         u ? u->host : NULL);
    pg_free(in);
    if (own || !u || !job->crawl)
        return own;
    if (pg__frontier_see(job->fr, u->url) < 0 ||
        pg__nameset_put(&job->start_hosts,
                        pg__hash64(u->host, strlen(u->host)), 1))
        return -1;
    return 0;
}

/* Queue one input URL: valid ones go to the frontier, others are
 * recorded; those of other shards are dropped. */
static void queue_url(struct pg_job *job, const char *s, size_t len,
                      uint64_t line, int from_file)
{
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    struct pg__item *it;
    char *in;
    enum pg_code rc;
    int own;

    rc = pg__url_parse(&u, s, len, err, sizeof(err));
    if (rc == PG_E_NOMEM) {
        pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    own = own_input(job, s, len, rc ? NULL : &u);
    if (own <= 0) {
        if (!rc)
            pg__url_release(&u);
        if (own < 0)
            pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    if (rc) {
        reject(job, s, len, line, from_file, err);
        return;
    }
    in = pg__url_escape_input(s, len);
    if (!in) {
        pg__url_release(&u);
        pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    if (!job->crawl && job->o->resume && pg__crawl_already_done(job, in)) {
        pg_free(in);
        pg__url_release(&u);
        return;
    }
    rc = PG_OK;
    if (job->headers) {
        char *origin = pg__url_origin_of(&u);

        rc = origin ? pg__dedup_add(&job->origins, origin, "") : PG_E_NOMEM;
        pg_free(origin);
    }
    if (!rc && job->crawl) {
        /* Inputs are always fetched; they also mark what is seen and
         * which hosts are in scope. */
        if (pg__frontier_see(job->fr, u.url) < 0 ||
            pg__nameset_put(&job->start_hosts,
                            pg__hash64(u.host, strlen(u.host)), 1) ||
            pg__frontier_add_scope(job->fr, u.host))
            rc = PG_E_NOMEM;
    }
    it = rc ? NULL : pg__item_new();
    if (it) {
        it->res.url = in;
        in = NULL;
        it->url = u.url;
        u.url = NULL;
    }
    pg_free(in);
    pg__url_release(&u);
    if (!it || !it->res.url) {
        pg__item_free(it);
        pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    input_item(job, it, line);
    if (job->crawl)
        it->flags |= PG_ITEM_PARSE;
    rc = pg__frontier_push(job->fr, it);
    if (rc) {
        pg__item_free(it);
        pg__job_fail(job, rc);
    }
}

/* Read one more input URL into the frontier; 0 when the input is done. */
int pg__feed_read(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    const char *line;
    char errtxt[128];
    size_t len;
    uint64_t lineno;
    enum pg_code rc;

    if (job->next_arg < o->n_urls) {
        const char *s = o->urls[job->next_arg++];

        queue_url(job, s, strlen(s), job->next_arg, 0);
        return 1;
    }
    if (!job->in) {
        job->input_done = 1;
        return 0;
    }
    rc = pg__input_next(job->in, &line, &len, &lineno);
    if (rc == PG_E_LIMIT) {
        /* --shard: keyed by the empty string (the line is not kept). */
        if (own_input(job, "", 0, NULL))
            reject(job, "", 0, lineno, 1, "line longer than 8192 bytes");
        return 1;
    }
    if (rc) {
        pg__job_set_err(job, "cannot read '%s': %s", o->input_path,
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
        pg__job_fail(job, PG_E_FATAL);
        return 0;
    }
    if (!line && job->in->would_block) {
        job->in->would_block = 0;   /* look again on the next round */
        return 0;
    }
    if (!line) {
        job->input_done = 1;
        return 0;
    }
    queue_url(job, line, len, lineno, 1);
    return 1;
}

enum pg_code pg__feed_open(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    char errtxt[128];
    struct stat st;
    int64_t n;

    if (!o->input_path) {
        /* --shard: this run's share is not known in advance. */
        job->stats.total = o->shard_n > 1 ? 0 : o->n_urls;
        return PG_OK;
    }
    job->in = pg_malloc(sizeof(*job->in));
    if (!job->in)
        return PG_E_NOMEM;
    if (pg__input_open(job->in, o->input_path)) {
        pg__job_set_err(job, "cannot open input '%s': %s", o->input_path,
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
        PG_FREE(job->in);
        return PG_E_INVALID;
    }
    job->in->probe = fstat(job->in->fd, &st) != 0 || !S_ISREG(st.st_mode);
    if (strcmp(o->input_path, "-") && o->shard_n <= 1) {
        n = pg__input_count(o->input_path);
        if (n >= 0)
            job->stats.total = (uint64_t)n + o->n_urls;
    }
    return PG_OK;
}
