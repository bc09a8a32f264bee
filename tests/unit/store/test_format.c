/*
 * test_format.c — on-disk formats: key families round-trip and order, CRC-32C vectors, batch
 * values round-trip, and every kind of corruption is reported as WR_ERR_STORAGE. Also the FNV-1a
 * vectors of util/hash.h, the hash behind the store's in-memory tables (its only user so far; it
 * belongs in tests/unit/util once other modules use it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/batch.h"
#include "store/crc32c.h"
#include "store/keys.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/mem.h"

static void
test_crc32c_vectors(void **state)
{
    (void)state;
    assert_int_equal(wr_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(wr_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = {0};
    assert_int_equal(wr_crc32c(0, zeros, 32), 0x8A9136AAu);
    /* Incremental equals one-shot; hardware equals software on odd lengths and offsets. */
    uint8_t buf[1031];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t off = 0; off < 9; off++) {
        size_t n = sizeof(buf) - off;
        uint32_t a = wr_crc32c(0, buf + off, n);
        assert_int_equal(a, wr_crc32c_sw(0, buf + off, n));
        assert_int_equal(a,
                         wr_crc32c(wr_crc32c(0, buf + off, n / 3), buf + off + n / 3, n - n / 3));
    }
}

/* Reference values of 64-bit FNV-1a (the offset basis is the hash of nothing); chaining two
 * calls equals one call over the concatenation. */
static void
test_fnv1a_vectors(void **state)
{
    (void)state;
    assert_true(wr_hash_fnv1a(WR_FNV1A_SEED, "", 0) == 0xcbf29ce484222325ull);
    assert_true(wr_hash_fnv1a(WR_FNV1A_SEED, "a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(wr_hash_fnv1a(WR_FNV1A_SEED, "foobar", 6) == 0x85944171f73967e8ull);
    assert_true(wr_hash_fnv1a(wr_hash_fnv1a(WR_FNV1A_SEED, "foo", 3), "bar", 3) ==
                0x85944171f73967e8ull);
}

static void
test_keys_roundtrip(void **state)
{
    (void)state;
    uint8_t k[WR_KEY_TS_LEN];
    uint64_t id, seq, ts;
    wr_key_batch(k, 0x0102030405060708ull, 42);
    assert_int_equal(k[0], 0x06);
    assert_true(wr_key_batch_decode(k, WR_KEY_BATCH_LEN, &id, &seq));
    assert_int_equal(id, 0x0102030405060708ull);
    assert_int_equal(seq, 42);
    assert_false(wr_key_batch_decode(k, WR_KEY_BATCH_LEN - 1, &id, &seq));
    wr_key_ts_index(k, 7, 1755770000123ull, 99);
    assert_int_equal(k[0], 0x07);
    assert_true(wr_key_ts_index_decode(k, WR_KEY_TS_LEN, &id, &ts, &seq));
    assert_int_equal(id, 7);
    assert_int_equal(ts, 1755770000123ull);
    assert_int_equal(seq, 99);
    uint8_t kid[WR_KEY_ID_LEN];
    const uint8_t types[] = {0x03, 0x04, 0x05, 0x09};
    for (size_t i = 0; i < sizeof(types); i++) {
        wr_key_stream_id(kid, types[i], 12345);
        assert_int_equal(kid[0], types[i]);
        assert_true(wr_key_stream_id_decode(kid, sizeof(kid), types[i], &id));
        assert_int_equal(id, 12345);
        assert_false(wr_key_stream_id_decode(kid, sizeof(kid), types[i] + 1, &id));
    }
    uint8_t tv[WR_TAIL_VALUE_LEN];
    wr_tail_value(tv, 17, 1755770000123ull);
    assert_true(wr_tail_value_decode(tv, sizeof(tv), &seq, &ts));
    assert_int_equal(seq, 17);
    assert_int_equal(ts, 1755770000123ull);
    assert_false(wr_tail_value_decode(tv, 15, &seq, &ts));

    wr_buf b = {0};
    wr_key_basin_meta(&b, "my-basin-01", 11);
    assert_int_equal(b.len, 12);
    assert_int_equal((uint8_t)b.data[0], 0x01);
    assert_memory_equal(b.data + 1, "my-basin-01", 11);
    wr_key_stream_meta(&b, "my-basin-01", 11, "a/b c", 5);
    const char *bs, *ss;
    size_t bl, sl;
    assert_true(wr_key_stream_meta_decode((uint8_t *)b.data, b.len, true, &bs, &bl, &ss, &sl));
    assert_int_equal(bl, 11);
    assert_memory_equal(bs, "my-basin-01", 11);
    assert_int_equal(sl, 5);
    assert_memory_equal(ss, "a/b c", 5);
    /* As a STREAM_ID value (no type byte). */
    assert_true(
        wr_key_stream_meta_decode((uint8_t *)b.data + 1, b.len - 1, false, &bs, &bl, &ss, &sl));
    assert_false(wr_key_stream_meta_decode((uint8_t *)b.data, 3, true, &bs, &bl, &ss, &sl));
    wr_buf_fini(&b);
}

/* Big-endian keys sort numerically under bytewise comparison. */
static void
test_keys_order(void **state)
{
    (void)state;
    const uint64_t seqs[] = {0, 1, 255, 256, 65535, 1ull << 32, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i + 1 < sizeof(seqs) / sizeof(seqs[0]); i++) {
        uint8_t a[WR_KEY_BATCH_LEN], b[WR_KEY_BATCH_LEN];
        wr_key_batch(a, 5, seqs[i]);
        wr_key_batch(b, 5, seqs[i + 1]);
        assert_true(memcmp(a, b, sizeof(a)) < 0);
        wr_key_batch(b, 6, 0);
        assert_true(memcmp(a, b, sizeof(a)) < 0); /* every seq of id 5 before id 6 */
    }
}

static wr_batch *
sample_batch(void)
{
    wr_header h[3] = {
        {(const uint8_t *)"type", 4, (const uint8_t *)"created", 7},
        {(const uint8_t *)"dup", 3, (const uint8_t *)"", 0},
        {(const uint8_t *)"dup", 3, (const uint8_t *)"2", 1},
    };
    wr_append_record r[3] = {
        {.n_headers = 1, .headers = h, .body = (const uint8_t *)"hello", .body_len = 5},
        {.body = NULL, .body_len = 0},
        {.n_headers = 2, .headers = h + 1, .body = (const uint8_t *)"x\0y", .body_len = 3},
    };
    uint64_t ts[3] = {100, 100, 105};
    return wr_batch_build(9, 40, r, ts, 3);
}

static void
test_batch_roundtrip(void **state)
{
    (void)state;
    wr_batch *b = sample_batch();
    assert_int_equal(b->first_seq, 40);
    assert_int_equal(b->end_seq, 43);
    assert_int_equal(b->first_ts, 100);
    assert_int_equal(b->last_ts, 105);
    /* metered: (8+2+4+7+5) + 8 + (8+4+3+0+3+1+3) */
    assert_int_equal(b->metered_bytes, 26 + 8 + 22);
    size_t len;
    const uint8_t *bytes = wr_batch_bytes(b, &len);
    wr_batch *d;
    wr_error err;
    assert_int_equal(wr_batch_decode(9, wr_xmemdup(bytes, len), len, &d, &err), WR_OK);
    assert_int_equal(d->n_records, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(d->records[i].seq, 40 + i);
        assert_int_equal(d->records[i].ts_ms, b->records[i].ts_ms);
        assert_int_equal(d->records[i].n_headers, b->records[i].n_headers);
        assert_int_equal(d->records[i].body_len, b->records[i].body_len);
        assert_int_equal(d->records[i].metered, b->records[i].metered);
        if (d->records[i].body_len)
            assert_memory_equal(d->records[i].body, b->records[i].body, d->records[i].body_len);
        /* The built batch's views (filled while encoding) agree with the decoder's. */
        for (uint32_t h = 0; h < d->records[i].n_headers; h++) {
            const wr_header *x = &d->records[i].headers[h], *y = &b->records[i].headers[h];
            assert_int_equal(x->name_len, y->name_len);
            assert_int_equal(x->value_len, y->value_len);
            assert_memory_equal(x->name, y->name, x->name_len);
            assert_memory_equal(x->value, y->value, x->value_len);
        }
    }
    assert_null(b->records[1].headers);
    assert_int_equal(b->records[1].body_len, 0);
    assert_memory_equal(b->records[2].body, "x\0y", 3);
    assert_memory_equal(d->records[0].headers[0].name, "type", 4);
    assert_memory_equal(d->records[0].headers[0].value, "created", 7);
    assert_int_equal(d->records[2].headers[1].value_len, 1);
    assert_memory_equal(d->records[2].body, "x\0y", 3);
    uint64_t fs, lt;
    uint32_t n;
    assert_true(wr_batch_peek(bytes, len, &fs, &n, &lt));
    assert_int_equal(fs, 40);
    assert_int_equal(n, 3);
    assert_int_equal(lt, 105);
    wr_batch_unref(d);
    wr_batch_unref(b);
}

/* Format 2 carries arrival_ms; a format-1 value (header without it) still decodes, with
 * arrival = last_ts. */
static void
test_batch_format1(void **state)
{
    (void)state;
    wr_append_record r[2] = {{.body = (const uint8_t *)"a", .body_len = 1},
                             {.body = (const uint8_t *)"bc", .body_len = 2}};
    uint64_t ts[2] = {100, 105};
    wr_batch *b = wr_batch_build_at(9, 40, r, ts, 2, 7777);
    assert_int_equal(b->arrival_ms, 7777);
    size_t len;
    const uint8_t *bytes = wr_batch_bytes(b, &len);
    assert_int_equal(bytes[0], 2);
    uint64_t arrival = 0, fs, lt;
    uint32_t n;
    assert_true(wr_batch_peek_arrival(bytes, len, &arrival));
    assert_int_equal(arrival, 7777);
    wr_batch *d;
    wr_error err;
    assert_int_equal(wr_batch_decode(9, wr_xmemdup(bytes, len), len, &d, &err), WR_OK);
    assert_int_equal(d->arrival_ms, 7777);
    wr_batch_unref(d);

    /* The same records in the format-1 layout. */
    size_t len1 = len - 8;
    uint8_t *v1 = wr_xmalloc(len1);
    memcpy(v1, bytes, WR_BATCH_HEADER_LEN_V1);
    memcpy(v1 + WR_BATCH_HEADER_LEN_V1, bytes + WR_BATCH_HEADER_LEN, len - WR_BATCH_HEADER_LEN);
    v1[0] = WR_BATCH_FORMAT_V1;
    wr_put_be32(v1 + len1 - 4, wr_crc32c(0, v1, len1 - 4));
    assert_true(wr_batch_peek(v1, len1, &fs, &n, &lt));
    assert_int_equal(fs, 40);
    assert_int_equal(n, 2);
    assert_int_equal(lt, 105);
    assert_true(wr_batch_peek_arrival(v1, len1, &arrival));
    assert_int_equal(arrival, 105);
    assert_int_equal(wr_batch_decode(9, v1, len1, &d, &err), WR_OK);
    assert_int_equal(d->arrival_ms, 105);
    assert_int_equal(d->n_records, 2);
    assert_int_equal(d->records[1].seq, 41);
    assert_memory_equal(d->records[1].body, "bc", 2);
    wr_batch_unref(d);
    /* An unknown format is refused. */
    uint8_t *v3 = wr_xmemdup(bytes, len);
    v3[0] = 3;
    assert_false(wr_batch_peek_arrival(v3, len, &arrival));
    assert_int_equal(wr_batch_decode(9, v3, len, &d, &err), WR_ERR_STORAGE);
    wr_batch_unref(b);
}

static int enc_frees;
static void
enc_free(void *p)
{
    enc_frees++;
    free(p);
}

static void
test_batch_refs_and_cache(void **state)
{
    (void)state;
    enc_frees = 0;
    wr_batch *b = sample_batch();
    wr_batch_ref(b);
    assert_null(wr_batch_attachment(b));
    wr_batch_attach(b, wr_xstrdup("first"), enc_free);
    assert_string_equal(wr_batch_attachment(b), "first");
    wr_batch_attach(b, wr_xstrdup("second"), enc_free); /* replaces and frees */
    assert_int_equal(enc_frees, 1);
    assert_string_equal(wr_batch_attachment(b), "second");
    wr_batch_unref(b);
    assert_int_equal(enc_frees, 1);
    wr_batch_unref(b);
    assert_int_equal(enc_frees, 2);
    wr_batch_unref(NULL);
}

/* Every single-byte flip and every truncation is detected; nothing decodes to garbage. */
static void
test_batch_corruption(void **state)
{
    (void)state;
    wr_batch *b = sample_batch();
    size_t len;
    const uint8_t *bytes = wr_batch_bytes(b, &len);
    wr_error err;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            uint8_t *copy = wr_xmemdup(bytes, len);
            copy[i] ^= (uint8_t)(1u << bit);
            wr_batch *d = (wr_batch *)1;
            assert_int_equal(wr_batch_decode(9, copy, len, &d, &err), WR_ERR_STORAGE);
            assert_null(d);
        }
    }
    for (size_t cut = 0; cut < len; cut += 7) {
        wr_batch *d;
        assert_int_equal(wr_batch_decode(9, wr_xmemdup(bytes, len), cut, &d, &err), WR_ERR_STORAGE);
    }
    wr_batch_unref(b);
}

static void
test_metering(void **state)
{
    (void)state;
    wr_header h[2] = {{(const uint8_t *)"", 0, (const uint8_t *)"fence", 5},
                      {(const uint8_t *)"ab", 2, (const uint8_t *)"cde", 3}};
    assert_int_equal(wr_record_metered(NULL, 0, 0), 8);
    assert_int_equal(wr_record_metered(NULL, 0, 200), 208);
    assert_int_equal(wr_record_metered(h, 1, 3), 8 + 2 + 5 + 3);
    assert_int_equal(wr_record_metered(h, 2, 10), 8 + 4 + 5 + 5 + 10);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_fnv1a_vectors),
        cmocka_unit_test(test_keys_roundtrip),
        cmocka_unit_test(test_keys_order),
        cmocka_unit_test(test_batch_roundtrip),
        cmocka_unit_test(test_batch_format1),
        cmocka_unit_test(test_batch_refs_and_cache),
        cmocka_unit_test(test_batch_corruption),
        cmocka_unit_test(test_metering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
