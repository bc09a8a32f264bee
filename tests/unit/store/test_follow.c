/*
 * test_follow.c — live follow: batches delivered once each, in order, only after they are
 * durable; replay from the cache for a follower behind the tail; LAGGED when the position was
 * evicted; pause/resume; unfollow from inside a callback (self and other); CLOSED on stream
 * deletion and on store close; the per-batch encoding cache shared by followers.
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
#include "util/mem.h"

#define B "follow-basin"

/* The stream every test follows. */
static void
stream_s(ts_env *e)
{
    ts_stream(e, B, "s", NULL);
}

static const ts_fixture fx = {
    .basin = B, .create_on_append = true, .create_on_read = true, .populate = stream_s};

typedef struct fol {
    ts_env *e;
    wr_follow *f;
    uint64_t next; /* expected next seq */
    int batches;
    int records;
    int lagged;
    int closed;
    wr_err closed_err;
    bool unfollow_in_cb;
    struct fol *kill_other;
    wr_batch *kept;
} fol;

static void
on_event(void *ud, const wr_follow_event *ev)
{
    fol *c = ud;
    if (ev->kind == WR_FOLLOW_BATCH) {
        const wr_batch *b = ev->batch;
        /* In order, never twice, and only durable: the tail already covers it. */
        assert_int_equal(b->first_seq + ev->first, c->next);
        wr_pos tail;
        wr_error err;
        assert_int_equal(wr_store_check_tail(c->e->s, B, "s", &tail, &err), WR_OK);
        assert_true(tail.seq >= b->end_seq);
        assert_int_equal(ev->tail.seq, b->end_seq);
        c->next = b->end_seq;
        c->batches++;
        c->records += (int)(b->n_records - ev->first);
        if (!c->kept)
            c->kept = wr_batch_ref(ev->batch);
        if (c->unfollow_in_cb) {
            wr_store_unfollow(c->f);
            c->f = NULL;
        }
        if (c->kill_other && c->kill_other->f) {
            wr_store_unfollow(c->kill_other->f);
            c->kill_other->f = NULL;
        }
    } else if (ev->kind == WR_FOLLOW_LAGGED) {
        c->lagged++;
    } else {
        c->closed++;
        c->closed_err = ev->err;
    }
}

static void
start(ts_env *e, fol *c, uint64_t from)
{
    memset(c, 0, sizeof(*c));
    c->e = e;
    c->next = from;
    wr_error err;
    assert_int_equal(wr_store_follow(e->s, B, "s", from, on_event, c, &c->f, &err), WR_OK);
}

static void
stop(fol *c)
{
    if (c->f)
        wr_store_unfollow(c->f);
    c->f = NULL;
    wr_batch_unref(c->kept);
    c->kept = NULL;
}

static void
spin(ts_env *e, int n)
{
    for (int i = 0; i < n; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT);
}

static void
test_live_and_replay(void **state)
{
    ts_env *e = *state;
    assert_int_equal(ts_append_n(e, B, "s", "a", 3).err, WR_OK);
    fol live, behind, mid;
    start(e, &live, 3);
    start(e, &behind, 0);
    start(e, &mid, 1); /* mid-batch start: first = 1 */
    for (int i = 0; i < 5; i++)
        assert_int_equal(ts_append_n(e, B, "s", "b", 2).err, WR_OK);
    spin(e, 3);
    assert_int_equal(live.batches, 5);
    assert_int_equal(live.records, 10);
    assert_int_equal(behind.batches, 6);
    assert_int_equal(behind.records, 13);
    assert_int_equal(mid.records, 12);
    /* Bad positions. */
    wr_follow *f;
    wr_error err;
    assert_int_equal(wr_store_follow(e->s, B, "s", 14, on_event, &live, &f, &err),
                     WR_ERR_RANGE_NOT_SATISFIABLE);
    assert_int_equal(wr_store_follow(e->s, B, "nope", 0, on_event, &live, &f, &err),
                     WR_ERR_STREAM_NOT_FOUND);
    stop(&live);
    stop(&behind);
    stop(&mid);
}

static void
test_lagged_and_pause(void **state)
{
    ts_env *e = *state;
    /* Restart: the cache is empty, so a follower from 0 is told to catch up with reads. */
    assert_int_equal(ts_append_n(e, B, "s", "a", 3).err, WR_OK);
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    fol c;
    start(e, &c, 0);
    spin(e, 3);
    assert_int_equal(c.lagged, 1);
    assert_int_equal(c.batches, 0);
    stop(&c);
    /* Pause, miss batches, resume: replayed from cache. */
    start(e, &c, 3);
    wr_store_follow_pause(c.f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ts_append_n(e, B, "s", "b", 1).err, WR_OK);
    assert_int_equal(c.batches, 0);
    wr_store_follow_resume(c.f);
    spin(e, 3);
    assert_int_equal(c.batches, 3);
    assert_int_equal(c.next, 6);
    /* Pause, then evict everything by shrinking the cache through a reopen is not possible
     * with a live follower; instead overflow the per-store cache with a small budget. */
    stop(&c);
    e->opts.cache_bytes = 4096;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(ts_append_n(e, B, "s", "c", 1).err, WR_OK); /* seq 6, cached */
    start(e, &c, 7);
    wr_store_follow_pause(c.f);
    static char big[3000];
    memset(big, 'z', sizeof(big) - 1);
    wr_append_record r = ts_rec(big);
    wr_append_input in = {.records = &r, .n_records = 1};
    for (int i = 0; i < 4; i++)
        assert_int_equal(ts_append(e, B, "s", &in).err, WR_OK);
    wr_store_follow_resume(c.f);
    spin(e, 3);
    assert_int_equal(c.lagged, 1);
    stop(&c);
}

static void
test_unfollow_in_callbacks(void **state)
{
    ts_env *e = *state;
    fol self, killer, victim, bystander;
    start(e, &victim, 0);
    start(e, &self, 0);
    start(e, &killer, 0);
    start(e, &bystander, 0);
    self.unfollow_in_cb = true;
    killer.kill_other = &victim;
    assert_int_equal(ts_append_n(e, B, "s", "a", 1).err, WR_OK);
    assert_int_equal(ts_append_n(e, B, "s", "b", 1).err, WR_OK);
    spin(e, 3);
    assert_int_equal(self.batches, 1);
    assert_int_equal(bystander.batches, 2);
    assert_int_equal(killer.batches, 2);
    assert_true(victim.batches <= 1);
    stop(&self);
    stop(&killer);
    stop(&victim);
    stop(&bystander);
}

static void
test_closed_events(void **state)
{
    ts_env *e = *state;
    assert_int_equal(ts_append_n(e, B, "s", "a", 1).err, WR_OK);
    fol c, d;
    start(e, &c, 1);
    wr_error err;
    assert_int_equal(wr_store_stream_delete(e->s, B, "s", &err), WR_OK);
    assert_int_equal(c.closed, 1);
    assert_int_equal(c.closed_err, WR_ERR_STREAM_DELETION_PENDING);
    stop(&c);
    assert_int_equal(ts_append_n(e, B, "t", "a", 1).err, WR_OK);
    memset(&d, 0, sizeof(d));
    assert_int_equal(wr_store_follow(e->s, B, "t", 1, on_event, &d, &d.f, &err), WR_OK);
    d.e = e;
    d.next = 1;
    ts_close(e);
    assert_int_equal(d.closed, 1);
    assert_int_equal(d.closed_err, WR_ERR_UNAVAILABLE);
    stop(&d); /* unfollow after the store is gone is fine */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
}

static int frees;
static void
count_free(void *p)
{
    frees++;
    free(p);
}

/* Every follower sees the same batch object; what one attaches is seen by the others. */
static void
test_shared_batch_encoding(void **state)
{
    ts_env *e = *state;
    frees = 0;
    fol a, b;
    start(e, &a, 0);
    start(e, &b, 0);
    assert_int_equal(ts_append_n(e, B, "s", "x", 2).err, WR_OK);
    spin(e, 2);
    assert_ptr_equal(a.kept, b.kept);
    wr_batch_attach(a.kept, wr_xstrdup("encoded"), count_free);
    assert_string_equal(wr_batch_attachment(b.kept), "encoded");
    stop(&a);
    stop(&b);
    ts_close(e); /* drops the cache's reference */
    assert_int_equal(frees, 1);
    wr_error err;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_live_and_replay, &fx),       TS_TEST(test_lagged_and_pause, &fx),
        TS_TEST(test_unfollow_in_callbacks, &fx), TS_TEST(test_closed_events, &fx),
        TS_TEST(test_shared_batch_encoding, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
