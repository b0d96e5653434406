/*
 * tlscert.c - see tlscert.h.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlscert.h"

#define DAY (24L * 3600)

/* One certificate to make. */
struct spec {
    const char *name;     /* file stem */
    const char *cn;
    const char *san;      /* subjectAltName value, or NULL */
    long from, to;        /* validity, seconds from now */
    int ca;               /* a CA certificate */
    int self;             /* self-signed (else signed by the CA) */
};

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return 0;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate for key, signed by (issuer, issuer_key) or by itself. */
static X509 *make_cert(const struct spec *s, EVP_PKEY *key, X509 *issuer,
                       EVP_PKEY *issuer_key, long serial)
{
    X509 *x = X509_new();
    X509_NAME *name;
    int ok;

    if (!x)
        return NULL;
    if (!issuer) {
        issuer = x;
        issuer_key = key;
    }
    name = X509_get_subject_name(x);
    ok = X509_set_version(x, 2) &&
         ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
         X509_gmtime_adj(X509_getm_notBefore(x), s->from) &&
         X509_gmtime_adj(X509_getm_notAfter(x), s->to) &&
         X509_set_pubkey(x, key) &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                    (const unsigned char *)"pagegrab tests",
                                    -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)s->cn, -1, -1,
                                    0) &&
         X509_set_issuer_name(x, X509_get_subject_name(issuer)) &&
         add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
         add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (ok && s->ca)
        ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (ok && !s->ca)
        ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
    if (ok && s->san)
        ok = add_ext(x, issuer, NID_subject_alt_name, s->san);
    if (ok)
        ok = X509_sign(x, issuer_key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static void write_pem(struct pg_test *t, const char *dir, const char *name,
                      const char *ext, X509 *x, EVP_PKEY *key)
{
    char *path = pg_strdupf("%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        pg_test_fail(t, "cannot create '%s'", path);
    ok = x ? PEM_write_X509(f, x)
           : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0 || !ok)
        pg_test_fail(t, "cannot write '%s'", path);
    free(path);
}

void pg_tls_make_certs(struct pg_test *t, const char *dir)
{
    static const char here[] = "IP:127.0.0.1,DNS:localhost";
    static const struct spec ca = {"ca", "pagegrab test CA", NULL, -DAY,
                                   30 * DAY, 1, 0};
    static const struct spec leaves[] = {
        {"server", "localhost", here, -DAY, 30 * DAY, 0, 0},
        {"expired", "localhost", here, -10 * DAY, -DAY, 0, 0},
        {"wrongname", "wrong.invalid", "DNS:wrong.invalid", -DAY,
         30 * DAY, 0, 0},
        {"self", "localhost", here, -DAY, 30 * DAY, 0, 1},
    };
    EVP_PKEY *ca_key;
    X509 *ca_cert;
    size_t i;

    pg_mkdirs(t, dir);
    ca_key = EVP_EC_gen("P-256");
    ca_cert = ca_key ? make_cert(&ca, ca_key, NULL, NULL, 1) : NULL;
    if (!ca_cert)
        pg_test_fail(t, "cannot make the test CA");
    write_pem(t, dir, "ca", "pem", ca_cert, NULL);
    for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        const struct spec *s = &leaves[i];
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = key ? make_cert(s, key, s->self ? NULL : ca_cert,
                                  s->self ? NULL : ca_key, (long)i + 2)
                      : NULL;

        if (!x)
            pg_test_fail(t, "cannot make the test certificate '%s'",
                         s->name);
        write_pem(t, dir, s->name, "pem", x, NULL);
        write_pem(t, dir, s->name, "key", NULL, key);
        X509_free(x);
        EVP_PKEY_free(key);
    }
    X509_free(ca_cert);
    EVP_PKEY_free(ca_key);
}
