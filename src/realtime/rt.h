/*
 * rt.h — the realtime layer: tenants (organizations, projects, environments), per-organization
 * basins and their provisioning, runs and sessions (realtime.md). Routes live under
 * /admin/api/v1 (root token) and /api/v1 (an environment's secret key).
 *
 * The layer talks to streams only through the stream backend (backend.h): the embedded store, or
 * a remote S2 endpoint. Threading: loop thread only.
 */
#ifndef WR_REALTIME_RT_H
#define WR_REALTIME_RT_H

#include "auth/auth.h"
#include "auth/keybox.h"
#include "realtime/backend.h"
#include "http/router.h"
#include "meta/meta.h"
#include "realtime/rtconfig.h"
#include "s2/s2.h"
#include "store/store.h"

typedef struct wr_rt wr_rt;

/* Registers the routes; every pointer must outlive the layer. `backend` holds the streams;
 * `auth` verifies the admin API's root token.
 * Starts a timer (unref'd) that collects expired minted write tokens. `keybox` seals and opens
 * environment API keys (keybox.h). */
wr_rt *wr_rt_new(wr_router *r, const wr_rt_config *cfg, wr_meta *meta, wr_rt_backend *backend,
                 wr_auth *auth, wr_keybox *keybox, uv_loop_t *loop);
/* Control-plane changes go through `w` from now on (meta/writer.h), off the loop thread; without
 * one they are made on `meta` by the loop thread. `w` must outlive the layer's requests. */
struct wr_meta_writer;
void wr_rt_set_writer(wr_rt *rt, struct wr_meta_writer *w);
/* A request's first reads (its environment, organization, session) go through `r`'s reader
 * threads before its handler runs (wr_meta_readers_start; for a control plane whose reads are
 * round trips: PostgreSQL). `r` must outlive the layer's requests. */
void wr_rt_set_readers(wr_rt *rt, struct wr_meta_writer *r);
/* Closes the layer's handles; run the loop once more before wr_rt_free. NULL is a no-op. */
void wr_rt_stop(wr_rt *rt);
void wr_rt_free(wr_rt *rt);

/* For Prometheus (obs/): tokens minted since start, part ids remembered now. NULL rt: zeros. */
typedef struct wr_rt_stats {
    uint64_t minted_tokens;
    uint64_t part_ids;
    uint64_t prefetched_reads; /* lookups answered by the reader threads' prefetch */
} wr_rt_stats;
void wr_rt_get_stats(const wr_rt *rt, wr_rt_stats *out);

/* Outcome of provisioning calls (realtime.md §3). */
typedef struct wr_rt_result {
    const char *kind;   /* "provisioned" | "reconfigured" | "deprovisioned" | "skipped" */
    const char *reason; /* for "skipped": "feature-disabled" | "org-not-found" | "no-basin" */
    char basin[49];
    uint64_t retention_s;
} wr_rt_result;

/* The outcome of ensure/deprovision: the result (err == WR_OK) or the error. */
typedef void (*wr_rt_result_cb)(void *ud, wr_err err, const wr_error *detail,
                                const wr_rt_result *res);

/*
 * ensure(org, retention): see realtime.md §3. retention_s 0 = the configured default.
 * apply_to_existing also reconfigures the organization's existing streams. Answers through cb
 * (exactly once, possibly before it returns). Errors: STORAGE (control plane) or the backend's;
 * the result says what happened otherwise.
 */
void wr_rt_ensure(wr_rt *rt, const char *org_id, uint64_t retention_s, bool apply_to_existing,
                  wr_rt_result_cb cb, void *ud);
void wr_rt_deprovision(wr_rt *rt, const char *org_id, wr_rt_result_cb cb, void *ud);

#endif
