/*
 * obs.c — the request log and the Prometheus exposition (see obs.h).
 *
 * HTTP counters are kept per route (a small table keyed by the wr_route pointer, one row per
 * registered route that has been hit plus one for unrouted requests, so its size is bounded by
 * the router) and per status class; each row has a latency histogram. In-flight counts requests
 * that began and have not ended.
 */
#include "obs/obs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/server.h"
#include "realtime/rt.h"
#include "s2/s2.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/hist.h"
#include "util/log.h"
#include "util/mem.h"

#define MAX_SERVERS 4

typedef struct route_row {
    const wr_route *route; /* NULL: unrouted (404, 405, framing errors) */
    uint64_t by_class[6];  /* index status / 100 (0 = never answered) */
    wr_hist latency;
} route_row;

/* Request-log lines wait in a buffer and are written together: before the loop next waits
 * for I/O (a uv_prepare), or at once when this much has gathered. */
#define LOG_FLUSH_BYTES (64 * 1024)

struct wr_obs {
    enum { LOG_OFF, LOG_STDERR, LOG_FILE } log;
    int fd;         /* the file, or 2 for stderr */
    wr_buf pending; /* request-log lines not yet written */
    uv_prepare_t flusher;
    bool flusher_on;
    route_row *rows;
    size_t n_rows;
    uint64_t in_flight;
    uint64_t start_ms;
    struct wr_store *store;
    struct wr_s2 *s2;
    const struct wr_hist *cp_commits; /* the control-plane writer's group commits */
    struct wr_rt *rt;
    struct wr_server *servers[MAX_SERVERS];
    size_t n_servers;
};

wr_err
wr_obs_new(const char *access_log, wr_obs **out, wr_error *out_err)
{
    wr_obs *o = wr_xcalloc(1, sizeof(*o));
    o->fd = -1;
    wr_buf_init(&o->pending);
    o->start_ms = wr_clock_now_ms();
    if (!access_log || strcmp(access_log, "off") == 0) {
        o->log = LOG_OFF;
    } else if (strcmp(access_log, "stderr") == 0) {
        o->log = LOG_STDERR;
        o->fd = STDERR_FILENO;
    } else {
        o->fd = open(access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (o->fd < 0) {
            free(o);
            *out = NULL;
            return wr_error_set(out_err, WR_ERR_INVALID, "--access-log %s: cannot open it",
                                access_log);
        }
        o->log = LOG_FILE;
    }
    *out = o;
    return WR_OK;
}

/* Writes the gathered request-log lines, if any (a short or failed write drops the rest: the log
 * never holds up requests, and a full disk must not grow the buffer without bound). */
static void
log_flush(wr_obs *o)
{
    size_t off = 0;
    while (off < o->pending.len) {
        ssize_t w = write(o->fd, o->pending.data + off, o->pending.len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    wr_buf_reset(&o->pending);
}

static void
on_prepare(uv_prepare_t *h)
{
    log_flush(h->data);
}

void
wr_obs_start(wr_obs *o, uv_loop_t *loop)
{
    if (o->log == LOG_OFF || o->flusher_on)
        return;
    uv_prepare_init(loop, &o->flusher);
    o->flusher.data = o;
    uv_prepare_start(&o->flusher, on_prepare);
    uv_unref((uv_handle_t *)&o->flusher); /* never keeps the loop alive */
    o->flusher_on = true;
}

void
wr_obs_stop(wr_obs *o)
{
    if (!o)
        return;
    log_flush(o);
    if (o->flusher_on && !uv_is_closing((uv_handle_t *)&o->flusher))
        uv_close((uv_handle_t *)&o->flusher, NULL);
}

void
wr_obs_free(wr_obs *o)
{
    if (!o)
        return;
    log_flush(o);
    wr_buf_fini(&o->pending);
    if (o->fd > STDERR_FILENO)
        close(o->fd);
    free(o->rows);
    free(o);
}

void
wr_obs_sources(wr_obs *o, struct wr_store *store, struct wr_s2 *s2,
               const struct wr_hist *control_plane_commits, struct wr_rt *rt)
{
    o->store = store;
    o->s2 = s2;
    o->cp_commits = control_plane_commits;
    o->rt = rt;
}

void
wr_obs_add_server(wr_obs *o, struct wr_server *srv)
{
    if (o->n_servers < MAX_SERVERS)
        o->servers[o->n_servers++] = srv;
}

/* ---------------------------------------------------------------------------------------- */
/* Requests                                                                                   */

static route_row *
row_of(wr_obs *o, const wr_route *rt)
{
    for (size_t i = 0; i < o->n_rows; i++)
        if (o->rows[i].route == rt)
            return &o->rows[i];
    o->rows = wr_xrealloc(o->rows, (o->n_rows + 1) * sizeof(*o->rows));
    route_row *r = &o->rows[o->n_rows++];
    memset(r, 0, sizeof(*r));
    r->route = rt;
    wr_hist_init(&r->latency, wr_hist_latency_ns, wr_hist_latency_n, 1e-9);
    return r;
}

void
wr_obs_req_begin(void *ud, wr_req *req)
{
    (void)req;
    wr_obs *o = ud;
    o->in_flight++;
}

static void
log_line(wr_obs *o, wr_req *req, uint64_t dur_ns)
{
    if (o->log == LOG_STDERR && wr_log_get_level() > WR_LOG_INFO)
        return;
    const char *route = req->route ? req->route->tmpl : "unmatched";
    const char *method = req->method_name ? req->method_name : "-";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    /* The same line the logger writes; the template and method are ours or a parsed method
     * token: no quoting hazards. */
    wr_buf_printf(&o->pending,
                  "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=info msg=\"request\" id=%s "
                  "method=%s route=\"%s\" status=%d bytes=%llu duration_ms=%.3f\n",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  ts.tv_nsec / 1000000, wr_req_id(req), method, route, req->status,
                  (unsigned long long)req->resp_bytes, (double)dur_ns / 1e6);
    if (o->pending.len >= LOG_FLUSH_BYTES || !o->flusher_on)
        log_flush(o);
}

void
wr_obs_req_end(void *ud, wr_req *req)
{
    wr_obs *o = ud;
    if (req->began && o->in_flight)
        o->in_flight--;
    uint64_t dur = wr_clock_mono_ns() - req->start_ns;
    route_row *r = row_of(o, req->route);
    int cls = req->status / 100;
    r->by_class[cls >= 1 && cls <= 5 ? cls : 0]++;
    wr_hist_observe(&r->latency, dur);
    if (o->log != LOG_OFF)
        log_line(o, req, dur);
}

/* ---------------------------------------------------------------------------------------- */
/* Text format                                                                                */

void
wr_prom_family(wr_buf *out, const char *name, const char *type, const char *help)
{
    wr_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
wr_prom_sample(wr_buf *out, const char *name, const char *labels, double v)
{
    if (labels && *labels)
        wr_buf_printf(out, "%s{%s} %.17g\n", name, labels, v);
    else
        wr_buf_printf(out, "%s %.17g\n", name, v);
}

void
wr_prom_hist(wr_buf *out, const char *name, const char *labels, const struct wr_hist *h)
{
    uint64_t cum = 0;
    const char *sep = labels && *labels ? "," : "";
    for (size_t i = 0; i <= h->n_bounds; i++) {
        cum += atomic_load_explicit(&((struct wr_hist *)h)->counts[i], memory_order_relaxed);
        if (i < h->n_bounds)
            wr_buf_printf(out, "%s_bucket{%s%sle=\"%.9g\"} %llu\n", name, labels ? labels : "", sep,
                          (double)h->bounds[i] * h->scale, (unsigned long long)cum);
        else
            wr_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels ? labels : "", sep,
                          (unsigned long long)cum);
    }
    double sum =
        (double)atomic_load_explicit(&((struct wr_hist *)h)->sum, memory_order_relaxed) * h->scale;
    char lb[300];
    snprintf(lb, sizeof(lb), "%s", labels ? labels : "");
    wr_buf_printf(out, "%s_sum%s%s%s %.17g\n", name, *lb ? "{" : "", lb, *lb ? "}" : "", sum);
    wr_buf_printf(out, "%s_count%s%s%s %llu\n", name, *lb ? "{" : "", lb, *lb ? "}" : "",
                  (unsigned long long)cum);
}

/* ---------------------------------------------------------------------------------------- */
/* Collectors                                                                                 */

static void
gauge(wr_buf *out, const char *name, const char *help, double v)
{
    wr_prom_family(out, name, "gauge", help);
    wr_prom_sample(out, name, "", v);
}

static void
counter(wr_buf *out, const char *name, const char *help, double v)
{
    wr_prom_family(out, name, "counter", help);
    wr_prom_sample(out, name, "", v);
}

static void
process_metrics(wr_obs *o, wr_buf *out)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        char line[128];
        char *end = NULL;
        if (fgets(line, sizeof(line), f)) {
            size = strtoull(line, &end, 10);
            rss = end && *end == ' ' ? strtoull(end + 1, NULL, 10) : 0;
        }
        fclose(f);
    }
    gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
          (double)rss * (double)page);
    gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
          (double)size * (double)page);
    size_t fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        for (struct dirent *e; (e = readdir(d));)
            fds += e->d_name[0] != '.';
        closedir(d);
        fds--; /* the directory's own descriptor */
    }
    gauge(out, "process_open_fds", "Number of open file descriptors.", (double)fds);
    gauge(out, "process_start_time_seconds", "Start time of the process since the Unix epoch.",
          (double)o->start_ms / 1000.0);
    gauge(out, "weir_uptime_seconds", "Seconds since the server started.",
          (double)(wr_clock_now_ms() - o->start_ms) / 1000.0);
}

static void
http_metrics(wr_obs *o, wr_buf *out)
{
    static const char *const cls[6] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    wr_prom_family(out, "weir_http_requests_total", "counter",
                   "HTTP requests finished, by route template, method and status class.");
    char lb[300];
    for (size_t i = 0; i < o->n_rows; i++) {
        const route_row *r = &o->rows[i];
        for (int c = 0; c < 6; c++) {
            if (!r->by_class[c])
                continue;
            snprintf(lb, sizeof(lb), "route=\"%s\",method=\"%s\",code=\"%s\"",
                     r->route ? r->route->tmpl : "unmatched",
                     r->route ? wr_method_name(r->route->method) : "any", cls[c]);
            wr_prom_sample(out, "weir_http_requests_total", lb, (double)r->by_class[c]);
        }
    }
    wr_prom_family(out, "weir_http_request_duration_seconds", "histogram",
                   "Time from a request's first byte to the end of its answer, by route.");
    for (size_t i = 0; i < o->n_rows; i++) {
        const route_row *r = &o->rows[i];
        snprintf(lb, sizeof(lb), "route=\"%s\",method=\"%s\"",
                 r->route ? r->route->tmpl : "unmatched",
                 r->route ? wr_method_name(r->route->method) : "any");
        wr_prom_hist(out, "weir_http_request_duration_seconds", lb, &r->latency);
    }
    gauge(out, "weir_http_requests_in_flight", "Requests begun and not yet finished.",
          (double)o->in_flight);
    size_t conns = 0;
    for (size_t i = 0; i < o->n_servers; i++)
        conns += wr_server_connection_count(o->servers[i]);
    gauge(out, "weir_http_connections", "Open client connections.", (double)conns);
}

/* Counters and gauges read from one uint64_t field of wr_store_stats each (ROW refuses to
 * compile for a field of another type). */
typedef struct stat_row {
    const char *name, *type, *help;
    size_t off;
} stat_row;

#define ROW(name, type, field, help)                                                               \
    {                                                                                              \
        (name), (type), (help),                                                                    \
            _Generic(((wr_store_stats *)0)->field, uint64_t                                        \
                     : offsetof(wr_store_stats, field))                                            \
    }

static const stat_row store_rows[] = {
    ROW("weir_store_appended_records_total", "counter", appended_records,
        "Records acknowledged (durable)."),
    ROW("weir_store_appended_bytes_total", "counter", appended_bytes,
        "Metered bytes acknowledged (durable)."),
    ROW("weir_store_appends_total", "counter", appends, "Appends (batches) acknowledged."),
    ROW("weir_store_read_records_total", "counter", read_records, "Records delivered to readers."),
    ROW("weir_store_read_bytes_total", "counter", read_bytes,
        "Metered bytes delivered to readers."),
    ROW("weir_store_group_commits_total", "counter", commits, "Synced group-commit writes."),
    ROW("weir_store_loop_commits_total", "counter", loop_commits,
        "Group commits the event loop wrote itself (--commit-mode loop)."),
    ROW("weir_store_inflight_bytes", "gauge", inflight_bytes, "Append bytes awaiting durability."),
    ROW("weir_store_waiting_appends", "gauge", waiting_appends,
        "Appends waiting for in-flight budget."),
    ROW("weir_store_cache_bytes", "gauge", cache_bytes, "Bytes in the recent-batch cache."),
    ROW("weir_store_cached_streams", "gauge", cached_streams, "Stream states in the stream cache."),
    ROW("weir_store_evicted_streams_total", "counter", evicted_streams,
        "Idle stream states dropped from the cache."),
    ROW("weir_store_followers", "gauge", followers,
        "Live follow subscriptions (read sessions at the tail)."),
    ROW("weir_store_maintenance_passes_total", "counter", maint_passes,
        "Maintenance passes completed."),
    ROW("weir_store_streams_deleted_total", "counter", streams_deleted,
        "Stream deletions finished."),
    ROW("weir_store_pending_deletions", "gauge", pending_deletions,
        "Basins being deleted plus streams found deleted and not yet removed."),
};

static const stat_row usage_rows[] = {
    ROW("weir_usage_flushes_total", "counter", usage_flushes, "Usage flushes written."),
    ROW("weir_usage_flush_errors_total", "counter", usage_flush_errors,
        "Usage flushes that failed (counts lost)."),
    ROW("weir_usage_samples_total", "counter", usage_samples, "Storage samples taken."),
    ROW("weir_usage_pending_entries", "gauge", usage_pending_entries,
        "Usage entries in memory, not yet flushed."),
    ROW("weir_usage_unattributed_total", "counter", usage_unattributed,
        "Counts added to a basin's unattributed entry because the table was full."),
};
#undef ROW

static void
stat_rows(wr_buf *out, const stat_row *rows, size_t n, const wr_store_stats *st)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (const char *)st + rows[i].off, sizeof(v));
        wr_prom_family(out, rows[i].name, rows[i].type, rows[i].help);
        wr_prom_sample(out, rows[i].name, "", (double)v);
    }
}

static void
store_metrics(wr_obs *o, wr_buf *out)
{
    if (!o->store)
        return;
    wr_store_stats st;
    wr_store_get_stats(o->store, &st);
    stat_rows(out, store_rows, sizeof(store_rows) / sizeof(store_rows[0]), &st);
    gauge(out, "weir_store_failed", "1 once a synced write failed (writes are refused).",
          wr_store_failed(o->store) ? 1 : 0);
    stat_rows(out, usage_rows, sizeof(usage_rows) / sizeof(usage_rows[0]), &st);
    wr_store_hists h;
    wr_store_get_hists(o->store, &h);
    wr_prom_family(out, "weir_store_group_commit_appends", "histogram",
                   "Appends written per group commit.");
    wr_prom_hist(out, "weir_store_group_commit_appends", "", h.group_commit_appends);
    wr_prom_family(out, "weir_store_fsync_seconds", "histogram",
                   "Duration of one synced group-commit write (write and fsync).");
    wr_prom_hist(out, "weir_store_fsync_seconds", "", h.commit_seconds);
}

static void
other_metrics(wr_obs *o, wr_buf *out)
{
    if (o->cp_commits) {
        wr_prom_family(out, "weir_control_plane_commit_seconds", "histogram",
                       "Duration of each control-plane commit (a group of changes).");
        wr_prom_hist(out, "weir_control_plane_commit_seconds", "", o->cp_commits);
    }
    size_t rt_sessions = 0, sessions = o->s2 ? wr_s2_sessions(o->s2, &rt_sessions) : 0;
    gauge(out, "weir_s2_read_sessions", "Open S2 read sessions (SSE and s2s).", (double)sessions);
    gauge(out, "weir_realtime_sse_clients", "Open realtime SSE streams.", (double)rt_sessions);
    wr_rt_stats rs;
    wr_rt_get_stats(o->rt, &rs);
    counter(out, "weir_realtime_minted_tokens_total", "Scoped write tokens minted.",
            (double)rs.minted_tokens);
    gauge(out, "weir_realtime_part_ids", "Part ids remembered for idempotent appends.",
          (double)rs.part_ids);
    counter(out, "weir_realtime_prefetched_reads_total",
            "Control-plane lookups answered by the reader threads before the handler ran "
            "(PostgreSQL control plane): environment, organization, session.",
            (double)rs.prefetched_reads);
}

void
wr_obs_render(wr_obs *o, wr_buf *out)
{
    process_metrics(o, out);
    http_metrics(o, out);
    store_metrics(o, out);
    other_metrics(o, out);
}

static void
serve_metrics(wr_req *req, void *ctx)
{
    wr_buf out;
    wr_buf_init(&out);
    wr_obs_render(ctx, &out);
    wr_resp_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    wr_buf_fini(&out);
}

void
wr_obs_register(wr_obs *o, wr_router *r)
{
    wr_router_add(r, WR_METHOD_GET, "/metrics", serve_metrics, o, 0);
}
