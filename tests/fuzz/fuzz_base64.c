/*
 * fuzz_base64.c — strict base64 (util/base64.h) on arbitrary strings and bytes.
 *
 * Checks: decoding accepts only canonical encodings, so whatever decodes re-encodes to exactly
 * the input; decoding fits the advertised bound and agrees between the buffer and in-place
 * forms; a rejected input leaves the output buffer untouched; any bytes encode to the
 * advertised length and decode back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "util/base64.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    wr_buf dec = {0};
    wr_buf_append(&dec, "keep", 4);
    bool ok = wr_base64_decode(s, size, &dec);
    FUZZ_CHECK(memcmp(dec.data, "keep", 4) == 0);
    if (ok) {
        size_t n = dec.len - 4;
        FUZZ_CHECK(n <= wr_base64_decoded_max(size));
        wr_buf enc = {0};
        wr_base64_encode(dec.data + 4, n, &enc);
        FUZZ_CHECK(enc.len == size && (size == 0 || memcmp(enc.data, s, size) == 0));
        wr_buf_fini(&enc);
    } else {
        FUZZ_CHECK(dec.len == 4);
    }
    /* the in-place form agrees */
    uint8_t *copy = wr_xmalloc(size + 1);
    memcpy(copy, data, size);
    size_t n2 = 0;
    bool ok2 = wr_base64_decode_to((const char *)copy, size, copy, &n2);
    FUZZ_CHECK(ok2 == ok);
    if (ok)
        FUZZ_CHECK(n2 == dec.len - 4 && (n2 == 0 || memcmp(copy, dec.data + 4, n2) == 0));
    free(copy);
    wr_buf_fini(&dec);

    /* the input as bytes: encode, then decode back */
    wr_buf enc = {0}, back = {0};
    wr_base64_encode(data, size, &enc);
    FUZZ_CHECK(enc.len == wr_base64_encoded_len(size));
    FUZZ_CHECK(wr_base64_decode(enc.data ? enc.data : "", enc.len, &back));
    FUZZ_CHECK(back.len == size && (size == 0 || memcmp(back.data, data, size) == 0));
    wr_buf_fini(&enc);
    wr_buf_fini(&back);
    return 0;
}
