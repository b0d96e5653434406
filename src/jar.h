/*
 * jar.h - the cookie jar of a job (struct pg__jar): a libcurl share
 * (cookies, DNS answers and TLS sessions) with the handle that loads,
 * applies and lists its cookies, and the job's own index of them.
 *
 * Cookies live in libcurl's engine, which decides what is sent where
 * (domain, path, secure, expiry); the jar never bypasses it.  Lines are
 * in the Netscape cookies.txt format, as CURLINFO_COOKIELIST gives them.
 *
 * Thread mode: one jar, locked (pthread mutexes per curl_lock_data), is
 * the share of every easy handle of the job: a cookie is in every later
 * request as soon as its response is read.
 *
 * Process mode: the parent holds the job's jar (unlocked); each worker
 * has its own, started from the parent's lines (inherited by fork) and
 * flagged `relay`: cookies its responses set or change are queued
 * (pg__jar_take_fresh) and sent to the parent in COOKIES frames ahead of
 * the item's RESULT; the parent applies those new to it and forwards them
 * to every other worker, ahead of any JOB it sends afterwards.  So a
 * cookie is sent by every request the parent hands out after it received
 * the response that set it (links found on that page included); requests
 * already handed to a worker may go without it.  Cookies a response
 * deletes or lets expire are not relayed (they expire in each worker).
 *
 * Caps (a hostile server may set thousands): PG_JAR_MAX_COOKIES distinct
 * cookies (domain, path, name) and PG_JAR_MAX_BYTES of cookie lines; a
 * line over PG_JAR_LINE_MAX is dropped.  A cookie past a cap is expired
 * in the engine again at once and never relayed; one warning is logged.
 */
#ifndef PG_JAR_H
#define PG_JAR_H

#include <stddef.h>

#include <curl/curl.h>

#include "log.h"
#include "pagegrab.h"

#define PG_JAR_MAX_COOKIES 3000u
#define PG_JAR_MAX_BYTES (1u << 20)
#define PG_JAR_LINE_MAX 8192u

struct pg__jar;

/*
 * A new jar; locked: for handles in several threads; relay: keep the
 * cookies responses set for pg__jar_take_fresh().  NULL on out of memory.
 */
struct pg__jar *pg__jar_new(int locked, int relay,
                            const struct pg__logger *log);
void pg__jar_free(struct pg__jar *j);

/* The share to give every easy handle (CURLOPT_SHARE). */
CURLSH *pg__jar_share(struct pg__jar *j);

/*
 * Read a cookies.txt file (Netscape/Mozilla format as curl, wget and
 * browser extensions write it, #HttpOnly_ lines included).  PG_E_INVALID
 * with a message naming the file (and line) in err.
 */
enum pg_code pg__jar_load(struct pg__jar *j, const char *path, char *err,
                          size_t errlen) PG_WARN_UNUSED;

/*
 * Write every cookie to path atomically (a temporary file in the same
 * directory, mode 0600, renamed over it).  PG_E_IO with a message.
 */
enum pg_code pg__jar_save(struct pg__jar *j, const char *path, char *err,
                          size_t errlen) PG_WARN_UNUSED;

/*
 * Add one cookie line (from the parent or a worker) to the engine and
 * the index: 1 if it was new or changed, 0 if known, -1 if refused (a
 * cap, or not a cookie line).
 */
int pg__jar_apply(struct pg__jar *j, const char *line);

/*
 * After a transfer on easy (a handle sharing this jar) whose response set
 * cookies: index what is new or changed (queued for relay), expire what
 * is past the caps.  Any thread (locked jars).
 */
void pg__jar_collect(struct pg__jar *j, CURL *easy);

/* Relay: the queued lines (a NULL-terminated vector the caller frees
 * with pg__jar_lines_free), or NULL if none. */
char **pg__jar_take_fresh(struct pg__jar *j);
void pg__jar_lines_free(char **v);

/*
 * A forked worker's jar: apply every line the parent's jar held at the
 * fork (parent is the parent's jar, a copy in this process: only its
 * lines are read).
 */
void pg__jar_inherit(struct pg__jar *j, const struct pg__jar *parent);

#endif
