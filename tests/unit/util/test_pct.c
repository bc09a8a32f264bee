/*
 * test_pct.c — percent-decoding and -encoding (util/pct.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_main.h"
#include "util/pct.h"

struct row {
    const char *in;
    wr_pct_mode mode;
    const char *want;
    size_t want_len; /* 0 = strlen(want) */
};

static const struct row ok[] = {
    {"", WR_PCT_PATH, "", 0},
    {"orders", WR_PCT_PATH, "orders", 0},
    {"a%2Fb", WR_PCT_PATH, "a/b", 0},
    {"a%2fb", WR_PCT_PATH, "a/b", 0},
    {"%2F%2F", WR_PCT_PATH, "//", 0},
    {"sessions%2Fabc%2Fout", WR_PCT_PATH, "sessions/abc/out", 0},
    {"%20", WR_PCT_PATH, " ", 0},
    {"a+b", WR_PCT_PATH, "a+b", 0},
    {"a+b", WR_PCT_QUERY, "a b", 0},
    {"a%2Bb", WR_PCT_PATH, "a+b", 0},
    {"a%2Bb", WR_PCT_QUERY, "a+b", 0},
    {"++", WR_PCT_QUERY, "  ", 0},
    {"%E2%82%AC", WR_PCT_PATH, "\xe2\x82\xac", 0},
    {"caf%C3%A9", WR_PCT_QUERY, "caf\xc3\xa9", 0},
    {"%00", WR_PCT_PATH, "\0", 1},
    {"%ff%FF%fF", WR_PCT_PATH, "\xff\xff\xff", 0},
    {"%25", WR_PCT_PATH, "%", 0},
    {"%2525", WR_PCT_PATH, "%25", 0},
    {"100%25", WR_PCT_QUERY, "100%", 0},
    {"raw\xc3\xa9", WR_PCT_PATH, "raw\xc3\xa9", 0},
    {"a=b&c", WR_PCT_QUERY, "a=b&c", 0},
};

static const char *bad[] = {
    "%",   "%4", "a%",   "a%2",  "%zz",  "%g0", "%0g",       "%-1",
    "% 1", "%%", "%%41", "ab%2", "%2F%", "%x",  "%\xc3\xa9",
};

static void
test_decode_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        size_t want_len = ok[i].want_len ? ok[i].want_len : strlen(ok[i].want);
        wr_buf b = {0};
        if (!wr_pct_decode(ok[i].in, strlen(ok[i].in), ok[i].mode, &b))
            fail_msg("\"%s\" rejected", ok[i].in);
        assert_int_equal(b.len, want_len);
        assert_memory_equal(b.data, ok[i].want, want_len);
        assert_int_equal(b.data[b.len], '\0');
        wr_buf_fini(&b);

        char dst[64];
        size_t n = 999;
        assert_true(wr_pct_decode_to(ok[i].in, strlen(ok[i].in), ok[i].mode, dst, &n));
        assert_int_equal(n, want_len);
        assert_memory_equal(dst, ok[i].want, want_len);
        assert_int_equal(dst[n], '\0');
    }
}

static void
test_decode_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int mode = WR_PCT_PATH; mode <= WR_PCT_QUERY; mode++) {
            wr_buf b = {0};
            wr_buf_append_str(&b, "pre");
            if (wr_pct_decode(bad[i], strlen(bad[i]), (wr_pct_mode)mode, &b))
                fail_msg("\"%s\" accepted (mode %d)", bad[i], mode);
            assert_int_equal(b.len, 3);
            assert_string_equal(b.data, "pre");
            wr_buf_fini(&b);
        }
    }
}

static void
test_decode_respects_len(void **state)
{
    (void)state;
    /* Only the first 3 bytes count: "a%2" is truncated even though "F" follows in memory. */
    char dst[8];
    size_t n;
    assert_false(wr_pct_decode_to("a%2F", 3, WR_PCT_PATH, dst, &n));
    assert_true(wr_pct_decode_to("a%2Fzzz", 4, WR_PCT_PATH, dst, &n));
    assert_int_equal(n, 2);
    assert_string_equal(dst, "a/");
}

static void
test_decode_in_place(void **state)
{
    (void)state;
    char s[] = "my%2Fstream+x%21";
    size_t n;
    assert_true(wr_pct_decode_to(s, strlen(s), WR_PCT_QUERY, s, &n));
    assert_int_equal(n, 12);
    assert_string_equal(s, "my/stream x!");
}

static void
test_encode(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } rows[] = {
        {"", 0, ""},
        {"orders", 6, "orders"},
        {"AZaz09-._~", 10, "AZaz09-._~"},
        {"a/b", 3, "a%2Fb"},
        {"a b+c", 5, "a%20b%2Bc"},
        {"100%", 4, "100%25"},
        {"?&=#", 4, "%3F%26%3D%23"},
        {"\xe2\x82\xac", 3, "%E2%82%AC"},
        {"\0\xff", 2, "%00%FF"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_buf b = {0};
        wr_pct_encode(rows[i].in, rows[i].len, &b);
        assert_non_null(b.data);
        assert_string_equal(b.data, rows[i].want);
        wr_buf_fini(&b);
    }
}

static void
test_encode_decode_roundtrip_every_byte(void **state)
{
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    for (int mode = WR_PCT_PATH; mode <= WR_PCT_QUERY; mode++) {
        wr_buf enc = {0}, dec = {0};
        wr_pct_encode(all, sizeof(all), &enc);
        assert_null(memchr(enc.data, '+', enc.len));
        assert_true(wr_pct_decode(enc.data, enc.len, (wr_pct_mode)mode, &dec));
        assert_int_equal(dec.len, 256);
        assert_memory_equal(dec.data, all, 256);
        wr_buf_fini(&enc);
        wr_buf_fini(&dec);
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_decode_ok), cmocka_unit_test(test_decode_bad),
             cmocka_unit_test(test_decode_respects_len), cmocka_unit_test(test_decode_in_place),
             cmocka_unit_test(test_encode),
             cmocka_unit_test(test_encode_decode_roundtrip_every_byte))
