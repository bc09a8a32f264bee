/*
 * basins.c — account-level routes: /v1/basins and /v1/basins/{basin}. A basin's location is the
 * one configured (metrics.c); its default stream config shows the default storage class.
 */
#include <stdlib.h>
#include <string.h>

#include "s2/s2_int.h"
#include "util/mem.h"

static json_t *
basin_info_json(const wr_basin_info *bi)
{
    return json_pack("{s:s,s:o,s:o,s:o,s:s}", "name", bi->name, "location",
                     bi->location[0] ? json_string(bi->location) : json_null(), "created_at",
                     wr_s2_time_json(true, bi->created_at_ms), "deleted_at",
                     wr_s2_time_json(bi->deleted, bi->deleted_at_ms), "state",
                     bi->deleted ? "deleting" : "active");
}

/*
 * A basin config as S2 shows it: the default stream config carries the default storage class
 * (express) when none is set, instead of null. Only the answer changes; the stored config keeps
 * "unset", so idempotent creates still compare equal.
 */
static json_t *
basin_config_json(const wr_basin_config *cfg)
{
    json_t *j = wr_basin_config_to_json(cfg);
    json_t *d = json_object_get(j, "default_stream_config");
    if (json_is_null(d)) {
        d = json_pack("{s:n,s:n,s:n,s:n}", "storage_class", "retention_policy", "timestamping",
                      "delete_on_empty");
        json_object_set_new(j, "default_stream_config", d);
    }
    if (json_is_null(json_object_get(d, "storage_class")))
        json_object_set_new(d, "storage_class", json_string("express"));
    return j;
}

/* A `location` in a create/ensure body: null/absent, or the configured one (else 422). */
static bool
location_ok(wr_s2 *s2, const json_t *body, wr_error *err)
{
    json_t *l = body ? json_object_get(body, "location") : NULL;
    if (!l || json_is_null(l))
        return true;
    if (!json_is_string(l)) {
        wr_error_set(err, WR_ERR_BAD_JSON, "invalid `location`: expected a string");
        return false;
    }
    if (!wr_s2_location_known(s2, json_string_value(l))) {
        wr_error_set(err, WR_ERR_INVALID, "unknown location `%.64s`", json_string_value(l));
        return false;
    }
    return true;
}

/* Parses ?limit=; 0 or absent → 0 (the store reads 0 as 1000). */
bool
wr_s2_list_params(wr_req *req, const char **prefix, const char **start_after, size_t *limit)
{
    const char *v = NULL;
    *prefix = NULL;
    *start_after = NULL;
    *limit = 0;
    int rc;
    if (wr_req_query(req, "prefix", prefix) < 0 ||
        wr_req_query(req, "start_after", start_after) < 0) {
        wr_resp_error(req, WR_ERR_BAD_QUERY, "malformed percent-encoding in query");
        return false;
    }
    rc = wr_req_query(req, "limit", &v);
    if (rc < 0) {
        wr_resp_error(req, WR_ERR_BAD_QUERY, "malformed percent-encoding in query");
        return false;
    }
    if (rc == 1) {
        char *end;
        if (*v < '0' || *v > '9' || (*limit = strtoull(v, &end, 10), *end != '\0')) {
            wr_resp_error(req, WR_ERR_BAD_QUERY,
                          "invalid `limit`: expected a non-negative integer");
            return false;
        }
    }
    return true;
}

static void
list_basins(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const char *prefix, *start_after;
    size_t limit;
    const wr_token *t = wr_s2_authn(req, s2);
    if (!t || !wr_s2_list_params(req, &prefix, &start_after, &limit) ||
        !wr_s2_authz(req, t, WR_OP_LIST_BASINS, NULL, NULL, NULL))
        return;
    json_t *arr = json_array();
    bool has_more = false;
    if (limit == 0 || limit > 1000)
        limit = 1000;
    /* As for streams: scan only where the scope matches, and fill the page with in-scope items. */
    if (wr_s2_narrow_prefix(req, &t->scope.basins, prefix, &prefix)) {
        char *after = start_after ? wr_arena_strdup(&req->arena, start_after) : NULL;
        for (int scan = 0; scan < WR_S2_LIST_MAX_SCANS; scan++) {
            wr_basin_list l = {0};
            wr_error err = {0};
            if (wr_store_basin_list(s2->store, prefix, after, limit, &l, &err) != WR_OK) {
                json_decref(arr);
                wr_s2_fail(req, &err);
                return;
            }
            size_t i = 0;
            for (; i < l.n && json_array_size(arr) < limit; i++)
                if (wr_rset_matches(&t->scope.basins, l.items[i].name))
                    json_array_append_new(arr, basin_info_json(&l.items[i]));
            /* More follow if the store has more, or this page holds unreturned in-scope items. */
            has_more = l.has_more;
            for (size_t j = i; j < l.n && !has_more; j++)
                has_more = wr_rset_matches(&t->scope.basins, l.items[j].name);
            if (l.n)
                after = wr_arena_strdup(&req->arena, l.items[l.n - 1].name);
            wr_basin_list_fini(&l);
            if (json_array_size(arr) == limit || !has_more)
                break;
        }
    }
    wr_resp_json(req, 200, json_pack("{s:o,s:b}", "basins", arr, "has_more", has_more));
}

/* The optional `s2-request-token`: at most 36 bytes, else 400 bad_header. */
bool
wr_s2_request_token(wr_req *req, const char **out)
{
    *out = wr_req_header(req, "s2-request-token");
    if (*out && strlen(*out) > WR_REQUEST_TOKEN_MAX) {
        wr_resp_error(req, WR_ERR_BAD_HEADER, "`s2-request-token` is longer than 36 bytes");
        return false;
    }
    return true;
}

/* A create or ensure on its way through the store's commit thread. */
typedef struct basin_create_ctx {
    wr_s2_waiting w; /* first */
    bool ensure;     /* PUT: 201 when created, 200 otherwise */
} basin_create_ctx;

/* Loop thread: the new basin (or config) is durable, or the change failed. */
static void
basin_create_done(void *ud, wr_err e, const wr_error *detail, const wr_basin_info *info,
                  wr_provision prov)
{
    basin_create_ctx *c = ud;
    wr_req *req = wr_s2_waiting_req(&c->w);
    if (req && e == WR_OK) {
        wr_s2_provision_header(req, prov);
        wr_resp_json(req, !c->ensure || prov == WR_PROVISION_CREATED ? 201 : 200,
                     basin_info_json(info));
    } else if (req) {
        wr_s2_fail(req, detail);
    }
    free(c);
}

static void
create_basin(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    wr_error err = {0};
    json_t *body = NULL;
    const char *token;
    const wr_token *t = wr_s2_authn(req, s2);
    if (!t || !wr_s2_request_token(req, &token))
        return;
    if (wr_s2_parse_body(req, false, &body, &err) != WR_OK) {
        wr_s2_fail(req, &err);
        return;
    }
    json_t *name = json_object_get(body, "basin");
    wr_basin_config cfg;
    if (!json_is_string(name) || !wr_basin_name_valid(json_string_value(name))) {
        wr_error_set(&err, WR_ERR_BAD_JSON,
                     "invalid `basin`: expected 8-48 characters of [a-z0-9-], starting and ending "
                     "with a letter or digit");
    } else if (!wr_s2_authz(req, t, WR_OP_CREATE_BASIN, json_string_value(name), NULL, NULL)) {
        json_decref(body);
        return;
    } else if (location_ok(s2, body, &err) &&
               wr_s2_basin_config_from_json(json_object_get(body, "config"), &cfg, &err) == WR_OK) {
        /* The meta is written by the store's commit thread: the loop goes on meanwhile. */
        wr_store_basin_create_async(s2->store, json_string_value(name), &cfg, token,
                                    basin_create_done,
                                    wr_s2_waiting_new(req, sizeof(basin_create_ctx)));
        json_decref(body);
        return;
    }
    json_decref(body);
    wr_s2_fail(req, &err);
}

/* Authenticates, validates the {basin} path parameter (400 bad_path) and authorizes op. */
static const char *
path_basin(wr_req *req, wr_s2 *s2, wr_op op)
{
    const wr_token *t = wr_s2_authn(req, s2);
    if (!t)
        return NULL;
    const char *b = req->params[0];
    if (!wr_basin_name_valid(b)) {
        wr_resp_error(req, WR_ERR_BAD_PATH, "invalid basin name in path");
        return NULL;
    }
    /* Ensure may create or replace: it needs both operations. */
    if (!wr_s2_authz(req, t, op, b, NULL, NULL) ||
        (op == WR_OP_CREATE_BASIN && !wr_s2_authz(req, t, WR_OP_RECONFIGURE_BASIN, b, NULL, NULL)))
        return NULL;
    return b;
}

static void
get_basin(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const char *name = path_basin(req, s2, WR_OP_GET_BASIN_CONFIG);
    if (!name)
        return;
    wr_basin_config cfg;
    wr_error err = {0};
    if (wr_store_basin_get(s2->store, name, &cfg, NULL, &err) != WR_OK) {
        wr_s2_fail(req, &err);
        return;
    }
    wr_resp_json(req, 200, basin_config_json(&cfg));
}

static void
ensure_basin(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const char *name = path_basin(req, s2, WR_OP_CREATE_BASIN);
    if (!name)
        return;
    wr_error err = {0};
    json_t *body = NULL;
    wr_basin_config cfg;
    if (wr_s2_parse_body(req, true, &body, &err) == WR_OK && location_ok(s2, body, &err) &&
        wr_s2_basin_config_from_json(body ? json_object_get(body, "config") : NULL, &cfg, &err) ==
            WR_OK) {
        json_decref(body);
        basin_create_ctx *c = wr_s2_waiting_new(req, sizeof(*c));
        c->ensure = true;
        wr_store_basin_ensure_async(s2->store, name, &cfg, basin_create_done, c);
        return;
    }
    json_decref(body);
    wr_s2_fail(req, &err);
}

/* Loop thread: the new config is durable (or the change failed). */
static void
reconfigure_done(void *ud, wr_err e, const wr_error *detail, const wr_basin_config *cfg)
{
    wr_s2_waiting_answer(ud, e, detail, 200, e == WR_OK ? basin_config_json(cfg) : NULL);
}

static void
reconfigure_basin(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const char *name = path_basin(req, s2, WR_OP_RECONFIGURE_BASIN);
    if (!name)
        return;
    wr_error err = {0};
    json_t *body = NULL;
    wr_basin_config_patch patch;
    if (wr_s2_parse_body(req, false, &body, &err) == WR_OK &&
        wr_s2_basin_patch_from_json(body, &patch, &err) == WR_OK) {
        json_decref(body);
        wr_store_basin_reconfigure_async(s2->store, name, &patch, reconfigure_done,
                                         wr_s2_waiting_new(req, sizeof(wr_s2_waiting)));
        return;
    }
    json_decref(body);
    wr_s2_fail(req, &err);
}

static void
delete_basin(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const char *name = path_basin(req, s2, WR_OP_DELETE_BASIN);
    if (name)
        wr_store_basin_delete_async(s2->store, name, wr_s2_waiting_202,
                                    wr_s2_waiting_new(req, sizeof(wr_s2_waiting)));
}

void
wr_s2_basins_register(wr_s2 *s2, wr_router *r)
{
    wr_router_add(r, WR_METHOD_GET, "/v1/basins", list_basins, s2, 0);
    wr_router_add(r, WR_METHOD_POST, "/v1/basins", create_basin, s2, 64 * 1024);
    wr_router_add(r, WR_METHOD_GET, "/v1/basins/{basin}", get_basin, s2, 0);
    wr_router_add(r, WR_METHOD_PUT, "/v1/basins/{basin}", ensure_basin, s2, 64 * 1024);
    wr_router_add(r, WR_METHOD_PATCH, "/v1/basins/{basin}", reconfigure_basin, s2, 64 * 1024);
    wr_router_add(r, WR_METHOD_DELETE, "/v1/basins/{basin}", delete_basin, s2, 0);
}
