/*
 * values.c - option values: whole numbers, seconds and byte counts, read
 * strictly (no sign, spaces, hex, inf or trailing junk), with a message
 * naming the option when one is refused.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * Whether s is digits (at least one, the first a digit), with at most
 * one '.' when dot is set, then at most one of the characters of
 * suffixes.  strtol() and friends also take leading white space, a sign,
 * hex and "inf": a value such as " -5" must never become 2^64 - 5.
 */
static int plain_number(const char *s, int dot, const char *suffixes)
{
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s) || (dot && *s == '.')) {
        if (*s == '.')
            dot = 0;
        s++;
    }
    if (*s && strchr(suffixes, *s))
        s++;
    return *s == '\0';
}

/* Whole-number option value in [min, max]. */
int pg_cli_parse_long(const char *name, const char *s, long min, long max,
                      long *out)
{
    char *end = NULL;
    long v = 0;

    errno = 0;
    if (plain_number(s, 0, ""))
        v = strtol(s, &end, 10);
    if (!end || errno || *end || v < min || v > max) {
        pg_cli_error("invalid value '%s' for %s: expected a whole number "
                     "from %ld to %ld", s, name, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Seconds (decimals allowed) as milliseconds. */
int pg_cli_parse_seconds(const char *name, const char *s, long *ms)
{
    char *end = NULL;
    double v = 0;

    errno = 0;
    if (plain_number(s, 1, ""))
        v = strtod(s, &end);
    if (!end || errno || end == s || *end || !isfinite(v) || v < 0 ||
        v > 1e6) {
        pg_cli_error("invalid value '%s' for %s: expected seconds "
                     "(0-1000000)", s, name);
        return -1;
    }
    *ms = (long)(v * 1000 + 0.5);
    return 0;
}

/* A byte count with an optional k, M, G or T suffix (powers of 1024). */
int pg_cli_parse_bytes(const char *name, const char *s, uint64_t *out)
{
    unsigned long long v = 0;
    char *end = NULL;
    int shift = 0;

    errno = 0;
    if (!plain_number(s, 0, "kKmMgGtT")) {
        pg_cli_error("invalid value '%s' for %s: expected bytes, e.g. "
                     "500000, 64k, 10M or 2G", s, name);
        return -1;
    }
    v = strtoull(s, &end, 10);
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    else if (*end == 't' || *end == 'T')
        shift = 40;
    if (shift)
        end++;
    if (errno || end == s || *end || s[0] == '-' ||
        (shift && v > (~0ULL >> shift))) {
        pg_cli_error("invalid value '%s' for %s: expected bytes, e.g. "
                     "500000, 64k, 10M or 2G", s, name);
        return -1;
    }
    *out = (uint64_t)v << shift;
    return 0;
}
