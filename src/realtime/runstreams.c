/*
 * runstreams.c — the run-stream routes of realtime.md §5:
 *   PUT  /realtime/v1/streams/:runId/:target/:streamId          write credentials (X-S2-*)
 *   POST /realtime/v1/streams/:runId/:target/:streamId/append   one record {"data","id"}
 *   GET  /realtime/v1/streams/:runId/:streamId                  SSE
 *   POST /realtime/v1/streams/:runId/input/:streamId            an input record {"data","id"}
 *   GET  /realtime/v1/streams/:runId/input/:streamId            SSE of the input stream
 * `:target` is self | parent | root (the run the stream belongs to, seen from :runId). Writing
 * a run's own streams takes the secret key; reading takes it or a public token with
 * read:runs:<runId>; input streams are written with write:inputStreams:<runId>. A completed
 * run takes no more writes (400). The basin is always the run's stamp (a run row is required).
 */
#include <string.h>

#include "realtime/naming.h"
#include "realtime/rt_int.h"
#include "util/mem.h"

/* A run named in the URL, resolved. */
typedef struct run_ctx {
    wr_rt_caller caller;
    wr_org org;
    wr_run run;
    const char *basin;
    char prefix[WR_RT_NAME_MAX];
} run_ctx;

/* Authenticates, finds params[0]'s run and its organization; false after answering. */
static bool
run_open(wr_req *req, wr_rt *rt, bool allow_public, run_ctx *c)
{
    memset(c, 0, sizeof(*c));
    if (!wr_rt_authn(req, rt, allow_public, &c->caller))
        return false;
    wr_error err = {0};
    if (wr_rt_read_run(rt, req, c->caller.env.id, req->params[0], &c->run, &err) != WR_OK) {
        wr_rt_fail_lookup(req, &err, "Run not found");
        wr_rt_caller_fini(&c->caller);
        return false;
    }
    if (!wr_rt_env_org(req, rt, &c->caller.env, &c->org)) {
        wr_rt_caller_fini(&c->caller);
        return false;
    }
    return true;
}

/* The basin and prefix of c->run (call after the run is final). */
static void
run_resolve(wr_rt *rt, run_ctx *c)
{
    c->basin = wr_rt_resolve_basin(rt->cfg.global_basin, true,
                                   c->run.has_basin ? c->run.basin : NULL, NULL);
    wr_rt_stream_prefix(c->basin, rt->cfg.global_basin, c->org.id, c->caller.env.slug,
                        c->caller.env.id, c->prefix, sizeof(c->prefix));
}

/* Replaces r by the run `target` names from it (self, parent or root); false after answering. */
static bool
target_run(wr_req *req, wr_rt *rt, const wr_env *env, const char *target, wr_run *r)
{
    wr_error err = {0};
    const char *id = NULL;
    if (strcmp(target, "self") == 0)
        return true;
    if (strcmp(target, "parent") == 0) {
        if (!r->has_parent) {
            wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Run has no parent run");
            return false;
        }
        id = r->parent_run_id;
    } else if (strcmp(target, "root") == 0) {
        id = r->root_run_id;
    } else {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Invalid target: must be `self`, `parent` or `root`");
        return false;
    }
    char copy[WR_META_ID_MAX + 1];
    snprintf(copy, sizeof(copy), "%s", id);
    if (wr_rt_read_run(rt, req, env->id, copy, r, &err) != WR_OK) {
        if (err.code == WR_ERR_NOT_FOUND)
            wr_rt_fail(req, WR_ERR_NOT_FOUND, "Target run not found");
        else
            wr_rt_fail_err(req, &err);
        return false;
    }
    return true;
}

/* The full name prefix + rel, or NULL after answering 400 when it is too long. */
static const char *
full_name(wr_req *req, const run_ctx *c, const char *rel)
{
    if (strlen(c->prefix) + strlen(rel) > WR_STREAM_NAME_MAX) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Stream name too long");
        return NULL;
    }
    return wr_arena_printf(&req->arena, "%s%s", c->prefix, rel);
}

/* What a write route does once its stream id is registered on the run: `rel` is the stream's
 * name relative to the prefix. */
typedef void (*run_write_fn)(wr_req *req, wr_rt *rt, run_ctx *c, const char *rel);

static void
run_write_next(wr_req *req, wr_rt *rt, run_ctx *c, run_write_fn next)
{
    run_resolve(rt, c);
    next(req, rt, c, wr_arena_printf(&req->arena, "/runs/%s/%s", c->run.id, req->params[2]));
}

/* Whether stream_id is registered on the run; false after answering the error. */
static bool
stream_known(wr_req *req, wr_rt *rt, const char *run_id, const char *stream_id, bool *out)
{
    wr_error err = {0};
    if (wr_rt_read_run_has_stream(rt, req, run_id, stream_id, out, &err) == WR_OK)
        return true;
    if (err.code == WR_ERR_INVALID)
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Invalid stream id");
    else
        wr_rt_fail_err(req, &err);
    return false;
}

/* A stream id being registered on its run through the control plane's writer. */
typedef struct add_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    run_ctx c;
    char *stream_id;
    run_write_fn next;
} add_op;

static wr_err
add_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    add_op *op = ctx;
    return wr_meta_run_add_stream(m, op->c.run.id, op->stream_id, out_err);
}

static void
add_done(void *ctx, wr_err rc, const wr_error *err)
{
    add_op *op = ctx;
    wr_req *req = wr_rt_take_req(op);
    if (req && rc == WR_ERR_INVALID)
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Invalid stream id");
    else if (req && rc != WR_OK)
        wr_rt_fail_err(req, err);
    else if (req)
        run_write_next(req, op->rt, &op->c, op->next);
    wr_rt_caller_fini(&op->c.caller);
    free(op->stream_id);
    free(op);
}

/*
 * The common part of PUT and append on params {runId, target, streamId}: the target run must
 * be open and the stream id is registered on it (a new one through the writer, off the loop),
 * then `next` runs. Takes c (its caller is released here or when `next` has run).
 */
static void
run_stream_write(wr_req *req, wr_rt *rt, run_ctx *c, run_write_fn next)
{
    const char *target = req->params[1], *stream_id = req->params[2];
    bool known = false;
    if (!target_run(req, rt, &c->caller.env, target, &c->run) ||
        !stream_known(req, rt, c->run.id, stream_id, &known)) {
        wr_rt_caller_fini(&c->caller);
        return;
    }
    if (c->run.completed) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Cannot stream to a completed run");
    } else if (known) {
        run_write_next(req, rt, c, next);
    } else {
        add_op *op = wr_xcalloc(1, sizeof(*op));
        op->rt = rt;
        op->c = *c; /* the caller moves to op */
        op->stream_id = wr_xstrdup(stream_id);
        op->next = next;
        wr_rt_hold_req(req, op);
        wr_rt_meta_change(rt, op->c.caller.env.id, add_job, add_done, op);
        return;
    }
    wr_rt_caller_fini(&c->caller);
}

static void
put_next(wr_req *req, wr_rt *rt, run_ctx *c, const char *rel)
{
    if (full_name(req, c, rel))
        wr_rt_answer_channel(req, rt, &c->caller, &c->org, c->basin, c->prefix, rel);
}

static void
put_run_stream(wr_req *req, void *ctx)
{
    run_ctx c;
    if (run_open(req, ctx, false, &c))
        run_stream_write(req, ctx, &c, put_next);
}

static void
append_next(wr_req *req, wr_rt *rt, run_ctx *c, const char *rel)
{
    const char *part_id, *stream;
    json_t *data;
    if ((stream = full_name(req, c, rel)) != NULL && wr_rt_part_id(req, &part_id) &&
        (data = wr_rt_text_body(req)) != NULL)
        wr_rt_append_part(rt, req, c->caller.env.id, c->basin, stream, data, part_id);
}

static void
append_run_stream(wr_req *req, void *ctx)
{
    run_ctx c;
    if (run_open(req, ctx, false, &c))
        run_stream_write(req, ctx, &c, append_next);
}

/* HEAD of a run stream: authenticated like GET; resuming is by Last-Event-ID, so the chunk
 * index trigger.dev clients ask for is always 0. */
static void
head_run_stream(wr_req *req, void *ctx)
{
    run_ctx c;
    if (!run_open(req, ctx, true, &c))
        return;
    const char *ids[1] = {c.run.id};
    if (wr_rt_authz(req, &c.caller, "read", "runs", ids, 1)) {
        wr_resp_header(req, "x-last-chunk-index", "0");
        wr_resp_send(req, 200, NULL, NULL, 0);
    }
    wr_rt_caller_fini(&c.caller);
}

/* SSE of a run's stream (input or not): params {runId, streamId}. */
static void
serve_run_sse(wr_req *req, wr_rt *rt, bool input)
{
    run_ctx c;
    uint64_t start, wait;
    if (!run_open(req, rt, true, &c))
        return;
    const char *ids[1] = {c.run.id};
    const char *stream;
    char name[WR_RT_NAME_MAX + 300];
    run_resolve(rt, &c);
    wr_rt_run_stream("", c.run.id, req->params[1], input, name, sizeof(name));
    if (wr_rt_authz(req, &c.caller, "read", "runs", ids, 1) &&
        wr_rt_sse_params(req, rt, &start, &wait) && (stream = full_name(req, &c, name)) != NULL)
        wr_rt_serve_sse(rt, req, c.basin, stream, start, wait, false);
    wr_rt_caller_fini(&c.caller);
}

static void
get_run_stream(wr_req *req, void *ctx)
{
    serve_run_sse(req, ctx, false);
}

static void
get_input_stream(wr_req *req, void *ctx)
{
    serve_run_sse(req, ctx, true);
}

/* POST /realtime/v1/streams/:runId/input/:streamId {"data": <any JSON>} */
static void
post_input_stream(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    run_ctx c;
    const char *part_id, *stream;
    char name[WR_RT_NAME_MAX + 300];
    if (!run_open(req, rt, true, &c))
        return;
    const char *ids[1] = {c.run.id};
    json_t *body = NULL;
    if (!wr_rt_authz(req, &c.caller, "write", "inputStreams", ids, 1) ||
        !wr_rt_part_id(req, &part_id) || (body = wr_rt_body(req)) == NULL) {
        wr_rt_caller_fini(&c.caller);
        return;
    }
    json_t *data = json_object_get(body, "data");
    run_resolve(rt, &c);
    wr_rt_run_stream("", c.run.id, req->params[1], true, name, sizeof(name));
    if (data == NULL)
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "`data` is required");
    else if (c.run.completed)
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Cannot send input to a completed run");
    else if ((stream = full_name(req, &c, name)) != NULL)
        wr_rt_append_part(rt, req, c.caller.env.id, c.basin, stream, json_incref(data), part_id);
    json_decref(body);
    wr_rt_caller_fini(&c.caller);
}

void
wr_rt_runstreams_register(wr_rt *rt, wr_router *r)
{
    wr_rt_route(rt, r, WR_METHOD_POST, "/realtime/v1/streams/{runId}/input/{streamId}",
                post_input_stream, WR_RT_BODY_MAX);
    wr_rt_route(rt, r, WR_METHOD_GET, "/realtime/v1/streams/{runId}/input/{streamId}",
                get_input_stream, 0);
    wr_rt_route(rt, r, WR_METHOD_PUT, "/realtime/v1/streams/{runId}/{target}/{streamId}",
                put_run_stream, 64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_POST, "/realtime/v1/streams/{runId}/{target}/{streamId}/append",
                append_run_stream, WR_RT_BODY_MAX);
    wr_rt_route(rt, r, WR_METHOD_GET, "/realtime/v1/streams/{runId}/{streamId}", get_run_stream, 0);
    wr_rt_route(rt, r, WR_METHOD_HEAD, "/realtime/v1/streams/{runId}/{streamId}", head_run_stream,
                0);
}
