/*
 * job_fleet.c - the job's frontier: its options (--frontier, --job,
 * --lease), the canonical text of the crawl-shaping options that every
 * instance of a shared job must agree on, and creating the frontier
 * (frontier.h).  Not the frontier itself.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "job.h"
#include "mem.h"
#include "url.h"

enum pg_code pg__options_check_frontier(struct pg_job *job)
{
    const struct pg_options *o = job->o;

    if (!o->frontier) {
        if (o->job_name) {
            pg__job_set_err(job, "--job '%s' needs --frontier "
                            "redis://HOST:PORT", o->job_name);
            return PG_E_INVALID;
        }
        return PG_OK;
    }
    if (strncmp(o->frontier, "redis://", 8)) {
        pg__job_set_err(job, "invalid frontier '%s': expected "
                        "redis://HOST[:PORT][/DB]", o->frontier);
        return PG_E_INVALID;
    }
    if (!o->job_name) {
        pg__job_set_err(job, "--frontier '%s' needs --job NAME (the name "
                        "every instance of the crawl shares)", o->frontier);
        return PG_E_INVALID;
    }
    if (!pg__frontier_job_ok(o->job_name)) {
        pg__job_set_err(job, "invalid job name '%s': expected 1 to 64 of "
                        "A-Z a-z 0-9 . _ -", o->job_name);
        return PG_E_INVALID;
    }
    if (o->lease_s < 1 || o->lease_s > 86400) {
        pg__job_set_err(job, "lease must be 1..86400 seconds, not %u",
                        o->lease_s);
        return PG_E_INVALID;
    }
    return PG_OK;
}

/* "name=v1\x1ev2\n": a list, its items kept apart. */
static enum pg_code add_list(struct pg__buf *b, const char *name,
                             const char *const *v, size_t n)
{
    enum pg_code rc = pg__buf_addf(b, "%s=", name);
    size_t i;

    for (i = 0; !rc && i < n; i++)
        rc = pg__buf_addf(b, "%s%s", i ? "\x1e" : "", v[i]);
    return rc ? rc : pg__buf_addc(b, '\n');
}

/*
 * The options that shape what the crawl fetches and how politely, one
 * "name=value" line each in a fixed order: equal text, equal crawl.
 */
static char *shape_text(const struct pg_options *o)
{
    struct pg__buf b;
    enum pg_code rc;

    pg__buf_init(&b, 1 << 20);
    rc = pg__buf_addf(&b, "images=%d\nsrcset=%s\ndepth=%u\nspan-hosts=%d\n"
                      "images-only=%d\nlist=%d\nno-robots=%d\n"
                      "allow-private=%d\nper-host=%u\nwait=%ld\n"
                      "random-wait=%d\n", o->images,
                      o->srcset_all ? "all" : "largest", o->depth,
                      o->span_hosts, o->images_only, o->list_only,
                      o->no_robots, o->allow_private, o->per_host,
                      o->wait_ms, o->random_wait);
    if (!rc)
        rc = add_list(&b, "xpath", o->xpaths, o->n_xpaths);
    if (!rc)
        rc = add_list(&b, "follow", o->follow, o->n_follow);
    if (!rc)
        rc = add_list(&b, "domains", o->domains, o->n_domains);
    if (!rc)
        rc = add_list(&b, "accept", o->accept, o->n_accept);
    if (!rc)
        rc = add_list(&b, "reject", o->reject, o->n_reject);
    if (!rc)
        rc = pg__buf_addf(&b, "%s", o->job_shape ? o->job_shape : "");
    if (rc) {
        pg__buf_release(&b);
        return NULL;
    }
    return pg__buf_take(&b);
}

static void record_cb(struct pg__item *it, void *ud)
{
    pg__job_finish(it, ud);
}

/* An input host of the job, learnt from the shared frontier. */
static void scope_cb(const char *host, void *ud)
{
    struct pg_job *job = ud;

    if (pg__nameset_put(&job->start_hosts, pg__hash64(host, strlen(host)),
                        1))
        pg__job_fail(job, PG_E_NOMEM);
}

static uint64_t next_id(void *ud)
{
    struct pg_job *job = ud;

    return job->next_id++;
}

enum pg_code pg__job_setup_frontier(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    struct pg__frontier_config c;
    enum pg_code rc;

    memset(&c, 0, sizeof(c));
    c.per_host = o->per_host;
    c.wait_ms = o->wait_ms;
    c.random_wait = o->random_wait;
    c.spill_dirfd = job->save.outdir_fd;
    c.spill_budget = o->queue_memory;
    c.url = o->frontier;
    c.job = o->job_name;
    c.lease_s = o->lease_s;
    c.max_claims = o->retries + 1;
    c.seeding = o->n_urls > 0 || o->input_path;
    c.log = &job->log;
    c.stop_req = &job->stop_req;
    c.record = record_cb;
    c.next_id = next_id;
    c.scope = scope_cb;
    c.ud = job;
    if (o->frontier) {
        job->shape = shape_text(o);
        if (!job->shape)
            return PG_E_NOMEM;
        c.shape = job->shape;
        /* Nobody knows how many URLs the job will have. */
        job->stats.total = 0;
    }
    job->fr = pg__frontier_new(&c);
    if (!job->fr)
        return PG_E_NOMEM;
    rc = pg__frontier_start(job->fr);
    if (rc)
        pg__job_set_err(job, "%s", job->fr->errmsg);
    return rc;
}
