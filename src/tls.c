/*
 * tls.c - see tls.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "tls.h"
#include "util.h"

enum pg_code pg__tls_check_ca(const char *path, char *err, size_t len)
{
    char errtxt[128];
    struct stat st;
    X509 *cert;
    FILE *f;

    if (!path[0]) {
        snprintf(err, len, "empty CA certificate file name");
        return PG_E_INVALID;
    }
    f = fopen(path, "re");
    if (!f) {
        snprintf(err, len, "cannot read CA certificate file '%s': %s", path,
                 pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_INVALID;
    }
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, len, "CA certificate file '%s' is not a regular file",
                 path);
        fclose(f);
        return PG_E_INVALID;
    }
    /* The first certificate is enough: libcurl reads the rest itself. */
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!cert) {
        /* (Not left in this thread's queue for libcurl to find.) */
        ERR_clear_error();
        snprintf(err, len, "CA certificate file '%s' holds no PEM "
                 "certificate (\"-----BEGIN CERTIFICATE-----\")", path);
        return PG_E_INVALID;
    }
    X509_free(cert);
    return PG_OK;
}

const char *pg__tls_ca_mode(void)
{
    CURL *e = curl_easy_init();
    char *dir = NULL;
    int has_dir;

    if (!e)
        return "replaces";
    has_dir = curl_easy_getinfo(e, CURLINFO_CAPATH, &dir) == CURLE_OK &&
              dir && dir[0];
    curl_easy_cleanup(e);
    return has_dir ? "added to" : "replaces";
}

void pg__tls_setopt(CURL *e, const char *ca_file, const char *proxy_ca_file,
                    int no_verify)
{
    long on = no_verify ? 0L : 1L;

    /* The same rules for an https:// proxy as for the server. */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, on);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L * on);
    curl_easy_setopt(e, CURLOPT_PROXY_SSL_VERIFYPEER, on);
    curl_easy_setopt(e, CURLOPT_PROXY_SSL_VERIFYHOST, 2L * on);
    if (no_verify)
        return;
    /* Only the bundle file is replaced; CURLOPT_CAPATH keeps libcurl's
     * built-in directory (tls.h). */
    if (ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    if (proxy_ca_file)
        curl_easy_setopt(e, CURLOPT_PROXY_CAINFO, proxy_ca_file);
}

int pg__tls_permanent(CURLcode cc, const char *detail)
{
    /* OpenSSL's words for a handshake that can never succeed: an http
     * port behind an https URL, no common protocol version or cipher. */
    static const char *const hopeless[] = {
        "wrong version number", "unsupported protocol",
        "no protocols available", "protocol version", "handshake failure",
        "no shared cipher", "packet length too long",
    };
    size_t i;

    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return 1;
    case CURLE_SSL_CONNECT_ERROR:
        /* Also a reset in the middle of a handshake, which a retry may
         * get past: only the hopeless ones are final. */
        for (i = 0; detail && i < sizeof(hopeless) / sizeof(hopeless[0]);
             i++) {
            if (strstr(detail, hopeless[i]))
                return 1;
        }
        return 0;
    default:
        return 0;
    }
}

/* The cause of a refused certificate, from OpenSSL's verify result. */
static const char *verify_cause(long v, int *unknown_ca)
{
    *unknown_ca = 0;
    switch (v) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "not yet valid";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        *unknown_ca = 1;
        return "self-signed";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        *unknown_ca = 1;
        return "unknown CA";
    case X509_V_ERR_CERT_REVOKED:
        return "revoked";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return "name mismatch";
    }
    return NULL;
}

void pg__tls_describe(CURL *e, CURLcode cc, const char *detail, char *buf,
                      size_t len)
{
    const char *cause = NULL, *what;
    long v = 0;
    int unknown_ca = 0, proxy = 0;

    if (!detail || !detail[0])
        detail = curl_easy_strerror(cc);
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_ISSUER_ERROR) {
        /* An https:// proxy's certificate is checked first. */
        if (curl_easy_getinfo(e, CURLINFO_PROXY_SSL_VERIFYRESULT, &v) ==
                CURLE_OK && v != X509_V_OK)
            proxy = 1;
        else if (curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &v) !=
                 CURLE_OK)
            v = 0;
        cause = verify_cause(v, &unknown_ca);
        /* libcurl checks the name itself, after a chain that verified,
         * and then reports X509_V_ERR_UNSPECIFIED. */
        if (!cause && (strstr(detail, "subject name") ||
                       strstr(detail, "host name") ||
                       strstr(detail, "hostname")))
            cause = "name mismatch";
        if (!cause && v != X509_V_OK)
            cause = X509_verify_cert_error_string(v);
        what = proxy ? "TLS certificate of the proxy refused" :
               "TLS certificate refused";
    } else {
        what = cc == CURLE_SSL_CACERT_BADFILE ? "CA certificates unusable" :
               "TLS handshake failed";
    }
    snprintf(buf, len, "%s%s%s%s: %s%s; not retried", what,
             cause ? " (" : "", cause ? cause : "", cause ? ")" : "",
             detail, !unknown_ca ? "" : proxy ? " (trust its CA with "
             "--proxy-ca-certificate FILE)" : " (trust its CA with "
             "--ca-certificate FILE)");
}
