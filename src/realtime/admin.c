/*
 * admin.c — /admin/api/v1: organizations, projects, environments (keys), per-organization
 * basin provisioning and plans. Authorized by the server's root token only. JSON is camelCase.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "realtime/org_usage.h"
#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/mem.h"

/* The caller must hold the root token: 401 without a valid token, 403 with any other. */
static bool
admin_auth(wr_req *req, wr_rt *rt)
{
    const wr_token *t = wr_auth_verify(rt->auth, wr_req_header(req, "authorization"));
    if (t == NULL) {
        wr_rt_fail(req, WR_ERR_AUTHN, "Invalid or missing admin token");
        return false;
    }
    if (!t->root) {
        wr_rt_fail(req, WR_ERR_PERMISSION_DENIED, "The admin API needs the server's root token");
        return false;
    }
    return true;
}

static json_t *
org_json(const wr_org *o)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", o->id, "slug", o->slug, "title", o->title,
                     "plan", o->plan, "streamBasinName",
                     o->has_basin ? json_string(o->basin) : json_null());
}

static bool
slug_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > WR_META_SLUG_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    return true;
}

/* Reads a required slug field; answers 400 itself. */
static const char *
body_slug(wr_req *req, json_t *body)
{
    json_t *v = json_object_get(body, "slug");
    if (!json_is_string(v) || !slug_ok(json_string_value(v))) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "`slug` must be 1-64 characters of [a-z0-9_-]");
        return NULL;
    }
    return json_string_value(v);
}

/* Copies the required slug of the request's JSON body to out; false once it has answered. */
static bool
read_slug(wr_req *req, char out[WR_META_SLUG_MAX + 1])
{
    json_t *body = wr_rt_body(req);
    const char *slug = body ? body_slug(req, body) : NULL;
    if (slug)
        strcpy(out, slug);
    json_decref(body);
    return slug != NULL;
}

/*
 * An admin answer waiting for the stream backend (provisioning, token revocation may answer
 * later). The request is detached through on_close; a gone client's op just frees itself.
 */
typedef struct admin_op admin_op;
/* What a route does once its reads are back, on the loop, with its request (still open). */
typedef void (*admin_then)(admin_op *op, wr_req *req);

struct admin_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    char org_id[WR_META_ID_MAX + 1];
    char plan[33];
    char *key; /* environment create and rotate-key: the new key to show */
    /* The row a change writes through the control plane's writer (wr_rt_meta_change). */
    const wr_plan *p;   /* org create and set-plan: the plan to apply */
    wr_org org;         /* also what a read of org_id found */
    wr_project project; /* also what a read of the project id found */
    wr_env env;         /* create: the new row; rotate-key: the id, new hash and sealed key */
    /* Reads (admin_read): made on a reader thread, answered by `then` on the loop. */
    admin_then then;
    wr_err rc;     /* the read's outcome */
    wr_error err;  /* its detail when rc != WR_OK */
    wr_env found;  /* rotate-key: the environment row after the change */
    bool org_read; /* list_projects: the organization was found (a later list may fail) */
    wr_org *orgs;  /* list_orgs */
    size_t n_orgs;
    wr_project *projects; /* list_projects */
    size_t n_projects;
    wr_env *envs; /* list_projects; holds sealed keys: cleansed when freed */
    size_t n_envs;
};

static admin_op *
admin_op_new(wr_req *req, wr_rt *rt, const char *org_id)
{
    admin_op *op = wr_xcalloc(1, sizeof(*op));
    op->rt = rt;
    snprintf(op->org_id, sizeof(op->org_id), "%s", org_id ? org_id : "");
    wr_rt_hold_req(req, op);
    return op;
}

static void
admin_op_free(admin_op *op)
{
    free(op->key);
    free(op->orgs);
    free(op->projects);
    if (op->envs)
        OPENSSL_cleanse(op->envs, op->n_envs * sizeof(*op->envs));
    free(op->envs);
    OPENSSL_cleanse(&op->found, sizeof(op->found));
    free(op);
}

static void
admin_read_done(void *ctx, wr_err rc, const wr_error *err)
{
    admin_op *op = ctx;
    op->rc = rc;
    if (rc != WR_OK && err)
        op->err = *err;
    wr_req *req = wr_rt_take_req(op);
    if (req)
        op->then(op, req); /* answers and frees op, or holds req again for what comes next */
    else
        admin_op_free(op);
}

/*
 * The admin routes read the control plane like every other route: off the loop (a reader thread
 * with PostgreSQL, whose round trip the loop must not wait for; at once with SQLite), at most
 * WR_RT_READS_PER_CREDENTIAL of them in flight (the root token counts as one credential), then
 * `then` continues on the loop. op holds the request (admin_op_new).
 */
static void
admin_read(admin_op *op, wr_meta_job_run run, admin_then then)
{
    op->then = then;
    wr_rt_meta_read(op->rt, "admin", run, NULL, admin_read_done, op);
}

static wr_err
read_org_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    return wr_meta_org_get(m, op->org_id, &op->org, out_err);
}

/* Reads the organization :orgId into op->org, then `then` (which answers 404 when op->rc says
 * so: admin_org_found). An id too long to be one is not found without a read. */
static void
read_org(wr_req *req, wr_rt *rt, admin_then then)
{
    if (strlen(req->params[0]) > WR_META_ID_MAX) {
        wr_rt_fail(req, WR_ERR_NOT_FOUND, "Organization not found");
        return;
    }
    admin_read(admin_op_new(req, rt, req->params[0]), read_org_job, then);
}

/* After read_org: true if the organization was read, else answers (404 or the failure), frees
 * op and returns false. */
static bool
admin_org_found(admin_op *op, wr_req *req)
{
    if (op->rc == WR_OK)
        return true;
    wr_rt_fail_lookup(req, &op->err, "Organization not found");
    admin_op_free(op);
    return false;
}

/* Applies the plan's retention: a shared plan deprovisions, a paid one ensures. */
static void
reconcile_plan(wr_rt *rt, const char *org_id, const wr_plan *plan, wr_rt_result_cb cb, void *ud)
{
    if (plan->shared)
        wr_rt_deprovision(rt, org_id, cb, ud);
    else
        wr_rt_ensure(rt, org_id, plan->retention_s, false, cb, ud);
}

static void
org_created_read(admin_op *op, wr_req *req)
{
    if (op->rc != WR_OK)
        wr_rt_fail_err(req, &op->err);
    else
        wr_resp_json(req, 201, org_json(&op->org));
    admin_op_free(op);
}

/* The row is durable (and its basin provisioned): answered with the row as it is now. */
static void
org_created(void *ud, wr_err err, const wr_error *detail, const wr_rt_result *res)
{
    (void)res;
    admin_op *op = ud;
    wr_req *req = wr_rt_take_req(op);
    if (req && err == WR_OK) {
        wr_rt_hold_req(req, op);
        admin_read(op, read_org_job, org_created_read);
        return;
    }
    if (req)
        wr_rt_fail(req, err, detail ? detail->msg : wr_err_code(err));
    admin_op_free(op);
}

static wr_err
org_create_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    return wr_meta_org_create(m, &op->org, out_err);
}

/* The row is durable: a paid plan provisions its basin before the answer. */
static void
org_create_done(void *ctx, wr_err rc, const wr_error *err)
{
    admin_op *op = ctx;
    if (rc != WR_OK) {
        wr_req *req = wr_rt_take_req(op);
        if (req)
            wr_rt_fail_err(req, err);
        admin_op_free(op);
    } else if (op->p->shared) {
        org_created(op, WR_OK, NULL, NULL);
    } else {
        reconcile_plan(op->rt, op->org_id, op->p, org_created, op);
    }
}

static void
create_org(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    json_t *body = admin_auth(req, rt) ? wr_rt_body(req) : NULL;
    if (!body)
        return;
    const char *slug = body_slug(req, body);
    json_t *title = json_object_get(body, "title"), *plan = json_object_get(body, "plan");
    const wr_plan *p = &rt->cfg.plans[0]; /* the configuration always has a plan */
    if (!slug) {
        json_decref(body);
        return;
    }
    if (!json_is_string(title) || json_string_length(title) == 0 ||
        json_string_length(title) > 256) {
        json_decref(body);
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "`title` must be a string of 1-256 characters");
        return;
    }
    if (plan && !json_is_null(plan) &&
        (!json_is_string(plan) || !(p = wr_rt_plan(&rt->cfg, json_string_value(plan))))) {
        json_decref(body);
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "unknown `plan` (see WEIR_PLAN_RETENTION)");
        return;
    }
    admin_op *op = admin_op_new(req, rt, NULL);
    wr_org *o = &op->org;
    wr_rt_new_id("c", 25, o->id);
    strcpy(op->org_id, o->id);
    strcpy(o->slug, slug);
    strcpy(o->title, json_string_value(title));
    strcpy(o->plan, p->name);
    op->p = p;
    json_decref(body);
    wr_rt_meta_change(rt, NULL, org_create_job, org_create_done, op);
}

static wr_err
list_orgs_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    return wr_meta_org_list(m, &op->orgs, &op->n_orgs, out_err);
}

static void
list_orgs_read(admin_op *op, wr_req *req)
{
    if (op->rc != WR_OK) {
        wr_rt_fail_err(req, &op->err);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < op->n_orgs; i++)
            json_array_append_new(arr, org_json(&op->orgs[i]));
        wr_resp_json(req, 200, json_pack("{s:o}", "organizations", arr));
    }
    admin_op_free(op);
}

static void
list_orgs(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (admin_auth(req, rt))
        admin_read(admin_op_new(req, rt, NULL), list_orgs_job, list_orgs_read);
}

static void
get_org_read(admin_op *op, wr_req *req)
{
    if (!admin_org_found(op, req))
        return;
    wr_resp_json(req, 200, org_json(&op->org));
    admin_op_free(op);
}

static void
get_org(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (admin_auth(req, rt))
        read_org(req, rt, get_org_read);
}

static wr_err
project_create_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    return wr_meta_project_create(m, &op->project, out_err);
}

static void
project_create_done(void *ctx, wr_err rc, const wr_error *err)
{
    admin_op *op = ctx;
    wr_req *req = wr_rt_take_req(op);
    const wr_project *p = &op->project;
    if (req && rc != WR_OK)
        wr_rt_fail_err(req, err);
    else if (req)
        wr_resp_json(
            req, 201,
            json_pack("{s:s,s:s,s:s}", "id", p->id, "slug", p->slug, "organizationId", p->org_id));
    admin_op_free(op);
}

static void
create_project_read(admin_op *op, wr_req *req)
{
    wr_project p = {0};
    if (!admin_org_found(op, req))
        return;
    if (!read_slug(req, p.slug)) {
        admin_op_free(op);
        return;
    }
    wr_rt_new_id("c", 25, p.id);
    strcpy(p.org_id, op->org.id);
    op->project = p;
    wr_rt_hold_req(req, op);
    wr_rt_meta_change(op->rt, NULL, project_create_job, project_create_done, op);
}

static void
create_project(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (admin_auth(req, rt))
        read_org(req, rt, create_project_read);
}

static wr_err
env_create_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    return wr_meta_env_create(m, &op->env, out_err);
}

static void
env_create_done(void *ctx, wr_err rc, const wr_error *err)
{
    admin_op *op = ctx;
    wr_req *req = wr_rt_take_req(op);
    const wr_env *e = &op->env;
    if (req && rc != WR_OK)
        wr_rt_fail_err(req, err);
    else if (req) /* the key is shown only here: its hash and sealed form are kept (keybox.h) */
        wr_resp_json(req, 201,
                     json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", e->id, "slug", e->slug, "projectId",
                               e->project_id, "organizationId", e->org_id, "apiKey", op->key));
    admin_op_free(op);
}

static wr_err
read_project_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    return wr_meta_project_get(m, op->project.id, &op->project, out_err);
}

static void
create_env_read(admin_op *op, wr_req *req)
{
    const wr_project *p = &op->project;
    wr_env e = {0};
    if (op->rc != WR_OK)
        wr_rt_fail_lookup(req, &op->err, "Project not found");
    if (op->rc != WR_OK || !read_slug(req, e.slug)) {
        admin_op_free(op);
        return;
    }
    wr_rt_new_id("c", 25, e.id);
    strcpy(e.project_id, p->id);
    strcpy(e.org_id, p->org_id);
    snprintf(op->org_id, sizeof(op->org_id), "%s", p->org_id);
    op->key = wr_rt_new_api_key(e.key_hash);
    wr_rt_seal_key(op->rt, e.id, op->key, e.key_enc, &e.key_enc_len);
    op->env = e;
    wr_rt_hold_req(req, op);
    wr_rt_meta_change(op->rt, NULL, env_create_job, env_create_done, op);
}

static void
create_env(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (!admin_auth(req, rt))
        return;
    if (strlen(req->params[0]) > WR_META_ID_MAX) {
        wr_rt_fail(req, WR_ERR_NOT_FOUND, "Project not found");
        return;
    }
    admin_op *op = admin_op_new(req, rt, NULL);
    strcpy(op->project.id, req->params[0]);
    admin_read(op, read_project_job, create_env_read);
}

static void
key_rotated(void *ud, wr_err err, const wr_error *detail)
{
    admin_op *op = ud;
    wr_req *req = wr_rt_take_req(op);
    if (req && err != WR_OK)
        wr_rt_fail_err(req, detail);
    else if (req)
        wr_resp_json(req, 200, json_pack("{s:s}", "apiKey", op->key));
    admin_op_free(op);
}

static wr_err
rotate_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    const wr_env *e = &op->env;
    return wr_meta_env_set_key(m, e->id, e->key_hash, e->key_enc, e->key_enc_len, out_err);
}

static wr_err
read_env_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    return wr_meta_env_get(m, op->env.id, &op->found, out_err);
}

/* The environment as it is after the change: the write tokens minted for its old key go. */
static void
rotate_read(admin_op *op, wr_req *req)
{
    if (op->rc != WR_OK) {
        wr_rt_fail_lookup(req, &op->err, "Environment not found");
        admin_op_free(op);
        return;
    }
    wr_rt_hold_req(req, op);
    wr_rt_mint_revoke_env(op->rt->mint, op->found.org_id, op->found.id, key_rotated, op);
}

/* The new key is durable: whoever held the old one may hold write tokens minted for it, and
 * they go too before the answer. */
static void
rotate_done(void *ctx, wr_err rc, const wr_error *err)
{
    admin_op *op = ctx;
    if (rc == WR_OK) {
        admin_read(op, read_env_job, rotate_read); /* op still holds the request */
        return;
    }
    wr_req *req = wr_rt_take_req(op);
    if (req)
        wr_rt_fail_lookup(req, err, "Environment not found");
    admin_op_free(op);
}

static void
rotate_key(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (!admin_auth(req, rt))
        return;
    if (strlen(req->params[0]) > WR_META_ID_MAX) {
        wr_rt_fail(req, WR_ERR_NOT_FOUND, "Environment not found");
        return;
    }
    admin_op *op = admin_op_new(req, rt, NULL);
    wr_env *e = &op->env;
    strcpy(e->id, req->params[0]);
    op->key = wr_rt_new_api_key(e->key_hash);
    wr_rt_seal_key(rt, e->id, op->key, e->key_enc, &e->key_enc_len);
    wr_rt_meta_change(rt, NULL, rotate_job, rotate_done, op);
}

static json_t *
result_json(const wr_rt_result *r)
{
    json_t *o = json_pack("{s:b,s:s}", "ok", 1, "kind", r->kind);
    if (r->reason)
        json_object_set_new(o, "reason", json_string(r->reason));
    if (r->basin[0] && strcmp(r->kind, "deprovisioned") != 0)
        json_object_set_new(o, "basin", json_string(r->basin));
    if (strcmp(r->kind, "provisioned") == 0 || strcmp(r->kind, "reconfigured") == 0) {
        char d[32];
        if (r->retention_s % 86400 == 0) /* "30d", "365d": the form plans are written in */
            snprintf(d, sizeof(d), "%llud", (unsigned long long)(r->retention_s / 86400));
        else
            wr_duration_format(r->retention_s, d);
        json_object_set_new(o, "retention", json_string(d));
    }
    return o;
}

static void
stream_basin_fail(wr_req *req, wr_err code, const char *msg, json_t *field_errors)
{
    json_t *o = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
    if (field_errors)
        json_object_set_new(o, "fieldErrors", field_errors);
    wr_resp_json(req, wr_err_status(code), o);
}

static void
stream_basin_done(void *ud, wr_err err, const wr_error *detail, const wr_rt_result *res)
{
    admin_op *op = ud;
    wr_req *req = wr_rt_take_req(op);
    if (req && err != WR_OK)
        stream_basin_fail(req, err, detail && detail->msg[0] ? detail->msg : "storage failure",
                          NULL);
    else if (req)
        wr_resp_json(req, 200, result_json(res));
    admin_op_free(op);
}

static void
stream_basin(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (!admin_auth(req, rt))
        return;
    json_t *body = req->body.len ? json_loadb(req->body.data, req->body.len, 0, NULL) : NULL;
    if (!json_is_object(body)) {
        json_decref(body);
        stream_basin_fail(req, WR_ERR_BAD_JSON, "Invalid JSON body", NULL);
        return;
    }
    const char *action = json_string_value(json_object_get(body, "action"));
    json_t *ret = json_object_get(body, "retention");
    json_t *ate = json_object_get(body, "apply_to_existing");
    uint64_t retention_s = 0;
    wr_error derr = {0};
    const char *bad_field = NULL, *bad_msg = NULL;
    if (!action || (strcmp(action, "ensure") != 0 && strcmp(action, "deprovision") != 0)) {
        bad_field = "action";
        bad_msg = "must be \"ensure\" or \"deprovision\"";
    } else if (ret && !json_is_null(ret) &&
               (!json_is_string(ret) ||
                wr_duration_parse(json_string_value(ret), &retention_s, &derr) != WR_OK ||
                retention_s == 0)) {
        bad_field = "retention";
        bad_msg = "must be a duration like 7d, 30d, 365d, 1h, 1y";
    } else if (ate && !json_is_null(ate) && !json_is_boolean(ate)) {
        bad_field = "apply_to_existing";
        bad_msg = "must be a boolean";
    }
    if (bad_field) {
        json_decref(body);
        stream_basin_fail(req, WR_ERR_BAD_REQUEST, "Invalid request body",
                          json_pack("{s:[s]}", bad_field, bad_msg));
        return;
    }
    bool ensure = strcmp(action, "ensure") == 0, apply = json_is_true(ate);
    json_decref(body);
    admin_op *op = admin_op_new(req, rt, req->params[0]);
    if (ensure)
        wr_rt_ensure(rt, op->org_id, retention_s, apply, stream_basin_done, op);
    else
        wr_rt_deprovision(rt, op->org_id, stream_basin_done, op);
}

static void
plan_set(void *ud, wr_err err, const wr_error *detail, const wr_rt_result *res)
{
    admin_op *op = ud;
    wr_req *req = wr_rt_take_req(op);
    if (req && err != WR_OK) {
        wr_rt_fail(req, err, detail ? detail->msg : wr_err_code(err));
    } else if (req) {
        json_t *out = result_json(res);
        json_object_set_new(out, "plan", json_string(op->plan));
        wr_resp_json(req, 200, out);
    }
    admin_op_free(op);
}

static wr_err
set_plan_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    return wr_meta_org_set_plan(m, op->org_id, op->plan, out_err);
}

/* The plan is durable: its retention is applied (provision or deprovision) before the answer. */
static void
set_plan_done(void *ctx, wr_err rc, const wr_error *err)
{
    admin_op *op = ctx;
    if (rc == WR_OK) {
        reconcile_plan(op->rt, op->org_id, op->p, plan_set, op);
        return;
    }
    wr_req *req = wr_rt_take_req(op);
    if (req)
        wr_rt_fail_err(req, err);
    admin_op_free(op);
}

static void
set_plan_read(admin_op *op, wr_req *req)
{
    if (!admin_org_found(op, req))
        return;
    json_t *body = wr_rt_body(req);
    const wr_plan *p = NULL;
    json_t *plan = body ? json_object_get(body, "plan") : NULL;
    if (body && (!json_is_string(plan) || !(p = wr_rt_plan(&op->rt->cfg, json_string_value(plan)))))
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "unknown `plan` (see WEIR_PLAN_RETENTION)");
    json_decref(body);
    if (!p) {
        admin_op_free(op);
        return;
    }
    snprintf(op->plan, sizeof(op->plan), "%s", p->name);
    op->p = p;
    wr_rt_hold_req(req, op);
    wr_rt_meta_change(op->rt, NULL, set_plan_job, set_plan_done, op);
}

static void
set_plan(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (admin_auth(req, rt))
        read_org(req, rt, set_plan_read);
}

/* GET /admin/api/v1/orgs/:orgId/usage: the org's own basin whole, plus its streams in the shared
 * basin (attributed by the `org/{orgId}/` prefix of realtime.md §4), from the persisted usage
 * series (org_usage.c). */
static void
org_usage_read(admin_op *op, wr_req *req)
{
    if (!admin_org_found(op, req))
        return;
    const wr_org *o = &op->org;
    wr_org_usage_answer(op->rt, req, o->id, o->has_basin ? o->basin : NULL);
    admin_op_free(op);
}

static void
org_usage(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (admin_auth(req, rt))
        read_org(req, rt, org_usage_read);
}

static json_t *
env_json(const wr_env *e)
{
    /* Never the key: it is shown once, at create and rotation. */
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", e->id, "slug", e->slug, "projectId",
                          e->project_id, "organizationId", e->org_id);
    json_object_set_new(o, "createdAt", wr_rt_time_json(true, e->created_at_ms));
    return o;
}

/* The organization, its projects and their environments, in one read job. */
static wr_err
list_projects_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    admin_op *op = ctx;
    wr_err rc = wr_meta_org_get(m, op->org_id, &op->org, out_err);
    op->org_read = rc == WR_OK;
    if (rc == WR_OK)
        rc = wr_meta_project_list(m, op->org_id, &op->projects, &op->n_projects, out_err);
    if (rc == WR_OK)
        rc = wr_meta_env_list(m, op->org_id, &op->envs, &op->n_envs, out_err);
    return rc;
}

static void
list_projects_read(admin_op *op, wr_req *req)
{
    if (op->rc != WR_OK && op->org_read) { /* a list failed, not the organization's read */
        wr_rt_fail_err(req, &op->err);
        admin_op_free(op);
        return;
    }
    if (!admin_org_found(op, req))
        return;
    const wr_project *ps = op->projects;
    const wr_env *es = op->envs;
    size_t np = op->n_projects, ne = op->n_envs;
    json_t *arr = json_array();
    for (size_t i = 0; i < np; i++) {
        json_t *envs = json_array();
        for (size_t k = 0; k < ne; k++)
            if (strcmp(es[k].project_id, ps[i].id) == 0)
                json_array_append_new(envs, env_json(&es[k]));
        json_t *p = json_pack("{s:s,s:s,s:s,s:o}", "id", ps[i].id, "slug", ps[i].slug,
                              "organizationId", ps[i].org_id, "environments", envs);
        json_object_set_new(p, "createdAt", wr_rt_time_json(true, ps[i].created_at_ms));
        json_array_append_new(arr, p);
    }
    wr_resp_json(req, 200, json_pack("{s:o}", "projects", arr));
    admin_op_free(op); /* cleanses the environments' sealed keys */
}

/* GET /admin/api/v1/orgs/:orgId/projects: the projects with their environments nested. */
static void
list_projects(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (!admin_auth(req, rt))
        return;
    if (strlen(req->params[0]) > WR_META_ID_MAX) {
        wr_rt_fail(req, WR_ERR_NOT_FOUND, "Organization not found");
        return;
    }
    admin_read(admin_op_new(req, rt, req->params[0]), list_projects_job, list_projects_read);
}

/* GET /admin/api/v1/plans: WEIR_PLAN_RETENTION as data, the default plan first. */
static void
list_plans(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    if (!admin_auth(req, rt))
        return;
    json_t *arr = json_array();
    for (size_t i = 0; i < rt->cfg.n_plans; i++) {
        const wr_plan *p = &rt->cfg.plans[i];
        char d[32];
        if (!p->shared && p->retention_s % 86400 == 0)
            snprintf(d, sizeof(d), "%llud", (unsigned long long)(p->retention_s / 86400));
        else if (!p->shared)
            wr_duration_format(p->retention_s, d);
        json_array_append_new(
            arr, json_pack("{s:s,s:b,s:o,s:b}", "name", p->name, "shared", p->shared, "retention",
                           p->shared ? json_null() : json_string(d), "default", i == 0));
    }
    wr_resp_json(req, 200,
                 json_pack("{s:o,s:b,s:s}", "plans", arr, "perOrgBasins", rt->cfg.per_org_basins,
                           "globalBasin", rt->cfg.global_basin));
}

void
wr_rt_admin_register(wr_rt *rt, wr_router *r)
{
    wr_rt_route(rt, r, WR_METHOD_POST, "/admin/api/v1/orgs", create_org, 64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_GET, "/admin/api/v1/orgs", list_orgs, 0);
    wr_rt_route(rt, r, WR_METHOD_GET, "/admin/api/v1/orgs/{orgId}", get_org, 0);
    wr_rt_route(rt, r, WR_METHOD_POST, "/admin/api/v1/orgs/{orgId}/projects", create_project,
                64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_POST, "/admin/api/v1/projects/{projectId}/environments",
                create_env, 64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_POST, "/admin/api/v1/environments/{envId}/rotate-key", rotate_key,
                0);
    wr_rt_route(rt, r, WR_METHOD_POST, "/admin/api/v1/orgs/{orgId}/stream-basin", stream_basin,
                64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_PUT, "/admin/api/v1/orgs/{orgId}/plan", set_plan, 64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_GET, "/admin/api/v1/orgs/{orgId}/usage", org_usage, 0);
    wr_rt_route(rt, r, WR_METHOD_GET, "/admin/api/v1/orgs/{orgId}/projects", list_projects, 0);
    wr_rt_route(rt, r, WR_METHOD_GET, "/admin/api/v1/plans", list_plans, 0);
}
