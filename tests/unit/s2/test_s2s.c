/*
 * test_s2s.c — s2s framing (s2/s2s.h): streams of frames fed split at every byte boundary,
 * zstd and gzip bodies, the 2 MiB limits on both sides of the boundary, one row per class of
 * bad frame (after which the parser stays failed), and the writers' exact bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "s2/s2s.h"
#include "util/mem.h"

#define MIB (1024u * 1024u)

/* Every delivered message, concatenated, with each one's length. */
typedef struct sink {
    wr_buf bytes;
    size_t lens[64];
    size_t n;
} sink;

static void
on_msg(void *ud, const uint8_t *msg, size_t len)
{
    sink *s = ud;
    assert_true(s->n < 64);
    s->lens[s->n++] = len;
    wr_buf_append(&s->bytes, msg, len);
}

static void
frame_with_flag(wr_buf *out, uint8_t flag, const void *body, size_t len)
{
    size_t n = len + 1;
    uint8_t h[4] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, flag};
    wr_buf_append(out, h, 4);
    wr_buf_append(out, body, len);
}

static void
zstd_frame(wr_buf *out, const void *msg, size_t len, bool content_size)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
    size_t cap = ZSTD_compressBound(len);
    uint8_t *z = wr_xmalloc(cap);
    size_t zn;
    if (content_size) {
        zn = ZSTD_compress2(c, z, cap, msg, len);
    } else { /* streaming without a pledged size leaves the content size unknown */
        ZSTD_outBuffer ob = {z, cap, 0};
        ZSTD_inBuffer ib = {msg, len, 0};
        assert_int_equal(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end), 0);
        zn = ob.pos;
        assert_int_equal(ZSTD_getFrameContentSize(z, zn), ZSTD_CONTENTSIZE_UNKNOWN);
    }
    assert_false(ZSTD_isError(zn));
    frame_with_flag(out, WR_S2S_CC_ZSTD << WR_S2S_CC_SHIFT, z, zn);
    free(z);
    ZSTD_freeCCtx(c);
}

/* Appends gzip member(s) of msg to `out` (raw, no frame header). */
static void
gzip_bytes(wr_buf *out, const void *msg, size_t len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, len);
    wr_buf_reserve(out, cap);
    z.next_in = (Bytef *)msg;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    out->len += cap - z.avail_out;
    deflateEnd(&z);
}

static void
gzip_frame(wr_buf *out, const void *msg, size_t len)
{
    wr_buf gz = {0};
    gzip_bytes(&gz, msg, len);
    frame_with_flag(out, WR_S2S_CC_GZIP << WR_S2S_CC_SHIFT, gz.data, gz.len);
    wr_buf_fini(&gz);
}

static uint8_t *
pattern(size_t n, unsigned seed)
{
    uint8_t *p = wr_xmalloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31 + seed) ^ (i >> 7));
    return p;
}

/* A stream of varied frames and the messages it must yield. */
typedef struct fixture {
    wr_buf wire;
    wr_buf want; /* messages concatenated */
    size_t lens[8];
    size_t n;
} fixture;

static void
add(fixture *f, const uint8_t *msg, size_t len)
{
    wr_buf_append(&f->want, msg, len);
    f->lens[f->n++] = len;
}

static void
build_fixture(fixture *f)
{
    memset(f, 0, sizeof(*f));
    uint8_t *big = pattern(3000, 7);
    wr_s2s_frame(&f->wire, "", 0); /* an empty message (length 1) is legal */
    add(f, (const uint8_t *)"", 0);
    wr_s2s_frame(&f->wire, "\x0a\x02\x1a\x00", 4);
    add(f, (const uint8_t *)"\x0a\x02\x1a\x00", 4);
    zstd_frame(&f->wire, big, 3000, true);
    add(f, big, 3000);
    gzip_frame(&f->wire, big, 2000);
    add(f, big, 2000);
    /* reserved and "reconnect advised" bits are ignored */
    frame_with_flag(&f->wire, WR_S2S_FLAG_RECONNECT | 0x0f, "xyz", 3);
    add(f, (const uint8_t *)"xyz", 3);
    zstd_frame(&f->wire, big + 5, 1500, false);
    add(f, big + 5, 1500);
    free(big);
}

static void
check_sink(const sink *s, const fixture *f)
{
    assert_int_equal(s->n, f->n);
    for (size_t i = 0; i < f->n; i++)
        assert_int_equal(s->lens[i], f->lens[i]);
    assert_int_equal(s->bytes.len, f->want.len);
    assert_memory_equal(s->bytes.data, f->want.data, f->want.len);
}

static void
fixture_fini(fixture *f)
{
    wr_buf_fini(&f->wire);
    wr_buf_fini(&f->want);
}

static void
test_split_at_every_byte(void **state)
{
    (void)state;
    fixture f;
    build_fixture(&f);
    const uint8_t *w = (const uint8_t *)f.wire.data;
    for (size_t k = 0; k <= f.wire.len; k++) {
        wr_s2s_parser p;
        wr_s2s_parser_init(&p);
        sink s = {0};
        wr_error e = {0};
        assert_int_equal(wr_s2s_parser_feed(&p, w, k, on_msg, &s, &e), WR_OK);
        assert_int_equal(wr_s2s_parser_feed(&p, w + k, f.wire.len - k, on_msg, &s, &e), WR_OK);
        check_sink(&s, &f);
        assert_int_equal(p.hdr_len, 0);
        wr_buf_fini(&s.bytes);
        wr_s2s_parser_fini(&p);
    }
    fixture_fini(&f);
}

static void
test_one_byte_at_a_time_and_all_at_once(void **state)
{
    (void)state;
    fixture f;
    build_fixture(&f);
    wr_s2s_parser p;
    wr_s2s_parser_init(&p);
    sink s = {0};
    for (size_t i = 0; i < f.wire.len; i++)
        assert_int_equal(
            wr_s2s_parser_feed(&p, (const uint8_t *)f.wire.data + i, 1, on_msg, &s, NULL), WR_OK);
    check_sink(&s, &f);
    /* the same parser then takes every frame in a single feed */
    sink s2 = {0};
    assert_int_equal(
        wr_s2s_parser_feed(&p, (const uint8_t *)f.wire.data, f.wire.len, on_msg, &s2, NULL), WR_OK);
    check_sink(&s2, &f);
    /* an empty feed is a no-op */
    assert_int_equal(wr_s2s_parser_feed(&p, NULL, 0, on_msg, &s2, NULL), WR_OK);
    assert_int_equal(s2.n, f.n);
    wr_buf_fini(&s.bytes);
    wr_buf_fini(&s2.bytes);
    wr_s2s_parser_fini(&p);
    fixture_fini(&f);
}

static void
test_multi_member_and_multi_frame(void **state)
{
    (void)state;
    uint8_t *a = pattern(1200, 1), *b = pattern(1300, 2);
    wr_buf want = {0}, wire = {0}, gz = {0};
    wr_buf_append(&want, a, 1200);
    wr_buf_append(&want, b, 1300);
    gzip_bytes(&gz, a, 1200);
    gzip_bytes(&gz, b, 1300);
    frame_with_flag(&wire, WR_S2S_CC_GZIP << WR_S2S_CC_SHIFT, gz.data, gz.len);
    /* two zstd frames in one body: the first declares its size, the second does not */
    size_t cap = ZSTD_compressBound(1200) + ZSTD_compressBound(1300);
    uint8_t *z = wr_xmalloc(cap);
    size_t n1 = ZSTD_compress(z, cap, a, 1200, 3);
    wr_buf zw = {0};
    zstd_frame(&zw, b, 1300, false);
    memcpy(z + n1, zw.data + 4, zw.len - 4);
    frame_with_flag(&wire, WR_S2S_CC_ZSTD << WR_S2S_CC_SHIFT, z, n1 + zw.len - 4);

    wr_s2s_parser p;
    wr_s2s_parser_init(&p);
    sink s = {0};
    assert_int_equal(wr_s2s_parser_feed(&p, (const uint8_t *)wire.data, wire.len, on_msg, &s, NULL),
                     WR_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.lens[0], 2500);
    assert_int_equal(s.lens[1], 2500);
    assert_memory_equal(s.bytes.data, want.data, 2500);
    assert_memory_equal(s.bytes.data + 2500, want.data, 2500);
    wr_s2s_parser_fini(&p);
    free(a), free(b), free(z);
    wr_buf_fini(&want), wr_buf_fini(&wire), wr_buf_fini(&gz), wr_buf_fini(&zw);
    wr_buf_fini(&s.bytes);
}

/* Feeds `wire` in pieces of `chunk` bytes; returns the first error. */
static wr_err
feed_chunked(wr_s2s_parser *p, const wr_buf *wire, size_t chunk, sink *s, wr_error *e)
{
    for (size_t off = 0; off < wire->len; off += chunk) {
        size_t n = wire->len - off < chunk ? wire->len - off : chunk;
        wr_err err = wr_s2s_parser_feed(p, (const uint8_t *)wire->data + off, n, on_msg, s, e);
        if (err != WR_OK)
            return err;
    }
    return WR_OK;
}

static void
test_limits_accepted(void **state)
{
    (void)state;
    uint8_t *max = pattern(MIB * 2, 9);
    wr_buf wire = {0};
    wr_s2s_frame(&wire, max, 2 * MIB - 1); /* length field exactly 2 MiB */
    zstd_frame(&wire, max, 2 * MIB, true); /* decompressed exactly 2 MiB */
    zstd_frame(&wire, max, 2 * MIB, false);
    gzip_frame(&wire, max, 2 * MIB);
    wr_s2s_parser p;
    wr_s2s_parser_init(&p);
    sink s = {0};
    assert_int_equal(feed_chunked(&p, &wire, 16384, &s, NULL), WR_OK);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.lens[0], 2 * MIB - 1);
    for (size_t i = 1; i < 4; i++) {
        assert_int_equal(s.lens[i], 2 * MIB);
        assert_memory_equal(s.bytes.data + (2 * MIB - 1) + (i - 1) * 2 * MIB, max, 2 * MIB);
    }
    /* large buffers are released once their message has been delivered */
    assert_true(p.frame.cap <= 64 * 1024);
    assert_true(p.out_cap <= 64 * 1024);
    wr_s2s_parser_fini(&p);
    free(max);
    wr_buf_fini(&wire);
    wr_buf_fini(&s.bytes);
}

typedef enum bad_kind {
    RAW,       /* the bytes as given */
    ZSTD_BIG,  /* zstd of 2 MiB + 1 bytes, declared size */
    ZSTD_BIGU, /* zstd of 2 MiB + 1 bytes, no declared size */
    GZIP_BIG,  /* gzip of 2 MiB + 1 bytes */
    GZIP_CUT,  /* a gzip body missing its last 3 bytes */
    ZSTD_CUT,  /* a zstd body missing its last byte */
    GZIP_TAIL, /* a gzip member followed by junk */
} bad_kind;

static const struct {
    const char *name;
    bad_kind kind;
    const char *bytes;
    size_t len;
    const char *msg; /* a substring of the error message */
} bad_frames[] = {
    {"length 0", RAW, "\x00\x00\x00\x00", 4, "length is 0"},
    {"length 2 MiB + 1", RAW, "\x20\x00\x01\x00", 4, "exceeds the 2 MiB"},
    {"length 16 MiB - 1", RAW, "\xff\xff\xff\x00", 4, "exceeds the 2 MiB"},
    {"terminal", RAW, "\x00\x00\x03\x80\x01\x9c", 6, "terminal"},
    {"terminal with zstd bits", RAW, "\x00\x00\x01\xa0", 4, "terminal"},
    {"compression 11", RAW, "\x00\x00\x02\x60\x00", 5, "unknown compression"},
    {"compression 11 + reserved", RAW, "\x00\x00\x01\x7f", 4, "unknown compression"},
    {"empty zstd", RAW, "\x00\x00\x01\x20", 4, "empty body"},
    {"empty gzip", RAW, "\x00\x00\x01\x40", 4, "empty body"},
    {"corrupt zstd", RAW, "\x00\x00\x05\x20\xde\xad\xbe\xef", 8, "zstd"},
    {"zstd magic, bad frame", RAW, "\x00\x00\x07\x20\x28\xb5\x2f\xfd\xff\xff", 10, "zstd"},
    {"corrupt gzip", RAW, "\x00\x00\x05\x40\xde\xad\xbe\xef", 8, "gzip"},
    {"gzip header only", RAW, "\x00\x00\x0b\x40\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 14,
     "gzip"},
    {"zstd over 2 MiB", ZSTD_BIG, NULL, 0, "exceeds the 2 MiB"},
    {"zstd over 2 MiB, size unknown", ZSTD_BIGU, NULL, 0, "exceeds the 2 MiB"},
    {"gzip over 2 MiB", GZIP_BIG, NULL, 0, "exceeds the 2 MiB"},
    {"truncated gzip", GZIP_CUT, NULL, 0, "gzip"},
    {"truncated zstd", ZSTD_CUT, NULL, 0, "zstd"},
    {"gzip + junk", GZIP_TAIL, NULL, 0, "gzip"},
};

static void
make_bad(bad_kind kind, wr_buf *wire)
{
    size_t n = kind == GZIP_CUT || kind == ZSTD_CUT || kind == GZIP_TAIL ? 4000 : 2 * MIB + 1;
    uint8_t *m = calloc(n, 1);
    assert_non_null(m);
    wr_buf tmp = {0};
    switch (kind) {
    case ZSTD_BIG:
        zstd_frame(wire, m, n, true);
        break;
    case ZSTD_BIGU:
        zstd_frame(wire, m, n, false);
        break;
    case GZIP_BIG:
        gzip_frame(wire, m, n);
        break;
    case GZIP_CUT:
    case GZIP_TAIL:
        gzip_bytes(&tmp, m, n);
        if (kind == GZIP_CUT)
            tmp.len -= 3;
        else
            wr_buf_append(&tmp, "junk", 4);
        frame_with_flag(wire, WR_S2S_CC_GZIP << WR_S2S_CC_SHIFT, tmp.data, tmp.len);
        break;
    case ZSTD_CUT:
        zstd_frame(&tmp, m, n, true);
        tmp.data[2]--; /* shorten the length field by one, drop the last byte */
        wr_buf_append(wire, tmp.data, tmp.len - 1);
        break;
    case RAW:
        break;
    }
    wr_buf_fini(&tmp);
    free(m);
}

static void
test_bad_frames(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_frames) / sizeof(bad_frames[0]); i++) {
        wr_buf wire = {0};
        wr_s2s_frame(&wire, "ok", 2); /* a good message first: it must still be delivered */
        if (bad_frames[i].kind == RAW)
            wr_buf_append(&wire, bad_frames[i].bytes, bad_frames[i].len);
        else
            make_bad(bad_frames[i].kind, &wire);
        for (size_t chunk = 1; chunk <= wire.len; chunk = chunk < 8 ? chunk + 1 : chunk * 64) {
            wr_s2s_parser p;
            wr_s2s_parser_init(&p);
            sink s = {0};
            wr_error e = {0};
            wr_err err = feed_chunked(&p, &wire, chunk, &s, &e);
            if (err != WR_ERR_BAD_FRAME)
                print_error("row %zu (%s), chunk %zu: err %d\n", i, bad_frames[i].name, chunk, err);
            assert_int_equal(err, WR_ERR_BAD_FRAME);
            assert_int_equal(e.code, WR_ERR_BAD_FRAME);
            if (strstr(e.msg, bad_frames[i].msg) == NULL)
                print_error("row %zu (%s): message \"%s\"\n", i, bad_frames[i].name, e.msg);
            assert_non_null(strstr(e.msg, bad_frames[i].msg));
            assert_int_equal(s.n, 1);
            /* failed for good: a valid frame is neither consumed nor delivered */
            wr_error e2 = {0};
            assert_int_equal(
                wr_s2s_parser_feed(&p, (const uint8_t *)"\x00\x00\x01\x00", 4, on_msg, &s, &e2),
                WR_ERR_BAD_FRAME);
            assert_string_equal(e2.msg, e.msg);
            assert_int_equal(s.n, 1);
            wr_buf_fini(&s.bytes);
            wr_s2s_parser_fini(&p);
        }
        wr_buf_fini(&wire);
    }
}

static void
test_writers(void **state)
{
    (void)state;
    wr_buf b = {0};
    const char *json = "{\"seq_num_mismatch\":5}";
    wr_s2s_terminal(&b, 412, json, strlen(json));
    assert_int_equal(b.len, 4 + 2 + 22);
    assert_memory_equal(b.data, "\x00\x00\x19\x80\x01\x9c", 6);
    assert_memory_equal(b.data + 6, json, 22);

    wr_buf_reset(&b);
    wr_s2s_frame(&b, "\x0a\x00", 2);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "\x00\x00\x03\x00\x0a\x00", 6);

    /* a large frame's 3-byte length, appended after existing bytes */
    uint8_t *m = pattern(70000, 3);
    wr_s2s_frame(&b, m, 70000);
    assert_int_equal(b.len, 6 + 4 + 70000);
    assert_memory_equal(b.data + 6, "\x01\x11\x71\x00", 4); /* 70001 = 0x011171 */
    assert_memory_equal(b.data + 10, m, 70000);
    free(m);

    /* writer output parses back (apart from the terminal frame, which clients never send) */
    wr_s2s_parser p;
    wr_s2s_parser_init(&p);
    sink s = {0};
    assert_int_equal(wr_s2s_parser_feed(&p, (const uint8_t *)b.data, b.len, on_msg, &s, NULL),
                     WR_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.lens[1], 70000);
    wr_s2s_parser_fini(&p);
    wr_buf_fini(&s.bytes);

    wr_buf_reset(&b);
    wr_s2s_terminal(&b, 416, "{}", 2);
    assert_memory_equal(b.data, "\x00\x00\x05\x80\x01\xa0{}", 8);
    wr_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_at_every_byte),
        cmocka_unit_test(test_one_byte_at_a_time_and_all_at_once),
        cmocka_unit_test(test_multi_member_and_multi_frame),
        cmocka_unit_test(test_limits_accepted),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
