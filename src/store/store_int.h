/*
 * store_int.h — internals shared by the store's .c files (not for other modules).
 *
 * Ownership and threads:
 *  - wr_store, stream_state, append_op (except the fields noted), wr_follow, ring nodes and the
 *    deferred list belong to the loop thread.
 *  - The commit queue (`cq_*`), the done list (`done_*`) and `commit_idle` are shared with the
 *    commit thread under `mu`. An append_op is handed over whole: the loop fills it, puts it on
 *    its hand-off list (`hq_*`, loop only), moves that list to the commit queue once per loop
 *    iteration (store.c, handoff), and does not touch the op until it comes back through the
 *    done list; the commit thread only reads its keys/values and writes `commit_err`.
 *  - `failed` and `n_commits` are atomics. `failed` is set through wr_store__fail by whichever
 *    thread meets a write or read error (commit thread, loop, worker pool); `n_commits` is
 *    written by the commit thread.
 *  - With `on_loop` (wr_store_opts.commit_mode) the loop may also commit a small hand-off list
 *    itself in its prepare phase (store.c, commit_on_loop), but only while the commit thread is
 *    quiet (thread_quiet, under `mu`): nothing being written, queued or undelivered.
 *
 * The stream cache (store.c) holds at most opts.stream_cache_entries stream_states. When a load
 * pushes it over, the least recently used *idle* states are dropped (wr_store__stream_uncache);
 * the next use reloads them from RocksDB (wr_store__stream_cache_load). Idle means nothing but
 * the cache points at the state, and nothing it holds is newer than the disk:
 *  - no append queued or in flight: q_head == NULL and next_seq == d_seq (append_op->st);
 *  - no follower: subs == NULL (wr_follow->st, also while an unfollowed one awaits its unlink);
 *  - no deferred flush and no delivery in progress: !flush_queued, !delivering.
 * Nothing else keeps a stream_state: read jobs keep the stream id, the lifecycle keeps names and
 * ids (its `retired` list holds states already out of the cache), usage.c keeps names. So a
 * stream_state pointer from wr_store__stream() stays valid only until the next lookup of another
 * stream, unless one of the conditions above holds; callers link their op or follower at once.
 */
#ifndef WR_STORE_STORE_INT_H
#define WR_STORE_STORE_INT_H

#include <pthread.h>
#include <rocksdb/c.h>
#include <stdatomic.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/hist.h"

typedef struct stream_state stream_state;
typedef struct append_op append_op;
typedef struct ring_node ring_node;

typedef enum op_state {
    OP_WAITING,    /* queued for in-flight budget, not sequenced */
    OP_COMMITTING, /* sequenced, with the commit thread */
    OP_DONE,       /* result known, waiting for earlier ops of the stream */
} op_state;

struct append_op {
    append_op *q_next;      /* the stream's submission-order queue */
    append_op *wait_next;   /* budget wait list */
    append_op *commit_next; /* commit queue / done list */
    wr_store *store;
    stream_state *st;
    char *basin; /* copies, for ops deferred before a stream was found */
    const wr_append_input *in;
    wr_append_cb cb;
    void *ud;
    op_state state;
    wr_append_result res;
    uint64_t charge;      /* bytes charged to the in-flight budget */
    uint64_t chain_index; /* position in in->chain, when there is one */
    /* Filled at sequencing, read by the commit thread. */
    wr_batch *batch;
    bool put_fence;
    char fence[WR_FENCING_TOKEN_MAX];
    size_t fence_len;
    bool put_trim;
    uint64_t trim;
    bool put_doe; /* delete-on-empty stream: the append moves its deadline */
    uint64_t doe_deadline;
    uint8_t ledger[32]; /* the TS_INDEX value (keys.h usage ledger) */
    /*
     * Storage runs (append.c join_run): the appends of a stream sequenced between two
     * hand-offs are stored as one BATCH value with one TS_INDEX entry, written by the run's
     * first op (the head). The loop links and counts a run only while its head is still on the
     * hand-off list; the commit thread reads it after the hand-off.
     */
    bool merged;          /* stored inside an earlier op's value: no keys of its own */
    append_op *run_next;  /* the next op of the run */
    append_op *run_tail;  /* head only: the run's last op */
    uint32_t run_records; /* head only: records of the run */
    uint64_t run_len;     /* head only: length of the run's value (its ledger's `stored`) */
    /* Written by the commit thread. */
    wr_err commit_err;
};

struct ring_node {
    wr_batch *b;
    stream_state *st;
    ring_node *s_prev, *s_next; /* the stream's cached batches, oldest first */
    ring_node *g_prev, *g_next; /* every cached batch, oldest first (eviction order) */
};

struct wr_follow {
    wr_store *store; /* NULL once detached by wr_store_close */
    stream_state *st;
    wr_follow *prev, *next; /* st->subs */
    wr_follow_cb cb;
    void *ud;
    uint64_t next_seq;
    bool paused;
    bool finished; /* a terminal event was delivered */
    bool dead;     /* unfollowed; freed by the deferred pump */
    bool pump_queued;
};

struct stream_state {
    stream_state *hnext;
    stream_state *lru_prev, *lru_next; /* the cache's LRU list, most recently used first */
    uint64_t hash;
    char *basin;
    char *name;
    uint64_t id;
    wr_stream_config cfg;
    wr_cipher cipher;
    uint64_t created_at;
    bool deleted;
    uint64_t deleted_at;
    /* Sequencer state: includes appends not yet durable. */
    uint64_t next_seq;
    uint64_t last_ts;
    uint64_t last_arrival; /* arrival_ms of the last sequenced batch (monotonic) */
    char fence[WR_FENCING_TOKEN_MAX];
    size_t fence_len;
    uint64_t trim;
    uint64_t cum_metered, cum_stored; /* usage ledger sums through the last sequenced batch */
    append_op *run_head;              /* head of the stream's latest storage run … */
    uint64_t run_epoch;               /* … open while this equals the store's hq_epoch */
    /* Durable state. */
    uint64_t d_seq;
    uint64_t d_ts;
    uint64_t d_arrival; /* arrival_ms of the last durable batch: age retention measures it */
    uint64_t d_trim;
    /* Submission-order queue of appends. */
    append_op *q_head, *q_tail;
    bool flush_queued;
    bool delivering; /* flush_stream is calling back (a callback may load other streams) */
    /* Recent durable batches. */
    ring_node *ring_head, *ring_tail;
    uint64_t ring_bytes;
    wr_follow *subs;
};

/*
 * A metadata change made durable by the commit thread instead of the loop (wr_store__meta_submit):
 * its batch joins the commit thread's next group write (synced, with whatever appends are in it),
 * so the loop never waits for the fsync and the change is visible to readers only once it is
 * durable. `done` runs on the loop thread afterwards with `err` set, and frees the op.
 */
typedef struct meta_op {
    struct meta_op *next;
    rocksdb_writebatch_t *wb;
    wr_err err;
    void (*done)(wr_store *s, struct meta_op *op);
} meta_op;

/* A name whose meta change (create, reconfigure, ensure, delete, pin) is on its way to the
 * commit thread (loop only): the next change of the name waits for it (or, made synchronously,
 * gets TRANSACTION_CONFLICT), so each change decides on the meta its predecessor wrote. */
typedef struct change_waiter {
    struct change_waiter *next;
    void (*fn)(wr_store *s, void *arg);
    void *arg;
} change_waiter;

typedef struct changing {
    struct changing *next;
    char *basin, *stream;   /* stream NULL: the basin itself */
    bool create;            /* the name's create: not durable yet */
    change_waiter *waiters; /* run (deferred) once the change is done, either way */
} changing;

typedef struct deferred {
    struct deferred *next;
    void (*fn)(wr_store *s, void *arg);
    void *arg;
} deferred;

struct wr_store {
    uv_loop_t *loop;
    uv_async_t async;
    char *path;
    wr_store_opts opts;
    rocksdb_t *db;
    rocksdb_options_t *dbopts;
    rocksdb_writeoptions_t *wo_sync, *wo_nosync;
    rocksdb_readoptions_t *ro;
    rocksdb_cache_t *block_cache;
    rocksdb_block_based_table_options_t *bbto;

    /* Stream cache (hash table keyed by basin ‖ 00 ‖ stream, plus an LRU list). */
    stream_state **buckets;
    size_t n_buckets;
    size_t n_streams;
    stream_state *lru_head, *lru_tail;
    uint64_t n_evicted;
    uint64_t next_stream_id;

    /* Budget. */
    uint64_t inflight;
    append_op *wait_head, *wait_tail;
    uint64_t n_waiting;

    /* Cache of recent batches. */
    ring_node *g_head, *g_tail;
    uint64_t cache_bytes;

    /* Deferred loop work. */
    deferred *def_head, *def_tail;

    /* Commit thread (and the loop, when on_loop). */
    pthread_t commit_thread;
    bool on_loop;                  /* the loop commits small groups while the thread is quiet */
    rocksdb_writebatch_t *loop_wb; /* on_loop: the group's batch, reused */
    uv_timer_t gather_timer;       /* on_loop: ends a gather wait, or lets the loop come round */
    uint64_t gather_until_ns;      /* on_loop: commit by then even if the group is short */
    size_t loop_gather_want;       /* on_loop: the last loop group's size (loop only) */
    uint64_t loop_commits;         /* groups the loop committed (loop only)*/
    uv_prepare_t handoff;          /* moves hq_* to the commit queue before the loop polls */
    append_op *hq_head, *hq_tail;  /* sequenced, not yet handed over (loop only) */
    uint64_t hq_bytes;             /* their in-flight charge (loop only) */
    uint64_t hq_epoch;             /* hand-offs so far (loop only): closes storage runs */
    size_t hq_n;                   /* appends on the hand-off list (loop only) */
    size_t cq_n;                   /* appends on the commit queue (under mu) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool commit_idle;   /* the commit thread waits for work (under mu) */
    size_t gather_want; /* … for this many queued appends, when nonzero (under mu) */
    append_op *cq_head, *cq_tail;
    append_op *done_head, *done_tail;
    meta_op *mq_head, *mq_tail;       /* metadata changes for the commit thread (under mu) */
    meta_op *pmq_head, *pmq_tail;     /* … submitted behind the hand-off list: wait for it */
    meta_op *mdone_head, *mdone_tail; /* … written, for the loop (under mu) */
    changing *changing;               /* names with a meta change in flight (loop only) */
    uint64_t done_gen;                /* completion lists handed to the loop */
    uint64_t processed_gen;           /* completion lists the loop has fully processed */
    bool stop;
    atomic_bool failed;
    atomic_uint_fast64_t n_commits;
    uint64_t n_acked;

    unsigned reads_inflight;
    struct lifecycle *lc; /* lifecycle.c: maintenance, holds, pins, deletion */
    struct usage *usage;  /* usage.c: the usage series (pending counts, jobs, timers) */
    wr_hist h_group;      /* appends per group commit (commit thread) */
    wr_hist h_commit;     /* synced group-commit write latency (commit thread) */
    uint64_t n_followers; /* follow.c */
    uint64_t n_read_records, n_read_bytes, n_app_records, n_app_bytes;
    struct quota_tab *quota; /* quota.c: stream counts per basin and group, NULL until used */
    bool closing;
    bool db_closed;
    bool direct_writes; /* flushes and compactions bypass the page cache (O_DIRECT) */
    void (*close_cb)(void *ud);
    void *close_ud;
};

/* meta.c */
typedef struct basin_meta {
    wr_basin_config cfg;
    uint64_t created_at;
    bool deleted;
    uint64_t deleted_at;
    char token[WR_REQUEST_TOKEN_MAX + 1];
    char location[WR_LOCATION_MAX + 1]; /* "" = none recorded */
} basin_meta;

typedef struct stream_meta {
    uint64_t id;
    wr_stream_config cfg;
    wr_cipher cipher;
    uint64_t created_at;
    bool deleted;
    uint64_t deleted_at;
    char token[WR_REQUEST_TOKEN_MAX + 1];
} stream_meta;

/* Reads BASIN_META. BASIN_NOT_FOUND when absent, STORAGE when unreadable. */
wr_err wr_store__basin_meta_get(wr_store *s, const char *name, basin_meta *out, wr_error *out_err);
/* Reads STREAM_META. STREAM_NOT_FOUND when absent, STORAGE when unreadable. */
wr_err wr_store__stream_meta_get(wr_store *s, const char *basin, const char *stream,
                                 stream_meta *out, wr_error *out_err);
/* Decodes a STREAM_META value (any thread); false when malformed. */
bool wr_store__stream_meta_decode(const char *v, size_t len, stream_meta *out);
/* Queues op for the commit thread (loop thread); op->done runs on the loop once it is written. A
 * store that is closing answers UNAVAILABLE (through a deferral, never from inside the call). */
void wr_store__meta_submit(wr_store *s, meta_op *op);
/* Whether a change of (basin, stream) is in flight; with stream NULL, of basin `basin` or any
 * of its streams. */
bool wr_store__changing(const wr_store *s, const char *basin, const char *stream);
/* When the create of stream (basin, stream) is in flight: queues fn(s, arg) to run (deferred, on
 * the loop) once it is done, and returns true. */
bool wr_store__wait_created(wr_store *s, const char *basin, const char *stream,
                            void (*fn)(wr_store *s, void *arg), void *arg);

/*
 * An automatic create (create_stream_on_append or _on_read) without the loop waiting: the meta
 * goes to the commit thread before the appends that follow it (so none of them is durable, or
 * acknowledged, before it: a group holds it or comes after the one that did), and the caller
 * caches the new stream state at once, so later appends queue on it. Until the meta is written
 * the stream is not listed or found by name (get), and an explicit create of it gets
 * TRANSACTION_CONFLICT; reads through the cached state see it empty.
 */
wr_err wr_store__stream_meta_create_auto(wr_store *s, const char *basin, const char *stream,
                                         const wr_stream_config *resolved, wr_cipher cipher,
                                         stream_meta *out, wr_error *out_err);

/* Marks the stream deleted through the commit thread (delete-on-empty; `m` as the caller read
 * it, the name held meanwhile) and, once durable, updates its cached state: later appends and
 * reads get STREAM_DELETION_PENDING, followers WR_FOLLOW_CLOSED. fn(s, arg, err) runs on the
 * loop afterwards; lifecycle.c finishes the deletion. */
void wr_store__stream_mark_deleted_async(wr_store *s, const char *basin, const char *stream,
                                         const stream_meta *m,
                                         void (*fn)(wr_store *s, void *arg, wr_err err), void *arg);
/* The stream's pin count (0 when it has none); an unreadable count is STORAGE, never 0. */
wr_err wr_store__pin_count(wr_store *s, uint64_t id, uint64_t *out_n, wr_error *out_err);
/* Adds to wb the stream's pin count `n` (as just read) moved by delta (at zero: its
 * delete-on-empty deadline moved to now + min_age). Errors: STREAM_DELETION_PENDING, INVALID
 * (unpin of an unpinned stream). */
wr_err wr_store__pin_batch(wr_store *s, stream_state *st, uint64_t n, int delta,
                           rocksdb_writebatch_t *wb, wr_error *out_err);

/*
 * db.c: every read and write of RocksDB. Reads have three outcomes: a lookup gives a value,
 * absent, or WR_ERR_STORAGE; a scan (db_iter) ends with wr_store__iter_end, which says whether
 * it stopped at the end of its range or on an error. A RocksDB error, or one injected by
 * opts.read_hook (which sees every lookup and iterator move), stops the operation and puts the
 * store in the failed state (wr_store__fail), as a failed write does. Any thread.
 */
/* Enters the failed state (store.h, FAILURE): later writes fail, reads go on. Logs once. */
void wr_store__fail(wr_store *s, const char *why);

/* What a write is, which decides its durability. */
typedef enum db_write_kind {
    DB_WRITE_COMMIT,   /* a group commit of appends (commit thread, or the loop): synced */
    DB_WRITE_META,     /* a metadata change (loop, maintenance worker): synced */
    DB_WRITE_UNSYNCED, /* not synced: a loss is harmless or redone (reclamation, a deadline
                          bump at the release of a hold) */
} db_write_kind;
/* The one write path. Writes wb (nothing when it is empty); STORAGE when the store has failed,
 * when the sync hook (synced kinds) injects a failure, or when RocksDB fails the write, and the
 * latter two put the store in the failed state. Any thread. */
wr_err wr_store__write(wr_store *s, rocksdb_writebatch_t *wb, db_write_kind kind,
                       wr_error *out_err);
/* Point lookup: WR_OK with *out_v the value (rocksdb_free it) or NULL when the key is absent;
 * STORAGE on a read error (the store has failed). */
wr_err wr_store__get(wr_store *s, const void *k, size_t klen, char **out_v, size_t *out_len,
                     wr_error *out_err);
/* Lookup of an 8-byte big-endian value: WR_OK and *out_found (may be NULL); when absent *out_v is
 * left as it was. STORAGE on a read error (the store has failed) or a value of another size. */
wr_err wr_store__get_u64(wr_store *s, const void *k, size_t klen, uint64_t *out_v, bool *out_found,
                         wr_error *out_err);

/*
 * A scan over [lo, hi) (a NULL bound is open): open, seek (or seek_for_prev), then
 * `for (; valid; next)`, and always wr_store__iter_end, also after a break. valid() is false at
 * the end of the range and after an error alike; only iter_end tells them apart.
 */
typedef struct db_iter {
    wr_store *s;
    rocksdb_readoptions_t *ro;
    rocksdb_iterator_t *it;
    bool fault; /* the read hook failed a move: invalid, with an error status */
} db_iter;
void wr_store__iter_open(db_iter *i, wr_store *s, const void *lo, size_t lo_len, const void *hi,
                         size_t hi_len);
void wr_store__iter_seek(db_iter *i, const void *k, size_t len);
void wr_store__iter_seek_for_prev(db_iter *i, const void *k, size_t len);
bool wr_store__iter_valid(const db_iter *i);
void wr_store__iter_next(db_iter *i);
const char *wr_store__iter_key(const db_iter *i, size_t *out_len);
const char *wr_store__iter_value(const db_iter *i, size_t *out_len);
/* Whether the scan has hit an error so far (STORAGE, and the store has failed), without ending
 * it: for a scan reused after a miss. */
wr_err wr_store__iter_error(db_iter *i, wr_error *out_err);
/* Ends a scan and frees it. Returns `e` (the loop's own error, message kept) when set; otherwise
 * WR_OK if it stopped at the end of its range or where the loop left it, STORAGE if RocksDB or
 * the read hook reported an error. An iterator error fails the store in both cases. */
wr_err wr_store__iter_end(db_iter *i, wr_err e, wr_error *out_err);

/* store.c */
bool wr_store__utf8_valid(const uint8_t *p, size_t n);
/* The in-memory hash of a stream name (util/hash.h), for the tables keyed by basin and stream
 * (the stream cache, holds). */
uint64_t wr_store__name_hash(const char *basin, const char *stream);
void wr_store__defer(wr_store *s, void (*fn)(wr_store *s, void *arg), void *arg);
/* Looks a stream up (cache, then RocksDB), auto-creating it when `create` and the basin allows
 * (`on_append` selects create_stream_on_append vs _on_read). Returns the state even if it is
 * deleted; the caller checks st->deleted. */
wr_err wr_store__stream(wr_store *s, const char *basin, const char *stream, bool create,
                        bool on_append, stream_state **out, wr_error *out_err);
stream_state *wr_store__stream_cached(wr_store *s, const char *basin, const char *stream);
/* Loads per-stream state (tail, fence, trim) for a stream with meta `m` into the cache. */
wr_err wr_store__stream_cache_load(wr_store *s, const char *basin, const char *stream,
                                   const stream_meta *m, stream_state **out, wr_error *out_err);
/* Queues a sequenced op for the commit thread. It is handed over, with every other op queued in
 * the same loop iteration, before the loop next waits for events (one lock, at most one
 * wake-up per iteration instead of one per append). */
void wr_store__commit_push(wr_store *s, append_op *op);
void wr_store__maybe_finish_close(wr_store *s);

/* Removes a stream from the cache (after its deletion finished or when a new stream takes its
 * name). Its batches leave the recent-batch cache; the struct is freed once nothing refers to it
 * any more (lifecycle.c keeps it until then). */
void wr_store__stream_uncache(wr_store *s, stream_state *st);

/* lifecycle.c */
/* The earliest arrival time (server write time, ms) still visible under the stream's age
 * retention at `now_ms` (0 = everything is retained). A batch is expired when its arrival_ms <
 * cutoff: expiry goes by when records were written, not by their timestamps (lifecycle.c). */
uint64_t wr_store__retention_cutoff(const wr_stream_config *cfg, uint64_t now_ms);
/* Number of leading records of `b` expired now: all of them when the batch arrived before the
 * retention cutoff, else none (a batch is written, and expires, whole). */
uint32_t wr_store__expired_prefix(const stream_state *st, const wr_batch *b);
/* The arrival_ms of stream `id`'s last stored batch (0 and OK when it has none). Any thread. */
wr_err wr_store__last_arrival(wr_store *s, uint64_t id, uint64_t *out_arrival, wr_error *out_err);
wr_err wr_store__lc_open(wr_store *s, wr_error *out_err); /* after recovery, before the loop */
void wr_store__lc_close(wr_store *s); /* from wr_store_close: stop the scheduler */
void wr_store__lc_free(wr_store *s);  /* from free_store */
void wr_store__lc_stats(const wr_store *s, wr_store_stats *out);
bool wr_store__lc_busy(const wr_store *s); /* a maintenance job is on the worker pool */
/* Frees an uncached stream_state now, or once nothing refers to it (followers, queued flushes,
 * an ack delivery in progress). */
void wr_store__lc_retire(wr_store *s, stream_state *st);
bool wr_store__basin_deleting(const wr_store *s, const char *basin);
/* Basin DELETE: remembers the basin as deleting and marks its cached streams deleted. */
void wr_store__lc_basin_deleted(wr_store *s, const char *basin);
/* Starts a maintenance pass now, or right after the running one (wr_store_maintain_now). A
 * DELETE does not call it: its cleanup waits for the next regular pass (store.h). */
void wr_store__lc_kick(wr_store *s);

/* append.c */
void wr_store__on_commits_done(wr_store *s, append_op *list);
void wr_store__fail_pending(wr_store *s, wr_err err);

/*
 * usage.c: the usage series (store.h, Usage). Loop thread, except where noted.
 */
void wr_store__usage_open(wr_store *s); /* after recovery: timers and the pending table */
/* An acknowledged append of st (the ledger and counters). */
void wr_store__usage_append(wr_store *s, const stream_state *st, const wr_batch *b);
/* Records delivered to a reader (unary_op: also one unary read operation). */
void wr_store__usage_read(wr_store *s, const char *basin, const char *stream, uint64_t records,
                          uint64_t bytes, bool unary_op);
/* Sets st->cum_* from the stream's last TS_INDEX ledger (cache load). Any thread. */
wr_err wr_store__usage_ledger_load(wr_store *s, stream_state *st, wr_error *out_err);
/* Fills op->ledger for a sequenced batch and advances st->cum_*. */
void wr_store__usage_ledger_next(stream_state *st, append_op *op);
/* Adds to the ledger of run head `head` an op's `metered` bytes and the `stored` bytes its
 * records add to the run's value, and advances st->cum_*. */
void wr_store__usage_ledger_extend(stream_state *st, append_op *head, uint64_t metered,
                                   uint64_t stored);
void wr_store__usage_close(wr_store *s);      /* from wr_store_close: stop timers, cancel waits */
bool wr_store__usage_busy(const wr_store *s); /* a usage job is on the worker pool */
void wr_store__usage_final(wr_store *s);      /* last flush, blocking, right before the DB closes */
void wr_store__usage_free(wr_store *s);
void wr_store__usage_stats(const wr_store *s, wr_store_stats *out);

/*
 * quota.c: the stream limits (store.h, LIMITS). Loop thread. Counts are per basin and per group
 * (opts.group_len), made by a scan of the STREAM_META keys on first use and kept exact by the
 * calls below; every stream meta on disk counts, deleted-but-not-removed ones included.
 */
/* QUOTA_EXHAUSTED (message naming the limit) when creating `stream` would exceed a limit;
 * STORAGE when a count could not be made. */
wr_err wr_store__quota_check(wr_store *s, const char *basin, const char *stream, wr_error *out_err);
/* A stream meta was created (after the write succeeded). */
void wr_store__quota_created(wr_store *s, const char *basin, const char *stream);
/* lifecycle.c, around a worker job that removes stream metas (DELETE, PAGE): counts made while
 * it is out may or may not have seen its write, so its removals drop them instead. */
void wr_store__quota_job_begin(wr_store *s);
void wr_store__quota_job_end(wr_store *s);
/* The job removed this stream's meta. */
void wr_store__quota_removed(wr_store *s, const char *basin, const char *stream);
/* The basin's deletion finished: every count of it goes. */
void wr_store__quota_basin_gone(wr_store *s, const char *basin);
void wr_store__quota_free(wr_store *s);

/* follow.c */
void wr_store__ring_drop_stream(wr_store *s, stream_state *st);
void wr_store__ring_push(wr_store *s, stream_state *st, wr_batch *b);
void wr_store__ring_free(wr_store *s);
void wr_store__fanout(wr_store *s, stream_state *st, wr_batch *b);
void wr_store__close_subs(wr_store *s, stream_state *st, wr_err why);
void wr_store__detach_subs(wr_store *s);
/* The cached batch containing seq, or NULL. */
ring_node *wr_store__ring_find(stream_state *st, uint64_t seq);

#endif
