/*
 * tls.h - HTTPS trust for the transfers: the check of a --ca-certificate
 * file before a job starts, the TLS options of an easy handle, and the
 * TLS failures that no retry can fix, with a message that names their
 * cause (expired, not yet valid, self-signed, unknown CA, name mismatch).
 *
 * Trust: libcurl (OpenSSL) verifies against its CA bundle file
 * (CURLOPT_CAINFO) and its CA directory (CURLOPT_CAPATH).  A
 * --ca-certificate FILE replaces the bundle file only; the directory
 * stays.  On Debian and Ubuntu that directory, /etc/ssl/certs, holds
 * the whole system store (hashed links), so FILE is *added* to the
 * system store there; with a libcurl built without a CA directory it
 * replaces the system bundle.  pg__tls_ca_mode() says which.
 *
 * It is not the rest of the easy handle (fetch_opts.c) nor the retry
 * decision (job.c), which only looks at PG_ITEM_PERMANENT.
 */
#ifndef PG_TLS_H
#define PG_TLS_H

#include <stddef.h>

#include <curl/curl.h>

#include "pagegrab.h"

/*
 * PG_OK if path is a regular, readable file with at least one PEM
 * certificate; else PG_E_INVALID and a message naming path in err, or
 * PG_E_NOMEM.
 */
enum pg_code pg__tls_check_ca(const char *path, char *err, size_t len)
    PG_WARN_UNUSED;

/* "added to" or "replaces": what a CA file does to the system store with
 * the libcurl in use (its built-in CA directory, if any). */
const char *pg__tls_ca_mode(void);

/*
 * The TLS options of a handle: ca_file (NULL: the system store only) and
 * no_verify (no certificate or host name check at all).
 */
void pg__tls_setopt(CURL *e, const char *ca_file, const char *proxy_ca_file,
                    int no_verify);

/*
 * 1 if a transfer that ended with cc (detail: libcurl's error text, may
 * be "") failed for a TLS reason no retry can fix: the certificate or
 * host name was refused, a local CA or certificate file is bad, no
 * cipher or protocol version is shared, or the server speaks no TLS.
 */
int pg__tls_permanent(CURLcode cc, const char *detail);

/*
 * The message of such a failure on handle e, naming the cause (from
 * CURLINFO_SSL_VERIFYRESULT and libcurl's detail) and what to do about
 * an unknown CA.
 */
void pg__tls_describe(CURL *e, CURLcode cc, const char *detail, char *buf,
                      size_t len);

#endif
