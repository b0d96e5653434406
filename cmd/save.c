/*
 * save.c - the default result callback: every body is saved under a
 * name derived from its URL (--name rules, else HOST/PATH or flat),
 * through the library's sanitiser and its symlink-proof, atomic
 * pg_result_save().  With --list, listed URLs go to stdout.
 */
#include <stdio.h>

#include "cli.h"

static enum pg_code save(struct pg_result *res, const struct pg_cli *cli)
{
    char *name = NULL;
    enum pg_code rc;

    if (res->status == PG_ST_LISTED) {
        /* stdout is for machines: one URL a line, nothing else. */
        if (fputs(res->url, stdout) == EOF || putchar('\n') == EOF)
            return PG_E_IO;
        return PG_OK;
    }
    if (!res->tmp_name)
        return PG_OK;
    rc = pg_namer_name(cli->namer, res->url, res->hash, &name);
    if (rc == PG_E_NOMEM)
        return rc;
    if (rc) {
        pg_result_fail(res, PG_ST_SAVE_ERROR,
                       "no file name for this URL: %s", pg_strerror(rc));
        return PG_OK;
    }
    rc = pg_result_save(res, name,
                        cli->overwrite ? PG_SAVE_OVERWRITE : 0);
    pg_free(name);
    /* A file that cannot be saved is recorded; only memory is fatal. */
    return rc == PG_E_NOMEM ? rc : PG_OK;
}

enum pg_code pg_cli_save(struct pg_result *res, void *userdata)
{
    struct pg_cli *cli = userdata;
    enum pg_code rc = save(res, cli);

    /* --report: the URL in its class once the save decided it. */
    if (!rc && pg_cli_report_add(cli, res)) {
        pg_cli_error("cannot spool the --report list of '%s'", res->url);
        return PG_E_IO;
    }
    return rc;
}
