/*
 * filter.h - pcre2 patterns for URL filters (--accept/--reject).
 *
 * Patterns are compiled once, before any worker starts, with JIT where
 * the platform has it; a compiled list is read-only afterwards.  Each
 * matching call needs match data, which belongs to one thread: the job
 * matches only in its main thread, with the list's own match data.
 * Patterns match bytes (no UTF mode), so any URL can be tested.
 */
#ifndef PG_FILTER_H
#define PG_FILTER_H

#include <stddef.h>

#include "pagegrab.h"

struct pg__regex_list;

/*
 * Compile n patterns.  On error returns NULL with a message naming the
 * pattern and pcre2's reason and offset in err ("out of memory" too).
 */
struct pg__regex_list *pg__regex_list_new(const char *const *patterns,
                                          size_t n, char *err,
                                          size_t errlen);
void pg__regex_list_free(struct pg__regex_list *l);

/* Number of patterns in the list (0 for NULL). */
size_t pg__regex_list_count(const struct pg__regex_list *l);

/* Index of the first pattern that matches s, or -1 (also for NULL). */
int pg__regex_list_match(struct pg__regex_list *l, const char *s);

#endif
