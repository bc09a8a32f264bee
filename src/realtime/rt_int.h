/*
 * rt_int.h — what the files of src/realtime/ share.
 */
#ifndef WR_REALTIME_RT_INT_H
#define WR_REALTIME_RT_INT_H

#include <jansson.h>
#include <stdlib.h>

#include "http/req.h"
#include "meta/writer.h"
#include "realtime/mint.h"
#include "realtime/rt.h"
#include "s2/s2.h"

typedef struct wr_rt_parts wr_rt_parts;
typedef struct wr_rt_prefetch wr_rt_prefetch;

#define WR_RT_QUEUED_PER_ENV 1024       /* control-plane changes in flight per environment */
#define WR_RT_READS_PER_CREDENTIAL 1024 /* reader-thread reads in flight per credential */
#define WR_RT_QUEUED_BUCKETS 256

struct wr_rt {
    wr_rt_config cfg;
    wr_meta *meta;             /* reads (loop thread) */
    wr_meta_writer *writer;    /* changes, off the loop (NULL: made on rt->meta; tests) */
    wr_meta_writer *readers;   /* a request's first reads, off the loop (PostgreSQL; prefetch.c) */
    wr_rt_prefetch *prefetch;  /* while a handler runs after its prefetch: what was read */
    uint64_t prefetched_reads; /* lookups it answered */
    wr_rt_backend *backend;    /* every stream operation (backend.h) */
    wr_auth *auth;             /* the admin API's root token */
    wr_keybox *keybox;         /* environment API keys at rest (keybox.h) */
    uv_loop_t *loop;
    wr_rt_mint *mint;        /* scoped write tokens (mint.h) */
    wr_rt_parts *parts;      /* X-Part-Id idempotency (streams.c) */
    struct rt_route *routes; /* wr_rt_route's trampolines, freed with rt */
    uv_timer_t gc_timer;     /* collects expired minted tokens */
    /* Control-plane changes in flight per environment (wr_rt_meta_change): chained buckets of
     * counts, an entry freed when its count drops to 0. */
    struct rt_queued *queued[WR_RT_QUEUED_BUCKETS];
    struct rt_key_slot *keys; /* environment keys opened by wr_rt_env_key (rt.c; loop thread) */
};

/* Whether other nodes share this control plane (PostgreSQL: its reads go through reader
 * threads): then what must hold across nodes (part ids) is kept in it, not in memory alone. */
static inline bool
wr_rt_shared_control_plane(const wr_rt *rt)
{
    return rt->readers != NULL;
}

/*
 * Asynchronous answers: an operation whose first member is its `wr_req *` holds the request
 * (the member turns NULL if the client goes away first); take it back to answer (NULL: gone).
 */
void wr_rt_hold_req(wr_req *req, void *op);
wr_req *wr_rt_take_req(void *op);

/*
 * A control-plane change: `run` makes it through the writer thread's handle, off the loop, in a
 * group commit (meta/writer.h); `done` runs on the loop once it is durable or failed (a full
 * writer queue: UNAVAILABLE, 503). Without a writer, `run` runs on rt->meta and `done` before
 * this returns. Reads made from `done` on rt->meta see the change.
 *
 * `env_id` is the environment the change is made for (NULL: the operator's admin routes and
 * weir's own stamps). The writer's queue is shared by every tenant, so each environment may
 * have at most WR_RT_QUEUED_PER_ENV changes in flight: past it `done` gets RATE_LIMITED (429)
 * at once, and one environment's flood cannot fill the queue the others need.
 */
void wr_rt_meta_change(wr_rt *rt, const char *env_id, wr_meta_job_run run, wr_meta_job_done done,
                       void *ctx);
/* The same, for a job that may run in one call of `batch` with its neighbours in a group (see
 * wr_meta_job_batch; without a writer, `run` runs on its own). */
void wr_rt_meta_change_batched(wr_rt *rt, const char *env_id, wr_meta_job_run run,
                               wr_meta_job_batch batch, wr_meta_job_done done, void *ctx);
/*
 * A read off the loop: on a reader thread when the control plane has them (PostgreSQL, a round
 * trip the loop must not wait for), else at once on rt->meta (SQLite: a page-cache lookup).
 * `who` names the credential it is made for (an environment id, or a key's hash in hex; NULL:
 * weir's own): at most WR_RT_READS_PER_CREDENTIAL of one are in flight, beyond that `done` gets
 * 429 rate_limited at once, so one tenant cannot fill the readers' queue. `run` may only read;
 * `done` runs on the loop thread. Whatever `run` uses must be owned by ctx: the request may be
 * gone by then (hold it with wr_rt_hold_req). `batch` (may be NULL): reads a reader took
 * together in one call (wr_meta_job_batch; its error: they run one by one).
 */
void wr_rt_meta_read(wr_rt *rt, const char *who, wr_meta_job_run run, wr_meta_job_batch batch,
                     wr_meta_job_done done, void *ctx);
/* Control-plane changes in flight for env_id now (tests). */
size_t wr_rt_meta_queued(const wr_rt *rt, const char *env_id);

/*
 * prefetch.c. Calls a route's handler: at once, or — with readers set, for a request carrying a
 * credential, outside /admin/ — after a reader thread has read the credential's environment, its
 * organization and the session or run params[0] names (`reads`, from the route's template). The
 * wr_rt_read_* lookups below answer from those reads when they match, else read rt->meta.
 */
typedef enum { WR_RT_READ_NONE, WR_RT_READ_SESSION, WR_RT_READ_RUN } wr_rt_read_kind;
/* What a route's parameters name, from its template (wr_rt_route). */
typedef struct wr_rt_route_reads {
    wr_rt_read_kind first; /* {session} or {runId} first */
    int target, stream;    /* indexes of {target} and {streamId}, or -1 */
} wr_rt_route_reads;
void wr_rt_dispatch(wr_rt *rt, wr_req *req, wr_handler_fn fn, const wr_rt_route_reads *reads);
wr_err wr_rt_read_env_by_key_hash(wr_rt *rt, const wr_req *req, const uint8_t hash[32], wr_env *out,
                                  wr_error *out_err);
wr_err wr_rt_read_env(wr_rt *rt, const wr_req *req, const char *id, wr_env *out, wr_error *out_err);
wr_err wr_rt_read_org(wr_rt *rt, const wr_req *req, const char *id, wr_org *out, wr_error *out_err);
/* The longest key that can name a session: an externalId (1-256 bytes; a session id is
 * shorter). A longer key is answered NOT_FOUND without a read. */
#define WR_RT_SESSION_KEY_MAX 256
/* On WR_OK *out is the caller's (wr_session_fini). */
wr_err wr_rt_read_session(wr_rt *rt, const wr_req *req, const char *env_id, const char *key,
                          wr_session *out, wr_error *out_err);
wr_err wr_rt_read_run(wr_rt *rt, const wr_req *req, const char *env_id, const char *id, wr_run *out,
                      wr_error *out_err);
/* Whether `key` names some session's channels in env_id (wr_meta_session_stream_key_taken),
 * prefetched after a session lookup by that key found none. */
wr_err wr_rt_read_key_taken(wr_rt *rt, const wr_req *req, const char *env_id, const char *key,
                            bool *out, wr_error *out_err);
wr_err wr_rt_read_run_has_stream(wr_rt *rt, const wr_req *req, const char *run_id,
                                 const char *stream_id, bool *out, wr_error *out_err);

/*
 * rtauth.c. The request's bearer credential as its environment is looked up: an API key's
 * SHA-256 (*by_key) or a public token's unverified `sub`. False without one.
 */
bool wr_rt_credential(wr_req *req, bool *by_key, uint8_t hash[32], char sub[WR_META_ID_MAX + 1]);

/*
 * Realtime errors are wr_err codes like everywhere else; these turn one into an answer with the
 * code's status (util/err.h) and trigger.dev's error body:
 *   wr_rt_fail       {"error": msg}
 *   wr_rt_fail_code  {"error": msg, "code": "<wire code>"}, for errors clients act on by code
 */
void wr_rt_fail(wr_req *req, wr_err code, const char *msg);
void wr_rt_fail_code(wr_req *req, wr_err code, const char *msg);
/* 409 {"ok":false,"error":msg,"code":"session_closed","closedReason"?} with x-should-retry:
 * false: what trigger.dev's clients take as "this session is closed, stop". */
void wr_rt_fail_closed(wr_req *req, const wr_session *s, const char *msg);
/* An RFC 3339 string of ms, or null when !set. */
json_t *wr_rt_time_json(bool set, uint64_t ms);
/* Answers a control-plane, store or backend error with its own code and message. */
void wr_rt_fail_err(wr_req *req, const wr_error *err);
/* A failed lookup of a row named in the URL: 404 `not_found` when there is no such row,
 * otherwise the error's own status. */
void wr_rt_fail_lookup(wr_req *req, const wr_error *err, const char *not_found);
/* A JSON object body, or NULL after answering 400 {"error":"Invalid JSON body"}. */
json_t *wr_rt_body(wr_req *req);
/* A new random id: `prefix` followed by lowercase letters and digits, `len` characters in all. */
void wr_rt_new_id(const char *prefix, size_t len, char *out);
/* The same, but the first WR_RT_ID_TIME_CHARS characters after the prefix are the creation time
 * (milliseconds, base 36, zero-padded), the rest random: ids of rows created often (runs,
 * sessions) then land at the end of the control plane's primary-key index instead of on a random
 * page each, which keeps a group commit's writes small. len - strlen(prefix) must exceed it by
 * at least 12 (62 random bits per millisecond). */
#define WR_RT_ID_TIME_CHARS 9
void wr_rt_new_sorted_id(const char *prefix, size_t len, char *out);
/* A new environment secret key (malloc'd) and its SHA-256. */
char *wr_rt_new_api_key(uint8_t hash[32]);
#define WR_RT_KEY_MAX 64
/* Seals an environment's key for storage (keybox.h, bound to the env id). */
void wr_rt_seal_key(wr_rt *rt, const char *env_id, const char *key,
                    uint8_t out[WR_META_KEY_ENC_MAX], size_t *out_len);
/* The environment's raw key, when it has a sealed one that opens; false otherwise (an environment
 * created before keys were sealed, until its key is rotated). Loop thread: keys opened recently
 * are kept, each with the sealed bytes it was opened from, so a rotated key is opened afresh. */
bool wr_rt_env_key(wr_rt *rt, const wr_env *env, char out[WR_RT_KEY_MAX]);
void wr_rt_hash_key(const char *key, uint8_t hash[32]);

/*
 * Registers a realtime route. Every path parameter is checked before `fn` runs: a name from the
 * URL (session key, externalId, run or stream id, channel name) must be UTF-8 without control
 * characters, else 400 {"error"} (such names end up in response headers and stream names).
 */
void wr_rt_route(wr_rt *rt, wr_router *r, wr_method method, const char *tmpl, wr_handler_fn fn,
                 size_t max_body);
/* Whether s is a name weir accepts from outside: valid UTF-8, no control characters. */
bool wr_rt_name_ok(const char *s);

void wr_rt_admin_register(wr_rt *rt, wr_router *r);
void wr_rt_api_register(wr_rt *rt, wr_router *r);
void wr_rt_sessions_register(wr_rt *rt, wr_router *r);
void wr_rt_channels_register(wr_rt *rt, wr_router *r);

void wr_rt_auth_register(wr_rt *rt, wr_router *r);
void wr_rt_runstreams_register(wr_rt *rt, wr_router *r);

/* --- rtauth.c: callers --- */

typedef struct wr_rt_caller {
    wr_env env;
    bool public_token; /* a JWT: only what `scopes` grants; else the secret key: everything */
    json_t *scopes;    /* JSON array of strings (public tokens) */
    uint64_t exp_ms;   /* public tokens: when the JWT expires */
} wr_rt_caller;

/*
 * Authenticates `Authorization: Bearer …` as the environment's secret key or, when
 * `allow_public`, a public token. On failure answers 401 and returns false. On success the
 * caller calls wr_rt_caller_fini.
 */
bool wr_rt_authn(wr_req *req, wr_rt *rt, bool allow_public, wr_rt_caller *out);
void wr_rt_caller_fini(wr_rt_caller *c);
/* Whether c may `action` ("read" | "write") the resource of `kind` ("sessions", "runs",
 * "inputStreams") known by any of `ids` (NULL entries ignored). Secret keys may do anything. */
bool wr_rt_allowed(const wr_rt_caller *c, const char *action, const char *kind,
                   const char *const *ids, size_t n_ids);
/* wr_rt_allowed, answering 403 itself when not. */
bool wr_rt_authz(wr_req *req, const wr_rt_caller *c, const char *action, const char *kind,
                 const char *const *ids, size_t n_ids);
/* A public token for env with `scopes` (JSON text of an array of strings) valid for ttl_s;
 * malloc'd. */
char *wr_rt_public_token(wr_rt *rt, const wr_env *env, const char *scopes, uint64_t ttl_s);
/* The same, expiring at exp_s (Unix seconds). */
char *wr_rt_public_token_until(wr_rt *rt, const wr_env *env, const char *scopes, uint64_t exp_s);
/* The environment whose secret key the request carries, or false after answering 401. */
bool wr_rt_env_auth(wr_req *req, wr_rt *rt, wr_env *out);
/* The organization's basin right now (the stamp for a new row; "" and false when none), or
 * false after answering. */
bool wr_rt_org_stamp(wr_req *req, wr_rt *rt, const wr_env *env, char out[49], bool *out_has);

/* --- streams.c: record operations of the routes, over the backend --- */

wr_rt_parts *wr_rt_parts_new(void);
void wr_rt_parts_free(wr_rt_parts *t);
size_t wr_rt_parts_count(const wr_rt_parts *t); /* part ids remembered (Prometheus) */
/*
 * Appends one record with body {"data": data (stolen), "id": part_id (NULL/"" = random)} and
 * answers 200 {"ok":true,"seq":N}. Metered size over 1 MiB → 413. A part id already appended
 * to this stream within 5 minutes (or being appended) is answered with its seq, not rewritten.
 * Part ids are remembered per environment (`env_id`), at most 10,000 each: one environment's
 * flood of ids forgets only its own oldest, never another environment's.
 */
void wr_rt_append_part(wr_rt *rt, wr_req *req, const char *env_id, const char *basin,
                       const char *stream, json_t *data, const char *part_id);
/* Answers 200 {"records":[{data,id,seqNum,headers?}]}: up to 1000 records from from_seq, command
 * records dropped, no waiting; a missing stream has none. */
void wr_rt_list_records(wr_rt *rt, wr_req *req, const char *basin, const char *stream,
                        uint64_t from_seq);
/* Answers 200 {"record":{…}} with the first non-command record at or after from_seq as soon as
 * it is durable, or 408 after timeout_s. */
void wr_rt_wait_record(wr_rt *rt, wr_req *req, const char *basin, const char *stream,
                       uint64_t from_seq, uint64_t timeout_s);
/* An SSE read session from start_seq ending after wait_s idle seconds; with peek_settled, a
 * stream whose newest non-command record has `trigger-control: turn-complete` is served with
 * wait 0 and `X-Session-Settled: true`. */
void wr_rt_serve_sse(wr_rt *rt, wr_req *req, const char *basin, const char *stream,
                     uint64_t start_seq, uint64_t wait_s, bool peek_settled);
/* --- channels.c: helpers the session and run routes share --- */

/* Request bodies of append routes: at most WR_RT_BODY_MAX is read; text over WR_RT_PART_MAX
 * cannot fit a record and is refused with 413 before encoding. */
#define WR_RT_BODY_MAX (8u * 1024u * 1024u)
#define WR_RT_PART_MAX (1024u * 1024u)

/* Answers 202 {"version":"v2"} with the X-S2-* headers for the stream prefix + rel (rel starts
 * with "/") in basin. The secret key gets the environment's write token (mint.h) and the name
 * rel; a public token gets an append-only token for that one stream and its full name. `org` is
 * the caller's organization as this request read it (its version keys the token cache). */
void wr_rt_answer_channel(wr_req *req, wr_rt *rt, const wr_rt_caller *caller, const wr_org *org,
                          const char *basin, const char *prefix, const char *rel);
/* The environment's organization, or false after answering. */
bool wr_rt_env_org(wr_req *req, wr_rt *rt, const wr_env *env, wr_org *out);
/* The optional X-Part-Id header; false after answering 400 (over 256 bytes, not UTF-8). */
bool wr_rt_part_id(wr_req *req, const char **out);
/* The request body as a JSON string: non-empty UTF-8 text; NULL after answering 400/413. */
json_t *wr_rt_text_body(wr_req *req);
/* A session closed: removes the delete-on-empty pins of its channels (side channels too) and
 * revokes their stream write tokens; `done` runs once, with the first failure (logged). */
void wr_rt_release_session(wr_rt *rt, const wr_env *env, const wr_session *s, wr_rt_done_cb done,
                           void *ud);

/* Timeout-Seconds (1–600, default cfg.wait_seconds) and Last-Event-ID (leading digits N →
 * start N+1, else 0); false after answering 400. */
bool wr_rt_sse_params(wr_req *req, wr_rt *rt, uint64_t *out_start, uint64_t *out_wait);

#endif
