/*
 * args.c - command-line options and the config file -> struct pg_options.
 *
 * Every option has one entry in the table below; the config file uses
 * the same names as keys ("jobs = 16"), so the two can never drift
 * apart.  The config file is read first and the command line overrides
 * it; list options (header) accumulate.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../src/util.h" /* pg__errstr */

enum opt_id {
    OPT_INPUT = 'i',
    OPT_OUTPUT = 'o',
    OPT_MODE = 'm',
    OPT_JOBS = 'j',
    OPT_PER_WORKER = 'K',
    OPT_QUIET = 'q',
    OPT_VERBOSE = 'v',
    OPT_AGENT = 'A',
    OPT_HEADER = 'H',
    OPT_HELP = 'h',
    OPT_VERSION = 'V',
    OPT_MANIFEST = 256,
    OPT_FLAT,
    OPT_OVERWRITE,
    OPT_CONNECT_TIMEOUT,
    OPT_TIMEOUT,
    OPT_STALL,
    OPT_MIN_RATE,
    OPT_MAX_REDIRS,
    OPT_CONFIG,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_IMAGES,
    OPT_XPATH,
    OPT_SRCSET,
    OPT_FOLLOW,
    OPT_DEPTH,
    OPT_SPAN_HOSTS,
    OPT_DOMAINS,
    OPT_ACCEPT,
    OPT_REJECT,
    OPT_IMAGES_ONLY,
    OPT_LIST,
    OPT_NAME,
    OPT_NO_ROBOTS,
    OPT_PER_HOST,
    OPT_WAIT,
    OPT_RANDOM_WAIT,
    OPT_DEDUP,
    OPT_RETRIES,
    OPT_RETRY_DELAY,
    OPT_MAX_RETRY_WAIT,
    OPT_MAX_SIZE,
    OPT_MAX_PAGES,
    OPT_QUOTA,
    OPT_QUEUE_MEMORY,
    OPT_GRACE,
    OPT_RESUME,
    OPT_SYNC,
    OPT_ALLOW_PRIVATE,
    OPT_NO_REFERER,
    OPT_LOAD_COOKIES,
    OPT_SAVE_COOKIES,
    OPT_PROXY,
    OPT_NO_PROXY,
    OPT_CA_CERTIFICATE,
    OPT_NO_CHECK_CERTIFICATE,
    OPT_PROXY_CA_CERTIFICATE,
    OPT_SHARD,
    OPT_SHARDS,
    OPT_SHARD_KEY,
    OPT_DIVERT,
    OPT_FRONTIER,
    OPT_JOB,
    OPT_LEASE,
    OPT_EXEC,
    OPT_EXEC_JOBS,
    OPT_UPDATE,
    OPT_DELETE_GONE,
    OPT_REPORT
};

static const struct option long_opts[] = {
    { "input", required_argument, NULL, OPT_INPUT },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "mode", required_argument, NULL, OPT_MODE },
    { "jobs", required_argument, NULL, OPT_JOBS },
    { "per-worker", required_argument, NULL, OPT_PER_WORKER },
    { "manifest", required_argument, NULL, OPT_MANIFEST },
    { "quiet", no_argument, NULL, OPT_QUIET },
    { "verbose", no_argument, NULL, OPT_VERBOSE },
    { "flat", no_argument, NULL, OPT_FLAT },
    { "overwrite", no_argument, NULL, OPT_OVERWRITE },
    { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "stall", required_argument, NULL, OPT_STALL },
    { "min-rate", required_argument, NULL, OPT_MIN_RATE },
    { "max-redirs", required_argument, NULL, OPT_MAX_REDIRS },
    { "user-agent", required_argument, NULL, OPT_AGENT },
    { "header", required_argument, NULL, OPT_HEADER },
    { "no-referer", no_argument, NULL, OPT_NO_REFERER },
    { "load-cookies", required_argument, NULL, OPT_LOAD_COOKIES },
    { "save-cookies", required_argument, NULL, OPT_SAVE_COOKIES },
    { "proxy", required_argument, NULL, OPT_PROXY },
    { "no-proxy", required_argument, NULL, OPT_NO_PROXY },
    { "ca-certificate", required_argument, NULL, OPT_CA_CERTIFICATE },
    { "no-check-certificate", no_argument, NULL, OPT_NO_CHECK_CERTIFICATE },
    { "proxy-ca-certificate", required_argument, NULL,
      OPT_PROXY_CA_CERTIFICATE },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "images", no_argument, NULL, OPT_IMAGES },
    { "xpath", required_argument, NULL, OPT_XPATH },
    { "srcset", required_argument, NULL, OPT_SRCSET },
    { "follow", required_argument, NULL, OPT_FOLLOW },
    { "depth", required_argument, NULL, OPT_DEPTH },
    { "span-hosts", no_argument, NULL, OPT_SPAN_HOSTS },
    { "domains", required_argument, NULL, OPT_DOMAINS },
    { "accept", required_argument, NULL, OPT_ACCEPT },
    { "reject", required_argument, NULL, OPT_REJECT },
    { "images-only", no_argument, NULL, OPT_IMAGES_ONLY },
    { "list", no_argument, NULL, OPT_LIST },
    { "name", required_argument, NULL, OPT_NAME },
    { "no-robots", no_argument, NULL, OPT_NO_ROBOTS },
    { "per-host", required_argument, NULL, OPT_PER_HOST },
    { "wait", required_argument, NULL, OPT_WAIT },
    { "random-wait", no_argument, NULL, OPT_RANDOM_WAIT },
    { "dedup", no_argument, NULL, OPT_DEDUP },
    { "retries", required_argument, NULL, OPT_RETRIES },
    { "retry-delay", required_argument, NULL, OPT_RETRY_DELAY },
    { "max-retry-wait", required_argument, NULL, OPT_MAX_RETRY_WAIT },
    { "max-size", required_argument, NULL, OPT_MAX_SIZE },
    { "max-pages", required_argument, NULL, OPT_MAX_PAGES },
    { "quota", required_argument, NULL, OPT_QUOTA },
    { "queue-memory", required_argument, NULL, OPT_QUEUE_MEMORY },
    { "grace", required_argument, NULL, OPT_GRACE },
    { "resume", no_argument, NULL, OPT_RESUME },
    { "sync", no_argument, NULL, OPT_SYNC },
    { "exec", required_argument, NULL, OPT_EXEC },
    { "exec-jobs", required_argument, NULL, OPT_EXEC_JOBS },
    { "update", no_argument, NULL, OPT_UPDATE },
    { "delete-gone", no_argument, NULL, OPT_DELETE_GONE },
    { "report", required_argument, NULL, OPT_REPORT },
    { "allow-private", no_argument, NULL, OPT_ALLOW_PRIVATE },
    { "shard", required_argument, NULL, OPT_SHARD },
    { "shards", required_argument, NULL, OPT_SHARDS },
    { "shard-key", required_argument, NULL, OPT_SHARD_KEY },
    { "divert", required_argument, NULL, OPT_DIVERT },
    { "frontier", required_argument, NULL, OPT_FRONTIER },
    { "job", required_argument, NULL, OPT_JOB },
    { "lease", required_argument, NULL, OPT_LEASE },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

static const char short_opts[] = "i:o:m:j:K:qvA:H:hV";

/* Set when parsing failed for want of memory (exit 3, not 2). */
static int cli_oom;

static int list_add(struct pg_strlist *l, char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof(*v));

        if (!v) {
            cli_oom = 1;
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

/* Split a comma-separated domain list into cli->domains. */
static int add_domains(struct pg_cli *cli, const char *val,
                       const char *name)
{
    const char *p = val;

    while (*p) {
        size_t n = strcspn(p, ",");
        char *d;

        while (n > 0 && (*p == ' ' || *p == '.')) {
            p++;
            n--;
        }
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > 0) {
            d = strndup(p, n);
            if (!d || list_add(&cli->owned, d) ||
                list_add(&cli->domains, d)) {
                cli_oom = 1;
                return -1;
            }
        }
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    if (cli->domains.n == 0) {
        pg_cli_error("invalid value '%s' for %s: expected domains such as "
                     "'example.org,cdn.example.net'", val, name);
        return -1;
    }
    return 0;
}

/* -j / -K: 1..1024, or "auto" (0: pg_options_tune() chooses). */
static int parse_count(const char *name, const char *val, unsigned *out)
{
    char *end = NULL;
    long v = 0;

    if (!strcmp(val, "auto")) {
        *out = 0;
        return 0;
    }
    if (*val >= '0' && *val <= '9') {
        errno = 0;
        v = strtol(val, &end, 10);
    }
    if (!end || errno || *end || v < 1 || v > 1024) {
        pg_cli_error("invalid value '%s' for %s: expected a whole number "
                     "from 1 to 1024, or 'auto'", val, name);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* Apply one option; `name` is how the user wrote it, for messages. */
static int apply(struct pg_cli *cli, int id, char *val, const char *name)
{
    long v;

    switch (id) {
    case OPT_INPUT:
        cli->o.input_path = val;
        return 0;
    case OPT_OUTPUT:
        if (!*val) {
            pg_cli_error("empty value for %s", name);
            return -1;
        }
        cli->o.output_dir = val;
        return 0;
    case OPT_MANIFEST:
        cli->o.manifest_path = val;
        return 0;
    case OPT_MODE:
        if (!strcmp(val, "thread")) {
            cli->o.mode = PG_MODE_THREAD;
        } else if (!strcmp(val, "process")) {
            cli->o.mode = PG_MODE_PROCESS;
        } else {
            pg_cli_error("invalid value '%s' for %s: expected 'thread' or "
                         "'process'", val, name);
            return -1;
        }
        return 0;
    case OPT_JOBS:
        return parse_count(name, val, &cli->o.workers);
    case OPT_PER_WORKER:
        return parse_count(name, val, &cli->o.per_worker);
    case OPT_QUIET:
        cli->quiet = 1;
        return 0;
    case OPT_VERBOSE:
        cli->verbose = 1;
        return 0;
    case OPT_FLAT:
        cli->flat = 1;
        return 0;
    case OPT_OVERWRITE:
        cli->overwrite = 1;
        return 0;
    case OPT_CONNECT_TIMEOUT:
        return pg_cli_parse_seconds(name, val, &cli->o.connect_timeout_ms);
    case OPT_TIMEOUT:
        return pg_cli_parse_seconds(name, val, &cli->o.timeout_ms);
    case OPT_STALL:
        if (pg_cli_parse_long(name, val, 0, 86400, &v))
            return -1;
        cli->o.stall_s = v;
        return 0;
    case OPT_MIN_RATE: {
        uint64_t rate;

        if (pg_cli_parse_bytes(name, val, &rate))
            return -1;
        if (rate < 1 || rate > (1ull << 40)) {
            pg_cli_error("invalid value '%s' for %s: expected bytes per "
                         "second from 1 to 1T", val, name);
            return -1;
        }
        cli->o.min_rate = (long)rate;
        return 0;
    }
    case OPT_MAX_REDIRS:
        if (pg_cli_parse_long(name, val, 0, 100, &v))
            return -1;
        cli->o.max_redirs = v;
        return 0;
    case OPT_AGENT:
        cli->o.user_agent = val;
        return 0;
    case OPT_HEADER:
        if (!strchr(val, ':') || val[0] == ':' || strpbrk(val, "\r\n")) {
            pg_cli_error("invalid value '%s' for %s: expected 'Name: value'",
                         val, name);
            return -1;
        }
        return list_add(&cli->headers, val);
    case OPT_CA_CERTIFICATE:
    case OPT_PROXY_CA_CERTIFICATE:
        /* (Read and checked by the library before the job starts.) */
        if (!*val) {
            pg_cli_error("empty value for %s", name);
            return -1;
        }
        if (id == OPT_CA_CERTIFICATE)
            cli->o.ca_certificate = val;
        else
            cli->o.proxy_ca_certificate = val;
        return 0;
    case OPT_NO_CHECK_CERTIFICATE:
        cli->o.no_check_certificate = 1;
        return 0;
    case OPT_IMAGES:
        cli->o.images = 1;
        return 0;
    case OPT_XPATH:
        return list_add(&cli->xpaths, val);
    case OPT_SRCSET:
        if (!strcmp(val, "all") || !strcmp(val, "largest")) {
            cli->o.srcset_all = !strcmp(val, "all");
            return 0;
        }
        pg_cli_error("invalid value '%s' for %s: expected 'largest' or "
                     "'all'", val, name);
        return -1;
    case OPT_FOLLOW:
        return list_add(&cli->follow, val);
    case OPT_DEPTH:
        if (pg_cli_parse_long(name, val, 0, 1000, &v))
            return -1;
        cli->o.depth = (unsigned)v;
        return 0;
    case OPT_SPAN_HOSTS:
        cli->o.span_hosts = 1;
        return 0;
    case OPT_DOMAINS:
        return add_domains(cli, val, name);
    case OPT_ACCEPT:
        return list_add(&cli->accept, val);
    case OPT_REJECT:
        return list_add(&cli->reject, val);
    case OPT_IMAGES_ONLY:
        cli->o.images_only = 1;
        return 0;
    case OPT_LIST:
        cli->o.list_only = 1;
        return 0;
    case OPT_NAME:
        return list_add(&cli->names, val);
    case OPT_NO_ROBOTS:
        cli->o.no_robots = 1;
        return 0;
    case OPT_PER_HOST:
        if (pg_cli_parse_long(name, val, 0, 1024, &v))
            return -1;
        cli->o.per_host = (unsigned)v;
        return 0;
    case OPT_WAIT:
        return pg_cli_parse_seconds(name, val, &cli->o.wait_ms);
    case OPT_RANDOM_WAIT:
        cli->o.random_wait = 1;
        return 0;
    case OPT_DEDUP:
        cli->o.dedup = 1;
        return 0;
    case OPT_RETRIES:
        if (pg_cli_parse_long(name, val, 0, 100, &v))
            return -1;
        cli->o.retries = (unsigned)v;
        return 0;
    case OPT_RETRY_DELAY:
        return pg_cli_parse_seconds(name, val, &cli->o.retry_delay_ms);
    case OPT_MAX_RETRY_WAIT:
        return pg_cli_parse_seconds(name, val, &cli->o.max_retry_wait_ms);
    case OPT_MAX_SIZE:
        return pg_cli_parse_bytes(name, val, &cli->o.max_size);
    case OPT_QUOTA:
        return pg_cli_parse_bytes(name, val, &cli->o.quota);
    case OPT_QUEUE_MEMORY:
        return pg_cli_parse_bytes(name, val, &cli->o.queue_memory);
    case OPT_MAX_PAGES:
        if (pg_cli_parse_long(name, val, 0, LONG_MAX, &v))
            return -1;
        cli->o.max_pages = (uint64_t)v;
        return 0;
    case OPT_GRACE:
        return pg_cli_parse_seconds(name, val, &cli->o.grace_ms);
    case OPT_RESUME:
        cli->o.resume = 1;
        return 0;
    case OPT_SYNC:
        cli->o.sync = 1;
        return 0;
    case OPT_EXEC:
        cli->o.exec_cmd = val;
        return 0;
    case OPT_EXEC_JOBS:
        if (pg_cli_parse_long(name, val, 1, 1024, &v))
            return -1;
        cli->o.exec_jobs = (unsigned)v;
        return 0;
    case OPT_ALLOW_PRIVATE:
        cli->o.allow_private = 1;
        return 0;
    case OPT_NO_REFERER:
        cli->o.no_referer = 1;
        return 0;
    case OPT_LOAD_COOKIES:
        cli->o.load_cookies = val;
        return 0;
    case OPT_SAVE_COOKIES:
        cli->o.save_cookies = val;
        return 0;
    case OPT_PROXY:
        cli->o.proxy = val;
        return 0;
    case OPT_NO_PROXY:
        cli->o.no_proxy = val;
        return 0;
    case OPT_FRONTIER:
        if (strncmp(val, "redis://", 8)) {
            pg_cli_error("invalid value '%s' for %s: expected "
                         "redis://HOST[:PORT][/DB]", val, name);
            return -1;
        }
        cli->o.frontier = val;
        return 0;
    case OPT_JOB:
        if (!pg_cli_job_name_ok(val)) {
            pg_cli_error("invalid value '%s' for %s: expected 1 to 64 of "
                         "A-Z a-z 0-9 . _ -", val, name);
            return -1;
        }
        cli->o.job_name = val;
        return 0;
    case OPT_LEASE:
        if (pg_cli_parse_long(name, val, 1, 86400, &v))
            return -1;
        cli->o.lease_s = (unsigned)v;
        return 0;
    case OPT_PROGRESS:
        cli->progress = 1;
        return 0;
    case OPT_NO_PROGRESS:
        cli->progress = 0;
        return 0;
    case OPT_SHARD:
        return pg_cli_shard_option(cli, PG_CLI_SHARD, val, name);
    case OPT_SHARDS:
        return pg_cli_shard_option(cli, PG_CLI_SHARDS, val, name);
    case OPT_SHARD_KEY:
        return pg_cli_shard_option(cli, PG_CLI_SHARD_KEY, val, name);
    case OPT_DIVERT:
        return pg_cli_shard_option(cli, PG_CLI_DIVERT, val, name);
    case OPT_UPDATE:
    case OPT_DELETE_GONE:
    case OPT_REPORT:
        return pg_cli_update_option(cli, id == OPT_UPDATE ? PG_CLI_UPDATE :
                                    id == OPT_REPORT ? PG_CLI_REPORT :
                                    PG_CLI_DELETE_GONE, val, name);
    }
    return -1;
}

static int is_true(const char *s)
{
    return !strcmp(s, "") || !strcmp(s, "1") || !strcmp(s, "yes") ||
           !strcmp(s, "true") || !strcmp(s, "on");
}

static int is_false(const char *s)
{
    return !strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "false") ||
           !strcmp(s, "off");
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
                     e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/* Read "key = value" lines; keys are the long option names. */
static int load_config(struct pg_cli *cli, const char *path)
{
    char line[4096], where[512];
    unsigned lineno = 0;
    int rc = 0;
    FILE *f = fopen(path, "re");

    if (!f) {
        char err[128];

        pg_cli_error("cannot open config file '%s': %s", path,
                     pg__errstr(errno, err, sizeof(err)));
        return -1;
    }
    while (!rc && fgets(line, sizeof(line), f)) {
        const struct option *opt;
        char *key, *val, *eq, *copy;

        lineno++;
        snprintf(where, sizeof(where), "%s:%u", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            pg_cli_error("%s: line too long", where);
            rc = -1;
            break;
        }
        key = trim(line);
        if (!*key || *key == '#')
            continue;
        eq = strchr(key, '=');
        val = "";
        if (eq) {
            *eq = '\0';
            val = trim(eq + 1);
            key = trim(key);
        }
        for (opt = long_opts; opt->name; opt++) {
            if (!strcmp(opt->name, key))
                break;
        }
        if (!opt->name || opt->val == OPT_CONFIG || opt->val == OPT_HELP ||
            opt->val == OPT_VERSION) {
            pg_cli_error("%s: unknown key '%s'", where, key);
            rc = -1;
            break;
        }
        if (opt->has_arg == no_argument) {
            if (is_false(val))
                continue;
            if (!is_true(val)) {
                pg_cli_error("%s: '%s' takes yes or no, not '%s'", where,
                             key, val);
                rc = -1;
                break;
            }
        } else if (!*val) {
            pg_cli_error("%s: '%s' needs a value", where, key);
            rc = -1;
            break;
        }
        copy = strdup(val);
        if (!copy || list_add(&cli->owned, copy)) {
            free(copy);
            cli_oom = 1;
            rc = -1;
            break;
        }
        /* Messages name the key and where it is: "'stall' (f.conf:3)". */
        snprintf(where, sizeof(where), "'%s' (%s:%u)", opt->name, path,
                 lineno);
        if (apply(cli, opt->val, copy, where))
            rc = -1;
    }
    if (!rc && ferror(f)) {
        pg_cli_error("cannot read config file '%s'", path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

#define LIST(l) ((const char *const *)(l).v)

/*
 * With a shared frontier, the naming rules must be the same in every
 * instance (the job refuses others): they go into the options' shape.
 */
static int shape_names(struct pg_cli *cli)
{
    size_t i, n = 32, at;
    char *s;

    for (i = 0; i < cli->names.n; i++)
        n += strlen(cli->names.v[i]) + 1;
    s = malloc(n);
    if (!s || list_add(&cli->owned, s)) {
        free(s);
        cli_oom = 1;
        return -1;
    }
    at = (size_t)snprintf(s, n, "name=");
    for (i = 0; i < cli->names.n; i++)
        at += (size_t)snprintf(s + at, n - at, "%s%s", i ? "\x1e" : "",
                               cli->names.v[i]);
    snprintf(s + at, n - at, "\nflat=%d\n", cli->flat ? 1 : 0);
    cli->o.job_shape = s;
    return 0;
}

/* Hand the lists to the options; compile the naming rules. */
static int finish_lists(struct pg_cli *cli)
{
    char err[512];

    cli->o.xpaths = LIST(cli->xpaths);
    cli->o.n_xpaths = cli->xpaths.n;
    cli->o.follow = LIST(cli->follow);
    cli->o.n_follow = cli->follow.n;
    cli->o.domains = LIST(cli->domains);
    cli->o.n_domains = cli->domains.n;
    cli->o.accept = LIST(cli->accept);
    cli->o.n_accept = cli->accept.n;
    cli->o.reject = LIST(cli->reject);
    cli->o.n_reject = cli->reject.n;
    for (size_t i = 0; i < cli->names.n; i++) {
        if (strstr(cli->names.v[i], "{hash}"))
            cli->o.hash_bodies = 1;
    }
    if (cli->o.frontier && shape_names(cli))
        return -1;
    cli->namer = pg_namer_new(LIST(cli->names), cli->names.n,
                              cli->flat ? PG_NAME_FLAT : 0, err,
                              sizeof(err));
    if (!cli->namer) {
        if (!strcmp(err, "out of memory")) {
            cli_oom = 1;
            return -1;
        }
        pg_cli_error("%s", err);
        return -1;
    }
    return 0;
}

static int parse(struct pg_cli *cli, int argc, char **argv)
{
    const char *config = NULL;
    char name[64];
    int c, idx;

    memset(cli, 0, sizeof(*cli));
    pg_options_init(&cli->o);
    cli->progress = isatty(STDERR_FILENO);

    /* Pass 1: find --config, and answer --help/--version at once. */
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
        if (c == OPT_CONFIG)
            config = optarg;
        if (c == OPT_HELP) {
            fputs(pg_cli_usage_text, stdout);
            return 1;
        }
        if (c == OPT_VERSION) {
            printf("pagegrab %s\n%s\n", pg_version(),
                   pg_version_details());
            return 1;
        }
    }
    if (config && load_config(cli, config))
        return -1;

    /* Pass 2: the command line wins over the config file. */
    opterr = 1;
    optind = 1;
    for (;;) {
        idx = -1;
        c = getopt_long(argc, argv, short_opts, long_opts, &idx);
        if (c == -1)
            break;
        if (c == '?' || c == ':') {
            pg_cli_error("try 'pagegrab --help'");
            return -1;
        }
        if (c == OPT_CONFIG)
            continue;
        if (idx >= 0)
            snprintf(name, sizeof(name), "--%s", long_opts[idx].name);
        else
            snprintf(name, sizeof(name), "-%c", c);
        if (apply(cli, c, optarg, name))
            return -1;
    }
    for (idx = optind; idx < argc; idx++) {
        if (list_add(&cli->urls, argv[idx]))
            return -1;
    }
    if (cli->urls.n == 0 && !cli->o.input_path && !cli->o.frontier) {
        pg_cli_error("no URLs given: pass them as arguments or with -i FILE"
                     " (try 'pagegrab --help')");
        return -1;
    }
    if (!cli->o.frontier != !cli->o.job_name) {
        pg_cli_error(cli->o.frontier ? "--frontier needs --job NAME" :
                     "--job needs --frontier redis://HOST:PORT");
        return -1;
    }
    if (cli->quiet)
        cli->progress = 0;
    if (pg_cli_shard_finish(cli) || pg_cli_update_finish(cli))
        return -1;
    cli->o.exec_quiet = cli->quiet;

    if (finish_lists(cli))
        return -1;
    cli->o.urls = (const char *const *)cli->urls.v;
    cli->o.n_urls = cli->urls.n;
    cli->o.headers = (const char *const *)cli->headers.v;
    cli->o.n_headers = cli->headers.n;
    cli->o.result_cb = pg_cli_save;
    cli->o.result_userdata = cli;
    cli->o.log_cb = pg_cli_log;
    cli->o.log_level = cli->verbose ? PG_LOG_DEBUG :
                       cli->quiet ? PG_LOG_ERROR : PG_LOG_WARN;
    cli->o.progress_cb = pg_cli_progress;
    cli->o.progress_userdata = cli;
    return 0;
}

int pg_cli_parse(struct pg_cli *cli, int argc, char **argv)
{
    int r;

    cli_oom = 0;
    r = parse(cli, argc, argv);
    if (r < 0 && cli_oom) {
        pg_cli_error("out of memory");
        return -2;
    }
    return r;
}

void pg_cli_release(struct pg_cli *cli)
{
    size_t i;

    for (i = 0; i < cli->owned.n; i++)
        free(cli->owned.v[i]);
    free(cli->owned.v);
    free(cli->urls.v);
    free(cli->headers.v);
    free(cli->xpaths.v);
    free(cli->follow.v);
    free(cli->domains.v);
    free(cli->accept.v);
    free(cli->reject.v);
    free(cli->names.v);
    pg_namer_free(cli->namer);
    pg_cli_report_release(cli);
    memset(cli, 0, sizeof(*cli));
}
