/*
 * org_usage.c — an organization's usage for billing (org_usage.h), from the store's usage
 * series: one query for the shared basin (the org's stream prefix), then one for the org's own
 * basin; the answer sums them. Counters are totals over [start, end]; storedBytes is the storage
 * at the end of the range (live when the range reaches now). `series` has one entry per bucket.
 *
 * The request may go away while a query runs: it is detached (on_close), and the context is freed
 * by the query callback, which always comes.
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
    wr_store *store;
    wr_req *req; /* NULL once the client is gone */
    char *org_id, *shared, *own, *prefix;
    wr_org_usage_params p;
    json_t *basins;
    uint64_t total[5];
    json_t *series; /* summed per bucket: array of objects */
} ou;

static const char *const names[5] = {"appendedRecords", "appendedBytes", "readRecords", "readBytes",
                                     "storedBytes"};

static void
figures(const wr_usage_bucket *b, uint64_t v[5])
{
    v[0] = b->c[WR_USAGE_APPEND_RECORDS];
    v[1] = b->c[WR_USAGE_APPEND_BYTES_EXPRESS] + b->c[WR_USAGE_APPEND_BYTES_STANDARD];
    v[2] = b->c[WR_USAGE_READ_RECORDS];
    v[3] = b->c[WR_USAGE_READ_BYTES];
    v[4] = b->storage_metered;
}

static json_t *
figures_json(const uint64_t v[5])
{
    json_t *j = json_object();
    for (int i = 0; i < 5; i++)
        json_object_set_new(j, names[i], json_integer((json_int_t)v[i]));
    return j;
}

static void
ou_free(ou *u)
{
    json_decref(u->basins);
    json_decref(u->series);
    free(u->org_id);
    free(u->shared);
    free(u->own);
    free(u->prefix);
    free(u);
}

static void on_result(void *ud, wr_usage_result *res);

static void
query(ou *u, const char *basin, const char *prefix)
{
    wr_usage_query q = {.basin = basin,
                        .stream = prefix,
                        .interval = u->p.interval,
                        .start_s = u->p.start_s,
                        .end_s = u->p.end_s,
                        .want_counters = true,
                        .want_storage = true};
    wr_store_usage_query(u->store, &q, on_result, u);
}

static void
on_gone(wr_req *req)
{
    ou *u = req->ud;
    u->req = NULL;
}

static void
on_result(void *ud, wr_usage_result *res)
{
    ou *u = ud;
    bool first = json_array_size(u->basins) == 0;
    if (!u->req || res->err) {
        if (u->req) {
            u->req->on_close = NULL;
            wr_rt_fail_err(u->req, &res->error);
        }
        wr_usage_result_free(res);
        ou_free(u);
        return;
    }
    uint64_t v[5];
    figures(&res->total, v);
    json_t *b = figures_json(v);
    json_object_set_new(b, "basin", json_string(first ? u->shared : u->own));
    json_object_set_new(b, "shared", json_boolean(first));
    json_array_append_new(u->basins, b);
    for (int i = 0; i < 5; i++)
        u->total[i] += v[i];
    for (size_t i = 0; i < res->n_buckets; i++) {
        uint64_t bv[5];
        figures(&res->buckets[i], bv);
        json_t *e = json_array_get(u->series, i);
        if (!e) {
            e = figures_json(bv);
            json_object_set_new(e, "ts", json_integer((json_int_t)res->buckets[i].ts_s));
            json_array_append_new(u->series, e);
            continue;
        }
        for (int k = 0; k < 5; k++)
            json_object_set_new(
                e, names[k],
                json_integer(json_integer_value(json_object_get(e, names[k])) + (json_int_t)bv[k]));
    }
    wr_usage_result_free(res);
    if (first && u->own) {
        query(u, u->own, NULL);
        return;
    }
    static const char *const ivn[] = {"", "minute", "hour", "day"};
    wr_req *req = u->req;
    req->on_close = NULL;
    json_t *out = json_pack("{s:s,s:I,s:I,s:s,s:O,s:o,s:O}", "organizationId", u->org_id, "start",
                            (json_int_t)u->p.start_s, "end", (json_int_t)u->p.end_s, "interval",
                            ivn[u->p.interval], "basins", u->basins, "total",
                            figures_json(u->total), "series", u->series);
    ou_free(u);
    wr_resp_json(req, 200, out);
}

void
wr_org_usage_answer(wr_store *store, wr_req *req, const char *org_id, const char *shared_basin,
                    const char *own_basin)
{
    char msg[160];
    wr_org_usage_params p;
    if (!wr_org_usage_params_parse(req, wr_clock_now_ms() / 1000, &p, msg, sizeof(msg))) {
        wr_rt_fail(req, 400, msg);
        return;
    }
    ou *u = wr_xcalloc(1, sizeof(*u));
    u->store = store;
    u->req = req;
    u->p = p;
    u->org_id = wr_xstrdup(org_id);
    u->shared = wr_xstrdup(shared_basin);
    if (own_basin && strcmp(own_basin, shared_basin) != 0)
        u->own = wr_xstrdup(own_basin);
    size_t n = strlen(org_id) + 8;
    u->prefix = wr_xmalloc(n);
    snprintf(u->prefix, n, "org/%s/", org_id);
    u->basins = json_array();
    u->series = json_array();
    req->ud = u;
    req->on_close = on_gone;
    query(u, u->shared, u->prefix);
}
