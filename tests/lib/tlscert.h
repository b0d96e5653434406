/*
 * tlscert.h - certificates for the HTTPS tests, made at test time with
 * libcrypto (no fixed key or date in the tree, nothing to expire).
 *
 * pg_tls_make_certs(t, dir) writes into dir (created if needed), every
 * key an EC P-256 key in PKCS#8 PEM, every certificate PEM:
 *
 *   ca.pem                   a test CA ("pagegrab test CA"), valid from
 *                            yesterday for 30 days
 *   server.pem / server.key  signed by it, for IP 127.0.0.1 and DNS
 *                            localhost, valid from yesterday for 30 days
 *   expired.pem / .key       the same names, signed by the CA, but valid
 *                            only from 10 days ago until yesterday
 *   wrongname.pem / .key     signed by the CA, valid, for the name
 *                            wrong.invalid only
 *   self.pem / self.key      self-signed (its own issuer, not a CA), for
 *                            127.0.0.1 and localhost
 *
 * It fails the test on any error.
 */
#ifndef PG_TEST_TLSCERT_H
#define PG_TEST_TLSCERT_H

#include "testlib.h"

void pg_tls_make_certs(struct pg_test *t, const char *dir);

#endif
