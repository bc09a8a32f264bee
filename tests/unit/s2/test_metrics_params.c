/*
 * test_metrics_params.c — table-driven bad (and good) inputs for every query parameter of the
 * S2 metrics API (wr_s2_metrics_params_parse: set, start, end, interval, per level) and of the
 * per-organization usage route (wr_org_usage_params_parse), checking the status class S2 gives
 * each case: 400 bad_query for what does not parse, 422 invalid for what S2 refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "realtime/org_usage.h"
#include "s2/s2_int.h"

#define NOW 1800000000ull

static wr_req *
req_with(const char *query)
{
    wr_req *r = calloc(1, sizeof(*r));
    wr_req_init(r, NULL, NULL);
    r->query = wr_arena_strdup(&r->arena, query);
    return r;
}

static void
req_free(wr_req *r)
{
    wr_req_fini(r);
    free(r);
}

typedef struct row {
    wr_s2_metrics_level level;
    const char *query;
    wr_err want;
} row;

#define A WR_S2_METRICS_ACCOUNT
#define B WR_S2_METRICS_BASIN
#define S WR_S2_METRICS_STREAM
#define R "start=1799996400&end=1800000000" /* the hour before NOW */

static const row rows[] = {
    /* set */
    {A, R, WR_ERR_BAD_QUERY},
    {A, "set=&" R, WR_ERR_BAD_QUERY},
    {A, "set=storage&" R, WR_ERR_BAD_QUERY},
    {A, "set=ACTIVE-BASINS&" R, WR_ERR_BAD_QUERY},
    {B, "set=active-basins&" R, WR_ERR_BAD_QUERY},
    {B, "set=account-ops&" R, WR_ERR_BAD_QUERY},
    {S, "set=append-ops&" R, WR_ERR_BAD_QUERY},
    {S, "set=basin-ops&" R, WR_ERR_BAD_QUERY},
    {B, "set=%ZZ&" R, WR_ERR_BAD_QUERY},
    {A, "set=active-basins&" R, WR_OK},
    {A, "set=account-ops&" R, WR_OK},
    {B, "set=storage&" R, WR_OK},
    {B, "set=append-ops&" R, WR_OK},
    {B, "set=read-ops&" R, WR_OK},
    {B, "set=read-throughput&" R, WR_OK},
    {B, "set=append-throughput&" R, WR_OK},
    {B, "set=basin-ops&" R, WR_OK},
    {S, "set=storage&" R, WR_OK},
    /* start / end: malformed (400), missing (422) */
    {B, "set=append-ops&start=abc&end=1800000000", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&start=-1&end=1800000000", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&start=+1&end=1800000000", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&start=1.0&end=1800000000", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&start=&end=1800000000", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&start=1799996400&end=1e9", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&start=1799996400&end=9999999999999", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&start=1799996400&end=%ZZ", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&end=1800000000", WR_ERR_INVALID},
    {B, "set=append-ops&start=1799996400", WR_ERR_INVALID},
    {A, "set=active-basins", WR_ERR_INVALID},
    /* ranges */
    {B, "set=append-ops&start=1800000000&end=1799996400", WR_ERR_INVALID},
    {B, "set=append-ops&start=1800000000&end=1800000000", WR_OK},
    {B, "set=append-ops&start=1799996400&end=1800000300", WR_OK}, /* 5 min of leeway */
    {B, "set=append-ops&start=1799996400&end=1800000301", WR_ERR_INVALID},
    {B, "set=append-ops&start=1797408000&end=1800000000", WR_OK}, /* exactly 30 days */
    {B, "set=append-ops&start=1797407999&end=1800000000", WR_ERR_INVALID},
    {B, "set=append-ops&start=0&end=1800000000", WR_ERR_INVALID},
    /* interval */
    {B, "set=append-ops&" R "&interval=minute", WR_OK},
    {B, "set=append-ops&" R "&interval=hour", WR_OK},
    {B, "set=append-ops&" R "&interval=day", WR_OK},
    {B, "set=append-ops&" R "&interval=week", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&" R "&interval=Minute", WR_ERR_BAD_QUERY},
    {B, "set=append-ops&" R "&interval=", WR_ERR_BAD_QUERY},
    {B, "set=storage&" R "&interval=minute", WR_ERR_INVALID},
    {S, "set=storage&" R "&interval=minute", WR_ERR_INVALID},
    {S, "set=storage&" R "&interval=day", WR_OK},
};

static void
test_metrics_params(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_req *r = req_with(rows[i].query);
        wr_s2_metrics_params p;
        wr_error err = {0};
        wr_err got = wr_s2_metrics_params_parse(r, rows[i].level, NOW, &p, &err);
        if (got != rows[i].want)
            fail_msg("row %zu (%s): got %s (%s), want %s", i, rows[i].query, wr_err_code(got),
                     err.msg, wr_err_code(rows[i].want));
        req_free(r);
    }
}

static void
test_metrics_params_values(void **state)
{
    (void)state;
    wr_req *r = req_with("set=read-ops&start=1799996400&end=1800000000&interval=day");
    wr_s2_metrics_params p;
    wr_error err = {0};
    assert_int_equal(wr_s2_metrics_params_parse(r, B, NOW, &p, &err), WR_OK);
    assert_int_equal(p.set, WR_S2_SET_READ_OPS);
    assert_int_equal(p.start_s, 1799996400);
    assert_int_equal(p.end_s, 1800000000);
    assert_int_equal(p.interval, WR_USAGE_DAY);
    req_free(r);
    r = req_with("set=storage&" R);
    assert_int_equal(wr_s2_metrics_params_parse(r, S, NOW, &p, &err), WR_OK);
    assert_int_equal(p.interval, WR_USAGE_HOUR); /* the default */
    assert_false(p.interval_given);
    req_free(r);
}

typedef struct orow {
    const char *query;
    bool ok;
} orow;

static const orow orows[] = {
    {"", true},
    {"start=1799996400", true},
    {"end=1800000000&interval=hour", true},
    {"start=1799996400&end=1800000000&interval=minute", true},
    {"start=0&end=1800000000&interval=day", true}, /* any range, in days */
    {"start=abc", false},
    {"start=-1", false},
    {"start=", false},
    {"end=1.5", false},
    {"end=", false},
    {"start=1800000000&end=1799996400", false},
    {"interval=week", false},
    {"interval=", false},
    {"interval=%ZZ", false},
    {"start=1797000000&end=1800000000&interval=minute", false}, /* > 44,641 minutes */
};

static void
test_org_usage_params(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(orows) / sizeof(orows[0]); i++) {
        wr_req *r = req_with(orows[i].query);
        wr_org_usage_params p;
        char msg[160] = "";
        bool ok = wr_org_usage_params_parse(r, NOW, &p, msg, sizeof(msg));
        if (ok != orows[i].ok)
            fail_msg("row %zu (%s): got %d (%s)", i, orows[i].query, ok, msg);
        req_free(r);
    }
    wr_req *r = req_with("");
    wr_org_usage_params p;
    char msg[160];
    assert_true(wr_org_usage_params_parse(r, NOW, &p, msg, sizeof(msg)));
    assert_int_equal(p.end_s, NOW);
    assert_int_equal(p.start_s, NOW - 30 * 86400);
    assert_int_equal(p.interval, WR_USAGE_DAY);
    req_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_params),
        cmocka_unit_test(test_metrics_params_values),
        cmocka_unit_test(test_org_usage_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
