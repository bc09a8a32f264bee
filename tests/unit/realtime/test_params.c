/*
 * test_params.c — the realtime routes' textual parameters (realtime/params.h) as tables:
 * Timeout-Seconds, Last-Event-ID and afterEventId, including every class of bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "realtime/params.h"
#include "support/test_main.h"

/* One parser row: the text, whether it parses, and to what. */
typedef struct num_row {
    const char *in;
    bool ok;
    uint64_t want;
} num_row;

static void
test_timeout(void **state)
{
    (void)state;
    static const num_row rows[] = {
        {"1", true, 1},      {"60", true, 60},   {"600", true, 600},
        {"007", true, 7},    {"0", false, 0},    {"601", false, 0},
        {"0600", false, 0},  {"", false, 0},     {"-1", false, 0},
        {"+5", false, 0},    {" 5", false, 0},   {"5 ", false, 0},
        {"1.5", false, 0},   {"1e2", false, 0},  {"abc", false, 0},
        {"10abc", false, 0}, {"0x10", false, 0}, {"99999999999999999999999", false, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t v = 12345;
        bool ok = wr_rt_parse_timeout(rows[i].in, &v);
        if (ok != rows[i].ok || (ok && v != rows[i].want))
            fail_msg("Timeout-Seconds \"%s\": ok=%d v=%llu", rows[i].in, ok, (unsigned long long)v);
        if (!ok && v != 12345)
            fail_msg("Timeout-Seconds \"%s\": output written on failure", rows[i].in);
    }
}

static void
test_last_event_id(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t want;
    } rows[] = {
        {NULL, 0},
        {"", 0},
        {"abc", 0},
        {"-5", 0},
        {",1,2", 0},
        {"0", 1},
        {"0,1,62", 1},
        {"41,42,4200", 42},
        {"1699999999999-5", 1700000000000ull},
        {"7abc", 8},
        {"18446744073709551614", UINT64_MAX},
        {"18446744073709551615", UINT64_MAX},
        {"999999999999999999999999", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t v = wr_rt_parse_last_event_id(rows[i].in);
        if (v != rows[i].want)
            fail_msg("Last-Event-ID \"%s\": %llu, want %llu", rows[i].in ? rows[i].in : "(null)",
                     (unsigned long long)v, (unsigned long long)rows[i].want);
    }
}

static void
test_seq(void **state)
{
    (void)state;
    static const num_row rows[] = {
        {"0", true, 0},
        {"42", true, 42},
        {"9223372036854775807", true, 9223372036854775807ull},
        {"9223372036854775808", false, 0},
        {"18446744073709551616", false, 0},
        {"", false, 0},
        {"-1", false, 0},
        {"+1", false, 0},
        {"1.0", false, 0},
        {"x", false, 0},
        {"1 ", false, 0},
        {" 1", false, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t v = 777;
        bool ok = wr_rt_parse_seq(rows[i].in, &v);
        if (ok != rows[i].ok || (ok && v != rows[i].want))
            fail_msg("seq \"%s\": ok=%d v=%llu", rows[i].in, ok, (unsigned long long)v);
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_timeout), cmocka_unit_test(test_last_event_id),
             cmocka_unit_test(test_seq))
