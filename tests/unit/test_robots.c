/*
 * test_robots.c - unit tests for the robots.txt module (src/robots.c).
 *
 * Most tests are tables: a robots.txt body, a product token and the
 * expected verdict for some paths.  A failing row is reported with
 * UT_EXPECT and the test fails at its end, so one run shows every bad
 * row.  The examples come from RFC 9309 and from Google's robots.txt
 * documentation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "robots.h"
#include "unit.h"

struct check {
    const char *path;
    int allowed;
};

#define MAX_CHECKS 16

struct verdict_case {
    const char *what;
    const char *body;
    const char *agent;
    struct check checks[MAX_CHECKS]; /* ends at a NULL path */
};

/* Run the checks of n cases; returns the number of failed rows. */
static int run_cases(const struct verdict_case *cases, size_t n)
{
    size_t i, j;
    int bad = 0;

    for (i = 0; i < n; i++) {
        const struct verdict_case *c = &cases[i];
        struct pg__robots *r;

        r = pg__robots_parse(c->body, strlen(c->body), c->agent);
        assert_non_null(r);
        for (j = 0; j < MAX_CHECKS && c->checks[j].path; j++) {
            const struct check *k = &c->checks[j];
            int got = pg__robots_allowed(r, k->path);

            UT_EXPECT(bad, got == k->allowed,
                      "%s: agent '%s' path '%s': got %s, want %s", c->what,
                      c->agent ? c->agent : "(null)", k->path,
                      got ? "allowed" : "disallowed",
                      k->allowed ? "allowed" : "disallowed");
        }
        pg__robots_free(r);
    }
    return bad;
}

/* Parse len bytes of body for agent and return the verdict for path. */
static int verdict(const char *body, size_t len, const char *agent,
                   const char *path)
{
    struct pg__robots *r = pg__robots_parse(body, len, agent);
    int ok;

    assert_non_null(r);
    ok = pg__robots_allowed(r, path);
    pg__robots_free(r);
    return ok;
}

/* ---- RFC 9309 section 5 ------------------------------------------------ */

/* Section 5.1, with the "EOF" line of the RFC text left in. */
static const char rfc_simple[] =
    "User-Agent: *\n"
    "Disallow: *.gif$\n"
    "Disallow: /example/\n"
    "Allow: /publications/\n"
    "\n"
    "User-Agent: foobot\n"
    "Disallow:/\n"
    "Allow:/example/page.html\n"
    "Allow:/example/allowed.gif\n"
    "\n"
    "User-Agent: barbot\n"
    "User-Agent: bazbot\n"
    "Disallow: /example/page.html\n"
    "\n"
    "User-Agent: quxbot\n"
    "\n"
    "EOF\n";

static const struct verdict_case rfc_cases[] = {
    { "rfc 5.1 *", rfc_simple, "otherbot", {
        { "/", 1 }, { "/x.gif", 0 }, { "/a/b/x.gif", 0 },
        { "/x.gif?a=1", 1 }, { "/x.gifs", 1 }, { "/example/", 0 },
        { "/example/page.html", 0 }, { "/example", 1 },
        { "/publications/", 1 }, { "/publications/a.gif", 1 },
        { "/other.html", 1 }, { NULL, 0 } } },
    { "rfc 5.1 foobot", rfc_simple, "foobot", {
        { "/", 0 }, { "/x.html", 0 }, { "/example/page.html", 1 },
        { "/example/allowed.gif", 1 }, { "/example/other.html", 0 },
        { "/publications/", 0 }, { NULL, 0 } } },
    { "rfc 5.1 FooBot/2.1", rfc_simple, "FooBot/2.1", {
        { "/", 0 }, { "/example/page.html", 1 }, { NULL, 0 } } },
    { "rfc 5.1 barbot", rfc_simple, "barbot", {
        { "/example/page.html", 0 }, { "/example/page.html5", 0 },
        { "/example/", 1 }, { "/x.gif", 1 }, { "/", 1 }, { NULL, 0 } } },
    { "rfc 5.1 bazbot", rfc_simple, "bazbot", {
        { "/example/page.html", 0 }, { "/example/", 1 }, { NULL, 0 } } },
    { "rfc 5.1 quxbot", rfc_simple, "quxbot", {
        { "/", 1 }, { "/x.gif", 1 }, { "/example/page.html", 1 },
        { NULL, 0 } } },
    { "rfc 5.2 longest match",
      "User-Agent: foobot\n"
      "Allow: /example/page/\n"
      "Disallow: /example/page/disallowed.gif\n", "foobot", {
        { "/example/page/disallowed.gif", 0 },
        { "/example/page/disallowed.gif?x", 0 },
        { "/example/page/other.gif", 1 }, { "/example/page/", 1 },
        { NULL, 0 } } },
    { "rfc 2.2.1 merged groups",
      "user-agent: ExampleBot\n"
      "disallow: /foo\n"
      "disallow: /bar\n"
      "\n"
      "user-agent: ExampleBot\n"
      "disallow: /baz\n", "ExampleBot", {
        { "/foo", 0 }, { "/bar", 0 }, { "/baz", 0 }, { "/qux", 1 },
        { NULL, 0 } } },
    { "rfc 2.2.1 no match but *",
      "user-agent: *\n"
      "disallow: /foo\n"
      "disallow: /bar\n"
      "\n"
      "user-agent: BazBot\n"
      "disallow: /baz\n", "ExampleBot", {
        { "/foo", 0 }, { "/bar", 0 }, { "/baz", 1 }, { NULL, 0 } } },
    { "rfc 2.2.1 no match, no *",
      "user-agent: BazBot\n"
      "disallow: /\n", "ExampleBot", {
        { "/", 1 }, { "/baz", 1 }, { NULL, 0 } } },
};

static void test_rfc_examples(void **state)
{
    assert_int_equal(run_cases(rfc_cases, PG_ARRAY_SIZE(rfc_cases)), 0);
}

/* ---- Longest match, ties --------------------------------------------- */

static const struct verdict_case longest_cases[] = {
    { "allow longer than disallow",
      "User-agent: *\nAllow: /p\nDisallow: /\n", "pagegrab", {
        { "/page", 1 }, { "/p", 1 }, { "/", 0 }, { "/q", 0 },
        { NULL, 0 } } },
    { "disallow longer than allow",
      "User-agent: *\nAllow: /\nDisallow: /cgi-bin\n", "pagegrab", {
        { "/cgi-bin/x", 0 }, { "/cgi", 1 }, { "/", 1 }, { NULL, 0 } } },
    { "tie: allow wins (allow first)",
      "User-agent: *\nAllow: /folder\nDisallow: /folder\n", "pagegrab", {
        { "/folder/page", 1 }, { "/folder", 1 }, { NULL, 0 } } },
    { "tie: allow wins (disallow first)",
      "User-agent: *\nDisallow: /folder\nAllow: /folder\n", "pagegrab", {
        { "/folder/page", 1 }, { NULL, 0 } } },
    { "tie between different patterns",
      "User-agent: *\nDisallow: /ab\nAllow: /a*\n", "pagegrab", {
        { "/abc", 1 }, { NULL, 0 } } },
    { "wildcard pattern counts its length",
      "User-agent: *\nAllow: /page\nDisallow: /*.htm\n", "pagegrab", {
        { "/page.htm", 0 }, { "/page", 1 }, { NULL, 0 } } },
    { "$ counts in the length",
      "User-agent: *\nAllow: /$\nDisallow: /\n", "pagegrab", {
        { "/", 1 }, { "/page.htm", 0 }, { NULL, 0 } } },
    { "tie after normalisation: allow wins",
      "User-agent: *\nDisallow: /~foo\nAllow: /%7Efoo\n", "pagegrab", {
        { "/~foo", 1 }, { "/%7efoo/x", 1 }, { NULL, 0 } } },
    { "more specific disallow inside allow",
      "User-agent: *\nAllow: /a/\nDisallow: /a/b/\nAllow: /a/b/c/\n",
      "pagegrab", {
        { "/a/x", 1 }, { "/a/b/x", 0 }, { "/a/b/c/x", 1 },
        { NULL, 0 } } },
    { "duplicates are harmless",
      "User-agent: *\nDisallow: /x\nDisallow: /x\nAllow: /x/y\n"
      "Allow: /x/y\n", "pagegrab", {
        { "/x", 0 }, { "/x/y", 1 }, { NULL, 0 } } },
};

static void test_longest_match(void **state)
{
    assert_int_equal(run_cases(longest_cases,
                               PG_ARRAY_SIZE(longest_cases)), 0);
}

/* ---- Patterns: '*', '$', percent-encoding ------------------------------ */

struct pattern_case {
    const char *pattern;
    const char *path;
    int matches;
};

static const struct pattern_case pattern_cases[] = {
    /* Google's documentation of path matching. */
    { "/fish", "/fish", 1 },
    { "/fish", "/fish.html", 1 },
    { "/fish", "/fish/salmon.html", 1 },
    { "/fish", "/fishheads", 1 },
    { "/fish", "/fish.php?id=anything", 1 },
    { "/fish", "/Fish.asp", 0 },
    { "/fish", "/catfish", 0 },
    { "/fish", "/?id=fish", 0 },
    { "/fish", "/desert/fish", 0 },
    { "/fish*", "/fish", 1 },
    { "/fish*", "/fishheads/yummy.html", 1 },
    { "/fish*", "/catfish", 0 },
    { "/fish/", "/fish/", 1 },
    { "/fish/", "/fish/?id=anything", 1 },
    { "/fish/", "/fish/salmon.htm", 1 },
    { "/fish/", "/fish", 0 },
    { "/fish/", "/fish.html", 0 },
    { "/fish/", "/animals/fish/", 0 },
    { "/*.php", "/index.php", 1 },
    { "/*.php", "/folder/filename.php?parameters", 1 },
    { "/*.php", "/folder/any.php.file.html", 1 },
    { "/*.php", "/filename.php/", 1 },
    { "/*.php", "/", 0 },
    { "/*.php", "/windows.PHP", 0 },
    { "/*.php$", "/filename.php", 1 },
    { "/*.php$", "/folder/filename.php", 1 },
    { "/*.php$", "/filename.php?parameters", 0 },
    { "/*.php$", "/filename.php/", 0 },
    { "/*.php$", "/filename.php5", 0 },
    { "/*.php$", "/windows.PHP", 0 },
    { "/fish*.php", "/fish.php", 1 },
    { "/fish*.php", "/fishheads/catfish.php?parameters", 1 },
    { "/fish*.php", "/Fish.PHP", 0 },
    { "/", "/", 1 },
    { "/", "/anything?q", 1 },
    { "/*", "/anything", 1 },
    { "/$", "/", 1 },
    { "/$", "/page", 0 },
    /* A pattern may start with '*' (RFC 9309 section 5.1). */
    { "*.gif$", "/x.gif", 1 },
    { "*.gif$", "/x.gifs", 0 },
    { "*", "/", 1 },
    /* Runs of '*', '*' before '$'. */
    { "/a**b", "/ab", 1 },
    { "/a**b", "/axxbyy", 1 },
    { "/a**b", "/ba", 0 },
    { "/a*$", "/a", 1 },
    { "/a*$", "/abc", 1 },
    { "/a*b$", "/ab", 1 },
    { "/a*b$", "/aXb", 1 },
    { "/a*b$", "/abab", 1 },
    { "/a*b$", "/aba", 0 },
    { "/a*b$", "/abba", 0 },
    { "/a*b*c", "/abc", 1 },
    { "/a*b*c", "/acb", 0 },
    { "/a*b*c", "/a-b-b-c-", 1 },
    /* Pieces that overlap themselves (the KMP failure links). */
    { "/*aab", "/aaab", 1 },
    { "/*abab$", "/abaabab", 1 },
    { "/*aab$", "/aabaab", 1 },
    { "/*aab$", "/aaba", 0 },
    { "/*abcabd", "/abcabcabd", 1 },
    { "/*abcabd$", "/abcabcabdx", 0 },
    { "/*aabaaaa", "/aabaaabaaaa", 1 },
    { "/*aabaaaa$", "/aabaaabaaaax", 0 },
    { "/*a*", "/b", 0 },
    { "/*a*", "/xa", 1 },
    /* '$' before the end is a plain character. */
    { "/a$b", "/a$b", 1 },
    { "/a$b", "/a%24b", 1 },
    { "/a$b", "/a", 0 },
    { "/a$", "/a$", 0 },
    /* RFC 9309 section 2.2.3: %2A and %24 match a literal '*' or '$'. */
    { "/path/file-with-a-%2A.html", "/path/file-with-a-*.html", 1 },
    { "/path/file-with-a-%2a.html", "/path/file-with-a-%2A.html", 1 },
    { "/path/file-with-a-%2A.html", "/path/file-with-a-x.html", 0 },
    { "/path/foo-%24", "/path/foo-$", 1 },
    /* Percent-encoding normalised on both sides (RFC 9309 2.2.2). */
    { "/%7efoo", "/~foo", 1 },
    { "/~foo", "/%7Efoo", 1 },
    { "/%7Efoo", "/%7efoo", 1 },
    { "/foo/bar/%62%61%7A", "/foo/bar/baz", 1 },
    { "/foo/bar/baz", "/foo/bar/%62%61%7a", 1 },
    { "/foo/bar/%E3%83%84", "/foo/bar/%e3%83%84", 1 },
    { "/foo/bar/\xE3\x83\x84", "/foo/bar/%E3%83%84", 1 },
    { "/foo/bar/%e3%83%84", "/foo/bar/\xE3\x83\x84", 1 },
    { "/foo/bar?baz=https%3A%2F%2Ffoo.bar",
      "/foo/bar?baz=https%3a%2f%2ffoo.bar", 1 },
    { "/foo/bar?baz=https%3A%2F%2Ffoo.bar", "/foo/bar?baz=https://foo.bar",
      0 },
    { "/a%2Fb", "/a/b", 0 },
    { "/a/b", "/a%2Fb", 0 },
    { "/%41", "/A", 1 },
    { "/%41", "/a", 0 },
    { "/a b", "/a%20b", 1 },
    { "/a%20b", "/a b", 1 },
    { "/100%", "/100%25", 1 },
    { "/100%", "/100%", 1 },
    { "/%zz", "/%25zz", 1 },
    { "/a%2", "/a%252", 1 },
    /* Matching is case-sensitive and starts at the first octet. */
    { "/Private", "/private", 0 },
    { "/private", "/x/private", 0 },
    /* Patterns that can never match are ignored. */
    { "private", "/private", 0 },
    { "$", "/", 0 },
};

static void test_patterns(void **state)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(pattern_cases); i++) {
        const struct pattern_case *c = &pattern_cases[i];
        char body[256];
        int got;

        snprintf(body, sizeof(body), "User-agent: *\nDisallow: %s\n",
                 c->pattern);
        got = !verdict(body, strlen(body), "pagegrab", c->path);
        UT_EXPECT(bad, got == c->matches,
                  "pattern '%s' path '%s': %s, want %s", c->pattern,
                  c->path, got ? "matches" : "does not match",
                  c->matches ? "a match" : "none");
    }
    assert_int_equal(bad, 0);
}

/*
 * The reference semantics, by plain recursion (exponential, so only for
 * short strings): does pattern p, with '*' and a final '$', match a
 * prefix of s?
 */
static int ref_match(const char *p, const char *s)
{
    if (*p == '\0')
        return 1;
    if (p[0] == '$' && p[1] == '\0')
        return *s == '\0';
    if (*p == '*')
        return ref_match(p + 1, s) || (*s && ref_match(p, s + 1));
    return *s == *p && ref_match(p + 1, s + 1);
}

/* A small deterministic generator (the libc one is banned). */
static uint32_t next_rand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/*
 * Random short patterns and paths over a tiny alphabet, so that pieces
 * overlap themselves a lot: the KMP matcher must agree with ref_match.
 */
static void test_matcher_vs_reference(void **state)
{
    static const char pat_alpha[] = "aaabbb*";
    uint32_t seed = 42;
    int i, bad = 0;

    for (i = 0; i < 50000 && bad < 10; i++) {
        char pat[16], path[24], body[64];
        size_t pn = next_rand(&seed) % 12, sn = next_rand(&seed) % 20, k;
        int want, got;

        pat[0] = '/';
        for (k = 1; k <= pn; k++)
            pat[k] = pat_alpha[next_rand(&seed) % 7];
        if (next_rand(&seed) % 3 == 0)
            pat[k++] = '$';
        pat[k] = '\0';
        path[0] = '/';
        for (k = 1; k <= sn; k++)
            path[k] = "ab"[next_rand(&seed) % 2];
        path[k] = '\0';
        snprintf(body, sizeof(body), "User-agent: *\nDisallow: %s\n", pat);
        want = ref_match(pat, path);
        got = !verdict(body, strlen(body), "pagegrab", path);
        UT_EXPECT(bad, got == want, "pattern '%s' path '%s': got %d, want %d",
                  pat, path, got, want);
    }
    assert_int_equal(bad, 0);
}

/* ---- Groups ------------------------------------------------------------ */

static const struct verdict_case group_cases[] = {
    { "specific group over *",
      "User-agent: *\nDisallow: /\n\nUser-agent: pagegrab\n"
      "Disallow: /private\n", "pagegrab", {
        { "/", 1 }, { "/private", 0 }, { NULL, 0 } } },
    { "others get *",
      "User-agent: *\nDisallow: /\n\nUser-agent: pagegrab\n"
      "Disallow: /private\n", "otherbot", {
        { "/", 0 }, { "/x", 0 }, { NULL, 0 } } },
    { "case-insensitive user-agent",
      "User-agent: PageGrab\nDisallow: /x\n", "pagegrab", {
        { "/x", 0 }, { NULL, 0 } } },
    { "case-insensitive agent with version",
      "User-agent: pagegrab\nDisallow: /x\n", "PAGEGRAB/1.0", {
        { "/x", 0 }, { "/y", 1 }, { NULL, 0 } } },
    { "version in the user-agent line",
      "User-agent: pagegrab/2.0\nDisallow: /x\n", "pagegrab", {
        { "/x", 0 }, { NULL, 0 } } },
    { "agent with leading blanks and comment",
      "User-agent: pagegrab  # our bot\nDisallow: /x\n", " pagegrab/1", {
        { "/x", 0 }, { NULL, 0 } } },
    { "no substring match",
      "User-agent: pagegrabber\nDisallow: /\nUser-agent: page\n"
      "Disallow: /\n", "pagegrab", {
        { "/", 1 }, { "/x", 1 }, { NULL, 0 } } },
    { "merged duplicate groups",
      "User-agent: pagegrab\nDisallow: /a\n\nUser-agent: other\n"
      "Disallow: /b\n\nUser-agent: pagegrab\nDisallow: /c\n", "pagegrab", {
        { "/a", 0 }, { "/b", 1 }, { "/c", 0 }, { "/d", 1 }, { NULL, 0 } } },
    { "merged * groups",
      "User-agent: *\nDisallow: /a\n\nUser-agent: other\nDisallow: /b\n\n"
      "User-agent: *\nDisallow: /c\n", "pagegrab", {
        { "/a", 0 }, { "/b", 1 }, { "/c", 0 }, { NULL, 0 } } },
    { "consecutive user-agent lines share rules",
      "User-agent: x\nUser-agent: pagegrab\nUser-agent: y\nDisallow: /a\n",
      "pagegrab", {
        { "/a", 0 }, { NULL, 0 } } },
    { "empty lines do not end the user-agent lines",
      "User-agent: x\n\n\nUser-agent: pagegrab\n\nDisallow: /a\n",
      "pagegrab", {
        { "/a", 0 }, { NULL, 0 } } },
    { "a user-agent line after a rule starts a new group",
      "User-agent: pagegrab\nDisallow: /a\nUser-agent: x\nDisallow: /b\n",
      "pagegrab", {
        { "/a", 0 }, { "/b", 1 }, { NULL, 0 } } },
    { "a group for both * and the agent",
      "User-agent: *\nUser-agent: pagegrab\nDisallow: /a\n"
      "User-agent: *\nDisallow: /b\n", "pagegrab", {
        { "/a", 0 }, { "/b", 1 }, { NULL, 0 } } },
    { "... and for others",
      "User-agent: *\nUser-agent: pagegrab\nDisallow: /a\n"
      "User-agent: *\nDisallow: /b\n", "otherbot", {
        { "/a", 0 }, { "/b", 0 }, { NULL, 0 } } },
    { "an empty specific group allows everything",
      "User-agent: *\nDisallow: /\n\nUser-agent: pagegrab\n", "pagegrab", {
        { "/", 1 }, { "/x", 1 }, { NULL, 0 } } },
    { "empty Disallow allows everything",
      "User-agent: pagegrab\nDisallow:\n\nUser-agent: *\nDisallow: /\n",
      "pagegrab", {
        { "/", 1 }, { "/x", 1 }, { NULL, 0 } } },
    { "empty Disallow in *",
      "User-agent: *\nDisallow:\n", "pagegrab", {
        { "/", 1 }, { NULL, 0 } } },
    { "rules before any user-agent are ignored",
      "Disallow: /\nAllow: /a\nCrawl-delay: 9\nUser-agent: *\n"
      "Disallow: /b\n", "pagegrab", {
        { "/", 1 }, { "/a", 1 }, { "/b", 0 }, { NULL, 0 } } },
    { "Crawl-delay ends the user-agent lines",
      "User-agent: *\nCrawl-delay: 5\n\nUser-agent: badbot\n"
      "Disallow: /\n", "pagegrab", {
        { "/", 1 }, { NULL, 0 } } },
    { "Sitemap ends the user-agent lines",
      "User-agent: *\nSitemap: https://example.com/s.xml\n"
      "User-agent: badbot\nDisallow: /\n", "pagegrab", {
        { "/", 1 }, { NULL, 0 } } },
    { "Sitemap does not end a group's rules",
      "User-agent: *\nDisallow: /a\nSitemap: https://example.com/s.xml\n"
      "Disallow: /b\n", "pagegrab", {
        { "/a", 0 }, { "/b", 0 }, { "/c", 1 }, { NULL, 0 } } },
    { "unknown keys are ignored",
      "Foo: bar\nUser-agent: *\nNoindex: /x\nHost: example.com\n"
      "Disallow: /y\n", "pagegrab", {
        { "/x", 1 }, { "/y", 0 }, { NULL, 0 } } },
    { "'* text' is still *",
      "User-agent: * everyone\nDisallow: /x\n", "pagegrab", {
        { "/x", 0 }, { NULL, 0 } } },
    { "'*bot' is not *",
      "User-agent: *bot\nDisallow: /x\n", "pagegrab", {
        { "/x", 1 }, { NULL, 0 } } },
    { "NULL agent: * only",
      "User-agent: *\nDisallow: /a\nUser-agent: pagegrab\nDisallow: /b\n",
      NULL, {
        { "/a", 0 }, { "/b", 1 }, { NULL, 0 } } },
    { "empty agent: * only",
      "User-agent: *\nDisallow: /a\nUser-agent: pagegrab\nDisallow: /b\n",
      "", {
        { "/a", 0 }, { "/b", 1 }, { NULL, 0 } } },
    { "an empty user-agent value matches nobody",
      "User-agent:\nDisallow: /a\n", "pagegrab", {
        { "/a", 1 }, { NULL, 0 } } },
    { "no groups at all",
      "# nothing here\n\n", "pagegrab", {
        { "/", 1 }, { "/a", 1 }, { NULL, 0 } } },
};

static void test_groups(void **state)
{
    assert_int_equal(run_cases(group_cases, PG_ARRAY_SIZE(group_cases)),
                     0);
}

/* ---- Syntax ------------------------------------------------------------ */

static const struct verdict_case syntax_cases[] = {
    { "BOM", "\xEF\xBB\xBFUser-agent: *\nDisallow: /x\n", "pagegrab", {
        { "/x", 0 }, { "/y", 1 }, { NULL, 0 } } },
    { "CRLF", "User-agent: *\r\nDisallow: /x\r\nDisallow: /y\r\n",
      "pagegrab", {
        { "/x", 0 }, { "/y", 0 }, { "/z", 1 }, { NULL, 0 } } },
    { "CR", "User-agent: *\rDisallow: /x\rDisallow: /y\r", "pagegrab", {
        { "/x", 0 }, { "/y", 0 }, { "/z", 1 }, { NULL, 0 } } },
    { "mixed endings, no final newline",
      "User-agent: *\r\n\rDisallow: /x\n\r\nDisallow: /y", "pagegrab", {
        { "/x", 0 }, { "/y", 0 }, { "/z", 1 }, { NULL, 0 } } },
    { "blanks around keys and values",
      "  User-agent :  *  \n\t Disallow :\t/x \t\n\vAllow\f:/x/y\n",
      "pagegrab", {
        { "/x", 0 }, { "/x/y", 1 }, { NULL, 0 } } },
    { "case-insensitive keys",
      "USER-AGENT: *\nDISALLOW: /x\nallow: /x/y\n", "pagegrab", {
        { "/x", 0 }, { "/x/y", 1 }, { NULL, 0 } } },
    { "misspelt keys",
      "useragent: *\nDissallow: /a\nDisalow: /b\nUser agent: x\n",
      "pagegrab", {
        { "/a", 0 }, { "/b", 0 }, { NULL, 0 } } },
    { "comments",
      "# Disallow: /a\nUser-agent: * # hi\n# Disallow: /x\n"
      "Disallow: /y # /z\nDisallow: /w#x\n", "pagegrab", {
        { "/a", 1 }, { "/x", 1 }, { "/y", 0 }, { "/z", 1 }, { "/wx", 0 },
        { NULL, 0 } } },
    { "no colon: two words",
      "User-agent pagegrab\nDisallow /x\n", "pagegrab", {
        { "/x", 0 }, { "/y", 1 }, { NULL, 0 } } },
    { "no colon: more words or one word",
      "User-agent: *\nDisallow /x /y\nDisallow\nDisallow/z\n", "pagegrab", {
        { "/x", 1 }, { "/y", 1 }, { "/z", 1 }, { NULL, 0 } } },
    { "empty key",
      "User-agent: *\n: /x\n", "pagegrab", {
        { "/x", 1 }, { NULL, 0 } } },
    { "colon in the value",
      "User-agent: *\nDisallow: /a:b\n", "pagegrab", {
        { "/a:b", 0 }, { "/a", 1 }, { NULL, 0 } } },
    { "empty path counts as /",
      "User-agent: *\nDisallow: /$\n", "pagegrab", {
        { "", 0 }, { "/", 0 }, { "/a", 1 }, { NULL, 0 } } },
};

static void test_syntax(void **state)
{
    assert_int_equal(run_cases(syntax_cases, PG_ARRAY_SIZE(syntax_cases)),
                     0);
}

static void test_nul_bytes(void **state)
{
    static const char body[] =
        "User-agent: *\nDisallow: /a\0b\nDis\0allow: /c\n"
        "Disallow: /d\n\0\0\nDisallow: /e\n";
    struct pg__robots *r;

    r = pg__robots_parse(body, sizeof(body) - 1, "pagegrab");
    assert_non_null(r);
    /* The NUL is an ordinary octet: "/a%00b" is the pattern. */
    assert_int_equal(pg__robots_allowed(r, "/a"), 1);
    assert_int_equal(pg__robots_allowed(r, "/ab"), 1);
    assert_int_equal(pg__robots_allowed(r, "/a%00b"), 0);
    /* A NUL in the key makes it unknown. */
    assert_int_equal(pg__robots_allowed(r, "/c"), 1);
    /* Parsing goes on after NULs. */
    assert_int_equal(pg__robots_allowed(r, "/d"), 0);
    assert_int_equal(pg__robots_allowed(r, "/e"), 0);
    pg__robots_free(r);
}

/* ---- /robots.txt, allow_all, disallow_all ------------------------------ */

static void test_robots_txt_always_allowed(void **state)
{
    static const char body[] =
        "User-agent: *\nDisallow: /\nDisallow: /robots.txt\n";
    static const struct check checks[] = {
        { "/robots.txt", 1 }, { "/robots%2Etxt", 1 }, { "/%72obots.txt", 1 },
        { "/robots.txt?x=1", 0 }, { "/robots.txtx", 0 },
        { "/Robots.txt", 0 }, { "/a/robots.txt", 0 }, { "/", 0 },
    };
    struct pg__robots *r[2];
    size_t i, j;
    int bad = 0;

    r[0] = pg__robots_parse(body, sizeof(body) - 1, "pagegrab");
    r[1] = pg__robots_disallow_all();
    assert_non_null(r[0]);
    assert_non_null(r[1]);
    for (i = 0; i < 2; i++) {
        for (j = 0; j < PG_ARRAY_SIZE(checks); j++) {
            int got = pg__robots_allowed(r[i], checks[j].path);

            UT_EXPECT(bad, got == checks[j].allowed, "%s: '%s': got %d",
                      i ? "disallow_all" : "parsed", checks[j].path, got);
        }
        pg__robots_free(r[i]);
    }
    assert_int_equal(bad, 0);
}

static void test_allow_all_disallow_all(void **state)
{
    static const char *const paths[] = {
        "/", "/a", "/a/b?c=d", "/%7E", "/robots", "",
    };
    struct pg__robots *a = pg__robots_allow_all();
    struct pg__robots *d = pg__robots_disallow_all();
    size_t i;

    assert_non_null(a);
    assert_non_null(d);
    for (i = 0; i < PG_ARRAY_SIZE(paths); i++) {
        assert_int_equal(pg__robots_allowed(a, paths[i]), 1);
        assert_int_equal(pg__robots_allowed(d, paths[i]), 0);
    }
    assert_int_equal(pg__robots_allowed(a, "/robots.txt"), 1);
    assert_int_equal(pg__robots_allowed(d, "/robots.txt"), 1);
    assert_int_equal(pg__robots_crawl_delay_ms(a), 0);
    assert_int_equal(pg__robots_crawl_delay_ms(d), 0);
    pg__robots_free(a);
    pg__robots_free(d);
    pg__robots_free(NULL);
}

/* ---- Crawl-delay ------------------------------------------------------- */

struct delay_case {
    const char *body;
    const char *agent;
    long ms;
};

static const struct delay_case delay_cases[] = {
    { "User-agent: *\nCrawl-delay: 10\n", "pagegrab", 10000 },
    { "User-agent: *\nCrawl-delay: 0.5\n", "pagegrab", 500 },
    { "User-agent: *\nCrawl-delay: .25\n", "pagegrab", 250 },
    { "User-agent: *\nCrawl-delay: 1.2345\n", "pagegrab", 1234 },
    { "User-agent: *\nCrawl-delay: 3.\n", "pagegrab", 3000 },
    { "User-agent: *\nCrawl-delay: 0\n", "pagegrab", 0 },
    { "User-agent: *\nCRAWL-DELAY : 2 # slow\n", "pagegrab", 2000 },
    { "User-agent: *\nCrawldelay: 4\n", "pagegrab", 4000 },
    { "User-agent: *\nCrawl-delay: 86399\n", "pagegrab", 86399000 },
    { "User-agent: *\nCrawl-delay: 86400\n", "pagegrab",
      PG_ROBOTS_DELAY_MAX_MS },
    { "User-agent: *\nCrawl-delay: 99999999999999999999999\n", "pagegrab",
      PG_ROBOTS_DELAY_MAX_MS },
    /* Malformed values are ignored. */
    { "User-agent: *\nCrawl-delay: abc\n", "pagegrab", 0 },
    { "User-agent: *\nCrawl-delay: -1\n", "pagegrab", 0 },
    { "User-agent: *\nCrawl-delay: 10s\n", "pagegrab", 0 },
    { "User-agent: *\nCrawl-delay: 1 2\n", "pagegrab", 0 },
    { "User-agent: *\nCrawl-delay: .\n", "pagegrab", 0 },
    { "User-agent: *\nCrawl-delay:\n", "pagegrab", 0 },
    /* The chosen group's value. */
    { "User-agent: *\nCrawl-delay: 1\n\nUser-agent: pagegrab\n"
      "Crawl-delay: 3\n", "pagegrab", 3000 },
    { "User-agent: *\nCrawl-delay: 1\n\nUser-agent: pagegrab\n"
      "Crawl-delay: 3\n", "otherbot", 1000 },
    { "User-agent: *\nCrawl-delay: 1\n\nUser-agent: pagegrab\n"
      "Disallow: /x\n", "pagegrab", 0 },
    /* The largest of merged groups. */
    { "User-agent: pagegrab\nCrawl-delay: 2\nUser-agent: x\n"
      "Crawl-delay: 9\nUser-agent: pagegrab\nCrawl-delay: 5\n"
      "User-agent: pagegrab\nCrawl-delay: 4\n", "pagegrab", 5000 },
    /* Outside any group. */
    { "Crawl-delay: 7\nUser-agent: *\n", "pagegrab", 0 },
};

static void test_crawl_delay(void **state)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(delay_cases); i++) {
        const struct delay_case *c = &delay_cases[i];
        struct pg__robots *r;
        long got;

        r = pg__robots_parse(c->body, strlen(c->body), c->agent);
        assert_non_null(r);
        got = pg__robots_crawl_delay_ms(r);
        UT_EXPECT(bad, got == c->ms, "case %zu (agent %s): got %ld, want %ld",
                  i, c->agent, got, c->ms);
        pg__robots_free(r);
    }
    assert_int_equal(bad, 0);
}

/* ---- Limits ------------------------------------------------------------ */

/*
 * A body of exactly `size` bytes: head, then comment lines as filler,
 * then tail, so that tail ends at byte `size`.  Free with free().
 */
static char *padded_body(const char *head, const char *tail, size_t size)
{
    size_t hn = strlen(head), tn = strlen(tail), i;
    char *b = malloc(size);

    assert_non_null(b);
    assert_true(hn + tn + 2 <= size);
    memcpy(b, head, hn);
    memset(b + hn, '#', size - hn - tn);
    /* A newline every 100 bytes keeps the filler in comment lines. */
    for (i = hn + 99; i < size - tn; i += 100)
        b[i] = '\n';
    b[size - tn - 1] = '\n';
    memcpy(b + size - tn, tail, tn);
    return b;
}

static void test_size_cap(void **state)
{
    static const char head[] = "User-agent: *\n";
    static const char tail[] = "Disallow: /in\nDisallow: /out\n";
    const size_t cap = PG_ROBOTS_MAX_BYTES;
    char *b;

    /* Everything within the cap counts. */
    b = padded_body(head, tail, cap);
    assert_int_equal(verdict(b, cap, "pagegrab", "/in"), 0);
    assert_int_equal(verdict(b, cap, "pagegrab", "/out"), 0);
    free(b);

    /* "Disallow: /in\n" ends with byte `cap`: it counts, /out does not. */
    b = padded_body(head, tail, cap + 15);
    assert_int_equal(b[cap - 1], '\n');
    assert_int_equal(verdict(b, cap + 15, "pagegrab", "/in"), 0);
    assert_int_equal(verdict(b, cap + 15, "pagegrab", "/out"), 1);
    free(b);

    /* Its line end is the first byte past the cap: the line is whole. */
    b = padded_body(head, tail, cap + 16);
    assert_int_equal(b[cap], '\n');
    assert_int_equal(verdict(b, cap + 16, "pagegrab", "/in"), 0);
    assert_int_equal(verdict(b, cap + 16, "pagegrab", "/out"), 1);
    free(b);

    /*
     * A line that the cap cuts in two is dropped: read as "Allow: /ab"
     * it would allow /abc; read whole, it would allow /ab.
     */
    b = padded_body("User-agent: *\nDisallow: /\n", "Allow: /ab$\n",
                    cap + 2);
    assert_int_equal(memcmp(b + cap - 10, "Allow: /ab", 10), 0);
    assert_int_equal(verdict(b, cap + 2, "pagegrab", "/abc"), 0);
    assert_int_equal(verdict(b, cap + 2, "pagegrab", "/ab"), 0);
    free(b);
    b = padded_body("User-agent: *\nDisallow: /\n", "Allow: /ab$\n", cap);
    assert_int_equal(verdict(b, cap, "pagegrab", "/abc"), 0);
    assert_int_equal(verdict(b, cap, "pagegrab", "/ab"), 1);
    free(b);

    /* A last line that runs past the cap is not read in part. */
    b = malloc(cap + 100);
    assert_non_null(b);
    memset(b, 'x', cap + 100);
    memcpy(b, "User-agent: *\rDisallow: /x #", 29);
    assert_int_equal(verdict(b, cap + 100, "pagegrab", "/xx"), 1);
    assert_int_equal(verdict(b, 100, "pagegrab", "/xx"), 0);
    free(b);
}

static void test_rule_count_cap(void **state)
{
    size_t size = (PG_ROBOTS_MAX_RULES + 16) * 24, len = 0;
    char *b = malloc(size);
    struct pg__robots *r;
    int i;

    assert_non_null(b);
    len += (size_t)snprintf(b + len, size - len, "User-agent: *\n");
    for (i = 0; i < PG_ROBOTS_MAX_RULES; i++)
        len += (size_t)snprintf(b + len, size - len, "Disallow: /a%d\n", i);
    len += (size_t)snprintf(b + len, size - len, "Disallow: /b\n");
    assert_true(len < size);
    r = pg__robots_parse(b, len, "pagegrab");
    assert_non_null(r);
    assert_int_equal(pg__robots_allowed(r, "/a0"), 0);
    assert_int_equal(pg__robots_allowed(r, "/a9999"), 0);
    assert_int_equal(pg__robots_allowed(r, "/b"), 1);
    assert_int_equal(pg__robots_allowed(r, "/c"), 1);
    pg__robots_free(r);
    free(b);
}

static void test_rule_length_cap(void **state)
{
    size_t max = PG_ROBOTS_RULE_MAX, n;
    char *body = malloc(max * 3 + 64), *path = malloc(max * 3 + 2);

    assert_non_null(body);
    assert_non_null(path);
    /* A pattern of exactly PG_ROBOTS_RULE_MAX bytes is kept... */
    memset(path, 'x', max);
    path[0] = '/';
    path[max] = '\0';
    n = (size_t)snprintf(body, max + 64, "User-agent: *\nDisallow: %s\n",
                         path);
    assert_int_equal(verdict(body, n, "pagegrab", path), 0);
    /* ...one byte more and it is dropped. */
    path[max] = 'x';
    path[max + 1] = '\0';
    n = (size_t)snprintf(body, max + 64, "User-agent: *\nDisallow: %s\n",
                         path);
    assert_int_equal(verdict(body, n, "pagegrab", path), 1);
    /* The limit is on the normalised form: 8-bit bytes count 3 times. */
    memset(path, 0xff, max / 3 + 2);
    path[0] = '/';
    path[max / 3 + 2] = '\0';
    n = (size_t)snprintf(body, max + 64, "User-agent: *\nDisallow: %s\n",
                         path);
    assert_int_equal(verdict(body, n, "pagegrab", path), 1);
    path[max / 3 + 1] = '\0';
    n = (size_t)snprintf(body, max + 64, "User-agent: *\nDisallow: %s\n",
                         path);
    assert_int_equal(verdict(body, n, "pagegrab", path), 0);
    free(body);
    free(path);
}

/* ---- Pathological patterns ----------------------------------------------- */

static void test_pathological(void **state)
{
    const size_t n = 8192;
    char *path = malloc(n + 1), *body = malloc(3 * n + 64);
    struct pg__robots *r;
    int i;

    assert_non_null(path);
    assert_non_null(body);
    memset(path, 'a', n);
    path[0] = '/';
    path[n] = '\0';

    /* Exponential for a naive backtracking matcher. */
    snprintf(body, 3 * n + 64, "User-agent: *\nDisallow: %s\n",
             "/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
    assert_int_equal(verdict(body, strlen(body), "pagegrab", path), 1);
    path[n - 1] = 'b';
    assert_int_equal(verdict(body, strlen(body), "pagegrab", path), 0);
    path[n - 1] = 'a';

    /* Quadratic for the two-pointer matcher: a long piece after '*'. */
    memcpy(body, "User-agent: *\nDisallow: /*", 26);
    memset(body + 26, 'a', 4000);
    memcpy(body + 26 + 4000, "b\n", 3);
    assert_int_equal(verdict(body, strlen(body), "pagegrab", path), 1);
    path[n - 1] = 'b';
    assert_int_equal(verdict(body, strlen(body), "pagegrab", path), 0);
    path[n - 1] = 'a';
    /* The same, anchored. */
    memcpy(body + 26 + 4000, "a$\n", 4);
    assert_int_equal(verdict(body, strlen(body), "pagegrab", path), 0);

    /* Many wildcard rules, none matching, against the long path. */
    snprintf(body, 3 * n + 64, "User-agent: *\n");
    for (i = 0; i < 200; i++) {
        size_t len = strlen(body);

        snprintf(body + len, 3 * n + 64 - len, "Disallow: /*a*a*a*%d\n",
                 i);
    }
    r = pg__robots_parse(body, strlen(body), "pagegrab");
    assert_non_null(r);
    assert_int_equal(pg__robots_allowed(r, path), 1);
    assert_int_equal(pg__robots_allowed(r, "/xaaa7"), 0);
    pg__robots_free(r);
    free(path);
    free(body);
}

/* ---- Garbage ------------------------------------------------------------ */

static void test_garbage(void **state)
{
    static const char *const bodies[] = {
        "", "\n", "\r\r\n\n\r", "\xEF\xBB\xBF", "\xEF\xBB", ":", "::::",
        "#", "User-agent", "User-agent:", "Disallow", "Disallow:",
        "User-agent: *\nDisallow: %", "User-agent: *\nDisallow: *",
        "User-agent: *\nDisallow: $", "User-agent: *\nDisallow: /%%%",
        "User-agent: *\nDisallow: /****$$$$", "\xff\xfe\x00\x01",
        "User-agent: *\nAllow: \xff\nDisallow: /\x80",
    };
    static const char alphabet[] = "\0\r\n\t :#*$%/aAuU-?=\xEF\xBB\xBF\xff";
    static const char *const paths[] = {
        "/", "", "/a", "/%", "/%G0", "/\xff", "/*$", "/robots.txt",
    };
    char buf[512];
    uint32_t seed = 12345;
    size_t i, j, k;

    for (i = 0; i < PG_ARRAY_SIZE(bodies); i++) {
        struct pg__robots *r;

        r = pg__robots_parse(bodies[i], strlen(bodies[i]), "pagegrab");
        assert_non_null(r);
        for (j = 0; j < PG_ARRAY_SIZE(paths); j++) {
            int ok = pg__robots_allowed(r, paths[j]);

            assert_true(ok == 0 || ok == 1);
        }
        assert_true(pg__robots_crawl_delay_ms(r) >= 0);
        pg__robots_free(r);
    }
    /* Bodies without a usable rule allow everything. */
    assert_int_equal(verdict("\xff\xfe\x00\x01", 4, "pagegrab", "/"), 1);
    assert_int_equal(verdict("::::", 4, "pagegrab", "/"), 1);
    assert_int_equal(verdict(NULL, 0, "pagegrab", "/"), 1);
    /* "Disallow: *" is kept; "$" alone never matches. */
    assert_int_equal(verdict(bodies[13], strlen(bodies[13]), "x", "/q"), 0);
    assert_int_equal(verdict(bodies[14], strlen(bodies[14]), "x", "/"), 1);

    /* Random bodies from a robots.txt-ish alphabet, as in the fuzzer. */
    for (i = 0; i < 2000; i++) {
        size_t len = next_rand(&seed) % sizeof(buf);
        struct pg__robots *r;

        for (k = 0; k < len; k++)
            buf[k] = alphabet[next_rand(&seed) % (sizeof(alphabet) - 1)];
        r = pg__robots_parse(buf, len, "pagegrab");
        assert_non_null(r);
        for (j = 0; j < PG_ARRAY_SIZE(paths); j++) {
            int ok = pg__robots_allowed(r, paths[j]);

            assert_true(ok == 0 || ok == 1);
        }
        /* /robots.txt stays allowed whatever the rules. */
        assert_int_equal(pg__robots_allowed(r, "/robots.txt"), 1);
        pg__robots_free(r);
    }
}

/* ---- Out of memory ------------------------------------------------------ */

static void test_nomem(void **state)
{
    static const char body[] =
        "User-agent: *\nDisallow: /a\n\nUser-agent: pagegrab\n"
        "Disallow: /*x*y$\nAllow: /b\nCrawl-delay: 2\n";
    unsigned long n;
    int nulls = 0;

    for (n = 1; n < 1000; n++) {
        struct pg__robots *r;

        pg__mem_fail_at(n);
        r = pg__robots_parse(body, sizeof(body) - 1, "pagegrab");
        pg__mem_fail_at(0);
        if (!r) {
            nulls++;
            continue;
        }
        /* The first allocation that did not fail: a complete result. */
        assert_int_equal(pg__robots_allowed(r, "/a"), 1);
        assert_int_equal(pg__robots_allowed(r, "/zxzy"), 0);
        assert_int_equal(pg__robots_allowed(r, "/zxzyz"), 1);
        assert_int_equal(pg__robots_crawl_delay_ms(r), 2000);
        pg__robots_free(r);
        break;
    }
    assert_true(nulls > 0);
    assert_true(n < 1000);

    pg__mem_fail_at(1);
    assert_null(pg__robots_allow_all());
    pg__mem_fail_at(1);
    assert_null(pg__robots_disallow_all());
    pg__mem_fail_at(0);
}

/* ---- Threads ------------------------------------------------------------ */

struct thread_arg {
    const struct pg__robots *r;
    int bad;
};

static void *reader(void *p)
{
    struct thread_arg *a = p;
    int i;

    for (i = 0; i < 2000; i++) {
        if (pg__robots_allowed(a->r, "/private/x") != 0 ||
            pg__robots_allowed(a->r, "/private/ok.html") != 1 ||
            pg__robots_allowed(a->r, "/public") != 1 ||
            pg__robots_crawl_delay_ms(a->r) != 1500)
            a->bad++;
    }
    return NULL;
}

static void test_shared_between_threads(void **state)
{
    static const char body[] =
        "User-agent: pagegrab\nDisallow: /private/\n"
        "Allow: /private/*.html$\nCrawl-delay: 1.5\n";
    struct pg__robots *r;
    struct thread_arg args[4];
    pthread_t t[4];
    size_t i;

    r = pg__robots_parse(body, sizeof(body) - 1, "pagegrab");
    assert_non_null(r);
    for (i = 0; i < PG_ARRAY_SIZE(t); i++) {
        args[i].r = r;
        args[i].bad = 0;
        assert_int_equal(pthread_create(&t[i], NULL, reader, &args[i]), 0);
    }
    for (i = 0; i < PG_ARRAY_SIZE(t); i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(args[i].bad, 0);
    }
    pg__robots_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_longest_match),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_matcher_vs_reference),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_robots_txt_always_allowed),
        cmocka_unit_test(test_allow_all_disallow_all),
        cmocka_unit_test(test_crawl_delay),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_rule_count_cap),
        cmocka_unit_test(test_rule_length_cap),
        cmocka_unit_test(test_pathological),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_nomem),
        cmocka_unit_test(test_shared_between_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
