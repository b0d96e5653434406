/*
 * robots_fuzzer.c - libFuzzer target for the robots.txt parser and
 * matcher (src/robots.c).
 *
 * The input is parsed as a robots.txt body twice: for the product token
 * "pagegrab" and for no token ("*" groups only).  Each result is queried
 * with fixed paths and with paths cut from the input itself, so that
 * patterns and paths share bytes.  Checked invariants: every verdict is
 * 0 or 1, /robots.txt is always allowed, the crawl-delay is in range.
 * A broken invariant aborts; ASan reports leaks.
 *
 * Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       tests/fuzz/robots_fuzzer.c src/robots.c src/buf.c src/mem.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "robots.h"

/* The longest path cut from the input. */
#define PATH_MAX_LEN 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed_paths[] = {
    "/", "", "/robots.txt", "/a", "/index.html", "/a/b/c.gif?x=1",
    "/%7Euser/", "/~user/", "/%E3%83%84", "/*$", "/a%2Fb", "/%",
};

static void check(const struct pg__robots *r, const char *path)
{
    int ok = pg__robots_allowed(r, path);

    if (ok != 0 && ok != 1)
        abort();
}

/* Query r with the fixed paths and with pieces of the input. */
static void query(const struct pg__robots *r, const uint8_t *data,
                  size_t size)
{
    char path[PATH_MAX_LEN + 2];
    size_t i, n, start;
    long delay;

    for (i = 0; i < sizeof(fixed_paths) / sizeof(fixed_paths[0]); i++)
        check(r, fixed_paths[i]);
    if (pg__robots_allowed(r, "/robots.txt") != 1)
        abort();
    delay = pg__robots_crawl_delay_ms(r);
    if (delay < 0 || delay > PG_ROBOTS_DELAY_MAX_MS)
        abort();

    /* Every '/' in the input starts a path up to the next line end. */
    for (start = 0; start < size; start++) {
        if (data[start] != '/')
            continue;
        n = 0;
        for (i = start; i < size && n < PATH_MAX_LEN; i++) {
            if (data[i] == '\n' || data[i] == '\r' || data[i] == '\0')
                break;
            path[n++] = (char)data[i];
        }
        path[n] = '\0';
        check(r, path);
        start = i;
    }

    /* The tail of the input as one path, NULs dropped. */
    path[0] = '/';
    n = 1;
    i = size > PATH_MAX_LEN ? size - PATH_MAX_LEN : 0;
    for (; i < size; i++) {
        if (data[i] != '\0')
            path[n++] = (char)data[i];
    }
    path[n] = '\0';
    check(r, path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const agents[] = { "pagegrab", NULL };
    size_t i;

    for (i = 0; i < sizeof(agents) / sizeof(agents[0]); i++) {
        struct pg__robots *r;

        r = pg__robots_parse((const char *)data, size, agents[i]);
        if (!r)
            abort(); /* out of memory cannot happen here */
        query(r, data, size);
        pg__robots_free(r);
    }
    return 0;
}
