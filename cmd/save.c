/*
 * save.c - the default result callback: every body is saved under a
 * name derived from its URL (HOST/PATH or flat), through the library's
 * sanitiser and its symlink-proof, atomic pg_result_save().
 */
#include "cli.h"

enum pg_code pg_cli_save(struct pg_result *res, void *userdata)
{
    const struct pg_cli *cli = userdata;
    char *name = NULL;
    enum pg_code rc;

    rc = pg_name_from_url(res->url, cli->flat ? PG_NAME_FLAT : 0, &name);
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
