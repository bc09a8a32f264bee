/*
 * test_append.c — append rules: validation rows (422), acks, timestamping modes, fencing and
 * match_seq_num (412 with actual values, fence checked first), command records (fence, trim),
 * command records without a body, auto-create, deletion, pipelined appends delivered in
 * submission order, and restart of tail/fence/trim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/store_support.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"

#define NOW 1755770000000ull
#define B "append-basin"

static const ts_fixture fx = {
    .basin = B, .create_on_append = true, .create_on_read = true, .fake_now_ms = NOW};

static wr_append_result
append1(ts_env *e, const char *stream, wr_append_record r)
{
    wr_append_input in = {.records = &r, .n_records = 1};
    return ts_append(e, B, stream, &in);
}

static wr_append_result
fence_cmd(ts_env *e, const char *stream, const char *tok, const char *cond)
{
    wr_append_record r = {.n_headers = 1,
                          .headers = &ts_fence_header,
                          .body = (const uint8_t *)tok,
                          .body_len = strlen(tok)};
    wr_append_input in = {.records = &r,
                          .n_records = 1,
                          .fencing_token = cond,
                          .fencing_token_len = cond ? strlen(cond) : 0};
    return ts_append(e, B, stream, &in);
}

static void
test_invalid_rows(void **state)
{
    ts_env *e = *state;
    static uint8_t big[1024 * 1024];
    wr_append_record many[1001];
    for (int i = 0; i < 1001; i++)
        many[i] = ts_rec("x");
    wr_append_record half[2] = {{.body = big, .body_len = 600000},
                                {.body = big, .body_len = 600000}};
    wr_header two[2] = {{(const uint8_t *)"", 0, (const uint8_t *)"fence", 5},
                        {(const uint8_t *)"a", 1, (const uint8_t *)"b", 1}};
    wr_header unknown = {(const uint8_t *)"", 0, (const uint8_t *)"nope", 4};
    wr_header empty_op = {(const uint8_t *)"", 0, (const uint8_t *)"", 0};
    struct {
        const char *what;
        wr_append_record rec;
        uint32_t n;
        const wr_append_record *recs;
        const char *token;
    } rows[] = {
        {"no records", {0}, 0, NULL, NULL},
        {"1001 records", {0}, 1001, many, NULL},
        {"record over 1 MiB", {.body = big, .body_len = 1024 * 1024 - 7}, 1, NULL, NULL},
        {"batch over 1 MiB", {0}, 2, half, NULL},
        {"command + other header", {.n_headers = 2, .headers = two}, 1, NULL, NULL},
        {"unknown command", {.n_headers = 1, .headers = &unknown}, 1, NULL, NULL},
        {"empty command", {.n_headers = 1, .headers = &empty_op}, 1, NULL, NULL},
        {"fence > 36",
         {.n_headers = 1,
          .headers = &ts_fence_header,
          .body = (const uint8_t *)"0123456789012345678901234567890123456",
          .body_len = 37},
         1,
         NULL,
         NULL},
        {"fence not utf-8",
         {.n_headers = 1,
          .headers = &ts_fence_header,
          .body = (const uint8_t *)"\xff",
          .body_len = 1},
         1,
         NULL,
         NULL},
        {"trim 7 bytes",
         {.n_headers = 1, .headers = &ts_trim_header, .body = big, .body_len = 7},
         1,
         NULL,
         NULL},
        {"trim 9 bytes",
         {.n_headers = 1, .headers = &ts_trim_header, .body = big, .body_len = 9},
         1,
         NULL,
         NULL},
        {"trim without body", {.n_headers = 1, .headers = &ts_trim_header}, 1, NULL, NULL},
        {"token > 36",
         {.body = big, .body_len = 1},
         1,
         NULL,
         "0123456789012345678901234567890123456"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_append_input in = {.records = rows[i].recs ? rows[i].recs : &rows[i].rec,
                              .n_records = rows[i].n,
                              .fencing_token = rows[i].token,
                              .fencing_token_len = rows[i].token ? strlen(rows[i].token) : 0};
        wr_append_result r = ts_append(e, B, "s", &in);
        if (r.err != WR_ERR_INVALID)
            fail_msg("row %zu (%s): got %d", i, rows[i].what, r.err);
    }
    /* Exactly 1 MiB metered per record is allowed (8 + body). */
    wr_append_record edge = {.body = big, .body_len = 1024 * 1024 - 8};
    assert_int_equal(append1(e, "s", edge).err, WR_OK);
    wr_pos tail;
    wr_error err;
    assert_int_equal(wr_store_check_tail(e->s, B, "s", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 1); /* only the valid append landed */
    wr_append_input ok1000 = {.records = many, .n_records = 1000};
    assert_int_equal(ts_append(e, B, "s", &ok1000).err, WR_OK);
}

static void
test_ack_positions(void **state)
{
    ts_env *e = *state;
    wr_append_result r = ts_append_n(e, B, "acks", "r", 3);
    assert_int_equal(r.err, WR_OK);
    assert_int_equal(r.start.seq, 0);
    assert_int_equal(r.start.ts_ms, NOW);
    assert_int_equal(r.end.seq, 3);
    assert_int_equal(r.end.ts_ms, NOW);
    assert_int_equal(r.tail.seq, 3);
    wr_clock_advance_ms(10);
    r = ts_append_n(e, B, "acks", "q", 2);
    assert_int_equal(r.start.seq, 3);
    assert_int_equal(r.end.seq, 5);
    assert_int_equal(r.tail.seq, 5);
    assert_int_equal(r.tail.ts_ms, NOW + 10);
    wr_pos tail;
    wr_error err;
    assert_int_equal(wr_store_check_tail(e->s, B, "acks", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 5);
    assert_int_equal(tail.ts_ms, NOW + 10);
}

static void
make_stream(ts_env *e, const char *name, wr_ts_mode mode, bool uncapped)
{
    wr_stream_config c = {.ts_mode = mode, .has_ts_uncapped = true, .ts_uncapped = uncapped};
    wr_error err;
    assert_int_equal(wr_store_stream_create(e->s, B, name, &c, NULL, NULL, NULL, &err), WR_OK);
}

static void
test_timestamps(void **state)
{
    ts_env *e = *state;
    struct {
        wr_ts_mode mode;
        bool uncapped;
        bool has;
        uint64_t client;
        wr_err want_err;
        uint64_t want;
    } rows[] = {
        {WR_TS_CLIENT_PREFER, false, true, NOW - 100, WR_OK, NOW - 100},
        {WR_TS_CLIENT_PREFER, false, false, 0, WR_OK, NOW},
        {WR_TS_CLIENT_PREFER, false, true, NOW + 100, WR_OK, NOW}, /* capped */
        {WR_TS_CLIENT_PREFER, true, true, NOW + 100, WR_OK, NOW + 100},
        {WR_TS_CLIENT_REQUIRE, false, true, NOW - 5, WR_OK, NOW - 5},
        {WR_TS_CLIENT_REQUIRE, false, false, 0, WR_ERR_INVALID, 0},
        {WR_TS_ARRIVAL, false, true, NOW - 100, WR_OK, NOW},
        {WR_TS_ARRIVAL, true, true, NOW + 100, WR_OK, NOW},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "ts-%zu", i);
        make_stream(e, name, rows[i].mode, rows[i].uncapped);
        wr_append_record r = ts_rec("x");
        r.has_ts = rows[i].has;
        r.ts_ms = rows[i].client;
        wr_append_result res = append1(e, name, r);
        assert_int_equal(res.err, rows[i].want_err);
        if (res.err == WR_OK)
            assert_int_equal(res.start.ts_ms, rows[i].want);
        else
            assert_string_equal(res.error.msg, "record timestamp was required but was missing");
    }
    /* Monotonic: a lower timestamp is raised to the previous maximum, within and across
     * batches. */
    make_stream(e, "mono", WR_TS_CLIENT_PREFER, false);
    wr_append_record recs[3] = {ts_rec_ts("a", NOW - 10), ts_rec_ts("b", NOW - 50),
                                ts_rec_ts("c", NOW - 5)};
    wr_append_input in = {.records = recs, .n_records = 3};
    wr_append_result res = ts_append(e, B, "mono", &in);
    assert_int_equal(res.start.ts_ms, NOW - 10);
    assert_int_equal(res.end.ts_ms, NOW - 5);
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0, .may_follow = true};
    wr_read_result *rr = ts_read(e, B, "mono", &q);
    assert_int_equal(rr->n_records, 3);
    assert_int_equal(rr->records[1].ts_ms, NOW - 10);
    wr_read_result_free(rr);
    res = append1(e, "mono", ts_rec_ts("d", 1));
    assert_int_equal(res.start.ts_ms, NOW - 5);
}

static void
test_fencing_and_match(void **state)
{
    ts_env *e = *state;
    assert_int_equal(ts_append_n(e, B, "f", "a", 2).err, WR_OK);
    /* New stream token is "": an empty token condition matches. */
    wr_append_record r = ts_rec("x");
    wr_append_input in = {
        .records = &r, .n_records = 1, .fencing_token = "", .fencing_token_len = 0};
    assert_int_equal(ts_append(e, B, "f", &in).err, WR_OK);
    /* Set a fence (the request carries the old token). */
    wr_append_result res = fence_cmd(e, "f", "tok-1", "");
    assert_int_equal(res.err, WR_OK);
    assert_int_equal(res.start.seq, 3);
    /* Wrong token: 412 with the current one; unconditioned appends still work. */
    in.fencing_token = "tok-0";
    in.fencing_token_len = 5;
    res = ts_append(e, B, "f", &in);
    assert_int_equal(res.err, WR_ERR_FENCING_TOKEN_MISMATCH);
    assert_string_equal(res.actual_token, "tok-1");
    assert_int_equal(res.actual_token_len, 5);
    in.fencing_token = NULL;
    assert_int_equal(ts_append(e, B, "f", &in).err, WR_OK);
    /* match_seq_num: wrong gives the actual next seq. */
    in.has_match_seq = true;
    in.match_seq = 2;
    res = ts_append(e, B, "f", &in);
    assert_int_equal(res.err, WR_ERR_SEQ_NUM_MISMATCH);
    assert_int_equal(res.actual_seq, 5);
    in.match_seq = 5;
    in.fencing_token = "tok-1";
    in.fencing_token_len = 5;
    res = ts_append(e, B, "f", &in);
    assert_int_equal(res.err, WR_OK);
    assert_int_equal(res.start.seq, 5);
    /* Both wrong: the fence is checked first. */
    in.match_seq = 0;
    in.fencing_token = "bad";
    in.fencing_token_len = 3;
    assert_int_equal(ts_append(e, B, "f", &in).err, WR_ERR_FENCING_TOKEN_MISMATCH);
    /* Survives restart; then an empty fence body clears the token. */
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    in.match_seq = 6;
    in.fencing_token = "tok-1";
    in.fencing_token_len = 5;
    assert_int_equal(ts_append(e, B, "f", &in).err, WR_OK);
    assert_int_equal(fence_cmd(e, "f", "", "tok-1").err, WR_OK);
    in.has_match_seq = false;
    in.fencing_token = "";
    in.fencing_token_len = 0;
    assert_int_equal(ts_append(e, B, "f", &in).err, WR_OK);
    /* Command records are returned by reads. */
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 3, .has_count = true, .count = 1};
    wr_read_result *rr = ts_read(e, B, "f", &q);
    assert_int_equal(rr->n_records, 1);
    assert_int_equal(rr->records[0].n_headers, 1);
    assert_int_equal(rr->records[0].headers[0].name_len, 0);
    assert_memory_equal(rr->records[0].body, "tok-1", 5);
    wr_read_result_free(rr);
}

/* An append with one command record whose body is absent (NULL, 0 bytes), the way the JSON and
 * protobuf decoders hand over a record without "body"; fencing condition `cond` (NULL = none). */
static wr_append_result
bodyless_cmd(ts_env *e, const char *stream, const wr_header *h, const char *cond)
{
    wr_append_record r = {.n_headers = 1, .headers = h};
    wr_append_input in = {.records = &r,
                          .n_records = 1,
                          .fencing_token = cond,
                          .fencing_token_len = cond ? strlen(cond) : 0};
    return ts_append(e, B, stream, &in);
}

/* The stream's fencing token is exactly `tok`: a condition on it passes, another one fails. */
static void
assert_token(ts_env *e, const char *stream, const char *tok)
{
    wr_append_record r = ts_rec("probe");
    const char *other = tok[0] ? "" : "tok-1";
    wr_append_input in = {
        .records = &r, .n_records = 1, .fencing_token = other, .fencing_token_len = strlen(other)};
    wr_append_result res = ts_append(e, B, stream, &in);
    assert_int_equal(res.err, WR_ERR_FENCING_TOKEN_MISMATCH);
    assert_string_equal(res.actual_token, tok);
    in.fencing_token = tok;
    in.fencing_token_len = strlen(tok);
    assert_int_equal(ts_append(e, B, stream, &in).err, WR_OK);
}

/* Regression: a fence record without a body was copied from a NULL pointer (UBSan abort). An
 * empty body is the empty token, which S2 allows (it clears the fence); a trim needs 8 bytes. */
static void
test_command_without_body(void **state)
{
    ts_env *e = *state;
    struct {
        const char *what;
        const wr_header *h;
        bool had_token;   /* the stream had token "tok-1" before */
        const char *cond; /* fencing condition of the append, NULL = none */
        wr_err want;
        const char *after; /* the stream's token afterwards */
    } rows[] = {
        {"fence, no body, no condition", &ts_fence_header, true, NULL, WR_OK, ""},
        {"fence, no body, carrying the old token", &ts_fence_header, true, "tok-1", WR_OK, ""},
        {"fence, no body, wrong token", &ts_fence_header, true, "tok-2",
         WR_ERR_FENCING_TOKEN_MISMATCH, "tok-1"},
        {"fence, no body, stream never fenced", &ts_fence_header, false, "", WR_OK, ""},
        {"trim, no body", &ts_trim_header, true, NULL, WR_ERR_INVALID, "tok-1"},
    };
    size_t n = sizeof(rows) / sizeof(rows[0]);
    char name[16];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "nobody-%zu", i);
        assert_int_equal(ts_append_n(e, B, name, "a", 1).err, WR_OK);
        if (rows[i].had_token)
            assert_int_equal(fence_cmd(e, name, "tok-1", NULL).err, WR_OK);
        wr_append_result res = bodyless_cmd(e, name, rows[i].h, rows[i].cond);
        if (res.err != rows[i].want)
            fail_msg("row %zu (%s): got %d", i, rows[i].what, res.err);
        assert_token(e, name, rows[i].after);
    }
    /* The cleared tokens were persisted. */
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "nobody-%zu", i);
        assert_token(e, name, rows[i].after);
    }
}

static void
test_trim(void **state)
{
    ts_env *e = *state;
    assert_int_equal(ts_append_n(e, B, "t", "a", 10).err, WR_OK);
    /* Trim to 4: reads from 0 start at 4. */
    assert_int_equal(ts_trim(e, B, "t", 4).err, WR_OK); /* seq 10 */
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0, .has_count = true, .count = 2};
    wr_read_result *rr = ts_read(e, B, "t", &q);
    assert_int_equal(rr->err, WR_OK);
    assert_int_equal(rr->records[0].seq, 4);
    wr_read_result_free(rr);
    /* Trim point never moves backwards. */
    assert_int_equal(ts_trim(e, B, "t", 2).err, WR_OK); /* seq 11 */
    rr = ts_read(e, B, "t", &q);
    assert_int_equal(rr->records[0].seq, 4);
    wr_read_result_free(rr);
    /* A huge trim is capped at the trim record's own seq + 1. */
    assert_int_equal(ts_trim(e, B, "t", UINT64_MAX).err, WR_OK); /* seq 12 -> trim 13 */
    assert_int_equal(ts_append_n(e, B, "t", "b", 2).err, WR_OK); /* 13, 14 */
    rr = ts_read(e, B, "t", &q);
    assert_int_equal(rr->n_records, 2);
    assert_int_equal(rr->records[0].seq, 13);
    wr_read_result_free(rr);
    /* Restart: still trimmed (read now comes from disk). */
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    rr = ts_read(e, B, "t", &q);
    assert_int_equal(rr->err, WR_OK);
    assert_int_equal(rr->records[0].seq, 13);
    wr_read_result_free(rr);
}

static void
test_autocreate_and_errors(void **state)
{
    ts_env *e = *state;
    wr_error err;
    ts_basin(e, "no-auto-basin", false, false);
    wr_append_record r = ts_rec("x");
    wr_append_input in = {.records = &r, .n_records = 1};
    assert_int_equal(ts_append(e, "no-auto-basin", "s", &in).err, WR_ERR_STREAM_NOT_FOUND);
    assert_int_equal(ts_append(e, "missing-basin", "s", &in).err, WR_ERR_BASIN_NOT_FOUND);
    assert_int_equal(ts_append(e, B, ".", &in).err, WR_ERR_INVALID);
    /* Auto-create uses the basin default config. */
    assert_int_equal(ts_append(e, B, "auto", &in).err, WR_OK);
    wr_stream_config c;
    assert_int_equal(wr_store_stream_get(e->s, B, "auto", &c, NULL, &err), WR_OK);
    assert_int_equal(c.retention_age_secs, 604800);
    /* Deleted stream: 409. */
    assert_int_equal(wr_store_stream_delete(e->s, B, "auto", &err), WR_OK);
    assert_int_equal(ts_append(e, B, "auto", &in).err, WR_ERR_STREAM_DELETION_PENDING);
    /* Deleting basin: no auto-create. */
    assert_int_equal(wr_store_basin_delete(e->s, B, &err), WR_OK);
    assert_int_equal(ts_append(e, B, "auto2", &in).err, WR_ERR_BASIN_DELETION_PENDING);
}

typedef struct pipe_ctx {
    int n_done;
    int order[64];
    wr_append_result res[64];
} pipe_ctx;

typedef struct pipe_slot {
    pipe_ctx *ctx;
    int idx;
} pipe_slot;

static void
on_pipe(void *ud, const wr_append_result *res)
{
    pipe_slot *s = ud;
    s->ctx->order[s->ctx->n_done++] = s->idx;
    s->ctx->res[s->idx] = *res;
}

/* Many appends in flight on one stream, each conditioned on its predecessor; one bad input and
 * one bad condition in the middle. Results arrive in submission order with the right values. */
static void
test_pipelined(void **state)
{
    ts_env *e = *state;
    pipe_ctx ctx = {0};
    pipe_slot slots[40];
    wr_append_record recs[40];
    wr_append_input ins[40];
    uint64_t expect = 0;
    for (int i = 0; i < 40; i++) {
        slots[i] = (pipe_slot){&ctx, i};
        recs[i] = ts_rec("p");
        ins[i] = (wr_append_input){
            .records = &recs[i], .n_records = 1, .has_match_seq = true, .match_seq = expect};
        if (i == 10)
            ins[i].n_records = 0; /* 422, resolved at once but delivered in order */
        else if (i == 20)
            ins[i].match_seq = 999; /* 412 */
        else
            expect++;
        wr_store_append(e->s, B, "pipe", &ins[i], on_pipe, &slots[i]);
    }
    assert_int_equal(ctx.n_done, 0);
    while (ctx.n_done < 40)
        uv_run(&e->loop, UV_RUN_ONCE);
    uint64_t seq = 0;
    for (int i = 0; i < 40; i++) {
        assert_int_equal(ctx.order[i], i);
        if (i == 10) {
            assert_int_equal(ctx.res[i].err, WR_ERR_INVALID);
        } else if (i == 20) {
            assert_int_equal(ctx.res[i].err, WR_ERR_SEQ_NUM_MISMATCH);
            assert_int_equal(ctx.res[i].actual_seq, 19);
        } else {
            assert_int_equal(ctx.res[i].err, WR_OK);
            assert_int_equal(ctx.res[i].start.seq, seq);
            assert_true(ctx.res[i].tail.seq >= ctx.res[i].end.seq);
            seq++;
        }
    }
    /* The stream holds exactly the 38 good records. */
    char *all = ts_read_all_bodies(e, B, "pipe");
    assert_int_equal(strlen(all), 38 * 2 - 1);
    free(all);
}

static void
test_restart_tail(void **state)
{
    ts_env *e = *state;
    for (int i = 0; i < 5; i++) {
        wr_clock_advance_ms(7);
        assert_int_equal(ts_append_n(e, B, "rs", "x", 3).err, WR_OK);
    }
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, B, "rs", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 15);
    assert_int_equal(tail.ts_ms, NOW + 35);
    /* Appends continue from the recovered tail, timestamps stay monotonic. */
    wr_append_result r = append1(e, "rs", ts_rec_ts("y", 5));
    assert_int_equal(r.start.seq, 15);
    assert_int_equal(r.start.ts_ms, NOW + 35);
    char *all = ts_read_all_bodies(e, B, "rs");
    assert_string_equal(all, "x0|x1|x2|x0|x1|x2|x0|x1|x2|x0|x1|x2|x0|x1|x2|y");
    free(all);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_invalid_rows, &fx),
        TS_TEST(test_ack_positions, &fx),
        TS_TEST(test_timestamps, &fx),
        TS_TEST(test_fencing_and_match, &fx),
        TS_TEST(test_command_without_body, &fx),
        TS_TEST(test_trim, &fx),
        TS_TEST(test_autocreate_and_errors, &fx),
        TS_TEST(test_pipelined, &fx),
        TS_TEST(test_restart_tail, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
