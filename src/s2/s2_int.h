/*
 * s2_int.h — what the files of src/s2/ share: the context, request decoding helpers, and the
 * one place that turns store results into S2 error bodies.
 */
#ifndef WR_S2_S2_INT_H
#define WR_S2_S2_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "auth/auth.h"
#include "http/req.h"
#include "s2/s2.h"
#include "store/store.h"
#include "util/buf.h"

struct wr_s2 {
    wr_store *store;
    wr_auth *auth;
    uv_loop_t *loop;
    size_t n_sessions;    /* open SSE / s2s read sessions (shutdown accounting, Prometheus) */
    size_t n_rt_sessions; /* of which served for the realtime layer (wr_s2_serve_sse) */
    char location[WR_LOCATION_MAX + 1]; /* the one location (wr_s2_set_location) */
};

/* `s2-format` of record data in JSON. */
typedef enum wr_s2_format {
    WR_S2_FORMAT_RAW = 0,
    WR_S2_FORMAT_BASE64 = 1,
} wr_s2_format;

/* --- common.c --- */

/* The request's token (Authorization: Bearer …); answers 401 authn itself when there is none. */
const wr_token *wr_s2_authn(wr_req *req, wr_s2 *s2);
/* Whether t may do op on the named resources (NULL = not involved); answers 403 itself. */
bool wr_s2_authz(wr_req *req, const wr_token *t, wr_op op, const char *basin, const char *stream,
                 const char *token_id);
/* The stored name of a stream named in a request: auto-prefix tokens prepend their prefix. */
const char *wr_s2_full_stream(wr_req *req, const wr_token *t, const char *name);
/* The name to show the client for a stored stream name (the prefix stripped for auto-prefix). */
const char *wr_s2_shown_stream(const wr_token *t, const char *stored);
/*
 * For /v1/streams/{stream}… routes: authenticates, resolves the basin and the (prefixed) stream
 * name, and authorizes op on them. Answers the error itself and returns false on failure.
 */
/*
 * Narrows a list query's prefix `q` to the names `scope` can match: the longer of two
 * compatible prefixes, or the exact name. False when no name can match (an empty answer).
 */
bool wr_s2_narrow_prefix(wr_req *req, const wr_rset *scope, const char *q, const char **out);
/* Pages a list may scan to fill one answer with in-scope items. */
#define WR_S2_LIST_MAX_SCANS 64
/* Command records need their own ops (`fence`, `trim`) on top of `append`. Sets a 403 in
 * out_err and returns false when the token lacks one. */
bool wr_s2_commands_allowed(const wr_token *t, const wr_append_input *in, const char *basin,
                            const char *stream, wr_error *out_err);
bool wr_s2_stream_target(wr_req *req, wr_s2 *s2, wr_op op, const wr_token **out_tok,
                         const char **out_basin, const char **out_stream);

/*
 * The basin of a basin-scoped request: the `s2-basin` header, else the first label of a Host of
 * the form `{basin}.b.{zone}`. On failure answers 400 bad_header and returns NULL.
 */
const char *wr_s2_basin(wr_req *req);
/* Reads `s2-format`; on an unknown value answers 400 bad_header and returns false. */
bool wr_s2_read_format(wr_req *req, wr_s2_format *out);
/* Answers the error as {"code","message"} with its table status. */
void wr_s2_fail(wr_req *req, const wr_error *err);
/*
 * A request waiting for the store (a change on its way through the commit thread). The client
 * may go away meanwhile: wr_s2_waiting_new(req, size) allocates a context of `size` bytes whose
 * first member is a wr_s2_waiting and detaches it from the request when that closes;
 * wr_s2_waiting_req gives the request to answer, or NULL when the client is gone. The callback
 * frees the context.
 */
typedef struct wr_s2_waiting {
    wr_req *req;
} wr_s2_waiting;
void *wr_s2_waiting_new(wr_req *req, size_t size);
wr_req *wr_s2_waiting_req(wr_s2_waiting *w);
/* Answers a waiting request (w from wr_s2_waiting_new, freed here): `status` with `body`
 * (NULL: none; taken) when e is WR_OK, else the error. */
void wr_s2_waiting_answer(wr_s2_waiting *w, wr_err e, const wr_error *detail, int status,
                          json_t *body);
/* A store callback (wr_store_done_cb) answering a waiting request 202 once the change is done. */
void wr_s2_waiting_202(void *w, wr_err e, const wr_error *detail);
/* 412 bodies and the rest of append errors. */
void wr_s2_fail_append(wr_req *req, const wr_append_result *res);
/* `status` {"tail":{…}}: a tail check's answer (200), or a read past the tail (416). */
void wr_s2_send_tail(wr_req *req, int status, wr_pos tail);
/* 416 {"tail":{…}}. */
void wr_s2_fail_416(wr_req *req, wr_pos tail);
/*
 * Parses a JSON request body. An empty body yields *out = NULL and WR_OK when `allow_empty`.
 * Errors (400 bad_json): missing or non-JSON content type (with a body), syntax errors, a
 * non-object top level.
 */
wr_err wr_s2_parse_body(wr_req *req, bool allow_empty, json_t **out, wr_error *out_err);
/* Sets `s2-provision-result`. */
void wr_s2_provision_header(wr_req *req, wr_provision p);
/* Appends {"seq_num":N,"timestamp":T} (u64-exact). */
void wr_s2_pos_append(wr_buf *out, wr_pos p);
/* The JSON body of a failed append (412 bodies or ErrorInfo); returns the HTTP status. */
int wr_s2_append_error_json(const wr_append_result *res, wr_buf *out);
/* Appends an ErrorInfo body, {"code":…,"message":…}, for `code`; the message (NULL or "" = the
 * code) is written lossily if it is not valid UTF-8, so this never fails. */
void wr_s2_error_json(wr_buf *out, wr_err code, const char *msg);
/* RFC 3339 string or JSON null. */
json_t *wr_s2_time_json(bool set, uint64_t ms);

/* Parses ?prefix=&start_after=&limit= of list routes; answers 400 bad_query itself on failure. */
bool wr_s2_list_params(wr_req *req, const char **prefix, const char **start_after, size_t *limit);
/* The optional `s2-request-token` header; answers 400 bad_header itself when too long. */
bool wr_s2_request_token(wr_req *req, const char **out);

/* The {stream} path parameter (params[0]), validated; answers 400 bad_path itself. */
const char *wr_s2_path_stream(wr_req *req);

/* --- codec.c: client JSON → store structs (400 bad_json on shape errors, 422 invalid on
 * semantic ones such as a zero retention age) --- */

wr_err wr_s2_stream_config_from_json(const json_t *j, wr_stream_config *out, wr_error *out_err);
wr_err wr_s2_basin_config_from_json(const json_t *j, wr_basin_config *out, wr_error *out_err);
wr_err wr_s2_stream_patch_from_json(const json_t *j, wr_stream_config_patch *out,
                                    wr_error *out_err);
wr_err wr_s2_basin_patch_from_json(const json_t *j, wr_basin_config_patch *out, wr_error *out_err);

/*
 * Storage a caller may lend the fast JSON decoder (wr_s2_append_from_json_fast): a unary append
 * of a few records and a small body then needs no allocation of its own. It must outlive the
 * wr_s2_append that uses it.
 */
typedef struct wr_s2_append_room {
    wr_append_record records[4];
    char bytes[512];
} wr_s2_append_room;

/* A decoded JSON AppendInput; record bytes live in `arena`-like storage owned by it. */
typedef struct wr_s2_append {
    wr_append_input in;
    wr_append_record *records; /* heap, or the lent room's */
    wr_header *headers;
    wr_buf bytes; /* decoded names/values/bodies (base64) */
    char *fencing_token;
    void *owned; /* e.g. an unpacked protobuf message the records point into */
    void (*owned_free)(void *owned);
    wr_s2_append_room *room; /* lent storage (or NULL), never freed here */
} wr_s2_append;

/*
 * Decodes an AppendInput body. With base64 format the bytes are decoded (422 invalid on bad
 * base64). The result borrows from `j` for raw strings, so `j` must outlive it.
 */
wr_err wr_s2_append_from_json(const json_t *j, wr_s2_format fmt, wr_s2_append *out,
                              wr_error *out_err);
void wr_s2_append_fini(wr_s2_append *a);
/*
 * append_json.c: decodes a JSON append body of the common shape (its header lists the subset)
 * straight from the bytes, into `out` with the same result as wr_s2_append_from_json would give
 * (values copied, nothing borrowed). Returns false, with `out` empty, for any body outside the
 * subset, valid or not: the caller then takes the general path, which owns the errors. `room`
 * (may be NULL) is used for the records and bytes when they fit in it.
 */
bool wr_s2_append_from_json_fast(const char *p, size_t len, wr_s2_format fmt,
                                 wr_s2_append_room *room, wr_s2_append *out);
/*
 * The append body of a JSON request: the fast decoder when it applies, else wr_s2_parse_body
 * and wr_s2_append_from_json (*out_j is then the tree `out` borrows from; json_decref it after
 * wr_s2_append_fini). Errors as those two give them. `room` as for the fast decoder.
 */
wr_err wr_s2_append_parse_json(wr_req *req, wr_s2_format fmt, json_t **out_j,
                               wr_s2_append_room *room, wr_s2_append *out, wr_error *out_err);

/* --- records output (codec.c) --- */

/* Appends `n` records as JSON objects separated by commas (no brackets). */
void wr_s2_records_json(wr_buf *out, const wr_record *recs, size_t n, wr_s2_format fmt);
/*
 * The JSON encoding of a whole batch's records (comma-separated objects), cached in the batch
 * so every reader of the same batch shares one encoding. Borrowed: valid while the batch is.
 */
const wr_buf *wr_s2_batch_json(wr_batch *b, wr_s2_format fmt);

/* --- read params (records.c) --- */

typedef struct wr_s2_read_params {
    wr_read_req req;
    bool has_start;
    bool has_wait;
    uint64_t wait_secs;
    bool ignore_last_event_id; /* the caller chose the start (wr_s2_serve_sse) */
} wr_s2_read_params;

/* Parses the read query. 400 bad_query for malformed values; 422 invalid for several start
 * parameters or timestamp >= until. */
wr_err wr_s2_read_params_parse(wr_req *req, wr_s2_read_params *out, wr_error *out_err);

/* --- metrics.c: the metrics API and locations --- */

typedef enum wr_s2_metrics_level {
    WR_S2_METRICS_ACCOUNT,
    WR_S2_METRICS_BASIN,
    WR_S2_METRICS_STREAM,
} wr_s2_metrics_level;

typedef enum wr_s2_set {
    WR_S2_SET_ACTIVE_BASINS,
    WR_S2_SET_ACCOUNT_OPS,
    WR_S2_SET_STORAGE, /* first basin set; the only stream set */
    WR_S2_SET_APPEND_OPS,
    WR_S2_SET_READ_OPS,
    WR_S2_SET_READ_THROUGHPUT,
    WR_S2_SET_APPEND_THROUGHPUT,
    WR_S2_SET_BASIN_OPS,
    WR_S2_SET__COUNT
} wr_s2_set;

/* How far `end` may lie in the future (clock differences), and the longest range. */
#define WR_S2_METRICS_FUTURE_LEEWAY_S 300
#define WR_S2_METRICS_MAX_RANGE_S (30u * 86400u)

typedef struct wr_s2_metrics_params {
    wr_s2_set set;
    uint64_t start_s, end_s;
    wr_usage_interval interval; /* hour when not given */
    bool interval_given;
} wr_s2_metrics_params;

/*
 * Parses and validates ?set=&start=&end=&interval= for a metrics level at time now_s.
 * 400 bad_query: malformed percent-encoding, `set` missing or not a set of this level, `start`
 * or `end` not Unix seconds, an unknown `interval`. 422 invalid (as S2): `start` or `end`
 * missing, start after end, end more than WR_S2_METRICS_FUTURE_LEEWAY_S in the future, a range
 * over 30 days, interval=minute for `storage`.
 */
wr_err wr_s2_metrics_params_parse(wr_req *req, wr_s2_metrics_level level, uint64_t now_s,
                                  wr_s2_metrics_params *out, wr_error *out_err);
/* The MetricSetResponse of a usage result; `t` (may be NULL) filters active-basins by scope. */
json_t *wr_s2_metrics_json(wr_s2_set set, wr_usage_interval iv, const wr_usage_result *r,
                           const wr_token *t);
/* Whether `name` is the configured location. */
bool wr_s2_location_known(const wr_s2 *s2, const char *name);

/* --- route handlers --- */

void wr_s2_basins_register(wr_s2 *s2, wr_router *r);
void wr_s2_streams_register(wr_s2 *s2, wr_router *r);
void wr_s2_records_register(wr_s2 *s2, wr_router *r);
void wr_s2_tokens_register(wr_s2 *s2, wr_router *r);
void wr_s2_metrics_register(wr_s2 *s2, wr_router *r);
/* A read session (session.c): SSE, or s2s framing when `s2s`. */
void wr_s2_read_session(wr_s2 *s2, wr_req *req, const char *basin, const char *stream,
                        const wr_s2_read_params *p, wr_s2_format fmt, bool s2s);
/* An s2s append session (append_session.c). */
void wr_s2_append_session(wr_s2 *s2, wr_req *req, const wr_token *t, const char *basin,
                          const char *stream);

#endif
