/*
 * spool.h - temporary body files and their atomic commit.
 *
 * A worker writes a body into a fresh hidden file at the top of the
 * output directory, created with O_EXCL|O_NOFOLLOW relative to the
 * directory fd (pg__spool_create).  The main thread later gives it its
 * final name with pg_result_save() (pagegrab.h): directories are walked
 * and created one component at a time with openat(O_NOFOLLOW) and the
 * file appears with linkat() (never replacing) or renameat() (with
 * --overwrite), so a final name always holds a complete body and nothing
 * is written through a symlink.
 *
 * The job's name set (struct pg__nameset keyed by the hash of a saved
 * relative name) remembers which names this job (or, with --resume, the
 * run it resumes) gave to which URL, so that a second URL mapping to the
 * same name gets a new name instead of being mistaken for an old file.
 * The value is the place of the URL in a struct pg__urlstore, an
 * unlinked append-only file in the output directory, read back only when
 * a name is hit so that "same URL" is decided by comparing the URLs
 * themselves (12 bytes of memory a name).  Main thread only.
 */
#ifndef PG_SPOOL_H
#define PG_SPOOL_H

#include <stdint.h>
#include <sys/types.h>

#include "pagegrab.h"

/*
 * A map from 64-bit hashes to 32-bit values (open addressing, load at
 * most 3/4): 12 bytes a slot, so a 1,000,000-name job stays small.
 */
struct pg__nameset {
    uint64_t *keys;  /* name hash, 0 = empty slot */
    uint32_t *vals;  /* e.g. a fold of the URL hash (pg__hash_fold32) */
    size_t cap;      /* power of two */
    size_t used;
};

/*
 * --dedup: which body (by SHA-256) this job saved under which path.
 * Main thread only.
 */
struct pg__dedup {
    struct pg__nameset idx;  /* hash of the hex digest -> index + 1 */
    char **hex;
    char **path;
    size_t n, cap;
};

void pg__dedup_init(struct pg__dedup *d);
void pg__dedup_release(struct pg__dedup *d);
/* The path saved for this digest, or NULL. */
const char *pg__dedup_find(const struct pg__dedup *d, const char *hex);
enum pg_code pg__dedup_add(struct pg__dedup *d, const char *hex,
                           const char *path) PG_WARN_UNUSED;

void pg__nameset_init(struct pg__nameset *s);
void pg__nameset_release(struct pg__nameset *s);
/* 1 and *val when name_hash is present, else 0. */
int pg__nameset_get(const struct pg__nameset *s, uint64_t name_hash,
                    uint32_t *val);
enum pg_code pg__nameset_put(struct pg__nameset *s, uint64_t name_hash,
                             uint32_t val) PG_WARN_UNUSED;

/*
 * The URLs the name set points at: an unlinked file in the output
 * directory (O_TMPFILE where it exists), opened at the first add.
 * Records are a 4-byte length and the URL, padded to 8 bytes, so that
 * a 32-bit value (offset / 8) reaches 32 GiB.
 */
struct pg__urlstore {
    int fd;          /* -1 until the first add */
    uint64_t end;    /* bytes written */
};

void pg__urlstore_init(struct pg__urlstore *u);
void pg__urlstore_release(struct pg__urlstore *u);

/*
 * Who owns relname in names: 0 nobody, 1 url, 2 another URL, -1 error
 * reading the store (errno set).
 */
int pg__names_owner(const struct pg__nameset *names,
                    const struct pg__urlstore *u, const char *relname,
                    const char *url);
/*
 * Give relname to url (dirfd: where the store is created).  A name
 * already owned keeps its owner.  PG_E_IO, PG_E_NOMEM, PG_E_LIMIT.
 */
enum pg_code pg__names_claim(struct pg__nameset *names,
                             struct pg__urlstore *u, int dirfd,
                             const char *relname, const char *url)
    PG_WARN_UNUSED;

/* A 64-bit hash folded to 32 bits, to be kept as a nameset value. */
static inline uint32_t pg__hash_fold32(uint64_t h)
{
    return (uint32_t)(h ^ (h >> 32));
}

/*
 * Create a new spool file in dirfd, named
 * ".pagegrab-PID-WORKER-SEQ.part"; *seq is advanced.  On success *fd is
 * open for reading and writing (O_CLOEXEC) and *name is a new string the caller
 * frees.  Returns PG_E_IO (errno set) or PG_E_NOMEM.
 */
/* The same with the caller's process id (saves a getpid() a file). */
enum pg_code pg__spool_create_pid(int dirfd, pid_t pid, unsigned worker,
                                  uint64_t *seq, int *fd, char **name)
    PG_WARN_UNUSED;
enum pg_code pg__spool_create(int dirfd, unsigned worker, uint64_t *seq,
                              int *fd, char **name) PG_WARN_UNUSED;

/*
 * Remove spool files left in dirfd by runs that are gone (their pid is
 * in the name and no longer alive).  Returns how many were removed.
 */
unsigned pg__spool_cleanup(int dirfd);

/*
 * Check that relname is a safe relative name: non-empty components, none
 * "." or "..", no leading '/', no control bytes, no temp-file prefix,
 * bounded length.  0 if safe.
 */
int pg__spool_check_name(const char *relname);

#endif
