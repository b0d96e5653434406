/*
 * bits.c - see bits.h.
 */
#include "bits.h"

void pg_bits_put(struct pg_bits *b, unsigned value, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        b->acc |= ((value >> i) & 1u) << b->nacc;
        if (++b->nacc == 8) {
            b->p[b->len++] = (unsigned char)b->acc;
            b->acc = 0;
            b->nacc = 0;
        }
    }
}

void pg_bits_code(struct pg_bits *b, unsigned code, unsigned n)
{
    for (unsigned i = n; i-- > 0;)
        pg_bits_put(b, (code >> i) & 1u, 1);
}
