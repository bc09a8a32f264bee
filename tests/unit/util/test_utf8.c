/*
 * test_utf8.c — UTF-8 validation and lossy conversion (util/utf8.h). The expected outputs of the
 * table were produced with an independent decoder (CPython's bytes.decode("utf-8", "replace"),
 * which implements the same maximal-subpart substitution as Rust/S2); an exhaustive sweep checks
 * the validator against a code-point-based reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_main.h"
#include "util/utf8.h"

struct row {
    const char *in;
    size_t in_len;
    const char *lossy;
    size_t lossy_len;
    size_t valid_up_to; /* == in_len when valid */
};

static const struct row rows[] = {
    {"", 0, "", 0, 0},
    {"\x68\x65\x6c\x6c\x6f", 5, "\x68\x65\x6c\x6c\x6f", 5, 5},
    {"\x00", 1, "\x00", 1, 1},
    {"\x63\x61\x66\xc3\xa9", 5, "\x63\x61\x66\xc3\xa9", 5, 5},
    {"\xe2\x82\xac", 3, "\xe2\x82\xac", 3, 3},
    {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80", 4, 4},
    {"\xef\xbf\xbd", 3, "\xef\xbf\xbd", 3, 3},
    {"\xed\x9f\xbf", 3, "\xed\x9f\xbf", 3, 3},
    {"\xee\x80\x80", 3, "\xee\x80\x80", 3, 3},
    {"\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf", 4, 4},
    {"\xc2\x80", 2, "\xc2\x80", 2, 2},
    {"\xdf\xbf", 2, "\xdf\xbf", 2, 2},
    {"\xe0\xa0\x80", 3, "\xe0\xa0\x80", 3, 3},
    {"\xf0\x90\x80\x80", 4, "\xf0\x90\x80\x80", 4, 4},
    {"\x80", 1, "\xef\xbf\xbd", 3, 0},
    {"\xbf", 1, "\xef\xbf\xbd", 3, 0},
    {"\xc0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6, 0},
    {"\xc1\xbf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6, 0},
    {"\xe0\x80\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 0},
    {"\xe0\x9f\xbf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 0},
    {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 0},
    {"\xed\xbf\xbf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 0},
    {"\xf0\x80\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12, 0},
    {"\xf0\x8f\xbf\xbf", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12, 0},
    {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12, 0},
    {"\xf5\x80\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12, 0},
    {"\xff", 1, "\xef\xbf\xbd", 3, 0},
    {"\xfe", 1, "\xef\xbf\xbd", 3, 0},
    {"\xe2\x82", 2, "\xef\xbf\xbd", 3, 0},
    {"\xe2\x82\x41", 3, "\xef\xbf\xbd\x41", 4, 0},
    {"\xe2\x41", 2, "\xef\xbf\xbd\x41", 4, 0},
    {"\xf0\x9f\x98", 3, "\xef\xbf\xbd", 3, 0},
    {"\xf0\x9f\x98\x41", 4, "\xef\xbf\xbd\x41", 4, 0},
    {"\xf0\x9f", 2, "\xef\xbf\xbd", 3, 0},
    {"\xc3", 1, "\xef\xbf\xbd", 3, 0},
    {"\x61\xc3", 2, "\x61\xef\xbf\xbd", 4, 1},
    {"\xc3\xc3\xa9", 3, "\xef\xbf\xbd\xc3\xa9", 5, 0},
    {"\xe2\x82\xe2\x82\xac", 5, "\xef\xbf\xbd\xe2\x82\xac", 6, 0},
    {"\x41\x80\x80\x42", 4, "\x41\xef\xbf\xbd\xef\xbf\xbd\x42", 8, 1},
    {"\xf8\x88\x80\x80\x80", 5, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 15,
     0},
    {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6, 0},
    {"\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 0},
    {"\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64", 13,
     "\x61\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\x62\xef\xbf\xbd\x63\xef\xbf\xbd\xef\xbf\xbd\x64", 22,
     1},
    {"\x6f\x6b\xed\xa0\x80\xed\xb0\x80\x6f\x6b", 10,
     "\x6f\x6b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\x6f\x6b", 22,
     2},
};

static void
test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        assert_int_equal(wr_utf8_valid_up_to(r->in, r->in_len), r->valid_up_to);
        assert_int_equal(wr_utf8_valid(r->in, r->in_len), r->valid_up_to == r->in_len);
        wr_buf b = {0};
        wr_utf8_lossy(r->in, r->in_len, &b);
        if (b.len != r->lossy_len || memcmp(b.data, r->lossy, b.len) != 0)
            fail_msg("row %zu: lossy output differs (len %zu, want %zu)", i, b.len, r->lossy_len);
        assert_non_null(b.data);
        assert_int_equal(b.data[b.len], '\0');
        /* The lossy output is always valid. */
        assert_true(wr_utf8_valid(b.data, b.len));
        wr_buf_fini(&b);
    }
}

static void
test_lossy_appends(void **state)
{
    (void)state;
    wr_buf b = {0};
    wr_buf_append_str(&b, "x=");
    wr_utf8_lossy("a\xff", 2, &b);
    assert_string_equal(b.data, "x=a\xef\xbf\xbd");
    wr_buf_fini(&b);
}

/* Reference: decode one sequence by bit arithmetic, then reject overlongs/surrogates/range. */
static bool
ref_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + k > n)
            return false;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k;
    }
    return true;
}

static void
test_exhaustive_against_reference(void **state)
{
    (void)state;
    uint8_t s[4];
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        assert_int_equal(wr_utf8_valid(s, 1), ref_valid(s, 1));
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            assert_int_equal(wr_utf8_valid(s, 2), ref_valid(s, 2));
            if (a < 0xe0 || a > 0xf7)
                continue;
            for (unsigned c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                if (wr_utf8_valid(s, 3) != ref_valid(s, 3))
                    fail_msg("%02x %02x %02x", a, b, c);
                if (a < 0xf0)
                    continue;
                static const uint8_t lasts[] = {0x00, 0x41, 0x7f, 0x80, 0x9f, 0xbf, 0xc0, 0xff};
                for (size_t d = 0; d < sizeof(lasts); d++) {
                    s[3] = lasts[d];
                    if (wr_utf8_valid(s, 4) != ref_valid(s, 4))
                        fail_msg("%02x %02x %02x %02x", a, b, c, s[3]);
                }
            }
        }
    }
}

static void
test_every_code_point_roundtrips(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        uint8_t s[4];
        size_t n;
        if (cp < 0x80) {
            s[0] = (uint8_t)cp, n = 1;
        } else if (cp < 0x800) {
            s[0] = (uint8_t)(0xc0 | cp >> 6), s[1] = (uint8_t)(0x80 | (cp & 0x3f)), n = 2;
        } else if (cp < 0x10000) {
            s[0] = (uint8_t)(0xe0 | cp >> 12), s[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
            s[2] = (uint8_t)(0x80 | (cp & 0x3f)), n = 3;
        } else {
            s[0] = (uint8_t)(0xf0 | cp >> 18), s[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
            s[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), s[3] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 4;
        }
        bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
        if (wr_utf8_valid(s, n) == surrogate)
            fail_msg("U+%04X", cp);
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_table), cmocka_unit_test(test_lossy_appends),
             cmocka_unit_test(test_exhaustive_against_reference),
             cmocka_unit_test(test_every_code_point_roundtrips))
