/*
 * codec.h - the frames between the process pool's parent (pool_proc.c)
 * and its workers (worker.c): each layout's encoder and decoder.
 *
 * JOB (parent -> worker): id, attempts, flags, url.
 * LINKS (worker -> parent): id, then a count and (kind, url) pairs; a
 * page's links take as many LINKS frames as they need, ahead of its
 * RESULT.
 * RESULT (worker -> parent): id, then the result fields of the item.
 * LOG (worker -> parent): level, line.
 *
 * Encoders build one whole frame in b (pg__wire_begin .. _end);
 * decoders read a frame's payload and report a malformed one.
 */
#ifndef PG_CODEC_H
#define PG_CODEC_H

#include <stddef.h>

#include "extract.h"
#include "item.h"
#include "wire.h"

/* Decode one JOB frame into a new item; NULL if malformed. */
struct pg__item *pg__codec_get_job(const void *payload, size_t len);

/* One LINKS frame of it's links, from *from on; *from is advanced past
 * those that fit (at least one). */
enum pg_code pg__codec_put_links(struct pg_buf *b,
                                 const struct pg__item *it, size_t *from);

/* Add a LINKS frame's (or a RESULT's trailing) count and pairs to l;
 * PG_E_PARSE if malformed. */
enum pg_code pg__codec_get_links(struct pg__wire_reader *r,
                                 struct pg__links *l);

/* The RESULT frame of a finished item (its links go ahead, in LINKS
 * frames). */
enum pg_code pg__codec_put_result(struct pg_buf *b,
                                  const struct pg__item *it);

/* The next string of a frame as a new copy; NULL if absent. */
char *pg__codec_strdup(struct pg__wire_reader *r);

#endif
