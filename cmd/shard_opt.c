/*
 * shard_opt.c - the command line's --shard, --shards, --shard-key and
 * --divert (the library checks them again; see src/shard.c).
 */
#include <string.h>

#include "cli.h"

/* --shard, --shards, --shard-key, --divert. */
int pg_cli_shard_option(struct pg_cli *cli, enum pg_cli_shard_opt id,
                        char *val, const char *name)
{
    char err[256];
    long v;

    switch (id) {
    case PG_CLI_SHARD:
        cli->shard_auto = !strcmp(val, "auto");
        if (cli->shard_auto)
            return 0;
        if (pg_shard_parse(val, &cli->o.shard_k, &cli->o.shard_n, err,
                           sizeof(err))) {
            pg_cli_error("invalid value '%s' for %s: %s", val, name, err);
            return -1;
        }
        return 0;
    case PG_CLI_SHARDS:
        if (pg_cli_parse_long(name, val, 1, 1000000, &v))
            return -1;
        cli->shards = (unsigned)v;
        return 0;
    case PG_CLI_SHARD_KEY:
        if (strcmp(val, "url") && strcmp(val, "host")) {
            pg_cli_error("invalid value '%s' for %s: expected 'url' or "
                         "'host'", val, name);
            return -1;
        }
        cli->o.shard_key = !strcmp(val, "url") ? PG_SHARD_KEY_URL
                                               : PG_SHARD_KEY_HOST;
        return 0;
    case PG_CLI_DIVERT:
        if (!*val) {
            pg_cli_error("empty value for %s", name);
            return -1;
        }
        cli->o.divert_path = val;
        return 0;
    }
    return -1;
}

/* --shard auto from the environment; the shard options agree. */
int pg_cli_shard_finish(struct pg_cli *cli)
{
    struct pg_options *o = &cli->o;
    char err[256];

    if (cli->shard_auto) {
        if (pg_shard_from_env(NULL, cli->shards, &o->shard_k, &o->shard_n,
                              err, sizeof(err))) {
            pg_cli_error("--shard auto: %s", err);
            return -1;
        }
    } else if (cli->shards && !o->shard_n) {
        pg_cli_error("--shards %u needs --shard auto", cli->shards);
        return -1;
    } else if (cli->shards && cli->shards != o->shard_n) {
        pg_cli_error("--shards %u disagrees with --shard %u/%u",
                     cli->shards, o->shard_k, o->shard_n);
        return -1;
    }
    if (o->divert_path && !o->shard_n) {
        pg_cli_error("--divert '%s' needs --shard K/N (or auto)",
                     o->divert_path);
        return -1;
    }
    return 0;
}
