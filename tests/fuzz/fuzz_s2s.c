/*
 * fuzz_s2s.c — the s2s frame parser (s2/s2s.h) on arbitrary client bytes.
 *
 * Input: byte 0 picks a chunk size (1–256), the rest is the body stream. The stream is parsed
 * twice — in one feed, and in chunks of that size — and both runs must deliver the same
 * messages and end in the same state, since DATA frame boundaries must never matter. Every
 * message must respect the 2 MiB limit, and each one re-framed with wr_s2s_frame() must parse
 * back to itself.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "s2/s2s.h"

typedef struct digest {
    uint64_t hash; /* FNV-1a over every message, each followed by its length */
    size_t n;
    size_t bytes;
} digest;

static void
mix(digest *d, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        d->hash = (d->hash ^ p[i]) * 1099511628211ull;
    for (size_t i = 0; i < sizeof(len); i++)
        d->hash = (d->hash ^ (uint8_t)(len >> (8 * i))) * 1099511628211ull;
}

static void
on_reframed(void *ud, const uint8_t *msg, size_t len)
{
    digest *d = ud;
    mix(d, msg, len);
    d->n++;
}

static void
on_msg(void *ud, const uint8_t *msg, size_t len)
{
    digest *d = ud;
    FUZZ_CHECK(len <= WR_S2S_MAX_MSG);
    mix(d, msg, len);
    d->n++;
    d->bytes += len;
    /* re-framing a delivered message yields it back, alone */
    wr_buf b = {0};
    wr_s2s_frame(&b, msg, len);
    wr_s2s_parser p;
    wr_s2s_parser_init(&p);
    digest a = {14695981039346656037ull, 0, 0}, want = {14695981039346656037ull, 0, 0};
    mix(&want, msg, len);
    FUZZ_CHECK(wr_s2s_parser_feed(&p, (const uint8_t *)b.data, b.len, on_reframed, &a, NULL) ==
               WR_OK);
    FUZZ_CHECK(a.n == 1 && a.hash == want.hash);
    wr_s2s_parser_fini(&p);
    wr_buf_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    data++, size--;

    wr_s2s_parser whole, pieces;
    wr_s2s_parser_init(&whole);
    wr_s2s_parser_init(&pieces);
    digest dw = {14695981039346656037ull, 0, 0}, dp = dw;
    wr_error ew = {0}, ep = {0};
    wr_err rw = wr_s2s_parser_feed(&whole, data, size, on_msg, &dw, &ew);
    wr_err rp = WR_OK;
    for (size_t off = 0; off < size && rp == WR_OK; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rp = wr_s2s_parser_feed(&pieces, data + off, n, on_msg, &dp, &ep);
    }
    FUZZ_CHECK(rw == rp);
    FUZZ_CHECK(rw == WR_OK || rw == WR_ERR_BAD_FRAME);
    FUZZ_CHECK(dw.n == dp.n && dw.hash == dp.hash && dw.bytes == dp.bytes);
    if (rw != WR_OK)
        FUZZ_CHECK(strcmp(ew.msg, ep.msg) == 0 && ew.code == WR_ERR_BAD_FRAME);
    else
        FUZZ_CHECK(whole.hdr_len == pieces.hdr_len && whole.frame.len == pieces.frame.len);
    wr_s2s_parser_fini(&whole);
    wr_s2s_parser_fini(&pieces);
    return 0;
}
