/*
 * url_name_fuzzer.c - libFuzzer target: URL -> file name.
 *
 * The input is taken as a URL (also appended to a fixed http prefix, so
 * the fuzzer reaches the path sanitiser quickly).  Every name produced,
 * by pg_name_from_url() or by a naming rule, must pass the same safety
 * check pg_result_save() applies; anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "pagegrab.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *url, unsigned flags,
                  const struct pg_namer *nm)
{
    char *name = NULL;

    if (pg_name_from_url(url, flags, &name) == PG_OK) {
        if (!name || pg__spool_check_name(name) != 0)
            abort();
        pg_free(name);
    }
    name = NULL;
    if (nm && pg_namer_name(nm, url, NULL, &name) == PG_OK) {
        if (!name || pg__spool_check_name(name) != 0)
            abort();
        pg_free(name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const rules[] = {
        "^https?://([^/]+)/(.*)$=$1/../$2/{basename}.{ext}",
    };
    static struct pg_namer *nm;
    static int init;
    char *buf;

    if (!init) {
        char err[256];

        curl_global_init(CURL_GLOBAL_DEFAULT);
        nm = pg_namer_new(rules, 1, 0, err, sizeof(err));
        init = 1;
    }
    if (size > 16384)
        return 0;
    buf = malloc(size + sizeof("http://h/"));
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    if (strlen(buf) == size) {
        check(buf, 0, nm);
        check(buf, PG_NAME_FLAT, NULL);
        memcpy(buf, "http://h/", 9);
        memcpy(buf + 9, data, size);
        buf[size + 9] = '\0';
        check(buf, 0, nm);
    }
    free(buf);
    return 0;
}
