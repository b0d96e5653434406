/*
 * codec.h - the frames between the process pool's parent (pool_proc.c)
 * and its workers (worker.c): each layout's encoder and decoder, side
 * by side in codec.c, on top of wire.h's framing.
 *
 * JOB (parent -> worker): id, attempts, flags, url, referrer (or
 * none), and --update's etag, last-modified, saved path and content
 * type (each or none).
 * LINKS (worker -> parent): id, then a count and (kind, url) pairs; a
 * page's links take as many LINKS frames as they need, ahead of its
 * RESULT.
 * RESULT (worker -> parent): id, status, http code, bytes, time,
 * content type, final url, spool file name, error, hash, flags,
 * Retry-After, links found, the response's ETag and Last-Modified (or
 * none), and a count of links (0: they went ahead).
 * LOG (worker -> parent): level, line.
 * COOKIES (both ways): a count and cookies.txt lines: those a worker's
 * responses set (ahead of the item's LINKS and RESULT), or those the
 * parent forwards to the other workers (ahead of later JOBs).
 *
 * Encoders build one whole frame in b (pg__wire_begin .. _end) and
 * return its error; decoders read a frame's payload and report a
 * malformed one.
 */
#ifndef PG_CODEC_H
#define PG_CODEC_H

#include <stddef.h>

#include "extract.h"
#include "item.h"
#include "jar.h"
#include "log.h"
#include "wire.h"

enum pg_code pg__codec_put_job(struct pg__buf *b, const struct pg__item *it);

/* Decode one JOB frame into a new item; NULL if malformed. */
struct pg__item *pg__codec_get_job(const void *payload, size_t len);

/* One LINKS frame of it's links, from *from on; *from is advanced past
 * those that fit (at least one). */
enum pg_code pg__codec_put_links(struct pg__buf *b,
                                 const struct pg__item *it, size_t *from);

/* Add the count and (kind, url) pairs at r (after a LINKS frame's id, or
 * at a RESULT's end) to l; PG_E_PARSE if malformed. */
enum pg_code pg__codec_get_links(struct pg__wire_reader *r,
                                 struct pg__links *l);

/* The RESULT frame of a finished item (its links go ahead, in LINKS
 * frames). */
enum pg_code pg__codec_put_result(struct pg__buf *b,
                                  const struct pg__item *it);

/* The fields of a RESULT frame after its id, into it (whose result was
 * reset); PG_E_PARSE if malformed or the status is unknown.  The fields
 * read before the fault are set. */
enum pg_code pg__codec_get_result(struct pg__wire_reader *r,
                                  struct pg__item *it);

/* One COOKIES frame of v[*from...] (NULL-terminated), as many as fit (at
 * least one); *from is advanced past them. */
enum pg_code pg__codec_put_cookies(struct pg__buf *b, char *const *v,
                                   size_t *from);

/*
 * Apply the lines of a COOKIES frame (payload) to jar; returns those new
 * to it (NULL-terminated, freed with pg__jar_lines_free()) or NULL, and
 * sets *bad if the frame is malformed.
 */
char **pg__codec_get_cookies(const void *payload, size_t len,
                             struct pg__jar *jar, int *bad);

enum pg_code pg__codec_put_log(struct pg__buf *b, enum pg_log_level level,
                               const char *msg);

/* A WINDOW frame: the worker runs up to window transfers at once now. */
enum pg_code pg__codec_put_window(struct pg__buf *b, unsigned window);
/* Its window, 0 if the frame is malformed. */
unsigned pg__codec_get_window(struct pg__wire_reader *r);

/* The line of a LOG frame (inside the frame), its level in *level;
 * NULL if malformed. */
const char *pg__codec_get_log(struct pg__wire_reader *r,
                              enum pg_log_level *level);

#endif
