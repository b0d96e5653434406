/*
 * ascii.h - ASCII-only character classes and case-blind comparisons for
 * the HTML scanners (charset, prescan, srcset, xpath, extract).
 *
 * The locale must not matter: these never call <ctype.h>.  Nothing here
 * allocates; any thread.
 */
#ifndef PG_ASCII_H
#define PG_ASCII_H

#include <stddef.h>
#include <string.h>

static inline int pg__is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static inline int pg__is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int pg__is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static inline int pg__to_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* 1 if s[0..n) equals the lower-case word w, ignoring ASCII case. */
static inline int pg__ci_eq(const char *s, size_t n, const char *w)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!w[i] || pg__to_lower((unsigned char)s[i]) != w[i])
            return 0;
    }
    return w[n] == '\0';
}

/* 1 if s[0..n) starts with the lower-case word w, ignoring ASCII case. */
static inline int pg__ci_prefix(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);

    return n >= wl && pg__ci_eq(s, wl, w);
}

#endif
