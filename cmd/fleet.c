/*
 * fleet.c - `pagegrab fleet status|stop|resume --frontier URL --job
 * NAME`: the state of a crawl shared through Redis, and stopping it
 * (pg_fleet_status(), pg_fleet_stop()).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char fleet_usage[] =
"Usage: pagegrab fleet status --frontier redis://HOST[:PORT][/DB] --job NAME\n"
"       pagegrab fleet stop   --frontier URL --job NAME\n"
"       pagegrab fleet resume --frontier URL --job NAME\n"
"status: queued, leased, done ok/failed, dead, per instance and per host.\n"
"stop: every instance finishes what it holds and exits; later ones are\n"
"      refused until 'resume'.\n";

int pg_cli_job_name_ok(const char *name)
{
    size_t n = strlen(name);

    return n >= 1 && n <= 64 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-") == n;
}

static void print_status(const char *job, const struct pg_fleet_status *st)
{
    size_t i;

    if (!st->exists) {
        printf("job %s: not started\n", job);
        return;
    }
    printf("job %s%s\n", job, st->stopped ? " (stopped)" : "");
    printf("  queued %llu  leased %llu  ok %llu  failed %llu  dead %llu  "
           "reclaimed %llu  seen %llu\n",
           (unsigned long long)st->queued, (unsigned long long)st->leased,
           (unsigned long long)st->ok, (unsigned long long)st->failed,
           (unsigned long long)st->dead, (unsigned long long)st->reclaimed,
           (unsigned long long)st->seen);
    printf("  seeding %s\n", st->seeders ? "running" :
           st->seeded ? "done" : "not done");
    if (st->n_instances)
        printf("  instances:\n");
    for (i = 0; i < st->n_instances; i++) {
        const struct pg_fleet_instance *in = &st->instances[i];

        printf("    %-40s ok %llu  failed %llu  leased %llu  seen %.0f s "
               "ago\n", in->id, (unsigned long long)in->ok,
               (unsigned long long)in->failed,
               (unsigned long long)in->leased, in->idle_s < 0 ? 0 :
               in->idle_s);
    }
    if (st->n_hosts)
        printf("  queued per host:\n");
    for (i = 0; i < st->n_hosts; i++)
        printf("    %-50s %llu\n", st->hosts[i].origin,
               (unsigned long long)st->hosts[i].queued);
}

int pg_fleet_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "frontier", required_argument, NULL, 'f' },
        { "job", required_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *frontier = NULL, *job = NULL, *verb;
    struct pg_fleet_status *st = NULL;
    char err[PG_ERRBUF_SIZE];
    enum pg_code rc;
    int c;

    if (argc < 3 || argv[2][0] == '-') {
        fputs(fleet_usage, argc >= 3 && !strcmp(argv[2], "--help") ?
              stdout : stderr);
        return argc >= 3 && !strcmp(argv[2], "--help") ? PG_EXIT_OK
                                                        : PG_EXIT_USAGE;
    }
    verb = argv[2];
    optind = 3;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'f') {
            frontier = optarg;
        } else if (c == 'J') {
            job = optarg;
        } else if (c == 'h') {
            fputs(fleet_usage, stdout);
            return PG_EXIT_OK;
        } else {
            pg_cli_error("try 'pagegrab fleet --help'");
            return PG_EXIT_USAGE;
        }
    }
    if (!frontier || !job || optind != argc) {
        pg_cli_error("fleet %s needs --frontier redis://HOST:PORT and --job "
                     "NAME (try 'pagegrab fleet --help')", verb);
        return PG_EXIT_USAGE;
    }
    if (!strcmp(verb, "status")) {
        rc = pg_fleet_status(frontier, job, &st, err, sizeof(err));
        if (!rc)
            print_status(job, st);
        pg_fleet_status_free(st);
    } else if (!strcmp(verb, "stop") || !strcmp(verb, "resume")) {
        rc = pg_fleet_stop(frontier, job, !strcmp(verb, "stop"), err,
                           sizeof(err));
        if (!rc)
            printf("job %s: %s\n", job, !strcmp(verb, "stop") ?
                   "stopping (instances finish what they hold)" :
                   "may run again");
    } else {
        pg_cli_error("unknown fleet command '%s': expected status, stop or "
                     "resume", verb);
        return PG_EXIT_USAGE;
    }
    if (rc) {
        pg_cli_error("%s", err);
        return rc == PG_E_INVALID ? PG_EXIT_USAGE : PG_EXIT_FATAL;
    }
    return fflush(stdout) ? PG_EXIT_FATAL : PG_EXIT_OK;
}
