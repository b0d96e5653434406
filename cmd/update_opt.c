/*
 * update_opt.c - the command line's --update, --delete-gone and
 * --report FILE (the refresh itself is the library's: src/update.c),
 * the report, and `pagegrab compact-manifest FILE`.
 *
 * The report's URL lists are spooled to unlinked temporary files while
 * the job runs (a nightly run of millions of unchanged URLs holds none
 * of them in memory), and copied into FILE at the end: written to a
 * temporary file beside it, then renamed over it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../src/json.h"
#include "../src/util.h" /* pg__errstr */

static const char *const class_names[PG_CLI_UPD__COUNT] = {
    "changed", "unchanged", "gone", "new", "failed"
};

int pg_cli_update_option(struct pg_cli *cli, enum pg_cli_update_opt id,
                         char *val, const char *name)
{
    switch (id) {
    case PG_CLI_UPDATE:
        cli->o.update = 1;
        return 0;
    case PG_CLI_DELETE_GONE:
        cli->o.delete_gone = 1;
        return 0;
    case PG_CLI_REPORT:
        if (!*val) {
            pg_cli_error("empty value for %s", name);
            return -1;
        }
        cli->report.path = val;
        return 0;
    }
    return -1;
}

int pg_cli_update_finish(struct pg_cli *cli)
{
    const struct pg_options *o = &cli->o;

    if (o->update && !o->manifest_path) {
        pg_cli_error("--update needs --manifest FILE (the results of the "
                     "earlier run, kept up to date)");
        return -1;
    }
    if (o->delete_gone && !o->update) {
        pg_cli_error("--delete-gone needs --update");
        return -1;
    }
    if (cli->report.path && !o->update) {
        pg_cli_error("--report '%s' needs --update", cli->report.path);
        return -1;
    }
    if (o->update && o->frontier) {
        pg_cli_error("--update cannot be used with --frontier '%s'",
                     o->frontier);
        return -1;
    }
    return 0;
}

/* The class of a result (after the save), or -1 for none of them. */
static int class_of(const struct pg_result *res)
{
    switch (res->status) {
    case PG_ST_CHANGED: return PG_CLI_UPD_CHANGED;
    case PG_ST_UNCHANGED: return PG_CLI_UPD_UNCHANGED;
    case PG_ST_GONE: return PG_CLI_UPD_GONE;
    case PG_ST_OK:
    case PG_ST_EXISTS:
        return res->update_new ? PG_CLI_UPD_NEW : -1;
    default:
        break;
    }
    return pg_status_is_success(res->status) ? -1 : PG_CLI_UPD_FAILED;
}

enum pg_code pg_cli_report_add(struct pg_cli *cli,
                               const struct pg_result *res)
{
    struct pg_cli_report *rep = &cli->report;
    struct pg__buf b = PG_BUF_INIT(64 * 1024);
    int c = class_of(res), cut = 0;
    enum pg_code rc;

    if (!rep->path || c < 0)
        return PG_OK;
    if (!rep->list[c] && !(rep->list[c] = tmpfile()))
        return PG_E_IO;
    rc = pg__buf_addstr(&b, rep->n[c] ? ",\n  " : "\n  ");
    if (!rc)
        rc = pg__json_str_max(&b, res->url, PG_JSON_URL, (size_t)-1, &cut);
    if (!rc && fwrite(b.ptr, 1, b.len, rep->list[c]) != b.len)
        rc = PG_E_IO;
    pg__buf_release(&b);
    if (!rc)
        rep->n[c]++;
    return rc;
}

/* Append list c's spooled URLs to out. */
static int copy_list(FILE *in, FILE *out)
{
    char buf[64 * 1024];
    size_t n;

    if (!in)
        return 0;
    if (fflush(in) || fseek(in, 0, SEEK_SET))
        return -1;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        if (fwrite(buf, 1, n, out) != n)
            return -1;
    }
    return ferror(in) ? -1 : 0;
}

static int write_report(const struct pg_cli *cli, FILE *out)
{
    const struct pg_cli_report *rep = &cli->report;
    struct pg__buf b = PG_BUF_INIT(64 * 1024);
    int i, bad;

    bad = pg__buf_addstr(&b, "{\"manifest\":") ||
          pg__json_str(&b, cli->o.manifest_path);
    for (i = 0; !bad && i < PG_CLI_UPD__COUNT; i++)
        bad = pg__buf_addf(&b, ",\"%s\":%llu", class_names[i],
                           (unsigned long long)rep->n[i]) != PG_OK;
    bad = bad || fwrite(b.ptr, 1, b.len, out) != b.len ||
          fputs(",\"urls\":{", out) == EOF;
    pg__buf_release(&b);
    for (i = 0; !bad && i < PG_CLI_UPD__COUNT; i++) {
        bad = fprintf(out, "%s\n \"%s\": [", i ? "," : "",
                      class_names[i]) < 0 ||
              copy_list(rep->list[i], out) ||
              fputs(rep->n[i] ? "\n ]" : "]", out) == EOF;
    }
    return bad || fputs("\n}}\n", out) == EOF ? -1 : 0;
}

int pg_cli_report_finish(struct pg_cli *cli)
{
    const char *path = cli->report.path;
    size_t n = path ? strlen(path) + 16 : 0;
    char *tmp = path ? malloc(n) : NULL, err[128];
    FILE *out = NULL;
    int fd = -1, bad = 1;

    if (!path)
        return 0;
    if (tmp) {
        snprintf(tmp, n, "%s.tmp-XXXXXX", path);
        fd = mkstemp(tmp);
    }
    if (fd >= 0)
        out = fdopen(fd, "w");   /* mode 0600, as the manifest */
    if (out) {
        bad = write_report(cli, out) || fflush(out) || fsync(fileno(out));
        bad = fclose(out) || bad;
        if (!bad)
            bad = rename(tmp, path) < 0;
    } else if (fd >= 0) {
        close(fd);
    }
    if (bad) {
        pg_cli_error("cannot write report '%s': %s", path,
                     pg__errstr(errno, err, sizeof(err)));
        if (fd >= 0)
            unlink(tmp);
    }
    free(tmp);
    return bad ? -1 : 0;
}

void pg_cli_report_release(struct pg_cli *cli)
{
    for (int i = 0; i < PG_CLI_UPD__COUNT; i++) {
        if (cli->report.list[i])
            fclose(cli->report.list[i]);
        cli->report.list[i] = NULL;
    }
}

int pg_cli_compact_main(int argc, char **argv)
{
    char err[PG_ERRBUF_SIZE];
    uint64_t kept, dropped;

    if (argc != 3 || !argv[2][0] || argv[2][0] == '-') {
        pg_cli_error("usage: pagegrab compact-manifest FILE");
        return PG_EXIT_USAGE;
    }
    if (pg_manifest_compact(argv[2], &kept, &dropped, err, sizeof(err))) {
        pg_cli_error("%s", err);
        return PG_EXIT_FATAL;
    }
    pg_cli_error("%s: %llu record(s) kept, %llu line(s) dropped", argv[2],
                 (unsigned long long)kept, (unsigned long long)dropped);
    return PG_EXIT_OK;
}
