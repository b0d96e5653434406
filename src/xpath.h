/*
 * xpath.h - XPath contexts and compiled expressions that keep libxml2
 * quiet: errors go to the context's own handler, never to libxml2's
 * global error channel (stderr), and one evaluation is bounded.
 *
 * Thread-safety: a context belongs to one thread at a time (libxml2
 * modifies it while evaluating).  pg__xpath_check() and pg__xpath_msg()
 * are thread-safe.  xmlInitParser() must have been called first
 * (pg_global_init()).
 */
#ifndef PG_XPATH_H
#define PG_XPATH_H

#include <stddef.h>

#include <libxml/xpath.h>

#include "internal.h"
#include "pagegrab.h"

/* The error type of libxml2's structured handlers changed in 2.12. */
#if LIBXML_VERSION >= 21200
#define PG_XML_ERROR const xmlError
#else
#define PG_XML_ERROR xmlError
#endif

/* The first error since the last reset, from the context's handler. */
struct pg__xpath_err {
    int code; /* an xmlError code, 0 for none */
    int offset;
};

/*
 * A new XPath context whose errors go to cap, whose unknown functions
 * fail through that handler, and whose evaluations may take at most 10^8
 * steps (libxml2's opLimit).  NULL when out of memory.
 */
xmlXPathContextPtr pg__xpath_context_new(struct pg__xpath_err *cap);

/*
 * Compile expr in xp (made by pg__xpath_context_new() with cap), then
 * refuse what pg__xpath_check() refuses.  *out is NULL on failure; err
 * says why.  PG_OK, PG_E_INVALID or PG_E_NOMEM.
 */
enum pg_code pg__xpath_compile(xmlXPathContextPtr xp,
                               struct pg__xpath_err *cap, const char *expr,
                               xmlXPathCompExprPtr *out, char *err,
                               size_t errlen) PG_WARN_UNUSED;

/* libxml2's text for the XPath error code (an xmlError code). */
const char *pg__xpath_msg(int code);

/*
 * Compile one XPath expression to check it.  Besides syntax errors it
 * refuses what libxml2 would only report at evaluation time (and then on
 * stderr): unknown functions, function names with a namespace prefix
 * and variable references ($x), none of which can work here.
 * Returns PG_OK, or PG_E_INVALID with the reason in err (libxml2's
 * message and the offset, without the expression), or PG_E_NOMEM.
 * Any thread.
 */
enum pg_code pg__xpath_check(const char *expr, char *err,
                             size_t errlen) PG_WARN_UNUSED;

#endif
