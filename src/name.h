/*
 * name.h - limits and constants of the file-name sanitiser (name.c).
 * pg_name_from_url() itself is public (pagegrab.h).
 */
#ifndef PG_NAME_H
#define PG_NAME_H

#include <stddef.h>

#include "buf.h"
#include "internal.h"

/* Longest component (bytes), leaving room under NAME_MAX for suffixes. */
#define PG_NAME_COMPONENT_MAX 200
/* Longest relative name before the directories are dropped. */
#define PG_NAME_MAX 1024
/* Name of a file for a URL path ending in '/'. */
#define PG_NAME_INDEX "index.html"
/* Temporary (spool) files start with this; no saved name ever does. */
#define PG_NAME_TMP_PREFIX ".pagegrab-"
#define PG_NAME_TMP_PREFIX_LEN (sizeof(PG_NAME_TMP_PREFIX) - 1)

/*
 * Append one URL path segment (n bytes, percent-encoded) to b, decoded
 * and sanitised as described in pg_name_from_url(); sets *altered when
 * the result differs from the plain decoding.
 */
enum pg_code pg__name_add_component(struct pg__buf *b, const char *s,
                                    size_t n, int *altered) PG_WARN_UNUSED;

struct pg__url;
/* pg_name_from_url() of a URL already parsed (filter.c's name rules). */
enum pg_code pg__name_from_parsed(const struct pg__url *u, unsigned flags,
                                  char **out) PG_WARN_UNUSED;

#ifdef PG_UNITTEST
size_t ext_offset(const char *s, size_t len);
enum pg_code add_component(struct pg__buf *b, const char *s, size_t n,
                           int *altered);
#endif

#endif
