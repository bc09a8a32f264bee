/*
 * follow.c — the cache of recent durable batches and live followers.
 *
 * Cache: every batch that becomes durable is appended to its stream's list and to one global
 * list in the same (durable) order. When the cache exceeds opts.cache_bytes the globally oldest
 * batch is evicted, which is always the oldest batch of its stream, so each stream's cached
 * batches stay contiguous and end at its durable tail. A stream also keeps at most
 * STREAM_CACHE_MAX bytes. The cache holds one reference per batch.
 *
 * Followers: a wr_follow tracks `next_seq`. A new durable batch is delivered at once to every
 * follower whose next_seq equals the batch's first seq and that is not paused; followers behind
 * (new, resumed) are caught up from the cache by a deferred pump, or get WR_FOLLOW_LAGGED when
 * their position was evicted. All on the loop thread.
 *
 * Lifetime: wr_store_unfollow() only marks the follower dead; unlinking and freeing happen in a
 * deferred callback, so a callback may unfollow itself or any other follower while a fan-out
 * loop is running. wr_store_close() detaches remaining followers (store = NULL) so a late
 * unfollow just frees the struct.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/mem.h"

#define STREAM_CACHE_MAX (4u << 20)

static void
evict(wr_store *s, ring_node *n)
{
    stream_state *st = n->st;
    if (n->s_prev)
        n->s_prev->s_next = n->s_next;
    else
        st->ring_head = n->s_next;
    if (n->s_next)
        n->s_next->s_prev = n->s_prev;
    else
        st->ring_tail = n->s_prev;
    if (n->g_prev)
        n->g_prev->g_next = n->g_next;
    else
        s->g_head = n->g_next;
    if (n->g_next)
        n->g_next->g_prev = n->g_prev;
    else
        s->g_tail = n->g_prev;
    st->ring_bytes -= n->b->len;
    s->cache_bytes -= n->b->len;
    wr_batch_unref(n->b);
    free(n);
}

void
wr_store__ring_push(wr_store *s, stream_state *st, wr_batch *b)
{
    ring_node *n = wr_xcalloc(1, sizeof(*n));
    n->b = wr_batch_ref(b);
    n->st = st;
    n->s_prev = st->ring_tail;
    if (st->ring_tail)
        st->ring_tail->s_next = n;
    else
        st->ring_head = n;
    st->ring_tail = n;
    n->g_prev = s->g_tail;
    if (s->g_tail)
        s->g_tail->g_next = n;
    else
        s->g_head = n;
    s->g_tail = n;
    st->ring_bytes += b->len;
    s->cache_bytes += b->len;
    while (st->ring_bytes > STREAM_CACHE_MAX && st->ring_head != st->ring_tail)
        evict(s, st->ring_head);
    while (s->cache_bytes > s->opts.cache_bytes && s->g_head && s->g_head != s->g_tail)
        evict(s, s->g_head);
}

void
wr_store__ring_drop_stream(wr_store *s, stream_state *st)
{
    while (st->ring_head)
        evict(s, st->ring_head);
}

void
wr_store__ring_free(wr_store *s)
{
    /* evict() moves s->g_head on; the analyzer does not keep the lists' invariants (a head has
     * no prev) and reports a use after free that cannot happen. */
    while (s->g_head)
        evict(s, s->g_head); /* NOLINT(clang-analyzer-unix.Malloc) */
}

ring_node *
wr_store__ring_find(stream_state *st, uint64_t seq)
{
    for (ring_node *n = st->ring_tail; n; n = n->s_prev) {
        if (seq >= n->b->first_seq && seq < n->b->end_seq)
            return n;
        if (seq >= n->b->end_seq)
            return NULL;
    }
    return NULL;
}

static bool
active(const wr_follow *f)
{
    return !f->dead && !f->finished && f->store;
}

/* Delivers the records of b from `first` on, minus those already expired by age retention (a
 * batch that expired entirely only moves the follower past it). */
static void
deliver(wr_follow *f, wr_batch *b, uint32_t first)
{
    uint32_t expired = wr_store__expired_prefix(f->st, b);
    if (expired > first)
        first = expired;
    f->next_seq = b->end_seq;
    if (first >= b->n_records)
        return;
    uint64_t bytes = 0; /* usage.c */
    for (uint32_t i = first; i < b->n_records; i++)
        bytes += b->records[i].metered;
    wr_store__usage_read(f->store, f->st->basin, f->st->name, b->n_records - first, bytes, false);
    wr_follow_event ev = {.kind = WR_FOLLOW_BATCH, .batch = b, .first = first};
    ev.tail.seq = b->end_seq;
    ev.tail.ts_ms = b->last_ts;
    f->cb(f->ud, &ev);
}

static void
terminal(wr_follow *f, wr_follow_kind kind, wr_err why)
{
    wr_follow_event ev = {.kind = kind, .err = why};
    f->finished = true;
    f->cb(f->ud, &ev);
}

void
wr_store__fanout(wr_store *s, stream_state *st, wr_batch *b)
{
    (void)s;
    for (wr_follow *f = st->subs; f; f = f->next)
        if (active(f) && !f->paused && !f->pump_queued && f->next_seq == b->first_seq)
            deliver(f, b, 0);
}

/* Catches a follower up from the cache. */
static void
pump_follower(wr_store *s, void *arg)
{
    (void)s;
    wr_follow *f = arg;
    f->pump_queued = false;
    while (active(f) && !f->paused && f->next_seq < f->st->d_seq) {
        ring_node *n = wr_store__ring_find(f->st, f->next_seq);
        if (!n) {
            terminal(f, WR_FOLLOW_LAGGED, WR_OK);
            return;
        }
        deliver(f, n->b, (uint32_t)(f->next_seq - n->b->first_seq));
    }
}

static void
queue_pump(wr_follow *f)
{
    if (!f->pump_queued && f->store) {
        f->pump_queued = true;
        wr_store__defer(f->store, pump_follower, f);
    }
}

wr_err
wr_store_follow(wr_store *s, const char *basin, const char *stream, uint64_t from_seq,
                wr_follow_cb cb, void *ud, wr_follow **out, wr_error *out_err)
{
    stream_state *st;
    *out = NULL;
    if (s->closing)
        return wr_error_set(out_err, WR_ERR_UNAVAILABLE, "store is closing");
    wr_err e = wr_store__stream(s, basin, stream, false, false, &st, out_err);
    if (e)
        return e;
    if (st->deleted)
        return wr_error_set(out_err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
    if (from_seq > st->d_seq)
        return wr_error_set(out_err, WR_ERR_RANGE_NOT_SATISFIABLE,
                            "follow position is beyond the tail");
    wr_follow *f = wr_xcalloc(1, sizeof(*f));
    f->store = s;
    f->st = st;
    f->cb = cb;
    f->ud = ud;
    f->next_seq = from_seq;
    f->next = st->subs;
    if (st->subs)
        st->subs->prev = f;
    st->subs = f;
    s->n_followers++;
    if (from_seq < st->d_seq)
        queue_pump(f);
    *out = f;
    return WR_OK;
}

void
wr_store_follow_pause(wr_follow *f)
{
    f->paused = true;
}

void
wr_store_follow_resume(wr_follow *f)
{
    f->paused = false;
    if (active(f) && f->next_seq < f->st->d_seq)
        queue_pump(f);
}

static void
unlink_free(wr_store *s, void *arg)
{
    (void)s;
    wr_follow *f = arg;
    /* Any pump queued for f was queued before it died, so it already ran (FIFO). */
    if (f->store) {
        stream_state *st = f->st;
        if (f->prev)
            f->prev->next = f->next;
        else
            st->subs = f->next;
        if (f->next)
            f->next->prev = f->prev;
    }
    free(f);
}

void
wr_store_unfollow(wr_follow *f)
{
    if (!f || f->dead)
        return;
    f->dead = true;
    if (!f->store) {
        free(f);
        return;
    }
    f->store->n_followers--;
    wr_store__defer(f->store, unlink_free, f);
}

void
wr_store__close_subs(wr_store *s, stream_state *st, wr_err why)
{
    (void)s;
    for (wr_follow *f = st->subs; f; f = f->next)
        if (active(f))
            terminal(f, WR_FOLLOW_CLOSED, why);
}

void
wr_store__detach_subs(wr_store *s)
{
    for (size_t i = 0; i < s->n_buckets; i++) {
        for (stream_state *st = s->buckets[i]; st; st = st->hnext) {
            wr_follow *f = st->subs;
            while (f) {
                wr_follow *next = f->next;
                f->store = NULL;
                f->prev = f->next = NULL;
                f = next;
            }
            st->subs = NULL;
        }
    }
    s->n_followers = 0;
}
