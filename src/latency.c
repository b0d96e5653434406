/*
 * latency.c - see latency.h.
 */
#include <math.h>

#include "latency.h"

void pg__latency_add(struct pg__latency *h, double ms)
{
    double i = 0;

    if (ms > PG_LAT_MIN_MS)
        i = floor(log(ms / PG_LAT_MIN_MS) / log(PG_LAT_RATIO));
    if (!(i >= 0)) /* also NaN */
        i = 0;
    if (i > PG_LAT_BUCKETS - 1)
        i = PG_LAT_BUCKETS - 1;
    if (h->bucket[(unsigned)i] < UINT32_MAX) {
        h->bucket[(unsigned)i]++;
        h->n++;
    }
}

double pg__latency_percentile(const struct pg__latency *h, double p)
{
    uint64_t rank, seen = 0;
    unsigned i;

    if (h->n == 0 || !(p > 0))
        return 0;
    if (p > 100)
        p = 100;
    /* The smallest sample with at least p% of the samples at or below. */
    rank = (uint64_t)ceil((double)h->n * p / 100.0);
    if (rank < 1)
        rank = 1;
    for (i = 0; i < PG_LAT_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank)
            break;
    }
    if (i == PG_LAT_BUCKETS)
        i = PG_LAT_BUCKETS - 1;
    return PG_LAT_MIN_MS * pow(PG_LAT_RATIO, (double)i + 0.5);
}
