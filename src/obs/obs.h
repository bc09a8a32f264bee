/*
 * obs.h — observability: the request log (one line per request) and the Prometheus exposition
 * (GET /metrics, text format 0.0.4).
 *
 * The request log names the route template, never the path or query (they may carry names and
 * tokens), and no header; it prints the request id (wr_req_id) so a client's report can be
 * found. Lines go to stderr (in the logger's format, at level info) or are appended to a file.
 * They are gathered in a buffer and written together once per loop iteration, before the loop
 * waits for I/O (or at once past 64 KiB), so a busy server makes one write(2) for many
 * requests; a crash loses at most the lines of the iteration it happened in.
 *
 * Metrics are read from their owners at scrape time (the store's stats and histograms, the
 * server's connection count, the S2 layer's sessions, the realtime layer's stats, the control
 * plane's commit histogram) plus the HTTP counters kept here. Labels are bounded: route
 * templates (a fixed set, plus "unmatched"), methods, status classes; never a stream, basin,
 * token or tenant.
 *
 * Threading: loop thread only (histograms of other threads are atomics, util/hist.h).
 */
#ifndef WR_OBS_OBS_H
#define WR_OBS_OBS_H

#include <stdint.h>
#include <uv.h>

#include "http/router.h"
#include "util/buf.h"
#include "util/err.h"

struct wr_store;
struct wr_s2;
struct wr_server;
struct wr_meta;
struct wr_rt;
struct wr_hist;

typedef struct wr_obs wr_obs;

/*
 * `access_log`: "off", "stderr" or a file path (opened for appending, created 0640).
 * Errors: INVALID when the file cannot be opened (the message names it).
 */
wr_err wr_obs_new(const char *access_log, wr_obs **out, wr_error *out_err);
void wr_obs_free(wr_obs *o);
/* Starts writing gathered request-log lines once per iteration of `loop` (before it, each line
 * is written as it comes). wr_obs_stop writes what is left and closes the handle: call it
 * before the loop's last run. */
void wr_obs_start(wr_obs *o, uv_loop_t *loop);
void wr_obs_stop(wr_obs *o);

/* What the exposition reads (each may be NULL; pointers must outlive `o` or be reset). */
struct wr_hist;
void wr_obs_sources(wr_obs *o, struct wr_store *store, struct wr_s2 *s2,
                    const struct wr_hist *control_plane_commits, struct wr_rt *rt);
/* Servers whose connections are counted (the API's and the metrics listener's). */
void wr_obs_add_server(wr_obs *o, struct wr_server *srv);

/* wr_http_opts hooks (hooks_ud = the wr_obs). */
void wr_obs_req_begin(void *ud, wr_req *req);
void wr_obs_req_end(void *ud, wr_req *req);

/* Registers GET /metrics on r (no authentication). */
void wr_obs_register(wr_obs *o, wr_router *r);
/* Appends the exposition text. */
void wr_obs_render(wr_obs *o, wr_buf *out);

/* Text-format helpers (exposed for tests): a family header, a sample, a histogram. `labels`
 * is "" or `k="v",…` (values already escaped). */
void wr_prom_family(wr_buf *out, const char *name, const char *type, const char *help);
void wr_prom_sample(wr_buf *out, const char *name, const char *labels, double v);
void wr_prom_hist(wr_buf *out, const char *name, const char *labels, const struct wr_hist *h);

#endif
