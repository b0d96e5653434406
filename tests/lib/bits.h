/*
 * bits.h - a little-endian bit writer for hand-made deflate streams (the
 * gzip bombs of the fault server and the parse-limit tests).
 *
 * The caller owns p and makes it large enough; len counts whole bytes
 * written, acc/nacc hold the bits of the byte not yet complete.  Not
 * thread-safe: one writer per stream.
 */
#ifndef PG_TEST_BITS_H
#define PG_TEST_BITS_H

#include <stddef.h>

struct pg_bits {
    unsigned char *p;
    size_t len;
    unsigned acc;
    unsigned nacc;
};

/* The low n bits of value, least significant first (deflate fields). */
void pg_bits_put(struct pg_bits *b, unsigned value, unsigned n);

/* An n-bit Huffman code, most significant bit first. */
void pg_bits_code(struct pg_bits *b, unsigned code, unsigned n);

#endif
