/*
 * s2.h — the S2 v1 API (/v1/...) on top of the store: account-level basin routes, basin-level
 * stream and record routes, unary JSON, SSE and s2s sessions, access tokens, the metrics API
 * (the store's usage series) and locations (one configured location).
 *
 * Handlers only decode, call the store and encode; every storage rule lives in src/store/.
 * Threading: loop thread only, like the store.
 */
#ifndef WR_S2_S2_H
#define WR_S2_S2_H

#include "auth/auth.h"
#include "http/router.h"
#include "store/store.h"

typedef struct wr_s2 wr_s2;

/* Creates the API context and registers its routes on `r`. Store and auth must outlive it. */
wr_s2 *wr_s2_new(wr_router *r, wr_store *store, wr_auth *auth, uv_loop_t *loop);
void wr_s2_free(wr_s2 *s2);
/* The location /v1/locations answers and basins accept (default "local"); copied. */
void wr_s2_set_location(wr_s2 *s2, const char *name);
/* Open read sessions (SSE and s2s), and those of them serving the realtime layer. */
size_t wr_s2_sessions(const wr_s2 *s2, size_t *out_realtime);

/*
 * Serves an SSE read session of `stream` in S2's event format (raw record format; `batch`,
 * `ping`, `error` events and a final `data: [DONE]`) on `req`, for the realtime layer: starts at
 * seq `start_seq` (clamped to the tail), follows new records, and ends after `wait_s` seconds
 * without one (0 = as soon as it is caught up). No authorization is done here and the request's
 * Last-Event-ID is not consulted (the caller decides where to start). Headers set on `req`
 * before the call are sent with the response. The stream is held against delete-on-empty while
 * the session lives.
 */
void wr_s2_serve_sse(wr_s2 *s2, wr_req *req, const char *basin, const char *stream,
                     uint64_t start_seq, uint64_t wait_s);
/* start_seq for wr_s2_serve_sse: start at the tail (only records appended from now on). */
#define WR_S2_SSE_AT_TAIL UINT64_MAX

#endif
