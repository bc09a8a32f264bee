/*
 * s2s.c — s2s frame parser and writers (see s2s.h for the byte layout).
 *
 * The parser is a two-state machine: collecting the 4-byte header (hdr_len < 4), then the body
 * (hdr_len == 4). A header is validated as soon as it is complete, so an oversized or terminal
 * frame fails before any of its body is buffered. A body that lies wholly inside one fed chunk
 * is delivered from the caller's memory without a copy; only a body split across chunks is
 * gathered in `frame`, which is allocated to exactly the body length (≤ 2 MiB).
 *
 * Decompression bounds the output at 2 MiB whatever the compressed input claims: zstd decodes
 * one-shot into a buffer of at most 2 MiB (one-shot decoding needs no separate window, so a
 * hostile window size costs nothing), gzip inflates in steps and stops at the limit. Buffers above
 * 64 KiB are released after each message so an idle session holds little memory.
 */
#include "s2/s2s.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "util/mem.h"

/* Buffers larger than this are freed after each message instead of kept for reuse. */
#define KEEP_BUF (64u * 1024u)

void
wr_s2s_parser_init(wr_s2s_parser *p)
{
    memset(p, 0, sizeof(*p));
    wr_buf_init(&p->frame);
}

static void
drop_out(wr_s2s_parser *p)
{
    free(p->out);
    p->out = NULL;
    p->out_cap = 0;
    p->out_len = 0;
}

void
wr_s2s_parser_fini(wr_s2s_parser *p)
{
    wr_buf_fini(&p->frame);
    drop_out(p);
    ZSTD_freeDCtx(p->zstd);
    memset(p, 0, sizeof(*p));
}

/* Records a failure (message already in p->error), after which the parser stays failed. */
static wr_err
failed(wr_s2s_parser *p, wr_error *e)
{
    p->failed = true;
    if (e != NULL)
        *e = p->error;
    return WR_ERR_BAD_FRAME;
}

#define FAIL(p, e, ...) (wr_error_set(&(p)->error, WR_ERR_BAD_FRAME, __VA_ARGS__), failed(p, e))

/* Validates a complete header and sets body_len/flag. */
static wr_err
check_header(wr_s2s_parser *p, wr_error *e)
{
    uint32_t n = (uint32_t)p->hdr[0] << 16 | (uint32_t)p->hdr[1] << 8 | p->hdr[2];
    if (n == 0)
        return FAIL(p, e, "s2s frame length is 0");
    if (n > WR_S2S_MAX_FRAME)
        return FAIL(p, e, "s2s frame of %u bytes exceeds the 2 MiB limit", (unsigned)n);
    p->flag = p->hdr[3];
    if (p->flag & WR_S2S_FLAG_TERMINAL)
        return FAIL(p, e, "terminal s2s frame (flag 0x%02x) from the client", p->flag);
    if ((p->flag & WR_S2S_CC_MASK) >> WR_S2S_CC_SHIFT == 3)
        return FAIL(p, e, "s2s frame with unknown compression (flag 0x%02x)", p->flag);
    p->body_len = n - 1;
    return WR_OK;
}

/* Makes p->out exactly `cap` bytes (≤ 2 MiB + 1), keeping its contents. */
static void
out_resize(wr_s2s_parser *p, size_t cap)
{
    if (cap != p->out_cap) {
        p->out = wr_xrealloc(p->out, cap);
        p->out_cap = cap;
    }
}

/* Decodes src into p->out with room for `cap` bytes; a zstd result code. */
static size_t
unzstd_into(wr_s2s_parser *p, const uint8_t *src, size_t n, size_t cap)
{
    if (p->out_cap < cap || p->out_cap == 0)
        out_resize(p, cap ? cap : 1);
    return ZSTD_decompressDCtx(p->zstd, p->out, cap, src, n);
}

/*
 * One-shot zstd decoding (every frame in src). The first frame's declared size, when present,
 * sizes the buffer; if more frames follow, decoding is retried with the full 2 MiB.
 */
static wr_err
unzstd(wr_s2s_parser *p, const uint8_t *src, size_t n, wr_error *e)
{
    unsigned long long size = ZSTD_getFrameContentSize(src, n);
    if (size == ZSTD_CONTENTSIZE_ERROR)
        return FAIL(p, e, "zstd s2s message is corrupt (bad frame header)");
    if (size != ZSTD_CONTENTSIZE_UNKNOWN && size > WR_S2S_MAX_MSG)
        return FAIL(p, e, "decompressed s2s message of %llu bytes exceeds the 2 MiB limit", size);
    if (p->zstd == NULL && (p->zstd = ZSTD_createDCtx()) == NULL)
        return FAIL(p, e, "zstd s2s message: out of memory");
    size_t cap = size == ZSTD_CONTENTSIZE_UNKNOWN ? WR_S2S_MAX_MSG : (size_t)size;
    size_t got = unzstd_into(p, src, n, cap);
    if (ZSTD_isError(got) && ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall &&
        cap < WR_S2S_MAX_MSG)
        got = unzstd_into(p, src, n, WR_S2S_MAX_MSG);
    if (ZSTD_isError(got) && ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall)
        return FAIL(p, e, "decompressed s2s message exceeds the 2 MiB limit");
    if (ZSTD_isError(got))
        return FAIL(p, e, "zstd s2s message is corrupt: %s", ZSTD_getErrorName(got));
    p->out_len = got;
    return WR_OK;
}

/* One inflate step into the free end of p->out, which grows to at most 2 MiB + 1 bytes. */
static int
inflate_step(wr_s2s_parser *p, z_stream *z)
{
    if (p->out_len == p->out_cap) {
        size_t cap = p->out_cap < KEEP_BUF / 2 ? KEEP_BUF : 2 * p->out_cap;
        out_resize(p, cap > WR_S2S_MAX_MSG + 1 ? WR_S2S_MAX_MSG + 1 : cap);
    }
    size_t room = p->out_cap - p->out_len;
    z->next_out = p->out + p->out_len;
    z->avail_out = (uInt)room;
    int rc = inflate(z, Z_NO_FLUSH);
    p->out_len += room - z->avail_out;
    return rc;
}

/* Inflates one or more concatenated gzip members. */
static wr_err
gunzip(wr_s2s_parser *p, const uint8_t *src, size_t n, wr_error *e)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return FAIL(p, e, "gzip s2s message: zlib init failed");
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    p->out_len = 0;
    wr_err err = WR_OK;
    for (;;) {
        int rc = inflate_step(p, &z);
        if (p->out_len > WR_S2S_MAX_MSG) {
            err = FAIL(p, e, "decompressed s2s message exceeds the 2 MiB limit");
            break;
        }
        if (rc == Z_STREAM_END && z.avail_in == 0)
            break;
        if (rc == Z_STREAM_END)
            rc = inflateReset(&z);
        if (rc != Z_OK) {
            err = FAIL(p, e, "gzip s2s message is corrupt (%s)", z.msg ? z.msg : "truncated");
            break;
        }
    }
    inflateEnd(&z);
    return err;
}

/* Decompresses as the flag says and hands the message to on_msg. */
static wr_err
deliver(wr_s2s_parser *p, const uint8_t *body, size_t n,
        void (*on_msg)(void *, const uint8_t *, size_t), void *ud, wr_error *e)
{
    unsigned cc = (p->flag & WR_S2S_CC_MASK) >> WR_S2S_CC_SHIFT;
    if (cc == WR_S2S_CC_NONE) {
        on_msg(ud, body, n);
        return WR_OK;
    }
    if (n == 0)
        return FAIL(p, e, "compressed s2s frame with an empty body (flag 0x%02x)", p->flag);
    wr_err err = cc == WR_S2S_CC_ZSTD ? unzstd(p, body, n, e) : gunzip(p, body, n, e);
    if (err != WR_OK)
        return err;
    on_msg(ud, p->out, p->out_len);
    if (p->out_cap > KEEP_BUF)
        drop_out(p);
    return WR_OK;
}

/* Ends the current frame: back to collecting a header, dropping a large gather buffer. */
static void
next_frame(wr_s2s_parser *p)
{
    p->hdr_len = 0;
    wr_buf_reset(&p->frame);
    if (p->frame.cap > KEEP_BUF)
        wr_buf_fini(&p->frame);
}

wr_err
wr_s2s_parser_feed(wr_s2s_parser *p, const uint8_t *data, size_t len,
                   void (*on_msg)(void *ud, const uint8_t *msg, size_t len), void *ud,
                   wr_error *out_err)
{
    wr_err err = WR_OK;
    while (!p->failed && len > 0) {
        if (p->hdr_len < WR_S2S_HEADER_LEN) {
            size_t take = WR_S2S_HEADER_LEN - p->hdr_len;
            take = take < len ? take : len;
            memcpy(p->hdr + p->hdr_len, data, take);
            p->hdr_len += take, data += take, len -= take;
            if (p->hdr_len < WR_S2S_HEADER_LEN || (err = check_header(p, out_err)) != WR_OK)
                continue;
            if (p->body_len > len) {
                wr_buf_reserve(&p->frame, p->body_len);
            } else { /* the whole body is here: deliver it without a copy */
                err = deliver(p, data, p->body_len, on_msg, ud, out_err);
                data += p->body_len, len -= p->body_len;
                next_frame(p);
            }
            continue;
        }
        size_t take = p->body_len - p->frame.len;
        take = take < len ? take : len;
        wr_buf_append(&p->frame, data, take);
        data += take, len -= take;
        if (p->frame.len == p->body_len) {
            err = deliver(p, (const uint8_t *)p->frame.data, p->body_len, on_msg, ud, out_err);
            next_frame(p);
        }
    }
    if (p->failed && out_err != NULL)
        *out_err = p->error;
    return p->failed ? WR_ERR_BAD_FRAME : err;
}

static void
put_header(wr_buf *out, size_t n, uint8_t flag)
{
    uint8_t h[WR_S2S_HEADER_LEN] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, flag};
    wr_buf_append(out, h, sizeof(h));
}

void
wr_s2s_frame(wr_buf *out, const void *msg, size_t len)
{
    wr_buf_reserve(out, WR_S2S_HEADER_LEN + len);
    put_header(out, len + 1, 0);
    wr_buf_append(out, msg, len);
}

void
wr_s2s_terminal(wr_buf *out, int http_status, const char *json, size_t json_len)
{
    wr_buf_reserve(out, WR_S2S_HEADER_LEN + 2 + json_len);
    put_header(out, json_len + 3, WR_S2S_FLAG_TERMINAL);
    uint8_t st[2] = {(uint8_t)(http_status >> 8), (uint8_t)http_status};
    wr_buf_append(out, st, 2);
    wr_buf_append(out, json, json_len);
}
