/*
 * latency.h - a fixed-size log-scale histogram of transfer times, for
 * percentiles over any number of transfers in constant memory.
 *
 * Bucket i holds times in [PG_LAT_MIN_MS * r^i, PG_LAT_MIN_MS * r^(i+1))
 * with r = 1.02, from 10 microseconds to about 8 hours; a percentile is
 * reported as the middle of its bucket, so it is within 1% of the true
 * sample.  Faster or slower times go to the first or last bucket.
 */
#ifndef PG_LATENCY_H
#define PG_LATENCY_H

#include <stdint.h>

#define PG_LAT_MIN_MS 0.01
#define PG_LAT_RATIO 1.02
#define PG_LAT_BUCKETS 1100

struct pg__latency {
    uint64_t n;
    uint32_t bucket[PG_LAT_BUCKETS];
};

void pg__latency_add(struct pg__latency *h, double ms);

/* The p-th percentile (0 < p <= 100) in ms; 0 when empty. */
double pg__latency_percentile(const struct pg__latency *h, double p);

#endif
