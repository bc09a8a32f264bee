/*
 * api.c — /api/v1 runs and sessions, authorized by an environment's secret key
 * (`Authorization: Bearer <apiKey>`). Creating a run or session stamps it with its
 * organization's current basin (possibly none); the stamp is never rewritten.
 */
#include <string.h>
#include <strings.h>

#include "realtime/rt_int.h"
#include "util/clock.h"

#define SESSION_TOKEN_TTL_S 3600 /* the session-create response's public token */

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

/* The organization's basin right now (the stamp for a new row); empty when none. */
static bool
org_stamp(wr_req *req, wr_rt *rt, const wr_env *env, char out[49], bool *out_has)
{
    wr_org o;
    wr_error err = {0};
    if (wr_meta_org_get(rt->meta, env->org_id, &o, &err) != WR_OK) {
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

/* An RFC 3339 string, or null when unset (the realtime twin of s2's wr_s2_time_json; the two
 * modules do not include each other's internals). */
static json_t *
time_json(bool set, uint64_t ms)
{
    char ts[40];
    if (!set)
        return json_null();
    wr_clock_format_rfc3339(ms, ts);
    return json_string(ts);
}

static json_t *
run_json(const wr_run *r)
{
    json_t *o = json_pack(
        "{s:s,s:s,s:o,s:s,s:o,s:s}", "id", r->id, "taskIdentifier", r->task_identifier,
        "parentRunId", r->has_parent ? json_string(r->parent_run_id) : json_null(), "rootRunId",
        r->root_run_id, "streamBasinName", r->has_basin ? json_string(r->basin) : json_null(),
        "realtimeStreamsVersion", "v2");
    json_object_set_new(o, "completedAt", time_json(r->completed, r->completed_at_ms));
    return o;
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
    wr_error err = {0};
    if (!json_is_string(task) || json_string_length(task) == 0 ||
        json_string_length(task) >= sizeof(r.task_identifier)) {
        json_decref(body);
        wr_rt_fail(req, 400, "`taskIdentifier` must be a string of 1-128 characters");
        return;
    }
    strcpy(r.task_identifier, json_string_value(task));
    wr_rt_new_id("run_", 29, r.id);
    strcpy(r.env_id, env.id);
    strcpy(r.root_run_id, r.id);
    if (parent && !json_is_null(parent)) {
        wr_run p;
        if (!json_is_string(parent) ||
            wr_meta_run_get(rt->meta, env.id, json_string_value(parent), &p, &err) != WR_OK) {
            json_decref(body);
            wr_rt_fail(req, 400, "`parentRunId` is not a run of this environment");
            return;
        }
        r.has_parent = true;
        strcpy(r.parent_run_id, p.id);
        strcpy(r.root_run_id, p.root_run_id);
    }
    json_decref(body);
    if (!org_stamp(req, rt, &env, r.basin, &r.has_basin))
        return;
    if (wr_meta_run_create(rt->meta, &r, &err) != WR_OK) {
        wr_rt_fail_err(req, &err);
        return;
    }
    wr_resp_json(req, 201, run_json(&r));
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
    if (wr_meta_run_get(rt->meta, env.id, req->params[0], &r, &err) != WR_OK ||
        wr_meta_run_complete(rt->meta, r.id, wr_clock_now_ms(), &err) != WR_OK ||
        wr_meta_run_get(rt->meta, env.id, r.id, &r, &err) != WR_OK) {
        wr_rt_fail_lookup(req, &err, "Run not found");
        return;
    }
    wr_resp_json(req, 200, run_json(&r));
}

static json_t *
session_json(const wr_session *s)
{
    json_t *o = json_pack("{s:s,s:o,s:s,s:s,s:o,s:b}", "id", s->id, "externalId",
                          s->has_external_id ? json_string(s->external_id) : json_null(), "type",
                          s->type, "taskIdentifier", s->task_identifier, "streamBasinName",
                          s->has_basin ? json_string(s->basin) : json_null(), "closed", s->closed);
    json_object_set_new(o, "metadata",
                        s->metadata_json ? json_loads(s->metadata_json, 0, NULL) : json_null());
    json_object_set_new(o, "tags", s->tags_json ? json_loads(s->tags_json, 0, NULL) : json_array());
    json_object_set_new(o, "closedAt", time_json(s->closed, s->closed_at_ms));
    json_object_set_new(o, "closedReason", s->closed ? json_string(s->closed_reason) : json_null());
    json_object_set_new(o, "expiresAt", time_json(s->expires_at_ms != 0, s->expires_at_ms));
    return o;
}

/* Copies an optional string field (≤ cap-1 bytes, no control characters: such names end up in
 * stream names and response headers); answers 400 itself. */
static bool
opt_str(wr_req *req, json_t *body, const char *name, char *out, size_t cap, bool *out_has)
{
    json_t *v = json_object_get(body, name);
    if (out_has)
        *out_has = false;
    if (v == NULL || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) >= cap ||
        strlen(json_string_value(v)) != json_string_length(v) ||
        !wr_rt_name_ok(json_string_value(v))) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "`%s` must be a string of at most %zu characters without control characters", name,
                 cap - 1);
        wr_rt_fail(req, 400, msg);
        return false;
    }
    strcpy(out, json_string_value(v));
    if (out_has)
        *out_has = true;
    return true;
}

static void
create_session(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    if (!env_auth(req, rt, &env))
        return;
    json_t *body = wr_rt_body(req);
    if (!body)
        return;
    wr_session s = {0};
    json_t *meta = json_object_get(body, "metadata"), *tags = json_object_get(body, "tags");
    bool ok =
        opt_str(req, body, "externalId", s.external_id, sizeof(s.external_id),
                &s.has_external_id) &&
        opt_str(req, body, "type", s.type, sizeof(s.type), NULL) &&
        opt_str(req, body, "taskIdentifier", s.task_identifier, sizeof(s.task_identifier), NULL);
    if (ok && s.has_external_id &&
        (s.external_id[0] == '\0' || strncmp(s.external_id, WR_META_SESSION_ID_PREFIX,
                                             strlen(WR_META_SESSION_ID_PREFIX)) == 0)) {
        wr_rt_fail(req, 400, "`externalId` must be 1-256 characters and not start with session_");
        ok = false;
    }
    if (ok && tags && !json_is_null(tags) && !json_is_array(tags)) {
        wr_rt_fail(req, 400, "`tags` must be an array");
        ok = false;
    }
    if (!ok) {
        json_decref(body);
        return;
    }
    if (meta && !json_is_null(meta))
        s.metadata_json = json_dumps(meta, JSON_COMPACT | JSON_ENCODE_ANY);
    if (tags && !json_is_null(tags))
        s.tags_json = json_dumps(tags, JSON_COMPACT);
    json_decref(body);
    wr_rt_new_id(WR_META_SESSION_ID_PREFIX, 29, s.id);
    strcpy(s.env_id, env.id);
    wr_session out = {0};
    bool created = false;
    wr_error err = {0};
    if (!org_stamp(req, rt, &env, s.basin, &s.has_basin)) {
        wr_session_fini(&s);
        return;
    }
    if (wr_meta_session_create_or_get(rt->meta, &s, &out, &created, &err) != WR_OK) {
        wr_session_fini(&s);
        wr_rt_fail_err(req, &err);
        return;
    }
    wr_session_fini(&s);
    if (!created && out.closed) {
        wr_session_fini(&out);
        wr_rt_fail(req, 409, "Session is closed");
        return;
    }
    /* A public token for the browser side: read + write on this session, by id and externalId. */
    json_t *scopes = json_pack("[s+,s+]", "read:sessions:", out.id, "write:sessions:", out.id);
    if (out.has_external_id) {
        json_array_append_new(scopes, json_pack("s+", "read:sessions:", out.external_id));
        json_array_append_new(scopes, json_pack("s+", "write:sessions:", out.external_id));
    }
    char *jwt = wr_rt_public_token(rt, &env, scopes, SESSION_TOKEN_TTL_S);
    json_t *o = session_json(&out);
    json_object_set_new(o, "publicAccessToken", json_string(jwt));
    free(jwt);
    wr_resp_json(req, created ? 201 : 200, o);
    wr_session_fini(&out);
}

static void
get_session(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    if (!env_auth(req, rt, &env))
        return;
    wr_session s = {0};
    wr_error err = {0};
    if (wr_meta_session_get(rt->meta, env.id, req->params[0], &s, &err) != WR_OK) {
        wr_rt_fail_lookup(req, &err, "Session not found");
        return;
    }
    wr_resp_json(req, 200, session_json(&s));
    wr_session_fini(&s);
}

static void
close_session(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    if (!env_auth(req, rt, &env))
        return;
    char reason[257] = "";
    json_t *body = req->body.len ? json_loadb(req->body.data, req->body.len, 0, NULL) : NULL;
    if (req->body.len && !json_is_object(body)) {
        json_decref(body);
        wr_rt_fail(req, 400, "Invalid JSON body");
        return;
    }
    if (body && !opt_str(req, body, "reason", reason, sizeof(reason), NULL)) {
        json_decref(body);
        return;
    }
    json_decref(body);
    wr_session s = {0};
    wr_error err = {0};
    bool already = false;
    if (wr_meta_session_get(rt->meta, env.id, req->params[0], &s, &err) != WR_OK ||
        wr_meta_session_close(rt->meta, s.id, reason, wr_clock_now_ms(), &already, &err) != WR_OK) {
        wr_session_fini(&s);
        wr_rt_fail_lookup(req, &err, "Session not found");
        return;
    }
    if (!already)
        wr_rt_release_session(rt, &env, &s); /* its channels may age out; tokens revoked */
    char id[WR_META_ID_MAX + 1];
    strcpy(id, s.id);
    wr_session_fini(&s);
    wr_meta_session_get(rt->meta, env.id, id, &s, &err);
    wr_resp_json(req, 200, session_json(&s));
    wr_session_fini(&s);
}

void
wr_rt_api_register(wr_rt *rt, wr_router *r)
{
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/runs", create_run, 64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/runs/{runId}/complete", complete_run, 0);
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/sessions", create_session, 256 * 1024);
    wr_rt_route(rt, r, WR_METHOD_GET, "/api/v1/sessions/{session}", get_session, 0);
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/sessions/{session}/close", close_session,
                64 * 1024);
}
