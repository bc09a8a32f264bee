/*
 * test_clock.c — the injectable clock (util/clock.h): fake time, advancing without sleeping,
 * switching back to the real clock, and RFC 3339 formatting. No assertion depends on how long
 * anything takes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support/test_main.h"
#include "util/clock.h"

static int
restore_real(void **state)
{
    (void)state;
    wr_clock_set_real();
    return 0;
}

static void
test_fake_and_advance(void **state)
{
    (void)state;
    wr_clock_set_fake(1755770000123ull);
    assert_int_equal(wr_clock_now_ms(), 1755770000123ull);
    assert_int_equal(wr_clock_now_ms(), 1755770000123ull); /* frozen */
    wr_clock_advance_ms(877);
    assert_int_equal(wr_clock_now_ms(), 1755770001000ull);
    wr_clock_advance_ms(0);
    assert_int_equal(wr_clock_now_ms(), 1755770001000ull);
    wr_clock_advance_ms(7ull * 86400 * 1000);
    assert_int_equal(wr_clock_now_ms(), 1755770001000ull + 604800000ull);
    wr_clock_set_fake(5);
    assert_int_equal(wr_clock_now_ms(), 5); /* setting again moves time backwards too */
}

static void
test_fake_zero_is_not_real(void **state)
{
    (void)state;
    /* 0 is the "real clock" sentinel inside, so faking 0 must still freeze time (at 1 ms). */
    wr_clock_set_fake(0);
    assert_int_equal(wr_clock_now_ms(), 1);
    wr_clock_advance_ms(9);
    assert_int_equal(wr_clock_now_ms(), 10);
}

static void
test_real_clock(void **state)
{
    (void)state;
    wr_clock_set_fake(1000);
    wr_clock_set_real();
    uint64_t before = (uint64_t)time(NULL) * 1000;
    uint64_t now = wr_clock_now_ms();
    uint64_t after = ((uint64_t)time(NULL) + 1) * 1000;
    assert_true(now >= before && now <= after);
}

static void
test_advance_from_real_freezes_near_now(void **state)
{
    (void)state;
    uint64_t before = (uint64_t)time(NULL) * 1000;
    wr_clock_advance_ms(60000);
    uint64_t t1 = wr_clock_now_ms();
    uint64_t after = ((uint64_t)time(NULL) + 1) * 1000 + 60000;
    assert_true(t1 >= before + 60000 && t1 <= after);
    assert_int_equal(wr_clock_now_ms(), t1); /* now fake, so frozen */
}

static void
test_monotonic_not_faked(void **state)
{
    (void)state;
    uint64_t a = wr_clock_mono_ns();
    wr_clock_set_fake(1);
    uint64_t b = wr_clock_mono_ns();
    assert_true(b >= a);
    assert_true(wr_clock_mono_ms() >= a / 1000000);
    assert_true(wr_clock_mono_ms() > 1); /* not the fake value */
}

static void
test_rfc3339(void **state)
{
    (void)state;
    static const struct {
        uint64_t ms;
        const char *want;
    } rows[] = {
        {0, "1970-01-01T00:00:00.000000000Z"},
        {999, "1970-01-01T00:00:00.999000000Z"},
        {1000, "1970-01-01T00:00:01.000000000Z"},
        {1755770000123ull, "2025-08-21T09:53:20.123000000Z"},
        {951868799999ull, "2000-02-29T23:59:59.999000000Z"},
        {4102444800000ull, "2100-01-01T00:00:00.000000000Z"},
        {253402300799999ull, "9999-12-31T23:59:59.999000000Z"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[40];
        memset(out, 'X', sizeof(out));
        wr_clock_format_rfc3339(rows[i].ms, out);
        assert_string_equal(out, rows[i].want);
    }
}

/* Parsing: good forms, and a row per class of bad input (rolled-over days, offsets out of range,
 * signs and spaces in fields, years past 9999, before 1970, trailing bytes). */
static void
test_rfc3339_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool ok;
        uint64_t ms;
    } rows[] = {
        {"1970-01-01T00:00:00Z", true, 0},
        {"2025-08-21T09:53:20.123Z", true, 1755770000123ull},
        {"2025-08-21T09:53:20.1239999Z", true, 1755770000123ull},
        {"2025-08-21t09:53:20z", true, 1755770000000ull},
        {"2025-08-21T11:53:20+02:00", true, 1755770000000ull},
        {"2025-08-21T00:00:00-23:59", true, 1755820740000ull},
        {"2000-02-29T23:59:59.999Z", true, 951868799999ull},
        {"9999-12-31T23:59:59.999Z", true, 253402300799999ull},
        {"2025-08-21T09:53:20.123456789Z", true, 1755770000123ull},
        {"2025-08-21T11:53:20.1+02:00", true, 1755770000100ull},
        {"2025-08-21T08:53:20-01:00", true, 1755770000000ull},
        {"2025-+8-21T09:53:20Z", false, 0}, /* sscanf's %2d took signs and spaces */
        {"2025- 8-21T09:53:20Z", false, 0},
        {"2025-08-21T09:53:20+-1:00", false, 0},
        {"2025-08-21T09:53:20+01: 0", false, 0},
        {"2030-02-30T00:00:00Z", false, 0}, /* no such day: not rolled over to March */
        {"2100-02-29T00:00:00Z", false, 0}, /* 2100 is not a leap year */
        {"2030-04-31T00:00:00Z", false, 0},
        {"2030-02-01T00:00:00+99:99", false, 0},
        {"2030-02-01T00:00:00+24:00", false, 0},
        {"2030-02-01T00:00:00+01:60", false, 0},
        {"2030-02-01T00:00:00+0100", false, 0},
        {"2030-02-01T00:00:00+01:0", false, 0},
        {"2030-02-01T24:00:00Z", false, 0},
        {"2030-02-01T23:60:00Z", false, 0},
        {"2030-02-01T23:59:61Z", false, 0},
        {"2030-13-01T00:00:00Z", false, 0},
        {"2030-00-01T00:00:00Z", false, 0},
        {"2030-01-00T00:00:00Z", false, 0},
        {"2030-1-01T00:00:00Z", false, 0},
        {"2030-01-01T-1:00:00Z", false, 0},
        {"2030-01-01T 1:00:00Z", false, 0},
        {"+030-01-01T00:00:00Z", false, 0},
        {"1969-12-31T23:59:59Z", false, 0},
        {"1970-01-01T00:00:00+00:01", false, 0}, /* before the epoch */
        {"2030-01-01T00:00:00", false, 0},
        {"2030-01-01T00:00:00.Z", false, 0},
        {"2030-01-01T00:00:00Zx", false, 0},
        {"2030-01-01 00:00:00Z", false, 0},
        {"2030-01-01", false, 0},
        {"", false, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t ms = 42;
        bool ok = wr_clock_parse_rfc3339(rows[i].in, &ms);
        if (ok != rows[i].ok)
            fail_msg("%s: %s", rows[i].in, ok ? "accepted" : "refused");
        if (ok)
            assert_int_equal(ms, rows[i].ms);
    }
    char out[40];
    wr_clock_format_rfc3339(UINT64_MAX, out); /* capped: RFC 3339 has four-digit years */
    assert_string_equal(out, "9999-12-31T23:59:59.999000000Z");
    wr_clock_format_rfc3339(9007199254740991ull, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999000000Z");
}

WR_TEST_MAIN(cmocka_unit_test_teardown(test_fake_and_advance, restore_real),
             cmocka_unit_test_teardown(test_fake_zero_is_not_real, restore_real),
             cmocka_unit_test_teardown(test_real_clock, restore_real),
             cmocka_unit_test_teardown(test_advance_from_real_freezes_near_now, restore_real),
             cmocka_unit_test_teardown(test_monotonic_not_faked, restore_real),
             cmocka_unit_test_teardown(test_rfc3339, restore_real),
             cmocka_unit_test_teardown(test_rfc3339_parse, restore_real))
