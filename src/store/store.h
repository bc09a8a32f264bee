/*
 * store.h — the stream store engine: basins, streams, durable group-commit appends, reads and
 * live follow, on RocksDB. This header is the manual.
 *
 * THREADS. A store runs on the caller's libuv loop. Every function here must be called on that
 * loop's thread, and every callback is invoked on it. Inside, one commit thread writes appends
 * (group commit) and the libuv worker pool serves catch-up reads; neither ever calls user code,
 * except the sync and read hooks (see wr_store_opts).
 *
 * COMMITS. Appends and metadata changes are written in groups, one synced RocksDB write each
 * (group commit), by the commit thread. With opts.commit_mode LOOP (AUTO when the process may run
 * on one CPU only) the loop thread itself also writes a small group of appends, right before it
 * polls, whenever the commit thread has nothing in hand: a shared core then pays no thread
 * hand-offs, and the loop does nothing else while that group syncs (as a single-threaded server
 * would). What is acknowledged, when, and in which order is the same either way.
 *
 * BLOCKING. Metadata calls (basins, streams, check-tail) are synchronous: they read RocksDB on
 * the loop thread and, when they change something, do one synced RocksDB write (about one fsync).
 * They are rare. Appends, reads and usage queries never block the loop on disk (the one exception:
 * wr_store_close() writes the pending usage counts before RocksDB closes).
 *
 * ASYNC CALLS. wr_store_append() and wr_store_read() always report through their callback,
 * exactly once, and never from inside the call itself (at the earliest on a later loop
 * iteration). Buffers passed in stay borrowed until the callback.
 *
 * DURABILITY. An append is acknowledged only after the RocksDB WriteBatch holding it has been
 * written with sync=true. Reads, check-tail and followers see only acknowledged (durable) data.
 * Acks and errors of one stream are delivered in submission order, each ack carrying the durable
 * tail at delivery time.
 *
 * FAILURE. If a write fails (or the sync hook injects a failure into a synced one), or a read or
 * iterator reports an error (or the read hook injects one), the store enters the failed state:
 * every later write (append, metadata change, maintenance) fails with WR_ERR_STORAGE until the
 * process reopens the store. Appends sequenced behind the failed write fail with WR_ERR_STORAGE
 * too (their seq_nums were assigned but never become visible, so no rollback is needed: nothing
 * can be written after them). Reads keep working on the durable data.
 *
 * THREE OUTCOMES. A lookup is found, absent, or an error; a scan ends at the end of its range or
 * on an error. A read error is never taken for "absent" or "no more keys": the operation that
 * met it fails with WR_ERR_STORAGE (maintenance stops its pass) and the store fails as above, so
 * a decision made on a half-read state (a pin count of 0, an empty basin, a lower id mark) is
 * never written. A value that reads fine but does not decode fails its operation only.
 *
 * NAMES are NUL-terminated C strings; a stream name therefore cannot contain U+0000 (the HTTP
 * layer must reject a percent-decoded NUL with wr_stream_name_valid()).
 *
 * LIMITS. Creating a stream (wr_store_stream_create/_ensure, and auto-create on append, read and
 * check-tail) fails with WR_ERR_QUOTA_EXHAUSTED when its basin already holds
 * opts.max_streams_per_basin streams, or its group (opts.group_len) opts.max_streams_per_group
 * (the message names the limit as `weir serve` spells its option, e.g. --max-streams-per-basin).
 * A stream counts from its creation until the maintenance pass has removed it: a stream marked
 * deleted but not yet cleaned up still takes its slot (the count errs on the safe side). Counts
 * live in memory, filled per basin and per group by one scan of the stream metadata on first use
 * (a synchronous read on the loop, as long as the basin's stream list) and kept exact afterwards.
 *
 * STREAM CACHE. The per-stream state appends and reads need (tail, fence, trim, followers) is
 * cached in memory for at most opts.stream_cache_entries streams. Past that, the least recently
 * used streams that are idle (no append queued or in flight, no follower) are dropped and loaded
 * again from RocksDB on their next use (one metadata read and a few point lookups). Busy streams
 * are never dropped, so the cache exceeds its cap only while more streams than that are busy.
 */
#ifndef WR_STORE_STORE_H
#define WR_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/batch.h"
#include "store/config.h"
#include "util/err.h"

typedef struct wr_store wr_store;

/* A stream position: a seq_num and a timestamp in ms. */
typedef struct wr_pos {
    uint64_t seq;
    uint64_t ts_ms;
} wr_pos;

/* ------------------------------------------------------------------------------------------ */
/* Open / close                                                                                 */

typedef enum wr_store_sync_kind {
    WR_STORE_SYNC_COMMIT,    /* a group commit of appends (commit thread, or the loop: COMMITS) */
    WR_STORE_SYNC_META,      /* a metadata change (loop thread) */
    WR_STORE_SYNC_USAGE,     /* a usage flush (worker pool) */
    WR_STORE_WRITE_UNSYNCED, /* not a sync: an unsynced write (reclamation by maintenance, the
                              * delete-on-empty deadline bump at a hold's release) */
} wr_store_sync_kind;

/*
 * Called right before every synced write, and every unsynced one (WR_STORE_WRITE_UNSYNCED), on
 * the thread doing it. Returning non-zero makes that write fail as if fsync (or the write) had
 * returned EIO (nothing is written) and puts the store in the failed state. For tests: count
 * syncs, inject failures. Must be thread-safe.
 */
typedef int (*wr_store_sync_hook)(void *ud, wr_store_sync_kind kind);

typedef enum wr_store_read_kind {
    WR_STORE_READ_GET,  /* a point lookup of `key` */
    WR_STORE_READ_SEEK, /* an iterator positioned at `key` (Seek or SeekForPrev) */
    WR_STORE_READ_NEXT, /* an iterator stepping on from `key`, the entry it stood on */
} wr_store_read_kind;

/*
 * Called before every RocksDB read of the store (point lookups and iterator moves), on the
 * thread doing it (loop or worker pool). Returning non-zero makes that read report an I/O error
 * as RocksDB would (the lookup fails, or the iterator turns invalid with an error status): the
 * operation fails with WR_ERR_STORAGE and the store enters the failed state. For tests: inject
 * read faults. Must be thread-safe.
 */
typedef int (*wr_store_read_hook)(void *ud, wr_store_read_kind kind, const void *key,
                                  size_t key_len);

/*
 * Names the group a stream belongs to, for the per-group stream limit: returns the length of the
 * prefix of `stream` that names its group (0 = the stream is in no group). Must be a pure
 * function of its arguments, and every stream starting with a group prefix P must get
 * strlen(P) back (a group's streams are then exactly the names that start with P). Called on
 * the loop thread when a stream is created or removed and while counting; must not call the store.
 */
typedef size_t (*wr_store_group_fn)(void *ud, const char *basin, const char *stream);

/* Who writes and syncs the group commits (wr_store_opts.commit_mode). */
typedef enum wr_store_commit_mode {
    WR_STORE_COMMIT_AUTO = 0, /* LOOP when the process's CPU affinity allows one CPU, else THREAD */
    WR_STORE_COMMIT_THREAD,   /* the commit thread; the loop keeps serving during each sync */
    WR_STORE_COMMIT_LOOP,     /* also the loop, for small groups while the thread is idle */
} wr_store_commit_mode;

typedef struct wr_store_opts {
    const char *path;             /* data directory, created if missing */
    size_t inflight_bytes;        /* append bytes being committed at once; 0 = 128 MiB */
    size_t cache_bytes;           /* recent-batch cache for followers/reads; 0 = 64 MiB */
    wr_store_sync_hook sync_hook; /* may be NULL */
    void *sync_hook_ud;
    wr_store_read_hook read_hook; /* may be NULL */
    void *read_hook_ud;
    /* Stream states kept in memory (see STREAM CACHE below); 0 = 100000. */
    size_t stream_cache_entries;
    /* Stream limits (see LIMITS below). 0 = the default: 1000000 per basin, 100000 per group. */
    uint64_t max_streams_per_basin;
    uint64_t max_streams_per_group;
    wr_store_group_fn group_len; /* NULL = no groups (only the basin limit applies) */
    void *group_ud;
    /* Period of the lifecycle maintenance pass (store.h, Lifecycle); 0 = 60 s. */
    uint64_t maint_interval_ms;
    /* Usage series (see Usage below); 0 = the default in brackets. */
    uint64_t usage_flush_ms;           /* [5000] */
    uint64_t usage_sample_ms;          /* [600000] */
    uint64_t usage_retention_s;        /* hour and day rows, storage [35 days] */
    uint64_t usage_minute_retention_s; /* minute rows [2 days] */
    size_t usage_max_entries;          /* pending (stream, minute) entries [100000] */
    /* The location stamped on basins created from now on (NULL = none: basins show null). */
    const char *location;
    /* Who commits appends (COMMITS below): auto (0) = the loop thread too (small groups) when
     * the process may run on one CPU only, otherwise the commit thread alone. */
    wr_store_commit_mode commit_mode;
} wr_store_opts;

/*
 * Opens (creating if needed) the store at opts->path and checks weir's invariants: every stream
 * tail agrees with the last stored batch, whose checksum must verify. Blocks.
 * Errors: WR_ERR_STORAGE (RocksDB could not open, or an invariant is broken; the message says
 * which). On success *out is a new store that must be closed with wr_store_close().
 */
wr_err wr_store_open(uv_loop_t *loop, const wr_store_opts *opts, wr_store **out, wr_error *out_err);

/*
 * Closes the store. Appends already handed to the commit thread are committed and acknowledged;
 * appends still waiting for in-flight budget fail with WR_ERR_UNAVAILABLE; followers receive
 * WR_FOLLOW_CLOSED. Callbacks run from inside this call. Reads running on the worker pool
 * complete normally later. RocksDB is closed and `cb` (may be NULL) is called once everything is
 * released, after which the same path may be opened again. No store function may be called
 * after wr_store_close() (callbacks included).
 */
void wr_store_close(wr_store *s, void (*cb)(void *ud), void *ud);

/* True once a write or a read has failed (see FAILURE above). */
bool wr_store_failed(const wr_store *s);

typedef struct wr_store_stats {
    uint64_t commits;         /* group commits written (thread and loop) */
    uint64_t appends;         /* appends acknowledged */
    uint64_t inflight_bytes;  /* currently charged to the in-flight budget */
    uint64_t waiting_appends; /* appends queued for budget */
    uint64_t cache_bytes;     /* bytes in the recent-batch cache */
    uint64_t cached_streams;  /* stream states in the stream cache */
    uint64_t evicted_streams; /* idle stream states dropped from it since open */
    /* Lifecycle (maintenance passes and what they finished). */
    uint64_t maint_passes;      /* maintenance passes completed */
    uint64_t streams_deleted;   /* streams whose cleanup finished (their names are free again) */
    uint64_t doe_deleted;       /* streams marked deleted by delete-on-empty */
    uint64_t basin_pages;       /* pages of deleting basins processed */
    uint64_t basins_deleted;    /* basins whose cleanup finished */
    uint64_t pending_deletions; /* streams and basins marked deleted, cleanup not finished */
    /* Data (since open). */
    uint64_t appended_records, appended_bytes; /* acknowledged; metered bytes */
    uint64_t read_records, read_bytes;         /* delivered to readers; metered bytes */
    uint64_t followers;                        /* live follow subscriptions */
    /* Usage series. */
    uint64_t usage_flushes, usage_flush_errors, usage_samples, usage_pending_entries;
    uint64_t usage_unattributed;
    bool direct_writes;    /* flushes and compactions write with O_DIRECT (see wr_store_open) */
    bool commits_on_loop;  /* the loop may commit small groups (commit_mode, resolved at open) */
    uint64_t loop_commits; /* groups the loop committed itself (the rest: `commits` minus this) */
} wr_store_stats;

/* Latency and size histograms of the store, for Prometheus (obs/hist.h). Borrowed: valid
 * until wr_store_close(); updated by the commit thread, read from any thread. */
struct wr_hist;
typedef struct wr_store_hists {
    const struct wr_hist *group_commit_appends; /* appends per group commit */
    const struct wr_hist *commit_seconds;       /* one synced group-commit write */
} wr_store_hists;
void wr_store_get_hists(const wr_store *s, wr_store_hists *out);
void wr_store_get_stats(const wr_store *s, wr_store_stats *out);

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                        */

/* ^[a-z0-9][a-z0-9-]{6,46}[a-z0-9]$ */
bool wr_basin_name_valid(const char *name);
/* 1–512 bytes of valid UTF-8 without NUL, not "." or "..". */
bool wr_stream_name_valid(const char *name, size_t len);

#define WR_BASIN_NAME_MAX 48
#define WR_STREAM_NAME_MAX 512
#define WR_REQUEST_TOKEN_MAX 36
#define WR_FENCING_TOKEN_MAX 36

/* ------------------------------------------------------------------------------------------ */
/* Basins (loop thread; the *_async calls hand their write to the commit thread, the others  */
/* block on one fsync)                                                                         */

typedef enum wr_provision {
    WR_PROVISION_CREATED,
    WR_PROVISION_UPDATED,
    WR_PROVISION_NOOP,
} wr_provision;

#define WR_LOCATION_MAX 64

typedef struct wr_basin_info {
    char name[WR_BASIN_NAME_MAX + 1];
    char location[WR_LOCATION_MAX + 1]; /* "" = none recorded (basins from before locations) */
    uint64_t created_at_ms;
    bool deleted;
    uint64_t deleted_at_ms; /* when deleted */
} wr_basin_info;

typedef struct wr_basin_list {
    wr_basin_info *items; /* owned; free with wr_basin_list_fini() */
    size_t n;
    bool has_more;
} wr_basin_list;

/*
 * Creates a basin. `cfg` may be NULL (all defaults). `request_token` may be NULL; if the basin
 * exists and was created with the same token and an equal config, this succeeds with
 * WR_PROVISION_NOOP and the existing info (an idempotent retry).
 * Errors: INVALID (bad name, token > 36 bytes, bad config such as a zero retention age),
 * RESOURCE_ALREADY_EXISTS, BASIN_DELETION_PENDING, STORAGE.
 */
wr_err wr_store_basin_create(wr_store *s, const char *name, const wr_basin_config *cfg,
                             const char *request_token, wr_basin_info *out_info,
                             wr_provision *out_prov, wr_error *out_err);

/*
 * Creates the basin or replaces its whole config with `cfg` (NULL = defaults): CREATED, UPDATED
 * or NOOP (config unchanged). Errors: INVALID, BASIN_DELETION_PENDING, STORAGE.
 */
wr_err wr_store_basin_ensure(wr_store *s, const char *name, const wr_basin_config *cfg,
                             wr_basin_info *out_info, wr_provision *out_prov, wr_error *out_err);

/* Config and info (either out pointer may be NULL). Works while deletion is pending.
 * Errors: INVALID (bad name), BASIN_NOT_FOUND, STORAGE (unreadable). */
wr_err wr_store_basin_get(wr_store *s, const char *name, wr_basin_config *out_cfg,
                          wr_basin_info *out_info, wr_error *out_err);

/* Applies a three-state patch; returns the new config. Errors: INVALID, BASIN_NOT_FOUND,
 * BASIN_DELETION_PENDING, STORAGE. */
wr_err wr_store_basin_reconfigure(wr_store *s, const char *name, const wr_basin_config_patch *p,
                                  wr_basin_config *out_cfg, wr_error *out_err);

/*
 * Lists basins in bytewise name order whose name starts with `prefix` (NULL/"" = all) and is
 * strictly greater than `start_after` (NULL/"" = from the start). limit 0 or > 1000 means 1000.
 * Deleting basins are included (deleted = true). Errors: STORAGE.
 */
wr_err wr_store_basin_list(wr_store *s, const char *prefix, const char *start_after, size_t limit,
                           wr_basin_list *out, wr_error *out_err);
void wr_basin_list_fini(wr_basin_list *l);

/* Marks the basin deleted (deleted_at = now) and saves a deletion cursor; repeating is fine.
 * Its streams refuse appends and reads at once (STREAM_DELETION_PENDING). Maintenance then
 * deletes the streams in pages, resuming from the cursor after a restart, and finally removes
 * the basin: after that it is BASIN_NOT_FOUND and the name can be created again.
 * Errors: INVALID, BASIN_NOT_FOUND, STORAGE. */
wr_err wr_store_basin_delete(wr_store *s, const char *name, wr_error *out_err);

/* ------------------------------------------------------------------------------------------ */
/* Streams (loop thread; the *_async calls hand their write to the commit thread, the others */
/* block on one fsync)                                                                         */

typedef struct wr_stream_info {
    char name[WR_STREAM_NAME_MAX + 1];
    uint64_t created_at_ms;
    bool deleted;
    uint64_t deleted_at_ms;
    wr_cipher cipher;
} wr_stream_info;

typedef struct wr_stream_list {
    wr_stream_info *items; /* owned; free with wr_stream_list_fini() */
    size_t n;
    bool has_more;
} wr_stream_list;

/*
 * Creates a stream whose config is `cfg` (NULL = inherit everything) resolved over the basin's
 * default_stream_config and the system default; the cipher comes from the basin. Request-token
 * idempotency as for basins (compares resolved configs).
 * Errors: INVALID (name, token, config), BASIN_NOT_FOUND, BASIN_DELETION_PENDING,
 * RESOURCE_ALREADY_EXISTS, STREAM_DELETION_PENDING, QUOTA_EXHAUSTED (a stream limit, see LIMITS;
 * the message names the limit), STORAGE.
 */
wr_err wr_store_stream_create(wr_store *s, const char *basin, const char *stream,
                              const wr_stream_config *cfg, const char *request_token,
                              wr_stream_info *out_info, wr_provision *out_prov, wr_error *out_err);

/*
 * wr_store_basin_create without the loop waiting for the write, as wr_store_stream_create_async
 * below: cb runs on the loop once the basin's meta is durable (or at once when no write is
 * needed). Until then the basin is not visible (its streams: BASIN_NOT_FOUND); another async
 * create of the name waits for it, a synchronous create or ensure gets TRANSACTION_CONFLICT.
 */
typedef void (*wr_store_basin_cb)(void *ud, wr_err err, const wr_error *detail,
                                  const wr_basin_info *info, wr_provision prov);
void wr_store_basin_create_async(wr_store *s, const char *name, const wr_basin_config *cfg,
                                 const char *request_token, wr_store_basin_cb cb, void *ud);

/*
 * wr_store_stream_create without the loop waiting for the write: the new stream's meta goes to
 * the commit thread and is written in its next group, synced, and `cb` runs on the loop once it
 * is durable (prov CREATED, info set), or once the write failed (STORAGE: the store refuses
 * writes now). An answer that needs no write (an error, or the same create again with its
 * request token: NOOP) comes through cb before this returns. Until the meta is written the
 * stream is not visible (get, list, read: not found); another asynchronous change of the name
 * (create, ensure, reconfigure, delete, a delete of its basin) waits for it and then answers as
 * if it came after it; an automatic create or a synchronous change gets TRANSACTION_CONFLICT.
 */
typedef void (*wr_store_stream_cb)(void *ud, wr_err err, const wr_error *detail,
                                   const wr_stream_info *info, wr_provision prov);
void wr_store_stream_create_async(wr_store *s, const char *basin, const char *stream,
                                  const wr_stream_config *cfg, const char *request_token,
                                  wr_store_stream_cb cb, void *ud);

/*
 * Pins the stream (wr_store_pin) for a live session, creating it when it is missing: a new stream
 * is written by the commit thread with its pin in the same batch, an existing unpinned one gets
 * its pin through the commit thread too (no fsync on the loop); one already pinned is left as
 * it is. A change of the stream in flight is waited for. cb runs on the loop (at once when
 * nothing is written). Errors: as wr_store_pin and wr_store_stream_create.
 */
typedef void (*wr_store_done_cb)(void *ud, wr_err err, const wr_error *detail);
void wr_store_stream_protect_async(wr_store *s, const char *basin, const char *stream,
                                   wr_store_done_cb cb, void *ud);

/*
 * Asynchronous ensure, reconfigure and delete of a stream, and the release of a live session's
 * pin (unprotect: one pin less when it has any; nothing for a missing stream), as for basins
 * below: each waits for a change of the stream (or of its basin) in flight, and cb runs once its
 * write is durable. Until then readers and appends see the stream as it was (an append
 * acknowledged meanwhile is ordered before the delete). Answers and errors as the synchronous
 * calls.
 */
typedef void (*wr_store_stream_config_cb)(void *ud, wr_err err, const wr_error *detail,
                                          const wr_stream_config *cfg);
void wr_store_stream_ensure_async(wr_store *s, const char *basin, const char *stream,
                                  const wr_stream_config *cfg, wr_store_stream_cb cb, void *ud);
void wr_store_stream_reconfigure_async(wr_store *s, const char *basin, const char *stream,
                                       const wr_stream_config_patch *p,
                                       wr_store_stream_config_cb cb, void *ud);
void wr_store_stream_delete_async(wr_store *s, const char *basin, const char *stream,
                                  wr_store_done_cb cb, void *ud);
void wr_store_stream_unprotect_async(wr_store *s, const char *basin, const char *stream,
                                     wr_store_done_cb cb, void *ud);

/*
 * Asynchronous ensure, reconfigure and delete of a basin: the loop does not wait for the write.
 * Each runs once no other change of the basin is in flight (a delete: nor of any of its
 * streams), decides on the meta as it is then, and hands its write to the commit thread, which
 * syncs it with its next group; cb runs on the loop once it is durable (or failed: STORAGE, or
 * UNAVAILABLE when the store is closing), or at once when there is nothing to write. Until then
 * readers see the basin as it was. Answers and errors as the synchronous calls above, which
 * only tests use now (they write with a synced write on the calling thread and get
 * TRANSACTION_CONFLICT while an asynchronous change of the name is in flight).
 */
typedef void (*wr_store_basin_config_cb)(void *ud, wr_err err, const wr_error *detail,
                                         const wr_basin_config *cfg);
void wr_store_basin_ensure_async(wr_store *s, const char *name, const wr_basin_config *cfg,
                                 wr_store_basin_cb cb, void *ud);
void wr_store_basin_reconfigure_async(wr_store *s, const char *name, const wr_basin_config_patch *p,
                                      wr_store_basin_config_cb cb, void *ud);
void wr_store_basin_delete_async(wr_store *s, const char *name, wr_store_done_cb cb, void *ud);

/* Creates, or replaces the config with resolve(cfg, basin defaults): CREATED/UPDATED/NOOP.
 * Errors: as create, without RESOURCE_ALREADY_EXISTS. */
wr_err wr_store_stream_ensure(wr_store *s, const char *basin, const char *stream,
                              const wr_stream_config *cfg, wr_stream_info *out_info,
                              wr_provision *out_prov, wr_error *out_err);

/* The resolved config (every field set) and info. Errors: INVALID, BASIN_NOT_FOUND,
 * STREAM_NOT_FOUND, STREAM_DELETION_PENDING, STORAGE (unreadable). */
wr_err wr_store_stream_get(wr_store *s, const char *basin, const char *stream,
                           wr_stream_config *out_cfg, wr_stream_info *out_info, wr_error *out_err);

/* Patches the config (NULL fields revert to the basin default, then the system default) and
 * returns the resolved result. Errors: as get, plus STORAGE. */
wr_err wr_store_stream_reconfigure(wr_store *s, const char *basin, const char *stream,
                                   const wr_stream_config_patch *p, wr_stream_config *out_cfg,
                                   wr_error *out_err);

/* Lists streams of a basin like wr_store_basin_list (an unknown basin gives an empty list). */
wr_err wr_store_stream_list(wr_store *s, const char *basin, const char *prefix,
                            const char *start_after, size_t limit, wr_stream_list *out,
                            wr_error *out_err);
void wr_stream_list_fini(wr_stream_list *l);

/* Marks the stream deleted; later config/append/read give STREAM_DELETION_PENDING, followers
 * get WR_FOLLOW_CLOSED. Repeating is fine. Appends already sequenced still complete. The next
 * maintenance pass then removes its records and keys; after that the stream is STREAM_NOT_FOUND,
 * the name can be created again (with a new id) and its slot under LIMITS is free.
 * Errors: INVALID, BASIN_NOT_FOUND, STREAM_NOT_FOUND, STORAGE. */
wr_err wr_store_stream_delete(wr_store *s, const char *basin, const char *stream,
                              wr_error *out_err);

/* The durable tail ({0,0} for an empty stream). Creates the stream when the basin has
 * create_stream_on_read (its meta written by the commit thread; answered at once). Errors: INVALID, BASIN_NOT_FOUND, STREAM_NOT_FOUND,
 * STREAM_DELETION_PENDING, BASIN_DELETION_PENDING, QUOTA_EXHAUSTED and STORAGE (auto-create, or
 * the stream could not be read). */
wr_err wr_store_check_tail(wr_store *s, const char *basin, const char *stream, wr_pos *out_tail,
                           wr_error *out_err);
/* wr_store_check_tail answered through cb once the stream is durable: a stream it creates (or
 * whose create is in flight) is answered for after its meta is written, so a GET after the
 * answer finds it. */
typedef void (*wr_store_tail_cb)(void *ud, wr_err err, const wr_error *detail, wr_pos tail);
void wr_store_check_tail_async(wr_store *s, const char *basin, const char *stream,
                               wr_store_tail_cb cb, void *ud);

/* ------------------------------------------------------------------------------------------ */
/* Access tokens (loop thread; writes go through the commit thread, the loop never syncs)      */
/*
 * The store keeps one opaque value per token id (the auth module's record, which holds a hash
 * of the secret, never the secret itself).
 */

#define WR_TOKEN_ID_MAX 96

/* One change of wr_store_tokens_write_async: store `value` (len bytes) under `id`, replacing any
 * record, or with value NULL remove the record of `id` (nothing happens when there is none). */
typedef struct wr_store_token_change {
    const char *id; /* 1..WR_TOKEN_ID_MAX bytes, validated by the caller */
    const void *value;
    size_t len;
} wr_store_token_change;

/*
 * Writes `n` token changes as one batch without the loop waiting: the batch goes to the commit
 * thread, which makes it durable in its next synced group write, and `cb` runs on the loop
 * afterwards. The changes (ids, values) are copied before this returns. Existence is not
 * checked here: the caller's in-memory index holds every record (wr_store_token_scan at open).
 * Errors (through cb; detail always set): STORAGE (the write failed, or the store had already
 * failed: it refuses writes until it is reopened), UNAVAILABLE (the store is closing; nothing
 * was written). When no write is made — n == 0 (WR_OK) or the store has already failed — cb runs
 * before this returns; otherwise later, from the loop.
 */
void wr_store_tokens_write_async(wr_store *s, const wr_store_token_change *changes, size_t n,
                                 wr_store_done_cb cb, void *ud);
/* Calls fn for every stored token in id order. Errors: STORAGE. */
wr_err wr_store_token_scan(wr_store *s,
                           void (*fn)(void *ud, const char *id, size_t id_len, const char *value,
                                      size_t len),
                           void *ud, wr_error *out_err);

/* ------------------------------------------------------------------------------------------ */
/* Append                                                                                       */

/*
 * Ties appends together so that once one fails, none submitted after it is written (an s2s
 * append session's "the first failure poisons the session"). Caller-owned and zero-initialised
 * ({0}); it must outlive the callbacks of every append that names it. Loop thread only.
 */
typedef struct wr_append_chain {
    uint64_t next_index; /* private */
    uint64_t failed_at;  /* private: 1 + index of the first failed append, 0 = none */
} wr_append_chain;

typedef struct wr_append_input {
    const wr_append_record *records;
    uint32_t n_records;
    bool has_match_seq;
    uint64_t match_seq;
    const char *fencing_token; /* NULL = no fencing condition; "" must match an unset token */
    size_t fencing_token_len;
    /* NULL, or the chain this append belongs to: if an append submitted earlier on the same
     * chain has failed, this one fails with INVALID ("an earlier input failed") unwritten. */
    wr_append_chain *chain;
} wr_append_input;

typedef struct wr_append_result {
    wr_err err;          /* WR_OK: start/end/tail are the ack */
    wr_error error;      /* message when err != WR_OK */
    wr_pos start;        /* first seq_num and its timestamp */
    wr_pos end;          /* last seq_num + 1 and the last timestamp */
    wr_pos tail;         /* durable tail at delivery, >= end */
    uint64_t actual_seq; /* SEQ_NUM_MISMATCH: the stream's actual next seq_num */
    char actual_token[WR_FENCING_TOKEN_MAX + 1]; /* FENCING_TOKEN_MISMATCH: current token */
    size_t actual_token_len;
} wr_append_result;

/* `res` is valid only during the call. */
typedef void (*wr_append_cb)(void *ud, const wr_append_result *res);

/*
 * Appends one batch. `in` and everything it points to stay borrowed until `cb`.
 * The stream is created first when missing and the basin has create_stream_on_append.
 * Outcomes (res->err): OK (ack); INVALID (1–1000 records, ≤ 1 MiB metered per record and batch,
 * command records, fencing token > 36 bytes, client-require timestamp missing);
 * FENCING_TOKEN_MISMATCH (checked first; actual_token) or SEQ_NUM_MISMATCH (actual_seq);
 * BASIN_NOT_FOUND, STREAM_NOT_FOUND, STREAM_DELETION_PENDING, BASIN_DELETION_PENDING;
 * QUOTA_EXHAUSTED (auto-create refused by a stream limit); STORAGE (failed state);
 * UNAVAILABLE (store closing).
 * Sequencing happens when the append leaves the in-flight budget queue: conditions are checked
 * against every earlier append of the stream (pipelining works; acks stay in order).
 */
void wr_store_append(wr_store *s, const char *basin, const char *stream, const wr_append_input *in,
                     wr_append_cb cb, void *ud);

/* ------------------------------------------------------------------------------------------ */
/* Read                                                                                         */

typedef enum wr_read_start_kind {
    WR_READ_TAIL_OFFSET = 0, /* start = tail - start_value (saturating); the default */
    WR_READ_SEQ,
    WR_READ_TIMESTAMP,
} wr_read_start_kind;

typedef struct wr_read_req {
    wr_read_start_kind start_kind;
    uint64_t start_value;
    bool clamp;
    bool has_count;
    uint64_t count;
    bool has_bytes;
    uint64_t bytes; /* metered */
    bool has_until;
    uint64_t until_ms; /* exclusive */
    /*
     * Whether this read may follow (the caller decides: a unary read only with wait > 0; a
     * session when it has no count/bytes/until bound or wait > 0). Used only for the 416 rule
     * "start equals the tail and the read may not follow".
     */
    bool may_follow;
    /* Usage: count this read as one unary read operation when it succeeds. */
    bool unary_op;
} wr_read_req;

typedef struct wr_read_result {
    wr_err err; /* OK, RANGE_NOT_SATISFIABLE (tail set), INVALID, *_NOT_FOUND,
                       STREAM_DELETION_PENDING, BASIN_DELETION_PENDING, QUOTA_EXHAUSTED
                       (auto-create), STORAGE */
    wr_error error;
    wr_pos tail; /* the durable tail the read was served against */
    size_t n_records;
    wr_record *records; /* views into batches owned by the result */
    uint64_t metered_bytes;
    uint64_t next_seq;  /* the position after the last record returned (where to continue) */
    bool at_tail;       /* next_seq == tail.seq: nothing more is durable yet */
    bool until_reached; /* stopped at a record whose timestamp >= until */
    /* Private. */
    wr_batch **batches;
    size_t n_batches;
} wr_read_result;

/* Takes ownership of `res` (free with wr_read_result_free, possibly later). */
typedef void (*wr_read_cb)(void *ud, wr_read_result *res);

/*
 * Reads durable records: start per req (416 rules of s2-api.md §3.6), limits count/bytes/until
 * (a record is never split; callers clamp unary reads to 1000 records / 1 MiB themselves), up to
 * the durable tail at admission. Records below the trim point are skipped. The stream is created
 * when missing and the basin has create_stream_on_read (its meta written by the commit thread;
 * the read is admitted once it is durable). Recent data is served from memory; anything else on
 * the libuv worker pool.
 */
void wr_store_read(wr_store *s, const char *basin, const char *stream, const wr_read_req *req,
                   wr_read_cb cb, void *ud);
void wr_read_result_free(wr_read_result *res);

/* ------------------------------------------------------------------------------------------ */
/* Follow                                                                                       */

typedef enum wr_follow_kind {
    WR_FOLLOW_BATCH,  /* a durable batch (records from index `first` on) */
    WR_FOLLOW_LAGGED, /* terminal: the position fell out of the cache; catch up with reads */
    WR_FOLLOW_CLOSED, /* terminal: stream deleted (STREAM_DELETION_PENDING) or store closing
                         (UNAVAILABLE) — see `err` */
} wr_follow_kind;

typedef struct wr_follow_event {
    wr_follow_kind kind;
    wr_batch *batch; /* BATCH: borrowed for the callback; wr_batch_ref() to keep it */
    uint32_t first;  /* index of the first record to deliver (> 0 only on a mid-batch start) */
    wr_pos tail;     /* BATCH: the position after this batch */
    wr_err err;      /* CLOSED: why */
} wr_follow_event;

typedef void (*wr_follow_cb)(void *ud, const wr_follow_event *ev);
typedef struct wr_follow wr_follow;

/*
 * Subscribes to durable batches from `from_seq` on. Batches already durable past from_seq are
 * replayed from the cache (on a later loop iteration); if from_seq is no longer cached the
 * subscriber receives WR_FOLLOW_LAGGED and should go back to wr_store_read(). New batches are
 * delivered as they become durable, in order, never twice.
 * Errors (no subscription made): INVALID, *_NOT_FOUND, STREAM_DELETION_PENDING,
 * RANGE_NOT_SATISFIABLE (from_seq beyond the durable tail), STORAGE (the stream could not be
 * read).
 * Every successful call must be matched by exactly one wr_store_unfollow(), also after a
 * terminal event.
 */
wr_err wr_store_follow(wr_store *s, const char *basin, const char *stream, uint64_t from_seq,
                       wr_follow_cb cb, void *ud, wr_follow **out, wr_error *out_err);

/* Stops delivery (e.g. while the socket is congested); batches keep being cached. */
void wr_store_follow_pause(wr_follow *f);
/* Resumes: missed batches are replayed from the cache, or WR_FOLLOW_LAGGED if evicted. */
void wr_store_follow_resume(wr_follow *f);
/* Ends the subscription; no callback runs after it returns. Safe inside the callback. */
void wr_store_unfollow(wr_follow *f);

/* ------------------------------------------------------------------------------------------ */
/* Usage (usage.c, usage_query.c)                                                              */
/*
 * The store keeps a persisted time series of what every stream, basin and the account used, for
 * billing and for the S2 metrics API. Per stream and minute:
 *  - appended records, metered bytes and operations (one per acknowledged append, i.e. per unary
 *    append or per AppendInput of a session), counted when the append is acknowledged, split by
 *    the stream's storage class;
 *  - read records and metered bytes, counted when a wr_store_read() result or a followed batch is
 *    delivered; read operations: one per unary read (wr_read_req.unary_op) and, for a read
 *    session, one per minute in which it is open (wr_store_usage_read_op).
 * Per basin and minute: the streams' counters summed, and basin operations
 * (wr_store_usage_op). Per account and minute: account operations.
 * Per stream and hour: storage, the exact metered bytes (and stored value bytes) of the record
 * batches still on disk, from the TS_INDEX ledgers (keys.h), measured by a sampler every
 * opts.usage_sample_ms; for the hour that is running, queries measure it live.
 *
 * MEMORY AND DURABILITY. Counts are aggregated in memory per (stream, minute) and written every
 * opts.usage_flush_ms (5 s by default) by a job on the worker pool: one RocksDB WriteBatch, synced
 * (one fsync per flush, never one per append), adding the minute, hour and day rows (rollups are
 * kept as they are written). A crash loses at most the counts of the last flush interval plus
 * the duration of one flush; wr_store_close() flushes what is pending (a clean restart loses
 * nothing). The table holds at most opts.usage_max_entries (stream, minute) entries; reaching it
 * starts a flush at once, and while that flush runs, counts of streams not yet in the table are
 * added to their basin's unattributed entry (stream "" in the series: basin totals stay exact,
 * prefix attribution misses them; usage_unattributed in the stats counts such additions).
 * Evicting a stream from the stream cache never touches these counts.
 *
 * RETENTION. Minute rows are kept opts.usage_minute_retention_s (2 days by default), hour and day
 * rows and storage samples opts.usage_retention_s (35 days by default); a pass on the worker
 * deletes older rows about once an hour (the newest storage sample of a series is always kept,
 * since a gauge carries it forward).
 *
 * QUERIES (wr_store_usage_query) run on the worker pool, one usage job at a time (flushes,
 * samples, retention and queries are serialised), and see the persisted rows plus the counts
 * still in memory: what was acknowledged before the query is in its answer.
 */

/* Counters of a usage row (PERSISTED order, see keys.h). */
typedef enum wr_usage_counter {
    WR_USAGE_APPEND_RECORDS = 0,
    WR_USAGE_APPEND_BYTES_EXPRESS = 1,
    WR_USAGE_APPEND_BYTES_STANDARD = 2,
    WR_USAGE_APPEND_OPS_EXPRESS = 3,
    WR_USAGE_APPEND_OPS_STANDARD = 4,
    WR_USAGE_READ_RECORDS = 5,
    WR_USAGE_READ_BYTES = 6,
    WR_USAGE_READ_OPS_UNARY = 7,
    WR_USAGE_READ_OPS_STREAMING = 8,
    WR_USAGE_N_COUNTERS = 9
} wr_usage_counter;

/* Account and basin operations (codes PERSISTED in usage rows: never renumber; the names are
 * S2's operation names). */
#define WR_USAGE_OP_MAP(X)                                                                         \
    X(1, "list-basins")                                                                            \
    X(2, "create-basin")                                                                           \
    X(3, "delete-basin")                                                                           \
    X(4, "reconfigure-basin")                                                                      \
    X(5, "get-basin-config")                                                                       \
    X(6, "issue-access-token")                                                                     \
    X(7, "revoke-access-token")                                                                    \
    X(8, "list-access-tokens")                                                                     \
    X(9, "list-streams")                                                                           \
    X(10, "create-stream")                                                                         \
    X(11, "delete-stream")                                                                         \
    X(12, "get-stream-config")                                                                     \
    X(13, "reconfigure-stream")                                                                    \
    X(14, "check-tail")                                                                            \
    X(15, "account-metrics")                                                                       \
    X(16, "basin-metrics")                                                                         \
    X(17, "stream-metrics")                                                                        \
    X(18, "list-locations")                                                                        \
    X(19, "get-default-location")                                                                  \
    X(20, "set-default-location")
#define WR_USAGE_OP_MAX 20

/* The code of an operation name, 0 when it has none. */
uint8_t wr_usage_op_code(const char *name);
/* The name of a code, NULL when unknown. */
const char *wr_usage_op_name(uint8_t code);

typedef enum wr_usage_interval {
    WR_USAGE_MINUTE = 1, /* PERSISTED (the `res` byte of keys.h) */
    WR_USAGE_HOUR = 2,
    WR_USAGE_DAY = 3,
} wr_usage_interval;
uint64_t wr_usage_interval_secs(wr_usage_interval iv);

/* A read session's operation: call once when it starts and again each minute it stays open
 * (the caller decides; usage counts one per call). Never fails; loop thread. */
void wr_store_usage_read_op(wr_store *s, const char *basin, const char *stream);
/* An account (basin NULL) or basin operation. Never fails; loop thread. */
void wr_store_usage_op(wr_store *s, const char *basin, uint8_t op);

typedef struct wr_usage_query {
    const char *basin;  /* NULL = the account (ops and active basins only) */
    const char *stream; /* exact stream (exact = true) or stream-name prefix; NULL = whole basin */
    bool exact;
    wr_usage_interval interval;
    uint64_t start_s, end_s; /* inclusive; buckets from floor(start) to floor(min(end, now)) */
    bool want_counters, want_ops, want_storage, want_active_basins;
} wr_usage_query;

typedef struct wr_usage_bucket {
    uint64_t ts_s;
    uint64_t c[WR_USAGE_N_COUNTERS];
    uint64_t ops[WR_USAGE_OP_MAX + 1];
    uint64_t storage_metered, storage_stored; /* the gauge: value at the end of the bucket */
    bool has_counters;                        /* any counter row or pending count */
} wr_usage_bucket;

typedef struct wr_usage_result {
    wr_err err;
    wr_error error;
    wr_usage_bucket *buckets; /* n_buckets, ascending, one per interval (dense) */
    size_t n_buckets;
    wr_usage_bucket total; /* counters and ops summed; storage = the last bucket's */
    char **basins;         /* want_active_basins: sorted names */
    size_t n_basins;
} wr_usage_result;

/* The most buckets a query may span (31 days of minutes). */
#define WR_USAGE_MAX_BUCKETS (31u * 24u * 60u + 1u)

/* Takes ownership of res (free with wr_usage_result_free). */
typedef void (*wr_usage_cb)(void *ud, wr_usage_result *res);

/*
 * Answers a usage query through cb (always, exactly once, never from inside the call). Outcomes
 * (res->err): OK; INVALID (names, an empty or too long range: more than WR_USAGE_MAX_BUCKETS
 * buckets, start after end); UNAVAILABLE (too many queries waiting, or the store closing);
 * STORAGE. The strings of `q` are copied.
 */
void wr_store_usage_query(wr_store *s, const wr_usage_query *q, wr_usage_cb cb, void *ud);
void wr_usage_result_free(wr_usage_result *res);

/* Test hooks, never routed: flush the pending counts now / take a storage sample now; cb runs
 * on the loop when the job has finished (or from inside wr_store_close). */
void wr_store_usage_flush_now(wr_store *s, void (*cb)(void *ud), void *ud);
void wr_store_usage_sample_now(wr_store *s, void (*cb)(void *ud), void *ud);

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle: retention, trim, delete-on-empty, deletion (lifecycle.c)                         */
/*
 * Records older than the stream's retention age, and records below its trim point, are
 * invisible to wr_store_read() and to followers from the moment they expire or are trimmed; a
 * read starts at the first retained record (when none is retained the start is the tail, and
 * the 416 rules apply as for an empty stream). Maintenance passes reclaim their bytes later:
 * every opts.maint_interval_ms (60 s by default) ±10 %, or on wr_store_maintain_now(); a DELETE
 * waits for the next regular pass, so the deletion stays observable meanwhile. A pass also
 * deletes streams with delete-on-empty (min_age_secs > 0) that retain no record, have had no
 * append for min_age_secs and are neither held nor pinned, and finishes stream and basin
 * deletions. Every step is restart-safe: deletion marks, cursors, deadlines and pins are on disk.
 */

/*
 * Holds: an open read session, a waiting long-poll or an open append session holds its stream
 * so that delete-on-empty never deletes it. Holds are counted per (basin, stream) name, in
 * memory, and may be taken before the stream exists. When the last hold is released, a
 * delete-on-empty stream's deadline becomes now + min_age. Every hold must be released exactly
 * once, before wr_store_close(). Never fails; does not block on disk (release does one
 * unsynced write for delete-on-empty streams; if that write fails, the hold is still released,
 * the failure is logged and the store enters the failed state like after any failed write, so
 * no maintenance pass can delete the stream on the deadline that was not moved).
 */
void wr_store_hold(wr_store *s, const char *basin, const char *stream);
void wr_store_release(wr_store *s, const char *basin, const char *stream);
/* Current number of holds on the name (for tests and diagnostics). */
uint64_t wr_store_hold_count(wr_store *s, const char *basin, const char *stream);

/*
 * Pins: like a hold, but persisted (a pin survives restarts) and counted: n pins need n unpins.
 * For the realtime layer (e.g. the streams of an open chat session). Retention still removes
 * old records of a pinned stream; only the stream itself is kept. Unpinning the last pin moves
 * a delete-on-empty deadline to now + min_age. An explicit DELETE still deletes a pinned stream
 * (the pin goes with it). Synchronous: one synced write.
 * Errors: INVALID (names; unpin of a stream that is not pinned), BASIN_NOT_FOUND,
 * STREAM_NOT_FOUND, STREAM_DELETION_PENDING, STORAGE.
 */
wr_err wr_store_pin(wr_store *s, const char *basin, const char *stream, wr_error *out_err);
wr_err wr_store_unpin(wr_store *s, const char *basin, const char *stream, wr_error *out_err);
/* The stream's pin count. Errors: INVALID, BASIN_NOT_FOUND, STREAM_NOT_FOUND, STORAGE (the count
 * could not be read: never reported as 0). */
wr_err wr_store_pin_count(wr_store *s, const char *basin, const char *stream, uint64_t *out_n,
                          wr_error *out_err);

/*
 * Debug/test hook, never routed by the server: starts a maintenance pass now (or right after
 * the one running) and, when `compact`, ends it with a memtable flush and a full compaction so
 * the reclaimed bytes actually leave the disk. `cb` runs on the loop once a pass that started
 * after this call has finished, or from inside wr_store_close() if the store closes first.
 */
void wr_store_maintain_now(wr_store *s, bool compact, void (*cb)(void *ud), void *ud);

#endif
