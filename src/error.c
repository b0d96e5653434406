/*
 * error.c - names of result codes and statuses.
 */
#include <curl/curl.h>

#include "pagegrab.h"

const char *pg_strerror(enum pg_code code)
{
    switch (code) {
    case PG_OK: return "no error";
    case PG_E_NOMEM: return "out of memory";
    case PG_E_INVALID: return "invalid argument";
    case PG_E_URL: return "malformed URL";
    case PG_E_SCHEME: return "unsupported URL scheme";
    case PG_E_NETWORK: return "network error";
    case PG_E_HTTP: return "HTTP error";
    case PG_E_REDIRECT: return "redirect error";
    case PG_E_LIMIT: return "limit exceeded";
    case PG_E_PARSE: return "malformed data";
    case PG_E_IO: return "file system error";
    case PG_E_EXISTS: return "file exists";
    case PG_E_INTERRUPTED: return "interrupted";
    case PG_E_WORKER: return "worker failed";
    case PG_E_FATAL: return "fatal error";
    }
    return "unknown error";
}

static const char *const status_names[PG_ST__COUNT] = {
    [PG_ST_OK] = "ok",
    [PG_ST_EXISTS] = "exists",
    [PG_ST_HTTP_ERROR] = "http-error",
    [PG_ST_NETWORK_ERROR] = "network-error",
    [PG_ST_REDIRECT_ERROR] = "redirect-error",
    [PG_ST_INVALID_URL] = "invalid-url",
    [PG_ST_SAVE_ERROR] = "save-error",
    [PG_ST_FILTERED] = "filtered",
    [PG_ST_ROBOTS] = "robots",
    [PG_ST_LISTED] = "listed",
    [PG_ST_TOO_LARGE] = "too-large",
    [PG_ST_SKIPPED] = "skipped",
    [PG_ST_INTERRUPTED] = "interrupted",
    [PG_ST_WORKER_CRASH] = "worker-crash",
    [PG_ST_TYPE_MISMATCH] = "type-mismatch",
    [PG_ST_BLOCKED] = "blocked",
    [PG_ST_OTHER_SHARD] = "other-shard",
    [PG_ST_UNCHANGED] = "unchanged",
    [PG_ST_CHANGED] = "changed",
    [PG_ST_GONE] = "gone",
};

const char *pg_status_name(enum pg_status st)
{
    if ((unsigned)st >= PG_ST__COUNT)
        return "unknown";
    return status_names[st];
}

int pg_status_is_success(enum pg_status st)
{
    return st == PG_ST_OK || st == PG_ST_EXISTS || st == PG_ST_FILTERED ||
           st == PG_ST_ROBOTS || st == PG_ST_LISTED ||
           st == PG_ST_OTHER_SHARD || st == PG_ST_UNCHANGED ||
           st == PG_ST_CHANGED || st == PG_ST_GONE;
}

const char *pg_kind_name(enum pg_kind kind)
{
    switch (kind) {
    case PG_KIND_FILE: return "file";
    case PG_KIND_PAGE: return "page";
    case PG_KIND_IMAGE: return "image";
    case PG_KIND_CSS: return "css";
    }
    return "unknown";
}

const char *pg_version(void)
{
    return PG_VERSION;
}

const char *pg_version_details(void)
{
    return curl_version();
}
