/*
 * manifest.h - the JSON Lines results file.
 *
 * One record per URL in its final state.  Records are batched (below)
 * and every write() holds whole lines only, so a crash leaves at most
 * one torn last line (a full disk mid-write) and loses at most the
 * records of one loop pass.  Strings are escaped so
 * that no URL, header or error text can break a record or forge one:
 * quotes, backslashes and control bytes are escaped.  A byte that is not
 * valid UTF-8 becomes %XX in url, final_url and referrer (input lines
 * are recorded so already: pg__url_escape_input), U+FFFD in
 * content_type, error and hash, and \u00XX in path and duplicate_of.  A
 * record never passes its 256 KiB cap: if it would, each string longer
 * than 28 KiB is cut (never inside an escape) and the record ends with
 * "<key>_truncated":true for each key cut.  The file is created with
 * mode 0600.  Main thread only.
 */
#ifndef PG_MANIFEST_H
#define PG_MANIFEST_H

#include "buf.h"
#include "json.h" /* pg__json_str */
#include "pagegrab.h"
#include "util.h"

/*
 * Records are batched: they wait in `out` (whole lines only) until
 * pg__manifest_flush, which writes them with one write() (the job's
 * loop calls it before it waits, so at most one loop pass of records
 * waits there), or until the next one would pass PG_MANIFEST_BATCH.
 * Sync and close flush first.
 */
#define PG_MANIFEST_BATCH (64 * 1024)

struct pg__manifest {
    int fd;              /* -1 when no manifest is kept */
    enum pg__fd_kind kind; /* a file, a FIFO or a socket (util.h) */
    struct pg__buf line;
    struct pg__buf out;  /* records not written yet */
};

void pg__manifest_init(struct pg__manifest *m);

/*
 * Create or truncate path (append: keep what is there and add to it).
 * PG_E_IO with errno set.
 */
enum pg_code pg__manifest_open(struct pg__manifest *m, const char *path,
                               int append) PG_WARN_UNUSED;

/* Write the records batched so far.  PG_E_IO with errno set. */
enum pg_code pg__manifest_flush(struct pg__manifest *m) PG_WARN_UNUSED;

/* Flush, then fdatasync the file.  PG_E_IO with errno set. */
enum pg_code pg__manifest_sync(struct pg__manifest *m) PG_WARN_UNUSED;

/*
 * Read an existing manifest for --resume: calls cb for every complete
 * record (a torn last line, or any line that is not a record, is
 * skipped).  PG_OK also when the file does not exist; PG_E_IO (errno)
 * or PG_E_NOMEM otherwise.
 */
struct pg__manifest_rec {
    const char *url, *status, *kind;
    const char *path;          /* NULL if none */
    const char *content_type, *hash, *referrer; /* NULL if none */
    const char *etag, *last_modified; /* NULL if none */
    int exec_pending;          /* "exec_pending":true: its hook did not
                                  end */
    uint64_t lineno;           /* its line in the file (1 = first) */
    uint64_t offset;           /* where that line begins in the file */
    const char *line;          /* the whole record, its newline included */
    size_t len;
};
typedef enum pg_code (*pg__manifest_record_cb)(
    const struct pg__manifest_rec *rec, void *ud);
#ifdef PG_UNITTEST
/* Whether line is one complete record and its newline. */
int record_complete(const char *line);
#endif
enum pg_code pg__manifest_read(const char *path, pg__manifest_record_cb cb,
                               void *ud) PG_WARN_UNUSED;

/* Append the record for r.  PG_E_IO (errno set), PG_E_NOMEM. */
enum pg_code pg__manifest_write(struct pg__manifest *m,
                                const struct pg_result *r) PG_WARN_UNUSED;

/*
 * Append a record formatted earlier (by pg__manifest_format), e.g. a
 * pending --exec record completed.  PG_E_IO (errno set).
 */
enum pg_code pg__manifest_write_line(struct pg__manifest *m,
                                     const char *line, size_t len)
    PG_WARN_UNUSED;

/*
 * --update: the line that marks the start of an update run (it is no
 * record: readers skip it, compaction drops it).  Records after the
 * last one are that run's (--resume).
 */
#define PG_MANIFEST_UPDATE_MARK "{\"update_run\":\"started\""
enum pg_code pg__manifest_write_marker(struct pg__manifest *m)
    PG_WARN_UNUSED;

/* Flush, fsync and close; PG_E_IO if any failed. */
enum pg_code pg__manifest_close(struct pg__manifest *m) PG_WARN_UNUSED;

/* Format one record (with its newline) into b. */
enum pg_code pg__manifest_format(struct pg__buf *b, const struct pg_result *r)
    PG_WARN_UNUSED;

#ifdef PG_UNITTEST
/* The hash compaction keys URLs by (a test makes every URL collide). */
extern uint64_t (*pg__compact_hash)(const void *p, size_t n);
#endif

#endif
