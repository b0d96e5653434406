/*
 * test_tls.c - which TLS failures are final (pg__tls_permanent), the
 * cause their message names (pg__tls_describe) and the checks of a
 * --ca-certificate file (pg__tls_check_ca), in src/tls.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tls.h"

static void test_permanent(void **state)
{
    static const CURLcode final[] = {
        CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE,
        CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR,
        CURLE_SSL_CRL_BADFILE, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
        CURLE_SSL_CLIENTCERT,
    };
    static const CURLcode transient[] = {
        CURLE_OK, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT,
        CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING,
        CURLE_PARTIAL_FILE,
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(final) / sizeof(final[0]); i++)
        assert_int_equal(pg__tls_permanent(final[i], ""), 1);
    for (i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        assert_int_equal(pg__tls_permanent(transient[i], ""), 0);
    /* A handshake error: final only when OpenSSL says it is hopeless. */
    assert_int_equal(pg__tls_permanent(CURLE_SSL_CONNECT_ERROR,
                     "OpenSSL/3.0: error:0A00010B:SSL routines::wrong "
                     "version number"), 1);
    assert_int_equal(pg__tls_permanent(CURLE_SSL_CONNECT_ERROR,
                     "OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection "
                     "to 127.0.0.1:443"), 0);
    assert_int_equal(pg__tls_permanent(CURLE_SSL_CONNECT_ERROR, NULL), 0);
}

static void test_describe(void **state)
{
    CURL *e = curl_easy_init();
    char msg[256];

    (void)state;
    assert_non_null(e);
    /* A fresh handle has verify result 0: the cause comes from the
     * text libcurl gives for its own host name check. */
    pg__tls_describe(e, CURLE_PEER_FAILED_VERIFICATION,
                     "SSL: no alternative certificate subject name matches "
                     "target host name 'a.example'", msg, sizeof(msg));
    assert_non_null(strstr(msg, "TLS certificate refused (name mismatch)"));
    assert_non_null(strstr(msg, "'a.example'"));
    assert_non_null(strstr(msg, "not retried"));
    pg__tls_describe(e, CURLE_SSL_CONNECT_ERROR, "", msg, sizeof(msg));
    assert_non_null(strstr(msg, "TLS handshake failed: "));
    /* Cut to the buffer, always terminated. */
    pg__tls_describe(e, CURLE_SSL_CACERT_BADFILE, "x", msg, 10);
    assert_int_equal(strlen(msg), 9);
    curl_easy_cleanup(e);
}

static void test_check_ca(void **state)
{
    char dir[] = "/tmp/pg-test-tls-XXXXXX";
    char path[64], err[PG_ERRBUF_SIZE];
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/none.pem", dir);
    assert_int_equal(pg__tls_check_ca(path, err, sizeof(err)),
                     PG_E_INVALID);
    assert_non_null(strstr(err, path));
    assert_int_equal(pg__tls_check_ca(dir, err, sizeof(err)), PG_E_INVALID);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(pg__tls_check_ca("", err, sizeof(err)), PG_E_INVALID);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 !\n"
          "-----END CERTIFICATE-----\n", f);
    fclose(f);
    assert_int_equal(pg__tls_check_ca(path, err, sizeof(err)),
                     PG_E_INVALID);
    assert_non_null(strstr(err, "holds no PEM certificate"));
    unlink(path);
    rmdir(dir);
    /* The system bundle, where there is one, is a valid CA file. */
    if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0)
        assert_int_equal(pg__tls_check_ca(
            "/etc/ssl/certs/ca-certificates.crt", err, sizeof(err)), PG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permanent),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_check_ca),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
