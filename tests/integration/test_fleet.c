/*
 * test_fleet.c - one crawl shared by several pagegrab instances through
 * a real redis-server (--frontier, --job; issue 11).
 *
 * Each case starts its own redis-server on a free port (skipped when
 * redis-server is not installed) and its own test site, runs instances
 * side by side and checks the union of their manifests against the
 * site, their exit statuses and the job's counters in Redis.
 */
#include "fault.h"
#include "redis_server.h"
#include "server.h"
#include "testlib.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NP 24          /* pages */
#define NI 3           /* images per page */
#define MAXI 4         /* instances */

/* Pages of the site of the running case (at most NP). */
static unsigned n_pages = NP;
/* The index's delay: the instances started one after the other have
 * all joined before it lists the pages. */
static unsigned index_delay_ms;

struct site {
    char *index;
    char *page[NP];
    char *page_path[NP];
    struct pg_test_route routes[NP + 4];
    size_t n;
    struct pg_test_server *srv;
    char base[64];
};

static const char png[] = "\x89PNG\r\n\x1a\nfleet";

/* index -> p0..p(NP-1) -> NI images each; extra routes after those. */
static void site_start(struct pg_test *t, struct site *g, unsigned delay_ms,
                       const struct pg_test_route *extra, size_t n_extra,
                       const char *index_extra)
{
    size_t cap = NP * 64 + 512, n = 0;
    unsigned p, i;

    memset(g, 0, sizeof(*g));
    g->index = malloc(cap);
    if (!g->index)
        abort();
    n += (size_t)snprintf(g->index, cap, "<html><body>\n%s\n",
                          index_extra ? index_extra : "");
    for (p = 0; p < n_pages; p++) {
        size_t pc = 128 + NI * 64, k = 0;

        n += (size_t)snprintf(g->index + n, cap - n,
                              "<a href=\"/p%u.html\">p</a>\n", p);
        g->page[p] = malloc(pc);
        if (!g->page[p])
            abort();
        k += (size_t)snprintf(g->page[p], pc, "<html><body>\n");
        for (i = 0; i < NI; i++)
            k += (size_t)snprintf(g->page[p] + k, pc - k,
                                  "<img src=\"/img/%u/%u.png\">\n", p, i);
        snprintf(g->page[p] + k, pc - k, "</body></html>\n");
        g->page_path[p] = pg_strdupf("/p%u.html", p);
        g->routes[g->n++] = (struct pg_test_route){
            .path = g->page_path[p], .body = g->page[p],
            .body_len = strlen(g->page[p]), .content_type = "text/html",
            .delay_ms = delay_ms};
    }
    snprintf(g->index + n, cap - n, "</body></html>\n");
    g->routes[g->n++] = (struct pg_test_route){
        .path = "/", .body = g->index, .body_len = strlen(g->index),
        .content_type = "text/html", .delay_ms = index_delay_ms};
    g->routes[g->n++] = (struct pg_test_route){
        .path = "/img/", .flags = PG_ROUTE_PREFIX, .body = png,
        .body_len = sizeof(png) - 1, .content_type = "image/png",
        .delay_ms = delay_ms / 3};
    for (i = 0; i < n_extra; i++)
        g->routes[g->n++] = extra[i];
    g->srv = pg_test_server_start(g->routes, g->n);
    if (!g->srv)
        pg_test_fail(t, "cannot start the test server");
    snprintf(g->base, sizeof(g->base), "http://127.0.0.1:%u",
             pg_test_server_port(g->srv));
}

/* Every URL of the site (sorted into l). */
static void site_urls(const struct site *g, struct pg_strlist *l)
{
    unsigned p, i;
    char buf[128];

    snprintf(buf, sizeof(buf), "%s/", g->base);
    pg_strlist_add(l, buf);
    for (p = 0; p < n_pages; p++) {
        snprintf(buf, sizeof(buf), "%s/p%u.html", g->base, p);
        pg_strlist_add(l, buf);
        for (i = 0; i < NI; i++) {
            snprintf(buf, sizeof(buf), "%s/img/%u/%u.png", g->base, p, i);
            pg_strlist_add(l, buf);
        }
    }
}

/* Start instance k of job `job` (extra: more options, NULL-ended). */
static void start(struct pg_test *t, struct pg_proc *p, unsigned k,
                  const struct pg_redis_server *rs, const char *job,
                  const char *url, const char *const *extra)
{
    struct pg_args a = {0};
    char *out = pg_path(t, "out%u", k);
    char *man = pg_path(t, "m%u.jsonl", k);
    size_t i;

    pg_args_push(&a, "-m", t->mode, "-j", "2", "--frontier", rs->url,
                 "--job", job, "--images", "--follow", "//a/@href",
                 "--retry-delay", "0.1", "-o", out, "--manifest", man,
                 (const char *)NULL);
    for (i = 0; extra && extra[i]; i++)
        pg_args_push(&a, extra[i], (const char *)NULL);
    if (url)
        pg_args_push(&a, url, (const char *)NULL);
    pg_proc_start(t, p, NULL, 0, a.v);
}

/* The union of the manifests m0..m(n-1): per URL, how many ok records
 * and in which manifests; fails on an URL outside `want`. */
struct tally {
    struct pg_manifest m[MAXI];
    size_t per[MAXI];        /* records per manifest */
};

static size_t ok_count(struct tally *ty, unsigned n, const char *url,
                       long long *max_attempts)
{
    size_t c = 0;
    unsigned k;

    for (k = 0; k < n; k++) {
        for (size_t r = 0; r < ty->m[k].n; r++) {
            const struct pg_record *rec = &ty->m[k].rec[r];

            if (!pg_str_eq(pg_record_str(rec, "url"), url) ||
                !pg_str_eq(pg_record_str(rec, "status"), "ok"))
                continue;
            c++;
            if (max_attempts &&
                pg_record_int(rec, "attempts", 0) > *max_attempts)
                *max_attempts = pg_record_int(rec, "attempts", 0);
        }
    }
    return c;
}

static void load_all(struct pg_test *t, struct tally *ty, unsigned n,
                     const struct pg_strlist *want)
{
    unsigned k;

    memset(ty, 0, sizeof(*ty));
    for (k = 0; k < n; k++) {
        char *man = pg_path(t, "m%u.jsonl", k);

        pg_manifest_must_load(t, man, &ty->m[k]);
        ty->per[k] = ty->m[k].n;
        for (size_t r = 0; r < ty->m[k].n; r++) {
            const char *u = pg_record_str(&ty->m[k].rec[r], "url");
            size_t i;

            for (i = 0; i < want->n && !pg_str_eq(want->v[i], u); i++)
                ;
            PG_CHECK(t, i < want->n, "m%u.jsonl records '%s', not a URL "
                     "of the site", k, u ? u : "(null)");
        }
    }
}

/* (1) Three instances, the same seed: the site exactly once. */
static void test_three(struct pg_test *t)
{
    struct pg_redis_server rs;
    struct site g;
    struct pg_proc p[3];
    struct pg_run r;
    struct pg_strlist want = {0};
    struct tally ty;
    char root[96];
    unsigned k;

    pg_redis_start(t, &rs, 0);
    /* Every instance must get work: one that joined after the others
     * had claimed the whole site (it takes under a second) would not. */
    index_delay_ms = 1000;
    site_start(t, &g, 40, NULL, 0, NULL);
    index_delay_ms = 0;
    snprintf(root, sizeof(root), "%s/", g.base);
    for (k = 0; k < 3; k++)
        start(t, &p[k], k, &rs, "three", root, NULL);
    for (k = 0; k < 3; k++) {
        PG_CHECK_INT(t, pg_proc_wait(t, &p[k], 60, 0, &r), 0,
                     "exit status of an instance");
        pg_run_release(&r);
    }
    site_urls(&g, &want);
    load_all(t, &ty, 3, &want);
    for (size_t i = 0; i < want.n; i++)
        PG_CHECK_INT(t, ok_count(&ty, 3, want.v[i], NULL), 1,
                     want.v[i]);
    for (k = 0; k < 3; k++)
        PG_CHECK(t, ty.per[k] > 0, "instance %u did none of the work", k);
    PG_CHECK_INT(t, pg_redis_cmd(t, &rs, NULL, 0, "HGET",
                                 "pagegrab:{three}:stats", "ok", NULL),
                 (long long)want.n, "ok counter in Redis");
    PG_CHECK_INT(t, pg_redis_cmd(t, &rs, NULL, 0, "ZCARD",
                                 "pagegrab:{three}:leases", NULL), 0,
                 "leases left in Redis");
    /* Each page fetched once by the whole fleet. */
    PG_CHECK_INT(t, pg_test_server_hits(g.srv, "/p5.html", NULL), 1,
                 "requests for /p5.html");
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

/* How many leases the instance with this pid holds in job `job`. */
static long long held(struct pg_test *t, struct pg_redis_server *rs,
                      const char *job, pid_t pid)
{
    char insts[4096], key[512], tag[32];
    char *line, *save = NULL;

    snprintf(key, sizeof(key), "pagegrab:{%s}:insts", job);
    if (pg_redis_cmd(t, rs, insts, sizeof(insts), "ZRANGE", key, "0", "-1",
                     NULL) <= 0)
        return 0;
    snprintf(tag, sizeof(tag), "-%ld-", (long)pid);
    for (line = strtok_r(insts, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strstr(line, tag))
            continue;
        snprintf(key, sizeof(key), "pagegrab:{%s}:i:%s", job, line);
        return pg_redis_cmd(t, rs, NULL, 0, "SCARD", key, NULL);
    }
    return 0;
}

/* (2) kill -9 an instance holding leases: another reclaims them. */
static void test_kill(struct pg_test *t)
{
    static const char *const extra[] = { "--lease", "2", NULL };
    struct pg_redis_server rs;
    struct site g;
    struct pg_proc p[2];
    struct pg_run r;
    struct pg_strlist want = {0};
    struct tally ty;
    char root[96];
    long long maxa = 0;
    unsigned k;

    pg_redis_start(t, &rs, 0);
    site_start(t, &g, 400, NULL, 0, NULL);
    snprintf(root, sizeof(root), "%s/", g.base);
    /* Instance 0 alone until it holds leases; then instance 1 joins and
     * instance 0 dies. */
    start(t, &p[0], 0, &rs, "kill", root, extra);
    for (k = 0; k < 400 && held(t, &rs, "kill", p[0].pid) < 2; k++)
        pg_fault_sleep_ms(25);
    PG_CHECK(t, k < 400, "instance 0 never held two leases");
    start(t, &p[1], 1, &rs, "kill", root, extra);
    pg_fault_sleep_ms(300);
    kill(p[0].pid, SIGKILL);
    pg_proc_wait(t, &p[0], 30, 1, &r);
    pg_run_release(&r);
    PG_CHECK_INT(t, pg_proc_wait(t, &p[1], 90, 0, &r), 0,
                 "exit status of the survivor");
    pg_run_release(&r);
    site_urls(&g, &want);
    load_all(t, &ty, 2, &want);
    for (size_t i = 0; i < want.n; i++)
        PG_CHECK(t, ok_count(&ty, 2, want.v[i], &maxa) >= 1,
                 "%s is missing from every manifest", want.v[i]);
    PG_CHECK(t, pg_redis_cmd(t, &rs, NULL, 0, "HGET",
                             "pagegrab:{kill}:stats", "reclaimed", NULL) > 0,
             "no lease was reclaimed");
    PG_CHECK(t, maxa >= 2, "no reclaimed URL shows a second attempt");
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

/* (5) A URL that always resets: dead list, failed, exit 1. */
static void test_dead(struct pg_test *t)
{
    static const struct pg_test_route bad[] = {
        {.path = "/bad.png", .body = png, .body_len = sizeof(png) - 1,
         .content_type = "image/png", .fault = PG_FAULT_RESET},
    };
    static const char *const extra[] = { "--retries", "1", NULL };
    struct pg_redis_server rs;
    struct site g;
    struct pg_proc p[2];
    struct pg_run r;
    struct pg_strlist want = {0};
    struct tally ty;
    char root[96], dead[256], badurl[128];
    int codes[2], failed_in = -1;
    unsigned k;

    pg_redis_start(t, &rs, 0);
    site_start(t, &g, 20, bad, 1, "<img src=\"/bad.png\">");
    snprintf(root, sizeof(root), "%s/", g.base);
    snprintf(badurl, sizeof(badurl), "%s/bad.png", g.base);
    for (k = 0; k < 2; k++)
        start(t, &p[k], k, &rs, "dead", root, extra);
    for (k = 0; k < 2; k++) {
        codes[k] = pg_proc_wait(t, &p[k], 60, 0, &r);
        pg_run_release(&r);
    }
    site_urls(&g, &want);
    pg_strlist_add(&want, badurl);
    load_all(t, &ty, 2, &want);
    for (k = 0; k < 2; k++) {
        const struct pg_record *rec = pg_manifest_find(&ty.m[k], badurl);

        if (!rec)
            continue;
        PG_CHECK(t, failed_in < 0, "%s recorded by both instances", badurl);
        PG_CHECK_STR(t, pg_record_str(rec, "status"), "network-error",
                     "status of the resetting URL");
        failed_in = (int)k;
    }
    PG_CHECK(t, failed_in >= 0, "%s recorded by no instance", badurl);
    PG_CHECK_INT(t, codes[failed_in], 1, "exit status of the instance "
                 "that recorded the failure");
    PG_CHECK_INT(t, codes[1 - failed_in], 0, "exit status of the other");
    PG_CHECK_INT(t, pg_redis_cmd(t, &rs, dead, sizeof(dead), "LRANGE",
                                 "pagegrab:{dead}:dead", "0", "-1", NULL), 1,
                 "URLs in the dead list");
    PG_CHECK_STR(t, dead, badurl, "the dead list");
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

/* (6) Links found late, on a slow page: nobody leaves early. */
static void test_late(struct pg_test *t)
{
    static const char late_page[] =
        "<html><body><a href=\"/late2.html\">x</a></body></html>";
    static const char late2[] =
        "<html><body><img src=\"/img/late/0.png\"></body></html>";
    static const struct pg_test_route slow[] = {
        {.path = "/late.html", .body = late_page,
         .body_len = sizeof(late_page) - 1, .content_type = "text/html",
         .delay_ms = 1500},
        {.path = "/late2.html", .body = late2, .body_len = sizeof(late2) - 1,
         .content_type = "text/html", .delay_ms = 800},
    };
    static const char *const extra[] = { "--depth", "2", NULL };
    struct pg_redis_server rs;
    struct site g;
    struct pg_proc p[2];
    struct pg_run r;
    struct pg_strlist want = {0};
    struct tally ty;
    char root[96], u[128];
    unsigned k;

    pg_redis_start(t, &rs, 0);
    site_start(t, &g, 10, slow, 2, "<a href=\"/late.html\">late</a>");
    snprintf(root, sizeof(root), "%s/", g.base);
    for (k = 0; k < 2; k++)
        start(t, &p[k], k, &rs, "late", k ? NULL : root, extra);
    for (k = 0; k < 2; k++) {
        PG_CHECK_INT(t, pg_proc_wait(t, &p[k], 60, 0, &r), 0,
                     "exit status");
        PG_CHECK(t, r.secs >= 2.2, "instance %u left after %.2f s, before "
                 "the late links were done", k, r.secs);
        pg_run_release(&r);
    }
    site_urls(&g, &want);
    snprintf(u, sizeof(u), "%s/late.html", g.base);
    pg_strlist_add(&want, u);
    snprintf(u, sizeof(u), "%s/late2.html", g.base);
    pg_strlist_add(&want, u);
    snprintf(u, sizeof(u), "%s/img/late/0.png", g.base);
    pg_strlist_add(&want, u);
    load_all(t, &ty, 2, &want);
    for (size_t i = 0; i < want.n; i++)
        PG_CHECK_INT(t, ok_count(&ty, 2, want.v[i], NULL), 1, want.v[i]);
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

/* (8) An instance with another --follow is refused. */
static void test_refused(struct pg_test *t)
{
    struct pg_redis_server rs;
    struct site g;
    struct pg_run r;
    struct pg_args a = {0};
    char root[96];

    pg_redis_start(t, &rs, 0);
    site_start(t, &g, 0, NULL, 0, NULL);
    snprintf(root, sizeof(root), "%s/", g.base);
    pg_args_push(&a, "-m", t->mode, "--frontier", rs.url, "--job", "same",
                 "--images", "--follow", "//a/@href", "-o",
                 pg_path(t, "o1"), root, (const char *)NULL);
    PG_CHECK_INT(t, pg_run(t, &r, NULL, 60, a.v), 0, "first instance");
    pg_run_release(&r);
    memset(&a, 0, sizeof(a));
    pg_args_push(&a, "-m", t->mode, "--frontier", rs.url, "--job", "same",
                 "--images", "--follow", "//link/@href", "-o",
                 pg_path(t, "o2"), root, (const char *)NULL);
    PG_CHECK_INT(t, pg_run(t, &r, NULL, 60, a.v), 2,
                 "instance with another --follow");
    PG_CHECK(t, strstr(r.err, "crawl-shaping") && strstr(r.err, "follow") &&
             strstr(r.err, "//link/@href"),
             "the refusal names the option: %s", r.err);
    pg_run_release(&r);
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

/* Requests for everything but robots.txt, in arrival order. */
static size_t site_requests(struct pg_test_server *srv,
                            struct pg_test_request **out)
{
    size_t n = pg_test_server_requests(srv, NULL, 0), i, k = 0;
    struct pg_test_request *v = calloc(n + 1, sizeof(*v));

    if (!v)
        abort();
    n = pg_test_server_requests(srv, v, n);
    for (i = 0; i < n; i++) {
        if (strcmp(v[i].path, "/robots.txt"))
            v[k++] = v[i];
    }
    *out = v;
    return k;
}

/* Run n instances of job on the site; all must exit 0 and the union
 * of their manifests hold every URL of the site ok exactly once. */
static void run_all(struct pg_test *t, struct pg_redis_server *rs,
                    struct site *g, const char *job, unsigned n,
                    const char *const *extra, struct pg_strlist *more)
{
    struct pg_proc p[MAXI];
    struct pg_run r;
    struct pg_strlist want = {0};
    struct tally ty;
    char root[96];
    unsigned k;

    snprintf(root, sizeof(root), "%s/", g->base);
    for (k = 0; k < n; k++)
        start(t, &p[k], k, rs, job, root, extra);
    for (k = 0; k < n; k++) {
        PG_CHECK_INT(t, pg_proc_wait(t, &p[k], 90, 0, &r), 0,
                     "exit status of an instance");
        pg_run_release(&r);
    }
    site_urls(g, &want);
    for (k = 0; more && k < more->n; k++)
        pg_strlist_add(&want, more->v[k]);
    load_all(t, &ty, n, &want);
    for (size_t i = 0; i < want.n; i++)
        PG_CHECK_INT(t, ok_count(&ty, n, want.v[i], NULL), 1, want.v[i]);
}

/* (3) --per-host 1 --wait: the gaps hold across instances. */
static void test_polite(struct pg_test *t)
{
    static const char *const extra[] = { "--per-host", "1", "--wait", "0.3",
                                         NULL };
    struct pg_redis_server rs;
    struct pg_test_request *v;
    struct site g;
    size_t n, i;

    n_pages = 4;
    pg_redis_start(t, &rs, 0);
    site_start(t, &g, 20, NULL, 0, NULL);
    run_all(t, &rs, &g, "polite", 3, extra, NULL);
    n = site_requests(g.srv, &v);
    PG_CHECK_INT(t, n, 1 + 4 + 4 * NI, "requests to the site");
    /* A shared --wait counts from the previous request's end too. */
    for (i = 1; i < n; i++)
        PG_CHECK(t, v[i].start - v[i - 1].end >= 0.29,
                 "%s arrived %.3f s after %s ended (--wait 0.3, --per-host "
                 "1)", v[i].path, v[i].start - v[i - 1].end, v[i - 1].path);
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

/* (4) A 429 with Retry-After: 2 holds the host for every instance. */
static void test_retry_after(struct pg_test *t)
{
    static const struct pg_test_route ra[] = {
        {.path = "/ra.png", .body = png, .body_len = sizeof(png) - 1,
         .content_type = "image/png", .fault = PG_FAULT_STATUS,
         .fault_status = 429, .fault_headers = "Retry-After: 2",
         .times = 1},
    };
    struct pg_redis_server rs;
    struct pg_test_request *v;
    struct pg_strlist more = {0};
    struct site g;
    char u[128];
    double t429 = 0;
    size_t n, i;

    pg_redis_start(t, &rs, 0);
    site_start(t, &g, 60, ra, 1, "<img src=\"/ra.png\">");
    snprintf(u, sizeof(u), "%s/ra.png", g.base);
    pg_strlist_add(&more, u);
    run_all(t, &rs, &g, "ra", 3, NULL, &more);
    n = site_requests(g.srv, &v);
    for (i = 0; i < n && !t429; i++) {
        if (!strcmp(v[i].path, "/ra.png"))
            t429 = v[i].end;
    }
    PG_CHECK(t, t429 > 0, "/ra.png was never requested");
    for (i = 0; i < n; i++) {
        PG_CHECK(t, v[i].start < t429 + 0.3 || v[i].start > t429 + 1.9,
                 "%s arrived %.2f s after the 429 with Retry-After: 2",
                 v[i].path, v[i].start - t429);
    }
    PG_CHECK_INT(t, pg_test_server_hits(g.srv, "/ra.png", NULL), 2,
                 "requests for /ra.png");
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

/* (7) Redis killed and restarted (AOF on): nothing lost, nothing twice
 * (the outage is shorter than the lease). */
static void test_restart(struct pg_test *t)
{
    static const char *const extra[] = { "--lease", "8", NULL };
    struct pg_redis_server rs;
    struct site g;
    struct pg_proc p[2];
    struct pg_run r;
    struct pg_strlist want = {0};
    struct tally ty;
    char root[96];
    int said = 0;
    unsigned k;

    pg_redis_start(t, &rs, 1);
    site_start(t, &g, 150, NULL, 0, NULL);
    snprintf(root, sizeof(root), "%s/", g.base);
    for (k = 0; k < 2; k++)
        start(t, &p[k], k, &rs, "restart", root, extra);
    for (k = 0; k < 200 && pg_test_server_count(g.srv, NULL, NULL) < 10; k++)
        pg_fault_sleep_ms(25);
    pg_redis_kill(&rs);
    pg_fault_sleep_ms(1500);
    pg_redis_restart(t, &rs);
    for (k = 0; k < 2; k++) {
        char *err;

        PG_CHECK_INT(t, pg_proc_wait(t, &p[k], 90, 0, &r), 0, "exit status");
        err = r.err ? r.err : "";
        if (strstr(err, "retrying") && strstr(err, "is back"))
            said++;
        pg_run_release(&r);
    }
    PG_CHECK(t, said > 0, "no instance said Redis was down, then back");
    site_urls(&g, &want);
    load_all(t, &ty, 2, &want);
    for (size_t i = 0; i < want.n; i++)
        PG_CHECK_INT(t, ok_count(&ty, 2, want.v[i], NULL), 1, want.v[i]);
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

/* Process mode: the workers an instance forks do not hold its
 * connection to Redis (only the main process talks to Redis). */
static void test_fd(struct pg_test *t)
{
    struct pg_redis_server rs;
    struct site g;
    struct pg_proc p;
    struct pg_run r;
    struct pg_child kids[64];
    char root[96];
    size_t n = 0, i;
    unsigned k;

    if (!(t->modes & PG_MODE_PROCESS))
        pg_test_skip(t, "process mode is not enabled (PG_TEST_MODES)");
    t->mode = "process";
    pg_redis_start(t, &rs, 0);
    site_start(t, &g, 400, NULL, 0, NULL);
    snprintf(root, sizeof(root), "%s/", g.base);
    start(t, &p, 0, &rs, "fd", root, NULL);
    /* Workers run transfers: the instance has joined and claimed. */
    for (k = 0; k < 400; k++) {
        n = pg_proc_children(p.pid, kids, 64);
        if (n >= 1 && pg_test_server_count(g.srv, NULL, NULL) >= 2)
            break;
        pg_fault_sleep_ms(25);
    }
    PG_CHECK(t, n >= 1 && n <= 64, "%zu worker processes", n);
    /* The check itself sees the main process's connection. */
    PG_CHECK(t, pg_proc_tcp_to(p.pid, rs.port) >= 1, "the instance holds "
             "no socket to Redis port %u: the check sees nothing", rs.port);
    for (i = 0; i < n && i < 64; i++)
        PG_CHECK_INT(t, (long long)pg_proc_tcp_to(kids[i].pid, rs.port), 0,
                     "sockets to Redis held by a worker process");
    PG_CHECK_INT(t, pg_proc_wait(t, &p, 60, 0, &r), 0, "exit status");
    pg_run_release(&r);
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

/* Run `pagegrab fleet VERB --frontier URL --job job`; its stdout. */
static char *fleet(struct pg_test *t, struct pg_redis_server *rs,
                   const char *verb, const char *job, int want)
{
    struct pg_args a = {0};
    struct pg_run r;
    char *out;

    pg_args_push(&a, "fleet", verb, "--frontier", rs->url, "--job", job,
                 (const char *)NULL);
    PG_CHECK(t, pg_run(t, &r, NULL, 30, a.v) == want, "exit status %d of "
             "'pagegrab fleet %s', expected %d: %s", r.code, verb, want,
             r.err ? r.err : "");
    out = pg_strdupf("%s", r.out ? r.out : "");
    pg_run_release(&r);
    return out;
}

/* The counters of a `fleet status` summary line. */
struct fstat {
    unsigned long long queued, leased, ok, failed, dead;
};

static void parse_status(struct pg_test *t, const char *out,
                         struct fstat *st)
{
    const char *l = strstr(out, "\n  queued ");

    memset(st, 0, sizeof(*st));
    PG_CHECK(t, l && sscanf(l, "\n  queued %llu  leased %llu  ok %llu  "
                            "failed %llu  dead %llu", &st->queued,
                            &st->leased, &st->ok, &st->failed,
                            &st->dead) == 5,
             "no counters in the status:\n%s", out);
}

/* The "ok N  failed N  leased N" of the instance with this pid; -1 if
 * the status does not list it. */
static long long inst_ok(const char *out, pid_t pid, long long *leased)
{
    char tag[32];
    const char *l;
    unsigned long long ok, failed, ls;

    snprintf(tag, sizeof(tag), "-%ld-", (long)pid);
    l = strstr(out, tag);
    if (!l || !(l = strstr(l, " ok ")) ||
        sscanf(l, " ok %llu  failed %llu  leased %llu", &ok, &failed,
               &ls) != 3)
        return -1;
    if (leased)
        *leased = (long long)ls;
    return (long long)ok;
}

/* ok records of manifest k. */
static long long man_ok(struct tally *ty, unsigned k)
{
    long long n = 0;

    for (size_t r = 0; r < ty->m[k].n; r++)
        n += pg_str_eq(pg_record_str(&ty->m[k].rec[r], "status"), "ok");
    return n;
}

/* `fleet status` while two instances run, `fleet stop`: they finish
 * what they hold and exit 0, the status adds up per instance and per
 * host, a new instance is refused; `fleet resume` and a third finishes
 * the job. */
static void test_status_stop(struct pg_test *t)
{
    /* A few at a time: most of the site stays queued. */
    static const char *const extra[] = { "--per-host", "3", NULL };
    struct pg_redis_server rs;
    struct site g;
    struct pg_proc p[3];
    struct pg_run r;
    struct pg_strlist want = {0};
    struct tally ty;
    struct fstat st;
    char root[96], *out;
    long long ls = -1;
    unsigned k;

    pg_redis_start(t, &rs, 0);
    site_start(t, &g, 500, NULL, 0, NULL);
    snprintf(root, sizeof(root), "%s/", g.base);
    out = fleet(t, &rs, "status", "st", 0);
    PG_CHECK(t, strstr(out, "job st: not started") != NULL,
             "status of a job not started:\n%s", out);
    free(out);
    for (k = 0; k < 2; k++)
        start(t, &p[k], k, &rs, "st", root, extra);
    /* The index is done (its links queued), two have joined, pages run
     * (for 500 ms each). */
    for (k = 0; k < 400 && (pg_redis_cmd(t, &rs, NULL, 0, "ZCARD",
                                         "pagegrab:{st}:insts", NULL) < 2 ||
                            pg_redis_cmd(t, &rs, NULL, 0, "HGET",
                                         "pagegrab:{st}:stats", "ok",
                                         NULL) < 1 ||
                            pg_redis_cmd(t, &rs, NULL, 0, "ZCARD",
                                         "pagegrab:{st}:leases", NULL) < 1);
         k++)
        pg_fault_sleep_ms(25);
    PG_CHECK(t, k < 400, "two instances joined, the index done and a page "
             "leased: never seen");

    out = fleet(t, &rs, "status", "st", 0);
    parse_status(t, out, &st);
    PG_CHECK(t, st.leased >= 1 && st.leased <= 3 && st.queued >= 1,
             "a running crawl of 24 slow pages, 3 at a time, shows leased "
             "%llu, queued %llu:\n%s", st.leased, st.queued, out);
    for (k = 0; k < 2; k++)
        PG_CHECK(t, inst_ok(out, p[k].pid, NULL) >= 0,
                 "instance %u (pid %ld) is not listed:\n%s", k,
                 (long)p[k].pid, out);
    PG_CHECK(t, strstr(out, "queued per host:") && strstr(out, g.base),
             "no queue of host %s:\n%s", g.base, out);
    free(out);

    out = fleet(t, &rs, "stop", "st", 0);
    PG_CHECK(t, strstr(out, "stopping") != NULL, "fleet stop said:\n%s",
             out);
    free(out);
    for (k = 0; k < 2; k++) {
        PG_CHECK_INT(t, pg_proc_wait(t, &p[k], 60, 0, &r), 0,
                     "exit status of a stopped instance");
        pg_run_release(&r);
    }
    site_urls(&g, &want);
    load_all(t, &ty, 2, &want);
    out = fleet(t, &rs, "status", "st", 0);
    parse_status(t, out, &st);
    PG_CHECK(t, strstr(out, "(stopped)") != NULL, "not said stopped:\n%s",
             out);
    PG_CHECK_INT(t, (long long)st.leased, 0, "leases after the stop");
    PG_CHECK(t, st.queued > 0, "the stop came too late to test: nothing "
             "left queued");
    PG_CHECK_INT(t, (long long)st.ok, man_ok(&ty, 0) + man_ok(&ty, 1),
                 "status ok vs the ok records of the manifests");
    for (k = 0; k < 2; k++) {
        PG_CHECK_INT(t, inst_ok(out, p[k].pid, &ls), man_ok(&ty, k),
                     "an instance's ok in the status vs its manifest");
        PG_CHECK_INT(t, ls, 0, "an instance's leases after the stop");
    }
    {
        char line[160], key[128];
        unsigned long long hq = 0;
        const char *h = strstr(out, "queued per host:");

        h = h ? strstr(h, g.base) : NULL;
        PG_CHECK(t, h && sscanf(h + strlen(g.base), " %llu", &hq) == 1,
                 "no queue of host %s:\n%s", g.base, out);
        snprintf(key, sizeof(key), "pagegrab:{st}:q:%s", g.base);
        PG_CHECK_INT(t, (long long)hq, pg_redis_cmd(t, &rs, line,
                                                    sizeof(line), "LLEN",
                                                    key, NULL),
                     "queued per host vs the host's queue in Redis");
        PG_CHECK_INT(t, (long long)hq, (long long)st.queued,
                     "queued of the only host vs queued");
    }
    free(out);
    for (k = 0; k < 2; k++)
        pg_manifest_release(&ty.m[k]);

    /* Refused while stopped; resume; a third instance finishes. */
    start(t, &p[2], 2, &rs, "st", root, extra);
    PG_CHECK_INT(t, pg_proc_wait(t, &p[2], 30, 0, &r), 2,
                 "an instance joining a stopped job");
    PG_CHECK(t, r.err && strstr(r.err, "fleet resume"), "the refusal does "
             "not say how to resume: %s", r.err ? r.err : "");
    pg_run_release(&r);
    free(fleet(t, &rs, "resume", "st", 0));
    start(t, &p[2], 2, &rs, "st", NULL, extra);
    PG_CHECK_INT(t, pg_proc_wait(t, &p[2], 90, 0, &r), 0,
                 "exit status after resume");
    pg_run_release(&r);
    load_all(t, &ty, 3, &want);
    for (size_t i = 0; i < want.n; i++)
        PG_CHECK_INT(t, ok_count(&ty, 3, want.v[i], NULL), 1, want.v[i]);
    pg_test_server_stop(g.srv);
    pg_redis_stop(&rs);
}

static const struct pg_test_case cases[] = {
    {"three", test_three, PG_TEST_PER_MODE, 120},
    {"kill", test_kill, PG_TEST_PER_MODE, 150},
    {"dead", test_dead, PG_TEST_PER_MODE, 120},
    {"late", test_late, PG_TEST_PER_MODE, 120},
    {"refused", test_refused, PG_TEST_PER_MODE, 120},
    {"polite", test_polite, PG_TEST_PER_MODE, 120},
    {"retry_after", test_retry_after, PG_TEST_PER_MODE, 120},
    {"restart", test_restart, PG_TEST_PER_MODE, 150},
    {"fd", test_fd, 0, 120},
    {"status_stop", test_status_stop, PG_TEST_PER_MODE, 150},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
