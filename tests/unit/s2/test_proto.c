/*
 * test_proto.c — the S2 protobuf codec (s2/proto.h) checked against protobuf-c: AppendInput
 * packed by protobuf-c decodes to the same records and conditions; AppendAck and ReadBatch
 * written by hand decode with protobuf-c to the same values; a batch's cached encoding equals
 * the direct one; one row per class of malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s2.pb-c.h"
#include "s2/proto.h"
#include "util/mem.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static ProtobufCBinaryData
bin(const char *s, size_t n)
{
    ProtobufCBinaryData d = {n, (uint8_t *)s};
    return d;
}

/* Packs an AppendInput with protobuf-c. */
static uint8_t *
pack_input(const S2__V1__AppendInput *in, size_t *out_len)
{
    size_t n = s2__v1__append_input__get_packed_size(in);
    uint8_t *p = wr_xmalloc(n);
    assert_int_equal(s2__v1__append_input__pack(in, p), n);
    *out_len = n;
    return p;
}

static void
assert_bytes(const uint8_t *p, size_t n, const char *want, size_t want_n)
{
    assert_int_equal(n, want_n);
    assert_non_null(p); /* views are never NULL, even when empty */
    if (n)
        assert_memory_equal(p, want, n);
}

static void
test_decode_full(void **state)
{
    (void)state;
    S2__V1__Header h[3] = {S2__V1__HEADER__INIT, S2__V1__HEADER__INIT, S2__V1__HEADER__INIT};
    h[0].has_name = h[0].has_value = true;
    h[0].name = bin("k", 1), h[0].value = bin("v\0w", 3);
    h[1].has_name = h[1].has_value = true; /* duplicate name, order kept */
    h[1].name = bin("k", 1), h[1].value = bin("2", 1);
    h[2].has_value = true; /* empty name: a command record */
    h[2].value = bin("fence", 5);
    S2__V1__Header *hp0[] = {&h[0], &h[1]}, *hp2[] = {&h[2]};
    S2__V1__AppendRecord r[3] = {S2__V1__APPEND_RECORD__INIT, S2__V1__APPEND_RECORD__INIT,
                                 S2__V1__APPEND_RECORD__INIT};
    r[0].has_timestamp = true, r[0].timestamp = UINT64_MAX;
    r[0].n_headers = 2, r[0].headers = hp0;
    r[0].has_body = true, r[0].body = bin("\x00\xff body", 7);
    /* r[1]: no fields at all */
    r[2].has_timestamp = true, r[2].timestamp = 0; /* present zero is still "given" */
    r[2].n_headers = 1, r[2].headers = hp2;
    r[2].has_body = true, r[2].body = bin("tok", 3);
    S2__V1__AppendRecord *rp[] = {&r[0], &r[1], &r[2]};
    S2__V1__AppendInput in = S2__V1__APPEND_INPUT__INIT;
    in.n_records = 3, in.records = rp;
    in.has_match_seq_num = true, in.match_seq_num = 0;
    in.fencing_token = "fénce";
    size_t len;
    uint8_t *wire = pack_input(&in, &len);

    wr_s2_append a;
    wr_error e = {0};
    assert_int_equal(wr_s2_append_from_proto(wire, len, &a, &e), WR_OK);
    memset(wire, 0xAA, len); /* the result must not borrow from the input */
    free(wire);
    assert_int_equal(a.in.n_records, 3);
    assert_ptr_equal(a.in.records, a.records);
    assert_true(a.in.has_match_seq);
    assert_int_equal(a.in.match_seq, 0);
    assert_int_equal(a.in.fencing_token_len, strlen("fénce"));
    assert_string_equal(a.in.fencing_token, "fénce");

    const wr_append_record *d = a.in.records;
    assert_true(d[0].has_ts);
    assert_true(d[0].ts_ms == UINT64_MAX);
    assert_int_equal(d[0].n_headers, 2);
    assert_bytes(d[0].headers[0].name, d[0].headers[0].name_len, "k", 1);
    assert_bytes(d[0].headers[0].value, d[0].headers[0].value_len, "v\0w", 3);
    assert_bytes(d[0].headers[1].value, d[0].headers[1].value_len, "2", 1);
    assert_bytes(d[0].body, d[0].body_len, "\x00\xff body", 7);
    assert_false(d[1].has_ts);
    assert_int_equal(d[1].n_headers, 0);
    assert_bytes(d[1].body, d[1].body_len, "", 0);
    assert_true(d[2].has_ts);
    assert_int_equal(d[2].ts_ms, 0);
    assert_int_equal(d[2].n_headers, 1);
    assert_bytes(d[2].headers[0].name, d[2].headers[0].name_len, "", 0);
    assert_bytes(d[2].headers[0].value, d[2].headers[0].value_len, "fence", 5);
    assert_bytes(d[2].body, d[2].body_len, "tok", 3);
    wr_s2_append_fini(&a);
}

static void
test_decode_optional_fields(void **state)
{
    (void)state;
    /* empty input: no records, no conditions */
    wr_s2_append a;
    assert_int_equal(wr_s2_append_from_proto(NULL, 0, &a, NULL), WR_OK);
    assert_int_equal(a.in.n_records, 0);
    assert_false(a.in.has_match_seq);
    assert_null(a.in.fencing_token);
    wr_s2_append_fini(&a);

    /* an empty fencing token is present (it must match an unset token), unlike an absent one */
    S2__V1__AppendInput in = S2__V1__APPEND_INPUT__INIT;
    in.fencing_token = "";
    in.has_match_seq_num = true, in.match_seq_num = 1ull << 40;
    size_t len;
    uint8_t *wire = pack_input(&in, &len);
    assert_int_equal(wr_s2_append_from_proto(wire, len, &a, NULL), WR_OK);
    assert_non_null(a.in.fencing_token);
    assert_int_equal(a.in.fencing_token_len, 0);
    assert_true(a.in.match_seq == 1ull << 40);
    wr_s2_append_fini(&a);
    free(wire);

    static const struct {
        const char *name;
        const char *wire;
        size_t len;
        const char *token;
        size_t token_len;
    } rows[] = {
        {"embedded NUL kept", "\x1a\003a\0b", 5, "a\0b", 3},
        {"last occurrence wins", "\x1a\x01x\x1a\x02yz", 7, "yz", 2},
        {"unknown fields skipped",
         "\x78\x05\x1a\x01t\x81\x01\x00\x00\x00\x00\x00\x00\x00\x00"
         "\x85\x01\x00\x00\x00\x00\x82\x01\x01z",
         25, "t", 1},
    };
    for (size_t i = 0; i < N(rows); i++) {
        wr_error e = {0};
        wr_err err = wr_s2_append_from_proto((const uint8_t *)rows[i].wire, rows[i].len, &a, &e);
        if (err != WR_OK)
            print_error("row %s: %s\n", rows[i].name, e.msg);
        assert_int_equal(err, WR_OK);
        assert_int_equal(a.in.fencing_token_len, rows[i].token_len);
        assert_memory_equal(a.in.fencing_token, rows[i].token, rows[i].token_len);
        assert_int_equal(a.in.fencing_token[rows[i].token_len], '\0');
        wr_s2_append_fini(&a);
    }
}

static const struct {
    const char *name;
    const char *wire;
    size_t len;
} malformed[] = {
    {"truncated tag varint", "\x80", 1},
    {"truncated records length", "\x0a", 1},
    {"records length past end", "\x0a\x05\x00", 3},
    {"records as varint", "\x08\x01", 2},
    {"match_seq_num as bytes", "\x12\x01\x00", 3},
    {"match_seq_num truncated", "\x10\xff", 2},
    {"varint over 10 bytes", "\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12},
    {"field number 0", "\x00\x00", 2},
    {"wire type 6", "\x0e\x00", 2},
    {"wire type 7", "\x0f\x00", 2},
    {"unknown fixed64 truncated", "\x79\x00\x00", 3},
    {"unknown length past end", "\x7a\x10", 2},
    {"record: header as varint", "\x0a\x02\x10\x01", 4},
    {"record: timestamp truncated", "\x0a\x02\x08\x80", 4},
    {"record: body past record end", "\x0a\x02\x1a\x05", 4},
    {"header: name past header end", "\x0a\x04\x12\x02\x0a\x09", 6},
    {"header: value as varint", "\x0a\x04\x12\x02\x10\x01", 6},
    {"fencing_token as varint", "\x18\x01", 2},
    {"fencing_token invalid UTF-8", "\x1a\x02\xc3\x28", 4},
    {"fencing_token surrogate", "\x1a\x03\xed\xa0\x80", 5},
    {"fencing_token truncated", "\x1a\005ab", 4},
};

static void
test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(malformed); i++) {
        wr_s2_append a;
        wr_error e = {0};
        wr_err err =
            wr_s2_append_from_proto((const uint8_t *)malformed[i].wire, malformed[i].len, &a, &e);
        if (err != WR_ERR_BAD_PROTO)
            print_error("row %zu (%s) accepted\n", i, malformed[i].name);
        assert_int_equal(err, WR_ERR_BAD_PROTO);
        assert_int_equal(e.code, WR_ERR_BAD_PROTO);
        assert_true(strlen(e.msg) > 0);
        assert_null(a.owned); /* nothing left to free */
        assert_null(a.records);
        wr_s2_append_fini(&a);
    }
}

static void
assert_pos(const S2__V1__StreamPosition *got, wr_pos want)
{
    assert_non_null(got);
    assert_true(got->seq_num == want.seq);
    assert_true(got->timestamp == want.ts_ms);
}

static void
test_ack(void **state)
{
    (void)state;
    wr_pos cases[][3] = {
        {{0, 0}, {1, 5}, {1, 5}},
        {{127, 128}, {16384, 1700000000000}, {UINT64_MAX, UINT64_MAX}},
    };
    for (size_t i = 0; i < N(cases); i++) {
        wr_buf b = {0};
        wr_buf_append(&b, "pre", 3); /* appends, never overwrites */
        wr_s2_ack_proto(&cases[i][0], &cases[i][1], &cases[i][2], &b);
        assert_memory_equal(b.data, "pre", 3);
        assert_int_equal(b.data[b.len], '\0');
        S2__V1__AppendAck *ack =
            s2__v1__append_ack__unpack(NULL, b.len - 3, (const uint8_t *)b.data + 3);
        assert_non_null(ack);
        assert_pos(ack->start, cases[i][0]);
        assert_pos(ack->end, cases[i][1]);
        assert_pos(ack->tail, cases[i][2]);
        s2__v1__append_ack__free_unpacked(ack, NULL);
        wr_buf_fini(&b);
    }
    /* the exact bytes of a small ack: zero fields omitted, every position present */
    wr_buf b = {0};
    wr_s2_ack_proto(&cases[0][0], &cases[0][1], &cases[0][2], &b);
    assert_int_equal(b.len, 14);
    assert_memory_equal(b.data, "\x0a\x00\x12\x04\x08\x01\x10\x05\x1a\x04\x08\x01\x10\x05", 14);
    wr_buf_fini(&b);
}

/* Records with a spread of shapes; headers point into static storage. */
static const wr_header hdrs[] = {
    {(const uint8_t *)"name", 4, (const uint8_t *)"value", 5},
    {(const uint8_t *)"", 0, (const uint8_t *)"trim", 4},
    {(const uint8_t *)"k", 1, (const uint8_t *)"", 0},
};

static void
check_records(const S2__V1__ReadBatch *rb, const wr_record *recs, size_t n)
{
    assert_int_equal(rb->n_records, n);
    for (size_t i = 0; i < n; i++) {
        const S2__V1__SequencedRecord *r = rb->records[i];
        assert_true(r->seq_num == recs[i].seq);
        assert_true(r->timestamp == recs[i].ts_ms);
        assert_int_equal(r->n_headers, recs[i].n_headers);
        for (size_t j = 0; j < r->n_headers; j++) {
            const wr_header *h = &recs[i].headers[j];
            assert_int_equal(r->headers[j]->name.len, h->name_len);
            assert_int_equal(r->headers[j]->value.len, h->value_len);
            if (h->name_len)
                assert_memory_equal(r->headers[j]->name.data, h->name, h->name_len);
            if (h->value_len)
                assert_memory_equal(r->headers[j]->value.data, h->value, h->value_len);
        }
        assert_int_equal(r->body.len, recs[i].body_len);
        if (recs[i].body_len)
            assert_memory_equal(r->body.data, recs[i].body, recs[i].body_len);
    }
}

static void
test_read_batch(void **state)
{
    (void)state;
    uint8_t *big = wr_xmalloc(200000);
    for (size_t i = 0; i < 200000; i++)
        big[i] = (uint8_t)i;
    wr_record recs[] = {
        {0, 0, 0, NULL, NULL, 0, 8},
        {1, 1700000000000, 3, hdrs, (const uint8_t *)"body", 4, 0},
        {UINT64_MAX - 1, UINT64_MAX, 1, hdrs + 1, (const uint8_t *)"\0\0\0\0\0\0\0\x07", 8, 0},
        {300, 5, 0, NULL, big, 200000, 0},
    };
    wr_pos tail = {UINT64_MAX, 42};
    for (int with_tail = 0; with_tail < 2; with_tail++) {
        for (size_t n = 0; n <= N(recs); n++) {
            wr_buf b = {0};
            wr_s2_read_batch_proto(recs, n, with_tail ? &tail : NULL, &b);
            S2__V1__ReadBatch *rb =
                s2__v1__read_batch__unpack(NULL, b.len, (const uint8_t *)b.data);
            assert_non_null(rb);
            check_records(rb, recs, n);
            if (with_tail)
                assert_pos(rb->tail, tail);
            else
                assert_null(rb->tail);
            s2__v1__read_batch__free_unpacked(rb, NULL);
            if (n == 0 && !with_tail)
                assert_int_equal(b.len, 0);
            wr_buf_fini(&b);
        }
    }
    /* a heartbeat is just the tail field */
    wr_buf b = {0};
    wr_pos t = {3, 4};
    wr_s2_read_batch_proto(NULL, 0, &t, &b);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "\x12\x04\x08\x03\x10\x04", 6);
    wr_buf_fini(&b);
    free(big);
}

static void
test_batch_cache(void **state)
{
    (void)state;
    wr_append_record in[] = {
        {true, 10, 3, hdrs, (const uint8_t *)"one", 3},
        {false, 0, 0, NULL, (const uint8_t *)"", 0},
        {true, 12, 1, hdrs + 2, (const uint8_t *)"three", 5},
    };
    uint64_t ts[] = {10, 11, 12};
    wr_batch *b = wr_batch_build(7, 1000, in, ts, 3);
    const wr_buf *enc = wr_s2_batch_proto_records(b);
    assert_non_null(enc);
    assert_ptr_equal(wr_s2_batch_proto_records(b), enc); /* computed once */
    assert_ptr_equal(wr_s2_enc_get(b, WR_S2_ENC_PROTO), enc);

    wr_buf direct = {0};
    wr_s2_read_batch_proto(b->records, b->n_records, NULL, &direct);
    assert_int_equal(enc->len, direct.len);
    assert_memory_equal(enc->data, direct.data, direct.len);

    /* cached records + tail field == a whole ReadBatch with that tail */
    wr_pos tail = {1003, 12};
    wr_buf joined = {0}, whole = {0};
    wr_buf_append(&joined, enc->data, enc->len);
    wr_s2_read_batch_tail_proto(&tail, &joined);
    wr_s2_read_batch_proto(b->records, b->n_records, &tail, &whole);
    assert_int_equal(joined.len, whole.len);
    assert_memory_equal(joined.data, whole.data, whole.len);

    S2__V1__ReadBatch *rb = s2__v1__read_batch__unpack(NULL, joined.len, (uint8_t *)joined.data);
    assert_non_null(rb);
    check_records(rb, b->records, b->n_records);
    assert_int_equal(rb->records[0]->seq_num, 1000);
    assert_int_equal(rb->records[2]->timestamp, 12);
    assert_pos(rb->tail, tail);
    s2__v1__read_batch__free_unpacked(rb, NULL);
    wr_buf_fini(&direct), wr_buf_fini(&joined), wr_buf_fini(&whole);
    wr_batch_unref(b);
}

/* A record read as protobuf and appended again keeps its exact headers and body. */
static void
test_read_then_append_roundtrip(void **state)
{
    (void)state;
    wr_record rec = {5, 6, 3, hdrs, (const uint8_t *)"payload", 7, 0};
    wr_buf b = {0};
    wr_s2_read_batch_proto(&rec, 1, NULL, &b);
    S2__V1__ReadBatch *rb = s2__v1__read_batch__unpack(NULL, b.len, (uint8_t *)b.data);
    assert_non_null(rb);
    S2__V1__AppendRecord ar = S2__V1__APPEND_RECORD__INIT;
    ar.has_timestamp = true, ar.timestamp = rb->records[0]->timestamp;
    ar.n_headers = rb->records[0]->n_headers, ar.headers = rb->records[0]->headers;
    ar.has_body = true, ar.body = rb->records[0]->body;
    S2__V1__AppendRecord *arp = &ar;
    S2__V1__AppendInput in = S2__V1__APPEND_INPUT__INIT;
    in.n_records = 1, in.records = &arp;
    size_t len;
    uint8_t *wire = pack_input(&in, &len);
    wr_s2_append a;
    assert_int_equal(wr_s2_append_from_proto(wire, len, &a, NULL), WR_OK);
    assert_int_equal(a.in.records[0].ts_ms, 6);
    assert_int_equal(a.in.records[0].n_headers, 3);
    for (size_t j = 0; j < 3; j++) {
        assert_bytes(a.in.records[0].headers[j].name, a.in.records[0].headers[j].name_len,
                     (const char *)hdrs[j].name, hdrs[j].name_len);
        assert_bytes(a.in.records[0].headers[j].value, a.in.records[0].headers[j].value_len,
                     (const char *)hdrs[j].value, hdrs[j].value_len);
    }
    assert_bytes(a.in.records[0].body, a.in.records[0].body_len, "payload", 7);
    wr_s2_append_fini(&a);
    free(wire);
    s2__v1__read_batch__free_unpacked(rb, NULL);
    wr_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_full),
        cmocka_unit_test(test_decode_optional_fields),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_read_batch),
        cmocka_unit_test(test_batch_cache),
        cmocka_unit_test(test_read_then_append_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
