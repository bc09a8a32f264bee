/*
 * test_human.c — humanized output (cli/human.c): sizes, counts, durations, rates, times both
 * ways, display widths, and the aligned table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli_int.h"
#include "support/test_main.h"

struct num_row {
    uint64_t in;
    const char *want;
};

static void
test_bytes(void **state)
{
    (void)state;
    static const struct num_row rows[] = {
        {0, "0 B"},
        {1, "1 B"},
        {1023, "1023 B"},
        {1024, "1.00 KiB"},
        {1536, "1.50 KiB"},
        {10 * 1024 - 1, "10.0 KiB"},
        {100 * 1024, "100 KiB"},
        {1048575, "1024 KiB"},
        {1048576, "1.00 MiB"},
        {100000000, "95.4 MiB"},
        {5ull << 30, "5.00 GiB"},
        {UINT64_MAX, "16.0 EiB"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[32];
        wr_cli_fmt_bytes(rows[i].in, out);
        assert_string_equal(out, rows[i].want);
    }
}

static void
test_count(void **state)
{
    (void)state;
    static const struct num_row rows[] = {
        {0, "0"},
        {999, "999"},
        {1000, "1,000"},
        {1234567, "1,234,567"},
        {100000, "100,000"},
        {UINT64_MAX, "18,446,744,073,709,551,615"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[32];
        wr_cli_fmt_count(rows[i].in, out);
        assert_string_equal(out, rows[i].want);
    }
}

static void
test_secs(void **state)
{
    (void)state;
    static const struct num_row rows[] = {
        {0, "0s"},        {45, "45s"},    {60, "1m"},         {90, "1m 30s"},
        {3600, "1h"},     {3605, "1h"},   {3660, "1h 1m"},    {86400, "1d"},
        {93784, "1d 2h"}, {604800, "7d"}, {31536000, "365d"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[32];
        wr_cli_fmt_secs(rows[i].in, out);
        assert_string_equal(out, rows[i].want);
    }
}

static void
test_rates(void **state)
{
    (void)state;
    char out[32];
    wr_cli_fmt_byte_rate(10.5 * 1048576, out);
    assert_string_equal(out, "10.5 MiB/s");
    wr_cli_fmt_byte_rate(-3, out);
    assert_string_equal(out, "0 B/s");
    wr_cli_fmt_rate(12344.6, out);
    assert_string_equal(out, "12,345/s");
}

static void
test_time_format_and_parse(void **state)
{
    (void)state;
    char out[40];
    wr_cli_fmt_time_ms(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    wr_cli_fmt_time_ms(1755770000123ull, out);
    assert_string_equal(out, "2025-08-21T09:53:20.123Z");
    struct {
        const char *in;
        uint64_t want;
    } ok[] = {
        {"0", 0},
        {"1755770000123", 1755770000123ull},
        {"2025-08-21T09:53:20.123Z", 1755770000123ull},
        {"2025-08-21T09:53:20.1234567Z", 1755770000123ull},
        {"2025-08-21t09:53:20.1z", 1755770000100ull},
        {"2025-08-21 09:53:20Z", 1755770000000ull},
        {"2025-08-21T11:53:20+02:00", 1755770000000ull},
        {"2025-08-21T04:23:20-05:30", 1755770000000ull},
        {"2024-02-29T00:00:00Z", 1709164800000ull},
        {"1970-01-01T00:00:00Z", 0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t v = 1;
        if (!wr_cli_parse_time(ok[i].in, &v))
            fail_msg("rejected %s", ok[i].in);
        assert_int_equal(v, ok[i].want);
    }
    static const char *const bad[] = {
        "",
        "-1",
        "1.5",
        "12345678901234567890",
        "2025-08-21",
        "2025-08-21T09:53:20",
        "2025-13-01T00:00:00Z",
        "2025-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2025-08-21T24:00:00Z",
        "2025-08-21T09:60:00Z",
        "2025-08-21T09:53:20.Z",
        "2025-08-21T09:53:20+2:00",
        "2025-08-21T09:53:20Zjunk",
        "1969-12-31T23:59:59Z",
        "yesterday",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 7;
        if (wr_cli_parse_time(bad[i], &v))
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(v, 7);
    }
}

static void
test_width(void **state)
{
    (void)state;
    assert_int_equal(wr_cli_width(""), 0);
    assert_int_equal(wr_cli_width("abc"), 3);
    assert_int_equal(wr_cli_width("caf\xc3\xa9"), 4);
    assert_int_equal(wr_cli_width("\xe2\x82\xac!"), 2);
    assert_int_equal(wr_cli_width("a\tb"), 2);
}

static void
test_table(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    static const char *const h[] = {"NAME", "STATE", "CREATED"};
    wr_cli_table t;
    wr_cli_table_init(&t, 3, h);
    wr_cli_table_add(&t, "my-basin-01");
    wr_cli_table_add(&t, "active");
    wr_cli_table_add(&t, "2026-01-01 00:00:00");
    wr_cli_table_add(&t, "caf\xc3\xa9");
    wr_cli_table_add(&t, NULL);
    wr_cli_table_addf(&t, "%d", 42);
    wr_cli_table_add(&t, "bad\x1b[2Jname"); /* no escape sequences reach the terminal */
    wr_cli_table_add(&t, "x");
    wr_cli_table_add(&t, "y");
    wr_cli_table_print(&t, f, false);
    fclose(f);
    assert_string_equal(text, "NAME         STATE   CREATED\n"
                              "my-basin-01  active  2026-01-01 00:00:00\n"
                              "caf\xc3\xa9         -       42\n"
                              "bad?[2Jname  x       y\n");
    free(text);
    assert_null(t.cells);
}

static void
test_print_object(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    json_t *o = json_pack("{s:s,s:{s:i,s:n},s:b,s:{}}", "storage_class", "express",
                          "retention_policy", "age", 3600, "x", "ok", 1, "empty");
    wr_cli_print_object(o, f, false);
    json_decref(o);
    fclose(f);
    assert_string_equal(text, "storage_class         express\n"
                              "retention_policy.age  3600\n"
                              "retention_policy.x    -\n"
                              "ok                    true\n"
                              "empty                 {}\n");
    free(text);
}

WR_TEST_MAIN(cmocka_unit_test(test_bytes), cmocka_unit_test(test_count),
             cmocka_unit_test(test_secs), cmocka_unit_test(test_rates),
             cmocka_unit_test(test_time_format_and_parse), cmocka_unit_test(test_width),
             cmocka_unit_test(test_table), cmocka_unit_test(test_print_object))
