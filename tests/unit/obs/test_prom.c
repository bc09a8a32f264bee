/*
 * test_prom.c — the Prometheus text helpers: family headers, samples with and without labels,
 * histograms (cumulative buckets, +Inf, _sum in the exposed unit, _count) from util/hist.h, and
 * that the whole exposition renders with no sources. (The e2e suite feeds real scrapes to
 * promtool and a parser.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "obs/obs.h"
#include "support/test_main.h"
#include "util/hist.h"

static void
test_hist_text(void **state)
{
    (void)state;
    static const uint64_t bounds[] = {1000000, 10000000}; /* 1 ms, 10 ms in ns */
    wr_hist h;
    wr_hist_init(&h, bounds, 2, 1e-9);
    wr_hist_observe(&h, 500000);    /* 0.5 ms */
    wr_hist_observe(&h, 1000000);   /* 1 ms: le is inclusive */
    wr_hist_observe(&h, 5000000);   /* 5 ms */
    wr_hist_observe(&h, 200000000); /* 200 ms: +Inf */
    wr_buf out;
    wr_buf_init(&out);
    wr_prom_family(&out, "x_seconds", "histogram", "Help.");
    wr_prom_hist(&out, "x_seconds", "route=\"/a\"", &h);
    wr_prom_hist(&out, "y_seconds", "", &h);
    wr_buf_append_byte(&out, 0);
    const char *want = "# HELP x_seconds Help.\n"
                       "# TYPE x_seconds histogram\n"
                       "x_seconds_bucket{route=\"/a\",le=\"0.001\"} 2\n"
                       "x_seconds_bucket{route=\"/a\",le=\"0.01\"} 3\n"
                       "x_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
                       "x_seconds_sum{route=\"/a\"} 0.20650000000000002\n"
                       "x_seconds_count{route=\"/a\"} 4\n"
                       "y_seconds_bucket{le=\"0.001\"} 2\n"
                       "y_seconds_bucket{le=\"0.01\"} 3\n"
                       "y_seconds_bucket{le=\"+Inf\"} 4\n"
                       "y_seconds_sum 0.20650000000000002\n"
                       "y_seconds_count 4\n";
    assert_string_equal((char *)out.data, want);
    wr_buf_fini(&out);
}

static void
test_samples_and_render(void **state)
{
    (void)state;
    wr_buf out;
    wr_buf_init(&out);
    wr_prom_sample(&out, "a_total", "", 3);
    wr_prom_sample(&out, "b", "k=\"v\"", 0.5);
    wr_buf_append_byte(&out, 0);
    assert_string_equal((char *)out.data, "a_total 3\nb{k=\"v\"} 0.5\n");
    wr_buf_fini(&out);

    wr_obs *o = NULL;
    wr_error err = {0};
    assert_int_equal(wr_obs_new("off", &o, &err), WR_OK);
    wr_buf_init(&out);
    wr_obs_render(o, &out);
    wr_buf_append_byte(&out, 0);
    assert_non_null(strstr((char *)out.data, "# TYPE process_resident_memory_bytes gauge\n"));
    assert_non_null(strstr((char *)out.data, "weir_http_requests_in_flight 0\n"));
    wr_buf_fini(&out);
    wr_obs_free(o);
    assert_int_equal(wr_obs_new("/nonexistent-dir/x.log", &o, &err), WR_ERR_INVALID);
}

WR_TEST_MAIN(cmocka_unit_test(test_hist_text), cmocka_unit_test(test_samples_and_render))
