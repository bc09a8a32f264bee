/*
 * test_uri.c — s2:// URIs (cli/uri.c): one row per accepted form and per rejected one, for
 * each of the three kinds (basin, stream, basin with an optional prefix).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli_int.h"
#include "support/test_main.h"

#define B WR_CLI_URI_BASIN
#define S WR_CLI_URI_STREAM
#define P WR_CLI_URI_BASIN_PREFIX

struct ok_row {
    const char *in;
    wr_cli_uri_kind kind;
    const char *basin, *stream;
};

static const struct ok_row ok[] = {
    {"s2://my-basin-01", B, "my-basin-01", ""},
    {"s2://my-basin-01/", B, "my-basin-01", ""},
    {"my-basin-01", B, "my-basin-01", ""},
    {"s2://abcdefgh", B, "abcdefgh", ""},
    {"s2://012345678901234567890123456789012345678901234567", B,
     "012345678901234567890123456789012345678901234567", ""},
    {"s2://my-basin-01/orders", S, "my-basin-01", "orders"},
    {"my-basin-01/orders", S, "my-basin-01", "orders"},
    {"s2://my-basin-01/a/b/c", S, "my-basin-01", "a/b/c"},
    {"s2://my-basin-01/with space", S, "my-basin-01", "with space"},
    {"s2://my-basin-01/caf\xc3\xa9", S, "my-basin-01", "caf\xc3\xa9"},
    {"s2://my-basin-01/%2F", S, "my-basin-01", "%2F"}, /* literal, never decoded */
    {"s2://my-basin-01/...", S, "my-basin-01", "..."},
    {"s2://my-basin-01/./x", S, "my-basin-01", "./x"},
    {"s2://my-basin-01", P, "my-basin-01", ""},
    {"s2://my-basin-01/", P, "my-basin-01", ""},
    {"s2://my-basin-01/pre", P, "my-basin-01", "pre"},
    {"s2://my-basin-01/..", P, "my-basin-01", ".."}, /* a prefix, not a name */
};

struct bad_row {
    const char *in;
    wr_cli_uri_kind kind;
    const char *needle; /* in the message */
};

static const struct bad_row bad[] = {
    {"", B, "missing basin"},
    {"s2://", B, "missing basin"},
    {"s2:///x", S, "missing basin"},
    {"http://my-basin-01", B, "expected s2://BASIN"},
    {"S3://my-basin-01/x", S, "expected s2://BASIN/STREAM"},
    {"s2://short", B, "invalid basin name"},
    {"s2://My-Basin-01", B, "invalid basin name"},
    {"s2://-my-basin-01", B, "invalid basin name"},
    {"s2://my-basin-01-", B, "invalid basin name"},
    {"s2://my_basin_01", B, "invalid basin name"},
    {"s2://my.basin.01", B, "invalid basin name"},
    {"s2://0123456789012345678901234567890123456789012345678", B, "invalid basin name"},
    {"s2://my-basin-01/orders", B, "without a stream"},
    {"s2://my-basin-01", S, "missing stream"},
    {"s2://my-basin-01/", S, "missing stream"},
    {"s2://my-basin-01/.", S, "not stream names"},
    {"s2://my-basin-01/..", S, "not stream names"},
    {"s2://my-basin-01/\xff", S, "UTF-8"},
    {"s2://my-basin-01/\xc3", P, "UTF-8"},
};

static void
test_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        wr_cli_uri u;
        wr_error err = {0};
        if (wr_cli_uri_parse(ok[i].in, ok[i].kind, &u, &err) != WR_OK)
            fail_msg("row %zu (%s): %s", i, ok[i].in, err.msg);
        assert_string_equal(u.basin, ok[i].basin);
        assert_string_equal(u.stream, ok[i].stream);
    }
}

static void
test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wr_cli_uri u;
        wr_error err = {0};
        if (wr_cli_uri_parse(bad[i].in, bad[i].kind, &u, &err) != WR_ERR_INVALID)
            fail_msg("row %zu (%s) was accepted", i, bad[i].in);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("row %zu (%s): \"%s\" lacks \"%s\"", i, bad[i].in, err.msg, bad[i].needle);
        assert_null(strchr(err.msg, '\n'));
    }
}

static void
test_stream_length_limit(void **state)
{
    (void)state;
    char in[600] = "s2://my-basin-01/";
    size_t base = strlen(in);
    memset(in + base, 'a', 512);
    in[base + 512] = '\0';
    wr_cli_uri u;
    assert_int_equal(wr_cli_uri_parse(in, S, &u, NULL), WR_OK);
    in[base + 512] = 'a';
    in[base + 513] = '\0';
    assert_int_equal(wr_cli_uri_parse(in, S, &u, NULL), WR_ERR_INVALID);
}

WR_TEST_MAIN(cmocka_unit_test(test_ok), cmocka_unit_test(test_bad),
             cmocka_unit_test(test_stream_length_limit))
