/*
 * internal.h - definitions shared by every library module.
 */
#ifndef PG_INTERNAL_H
#define PG_INTERNAL_H

/*
 * Static functions that unit tests need to reach are marked
 * PG_UNITTEST_STATIC: static in normal builds, external with PG_UNITTEST
 * (as curl's UNITTEST).  Their prototypes for tests sit in the module
 * header under #ifdef PG_UNITTEST.
 */
#ifdef PG_UNITTEST
#define PG_UNITTEST_STATIC
#else
#define PG_UNITTEST_STATIC static
#endif

#define PG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
