/*
 * shard.h - static sharding (--shard K/N): the stable hash, which run
 * owns a URL, K and N from a Slurm job array or a Kubernetes Indexed
 * Job (the public pg_shard_* functions of pagegrab.h), and the --divert
 * file.  Not what is done with a URL of another shard: feed.c skips an
 * input URL, crawl.c records a followed page other-shard.  Main thread
 * only.
 *
 * The key of a URL: with PG_SHARD_KEY_URL its bytes as the manifest's
 * "url" field records them (an input line trimmed, with control bytes
 * and invalid UTF-8 as %XX; a discovered link normalised); with
 * PG_SHARD_KEY_HOST its host, lower-case, IPv6 in brackets, without
 * the port.  An input line that is not a valid URL has no host: it is
 * keyed by its url form in both cases, and a line too long to read by
 * the empty string.  The shard is pg_shard_of(key) (pagegrab.h).
 */
#ifndef PG_SHARD_H
#define PG_SHARD_H

#include "pagegrab.h"
#include "util.h"

/* Whether the job's shard key is the host (PG_SHARD_KEY_DEFAULT
 * resolved: the host when pages are followed). */
int pg__shard_by_host(const struct pg_options *o);

/*
 * Whether this run (o->shard_k of o->shard_n) owns a URL: url in the
 * manifest's form, host NULL when it has none.  1 without sharding.
 */
int pg__shard_owns(const struct pg_options *o, int by_host,
                   const char *url, const char *host);

/* The options' shard fields; PG_E_INVALID with the reason in err. */
enum pg_code pg__shard_check(const struct pg_options *o, char *err,
                             size_t errlen) PG_WARN_UNUSED;

/* The --divert file: other-shard URLs, one a line. */
struct pg__divert {
    int fd;  /* -1 when none */
    enum pg__fd_kind kind; /* decided at open (util.h) */
};

void pg__divert_init(struct pg__divert *d);

/*
 * Create or truncate path (append: keep it, without a torn last line).
 * Mode 0600.  PG_E_IO with errno set.
 */
enum pg_code pg__divert_open(struct pg__divert *d, const char *path,
                             int append) PG_WARN_UNUSED;

/* Append "url\n" with one write (fdatasync'ed with sync).  PG_E_IO with
 * errno set; PG_E_NOMEM. */
enum pg_code pg__divert_add(struct pg__divert *d, const char *url, int sync)
    PG_WARN_UNUSED;

/* fdatasync and close; PG_OK when none is open.  PG_E_IO with errno. */
enum pg_code pg__divert_close(struct pg__divert *d) PG_WARN_UNUSED;

#endif
