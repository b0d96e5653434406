/*
 * hello.c - an embedder's "hello world" for libpagegrab, built against
 * the installed tree by tests/install/run.sh (and shown in README.md).
 *
 *   hello URL OUTDIR [process]
 *
 * Fetches URL into OUTDIR as hello.html through a result callback, and
 * exits 0 when exactly one body was saved.
 */
#include <stdio.h>
#include <string.h>

#include <pagegrab.h>

/* Called in this thread for every URL in its final state. */
static enum pg_code on_result(struct pg_result *res, void *userdata)
{
    unsigned *saved = userdata;

    if (res->tmp_name) {                 /* a body to keep */
        enum pg_code rc = pg_result_save(res, "hello.html", 0);

        if (rc == PG_OK && res->status == PG_ST_OK)
            (*saved)++;
    }
    printf("%s %s %s\n", res->url, pg_status_name(res->status),
           res->path ? res->path : "-");
    return PG_OK;
}

int main(int argc, char **argv)
{
    struct pg_options o;
    struct pg_job *job;
    enum pg_code rc;
    unsigned saved = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: hello URL OUTDIR [process]\n");
        return 2;
    }
    if (pg_global_init() != PG_OK)
        return 1;
    pg_options_init(&o);
    o.urls = (const char *const *)&argv[1];
    o.n_urls = 1;
    o.output_dir = argv[2];
    o.workers = 2;
    if (argc > 3 && !strcmp(argv[3], "process"))
        o.mode = PG_MODE_PROCESS;        /* forks in pg_job_run() */
    o.result_cb = on_result;
    o.result_userdata = &saved;

    job = pg_job_new(&o);
    if (!job)
        return 1;
    rc = pg_job_run(job);
    if (rc != PG_OK)
        fprintf(stderr, "hello: %s\n", *pg_job_errmsg(job) ?
                pg_job_errmsg(job) : pg_strerror(rc));
    pg_job_free(job);
    pg_global_cleanup();
    printf("pagegrab %s: %u saved\n", pg_version(), saved);
    return rc == PG_OK && saved == 1 ? 0 : 1;
}
