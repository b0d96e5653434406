/*
 * prescan.h - attribute bombs (start tags with thousands of attributes,
 * quadratic in libxml2 2.9) cut from a decoded page before it is parsed.
 *
 * Thread-safety: any thread; nothing is shared.
 */
#ifndef PG_PRESCAN_H
#define PG_PRESCAN_H

#include <stddef.h>

#include "charset.h"
#include "internal.h"
#include "pagegrab.h"

/*
 * End every start tag of t that has more than 128 attributes before its
 * 129th, as libxml2 would tokenize it; t is copied into t->owned first
 * if it is borrowed.  PG_OK or PG_E_NOMEM (t unchanged).
 */
enum pg_code pg__prescan_defuse(struct pg__text *t) PG_WARN_UNUSED;

#ifdef PG_UNITTEST
size_t pg__extract_cap_attributes(char *s, size_t n);
#endif

#endif
