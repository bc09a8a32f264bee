/*
 * backend.h — the stream backend: every stream operation of the realtime layer, behind one
 * interface, so that the same layer runs over the embedded store (backend_embedded.c, no network
 * hop) or any S2-compatible endpoint (backend_remote.c: S2 itself, s2-lite, another weir).
 *
 * Shape of every call: arguments are borrowed for the duration of the call; results come back
 * as data through the callback, exactly once, on the loop thread — possibly before the call
 * returns (the embedded backend answers many calls inline), so a caller must not touch state
 * after starting a call that its callback may free. The realtime layer alone turns results into
 * HTTP answers; nothing here writes to a client, except serve_sse, which streams a read session
 * onto a request the caller hands over.
 *
 * Errors are wr_err codes of the one table (util/err.h): a remote endpoint's S2 error codes map
 * to the same codes, and transport failures to UNAVAILABLE (refused, reset: 503),
 * UPSTREAM_TIMEOUT (504) or HOT_SERVER (502, a malformed upstream answer).
 *
 * Live-session protection: the streams of an open session must survive delete-on-empty however
 * long the session idles. `protect` expresses that with what the backend has: the embedded
 * store's persisted pins; over S2, turning the stream's delete_on_empty off while the session is
 * open and back to the basin default when it closes (retention still applies: a basin's
 * retention must outlast its sessions, which the plan's retention does).
 *
 * Threading: loop thread only.
 */
#ifndef WR_REALTIME_BACKEND_H
#define WR_REALTIME_BACKEND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/req.h"
#include "store/config.h"
#include "store/store.h" /* wr_usage_interval */
#include "util/err.h"

#include <uv.h>

typedef struct wr_rt_backend wr_rt_backend;

/* A record as the realtime layer sees it: seq, headers (name/value pairs), body. Borrowed from
 * the result that carries it, valid during the callback. */
typedef struct wr_rt_rec_header {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} wr_rt_rec_header;

typedef struct wr_rt_rec {
    uint64_t seq;
    const wr_rt_rec_header *headers;
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
} wr_rt_rec;

/* A page of records: at most 1000 records / 1 MiB from a seq. `at_tail`: nothing follows them
 * yet (a follower would wait); `next_seq` is where the next page starts. */
typedef struct wr_rt_page {
    const wr_rt_rec *records;
    size_t n;
    uint64_t next_seq;
    bool at_tail;
} wr_rt_page;

typedef void (*wr_rt_done_cb)(void *ud, wr_err err, const wr_error *detail);
typedef void (*wr_rt_append_cb)(void *ud, wr_err err, const wr_error *detail, uint64_t seq);
typedef void (*wr_rt_page_cb)(void *ud, wr_err err, const wr_error *detail, const wr_rt_page *page);
typedef void (*wr_rt_secret_cb)(void *ud, wr_err err, const wr_error *detail, const char *secret);
typedef void (*wr_rt_count_cb)(void *ud, wr_err err, const wr_error *detail, size_t n);
/* Names of a stream listing page (borrowed during the call); `more` when another page follows. */
typedef void (*wr_rt_names_cb)(void *ud, wr_err err, const wr_error *detail,
                               const char *const *names, size_t n, bool more);

/* Usage figures of a basin, or of its streams under a prefix (realtime.md "Usage"): counters
 * summed over a range, storedBytes the storage at its end. */
typedef struct wr_rt_usage {
    uint64_t appended_records, appended_bytes, read_records, read_bytes, stored_bytes;
} wr_rt_usage;
/* What is asked: `basin` whole, or its streams under `prefix` (NULL: whole), over [start_s,
 * end_s] (Unix seconds, inclusive) in buckets of `interval`. */
typedef struct wr_rt_usage_query {
    const char *basin, *prefix;
    wr_usage_interval interval;
    uint64_t start_s, end_s;
} wr_rt_usage_query;
typedef struct wr_rt_usage_bucket {
    uint64_t ts_s; /* the bucket's start */
    wr_rt_usage u;
} wr_rt_usage_bucket;
/* The answer: one bucket per interval, ascending and dense (borrowed during the callback). */
typedef struct wr_rt_usage_series {
    wr_rt_usage total;
    const wr_rt_usage_bucket *buckets;
    size_t n;
} wr_rt_usage_series;
typedef void (*wr_rt_usage_cb)(void *ud, wr_err err, const wr_error *detail,
                               const wr_rt_usage_series *s);

/* The basin settings provisioning asks for (realtime.md §3). */
typedef struct wr_rt_basin_spec {
    wr_storage_class storage_class;
    uint64_t retention_s;
    uint64_t doe_min_age_s;
    bool no_stream_defaults; /* only the auto-create settings (the global basin) */
    bool keep_existing;      /* an existing basin is left as it is (an operator may tune it) */
} wr_rt_basin_spec;

typedef struct wr_rt_backend_ops {
    const char *name;
    void (*free)(wr_rt_backend *b);

    /* ---- basins -------------------------------------------------------------------------- */
    /* Creates the basin with create_stream_on_append/on_read and the spec's default stream
     * config; one that exists is brought to the spec instead (a retry after a crash between
     * create and stamp converges). */
    void (*ensure_basin)(wr_rt_backend *b, const char *basin, const wr_rt_basin_spec *spec,
                         wr_rt_done_cb cb, void *ud);
    /* Sets the basin's default retention; with apply_to_existing, every stream's too. */
    void (*set_retention)(wr_rt_backend *b, const char *basin, uint64_t retention_s,
                          bool apply_to_existing, wr_rt_done_cb cb, void *ud);
    /* One page of stream names under prefix after start_after ("" = from the start). */
    void (*list_streams)(wr_rt_backend *b, const char *basin, const char *prefix,
                         const char *start_after, wr_rt_names_cb cb, void *ud);

    /* ---- access tokens ------------------------------------------------------------------- */
    /* Issues an S2 access token described by an AccessTokenInfo (s2-api.md §7). */
    void (*issue_token)(wr_rt_backend *b, const json_t *info, wr_rt_secret_cb cb, void *ud);
    /* Revokes every token whose id starts with prefix (non-empty); the count comes back. */
    void (*revoke_tokens)(wr_rt_backend *b, const char *id_prefix, wr_rt_count_cb cb, void *ud);
    /* Live tokens (not expired, not revoked) whose id starts with prefix, after deleting up to
     * `gc` expired ones among them. */
    void (*count_tokens)(wr_rt_backend *b, const char *id_prefix, size_t gc, wr_rt_count_cb cb,
                         void *ud);
    /* Whether the token with this id is still live, when the backend can say cheaply and
     * synchronously; true when it cannot (then only this node's own revocations are known). */
    bool (*token_live)(wr_rt_backend *b, const char *id);

    /* ---- records ------------------------------------------------------------------------- */
    /* Appends one record (body, no headers); the stream is created on append if missing. */
    void (*append)(wr_rt_backend *b, const char *basin, const char *stream, const void *body,
                   size_t len, wr_rt_append_cb cb, void *ud);
    /* A page from from_seq (clamped to the tail), without waiting. A missing stream is an empty
     * page at its tail, not an error. */
    void (*read_page)(wr_rt_backend *b, const char *basin, const char *stream, uint64_t from_seq,
                      wr_rt_page_cb cb, void *ud);
    /* The last `n` records (at most 2), for the settled peek. */
    void (*read_last)(wr_rt_backend *b, const char *basin, const char *stream, size_t n,
                      wr_rt_page_cb cb, void *ud);
    /* Waits until at least one record at or after from_seq is durable (or timeout_s passes) and
     * answers a page from from_seq: possibly empty on timeout. Race-free: a record appended at
     * any moment after the call started is seen. Returns a handle for cancel_wait. */
    void *(*wait_page)(wr_rt_backend *b, const char *basin, const char *stream, uint64_t from_seq,
                       uint64_t timeout_s, wr_rt_page_cb cb, void *ud);
    /* Ends a wait early (its client went away): its callback still runs once, soon, with
     * WR_ERR_CLIENT_HANGUP. Only between wait_page and its callback. */
    void (*cancel_wait)(wr_rt_backend *b, void *handle);
    /*
     * Serves an S2 SSE read session on req (takes it over: answers it, detaches on close):
     * records from start_seq (WR_S2_SSE_AT_TAIL: from the tail), ending after wait_s seconds
     * without one. Headers set on req before the call are sent. Errors reach the client as an
     * error answer or an `error` event, never as a clean end.
     */
    void (*serve_sse)(wr_rt_backend *b, wr_req *req, const char *basin, const char *stream,
                      uint64_t start_seq, uint64_t wait_s);

    /* ---- live-session protection --------------------------------------------------------- */
    /* on: creates the stream if missing and protects it from delete-on-empty (idempotent);
     * off: removes the protection (idempotent). */
    void (*protect)(wr_rt_backend *b, const char *basin, const char *stream, bool on,
                    wr_rt_done_cb cb, void *ud);

    /* ---- usage --------------------------------------------------------------------------- */
    /* The usage series of q (strings copied). A backend that cannot tell answers
     * NOT_IMPLEMENTED; a bad range is INVALID. */
    void (*usage)(wr_rt_backend *b, const wr_rt_usage_query *q, wr_rt_usage_cb cb, void *ud);
} wr_rt_backend_ops;

/* The ops table of a backend whose file defines every operation as a static of the same name
 * (ensure_basin, set_retention, ...). An operation added to the struct goes here too: a backend
 * that lacks it then fails to compile instead of holding a NULL. */
#define WR_RT_BACKEND_OPS(name_, free_)                                                            \
    {                                                                                              \
        .name = (name_), .free = (free_), .ensure_basin = ensure_basin,                            \
        .set_retention = set_retention, .list_streams = list_streams, .issue_token = issue_token,  \
        .revoke_tokens = revoke_tokens, .count_tokens = count_tokens, .token_live = token_live,    \
        .append = append, .read_page = read_page, .read_last = read_last, .wait_page = wait_page,  \
        .cancel_wait = cancel_wait, .serve_sse = serve_sse, .protect = protect, .usage = usage,    \
    }

struct wr_rt_backend {
    const wr_rt_backend_ops *ops;
};

/* Frees the backend (NULL is a no-op). Calls still in flight are failed first. */
void wr_rt_backend_free(wr_rt_backend *b);

typedef struct wr_store wr_store;
typedef struct wr_auth wr_auth;
typedef struct wr_s2 wr_s2;

/* The embedded store as the backend: store, token registry and /v1 read sessions of this
 * process (all must outlive it). */
wr_rt_backend *wr_rt_backend_embedded(wr_store *store, wr_auth *auth, wr_s2 *s2, uv_loop_t *loop);

#endif
