/*
 * test_jsonw.c — the JSON text writer (util/jsonw.h): every escape class in a table, commas in
 * nested objects and arrays, and random strings written by it read back by jansson unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "support/test_main.h"
#include "util/jsonw.h"

static void
test_quote_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } rows[] = {
        {"", 0, "\"\""},
        {"plain", 5, "\"plain\""},
        {"a\"b", 3, "\"a\\\"b\""},
        {"a\\b", 3, "\"a\\\\b\""},
        {"\n\r\t", 3, "\"\\n\\r\\t\""},
        {"\x01\x1f", 2, "\"\\u0001\\u001f\""},
        {"nul\0x", 5, "\"nul\\u0000x\""},
        {"/ and \x7f stay", 12, "\"/ and \x7f stay\""},
        {"caf\xc3\xa9 \xe2\x82\xac", 9, "\"caf\xc3\xa9 \xe2\x82\xac\""}, /* UTF-8 passes through */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_buf b = {0};
        wr_jw_quote(&b, rows[i].in, rows[i].len);
        if (strcmp(b.data, rows[i].out) != 0)
            fail_msg("row %zu: got %s want %s", i, b.data, rows[i].out);
        wr_buf_fini(&b);
    }
}

static void
test_structure(void **state)
{
    (void)state;
    wr_buf b = {0};
    wr_jw_open(&b, '{');
    wr_jw_str(&b, "id", "x");
    wr_jw_str_or_null(&b, "a", false, "ignored");
    wr_jw_str_or_null(&b, "b", true, "y");
    wr_jw_int(&b, "n", -42);
    wr_jw_int(&b, "big", INT64_MAX);
    wr_jw_int(&b, "small", INT64_MIN);
    wr_jw_bool(&b, "t", true);
    wr_jw_null(&b, "z");
    wr_jw_raw(&b, "tags", NULL, "[]");
    wr_jw_raw(&b, "meta", "{\"k\":[1,2]}", "null");
    wr_jw_time(&b, "never", false, 0);
    wr_jw_time(&b, "at", true, 1700000000123ull);
    wr_jw_key(&b, "list");
    wr_jw_open(&b, '[');
    wr_jw_elem_str(&b, "p");
    wr_jw_elem_str2(&b, "read:sessions:", "q\"");
    wr_jw_open(&b, '{');
    wr_jw_close(&b, '}');
    wr_jw_open(&b, '[');
    wr_jw_close(&b, ']');
    wr_jw_close(&b, ']');
    wr_jw_key(&b, "empty");
    wr_jw_open(&b, '{');
    wr_jw_close(&b, '}');
    wr_jw_close(&b, '}');
    assert_string_equal(
        b.data, "{\"id\":\"x\",\"a\":null,\"b\":\"y\",\"n\":-42,\"big\":9223372036854775807,"
                "\"small\":-9223372036854775808,\"t\":true,\"z\":null,\"tags\":[],"
                "\"meta\":{\"k\":[1,2]},\"never\":null,\"at\":\"2023-11-14T22:13:20.123000000Z\","
                "\"list\":[\"p\",\"read:sessions:q\\\"\",{},[]],\"empty\":{}}");
    json_error_t je;
    json_t *j = json_loads(b.data, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(j);
    json_decref(j);
    wr_buf_fini(&b);
}

/* Random strings of every byte below 0x80 (valid UTF-8) come back from jansson as they went. */
static void
test_round_trip(void **state)
{
    (void)state;
    srand(7);
    for (int round = 0; round < 2000; round++) {
        char s[64];
        size_t n = (size_t)(rand() % (int)sizeof(s));
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(rand() % 0x80);
        wr_buf b = {0};
        wr_jw_open(&b, '[');
        wr_jw_quote(&b, s, n);
        wr_jw_close(&b, ']');
        json_t *j = json_loadb(b.data, b.len, JSON_ALLOW_NUL, NULL);
        assert_non_null(j);
        json_t *v = json_array_get(j, 0);
        assert_int_equal(json_string_length(v), n);
        assert_memory_equal(json_string_value(v), s, n);
        json_decref(j);
        wr_buf_fini(&b);
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_quote_table), cmocka_unit_test(test_structure),
             cmocka_unit_test(test_round_trip))
