/*
 * hist.c — fixed-bucket histograms (see hist.h).
 */
#include "util/hist.h"

#include <string.h>

const uint64_t wr_hist_latency_ns[] = {
    100000ull,     250000ull,     500000ull,     1000000ull,     2500000ull,   5000000ull,
    10000000ull,   25000000ull,   50000000ull,   100000000ull,   250000000ull, 500000000ull,
    1000000000ull, 2500000000ull, 5000000000ull, 10000000000ull,
};
const size_t wr_hist_latency_n = sizeof(wr_hist_latency_ns) / sizeof(wr_hist_latency_ns[0]);

const uint64_t wr_hist_pow2[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
const size_t wr_hist_pow2_n = sizeof(wr_hist_pow2) / sizeof(wr_hist_pow2[0]);

void
wr_hist_init(wr_hist *h, const uint64_t *bounds, size_t n_bounds, double scale)
{
    h->bounds = bounds;
    h->n_bounds = n_bounds > WR_HIST_MAX_BOUNDS ? WR_HIST_MAX_BOUNDS : n_bounds;
    h->scale = scale;
    for (size_t i = 0; i <= WR_HIST_MAX_BOUNDS; i++)
        atomic_init(&h->counts[i], 0);
    atomic_init(&h->sum, 0);
}

void
wr_hist_observe(wr_hist *h, uint64_t v)
{
    size_t i = 0;
    while (i < h->n_bounds && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
}
