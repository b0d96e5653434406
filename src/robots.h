/*
 * robots.h - robots.txt rules for one host and one user agent (RFC 9309).
 *
 * pg__robots_parse() reads an untrusted robots.txt body and keeps only
 * the rules that apply to one product token: those of every group whose
 * user-agent line names the token (case-insensitively), or, when no
 * group names it, those of every "*" group.  pg__robots_allowed() then
 * answers whether a path may be fetched.
 *
 * Parsing (RFC 9309 section 2, with the leniency of Google's parser):
 *  - only the first PG_ROBOTS_MAX_BYTES bytes are read; when the body is
 *    longer, the line that the cap cuts in two is dropped as well (so a
 *    caller that reads the file should pass up to PG_ROBOTS_MAX_BYTES + 1
 *    bytes: with exactly the cap, a cut cannot be seen);
 *  - a UTF-8 BOM is skipped; lines end at CR, LF or CRLF; '#' starts a
 *    comment; space and tab around keys and values are ignored; keys are
 *    case-insensitive; a line without ':' is read as "key value" when it
 *    has exactly two words, and is ignored otherwise;
 *  - a group is one or more user-agent lines followed by other lines;
 *    the user-agent line after any non-user-agent record (a rule,
 *    Crawl-delay, Sitemap or an unknown key) starts a new group; empty
 *    and comment lines do not end a group;
 *  - a user-agent value is compared by its product token: the text
 *    before the first '/' or blank, so "pagegrab/1.0" means "pagegrab";
 *  - rules before the first user-agent line, empty rules ("Disallow:"),
 *    and patterns that start with neither '/' nor '*' are ignored; so
 *    are Sitemap lines, unknown keys and unparseable lines;
 *  - at most PG_ROBOTS_MAX_RULES rules are kept (the first ones); a rule
 *    longer than PG_ROBOTS_RULE_MAX bytes once normalised is dropped.
 *
 * Matching (RFC 9309 section 2.2.2/2.2.3):
 *  - a pattern matches from the first octet of the path; '*' matches any
 *    run of octets; a '$' at the very end anchors the pattern at the end
 *    of the path (a '$' anywhere else is an ordinary character);
 *  - the matching rule with the longest pattern wins; on a tie, Allow
 *    wins; no matching rule means allowed; "/robots.txt" is always
 *    allowed;
 *  - patterns and paths are compared in one normal form: %XX of an
 *    unreserved character (ALPHA DIGIT - . _ ~) is decoded, other %XX
 *    get upper-case hex digits, and octets that may not appear literally
 *    in a URI (controls, space, non-ASCII, ...) are %-encoded.  A literal
 *    '*' or '$' in the path equals %2A or %24 in a pattern (RFC 9309
 *    section 2.2.3);
 *  - each rule is matched in O(pattern + path) time and no memory: the
 *    literal pieces between '*'s are found with Knuth-Morris-Pratt tables
 *    built at parse time, so no pattern can make matching backtrack.
 *    A query is O(total pattern bytes + rules * path) at worst: about
 *    0.2 s for PG_ROBOTS_MAX_RULES wildcard rules that each scan an
 *    8 KiB path; real files take a few microseconds.
 *
 * Thread-safety: a struct pg__robots is immutable once returned; any
 * number of threads may call pg__robots_allowed() and
 * pg__robots_crawl_delay_ms() on it at the same time.  Freeing it must
 * not race with those calls.  There is no global state.
 */
#ifndef PG_ROBOTS_H
#define PG_ROBOTS_H

#include <stddef.h>

/* Bytes of a robots.txt body that are read (RFC 9309 section 2.5). */
#define PG_ROBOTS_MAX_BYTES (500 * 1024)
/* Rules kept for the chosen group(s); later rules are ignored. */
#define PG_ROBOTS_MAX_RULES 10000
/* Longest normalised pattern kept, in bytes (as a URL, PG_URL_MAX). */
#define PG_ROBOTS_RULE_MAX 8192
/* Crawl-delay values are capped at one day. */
#define PG_ROBOTS_DELAY_MAX_MS (24L * 60 * 60 * 1000)

/* Parsed rules for one host, for one user agent (opaque). */
struct pg__robots;

/*
 * Parse len bytes of a robots.txt body (any bytes, NULs included; body
 * may be NULL when len is 0) for the product token in agent, e.g.
 * "pagegrab" or "pagegrab/1.0" (the part before '/' is used; NULL or ""
 * selects the "*" groups only).  Inputs are borrowed.  Never fails on
 * malformed input.  Returns a new object to free with pg__robots_free(),
 * or NULL on out of memory.  Any thread.
 */
struct pg__robots *pg__robots_parse(const char *body, size_t len,
                                    const char *agent);

/*
 * Rules that allow everything (for a robots.txt answered with 4xx,
 * RFC 9309 section 2.3.1.3) and that disallow everything but
 * /robots.txt (for 5xx or an unreachable robots.txt, section 2.3.1.4).
 * NULL on out of memory.
 */
struct pg__robots *pg__robots_allow_all(void);
struct pg__robots *pg__robots_disallow_all(void);

/*
 * 1 if path may be fetched, else 0.  path is the percent-encoded path of
 * an http(s) URL plus an optional "?query", starting with '/' ("" counts
 * as "/"); it is borrowed and only read.  r must not be NULL.  Does not
 * allocate and cannot fail.
 */
int pg__robots_allowed(const struct pg__robots *r, const char *path);

/*
 * The Crawl-delay of the chosen group(s) in milliseconds (the largest
 * one if several apply, fractions of a second kept to the millisecond,
 * capped at PG_ROBOTS_DELAY_MAX_MS), 0 if none.  Crawl-delay is not part
 * of RFC 9309; malformed values are ignored.
 */
long pg__robots_crawl_delay_ms(const struct pg__robots *r);

/* Free r; NULL is a no-op. */
void pg__robots_free(struct pg__robots *r);

#endif
