/*
 * sessions.c — the Sessions API of /api/v1 (trigger.dev's, so its published clients work), with
 * an environment's secret key:
 *   POST  /api/v1/sessions                                   create, or return by externalId
 *   GET   /api/v1/sessions                                   list (cursor pages, filters)
 *   GET   /api/v1/sessions/:session                          retrieve (session_… id or externalId)
 *   PATCH /api/v1/sessions/:session                          tags, metadata, externalId
 *   POST  /api/v1/sessions/:session/close                    write-once close
 *   POST  /api/v1/sessions/:session/end-and-continue         hand the session to a new run
 * Answers are trigger.dev's SessionItem / CreatedSessionResponseBody shapes (camelCase, ISO
 * dates), plus weir's `streamBasinName` and `closed`.
 *
 * Runs: weir streams runs, it does not execute them. A session create registers a run row for
 * the session's first run (`runId`, `currentRunId`), stamped like the session; end-and-continue
 * registers the next one and swaps `currentRunId` atomically. Whatever executes tasks picks the
 * runs up; weir only serves their streams.
 *
 * Stamps: a new session copies its organization's basin (possibly none); a row's basin and its
 * channel name (`stream_key`: the externalId at create, else the id) never change, so renaming a
 * session with PATCH does not move its channels.
 */
#include <stdio.h>
#include <string.h>

#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/jsonw.h"
#include "util/mem.h"

#define SESSION_TOKEN_TTL_S 3600 /* the create answer's public token */
#define MAX_TAGS 10
#define MAX_TAG_LEN 128
#define MAX_FILTER_VALUES 32

/* ---- JSON ------------------------------------------------------------------------------------ */

/*
 * trigger.dev's SessionItem members for s, with weir's streamBasinName and closed (no braces:
 * the create answer adds its own). tags, metadata and triggerConfig are stored as the compact
 * JSON text weir wrote at create or update (json_dumps of a value it parsed), so they are
 * spliced in as they are.
 */
static void
session_members(wr_buf *b, const wr_session *s)
{
    wr_jw_str(b, "id", s->id);
    wr_jw_str_or_null(b, "externalId", s->has_external_id, s->external_id);
    wr_jw_str(b, "type", s->type);
    wr_jw_str(b, "taskIdentifier", s->task_identifier);
    wr_jw_str_or_null(b, "currentRunId", s->has_current_run, s->current_run_id);
    wr_jw_raw(b, "tags", s->tags_json, "[]");
    wr_jw_raw(b, "metadata", s->metadata_json, "null");
    wr_jw_time(b, "closedAt", s->closed, s->closed_at_ms);
    wr_jw_str_or_null(b, "closedReason", s->closed, s->closed_reason);
    wr_jw_time(b, "expiresAt", s->expires_at_ms != 0, s->expires_at_ms);
    wr_jw_time(b, "createdAt", true, s->created_at_ms);
    wr_jw_time(b, "updatedAt", true, s->updated_at_ms);
    wr_jw_bool(b, "closed", s->closed);
    if (s->trigger_config_json)
        wr_jw_raw(b, "triggerConfig", s->trigger_config_json, "null");
    wr_jw_str_or_null(b, "streamBasinName", s->has_basin, s->basin);
}

/* The SessionItem of s as one JSON object. */
static void
session_object(wr_buf *b, const wr_session *s)
{
    wr_jw_open(b, '{');
    session_members(b, s);
    wr_jw_close(b, '}');
}

/* Answers `status` with the JSON text in b, and frees it. */
static void
answer_text(wr_req *req, int status, wr_buf *b)
{
    wr_resp_send(req, status, "application/json", b->data, b->len);
    wr_buf_fini(b);
}

/* 200 with the SessionItem of s. */
static void
answer_session(wr_req *req, const wr_session *s)
{
    wr_buf b = {0};
    session_object(&b, s);
    answer_text(req, 200, &b);
}

/* ---- body fields ----------------------------------------------------------------------------- */

/*
 * A string field of min..max bytes without control characters. Absent or null: *out stays
 * untouched and `required` decides. Answers 400 itself.
 */
static bool
str_field(wr_req *req, json_t *body, const char *name, size_t min, size_t max, bool required,
          char *out, size_t cap, bool *out_has)
{
    json_t *v = json_object_get(body, name);
    if (out_has)
        *out_has = false;
    if (v == NULL || json_is_null(v)) {
        if (!required)
            return true;
    } else if (json_is_string(v) && json_string_length(v) >= min && json_string_length(v) <= max &&
               json_string_length(v) < cap &&
               strlen(json_string_value(v)) == json_string_length(v) &&
               wr_rt_name_ok(json_string_value(v))) {
        strcpy(out, json_string_value(v));
        if (out_has)
            *out_has = true;
        return true;
    }
    char msg[160];
    snprintf(msg, sizeof(msg),
             "`%s` must be a string of %zu to %zu characters without control characters", name, min,
             max);
    wr_rt_fail(req, WR_ERR_BAD_REQUEST, msg);
    return false;
}

/*
 * `externalId`: trimmed of surrounding spaces (as trigger.dev does), then 1-256 characters
 * without control characters or `/` (it names the session's channel streams, one segment),
 * not starting with session_. Absent or null: *out_has false. Answers 400 itself.
 */
static bool
external_id_field(wr_req *req, json_t *body, char out[257], bool *out_has)
{
    json_t *v = json_object_get(body, "externalId");
    *out_has = false;
    if (v == NULL || json_is_null(v))
        return true;
    const char *s = json_string_value(v), *bad = NULL;
    size_t n = s && strlen(s) == json_string_length(v) ? strlen(s) : 0;
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 256)
        bad = "`externalId` must be a string of 1 to 256 characters (not counting surrounding "
              "spaces)";
    else if (memchr(s, '/', n))
        bad = "`externalId` must not contain `/`";
    else if (n >= strlen(WR_META_SESSION_ID_PREFIX) &&
             strncmp(s, WR_META_SESSION_ID_PREFIX, strlen(WR_META_SESSION_ID_PREFIX)) == 0)
        bad = "`externalId` cannot start with session_ (reserved for session ids)";
    if (!bad) {
        memcpy(out, s, n);
        out[n] = '\0';
        if (!wr_rt_name_ok(out))
            bad = "`externalId` must not contain control characters";
    }
    if (bad) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, bad);
        return false;
    }
    *out_has = true;
    return true;
}

/* `tags`: an array of at most 10 strings of at most 128 characters. */
static bool
tags_ok(const json_t *v)
{
    bool ok = json_is_array(v) && json_array_size(v) <= MAX_TAGS;
    for (size_t i = 0; ok && i < json_array_size(v); i++) {
        const json_t *t = json_array_get(v, i);
        ok = json_is_string(t) && json_string_length(t) <= MAX_TAG_LEN &&
             strlen(json_string_value(t)) == json_string_length(t) &&
             wr_rt_name_ok(json_string_value(t));
    }
    return ok;
}

static bool
object_ok(const json_t *v)
{
    return json_is_object(v);
}

/* An optional JSON field (tags, metadata): *out_json (malloc'd) is its compact form, NULL when
 * absent or null; a value `valid` refuses answers 400 with `msg`. */
static bool
json_field(wr_req *req, json_t *v, bool (*valid)(const json_t *), const char *msg, char **out_json)
{
    *out_json = NULL;
    if (v == NULL || json_is_null(v))
        return true;
    if (!valid(v)) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, msg);
        return false;
    }
    *out_json = json_dumps(v, JSON_COMPACT);
    return true;
}

static const char TAGS_MSG[] =
    "`tags` must be an array of at most 10 strings of at most 128 characters";
static const char METADATA_MSG[] = "`metadata` must be an object";

/* A date: an ISO 8601 / RFC 3339 string, or milliseconds since the epoch (as JavaScript's Date). */
static bool
date_value(json_t *v, uint64_t *out_ms)
{
    if (json_is_integer(v) && json_integer_value(v) > 0 &&
        (uint64_t)json_integer_value(v) <= WR_CLOCK_MAX_MS) {
        *out_ms = (uint64_t)json_integer_value(v);
        return true;
    }
    return json_is_string(v) && wr_clock_parse_rfc3339(json_string_value(v), out_ms);
}

/* trigger.dev's MachinePresetName. */
static bool
machine_preset(const char *m)
{
    static const char *const presets[] = {"micro",     "small-1x", "small-2x", "medium-1x",
                                          "medium-2x", "large-1x", "large-2x"};
    for (size_t i = 0; m && i < sizeof(presets) / sizeof(presets[0]); i++)
        if (strcmp(m, presets[i]) == 0)
            return true;
    return false;
}

/* trigger.dev's ExternalDeploymentId: absent, null, or a string of at most 128 characters. */
static bool
deployment_id_ok(json_t *v)
{
    return !v || json_is_null(v) ||
           (json_is_string(v) && json_string_length(v) <= 128 &&
            strlen(json_string_value(v)) == json_string_length(v) &&
            wr_rt_name_ok(json_string_value(v)));
}

/* trigger.dev's TriggerConcurrencyLimitsSchema: at most 2 names of [a-zA-Z0-9_-]{1,122}. */
static bool
concurrency_ok(json_t *v)
{
    if (!v)
        return true;
    if (!json_is_array(v) || json_array_size(v) > 2)
        return false;
    size_t i;
    json_t *n;
    json_array_foreach(v, i, n)
    {
        const char *s = json_string_value(n);
        size_t len = s ? strlen(s) : 0;
        if (!s || len < 1 || len > 122 || len != json_string_length(n) ||
            strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len)
            return false;
    }
    return true;
}

/* Whether a trigger config field `name` of `cfg` has the type trigger.dev's schema asks for. */
static const char *
trigger_config_error(json_t *cfg)
{
    if (!json_is_object(cfg))
        return "`triggerConfig` must be an object";
    if (!json_is_object(json_object_get(cfg, "basePayload")))
        return "`triggerConfig.basePayload` must be an object";
    static const char *const strings[] = {"machine", "queue", "lockToVersion", "region"};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        json_t *v = json_object_get(cfg, strings[i]);
        if (v && !json_is_string(v))
            return "`triggerConfig` has a field of the wrong type (machine, queue, "
                   "lockToVersion and region are strings)";
    }
    json_t *ck = json_object_get(cfg, "concurrencyKey");
    if (ck && !json_is_string(ck) && !json_is_number(ck))
        return "`triggerConfig.concurrencyKey` must be a string or a number";
    json_t *machine = json_object_get(cfg, "machine");
    if (machine && !machine_preset(json_string_value(machine)))
        return "`triggerConfig.machine` must be one of micro, small-1x, small-2x, medium-1x, "
               "medium-2x, large-1x, large-2x";
    if (!deployment_id_ok(json_object_get(cfg, "externalDeploymentId")))
        return "`triggerConfig.externalDeploymentId` must be a string of at most 128 characters";
    if (!concurrency_ok(json_object_get(cfg, "concurrency")))
        return "`triggerConfig.concurrency` must be an array of at most 2 names of 1-122 "
               "characters of [A-Za-z0-9_-]";
    json_t *q = json_object_get(cfg, "queue");
    if (q && json_string_length(q) > 128)
        return "`triggerConfig.queue` is longer than 128 characters";
    static const struct {
        const char *name;
        json_int_t min, max;
    } ints[] = {
        {"maxAttempts", 1, 10}, {"maxDuration", 1, INT32_MAX}, {"idleTimeoutInSeconds", 1, 3600}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        json_t *v = json_object_get(cfg, ints[i].name);
        if (v && (!json_is_integer(v) || json_integer_value(v) < ints[i].min ||
                  json_integer_value(v) > ints[i].max))
            return "`triggerConfig` has an integer out of range (maxAttempts 1-10, maxDuration > "
                   "0, idleTimeoutInSeconds 1-3600)";
    }
    json_t *ttl = json_object_get(cfg, "ttl");
    if (ttl && !json_is_string(ttl) && !(json_is_integer(ttl) && json_integer_value(ttl) >= 0))
        return "`triggerConfig.ttl` must be a duration string or a non-negative integer";
    json_t *tags = json_object_get(cfg, "tags"), *tag;
    size_t i;
    bool tags_ok = !tags || (json_is_array(tags) && json_array_size(tags) <= MAX_TAGS);
    json_array_foreach(tags, i, tag)
    {
        tags_ok = tags_ok && json_is_string(tag) && json_string_length(tag) <= MAX_TAG_LEN;
    }
    if (!tags_ok)
        return "`triggerConfig.tags` must be an array of at most 10 strings of at most 128 "
               "characters";
    return NULL;
}

/* ---- runs ------------------------------------------------------------------------------------ */

/* A new run row for session s (its task, its stamp). */
static void
session_run(const wr_session *s, wr_run *out)
{
    memset(out, 0, sizeof(*out));
    wr_rt_new_sorted_id("run_", 29, out->id);
    strcpy(out->env_id, s->env_id);
    snprintf(out->task_identifier, sizeof(out->task_identifier), "%s", s->task_identifier);
    out->has_basin = s->has_basin;
    strcpy(out->basin, s->basin);
}

/* ---- routes ---------------------------------------------------------------------------------- */

/* The session named by params[0] in env; false after answering 404 (or the error). */
static bool
session_lookup(wr_req *req, wr_rt *rt, const wr_env *env, wr_session *out)
{
    wr_error err = {0};
    if (wr_rt_read_session(rt, req, env->id, req->params[0], out, &err) == WR_OK)
        return true;
    wr_rt_fail_lookup(req, &err, "Session not found");
    return false;
}

/* Parses the create body into s (JSON strings owned by s); false after answering 400. */
static bool
create_body(wr_req *req, json_t *body, wr_session *s)
{
    if (!external_id_field(req, body, s->external_id, &s->has_external_id) ||
        !str_field(req, body, "type", 1, 64, false, s->type, sizeof(s->type), NULL) ||
        !str_field(req, body, "taskIdentifier", 1, 128, false, s->task_identifier,
                   sizeof(s->task_identifier), NULL) ||
        !json_field(req, json_object_get(body, "tags"), tags_ok, TAGS_MSG, &s->tags_json) ||
        !json_field(req, json_object_get(body, "metadata"), object_ok, METADATA_MSG,
                    &s->metadata_json))
        return false;
    if (!s->type[0])
        strcpy(s->type, "default");
    json_t *cfg = json_object_get(body, "triggerConfig");
    if (cfg && !json_is_null(cfg)) {
        const char *bad = trigger_config_error(cfg);
        if (bad) {
            wr_rt_fail(req, WR_ERR_BAD_REQUEST, bad);
            return false;
        }
        s->trigger_config_json = json_dumps(cfg, JSON_COMPACT);
    }
    json_t *exp = json_object_get(body, "expiresAt");
    if (exp && !json_is_null(exp) && !date_value(exp, &s->expires_at_ms)) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST,
                   "`expiresAt` must be an ISO 8601 date or milliseconds since 1970");
        return false;
    }
    return true;
}

/* Authenticates the environment's key and reads the JSON body; NULL once it has answered. */
static json_t *
env_body(wr_req *req, wr_rt *rt, wr_env *out_env)
{
    return wr_rt_env_auth(req, rt, out_env) ? wr_rt_body(req) : NULL;
}

/* A session create on its way through the control plane's writer. */
typedef struct create_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    wr_env env;
    wr_session s, out;
    wr_run run;
    bool created;
} create_op;

/* Writer thread: the row (and its first run), or the existing one with that externalId. */
static wr_err
create_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    create_op *op = ctx;
    return wr_meta_session_create_or_get(m, &op->s, &op->run, &op->out, &op->created, out_err);
}

/* Writer thread: several creates in one call (one statement on PostgreSQL). */
static wr_err
create_batch(wr_meta *m, void *const *ctxs, size_t n, wr_error *out_err)
{
    wr_meta_session_create *c = wr_xcalloc(n, sizeof(*c));
    for (size_t i = 0; i < n; i++) {
        create_op *op = ctxs[i];
        c[i] = (wr_meta_session_create){
            .s = &op->s, .first_run = &op->run, .out = &op->out, .out_created = &op->created};
    }
    wr_err err = wr_meta_session_create_many(m, c, n, out_err);
    free(c);
    return err;
}

/* The answer to a create whose row is durable: the SessionItem with a public token for the
 * browser side (read + write on this session, by id and externalId), or 409 when the externalId
 * names a closed session. */
static void
create_answer(wr_req *req, const create_op *op)
{
    const wr_session *out = &op->out;
    if (!op->created && out->closed) {
        wr_rt_fail_closed(req, out, "Session is closed: create one with another externalId");
        return;
    }
    wr_buf scopes = {0};
    wr_jw_open(&scopes, '[');
    wr_jw_elem_str2(&scopes, "read:sessions:", out->id);
    wr_jw_elem_str2(&scopes, "write:sessions:", out->id);
    if (out->has_external_id) {
        wr_jw_elem_str2(&scopes, "read:sessions:", out->external_id);
        wr_jw_elem_str2(&scopes, "write:sessions:", out->external_id);
    }
    wr_jw_close(&scopes, ']');
    char *jwt = wr_rt_public_token(op->rt, &op->env, scopes.data, SESSION_TOKEN_TTL_S);
    wr_buf_fini(&scopes);
    wr_buf b = {0};
    wr_jw_open(&b, '{');
    session_members(&b, out);
    wr_jw_str(&b, "runId", out->has_current_run ? out->current_run_id : "");
    wr_jw_bool(&b, "isCached", !op->created);
    if (jwt)
        wr_jw_str(&b, "publicAccessToken", jwt);
    wr_jw_close(&b, '}');
    free(jwt);
    answer_text(req, op->created ? 201 : 200, &b);
}

/* Loop thread, once the change is durable (or failed). */
static void
create_done(void *ctx, wr_err rc, const wr_error *err)
{
    create_op *op = ctx;
    wr_req *req = wr_rt_take_req(op);
    if (req && rc != WR_OK)
        wr_rt_fail_err(req, err);
    else if (req)
        create_answer(req, op);
    wr_session_fini(&op->s);
    wr_session_fini(&op->out);
    free(op);
}

static void
create_session(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    json_t *body = env_body(req, rt, &env);
    if (!body)
        return;
    create_op *op = wr_xcalloc(1, sizeof(*op));
    bool ok = create_body(req, body, &op->s);
    json_decref(body);
    if (ok) {
        wr_rt_new_sorted_id(WR_META_SESSION_ID_PREFIX, 29, op->s.id);
        strcpy(op->s.env_id, env.id);
        ok = wr_rt_org_stamp(req, rt, &env, op->s.basin, &op->s.has_basin);
    }
    if (!ok) {
        wr_session_fini(&op->s);
        free(op);
        return;
    }
    session_run(&op->s, &op->run);
    op->rt = rt;
    op->env = env;
    wr_rt_hold_req(req, op);
    wr_rt_meta_change_batched(rt, env.id, create_job,
                              wr_meta_session_creates_batch(rt->meta) ? create_batch : NULL,
                              create_done, op);
}

static void
get_session(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    wr_session s;
    if (!wr_rt_env_auth(req, rt, &env) || !session_lookup(req, rt, &env, &s))
        return;
    answer_session(req, &s);
    wr_session_fini(&s);
}

/* A session update on its way through the control plane's writer. */
typedef struct update_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    char env_id[WR_META_ID_MAX + 1];
    char id[WR_META_ID_MAX + 1];
    wr_session_patch p; /* points into the fields below */
    char *tags, *meta;
    char ext[257];
    wr_session s; /* the row as updated, read back by the job */
} update_op;

/* Writer thread: the change, then the row as it now is (in the same transaction, so the answer
 * needs no read on the loop). */
static wr_err
update_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    update_op *op = ctx;
    wr_err rc = wr_meta_session_update(m, op->env_id, op->id, &op->p, out_err);
    return rc != WR_OK ? rc : wr_meta_session_get(m, op->env_id, op->id, &op->s, out_err);
}

/* The answer to an update: the row as it is now, or the error. */
static void
update_answer(wr_req *req, const update_op *op, wr_err rc, const wr_error *err)
{
    if (rc == WR_ERR_RESOURCE_ALREADY_EXISTS) {
        wr_rt_fail(req, WR_ERR_RESOURCE_ALREADY_EXISTS,
                   "Another session of this environment has that externalId");
    } else if (rc != WR_OK) {
        wr_rt_fail_err(req, err);
    } else {
        answer_session(req, &op->s);
    }
}

static void
update_done(void *ctx, wr_err rc, const wr_error *err)
{
    update_op *op = ctx;
    wr_req *req = wr_rt_take_req(op);
    if (req)
        update_answer(req, op, rc, err);
    wr_session_fini(&op->s);
    free(op->tags);
    free(op->meta);
    free(op);
}

/* PATCH {tags?, metadata?, externalId? (null clears)} → the updated SessionItem. */
static void
update_session(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    wr_session s;
    json_t *body = env_body(req, rt, &env);
    if (!body)
        return;
    if (!session_lookup(req, rt, &env, &s)) {
        json_decref(body);
        return;
    }
    update_op *op = wr_xcalloc(1, sizeof(*op));
    bool has_ext = false;
    json_t *t = json_object_get(body, "tags"), *md = json_object_get(body, "metadata"),
           *e = json_object_get(body, "externalId");
    bool ok = json_field(req, t, tags_ok, TAGS_MSG, &op->tags) &&
              json_field(req, md, object_ok, METADATA_MSG, &op->meta) &&
              external_id_field(req, body, op->ext, &has_ext);
    if (ok && json_is_null(t)) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "`tags` must be an array");
        ok = false;
    }
    op->p.set_tags = op->tags != NULL;
    op->p.tags_json = op->tags;
    op->p.set_metadata = md != NULL;
    op->p.metadata_json = op->meta;
    op->p.set_external_id = e != NULL;
    op->p.external_id = has_ext ? op->ext : NULL;
    op->rt = rt;
    strcpy(op->env_id, env.id);
    strcpy(op->id, s.id);
    wr_session_fini(&s);
    json_decref(body);
    if (!ok) {
        free(op->tags);
        free(op->meta);
        free(op);
        return;
    }
    wr_rt_hold_req(req, op);
    wr_rt_meta_change(rt, env.id, update_job, update_done, op);
}

/* A close: its write through the control plane's writer, then the release of its channels. */
typedef struct close_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    wr_env env;
    wr_session s;     /* as read before the close */
    wr_session after; /* as the close left it, read back by the job */
    char reason[257];
    bool already; /* closed before: released again all the same */
} close_op;

static void
close_op_free(close_op *op)
{
    wr_session_fini(&op->s);
    wr_session_fini(&op->after);
    free(op);
}

static void
close_released(void *ud, wr_err err, const wr_error *detail)
{
    close_op *op = ud;
    wr_req *req = wr_rt_take_req(op);
    if (!req) {
        close_op_free(op);
        return;
    }
    if (err != WR_OK) {
        /* Closed for good, but a write token may still work: the client retries the close. */
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "the session is closed, but releasing its channels failed (%s); retry the close",
                 detail ? detail->msg : wr_err_code(err));
        wr_rt_fail(req, wr_err_status(err) >= 500 ? err : WR_ERR_BAD_GATEWAY, msg);
    } else {
        answer_session(req, &op->after);
    }
    close_op_free(op);
}

/* Writer thread: the write-once close. */
static wr_err
close_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    close_op *op = ctx;
    wr_err rc =
        wr_meta_session_close(m, op->s.id, op->reason, wr_clock_now_ms(), &op->already, out_err);
    return rc != WR_OK ? rc : wr_meta_session_get(m, op->env.id, op->s.id, &op->after, out_err);
}

/* Loop thread: the close is durable; now its channels' pins and write tokens go. */
static void
close_done(void *ctx, wr_err rc, const wr_error *err)
{
    close_op *op = ctx;
    if (rc != WR_OK) {
        wr_req *req = wr_rt_take_req(op);
        if (req)
            wr_rt_fail_lookup(req, err, "Session not found");
        close_op_free(op);
        return;
    }
    /* Released even when the client has gone: the session is closed either way. */
    wr_rt_release_session(op->rt, &op->env, &op->s, close_released, op);
}

/*
 * POST close {reason?, callingRunId?}: write-once; answered once the channels' pins and write
 * tokens are gone (a close of a closed session releases again, so a failed release is retried).
 */
static void
close_session(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    if (!wr_rt_env_auth(req, rt, &env))
        return;
    char reason[257] = "", calling[WR_META_ID_MAX + 1] = "";
    json_t *body = req->body.len ? wr_rt_body(req) : json_object();
    if (!body)
        return;
    bool ok = str_field(req, body, "reason", 0, 256, false, reason, sizeof(reason), NULL) &&
              str_field(req, body, "callingRunId", 1, WR_META_ID_MAX, false, calling,
                        sizeof(calling), NULL);
    json_decref(body);
    wr_session s;
    if (!ok || !session_lookup(req, rt, &env, &s))
        return;
    close_op *op = wr_xcalloc(1, sizeof(*op));
    op->rt = rt;
    op->env = env;
    op->s = s;
    strcpy(op->reason, reason);
    wr_rt_hold_req(req, op);
    wr_rt_meta_change(rt, env.id, close_job, close_done, op);
}

/* An end-and-continue on its way through the control plane's writer. */
typedef struct swap_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    char env_id[WR_META_ID_MAX + 1];
    char id[WR_META_ID_MAX + 1];
    char calling[WR_META_ID_MAX + 1];
    wr_run run;
    bool swapped;
    wr_session s; /* the row after the swap (or not), read back by the job */
} swap_op;

static wr_err
swap_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    swap_op *op = ctx;
    wr_err rc = wr_meta_session_swap_run(m, op->id, op->calling, &op->run, &op->swapped, out_err);
    return rc != WR_OK ? rc : wr_meta_session_get(m, op->env_id, op->id, &op->s, out_err);
}

static void
swap_answer(wr_req *req, const swap_op *op, wr_err rc, const wr_error *err)
{
    if (rc != WR_OK)
        wr_rt_fail_err(req, err);
    else
        wr_resp_json(req, 200,
                     json_pack("{s:s,s:b}", "runId",
                               op->s.has_current_run ? op->s.current_run_id : "", "swapped",
                               op->swapped));
}

static void
swap_done(void *ctx, wr_err rc, const wr_error *err)
{
    swap_op *op = ctx;
    wr_req *req = wr_rt_take_req(op);
    if (req)
        swap_answer(req, op, rc, err);
    wr_session_fini(&op->s);
    free(op);
}

/*
 * POST end-and-continue {callingRunId, reason, externalDeploymentId?} → {runId, swapped}: a new
 * run takes over the session if `callingRunId` is still its current run (a compare-and-swap);
 * otherwise nothing changes and the answer names the run that is current (swapped: false).
 */
static void
end_and_continue(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    json_t *body = env_body(req, rt, &env);
    if (!body)
        return;
    char calling[WR_META_ID_MAX + 1] = "", reason[65] = "";
    bool ok = str_field(req, body, "callingRunId", 1, WR_META_ID_MAX, true, calling,
                        sizeof(calling), NULL) &&
              str_field(req, body, "reason", 0, 64, true, reason, sizeof(reason), NULL);
    if (ok && !deployment_id_ok(json_object_get(body, "externalDeploymentId"))) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST,
                   "`externalDeploymentId` must be a string of at most 128 characters");
        ok = false;
    }
    json_decref(body);
    wr_session s;
    if (!ok || !session_lookup(req, rt, &env, &s))
        return;
    if (s.closed) {
        wr_rt_fail_closed(req, &s, "Session is closed");
        wr_session_fini(&s);
        return;
    }
    swap_op *op = wr_xcalloc(1, sizeof(*op));
    op->rt = rt;
    session_run(&s, &op->run);
    strcpy(op->env_id, env.id);
    strcpy(op->id, s.id);
    strcpy(op->calling, calling);
    wr_session_fini(&s);
    wr_rt_hold_req(req, op);
    wr_rt_meta_change(rt, env.id, swap_job, swap_done, op);
}

/* ---- listing --------------------------------------------------------------------------------- */

typedef struct list_query {
    wr_session_filter f;
    const char *types[MAX_FILTER_VALUES], *tags[MAX_FILTER_VALUES], *tasks[MAX_FILTER_VALUES];
    const char *period;
    const char *bad; /* the first problem found */
    bool empty;      /* the filter can match nothing (a range ending before 1970) */
    wr_req *req;
} list_query;

/* Adds v (and its comma-separated parts) to a filter array. */
static void
add_values(list_query *q, const char **arr, size_t *n, char *v)
{
    for (char *save = NULL, *p = strtok_r(v, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_FILTER_VALUES) {
            q->bad = "too many filter values (at most 32 per filter)";
            return;
        }
        arr[(*n)++] = p;
    }
}

static bool
status_bits(const char *v, unsigned *bits)
{
    static const struct {
        const char *name;
        unsigned bit;
    } st[] = {{"ACTIVE", WR_SESSION_ACTIVE},
              {"CLOSED", WR_SESSION_CLOSED},
              {"EXPIRED", WR_SESSION_EXPIRED}};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(v, st[i].name) == 0) {
            *bits |= st[i].bit;
            return true;
        }
    return false;
}

static bool
parse_u64(const char *v, uint64_t *out)
{
    char *end;
    if (*v < '0' || *v > '9')
        return false;
    *out = strtoull(v, &end, 10);
    return *end == '\0';
}

/* Query pairs may repeat a key (`filter[type]=a&filter[type]=b`) or list values with commas. */
static void
list_param(void *ud, const char *key, const char *value)
{
    list_query *q = ud;
    char *v = wr_arena_strdup(&q->req->arena, value);
    uint64_t n;
    if (!wr_rt_name_ok(v)) {
        q->bad = "query values must be UTF-8 text without control characters";
        return;
    }
    if (strcmp(key, "page[size]") == 0) {
        if (!parse_u64(v, &n) || n < 1 || n > 100)
            q->bad = "`page[size]` must be an integer from 1 to 100";
        else
            q->f.limit = (size_t)n;
    } else if (strcmp(key, "page[after]") == 0) {
        q->f.after = v;
    } else if (strcmp(key, "page[before]") == 0) {
        q->f.before = v;
    } else if (strcmp(key, "filter[type]") == 0) {
        add_values(q, q->types, &q->f.n_types, v);
    } else if (strcmp(key, "filter[tags]") == 0) {
        add_values(q, q->tags, &q->f.n_tags, v);
    } else if (strcmp(key, "filter[taskIdentifier]") == 0) {
        add_values(q, q->tasks, &q->f.n_task_identifiers, v);
    } else if (strcmp(key, "filter[externalId]") == 0) {
        q->f.external_id = v;
    } else if (strcmp(key, "filter[status]") == 0) {
        if (!*v)
            q->bad = "`filter[status]` must be ACTIVE, CLOSED or EXPIRED";
        for (char *save = NULL, *p = strtok_r(v, ",", &save); p; p = strtok_r(NULL, ",", &save))
            if (!status_bits(p, &q->f.statuses))
                q->bad = "`filter[status]` must be ACTIVE, CLOSED or EXPIRED";
    } else if (strcmp(key, "filter[createdAt][period]") == 0) {
        q->period = v;
    } else if (strcmp(key, "filter[createdAt][from]") == 0) {
        if (!parse_u64(v, &q->f.created_from_ms))
            q->bad = "`filter[createdAt][from]` must be milliseconds since 1970";
    } else if (strcmp(key, "filter[createdAt][to]") == 0) {
        if (!parse_u64(v, &q->f.created_to_ms))
            q->bad = "`filter[createdAt][to]` must be milliseconds since 1970";
        else if (q->f.created_to_ms == 0) /* 0 is "no bound" to the control plane */
            q->empty = true;
    }
}

/* A session listing on its way through a reader: the filter's strings are its own copies. */
typedef struct list_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    char env_id[64];
    wr_session_filter f;
    bool empty;
    const char *types[MAX_FILTER_VALUES], *tags[MAX_FILTER_VALUES], *tasks[MAX_FILTER_VALUES];
    char *strs[3 * MAX_FILTER_VALUES + 3];
    size_t n_strs;
    wr_session_page page;
} list_op;

static const char *
own(list_op *op, const char *s)
{
    if (!s)
        return NULL;
    char *c = wr_xstrdup(s);
    op->strs[op->n_strs++] = c;
    return c;
}

static const char *const *
own_all(list_op *op, const char **dst, const char *const *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = own(op, src[i]);
    return dst;
}

/* Reader thread (or at once on SQLite). */
static wr_err
list_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    list_op *op = ctx;
    return op->empty ? WR_OK : wr_meta_session_list(m, op->env_id, &op->f, &op->page, out_err);
}

static void list_done(void *ctx, wr_err rc, const wr_error *err);
static void list_answer(wr_req *req, const wr_session_page *pg);

static void
list_sessions(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_env env;
    if (!wr_rt_env_auth(req, rt, &env))
        return;
    list_query q = {.req = req};
    q.f.limit = 20;
    q.f.types = q.types;
    q.f.tags = q.tags;
    q.f.task_identifiers = q.tasks;
    if (wr_req_query_each(req, list_param, &q) < 0 && !q.bad)
        q.bad = "malformed query string";
    uint64_t period_s = 0;
    if (!q.bad && q.period) {
        if (wr_duration_parse(q.period, &period_s, NULL) != WR_OK)
            q.bad = "`filter[createdAt][period]` must be a duration like 1h or 7d";
        else
            q.f.created_from_ms = wr_clock_now_ms() - period_s * 1000;
    }
    if (!q.bad && q.f.after && q.f.before)
        q.bad = "Cannot pass both page[after] and page[before] on the same request";
    if (q.bad) {
        wr_rt_fail(req, WR_ERR_BAD_QUERY, q.bad);
        return;
    }
    list_op *op = wr_xcalloc(1, sizeof(*op));
    snprintf(op->env_id, sizeof(op->env_id), "%s", env.id);
    op->empty = q.empty;
    op->f = q.f;
    op->f.types = own_all(op, op->types, q.types, q.f.n_types);
    op->f.tags = own_all(op, op->tags, q.tags, q.f.n_tags);
    op->f.task_identifiers = own_all(op, op->tasks, q.tasks, q.f.n_task_identifiers);
    op->f.external_id = own(op, q.f.external_id);
    op->f.after = own(op, q.f.after);
    op->f.before = own(op, q.f.before);
    wr_rt_hold_req(req, op);
    wr_rt_meta_read(rt, env.id, list_job, NULL, list_done, op);
}

/* Loop thread: the page read (or the failure). */
static void
list_done(void *ctx, wr_err rc, const wr_error *err)
{
    list_op *op = ctx;
    wr_req *req = wr_rt_take_req(op);
    if (req && rc != WR_OK && rc == WR_ERR_NOT_FOUND)
        wr_rt_fail(req, WR_ERR_BAD_REQUEST,
                   "`page[after]`/`page[before]` is not a session of this environment");
    else if (req && rc != WR_OK)
        wr_rt_fail_err(req, err);
    else if (req)
        list_answer(req, &op->page);
    wr_session_page_fini(&op->page);
    for (size_t i = 0; i < op->n_strs; i++)
        free(op->strs[i]);
    free(op);
}

static void
list_answer(wr_req *req, const wr_session_page *pg)
{
    const wr_session_page page = *pg;
    wr_buf b = {0};
    wr_jw_open(&b, '{');
    wr_jw_key(&b, "data");
    wr_jw_open(&b, '[');
    for (size_t i = 0; i < page.n; i++)
        session_object(&b, &page.items[i]);
    wr_jw_close(&b, ']');
    wr_jw_key(&b, "pagination");
    wr_jw_open(&b, '{');
    if (page.has_next && page.n)
        wr_jw_str(&b, "next", page.items[page.n - 1].id);
    if (page.has_previous && page.n)
        wr_jw_str(&b, "previous", page.items[0].id);
    wr_jw_close(&b, '}');
    wr_jw_close(&b, '}');
    answer_text(req, 200, &b);
}

void
wr_rt_sessions_register(wr_rt *rt, wr_router *r)
{
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/sessions", create_session, 256 * 1024);
    wr_rt_route(rt, r, WR_METHOD_GET, "/api/v1/sessions", list_sessions, 0);
    wr_rt_route(rt, r, WR_METHOD_GET, "/api/v1/sessions/{session}", get_session, 0);
    wr_rt_route(rt, r, WR_METHOD_PATCH, "/api/v1/sessions/{session}", update_session, 64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/sessions/{session}/close", close_session,
                64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/sessions/{session}/end-and-continue",
                end_and_continue, 64 * 1024);
}
