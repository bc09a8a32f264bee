/*
 * test_stream_cache.c — the bounded stream cache of store.h (STREAM CACHE): touching many more
 * streams than the cap keeps at most `cap` states in memory, least recently used first out;
 * an evicted stream comes back with its tail, fencing token and trim point and takes appends at
 * the right seq_num; a stream with a follower or an append in flight is never evicted, nor one
 * whose ack is being delivered while the callback uses other streams; a read running on the
 * worker pool and a deleted stream are unaffected by eviction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_int.h"
#include "support/store_support.h"
#include "util/mem.h"

#define B "cache-basin"
#define CAP 4
#define N 20

static void
small_cache(ts_env *e)
{
    e->opts.stream_cache_entries = CAP;
}

static const ts_fixture fx = {
    .basin = B, .create_on_append = true, .create_on_read = true, .tune = small_cache};

static void
assert_within_cap(ts_env *e)
{
    uint64_t n = ts_stats(e).cached_streams;
    if (n > CAP)
        fail_msg("%llu streams cached, cap %d", (unsigned long long)n, CAP);
}

/* Uses a stream (auto-created on read) and returns its tail. */
static wr_pos
touch(ts_env *e, const char *stream)
{
    wr_pos tail = {0};
    wr_error err;
    wr_err rc = wr_store_check_tail(e->s, B, stream, &tail, &err);
    if (rc)
        fail_msg("check_tail %s: %s", stream, err.msg);
    return tail;
}

static wr_append_result
fenced_append(ts_env *e, const char *stream, const char *token)
{
    wr_append_record r = ts_rec("fenced");
    wr_append_input in = {
        .records = &r, .n_records = 1, .fencing_token = token, .fencing_token_len = strlen(token)};
    return ts_append(e, B, stream, &in);
}

static void
test_evicts_and_reloads(void **state)
{
    ts_env *e = *state;
    char name[16], tok[16];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        assert_int_equal(ts_append_n(e, B, name, "r", 3).err, WR_OK);
        if (i % 3 == 0) {
            snprintf(tok, sizeof(tok), "tok%d", i);
            assert_int_equal(ts_command(e, B, name, &ts_fence_header, tok, strlen(tok)).err, WR_OK);
        } else if (i % 3 == 1) {
            assert_int_equal(ts_trim(e, B, name, 2).err, WR_OK);
        }
        assert_within_cap(e);
    }
    assert_true(ts_stats(e).evicted_streams >= N - CAP);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        snprintf(tok, sizeof(tok), "tok%d", i);
        uint64_t tail = i % 3 == 2 ? 3 : 4;
        assert_int_equal(touch(e, name).seq, tail);
        assert_within_cap(e);
        wr_append_result r = fenced_append(e, name, i % 3 == 0 ? "wrong" : "x");
        assert_int_equal(r.err, WR_ERR_FENCING_TOKEN_MISMATCH);
        assert_string_equal(r.actual_token, i % 3 == 0 ? tok : "");
        r = fenced_append(e, name, i % 3 == 0 ? tok : "");
        assert_int_equal(r.err, WR_OK);
        assert_int_equal(r.start.seq, tail);
        wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0, .may_follow = true};
        wr_read_result *rr = ts_read(e, B, name, &q);
        assert_int_equal(rr->err, WR_OK);
        uint64_t first = i % 3 == 1 ? 2 : 0; /* below the trim point nothing is visible */
        assert_int_equal(rr->n_records, tail + 1 - first);
        assert_int_equal(rr->records[0].seq, first);
        wr_read_result_free(rr);
        assert_within_cap(e);
    }
}

static void
test_lru_order(void **state)
{
    ts_env *e = *state;
    const char *names[] = {"a", "b", "c", "d"};
    for (size_t i = 0; i < 4; i++)
        touch(e, names[i]);
    touch(e, "a"); /* now b is the least recently used */
    touch(e, "e");
    assert_non_null(wr_store__stream_cached(e->s, B, "a"));
    assert_null(wr_store__stream_cached(e->s, B, "b"));
    assert_non_null(wr_store__stream_cached(e->s, B, "c"));
    assert_non_null(wr_store__stream_cached(e->s, B, "e"));
    assert_int_equal(ts_stats(e).cached_streams, CAP);
}

typedef struct fol {
    int batches;
    uint64_t next;
} fol;

static void
on_event(void *ud, const wr_follow_event *ev)
{
    fol *f = ud;
    if (ev->kind == WR_FOLLOW_BATCH) {
        f->batches++;
        f->next = ev->tail.seq;
    }
}

static void
touch_many(ts_env *e, const char *prefix, int n)
{
    char name[16];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        touch(e, name);
        assert_within_cap(e);
    }
}

static void
test_busy_streams_stay(void **state)
{
    ts_env *e = *state;
    wr_error err;
    assert_int_equal(ts_append_n(e, B, "followed", "x", 1).err, WR_OK);
    /* Static: if an assertion fails, these callbacks still run when the store closes. */
    static fol f;
    static ts_append_wait w;
    memset(&f, 0, sizeof(f));
    wr_follow *sub;
    assert_int_equal(wr_store_follow(e->s, B, "followed", 1, on_event, &f, &sub, &err), WR_OK);
    /* An append with the commit thread (the loop does not run, so it cannot complete). */
    static wr_append_record rec;
    static wr_append_input in;
    rec = ts_rec("in flight");
    in = (wr_append_input){.records = &rec, .n_records = 1};
    ts_append_start(e, B, "inflight", &in, &w);
    stream_state *fst = wr_store__stream_cached(e->s, B, "followed");
    stream_state *ast = wr_store__stream_cached(e->s, B, "inflight");
    assert_non_null(fst);
    assert_non_null(ast);
    assert_non_null(ast->q_head);
    touch_many(e, "other", 3 * CAP);
    assert_ptr_equal(wr_store__stream_cached(e->s, B, "followed"), fst);
    assert_ptr_equal(wr_store__stream_cached(e->s, B, "inflight"), ast);
    ts_run_until(e, &w.done);
    assert_int_equal(w.res.err, WR_OK);
    assert_int_equal(w.res.start.seq, 0);
    assert_int_equal(ts_append_n(e, B, "inflight", "y", 1).start.seq, 1);
    assert_int_equal(ts_append_n(e, B, "followed", "y", 1).start.seq, 1);
    assert_int_equal(f.batches, 1);
    assert_int_equal(f.next, 2);
    /* Idle again (the follower is gone once its unlink has run): now they may go. */
    wr_store_unfollow(sub);
    assert_int_equal(ts_append_n(e, B, "other0", "z", 1).err, WR_OK);
    touch_many(e, "more", 3 * CAP);
    assert_null(wr_store__stream_cached(e->s, B, "followed"));
    assert_null(wr_store__stream_cached(e->s, B, "inflight"));
    assert_int_equal(ts_append_n(e, B, "followed", "w", 1).start.seq, 2);
    assert_int_equal(ts_append_n(e, B, "inflight", "w", 1).start.seq, 2);
}

typedef struct touch_in_cb {
    ts_env *e;
    bool done;
    wr_append_result res;
} touch_in_cb;

static void
on_append_touch(void *ud, const wr_append_result *res)
{
    touch_in_cb *t = ud;
    t->res = *res;
    /* The acknowledged stream has nothing queued any more, yet its ack is being delivered. */
    touch_many(t->e, "from-cb", 3 * CAP);
    t->done = true;
}

/* An ack callback that uses many other streams does not evict the stream it is called for. */
static void
test_callback_loads_streams(void **state)
{
    ts_env *e = *state;
    static touch_in_cb t;
    static wr_append_record rec;
    static wr_append_input in;
    memset(&t, 0, sizeof(t));
    t.e = e;
    rec = ts_rec("x");
    in = (wr_append_input){.records = &rec, .n_records = 1};
    wr_store_append(e->s, B, "acked", &in, on_append_touch, &t);
    ts_run_until(e, &t.done);
    assert_int_equal(t.res.err, WR_OK);
    assert_int_equal(ts_append_n(e, B, "acked", "y", 1).start.seq, 1);
    assert_within_cap(e);
}

typedef struct rw {
    bool done;
    wr_read_result *res;
} rw;

static void
on_read(void *ud, wr_read_result *res)
{
    rw *w = ud;
    w->res = res;
    w->done = true;
}

/* A read served from RocksDB keeps no pointer to the stream's state. */
static void
test_read_during_eviction(void **state)
{
    ts_env *e = *state;
    assert_int_equal(ts_append_n(e, B, "r", "r", 5).err, WR_OK);
    touch_many(e, "evict", CAP + 1); /* r is evicted: its batches leave the memory cache */
    assert_null(wr_store__stream_cached(e->s, B, "r"));
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0, .may_follow = true};
    static rw w;
    memset(&w, 0, sizeof(w));
    wr_store_read(e->s, B, "r", &q, on_read, &w);
    touch_many(e, "again", CAP + 1);
    assert_null(wr_store__stream_cached(e->s, B, "r"));
    ts_run_until(e, &w.done);
    assert_int_equal(w.res->err, WR_OK);
    assert_int_equal(w.res->n_records, 5);
    assert_memory_equal(w.res->records[4].body, "r4", 2);
    wr_read_result_free(w.res);
}

/* A stream marked deleted and evicted comes back deleted; its cleanup still finishes. */
static void
test_deleted_stream_evicted(void **state)
{
    ts_env *e = *state;
    wr_error err;
    assert_int_equal(ts_append_n(e, B, "d", "x", 2).err, WR_OK);
    assert_int_equal(wr_store_stream_delete(e->s, B, "d", &err), WR_OK);
    touch_many(e, "evict", CAP + 1);
    assert_null(wr_store__stream_cached(e->s, B, "d"));
    assert_int_equal(ts_append_n(e, B, "d", "y", 1).err, WR_ERR_STREAM_DELETION_PENDING);
    ts_maintain(e, false);
    assert_int_equal(wr_store_stream_get(e->s, B, "d", NULL, NULL, &err), WR_ERR_STREAM_NOT_FOUND);
    assert_int_equal(ts_append_n(e, B, "d", "z", 1).start.seq, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_evicts_and_reloads, &fx),   TS_TEST(test_lru_order, &fx),
        TS_TEST(test_busy_streams_stay, &fx),    TS_TEST(test_callback_loads_streams, &fx),
        TS_TEST(test_read_during_eviction, &fx), TS_TEST(test_deleted_stream_evicted, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
