/*
 * channels.c — the write-credential routes of realtime.md §5, authorized by an environment's
 * secret key:
 *   PUT /realtime/v1/sessions/:session/:io              (io = in | out)
 *   PUT /realtime/v1/streams/:runId/:target/:streamId   (target = self | parent | root)
 * Both answer 202 {"version":"v2"} with X-S2-* headers that let a client write the stream
 * directly through the S2 API: a scoped write token (mint.h) for the environment's prefix in the
 * resolved basin, and the stream name relative to that prefix.
 *
 * Invariants: the basin is resolved per naming.h (row stamp → org basin only when no row →
 * global) and the token is minted for exactly that basin and the environment's prefix + "/", so
 * "{token prefix}{X-S2-Stream-Name}" is always the stream's full name.
 */
#include <string.h>

#include "realtime/naming.h"
#include "realtime/rt_int.h"
#include "store/store.h"

/* Answers 202 with the X-S2-* headers for `rel` (relative to prefix + "/") in `basin`. */
static void
answer_channel(wr_req *req, wr_rt *rt, const char *basin, const char *prefix, const char *rel)
{
    char tok_prefix[WR_RT_NAME_MAX + 2], secret[WR_RT_SECRET_MAX], num[24];
    snprintf(tok_prefix, sizeof(tok_prefix), "%s/", prefix);
    if (strlen(tok_prefix) + strlen(rel) > WR_STREAM_NAME_MAX) {
        wr_rt_fail(req, 400, "Stream name too long");
        return;
    }
    wr_error err = {0};
    if (wr_rt_mint_token(rt->mint, basin, tok_prefix, wr_rt_write_ops, 3, secret, &err) != WR_OK) {
        wr_rt_fail_err(req, &err);
        return;
    }
    const char *host = wr_req_header(req, "host");
    wr_resp_header(req, "x-s2-access-token", secret);
    wr_resp_header(req, "x-s2-stream-name", rel);
    wr_resp_header(req, "x-s2-basin", basin);
    wr_resp_header(req, "x-s2-endpoint",
                   wr_arena_printf(&req->arena, "http://%s/v1", host ? host : "localhost"));
    snprintf(num, sizeof(num), "%llu", (unsigned long long)rt->cfg.flush_interval_ms);
    wr_resp_header(req, "x-s2-flush-interval-ms", num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)rt->cfg.max_retries);
    wr_resp_header(req, "x-s2-max-retries", num);
    /* Listed explicitly: "*" is not honoured for credentialed requests. */
    wr_resp_header(req, "access-control-expose-headers",
                   "x-s2-access-token, x-s2-stream-name, x-s2-basin, x-s2-endpoint, "
                   "x-s2-flush-interval-ms, x-s2-max-retries");
    wr_resp_json(req, 202, json_pack("{s:s}", "version", "v2"));
}

/* The environment's organization, or false after answering. */
static bool
env_org(wr_req *req, wr_rt *rt, const wr_env *env, wr_org *out)
{
    wr_error err = {0};
    if (wr_meta_org_get(rt->meta, env->org_id, out, &err) != WR_OK) {
        wr_rt_fail_err(req, &err);
        return false;
    }
    return true;
}

/*
 * Looks the session up: true with *out_has_row set, or false after answering (session_… id
 * without a row → 404, closed → 400). On true with a row, the caller calls wr_session_fini.
 */
static bool
find_session(wr_req *req, wr_rt *rt, const wr_env *env, const char *key, wr_session *out,
             bool *out_has_row)
{
    wr_error err = {0};
    *out_has_row = false;
    if (wr_meta_session_get(rt->meta, env->id, key, out, &err) == WR_OK) {
        if (out->closed) {
            wr_session_fini(out);
            wr_rt_fail(req, 400, "Session is closed");
            return false;
        }
        *out_has_row = true;
        return true;
    }
    if (err.code != WR_ERR_NOT_FOUND && err.code != WR_ERR_INVALID) {
        wr_rt_fail_err(req, &err);
        return false;
    }
    if (strncmp(key, WR_META_SESSION_ID_PREFIX, strlen(WR_META_SESSION_ID_PREFIX)) == 0) {
        wr_rt_fail(req, 404, "Session not found");
        return false;
    }
    return true;
}

static void
put_session_channel(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    const char *key = req->params[0], *io = req->params[1];
    wr_env env;
    wr_org org;
    wr_session s = {0};
    bool has_row;
    if (!wr_rt_env_auth(req, rt, &env))
        return;
    if (strcmp(io, "in") != 0 && strcmp(io, "out") != 0) {
        wr_rt_fail(req, 404, "Unknown channel: io must be `in` or `out`");
        return;
    }
    if (key[0] == '\0' || strlen(key) > 256) {
        wr_rt_fail(req, 400, "Invalid session key");
        return;
    }
    if (!env_org(req, rt, &env, &org) || !find_session(req, rt, &env, key, &s, &has_row))
        return;
    const char *basin =
        wr_rt_resolve_basin(rt->cfg.global_basin, has_row, has_row && s.has_basin ? s.basin : NULL,
                            org.has_basin ? org.basin : NULL);
    const char *name = has_row ? (s.has_external_id ? s.external_id : s.id) : key;
    char prefix[WR_RT_NAME_MAX];
    wr_rt_stream_prefix(basin, rt->cfg.global_basin, org.id, env.slug, env.id, prefix,
                        sizeof(prefix));
    const char *rel = wr_arena_printf(&req->arena, "sessions/%s/%s", name, io);
    answer_channel(req, rt, basin, prefix, rel);
    wr_session_fini(&s);
}

/* The run that `target` names from `r` (self, parent or root), or false after answering. */
static bool
target_run(wr_req *req, wr_rt *rt, const wr_env *env, const char *target, wr_run *r)
{
    wr_error err = {0};
    const char *id = NULL;
    if (strcmp(target, "self") == 0)
        return true;
    if (strcmp(target, "parent") == 0) {
        if (!r->has_parent) {
            wr_rt_fail(req, 400, "Run has no parent run");
            return false;
        }
        id = r->parent_run_id;
    } else if (strcmp(target, "root") == 0) {
        id = r->root_run_id;
    } else {
        wr_rt_fail(req, 400, "Invalid target: must be `self`, `parent` or `root`");
        return false;
    }
    char copy[WR_META_ID_MAX + 1];
    snprintf(copy, sizeof(copy), "%s", id);
    if (wr_meta_run_get(rt->meta, env->id, copy, r, &err) != WR_OK) {
        wr_rt_fail(req, err.code == WR_ERR_NOT_FOUND ? 404 : 500, "Target run not found");
        return false;
    }
    return true;
}

static void
put_run_stream(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    const char *run_id = req->params[0], *target = req->params[1], *stream_id = req->params[2];
    wr_env env;
    wr_org org;
    wr_run r;
    wr_error err = {0};
    if (!wr_rt_env_auth(req, rt, &env))
        return;
    if (wr_meta_run_get(rt->meta, env.id, run_id, &r, &err) != WR_OK) {
        wr_rt_fail_lookup(req, &err, "Run not found");
        return;
    }
    if (!target_run(req, rt, &env, target, &r) || !env_org(req, rt, &env, &org))
        return;
    if (r.completed) {
        wr_rt_fail(req, 400, "Cannot stream to a completed run");
        return;
    }
    if (wr_meta_run_add_stream(rt->meta, r.id, stream_id, &err) != WR_OK) {
        if (err.code == WR_ERR_INVALID)
            wr_rt_fail(req, 400, "Invalid stream id");
        else
            wr_rt_fail_err(req, &err);
        return;
    }
    const char *basin =
        wr_rt_resolve_basin(rt->cfg.global_basin, true, r.has_basin ? r.basin : NULL, NULL);
    char prefix[WR_RT_NAME_MAX];
    wr_rt_stream_prefix(basin, rt->cfg.global_basin, org.id, env.slug, env.id, prefix,
                        sizeof(prefix));
    const char *rel = wr_arena_printf(&req->arena, "runs/%s/%s", r.id, stream_id);
    answer_channel(req, rt, basin, prefix, rel);
}

void
wr_rt_channels_register(wr_rt *rt, wr_router *r)
{
    wr_router_add(r, WR_METHOD_PUT, "/realtime/v1/sessions/{session}/{io}", put_session_channel, rt,
                  64 * 1024);
    wr_router_add(r, WR_METHOD_PUT, "/realtime/v1/streams/{runId}/{target}/{streamId}",
                  put_run_stream, rt, 64 * 1024);
}
