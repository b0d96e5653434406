/*
 * mem.c - allocation wrappers (see mem.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#ifdef PG_UNITTEST
#include <stdatomic.h>

static atomic_ulong fail_at;

void pg__mem_fail_at(unsigned long n)
{
    atomic_store(&fail_at, n);
}

static int should_fail(void)
{
    unsigned long n = atomic_load(&fail_at);

    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_at, &n, n - 1))
            return n == 1;
    }
    return 0;
}
#else
#define should_fail() 0
#endif

void *pg_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *pg_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *pg_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void pg_free(void *p)
{
    free(p);
}

char *pg_strndup(const char *s, size_t n)
{
    char *p = pg_malloc(n + 1);

    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *pg_strdup(const char *s)
{
    return pg_strndup(s, strlen(s));
}
