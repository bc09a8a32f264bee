/*
 * fuzz_pct.c — percent-decoding (util/pct.h) in path and query modes.
 *
 * Checks: the buffer and in-place decoders agree; a failed decode leaves the buffer as it was;
 * decoded bytes re-encode to a string that decodes back to them in both modes; path and query
 * decoding differ only where the input has '+'; encoding arbitrary bytes round-trips.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "util/mem.h"
#include "util/pct.h"

static void
check_roundtrip(const char *raw, size_t len)
{
    wr_buf enc = {0};
    wr_pct_encode(raw, len, &enc);
    for (int m = 0; m < 2; m++) {
        wr_buf back = {0};
        FUZZ_CHECK(wr_pct_decode(enc.data ? enc.data : "", enc.len, m ? WR_PCT_QUERY : WR_PCT_PATH,
                                 &back));
        FUZZ_CHECK(back.len == len && (len == 0 || memcmp(back.data, raw, len) == 0));
        wr_buf_fini(&back);
    }
    wr_buf_fini(&enc);
}

static bool
decode_mode(const char *s, size_t size, wr_pct_mode mode, wr_buf *out)
{
    wr_buf_append(out, "pre", 3);
    bool ok = wr_pct_decode(s, size, mode, out);
    FUZZ_CHECK(memcmp(out->data, "pre", 3) == 0 && (ok || out->len == 3));
    char *copy = wr_xmalloc(size + 1);
    memcpy(copy, s, size);
    size_t n = 0;
    bool ok2 = wr_pct_decode_to(copy, size, mode, copy, &n);
    FUZZ_CHECK(ok2 == ok);
    if (ok) {
        FUZZ_CHECK(n == out->len - 3 && n <= size && copy[n] == '\0');
        FUZZ_CHECK(n == 0 || memcmp(copy, out->data + 3, n) == 0);
        check_roundtrip(out->data + 3, n);
    }
    free(copy);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    wr_buf path = {0}, query = {0};
    bool okp = decode_mode(s, size, WR_PCT_PATH, &path);
    bool okq = decode_mode(s, size, WR_PCT_QUERY, &query);
    FUZZ_CHECK(okp == okq);
    if (okp && memchr(s, '+', size) == NULL)
        FUZZ_CHECK(path.len == query.len && memcmp(path.data, query.data, path.len) == 0);
    wr_buf_fini(&path);
    wr_buf_fini(&query);
    check_roundtrip(s, size);
    return 0;
}
