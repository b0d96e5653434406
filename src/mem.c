/*
 * mem.c - allocation wrappers (see mem.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#if defined(PG_UNITTEST) || defined(PG_TORTURE)
#include <stdatomic.h>

static atomic_ulong fail_at;

#ifdef PG_UNITTEST
void pg__mem_fail_at(unsigned long n)
{
    atomic_store(&fail_at, n);
}
#endif

#ifdef PG_TORTURE
/*
 * Torture builds (make torture) only: PG_FAIL_ALLOC=N makes the Nth
 * allocation of the process fail, and the number of allocations made is
 * printed to stderr at exit, so tests/torture.sh can try every N.
 */
#include <stdio.h>

static atomic_ulong n_allocs;

static void torture_report(void)
{
    fprintf(stderr, "pg-torture: %lu allocations\n",
            (unsigned long)atomic_load(&n_allocs));
}

__attribute__((constructor)) static void torture_init(void)
{
    const char *s = getenv("PG_FAIL_ALLOC");

    if (s && *s)
        atomic_store(&fail_at, strtoul(s, NULL, 10));
    atexit(torture_report);
}
#endif

static int should_fail(void)
{
    unsigned long n = atomic_load(&fail_at);

#ifdef PG_TORTURE
    atomic_fetch_add(&n_allocs, 1);
#endif
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

void *pg__calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *pg__realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void pg_free(void *p)
{
    free(p);
}

char *pg__strndup(const char *s, size_t n)
{
    char *p = pg_malloc(n + 1);

    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *pg__strdup(const char *s)
{
    return pg__strndup(s, strlen(s));
}
