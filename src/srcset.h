/*
 * srcset.h - the HTML standard's srcset attribute parser.
 *
 * Thread-safety: any thread; nothing is shared.
 */
#ifndef PG_SRCSET_H
#define PG_SRCSET_H

#include <stddef.h>

#include "internal.h"
#include "pagegrab.h"

/* One srcset candidate: url[0..len) points into the parsed string. */
struct pg__srcset_cand {
    const char *url;
    size_t len;
    double width;   /* 0: no "w" descriptor */
    double density; /* from an "x" descriptor, else 1 */
};

/*
 * The HTML standard's "parse a srcset attribute" on s[0..len): the
 * candidates in *out (free with pg_free), *n of them.  Candidates with
 * bad descriptors are dropped, as the standard says.  PG_OK or
 * PG_E_NOMEM.
 */
enum pg_code pg__srcset_parse(const char *s, size_t len,
                              struct pg__srcset_cand **out,
                              size_t *n) PG_WARN_UNUSED;

/*
 * qsort() order of struct pg__srcset_cand, most preferred first: larger
 * width first (a candidate with a width before one without), then larger
 * density, then earlier in the string.
 */
int pg__srcset_cmp(const void *pa, const void *pb);

#ifdef PG_UNITTEST
size_t pg__extract_srcset_best(const struct pg__srcset_cand *c, size_t n);
#endif

#endif
