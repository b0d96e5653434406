/*
 * save.h - saving a result's body under its final name: the state
 * behind pg_result_save() and pg_result_fail() (pagegrab.h).
 *
 * The job's name set (struct pg__nameset keyed by the hash of a saved
 * relative name) remembers which names this job (or, with --resume, the
 * run it resumes) gave to which URL, so that a second URL mapping to the
 * same name gets a new name instead of being mistaken for an old file.
 * The value is the place of the URL in a struct pg__urlstore, an
 * unlinked append-only file in the output directory, read back only when
 * a name is hit so that "same URL" is decided by comparing the URLs
 * themselves.  The table keeps 32 bits of each name's hash (8 bytes of
 * memory a name); the record in the store has the whole 64-bit hash, so
 * names that share those 32 bits are told apart by reading it.  Main
 * thread only.
 */
#ifndef PG_SAVE_H
#define PG_SAVE_H

#include <stdint.h>

#include "dircache.h"
#include "hashmap.h"
#include "pagegrab.h"

struct pg__item;

/*
 * The URLs the name set points at: an unlinked file in the output
 * directory (O_TMPFILE where it exists), opened at the first add.
 * Records are the name's 64-bit hash, a 4-byte length and the URL,
 * padded to 8 bytes, so that a 32-bit value (offset / 8) reaches 32 GiB.
 */
struct pg__urlstore {
    int fd;          /* -1 until the first add */
    uint64_t end;    /* bytes stored (in the file and the tail) */
    uint64_t flushed; /* bytes in the file: the tail holds the rest */
    char *tail;      /* PG_URLSTORE_TAIL bytes, written when full */
    size_t tail_len;
};

/* Records are gathered into one write() of this many bytes (the store is
 * a scratch file, unlinked: nothing in it outlives the process). */
#define PG_URLSTORE_TAIL (64u * 1024)

void pg__urlstore_init(struct pg__urlstore *u);
void pg__urlstore_release(struct pg__urlstore *u);

/*
 * The names given: open addressing on 32 bits of the name's hash (0 =
 * an empty slot), load at most 3/4, each with its record in the store.
 */
struct pg__names {
    uint32_t *fp;    /* the hash's high 32 bits (0 made 1) */
    uint32_t *val;   /* the record's offset / 8 */
    size_t cap;      /* power of two */
    size_t used;
};

void pg__names_init(struct pg__names *s);
void pg__names_release(struct pg__names *s);

/*
 * Who owns relname in names: 0 nobody, 1 url, 2 another URL, -1 error
 * reading the store (errno set).
 */
int pg__names_owner(const struct pg__names *names,
                    const struct pg__urlstore *u, const char *relname,
                    const char *url);
/*
 * Give relname to url (dirfd: where the store is created).  A name
 * already owned keeps its owner.  PG_E_IO, PG_E_NOMEM, PG_E_LIMIT.
 */
enum pg_code pg__names_claim(struct pg__names *names,
                             struct pg__urlstore *u, int dirfd,
                             const char *relname, const char *url)
    PG_WARN_UNUSED;

/*
 * What pg_result_save() needs, owned by the main thread: the output
 * directory, the names given so far and the --dedup index.  It is the
 * first member of struct pg_job, so that a result's job pointer reaches
 * it without this module knowing the job.
 */
struct pg__saver {
    int outdir_fd;                 /* -1 until opened; closed on release */
    int dedup_on;                  /* --dedup */
    struct pg__names names;        /* saved name -> URL in names_urls */
    struct pg__urlstore names_urls;
    struct pg__dedup dedup;
    struct pg__dircache dirs;      /* directory fds kept (dircache.h) */
};

void pg__saver_init(struct pg__saver *sv);
void pg__saver_release(struct pg__saver *sv);
/*
 * Create (mkdir -p) and open the output directory dir, and prove that a
 * file can be written there.  PG_E_FATAL with a message in err, or
 * PG_E_NOMEM.
 */
enum pg_code pg__saver_open(struct pg__saver *sv, const char *dir, char *err,
                            size_t errlen) PG_WARN_UNUSED;
/*
 * After a save error: is the output directory itself still usable?  A
 * file is created, written and removed.  0 if so, else the errno.
 */
int pg__saver_probe(const struct pg__saver *sv);

#endif
