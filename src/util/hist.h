/*
 * hist.h — a fixed-bucket histogram that any thread may update and any thread may read, for the
 * Prometheus exposition (obs/prom.h). Observations are integers in the histogram's base unit
 * (nanoseconds for latencies, items for sizes); `scale` turns them into the exposed unit
 * (1e-9 for seconds). Counts and the sum are relaxed atomics: a reader may see an observation in
 * a bucket a moment before it sees it in the sum, which Prometheus tolerates.
 *
 * Memory: caller-owned (embed it); bounds are borrowed and must outlive the histogram.
 */
#ifndef WR_UTIL_HIST_H
#define WR_UTIL_HIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define WR_HIST_MAX_BOUNDS 24

typedef struct wr_hist {
    const uint64_t *bounds;                              /* ascending upper bounds, in base units */
    size_t n_bounds;                                     /* <= WR_HIST_MAX_BOUNDS */
    double scale;                                        /* exposed value = base units * scale */
    atomic_uint_fast64_t counts[WR_HIST_MAX_BOUNDS + 1]; /* last: above every bound (+Inf) */
    atomic_uint_fast64_t sum;
} wr_hist;

void wr_hist_init(wr_hist *h, const uint64_t *bounds, size_t n_bounds, double scale);
void wr_hist_observe(wr_hist *h, uint64_t v);

/* Latency bounds in ns: 100 µs … 10 s. */
extern const uint64_t wr_hist_latency_ns[];
extern const size_t wr_hist_latency_n;
/* Size bounds: 1, 2, 4, … 1024. */
extern const uint64_t wr_hist_pow2[];
extern const size_t wr_hist_pow2_n;

#endif
