/*
 * redis_record.h - a queued item as a string in the shared frontier, and
 * back: url \x1f origin \x1f kind \x1f depth \x1f flags \x1f line \x1f
 * input_url \x1f referrer (only the flags that say what to do with it).
 * URLs are escaped, so no field holds the separator.
 */
#ifndef PG_REDIS_RECORD_H
#define PG_REDIS_RECORD_H

#include <stdint.h>

#include "item.h"
#include "redis.h"

/*
 * Append the 16-hex hash of it->url (the seen set's member), its origin
 * and its record to a.  PG_E_INVALID if a field holds the separator,
 * PG_E_NOMEM.
 */
enum pg_code pg__redis_record_add(struct pg__redis_args *a,
                                  const struct pg__item *it) PG_WARN_UNUSED;

/* A new item from a record (len bytes), with this id; NULL on out of
 * memory. */
struct pg__item *pg__redis_record_parse(const char *rec, size_t len,
                                        uint64_t id);

#endif
