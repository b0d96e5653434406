/*
 * fetch.h - one worker's libcurl transfer engine.
 *
 * A struct pg__fetcher owns one CURL easy handle, reused for every URL
 * the worker fetches so connections are kept alive.  It belongs to one
 * thread (thread mode) or to one worker process; it is never created in
 * a process that will fork afterwards.  pg__fetch() cannot fail: every
 * outcome is recorded in the item.
 *
 * Only http and https are allowed, also after a redirect; compressed
 * encodings are accepted; the body is streamed into a spool file in the
 * output directory and deleted again unless the transfer succeeded.  Its
 * SHA-256 is computed on the way.  An item flagged PG_ITEM_PARSE whose
 * body is HTML is parsed here, in the worker, and its links kept in the
 * item.
 */
#ifndef PG_FETCH_H
#define PG_FETCH_H

#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include <openssl/evp.h>

#include "extract.h"
#include "item.h"
#include "log.h"

/* Settings shared read-only by every fetcher of a job. */
struct pg__fetch_config {
    long connect_timeout_ms;
    long timeout_ms;
    long stall_s;
    long max_redirs;
    const char *user_agent;
    struct curl_slist *headers;  /* owned by the job */
    int outdir_fd;
    const struct pg__logger *log;
    const struct pg__extract_config *extract; /* NULL: never parse */
    uint64_t max_size;            /* body bytes, 0 = no limit */
    int hash;                     /* compute the SHA-256 of bodies */
    int sync;                     /* fsync each body before it is kept */
    atomic_int *abort_flag;       /* non-zero: abort transfers now */
};

/* An error page (non-2xx) is never kept; no more than this is read. */
#define PG_ERROR_BODY_MAX (1u << 20)

/* Response headers larger than this (all lines) stop the transfer. */
#define PG_HEADER_MAX (256u * 1024)

/* Pages larger than this are saved but not parsed. */
#define PG_PARSE_MAX (32u << 20)
/* Bytes kept from the start of a body to sniff HTML. */
#define PG_SNIFF 512

struct pg__fetcher {
    CURL *easy;
    const struct pg__fetch_config *cfg;
    unsigned worker;     /* index, for spool names and logs */
    uint64_t seq;        /* spool name counter */
    char errbuf[CURL_ERROR_SIZE];
    EVP_MD_CTX *md;                /* SHA-256 of the body */
    struct pg__extractor *x;       /* created on first use */
    int x_failed;

    /* Per transfer. */
    int fd;
    int discard;         /* non-2xx response: body not kept */
    uint64_t discarded;  /* bytes of it read */
    uint64_t bytes;
    int write_errno;
    char sniff[PG_SNIFF];
    size_t sniff_len;
    size_t header_bytes;
    int too_large;        /* body or headers over the limit */
    int blocked;          /* refused a private address */
    long retry_after_ms;  /* of the last response, or -1 */
    struct pg__item *it;  /* the item being fetched */
};

/* 1 if ip (text) is loopback, private, link-local or unspecified. */
int pg__ip_is_private(const char *ip);

/* Create the easy handle.  PG_E_NOMEM. */
enum pg_code pg__fetcher_init(struct pg__fetcher *f,
                              const struct pg__fetch_config *cfg,
                              unsigned worker) PG_WARN_UNUSED;

void pg__fetcher_release(struct pg__fetcher *f);

/* Fetch it->url into a spool file; fills the result part of it. */
void pg__fetch(struct pg__fetcher *f, struct pg__item *it);

#endif
