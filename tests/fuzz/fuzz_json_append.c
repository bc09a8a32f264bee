/*
 * fuzz_json_append.c — a unary JSON append body: jansson parsing (with the flags the server
 * uses) and wr_s2_append_from_json under both `s2-format`s, and the fast decoder of
 * append_json.c against it (same result whenever it takes a body).
 *
 * Checks: an error is bad_json or invalid with a message; an accepted input has a record view
 * for every element of "records", with non-NULL bytes wherever a length is non-zero; base64
 * bodies decode to bytes that re-encode to the submitted string.
 */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "s2/s2_int.h"
#include "util/base64.h"

static void
check_base64_body(const json_t *rec, const wr_append_record *r)
{
    const json_t *body = json_object_get(rec, "body");
    if (!json_is_string(body))
        return;
    wr_buf enc = {0};
    wr_base64_encode(r->body, r->body_len, &enc);
    FUZZ_CHECK(enc.len == json_string_length(body));
    FUZZ_CHECK(enc.len == 0 || memcmp(enc.data, json_string_value(body), enc.len) == 0);
    wr_buf_fini(&enc);
}

static void
check_ok(const json_t *j, const wr_s2_append *a, wr_s2_format fmt)
{
    const json_t *records = json_object_get(j, "records");
    FUZZ_CHECK(json_is_array(records) && json_array_size(records) == a->in.n_records);
    for (uint32_t i = 0; i < a->in.n_records; i++) {
        const wr_append_record *r = &a->in.records[i];
        FUZZ_CHECK(r->body_len == 0 || r->body != NULL);
        for (uint32_t h = 0; h < r->n_headers; h++) {
            FUZZ_CHECK(r->headers[h].name_len == 0 || r->headers[h].name != NULL);
            FUZZ_CHECK(r->headers[h].value_len == 0 || r->headers[h].value != NULL);
        }
        if (fmt == WR_S2_FORMAT_BASE64)
            check_base64_body(json_array_get(records, i), r);
    }
    if (a->in.fencing_token != NULL)
        FUZZ_CHECK(a->in.fencing_token[a->in.fencing_token_len] == '\0');
}

/* The fast decoder (append_json.c) takes only bodies the general path accepts, with the same
 * result; everything else it declines with nothing to free. */
static void
check_fast(const uint8_t *data, size_t size, wr_s2_format fmt)
{
    wr_s2_append fast;
    static wr_s2_append_room room; /* lent to every other input: the result must not differ */
    if (!wr_s2_append_from_json_fast((const char *)data, size, fmt, size & 1 ? &room : NULL,
                                     &fast)) {
        FUZZ_CHECK(fast.records == NULL && fast.fencing_token == NULL && fast.bytes.data == NULL);
        return;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    FUZZ_CHECK(j != NULL);
    wr_s2_append gen;
    wr_error e = {0};
    FUZZ_CHECK(wr_s2_append_from_json(j, fmt, &gen, &e) == WR_OK);
    FUZZ_CHECK(fast.in.n_records == gen.in.n_records);
    for (uint32_t i = 0; i < gen.in.n_records; i++) {
        const wr_append_record *x = &fast.in.records[i], *y = &gen.in.records[i];
        FUZZ_CHECK(x->body_len == y->body_len && x->has_ts == y->has_ts && x->ts_ms == y->ts_ms &&
                   x->n_headers == y->n_headers);
        FUZZ_CHECK(y->body_len == 0 || memcmp(x->body, y->body, y->body_len) == 0);
    }
    FUZZ_CHECK(fast.in.has_match_seq == gen.in.has_match_seq &&
               fast.in.match_seq == gen.in.match_seq);
    FUZZ_CHECK((fast.in.fencing_token == NULL) == (gen.in.fencing_token == NULL) &&
               fast.in.fencing_token_len == gen.in.fencing_token_len);
    FUZZ_CHECK(gen.in.fencing_token_len == 0 ||
               memcmp(fast.in.fencing_token, gen.in.fencing_token, gen.in.fencing_token_len) == 0);
    wr_s2_append_fini(&fast);
    wr_s2_append_fini(&gen);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_fast(data, size, WR_S2_FORMAT_RAW);
    check_fast(data, size, WR_S2_FORMAT_BASE64);
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return 0;
    for (int f = 0; f < 2; f++) {
        wr_s2_format fmt = f ? WR_S2_FORMAT_BASE64 : WR_S2_FORMAT_RAW;
        wr_s2_append a;
        wr_error e = {0};
        wr_err err = wr_s2_append_from_json(j, fmt, &a, &e);
        if (err == WR_OK)
            check_ok(j, &a, fmt);
        else
            FUZZ_CHECK((err == WR_ERR_BAD_JSON || err == WR_ERR_INVALID) && e.code == err &&
                       e.msg[0] != '\0');
        wr_s2_append_fini(&a);
    }
    json_decref(j);
    return 0;
}
