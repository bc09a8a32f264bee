/*
 * test_append_json.c — the fast JSON append decoder (s2/append_json.c) against the general path
 * (jansson with wr_s2_parse_body's flags, then wr_s2_append_from_json): one row per body
 * shape, in both formats. A row says whether the fast decoder must take the body; when it does,
 * the general path must accept the same body and give the same records, timestamps, match
 * seq_num and fencing token; when it does not, it leaves nothing allocated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "s2/s2_int.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct row {
    const char *name;
    const char *body;
    bool fast_raw;    /* the fast decoder takes it with s2-format raw */
    bool fast_base64; /* ... and with base64 */
} row;

static const row rows[] = {
    /* Taken: the shapes clients send. */
    {"one record", "{\"records\":[{\"body\":\"xxxx\"}]}", true, true},
    {"whitespace everywhere", " \n{ \"records\" : [ { \"body\" : \"aGk=\" } ] }\r\n\t", true, true},
    {"two records, timestamp",
     "{\"records\":[{\"body\":\"YQ==\",\"timestamp\":17},{\"body\":\"\"}]}", true, true},
    {"timestamp first, zero", "{\"records\":[{\"timestamp\":0,\"body\":\"Yg==\"}]}", true, true},
    {"empty record", "{\"records\":[{}]}", true, true},
    {"conditions",
     "{\"match_seq_num\":42,\"records\":[{\"body\":\"YQ==\"}],\"fencing_token\":\"t-1\"}", true,
     true},
    {"empty token", "{\"records\":[{\"body\":\"YQ==\"}],\"fencing_token\":\"\"}", true, true},
    {"18-digit integer", "{\"records\":[{\"body\":\"YQ==\",\"timestamp\":999999999999999999}]}",
     true, true},
    {"not base64 (raw only)", "{\"records\":[{\"body\":\"a b\"}]}", true, false},
    /* More records than a lent room holds (4), and a body bigger than its bytes (512). */
    {"six records",
     "{\"records\":[{\"body\":\"YQ==\"},{\"body\":\"Yg==\"},{\"body\":\"Yw==\"},{\"body\":\"ZA==\"}"
     ","
     "{\"body\":\"ZQ==\"},{\"body\":\"Zg==\"}]}",
     true, true},
    {"big body",
     "{\"records\":[{\"body\":\""
     "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
     "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
     "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
     "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
     "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
     "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
     "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\"}]"
     "}",
     true, true},
    /* Left to the general path (valid or not, it owns the answer). */
    {"headers", "{\"records\":[{\"headers\":[[\"a\",\"b\"]],\"body\":\"YQ==\"}]}", false, false},
    {"escape", "{\"records\":[{\"body\":\"a\\nb\"}]}", false, false},
    {"unicode escape", "{\"records\":[{\"body\":\"\\u0041\"}]}", false, false},
    {"non-ASCII", "{\"records\":[{\"body\":\"\xc3\xa9\"}]}", false, false},
    {"invalid UTF-8", "{\"records\":[{\"body\":\"\xff\"}]}", false, false},
    {"control character", "{\"records\":[{\"body\":\"a\tb\"}]}", false, false},
    {"null body", "{\"records\":[{\"body\":null}]}", false, false},
    {"null timestamp", "{\"records\":[{\"body\":\"YQ==\",\"timestamp\":null}]}", false, false},
    {"null token", "{\"records\":[{\"body\":\"YQ==\"}],\"fencing_token\":null}", false, false},
    {"duplicate body", "{\"records\":[{\"body\":\"YQ==\",\"body\":\"Yg==\"}]}", false, false},
    {"duplicate records", "{\"records\":[{}],\"records\":[{}]}", false, false},
    {"duplicate match", "{\"records\":[{}],\"match_seq_num\":1,\"match_seq_num\":2}", false, false},
    {"unknown field", "{\"records\":[{}],\"extra\":1}", false, false},
    {"unknown record field", "{\"records\":[{\"bodyx\":\"YQ==\"}]}", false, false},
    {"no records", "{\"match_seq_num\":1}", false, false},
    {"empty records", "{\"records\":[]}", false, false},
    {"records not an array", "{\"records\":{}}", false, false},
    {"record not an object", "{\"records\":[1]}", false, false},
    {"negative", "{\"records\":[{\"timestamp\":-1}]}", false, false},
    {"fraction", "{\"records\":[{\"timestamp\":1.5}]}", false, false},
    {"exponent", "{\"records\":[{\"timestamp\":1e3}]}", false, false},
    {"leading zero", "{\"records\":[{\"timestamp\":01}]}", false, false},
    {"19 digits", "{\"records\":[{\"timestamp\":1000000000000000000}]}", false, false},
    {"huge", "{\"records\":[{\"timestamp\":18446744073709551616}]}", false, false},
    {"string timestamp", "{\"records\":[{\"timestamp\":\"1\"}]}", false, false},
    {"trailing comma", "{\"records\":[{}],}", false, false},
    {"trailing comma in array", "{\"records\":[{},]}", false, false},
    {"trailing garbage", "{\"records\":[{}]} x", false, false},
    {"two objects", "{\"records\":[{}]}{}", false, false},
    {"unterminated string", "{\"records\":[{\"body\":\"abc", false, false},
    {"unterminated object", "{\"records\":[{}]", false, false},
    {"missing colon", "{\"records\" [{}]}", false, false},
    {"array body", "[{\"records\":[{}]}]", false, false},
    {"empty", "", false, false},
};

/* With a lent room (wr_s2_append_room) or without one: the same result either way. */
static void
check_row(const row *r, wr_s2_format fmt, wr_s2_append_room *room)
{
    bool want_fast = fmt == WR_S2_FORMAT_RAW ? r->fast_raw : r->fast_base64;
    wr_s2_append fast;
    bool took = wr_s2_append_from_json_fast(r->body, strlen(r->body), fmt, room, &fast);
    if (took != want_fast)
        fail_msg("%s (format %d): fast decoder %s", r->name, fmt, took ? "took it" : "declined");
    if (!took) {
        /* Declined: nothing left to free. */
        assert_null(fast.records);
        assert_null(fast.fencing_token);
        assert_null(fast.bytes.data);
        return;
    }
    json_error_t je;
    json_t *j = json_loadb(r->body, strlen(r->body), JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!j)
        fail_msg("%s: jansson rejects a body the fast decoder took: %s", r->name, je.text);
    wr_s2_append gen;
    wr_error err;
    wr_err rc = wr_s2_append_from_json(j, fmt, &gen, &err);
    if (rc != WR_OK)
        fail_msg("%s: the general path rejects it: %s", r->name, err.msg);
    assert_int_equal(fast.in.n_records, gen.in.n_records);
    for (uint32_t i = 0; i < gen.in.n_records; i++) {
        const wr_append_record *a = &fast.in.records[i], *b = &gen.in.records[i];
        assert_int_equal(a->body_len, b->body_len);
        if (b->body_len)
            assert_memory_equal(a->body, b->body, b->body_len);
        assert_int_equal(a->body == NULL, b->body == NULL);
        assert_int_equal(a->has_ts, b->has_ts);
        assert_int_equal(a->ts_ms, b->ts_ms);
        assert_int_equal(a->n_headers, b->n_headers);
    }
    assert_int_equal(fast.in.has_match_seq, gen.in.has_match_seq);
    assert_int_equal(fast.in.match_seq, gen.in.match_seq);
    assert_int_equal(fast.in.fencing_token == NULL, gen.in.fencing_token == NULL);
    assert_int_equal(fast.in.fencing_token_len, gen.in.fencing_token_len);
    if (gen.in.fencing_token_len)
        assert_memory_equal(fast.in.fencing_token, gen.in.fencing_token, gen.in.fencing_token_len);
    wr_s2_append_fini(&fast);
    wr_s2_append_fini(&gen);
    json_decref(j);
}

static void
test_rows(void **state)
{
    (void)state;
    wr_s2_append_room room;
    for (size_t i = 0; i < N(rows); i++) {
        check_row(&rows[i], WR_S2_FORMAT_RAW, NULL);
        check_row(&rows[i], WR_S2_FORMAT_BASE64, NULL);
        memset(&room, 0xa5, sizeof(room)); /* what it held before must not matter */
        check_row(&rows[i], WR_S2_FORMAT_RAW, &room);
        check_row(&rows[i], WR_S2_FORMAT_BASE64, &room);
    }
}

/* The decoded values outlive the request body (the store may hold them while it waits for its
 * in-flight budget): nothing may point into the input. */
static void
test_copies(void **state)
{
    (void)state;
    char body[] = "{\"records\":[{\"body\":\"hello\"}],\"fencing_token\":\"tok\"}";
    wr_s2_append a;
    assert_true(wr_s2_append_from_json_fast(body, strlen(body), WR_S2_FORMAT_RAW, NULL, &a));
    memset(body, 'z', strlen(body));
    assert_int_equal(a.in.records[0].body_len, 5);
    assert_memory_equal(a.in.records[0].body, "hello", 5);
    assert_memory_equal(a.in.fencing_token, "tok", 3);
    wr_s2_append_fini(&a);
    /* With a room the copies are in it. */
    char body2[] = "{\"records\":[{\"body\":\"hello\"}]}";
    wr_s2_append_room room;
    assert_true(wr_s2_append_from_json_fast(body2, strlen(body2), WR_S2_FORMAT_RAW, &room, &a));
    memset(body2, 'z', strlen(body2));
    assert_ptr_equal(a.in.records, room.records);
    const char *b = (const char *)a.in.records[0].body;
    assert_true(b >= room.bytes && b + 5 <= room.bytes + sizeof(room.bytes));
    assert_memory_equal(b, "hello", 5);
    wr_s2_append_fini(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
