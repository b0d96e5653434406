/*
 * test_shard.c - integration tests for static sharding (issue 11,
 * "Static sharding", test 9): --shard K/N partitions a list (the N
 * manifests hold each input line once, invalid lines included, and each
 * shard gets some), --resume keeps a shard to its share, a crawl keyed by
 * host records pages of other shards "other-shard" and writes them to
 * --divert for a later pass, --shard auto reads a Slurm job array or a
 * Kubernetes Indexed Job from the environment, and bad values are usage
 * errors that name them.
 *
 * The shard of every record is checked against this file's own copy of
 * the documented hash (FNV-1a 64 + the MurmurHash3 finaliser, mod N),
 * written from pagegrab.h's description, not shared with the library.
 *
 * Several hosts on one server: libcurl resolves "localhost" and
 * "*.localhost" to the loopback address, so 127.0.0.1, localhost and
 * x.localhost on the same port are different hosts for --shard-key host.
 *
 * Tests flagged PG_TEST_PER_MODE run with --mode thread and --mode
 * process; PG_TEST_PER_WORKER=K adds --per-worker K (the multi path).
 */
#include "server.h"
#include "testlib.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define END ((const char *)NULL)
#define N_SHARDS 3

/* The documented hash: FNV-1a 64, then the MurmurHash3 finaliser. */
static unsigned shard_of(const char *key, unsigned n)
{
    uint64_t h = 14695981039346656037ULL;

    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (unsigned)(h % n);
}

/* ---- a batch of 300 files and a few invalid lines ----------------- */

#define N_FILES 300
#define N_BAD 7

static const struct pg_test_route files_route = {
    .path = "/f/", .kind = PG_ROUTE_FILES, .nfiles = N_FILES,
    .size_min = 10, .size_max = 200,
};

/* The input list: N_FILES URLs and N_BAD invalid lines, mixed. */
static char *write_list(struct pg_test *t, struct pg_test_server *srv,
                        struct pg_strlist *lines, size_t n_files)
{
    char *path = pg_path(t, "urls.txt");
    struct pg_strlist all = {0};
    char *text;

    for (size_t i = 0; i < n_files; i++) {
        char *p = pg_fault_file_path(&files_route, i);
        char *u = pg_test_server_url(srv, p);

        pg_strlist_add(lines, u);
        pg_strlist_add(&all, u);
        if (i % 45 == 7 && lines->n < n_files + N_BAD) {
            char *bad = pg_strdupf(i % 2 ? "not a url %zu" :
                                   "ftp://127.0.0.1/%zu", i);

            pg_strlist_add(lines, bad);
            pg_strlist_add(&all, bad);
        }
    }
    text = pg_strlist_join(&all, "\n");
    pg_write_file(t, path, text, strlen(text));
    return path;
}

static int is_bad_line(const char *s)
{
    return !pg_str_has_prefix(s, "http://");
}

/*
 * Check shard k's manifest: every record is its own (by the hash), in
 * the state it should be in; count them into seen[] (indexed like
 * lines).  Returns the number of records.
 */
static size_t check_shard_manifest(struct pg_test *t, const char *path,
                                   unsigned k, unsigned n,
                                   const struct pg_strlist *lines,
                                   unsigned *seen)
{
    struct pg_manifest m;
    size_t i, j;

    pg_manifest_must_load(t, path, &m);
    for (i = 0; i < m.n; i++) {
        const char *url = pg_record_str(&m.rec[i], "url");
        const char *st = pg_record_str(&m.rec[i], "status");
        char why[256];

        PG_CHECK(t, url && st, "%s: record %zu without url/status", path, i);
        PG_CHECK(t, pg_record_check_crawl_schema(&m.rec[i], why,
                                                 sizeof(why)),
                 "%s: %s", path, why);
        PG_CHECK(t, shard_of(url, n) == k, "%s: '%s' is shard %u, not %u",
                 path, url, shard_of(url, n), k);
        PG_CHECK_STR(t, st, is_bad_line(url) ? "invalid-url" : "ok", url);
        for (j = 0; j < lines->n && strcmp(lines->v[j], url); j++)
            ;
        PG_CHECK(t, j < lines->n, "%s: '%s' is not an input line", path,
                 url);
        seen[j]++;
    }
    i = m.n;
    pg_manifest_release(&m);
    return i;
}

/* Records of the manifest with this status (NULL: all of them). */
static size_t count_records_with(struct pg_test *t, const char *path,
                                 const char *status)
{
    struct pg_manifest m;
    size_t i, n = 0;

    pg_manifest_must_load(t, path, &m);
    for (i = 0; i < m.n; i++) {
        const char *st = pg_record_str(&m.rec[i], "status");

        n += !status || (st && !strcmp(st, status));
    }
    pg_manifest_release(&m);
    return n;
}

/* Run shard k of n over the list; the exit status says whether the
 * shard got an invalid line. */
static void run_batch_shard(struct pg_test *t, const char *list,
                            const char *out, const char *man, unsigned k,
                            unsigned n, const struct pg_strlist *lines,
                            int resume)
{
    char spec[32], want[64];
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    size_t mine = 0, bad = 0;

    for (size_t i = 0; i < lines->n; i++) {
        if (shard_of(lines->v[i], n) == k) {
            mine++;
            bad += is_bad_line(lines->v[i]);
        }
    }
    snprintf(spec, sizeof(spec), "%u/%u", k, n);
    pg_args_push(&x, "--mode", t->mode, "-j", "4", "-i", list, "-o", out,
                 "--manifest", man, "--shard", spec, "--no-progress", END);
    if (resume)
        pg_args_push(&x, "--resume", END);
    pg_run(t, &r, NULL, 120, x.v);
    PG_CHECK_INT(t, r.code, bad ? 1 : 0, "exit status");
    /* The summary counts this shard's URLs only (a resumed run: only
     * the invalid lines are done again; the rest count as done). */
    snprintf(want, sizeof(want), "shard %u/%u: %zu URLs: %zu ok, %zu "
             "failed;", k, n, mine, mine - bad, bad);
    PG_CHECK(t, strstr(r.err, want), "summary: expected '%s' in: %s", want,
             r.err);
    pg_run_release(&r);
}

static void test_batch_partition(struct pg_test *t)
{
    struct pg_test_server *srv = pg_test_server_must_start(t, &files_route, 1);
    struct pg_strlist lines = {0};
    char *list = write_list(t, srv, &lines, N_FILES);
    char *out = pg_path(t, "out");
    unsigned *seen = calloc(lines.n, sizeof(*seen));
    size_t per[N_SHARDS], i;
    unsigned k;

    PG_CHECK_INT(t, lines.n, N_FILES + N_BAD, "input lines");
    for (k = 0; k < N_SHARDS; k++) {
        char *man = pg_path(t, "shard-%u.jsonl", k);

        run_batch_shard(t, list, out, man, k, N_SHARDS, &lines, 0);
        per[k] = check_shard_manifest(t, man, k, N_SHARDS, &lines, seen);
        PG_CHECK(t, per[k] >= 50, "shard %u got only %zu URLs", k, per[k]);
    }
    /* The union is exactly the list, each line once. */
    for (i = 0; i < lines.n; i++)
        PG_CHECK(t, seen[i] == 1, "'%s' recorded %u times", lines.v[i],
                 seen[i]);
    PG_CHECK_INT(t, per[0] + per[1] + per[2], lines.n, "records");
    /* Each file fetched once, by its shard. */
    for (i = 0; i < N_FILES; i++)
        PG_CHECK_INT(t, pg_test_server_file_hits(srv, "/f/", i), 1,
                     "hits of a file");
    PG_CHECK_INT(t, pg_test_server_total(srv), N_FILES, "requests");

    /* --resume: the shard redoes nothing and records no other shard's
     * line (only its invalid lines, which are never done). */
    pg_test_server_reset(srv);
    memset(seen, 0, lines.n * sizeof(*seen));
    run_batch_shard(t, list, out, pg_path(t, "shard-1.jsonl"), 1, N_SHARDS,
                    &lines, 1);
    check_shard_manifest(t, pg_path(t, "shard-1.jsonl"), 1, N_SHARDS,
                         &lines, seen);
    PG_CHECK_INT(t, pg_test_server_total(srv), 0, "requests on --resume");
    pg_test_server_stop(srv);
    free(seen);
}

/* --update with --shard: the shard refreshes only its own URLs (each
 * compared by hash, since these files have no validators), counts them
 * in its summary and keeps one record per URL of its own. */
static void test_update_shard(struct pg_test *t)
{
    struct pg_test_server *srv = pg_test_server_must_start(t, &files_route, 1);
    struct pg_strlist lines = {0};
    char *list = write_list(t, srv, &lines, N_FILES);
    char *out = pg_path(t, "out"), *man = pg_path(t, "shard-1.jsonl");
    size_t mine = 0, bad = 0, recs;
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    char want[128];

    for (size_t i = 0; i < lines.n; i++) {
        if (shard_of(lines.v[i], N_SHARDS) == 1) {
            mine++;
            bad += is_bad_line(lines.v[i]);
        }
    }
    run_batch_shard(t, list, out, man, 1, N_SHARDS, &lines, 0);
    pg_test_server_reset(srv);
    pg_args_push(&x, "--mode", t->mode, "-j", "4", "-i", list, "-o", out,
                 "--manifest", man, "--shard", "1/3", "--update",
                 "--no-progress", END);
    pg_run(t, &r, NULL, 120, x.v);
    PG_CHECK_INT(t, r.code, bad ? 1 : 0, "exit status");
    snprintf(want, sizeof(want), "shard 1/3: %zu URLs: 0 changed, %zu "
             "unchanged, 0 gone, 0 new, %zu failed;", mine, mine - bad, bad);
    PG_CHECK(t, strstr(r.err, want), "summary: expected '%s' in: %s", want,
             r.err);
    /* Only this shard's files were asked for, once each. */
    PG_CHECK_INT(t, pg_test_server_total(srv), mine - bad,
                 "requests of the --update run");
    pg_run_release(&r);
    recs = count_records_with(t, man, "unchanged");
    PG_CHECK_INT(t, recs, mine - bad, "unchanged records");
    PG_CHECK_INT(t, count_records_with(t, man, NULL), mine,
                 "records after compaction (one per URL of the shard)");
    pg_test_server_stop(srv);
}

/* ---- a crawl over five hosts, keyed by host ------------------------ */

static const char *const HOSTS[] = {
    "127.0.0.1", "localhost", "a.localhost", "c.localhost", "e.localhost",
};
#define N_HOSTS (sizeof(HOSTS) / sizeof(HOSTS[0]))

static const char LEAF[] = "<html><body>leaf</body></html>\n";
static const char PAGE[] = "<html><body><a href=\"/leaf.html\">l</a>"
                           "</body></html>\n";
static const char IMG[] = "\xff\xd8\xff\xe0 an image";

static char *url_on(const char *host, unsigned port, const char *path)
{
    return pg_strdupf("http://%s:%u%s", host, port, path);
}

/*
 * The crawl's shard: the one of 127.0.0.1 (the start page); the hosts
 * must include its own and others (checked, since the hash decides).
 */
static unsigned crawl_shard(struct pg_test *t, int *owned)
{
    unsigned k = shard_of(HOSTS[0], N_SHARDS), mine = 0;

    for (size_t i = 0; i < N_HOSTS; i++) {
        owned[i] = shard_of(HOSTS[i], N_SHARDS) == k;
        mine += (unsigned)owned[i];
    }
    PG_CHECK(t, mine >= 2 && mine < N_HOSTS,
             "the test hosts must span shards (%u of %zu are shard %u)",
             mine, N_HOSTS, k);
    return k;
}

static void crawl_args(struct pg_args *x, struct pg_test *t, unsigned k,
                       const char *out, const char *man)
{
    static char spec[32];

    snprintf(spec, sizeof(spec), "%u/%u", k, N_SHARDS);
    pg_args_push(x, "--mode", t->mode, "-j", "3", "-o", out, "--manifest",
                 man, "--follow", "//a/@href", "--depth", "2",
                 "--span-hosts", "--no-robots", "--images", "--shard", spec,
                 "--no-progress", END);
}

/* The start page's size: filled (and padded) once the port is known. */
#define INDEX_LEN 4096

static void test_crawl_host(struct pg_test *t)
{
    static char index[INDEX_LEN];
    const struct pg_test_route routes[] = {
        {.path = "/p.html", .body = PAGE, .body_len = sizeof(PAGE) - 1,
         .content_type = "text/html"},
        {.path = "/leaf.html", .body = LEAF, .body_len = sizeof(LEAF) - 1,
         .content_type = "text/html"},
        {.path = "/i.jpg", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "image/jpeg"},
        {.path = "/index.html", .body = index, .body_len = INDEX_LEN,
         .content_type = "text/html"},
    };
    struct pg_test_server *srv = pg_test_server_must_start(t, routes, 4);
    unsigned port = pg_test_server_port(srv);
    struct pg_strlist links = {0}, diverted = {0}, want_div = {0};
    int owned[N_HOSTS];
    unsigned k = crawl_shard(t, owned);
    char *start_url, *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl"), *div = pg_path(t, "divert.txt");
    struct pg_manifest m;
    struct pg_args x = {{0}, 0}, z = {{0}, 0};
    struct pg_run r;
    char *text, *text2, *other_img = url_on("e.localhost", port, "/i.jpg");
    size_t i, n_other = 0, n_rec;
    int len;

    /* The start page links to p.html on every host, one twice, and to
     * an image on a host of another shard. */
    for (i = 0; i < N_HOSTS; i++)
        pg_strlist_add(&links, pg_strdupf("<a href=\"%s\">x</a>",
                                          url_on(HOSTS[i], port,
                                                 "/p.html")));
    pg_strlist_add(&links, pg_strdupf("<a href=\"%s\">again</a>",
                                      url_on("a.localhost", port,
                                             "/p.html")));
    pg_strlist_add(&links, pg_strdupf("<img src=\"%s\">", other_img));
    len = snprintf(index, sizeof(index), "<html><body>%s</body></html>\n",
                   pg_strlist_join(&links, "\n"));
    PG_CHECK(t, len > 0 && len < INDEX_LEN, "index too long");
    memset(index + len, ' ', INDEX_LEN - (size_t)len);
    pg_test_server_publish(srv);
    start_url = url_on("127.0.0.1", port, "/index.html");
    crawl_args(&x, t, k, out, man);
    pg_args_push(&x, "--divert", div, start_url, END);
    pg_run(t, &r, NULL, 120, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status (other-shard is no failure)");

    for (i = 0; i < N_HOSTS; i++) {
        if (!owned[i]) {
            pg_strlist_add(&want_div, url_on(HOSTS[i], port, "/p.html"));
            n_other++;
        }
    }
    text = pg_strdupf("; %zu pages of other shards", n_other);
    PG_CHECK(t, strstr(r.err, text), "summary without '%s': %s", text,
             r.err);
    pg_run_release(&r);

    pg_manifest_must_load(t, man, &m);
    /* index + its image + p and leaf per own host + p per other host */
    PG_CHECK_INT(t, m.n, 2 + 2 * (N_HOSTS - n_other) + n_other, "records");
    PG_CHECK_STR(t, pg_record_str(pg_manifest_find(&m, start_url), "status"),
                 "ok", "start page");
    /* An image follows its page, whatever its host's shard. */
    PG_CHECK_STR(t, pg_record_str(pg_manifest_find(&m, other_img),
                                  "status"), "ok", other_img);
    for (i = 0; i < N_HOSTS; i++) {
        char *p = url_on(HOSTS[i], port, "/p.html");
        char *l = url_on(HOSTS[i], port, "/leaf.html");
        const struct pg_record *rp = pg_manifest_find(&m, p);
        const struct pg_record *rl = pg_manifest_find(&m, l);
        char host[160];

        PG_CHECK(t, rp, "no record for %s", p);
        PG_CHECK_STR(t, pg_record_str(rp, "status"),
                     owned[i] ? "ok" : "other-shard", p);
        PG_CHECK_STR(t, pg_record_str(rp, "kind"), "page", p);
        PG_CHECK(t, owned[i] ? rl != NULL : rl == NULL, "%s: %s", l,
                 owned[i] ? "missing" : "recorded");
        snprintf(host, sizeof(host), "%s:%u", HOSTS[i], port);
        PG_CHECK_INT(t, pg_test_server_count(srv, host, "/p.html"),
                     owned[i] ? 1 : 0, host);
    }
    pg_manifest_release(&m);

    /* --divert: each other-shard page once. */
    text = pg_read_file(div, NULL);
    PG_CHECK(t, text, "no divert file");
    text2 = strdup(text);
    for (char *s = strtok(text, "\n"); s; s = strtok(NULL, "\n"))
        pg_strlist_add(&diverted, s);
    pg_strlist_sort(&diverted);
    pg_strlist_sort(&want_div);
    PG_CHECK_STR(t, pg_strlist_join(&diverted, " "),
                 pg_strlist_join(&want_div, " "), "divert file");

    /* --resume: pages of other shards already recorded (and diverted)
     * are neither recorded nor diverted again. */
    crawl_args(&z, t, k, out, man);
    pg_args_push(&z, "--divert", div, "--resume", start_url, END);
    pg_run(t, &r, NULL, 120, z.v);
    PG_CHECK_INT(t, r.code, 0, "exit status of --resume");
    pg_run_release(&r);
    pg_manifest_must_load(t, man, &m);
    n_rec = 0;
    for (i = 0; i < m.n; i++)
        n_rec += !strcmp(pg_record_str(&m.rec[i], "status"), "other-shard");
    PG_CHECK_INT(t, n_rec, n_other, "other-shard records after --resume");
    pg_manifest_release(&m);
    PG_CHECK_STR(t, pg_read_file(div, NULL), text2, "divert after --resume");

    /* The later pass: the other shards take their pages from it. */
    pg_test_server_reset(srv);
    for (unsigned j = 0; j < N_SHARDS; j++) {
        char *man2 = pg_path(t, "pass2-%u.jsonl", j);
        struct pg_args y = {{0}, 0};

        if (j == k)
            continue;
        crawl_args(&y, t, j, out, man2);
        pg_args_push(&y, "-i", div, END);
        pg_run(t, &r, NULL, 120, y.v);
        PG_CHECK_INT(t, r.code, 0, "pass 2 exit status");
        pg_run_release(&r);
        pg_manifest_must_load(t, man2, &m);
        for (i = 0; i < m.n; i++) {
            const char *u = pg_record_str(&m.rec[i], "url");

            PG_CHECK_STR(t, pg_record_str(&m.rec[i], "status"), "ok", u);
        }
        pg_manifest_release(&m);
    }
    for (i = 0; i < want_div.n; i++) {
        const char *u = want_div.v[i];
        char host[160];

        snprintf(host, sizeof(host), "%.*s", (int)(strchr(u + 7, '/') -
                                                   (u + 7)), u + 7);
        PG_CHECK_INT(t, pg_test_server_count(srv, host, "/p.html"), 1, u);
        PG_CHECK_INT(t, pg_test_server_count(srv, host, "/leaf.html"), 1,
                     u);
    }
    pg_test_server_stop(srv);
}

/* ---- --shard auto --------------------------------------------------- */

/* Run --shard auto (plus extra) over the list; the records must be
 * exactly shard k of n. */
static void run_auto(struct pg_test *t, const char *list,
                     const struct pg_strlist *lines, const char *extra,
                     unsigned k, unsigned n, const char *name)
{
    char *man = pg_path(t, "%s.jsonl", name);
    unsigned *seen = calloc(lines->n, sizeof(*seen));
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    size_t got, want = 0;

    pg_args_push(&x, "--mode", t->mode ? t->mode : "thread", "-i", list,
                 "-o", pg_path(t, "out"), "--manifest", man, "-q",
                 "--shard", "auto", END);
    if (extra)
        pg_args_push(&x, "--shards", extra, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK(t, r.code == 0 || r.code == 1, "%s: exit status %d", name,
             r.code);
    pg_run_release(&r);
    got = check_shard_manifest(t, man, k, n, lines, seen);
    for (size_t i = 0; i < lines->n; i++)
        want += shard_of(lines->v[i], n) == k;
    PG_CHECK_INT(t, got, want, name);
    free(seen);
}

/* An auto run that must fail with exit 2 and a message. */
static void auto_refused(struct pg_test *t, const char *list,
                         const char *shards, const char *why)
{
    struct pg_args x = {{0}, 0};
    struct pg_run r;

    pg_args_push(&x, "-i", list, "-o", pg_path(t, "out"), "--shard", "auto",
                 END);
    if (shards)
        pg_args_push(&x, "--shards", shards, END);
    pg_run(t, &r, NULL, 30, x.v);
    PG_CHECK_INT(t, r.code, 2, why);
    PG_CHECK(t, strstr(r.err, why), "expected '%s' in: %s", why, r.err);
    pg_run_release(&r);
}

static void test_auto_env(struct pg_test *t)
{
    static const char *const vars[] = {
        "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_STEP", "SLURM_ARRAY_TASK_COUNT",
        "JOB_COMPLETION_INDEX",
    };
    struct pg_test_server *srv = pg_test_server_must_start(t, &files_route, 1);
    struct pg_strlist lines = {0};
    char *list = write_list(t, srv, &lines, 40);

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    auto_refused(t, list, NULL, "neither a Slurm job array");

    /* sbatch --array=5-13:4 (5, 9, 13): task 9 is shard 1 of 3. */
    setenv("SLURM_ARRAY_TASK_ID", "9", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
    setenv("SLURM_ARRAY_TASK_STEP", "4", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
    run_auto(t, list, &lines, NULL, 1, 3, "slurm");
    auto_refused(t, list, "4", "differs from SLURM_ARRAY_TASK_COUNT=3");
    setenv("SLURM_ARRAY_TASK_ID", "11", 1);
    auto_refused(t, list, NULL, "SLURM_ARRAY_TASK_ID=11 is not");
    setenv("SLURM_ARRAY_TASK_ID", "9", 1);

    setenv("JOB_COMPLETION_INDEX", "2", 1);
    auto_refused(t, list, "3", "both SLURM_ARRAY_TASK_ID and "
                 "JOB_COMPLETION_INDEX");
    for (size_t i = 0; i < 4; i++)
        unsetenv(vars[i]);
    /* Kubernetes Indexed Job: index 2, --shards 3. */
    run_auto(t, list, &lines, "3", 2, 3, "kube");
    auto_refused(t, list, NULL, "not the number of shards (--shards N");
    auto_refused(t, list, "2", "JOB_COMPLETION_INDEX=2 is not below");
    unsetenv("JOB_COMPLETION_INDEX");
    pg_test_server_stop(srv);
}

/* ---- usage errors --------------------------------------------------- */

static void test_usage_errors(struct pg_test *t)
{
    static const struct {
        const char *a, *b, *c, *d;
        const char *why;
    } cases[] = {
        {"--shard", "3/2", NULL, NULL,
         "invalid value '3/2' for --shard: K (3) must be less than N (2)"},
        {"--shard", "a/4", NULL, NULL,
         "invalid value 'a/4' for --shard: K is not a whole number"},
        {"--shard", "-1/4", NULL, NULL,
         "invalid value '-1/4' for --shard: K is not a whole number"},
        {"--shard", "0/0", NULL, NULL,
         "invalid value '0/0' for --shard: N must be at least 1"},
        {"--shard", "1/99999999999999999999", NULL, NULL,
         "invalid value '1/99999999999999999999' for --shard: N is too "
         "large"},
        {"--shard", "4", NULL, NULL,
         "invalid value '4' for --shard: expected K/N"},
        {"--shard-key", "path", "--shard", "0/2",
         "invalid value 'path' for --shard-key: expected 'url' or 'host'"},
        {"--shards", "0", "--shard", "auto",
         "invalid value '0' for --shards"},
        {"--shards", "4", NULL, NULL, "--shards 4 needs --shard auto"},
        {"--shards", "4", "--shard", "1/3",
         "--shards 4 disagrees with --shard 1/3"},
        {"--divert", "d.txt", NULL, NULL,
         "--divert 'd.txt' needs --shard K/N"},
    };
    char *conf = pg_path(t, "bad.conf");
    char *url = pg_strdupf("http://127.0.0.1:%u/x", pg_unused_port(t));
    struct pg_run r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pg_args x = {{0}, 0};

        pg_args_push(&x, cases[i].a, cases[i].b, END);
        if (cases[i].c)
            pg_args_push(&x, cases[i].c, cases[i].d, END);
        pg_args_push(&x, "-o", pg_path(t, "out"), url, END);
        pg_run(t, &r, NULL, 30, x.v);
        PG_CHECK_INT(t, r.code, 2, cases[i].why);
        PG_CHECK(t, strstr(r.err, cases[i].why), "expected '%s' in: %s",
                 cases[i].why, r.err);
        pg_run_release(&r);
    }
    /* The config file takes the same keys; the message names the line. */
    pg_write_file(t, conf, "shard = 5/5\n", 12);
    {
        const char *args[] = {"--config", conf, url, NULL};

        pg_run(t, &r, NULL, 30, args);
        PG_CHECK_INT(t, r.code, 2, "config");
        PG_CHECK(t, strstr(r.err, "invalid value '5/5' for 'shard' ("),
                 "config message: %s", r.err);
        pg_run_release(&r);
    }
}

static const struct pg_test_case cases[] = {
    {"batch_partition", test_batch_partition, PG_TEST_PER_MODE, 300},
    {"update_shard", test_update_shard, PG_TEST_PER_MODE, 120},
    {"crawl_host", test_crawl_host, PG_TEST_PER_MODE, 300},
    {"auto_env", test_auto_env, 0, 120},
    {"usage_errors", test_usage_errors, 0, 120},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
