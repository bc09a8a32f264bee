/*
 * api.c — /api/v1 runs, authorized by an environment's secret key (`Authorization: Bearer
 * <apiKey>`), and the helpers the session routes (sessions.c) share. Creating a run stamps it
 * with its organization's current basin (possibly none); the stamp is never rewritten.
 */
#include <string.h>
#include <strings.h>

#include "realtime/params.h"
#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/mem.h"

/* The environment whose secret key the request carries, or false after answering 401 (public
 * tokens are refused here). */
static bool
env_auth(wr_req *req, wr_rt *rt, wr_env *out)
{
    wr_rt_caller c;
    if (!wr_rt_authn(req, rt, false, &c))
        return false;
    *out = c.env;
    wr_rt_caller_fini(&c);
    return true;
}

bool
wr_rt_org_stamp(wr_req *req, wr_rt *rt, const wr_env *env, char out[49], bool *out_has)
{
    wr_org o;
    wr_error err = {0};
    if (wr_rt_read_org(rt, req, env->org_id, &o, &err) != WR_OK) {
        wr_rt_fail_err(req, &err);
        return false;
    }
    *out_has = o.has_basin;
    strcpy(out, o.has_basin ? o.basin : "");
    return true;
}

bool
wr_rt_env_auth(wr_req *req, wr_rt *rt, wr_env *out)
{
    return env_auth(req, rt, out);
}

static json_t *
run_json(const wr_run *r)
{
    json_t *o = json_pack(
        "{s:s,s:s,s:o,s:s,s:o,s:s}", "id", r->id, "taskIdentifier", r->task_identifier,
        "parentRunId", r->has_parent ? json_string(r->parent_run_id) : json_null(), "rootRunId",
        r->root_run_id, "streamBasinName", r->has_basin ? json_string(r->basin) : json_null(),
        "realtimeStreamsVersion", "v2");
    json_object_set_new(o, "completedAt", wr_rt_time_json(r->completed, r->completed_at_ms));
    json_object_set_new(o, "createdAt", wr_rt_time_json(true, r->created_at_ms));
    return o;
}

/* A run change on its way through the control plane's writer. */
typedef struct run_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    wr_run run;
    bool reread;     /* a completion: `run` is the row as stored after it (read back by the job) */
    bool bad_parent; /* the create's parentRunId is not a run of its environment */
} run_op;

#define BAD_PARENT "`parentRunId` is not a run of this environment"

/* Writer thread: inserts the run with its stamp; a child run first reads its parent (in the
 * same transaction: no round trip on the loop) for its root. */
static wr_err
create_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    run_op *op = ctx;
    if (op->run.has_parent) {
        wr_run p;
        wr_err rc = wr_meta_run_get(m, op->run.env_id, op->run.parent_run_id, &p, out_err);
        op->bad_parent = rc == WR_ERR_NOT_FOUND || rc == WR_ERR_INVALID;
        if (op->bad_parent)
            return wr_error_set(out_err, WR_ERR_BAD_REQUEST, BAD_PARENT);
        if (rc != WR_OK)
            return rc;
        strcpy(op->run.root_run_id, p.root_run_id);
    }
    return wr_meta_run_create(m, &op->run, out_err);
}

/* Loop thread, once the change is durable: 201 with the new run, or 200 with the completed one. */
static void
run_done(void *ctx, wr_err rc, const wr_error *err)
{
    run_op *op = ctx;
    wr_req *req = wr_rt_take_req(op);
    if (!req) {
        free(op);
        return;
    }
    if (op->bad_parent)
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, BAD_PARENT);
    else if (rc != WR_OK && op->reread)
        wr_rt_fail_lookup(req, err, "Run not found");
    else if (rc != WR_OK)
        wr_rt_fail_err(req, err);
    else
        wr_resp_json(req, op->reread ? 200 : 201, run_json(&op->run));
    free(op);
}

static void
create_run(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    if (!env_auth(req, rt, &env))
        return;
    json_t *body = wr_rt_body(req);
    if (!body)
        return;
    json_t *task = json_object_get(body, "taskIdentifier");
    json_t *parent = json_object_get(body, "parentRunId");
    wr_run r = {0};
    if (!json_is_string(task) || json_string_length(task) == 0 ||
        json_string_length(task) >= sizeof(r.task_identifier)) {
        json_decref(body);
        wr_rt_fail(req, WR_ERR_BAD_REQUEST,
                   "`taskIdentifier` must be a string of 1-128 characters");
        return;
    }
    strcpy(r.task_identifier, json_string_value(task));
    wr_rt_new_sorted_id("run_", 29, r.id);
    strcpy(r.env_id, env.id);
    strcpy(r.root_run_id, r.id);
    if (parent && !json_is_null(parent)) {
        if (!json_is_string(parent) || json_string_length(parent) == 0 ||
            json_string_length(parent) >= sizeof(r.parent_run_id)) {
            json_decref(body);
            wr_rt_fail(req, WR_ERR_BAD_REQUEST, BAD_PARENT);
            return;
        }
        r.has_parent = true; /* the job reads it, and takes its root */
        strcpy(r.parent_run_id, json_string_value(parent));
    }
    json_decref(body);
    if (!wr_rt_org_stamp(req, rt, &env, r.basin, &r.has_basin))
        return;
    run_op *op = wr_xcalloc(1, sizeof(*op));
    op->rt = rt;
    op->run = r;
    wr_rt_hold_req(req, op);
    wr_rt_meta_change(rt, env.id, create_job, run_done, op);
}

/* Writer thread: marks the run completed (idempotent). */
static wr_err
complete_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    run_op *op = ctx;
    wr_err rc = wr_meta_run_complete(m, op->run.id, wr_clock_now_ms(), out_err);
    return rc != WR_OK ? rc : wr_meta_run_get(m, op->run.env_id, op->run.id, &op->run, out_err);
}

static void
complete_run(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    if (!env_auth(req, rt, &env))
        return;
    wr_run r;
    wr_error err = {0};
    if (wr_rt_read_run(rt, req, env.id, req->params[0], &r, &err) != WR_OK) {
        wr_rt_fail_lookup(req, &err, "Run not found");
        return;
    }
    run_op *op = wr_xcalloc(1, sizeof(*op));
    op->rt = rt;
    op->run = r;
    op->reread = true;
    wr_rt_hold_req(req, op);
    wr_rt_meta_change(rt, env.id, complete_job, run_done, op);
}

typedef struct run_query {
    size_t limit;
    const char *after;
    const char *bad;
    wr_req *req;
} run_query;

static void
run_param(void *ud, const char *key, const char *value)
{
    run_query *q = ud;
    if (strcmp(key, "page[size]") == 0) {
        uint64_t n;
        if (!wr_rt_parse_seq(value, &n) || n < 1 || n > 100)
            q->bad = "`page[size]` must be an integer from 1 to 100";
        else
            q->limit = (size_t)n;
    } else if (strcmp(key, "page[after]") == 0) {
        q->after = wr_arena_strdup(&q->req->arena, value);
    }
}

/* A run listing on its way through a reader. */
typedef struct list_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    char env_id[64];
    char *after;
    size_t limit;
    wr_run_page page;
} list_op;

static wr_err
list_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    list_op *op = ctx;
    return wr_meta_run_list(m, op->env_id, op->after, op->limit, &op->page, out_err);
}

static void
list_done(void *ctx, wr_err rc, const wr_error *err)
{
    list_op *op = ctx;
    wr_req *req = wr_rt_take_req(op);
    if (req && rc != WR_OK) {
        if (rc == WR_ERR_NOT_FOUND || rc == WR_ERR_INVALID)
            wr_rt_fail(req, WR_ERR_BAD_REQUEST, "`page[after]` is not a run of this environment");
        else
            wr_rt_fail_err(req, err);
    } else if (req) {
        json_t *data = json_array(), *pag = json_object();
        for (size_t i = 0; i < op->page.n; i++)
            json_array_append_new(data, run_json(&op->page.items[i]));
        if (op->page.has_next && op->page.n)
            json_object_set_new(pag, "next", json_string(op->page.items[op->page.n - 1].id));
        wr_resp_json(req, 200, json_pack("{s:o,s:o}", "data", data, "pagination", pag));
    }
    if (rc == WR_OK)
        free(op->page.items);
    free(op->after);
    free(op);
}

/* GET /api/v1/runs?page[size]&page[after]: the environment's runs, newest first. */
static void
list_runs(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    if (!env_auth(req, rt, &env))
        return;
    run_query q = {.limit = 20, .req = req};
    if (wr_req_query_each(req, run_param, &q) < 0 && !q.bad)
        q.bad = "malformed query string";
    if (!q.bad && q.after && !wr_rt_name_ok(q.after))
        q.bad = "`page[after]` must be UTF-8 without control characters";
    if (q.bad) {
        wr_rt_fail(req, WR_ERR_BAD_QUERY, q.bad);
        return;
    }
    list_op *op = wr_xcalloc(1, sizeof(*op));
    snprintf(op->env_id, sizeof(op->env_id), "%s", env.id);
    op->after = q.after ? wr_xstrdup(q.after) : NULL;
    op->limit = q.limit;
    wr_rt_hold_req(req, op);
    wr_rt_meta_read(rt, env.id, list_job, NULL, list_done, op);
}

void
wr_rt_api_register(wr_rt *rt, wr_router *r)
{
    wr_rt_route(rt, r, WR_METHOD_GET, "/api/v1/runs", list_runs, 0);
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/runs", create_run, 64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/runs/{runId}/complete", complete_run, 0);
}
