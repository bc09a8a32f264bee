/*
 * test_hex.c — util/hex.h: round trip, and strict decoding (exactly two hex digits a byte).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_main.h"
#include "util/hex.h"

static void
test_round_trip(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char text[2 * sizeof(in) + 1];
    wr_hex_encode(in, sizeof(in), text);
    assert_string_equal(text, "00017f80abff");
    uint8_t out[sizeof(in)];
    assert_true(wr_hex_decode(text, out, sizeof(out)));
    assert_memory_equal(in, out, sizeof(in));
    assert_true(wr_hex_decode("00017F80ABFF", out, sizeof(out))); /* either case */
    assert_memory_equal(in, out, sizeof(in));
    assert_true(wr_hex_decode("", out, 0));
}

static void
test_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {"0", "000", "0g", "g0", "-f", " f", "+f", "f ", "0x", "\x80\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t out[2];
        size_t n = strlen(bad[i]) == 2 ? 1 : 2;
        if (wr_hex_decode(bad[i], out, n))
            fail_msg("accepted `%s`", bad[i]);
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_round_trip), cmocka_unit_test(test_rejects))
