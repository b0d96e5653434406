/*
 * mem.h - allocation wrappers.
 *
 * Every allocation in the library goes through these so that tests can
 * make allocation N fail (pg__mem_fail_at, unit-test builds only).
 * Thread-safe.
 */
#ifndef PG_MEM_H
#define PG_MEM_H

#include "pagegrab.h"

void *pg__calloc(size_t n, size_t size);
void *pg__realloc(void *p, size_t n);
char *pg__strdup(const char *s);
char *pg__strndup(const char *s, size_t n);

/* Free *pp and set it to NULL. */
#define PG_FREE(p) do { pg_free(p); (p) = NULL; } while (0)

#ifdef PG_UNITTEST
/* Make the Nth allocation from now fail (0 = never). */
void pg__mem_fail_at(unsigned long n);
#endif

#endif
