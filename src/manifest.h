/*
 * manifest.h - the JSON Lines results file.
 *
 * One record per URL in its final state, written with a single write()
 * so a crash leaves at most one torn last line.  Strings are escaped so
 * that no URL, header or error text can break a record or forge one:
 * quotes, backslashes and control bytes are escaped and bytes that are
 * not valid UTF-8 become \u00XX.  The file is created with mode 0600.
 * Main thread only.
 */
#ifndef PG_MANIFEST_H
#define PG_MANIFEST_H

#include "buf.h"
#include "pagegrab.h"

struct pg__manifest {
    int fd;              /* -1 when no manifest is kept */
    struct pg_buf line;
};

void pg__manifest_init(struct pg__manifest *m);

/* Create or truncate path.  PG_E_IO with errno set. */
enum pg_code pg__manifest_open(struct pg__manifest *m, const char *path)
    PG_WARN_UNUSED;

/* Append the record for r.  PG_E_IO (errno set), PG_E_NOMEM. */
enum pg_code pg__manifest_write(struct pg__manifest *m,
                                const struct pg_result *r) PG_WARN_UNUSED;

/* fsync and close; PG_E_IO if either failed. */
enum pg_code pg__manifest_close(struct pg__manifest *m) PG_WARN_UNUSED;

/* Append s as a JSON string (with quotes), or null for NULL. */
enum pg_code pg__json_str(struct pg_buf *b, const char *s) PG_WARN_UNUSED;

/* Format one record (with its newline) into b. */
enum pg_code pg__manifest_format(struct pg_buf *b, const struct pg_result *r)
    PG_WARN_UNUSED;

#endif
