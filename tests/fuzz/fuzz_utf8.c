/*
 * fuzz_utf8.c — UTF-8 validation and lossy conversion (util/utf8.h).
 *
 * Checks: valid() agrees with valid_up_to() == len; the valid prefix really is valid; lossy
 * output is always valid, equals the input when the input is valid, starts with the valid
 * prefix, and is idempotent; a one-byte-at-a-time reference decoder agrees on validity.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "util/utf8.h"

/* A deliberately simple reference validator (Unicode Table 3-7). */
static bool
ref_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += len;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool valid = wr_utf8_valid(data, size);
    size_t up_to = wr_utf8_valid_up_to(data, size);
    FUZZ_CHECK(up_to <= size && valid == (up_to == size));
    FUZZ_CHECK(valid == ref_valid(data, size));
    FUZZ_CHECK(wr_utf8_valid(data, up_to));

    wr_buf lossy = {0}, again = {0};
    wr_utf8_lossy(data, size, &lossy);
    const char *l = lossy.data ? lossy.data : "";
    FUZZ_CHECK(wr_utf8_valid(l, lossy.len));
    FUZZ_CHECK(lossy.len >= up_to && (up_to == 0 || memcmp(l, data, up_to) == 0));
    if (valid)
        FUZZ_CHECK(lossy.len == size && (size == 0 || memcmp(l, data, size) == 0));
    wr_utf8_lossy(l, lossy.len, &again);
    FUZZ_CHECK(again.len == lossy.len && (again.len == 0 || memcmp(again.data, l, again.len) == 0));
    wr_buf_fini(&lossy);
    wr_buf_fini(&again);
    return 0;
}
