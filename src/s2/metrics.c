/*
 * metrics.c — the S2 metrics API (GET /v1/metrics, /v1/metrics/{basin},
 * /v1/metrics/{basin}/{stream}) over the store's usage series, and the locations API
 * (/v1/locations, /v1/locations/default) answering the one configured location.
 *
 * Handlers decode and validate the query (wr_s2_metrics_params_parse, table-tested), authorize
 * the metrics op, hand a wr_usage_query to the store (worker pool) and encode its answer. A
 * client that goes away while the query runs only detaches: the store's callback always comes
 * and frees what the request left.
 *
 * Metric names are weir's (docs/api.md): storage is the gauge "storage" (metered bytes of the
 * records on disk); appends are split by storage class ("express", "standard"); reads by kind
 * ("unary", "streaming"); "read-throughput"; ops sets have one accumulation per operation name
 * with a non-zero count. Accumulations list only buckets with a non-zero value; gauges list every
 * bucket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2/s2_int.h"
#include "util/clock.h"
#include "util/mem.h"

static const char *const set_names[WR_S2_SET__COUNT] = {
    [WR_S2_SET_ACTIVE_BASINS] = "active-basins",
    [WR_S2_SET_ACCOUNT_OPS] = "account-ops",
    [WR_S2_SET_STORAGE] = "storage",
    [WR_S2_SET_APPEND_OPS] = "append-ops",
    [WR_S2_SET_READ_OPS] = "read-ops",
    [WR_S2_SET_READ_THROUGHPUT] = "read-throughput",
    [WR_S2_SET_APPEND_THROUGHPUT] = "append-throughput",
    [WR_S2_SET_BASIN_OPS] = "basin-ops",
};

static bool
set_allowed(wr_s2_metrics_level level, wr_s2_set set)
{
    switch (level) {
    case WR_S2_METRICS_ACCOUNT:
        return set == WR_S2_SET_ACTIVE_BASINS || set == WR_S2_SET_ACCOUNT_OPS;
    case WR_S2_METRICS_BASIN:
        return set >= WR_S2_SET_STORAGE;
    case WR_S2_METRICS_STREAM:
        return set == WR_S2_SET_STORAGE;
    }
    return false;
}

/* Unix seconds: digits only, no sign, at most 12 digits (year 33658). */
static bool
parse_secs(const char *v, uint64_t *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 12)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return true;
}

wr_err
wr_s2_metrics_params_parse(wr_req *req, wr_s2_metrics_level level, uint64_t now_s,
                           wr_s2_metrics_params *out, wr_error *out_err)
{
    const char *set = NULL, *start = NULL, *end = NULL, *interval = NULL;
    memset(out, 0, sizeof(*out));
    if (wr_req_query(req, "set", &set) < 0 || wr_req_query(req, "start", &start) < 0 ||
        wr_req_query(req, "end", &end) < 0 || wr_req_query(req, "interval", &interval) < 0)
        return wr_error_set(out_err, WR_ERR_BAD_QUERY, "malformed percent-encoding in query");
    if (!set)
        return wr_error_set(out_err, WR_ERR_BAD_QUERY, "missing `set`");
    out->set = WR_S2_SET__COUNT;
    for (int i = 0; i < WR_S2_SET__COUNT; i++)
        if (strcmp(set, set_names[i]) == 0)
            out->set = (wr_s2_set)i;
    if (out->set == WR_S2_SET__COUNT || !set_allowed(level, out->set))
        return wr_error_set(out_err, WR_ERR_BAD_QUERY, "unknown `set` for this level: %.40s", set);
    if (start && !parse_secs(start, &out->start_s))
        return wr_error_set(out_err, WR_ERR_BAD_QUERY,
                            "invalid `start`: expected Unix seconds (a non-negative integer)");
    if (end && !parse_secs(end, &out->end_s))
        return wr_error_set(out_err, WR_ERR_BAD_QUERY,
                            "invalid `end`: expected Unix seconds (a non-negative integer)");
    bool storage = out->set == WR_S2_SET_STORAGE;
    out->interval = WR_USAGE_HOUR;
    out->interval_given = interval != NULL;
    if (interval) {
        if (strcmp(interval, "minute") == 0)
            out->interval = WR_USAGE_MINUTE;
        else if (strcmp(interval, "hour") == 0)
            out->interval = WR_USAGE_HOUR;
        else if (strcmp(interval, "day") == 0)
            out->interval = WR_USAGE_DAY;
        else
            return wr_error_set(out_err, WR_ERR_BAD_QUERY,
                                "invalid `interval`: expected minute, hour or day");
    }
    if (!start || !end)
        return wr_error_set(out_err, WR_ERR_INVALID, "`start` and `end` are required");
    if (out->start_s > out->end_s)
        return wr_error_set(out_err, WR_ERR_INVALID, "`start` is after `end`");
    if (out->end_s > now_s + WR_S2_METRICS_FUTURE_LEEWAY_S)
        return wr_error_set(out_err, WR_ERR_INVALID, "`end` is in the future");
    if (out->end_s - out->start_s > WR_S2_METRICS_MAX_RANGE_S)
        return wr_error_set(out_err, WR_ERR_INVALID, "the range is longer than 30 days");
    if (storage && out->interval == WR_USAGE_MINUTE)
        return wr_error_set(
            out_err, WR_ERR_INVALID,
            "`interval=minute` is not available for `storage` (hour is its finest)");
    return WR_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding                                                                                   */

static const char *
interval_name(wr_usage_interval iv)
{
    return iv == WR_USAGE_MINUTE ? "minute" : iv == WR_USAGE_HOUR ? "hour" : "day";
}

/* An accumulation of `n` counters summed per bucket (buckets with 0 omitted). */
static json_t *
accumulation(const wr_usage_result *r, const char *name, const char *unit, wr_usage_interval iv,
             const int *counters, size_t n, int op)
{
    json_t *vals = json_array();
    for (size_t i = 0; i < r->n_buckets; i++) {
        const wr_usage_bucket *b = &r->buckets[i];
        uint64_t v = 0;
        if (op >= 0)
            v = b->ops[op];
        for (size_t k = 0; k < n; k++)
            v += b->c[counters[k]];
        if (v)
            json_array_append_new(vals, json_pack("[I,I]", (json_int_t)b->ts_s, (json_int_t)v));
    }
    return json_pack("{s:{s:s,s:s,s:s,s:o}}", "accumulation", "name", name, "unit", unit,
                     "interval", interval_name(iv), "values", vals);
}

static json_t *
gauge(const wr_usage_result *r, const char *name)
{
    json_t *vals = json_array();
    for (size_t i = 0; i < r->n_buckets; i++)
        json_array_append_new(vals, json_pack("[I,I]", (json_int_t)r->buckets[i].ts_s,
                                              (json_int_t)r->buckets[i].storage_metered));
    return json_pack("{s:{s:s,s:s,s:o}}", "gauge", "name", name, "unit", "bytes", "values", vals);
}

static void
ops_accumulations(json_t *out, const wr_usage_result *r, wr_usage_interval iv)
{
    for (int op = 1; op <= WR_USAGE_OP_MAX; op++)
        if (r->total.ops[op])
            json_array_append_new(
                out, accumulation(r, wr_usage_op_name((uint8_t)op), "operations", iv, NULL, 0, op));
}

json_t *
wr_s2_metrics_json(wr_s2_set set, wr_usage_interval iv, const wr_usage_result *r, const wr_token *t)
{
    json_t *v = json_array();
    static const int app_ex_ops[] = {WR_USAGE_APPEND_OPS_EXPRESS};
    static const int app_st_ops[] = {WR_USAGE_APPEND_OPS_STANDARD};
    static const int app_ex_b[] = {WR_USAGE_APPEND_BYTES_EXPRESS};
    static const int app_st_b[] = {WR_USAGE_APPEND_BYTES_STANDARD};
    static const int rd_unary[] = {WR_USAGE_READ_OPS_UNARY};
    static const int rd_stream[] = {WR_USAGE_READ_OPS_STREAMING};
    static const int rd_bytes[] = {WR_USAGE_READ_BYTES};
    switch (set) {
    case WR_S2_SET_ACTIVE_BASINS: {
        json_t *names = json_array();
        for (size_t i = 0; i < r->n_basins; i++)
            if (!t || wr_rset_matches(&t->scope.basins, r->basins[i]))
                json_array_append_new(names, json_string(r->basins[i]));
        json_array_append_new(
            v, json_pack("{s:{s:s,s:o}}", "label", "name", "active-basins", "values", names));
        break;
    }
    case WR_S2_SET_ACCOUNT_OPS:
    case WR_S2_SET_BASIN_OPS:
        ops_accumulations(v, r, iv);
        break;
    case WR_S2_SET_STORAGE:
        json_array_append_new(v, gauge(r, "storage"));
        break;
    case WR_S2_SET_APPEND_OPS:
        json_array_append_new(v, accumulation(r, "express", "operations", iv, app_ex_ops, 1, -1));
        json_array_append_new(v, accumulation(r, "standard", "operations", iv, app_st_ops, 1, -1));
        break;
    case WR_S2_SET_APPEND_THROUGHPUT:
        json_array_append_new(v, accumulation(r, "express", "bytes", iv, app_ex_b, 1, -1));
        json_array_append_new(v, accumulation(r, "standard", "bytes", iv, app_st_b, 1, -1));
        break;
    case WR_S2_SET_READ_OPS:
        json_array_append_new(v, accumulation(r, "unary", "operations", iv, rd_unary, 1, -1));
        json_array_append_new(v, accumulation(r, "streaming", "operations", iv, rd_stream, 1, -1));
        break;
    case WR_S2_SET_READ_THROUGHPUT:
        json_array_append_new(v, accumulation(r, "read-throughput", "bytes", iv, rd_bytes, 1, -1));
        break;
    case WR_S2_SET__COUNT:
        break;
    }
    return json_pack("{s:o}", "values", v);
}

/* ---------------------------------------------------------------------------------------- */
/* Handlers                                                                                   */

typedef struct mreq {
    wr_req *req; /* NULL once the client is gone */
    wr_s2_set set;
    wr_usage_interval iv;
    wr_rset basins; /* the token's basin scope, copied (filters active-basins) */
} mreq;

static void
on_gone(wr_req *req)
{
    mreq *m = req->ud;
    m->req = NULL;
}

static void
on_result(void *ud, wr_usage_result *res)
{
    mreq *m = ud;
    if (m->req) {
        m->req->on_close = NULL;
        if (res->err) {
            wr_s2_fail(m->req, &res->error);
        } else {
            wr_token filter = {0};
            filter.scope.basins = m->basins;
            wr_resp_json(m->req, 200, wr_s2_metrics_json(m->set, m->iv, res, &filter));
        }
    }
    wr_usage_result_free(res);
    free(m);
}

static void
metrics(wr_req *req, wr_s2 *s2, wr_s2_metrics_level level)
{
    const wr_token *t = wr_s2_authn(req, s2);
    if (!t)
        return;
    const char *basin = NULL, *stream = NULL;
    if (level != WR_S2_METRICS_ACCOUNT) {
        basin = req->params[0];
        if (!wr_basin_name_valid(basin)) {
            wr_resp_error(req, WR_ERR_BAD_PATH, "invalid basin name in path");
            return;
        }
    }
    if (level == WR_S2_METRICS_STREAM) {
        stream = wr_s2_full_stream(req, t, req->params[1]);
        if (!wr_stream_name_valid(stream, strlen(stream))) {
            wr_resp_error(req, WR_ERR_BAD_PATH, "invalid stream name in path");
            return;
        }
    }
    wr_op op = level == WR_S2_METRICS_ACCOUNT ? WR_OP_ACCOUNT_METRICS
               : level == WR_S2_METRICS_BASIN ? WR_OP_BASIN_METRICS
                                              : WR_OP_STREAM_METRICS;
    if (!wr_s2_authz(req, t, op, basin, stream, NULL))
        return;
    wr_s2_metrics_params p;
    wr_error err = {0};
    if (wr_s2_metrics_params_parse(req, level, wr_clock_now_ms() / 1000, &p, &err) != WR_OK) {
        wr_s2_fail(req, &err);
        return;
    }
    wr_usage_query q = {.basin = basin,
                        .stream = stream,
                        .exact = stream != NULL,
                        .interval = p.interval,
                        .start_s = p.start_s,
                        .end_s = p.end_s};
    switch (p.set) {
    case WR_S2_SET_ACTIVE_BASINS:
        q.want_active_basins = true;
        break;
    case WR_S2_SET_ACCOUNT_OPS:
    case WR_S2_SET_BASIN_OPS:
        q.want_ops = true;
        break;
    case WR_S2_SET_STORAGE:
        q.want_storage = true;
        break;
    default:
        q.want_counters = true;
        break;
    }
    mreq *m = wr_xcalloc(1, sizeof(*m));
    m->req = req;
    m->set = p.set;
    m->iv = p.interval;
    m->basins = t->scope.basins;
    req->ud = m;
    req->on_close = on_gone;
    wr_store_usage_query(s2->store, &q, on_result, m);
}

static void
account_metrics(wr_req *req, void *ctx)
{
    metrics(req, ctx, WR_S2_METRICS_ACCOUNT);
}

static void
basin_metrics(wr_req *req, void *ctx)
{
    metrics(req, ctx, WR_S2_METRICS_BASIN);
}

static void
stream_metrics(wr_req *req, void *ctx)
{
    metrics(req, ctx, WR_S2_METRICS_STREAM);
}

/* ---------------------------------------------------------------------------------------- */
/* Locations                                                                                  */

static json_t *
location_json(const wr_s2 *s2)
{
    return json_pack("{s:s,s:b}", "name", s2->location, "is_private", 0);
}

static void
list_locations(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t = wr_s2_authn(req, s2);
    if (t && wr_s2_authz(req, t, WR_OP_LIST_LOCATIONS, NULL, NULL, NULL))
        wr_resp_json(req, 200, json_pack("[o]", location_json(s2)));
}

static void
get_default_location(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t = wr_s2_authn(req, s2);
    if (t && wr_s2_authz(req, t, WR_OP_GET_DEFAULT_LOCATION, NULL, NULL, NULL))
        wr_resp_json(req, 200, location_json(s2));
}

/* The body is a bare JSON string naming a location; only the configured one exists. */
static void
set_default_location(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t = wr_s2_authn(req, s2);
    if (!t || !wr_s2_authz(req, t, WR_OP_SET_DEFAULT_LOCATION, NULL, NULL, NULL))
        return;
    json_error_t jerr;
    json_t *body =
        json_loadb(req->body.data ? req->body.data : "", req->body.len, JSON_DECODE_ANY, &jerr);
    wr_error err = {0};
    if (!json_is_string(body))
        wr_error_set(&err, WR_ERR_BAD_JSON, "expected a JSON string naming a location");
    else if (!wr_s2_location_known(s2, json_string_value(body)))
        wr_error_set(&err, WR_ERR_INVALID, "unknown location");
    json_decref(body);
    if (err.code) {
        wr_s2_fail(req, &err);
        return;
    }
    wr_resp_json(req, 200, location_json(s2));
}

bool
wr_s2_location_known(const wr_s2 *s2, const char *name)
{
    return name && strcmp(name, s2->location) == 0;
}

void
wr_s2_metrics_register(wr_s2 *s2, wr_router *r)
{
    wr_router_add(r, WR_METHOD_GET, "/v1/metrics", account_metrics, s2, 0);
    wr_router_add(r, WR_METHOD_GET, "/v1/metrics/{basin}", basin_metrics, s2, 0);
    wr_router_add(r, WR_METHOD_GET, "/v1/metrics/{basin}/{stream}", stream_metrics, s2, 0);
    wr_router_add(r, WR_METHOD_GET, "/v1/locations", list_locations, s2, 0);
    wr_router_add(r, WR_METHOD_GET, "/v1/locations/default", get_default_location, s2, 0);
    wr_router_add(r, WR_METHOD_PUT, "/v1/locations/default", set_default_location, s2, 4096);
}
