/*
 * test_duration.c — the duration and size grammars (util/duration.h), one table row per
 * accepted spelling and per rejected form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_main.h"
#include "util/duration.h"

#define MIN 60ull
#define HOUR 3600ull
#define DAY 86400ull
#define WEEK (7 * DAY)
#define YEAR (365 * DAY)

struct ok_row {
    const char *in;
    uint64_t want;
};

static const struct ok_row duration_ok[] = {
    /* every unit spelling */
    {"1s", 1},
    {"1sec", 1},
    {"2secs", 2},
    {"1second", 1},
    {"3seconds", 3},
    {"1m", MIN},
    {"1min", MIN},
    {"2mins", 2 * MIN},
    {"1minute", MIN},
    {"5minutes", 5 * MIN},
    {"1h", HOUR},
    {"1hour", HOUR},
    {"2hours", 2 * HOUR},
    {"7d", 7 * DAY},
    {"1day", DAY},
    {"30days", 30 * DAY},
    {"1w", WEEK},
    {"1week", WEEK},
    {"2weeks", 2 * WEEK},
    {"1y", YEAR},
    {"1year", YEAR},
    {"2years", 2 * YEAR},
    {"365d", YEAR},
    /* case-insensitive */
    {"7D", 7 * DAY},
    {"1H", HOUR},
    {"10S", 10},
    {"1Y", YEAR},
    {"1W", WEEK},
    {"3M", 3 * MIN},
    {"2 Days", 2 * DAY},
    {"1 HOUR", HOUR},
    {"4 SeCoNdS", 4},
    {"5 MINUTES", 5 * MIN},
    /* whitespace between, and around (trimmed) */
    {"7 d", 7 * DAY},
    {"7  d", 7 * DAY},
    {"7\td", 7 * DAY},
    {" 7d", 7 * DAY},
    {"7d ", 7 * DAY},
    {"\t 1 h \t", HOUR},
    /* zero and leading zeros (decimal) */
    {"0s", 0},
    {"0y", 0},
    {"010s", 10},
    {"007d", 7 * DAY},
    /* large values up to the 64-bit limit */
    {"18446744073709551615s", UINT64_MAX},
    {"584942417355y", 584942417355ull * YEAR},
    {"30500568904943w", 30500568904943ull * WEEK},
};

static const char *duration_bad[] = {
    "",
    " ",
    "\t",
    "7",
    "d",
    "s",
    " d",
    "1.5d",
    "1,5d",
    ".5d",
    "1.d",
    "-1d",
    "+1d",
    "- 1d",
    "1d2h",
    "1h30m",
    "1d 2h",
    "1 d x",
    "1dx",
    "1 d d",
    "d1",
    "1 1d",
    "0x10s",
    "0x10",
    "1e3s",
    "999999999999999999y",
    "18446744073709551616s",
    "99999999999999999999999s",
    "584942417356y",
    "30500568904944w",
    "213503982334602d",
    "1ms",
    "1us",
    "1ns",
    "1mo",
    "1month",
    "1sek",
    "1hr",
    "1hrs",
    "1yr",
    "1wk",
    "1dd",
    "1seconds ago",
    "1\nd",
    "1d\n",
    "\n1d",
    "1\xc2\xa0"
    "d",
    "\xef\xbc\x91"
    "d",
    "7 days.",
    "infinite",
};

static void
test_duration_accepts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(duration_ok) / sizeof(duration_ok[0]); i++) {
        uint64_t v = 12345;
        wr_error e = {0};
        wr_err err = wr_duration_parse(duration_ok[i].in, &v, &e);
        if (err != WR_OK || v != duration_ok[i].want)
            fail_msg("\"%s\": err=%d v=%llu want=%llu", duration_ok[i].in, err,
                     (unsigned long long)v, (unsigned long long)duration_ok[i].want);
    }
}

static void
test_duration_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(duration_bad) / sizeof(duration_bad[0]); i++) {
        uint64_t v = 12345;
        wr_error e = {0};
        wr_err err = wr_duration_parse(duration_bad[i], &v, &e);
        if (err != WR_ERR_INVALID)
            fail_msg("\"%s\" accepted as %llu", duration_bad[i], (unsigned long long)v);
        assert_int_equal(e.code, WR_ERR_INVALID);
        assert_string_equal(e.msg, "must be a duration like 7d, 30d, 365d, 1h, 1y");
        assert_int_equal(v, 12345); /* untouched on failure */
    }
}

static void
test_duration_null_and_no_err(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(wr_duration_parse(NULL, &v, NULL), WR_ERR_INVALID);
    assert_int_equal(wr_duration_parse("x", &v, NULL), WR_ERR_INVALID);
    assert_int_equal(wr_duration_parse("1d", &v, NULL), WR_OK);
    assert_int_equal(v, DAY);
}

static void
test_duration_format_roundtrip(void **state)
{
    (void)state;
    static const struct {
        uint64_t secs;
        const char *want;
    } rows[] = {
        {0, "0s"},           {1, "1s"},
        {59, "59s"},         {60, "1m"},
        {90, "90s"},         {3600, "1h"},
        {5400, "90m"},       {DAY, "1d"},
        {30 * DAY, "30d"},   {WEEK, "1w"},
        {14 * DAY, "2w"},    {YEAR, "1y"},
        {366 * DAY, "366d"}, {UINT64_MAX, "18446744073709551615s"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char buf[32];
        wr_duration_format(rows[i].secs, buf);
        assert_string_equal(buf, rows[i].want);
        uint64_t back = 0;
        assert_int_equal(wr_duration_parse(buf, &back, NULL), WR_OK);
        assert_true(back == rows[i].secs);
    }
}

static const struct ok_row size_ok[] = {
    {"0", 0},
    {"1", 1},
    {"65536", 65536},
    {"1K", 1024},
    {"1k", 1024},
    {"1KiB", 1024},
    {"1kib", 1024},
    {"1KIB", 1024},
    {"16KiB", 16 * 1024},
    {"1M", 1ull << 20},
    {"8MiB", 8ull << 20},
    {"8mib", 8ull << 20},
    {"128MiB", 128ull << 20},
    {"1G", 1ull << 30},
    {"2GiB", 2ull << 30},
    {"16 KiB", 16 * 1024},
    {" 8MiB ", 8ull << 20},
    {"\t42\t", 42},
    {"18446744073709551615", UINT64_MAX},
    {"17179869183G", 17179869183ull << 30},
};

static const char *size_bad[] = {
    "",
    " ",
    "K",
    "KiB",
    "-1",
    "+1",
    "1.5MiB",
    "1KB",
    "1MB",
    "1GB",
    "1B",
    "1T",
    "1TiB",
    "1Ki",
    "1 K i B",
    "1MiB2",
    "1K1K",
    "0x10",
    "1e3",
    "18446744073709551616",
    "17179869184G",
    "18014398509481984K",
    "1 2",
    "1\n",
    "8MiB/s",
};

static void
test_size_accepts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(size_ok) / sizeof(size_ok[0]); i++) {
        uint64_t v = 777;
        wr_err err = wr_size_parse(size_ok[i].in, &v, NULL);
        if (err != WR_OK || v != size_ok[i].want)
            fail_msg("\"%s\": err=%d v=%llu", size_ok[i].in, err, (unsigned long long)v);
    }
}

static void
test_size_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(size_bad) / sizeof(size_bad[0]); i++) {
        uint64_t v = 777;
        wr_error e = {0};
        if (wr_size_parse(size_bad[i], &v, &e) != WR_ERR_INVALID)
            fail_msg("\"%s\" accepted as %llu", size_bad[i], (unsigned long long)v);
        assert_string_equal(e.msg, WR_SIZE_ERRMSG);
        assert_int_equal(v, 777);
    }
}

static void
test_size_format(void **state)
{
    (void)state;
    static const struct {
        uint64_t bytes;
        const char *want;
    } rows[] = {
        {0, "0"},
        {1, "1"},
        {1000, "1000"},
        {1024, "1KiB"},
        {1536, "1536"},
        {16384, "16KiB"},
        {1ull << 20, "1MiB"},
        {1536ull << 10, "1536KiB"},
        {8ull << 20, "8MiB"},
        {1ull << 30, "1GiB"},
        {3ull << 30, "3GiB"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char buf[32];
        wr_size_format(rows[i].bytes, buf);
        assert_string_equal(buf, rows[i].want);
        uint64_t back = 1;
        assert_int_equal(wr_size_parse(buf, &back, NULL), WR_OK);
        assert_true(back == rows[i].bytes);
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_duration_accepts), cmocka_unit_test(test_duration_rejects),
             cmocka_unit_test(test_duration_null_and_no_err),
             cmocka_unit_test(test_duration_format_roundtrip), cmocka_unit_test(test_size_accepts),
             cmocka_unit_test(test_size_rejects), cmocka_unit_test(test_size_format))
