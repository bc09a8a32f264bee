/*
 * org_usage.c — an organization's usage for billing (org_usage.h), from the store's usage
 * series: one query for the shared basin (the org's stream prefix), then one for the org's own
 * basin; the answer sums them. Counters are totals over [start, end]; storedBytes is the storage
 * at the end of the range (live when the range reaches now). `series` has one entry per bucket.
 *
 * Both queries go through the stream backend (backend.h): the embedded store's series, or
 * NOT_IMPLEMENTED from a backend that cannot tell. The request may go away while a query runs:
 * it is held (wr_rt_hold_req), and the context is freed by the callback, which always comes.
 */
#include "realtime/org_usage.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/mem.h"

#define DEFAULT_RANGE_S (30u * 86400u)

static bool
parse_secs(const char *v, uint64_t *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 12 || strspn(v, "0123456789") != n)
        return false;
    *out = strtoull(v, NULL, 10);
    return true;
}

bool
wr_org_usage_params_parse(wr_req *req, uint64_t now_s, wr_org_usage_params *out, char *msg,
                          size_t msg_len)
{
    const char *start = NULL, *end = NULL, *iv = NULL;
    if (wr_req_query(req, "start", &start) < 0 || wr_req_query(req, "end", &end) < 0 ||
        wr_req_query(req, "interval", &iv) < 0) {
        snprintf(msg, msg_len, "malformed percent-encoding in the query");
        return false;
    }
    out->end_s = now_s;
    out->interval = WR_USAGE_DAY;
    if (end && !parse_secs(end, &out->end_s)) {
        snprintf(msg, msg_len, "`end` must be Unix seconds");
        return false;
    }
    out->start_s = out->end_s > DEFAULT_RANGE_S ? out->end_s - DEFAULT_RANGE_S : 0;
    if (start && !parse_secs(start, &out->start_s)) {
        snprintf(msg, msg_len, "`start` must be Unix seconds");
        return false;
    }
    if (iv) {
        if (strcmp(iv, "minute") == 0)
            out->interval = WR_USAGE_MINUTE;
        else if (strcmp(iv, "hour") == 0)
            out->interval = WR_USAGE_HOUR;
        else if (strcmp(iv, "day") == 0)
            out->interval = WR_USAGE_DAY;
        else {
            snprintf(msg, msg_len, "`interval` must be minute, hour or day");
            return false;
        }
    }
    if (out->start_s > out->end_s) {
        snprintf(msg, msg_len, "`start` is after `end`");
        return false;
    }
    uint64_t secs = wr_usage_interval_secs(out->interval);
    if (out->end_s / secs - out->start_s / secs + 1 > WR_USAGE_MAX_BUCKETS) {
        snprintf(msg, msg_len, "the range holds more than %u buckets of the interval",
                 WR_USAGE_MAX_BUCKETS);
        return false;
    }
    return true;
}

typedef struct ou {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    char *org_id, *own, *prefix;
    wr_org_usage_params p;
    json_t *basins;
    wr_rt_usage total;
    json_t *series; /* summed per bucket: array of objects */
} ou;

static json_t *
figures_json(const wr_rt_usage *u)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "appendedRecords", (json_int_t)u->appended_records,
                     "appendedBytes", (json_int_t)u->appended_bytes, "readRecords",
                     (json_int_t)u->read_records, "readBytes", (json_int_t)u->read_bytes,
                     "storedBytes", (json_int_t)u->stored_bytes);
}

static void
add(wr_rt_usage *to, const wr_rt_usage *u)
{
    to->appended_records += u->appended_records;
    to->appended_bytes += u->appended_bytes;
    to->read_records += u->read_records;
    to->read_bytes += u->read_bytes;
    to->stored_bytes += u->stored_bytes;
}

static void
ou_free(ou *u)
{
    json_decref(u->basins);
    json_decref(u->series);
    free(u->org_id);
    free(u->own);
    free(u->prefix);
    free(u);
}

static void on_result(void *ud, wr_err err, const wr_error *detail, const wr_rt_usage_series *res);

static void
query(ou *u, const char *basin, const char *prefix)
{
    wr_rt_usage_query q = {.basin = basin,
                           .prefix = prefix,
                           .interval = u->p.interval,
                           .start_s = u->p.start_s,
                           .end_s = u->p.end_s};
    u->rt->backend->ops->usage(u->rt->backend, &q, on_result, u);
}

/* Adds one basin's series to the answer's. */
static void
add_series(ou *u, const wr_rt_usage_series *res, bool shared)
{
    json_t *b = figures_json(&res->total);
    json_object_set_new(b, "basin", json_string(shared ? u->rt->cfg.global_basin : u->own));
    json_object_set_new(b, "shared", json_boolean(shared));
    json_array_append_new(u->basins, b);
    add(&u->total, &res->total);
    for (size_t i = 0; i < res->n; i++) {
        json_t *e = json_array_get(u->series, i);
        wr_rt_usage sum = res->buckets[i].u;
        if (e) {
            wr_rt_usage had = {(uint64_t)json_integer_value(json_object_get(e, "appendedRecords")),
                               (uint64_t)json_integer_value(json_object_get(e, "appendedBytes")),
                               (uint64_t)json_integer_value(json_object_get(e, "readRecords")),
                               (uint64_t)json_integer_value(json_object_get(e, "readBytes")),
                               (uint64_t)json_integer_value(json_object_get(e, "storedBytes"))};
            add(&sum, &had);
            json_t *f = figures_json(&sum);
            json_object_update(e, f);
            json_decref(f);
            continue;
        }
        e = figures_json(&sum);
        json_object_set_new(e, "ts", json_integer((json_int_t)res->buckets[i].ts_s));
        json_array_append_new(u->series, e);
    }
}

static void
on_result(void *ud, wr_err err, const wr_error *detail, const wr_rt_usage_series *res)
{
    ou *u = ud;
    bool first = json_array_size(u->basins) == 0; /* the shared basin is asked first */
    if (err == WR_OK)
        add_series(u, res, first);
    if (err == WR_OK && first && u->own) {
        query(u, u->own, NULL);
        return;
    }
    wr_req *req = wr_rt_take_req(u);
    if (req && err != WR_OK) {
        wr_rt_fail_err(req, detail);
    } else if (req) {
        static const char *const ivn[] = {"", "minute", "hour", "day"};
        wr_resp_json(req, 200,
                     json_pack("{s:s,s:I,s:I,s:s,s:O,s:o,s:O}", "organizationId", u->org_id,
                               "start", (json_int_t)u->p.start_s, "end", (json_int_t)u->p.end_s,
                               "interval", ivn[u->p.interval], "basins", u->basins, "total",
                               figures_json(&u->total), "series", u->series));
    }
    ou_free(u);
}

void
wr_org_usage_answer(wr_rt *rt, wr_req *req, const char *org_id, const char *own_basin)
{
    char msg[160];
    wr_org_usage_params p;
    if (!wr_org_usage_params_parse(req, wr_clock_now_ms() / 1000, &p, msg, sizeof(msg))) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, msg);
        return;
    }
    ou *u = wr_xcalloc(1, sizeof(*u));
    u->rt = rt;
    u->p = p;
    u->org_id = wr_xstrdup(org_id);
    if (own_basin && strcmp(own_basin, rt->cfg.global_basin) != 0)
        u->own = wr_xstrdup(own_basin);
    size_t n = strlen(org_id) + 8;
    u->prefix = wr_xmalloc(n);
    snprintf(u->prefix, n, "org/%s/", org_id);
    u->basins = json_array();
    u->series = json_array();
    wr_rt_hold_req(req, u);
    query(u, rt->cfg.global_basin, u->prefix);
}
