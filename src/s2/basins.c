/*
 * basins.c — account-level routes: /v1/basins and /v1/basins/{basin}, plus the 501 answers for
 * the account APIs weir does not serve yet (access tokens, metrics, locations).
 */
#include <stdlib.h>
#include <string.h>

#include "s2/s2_int.h"

static json_t *
basin_info_json(const wr_basin_info *bi)
{
    return json_pack("{s:s,s:n,s:o,s:o,s:s}", "name", bi->name, "location", "created_at",
                     wr_s2_time_json(true, bi->created_at_ms), "deleted_at",
                     wr_s2_time_json(bi->deleted, bi->deleted_at_ms), "state",
                     bi->deleted ? "deleting" : "active");
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
    if ((rc = wr_req_query(req, "prefix", prefix)) < 0 ||
        (rc = wr_req_query(req, "start_after", start_after)) < 0) {
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
    wr_basin_info info;
    wr_provision prov;
    if (!json_is_string(name) || !wr_basin_name_valid(json_string_value(name))) {
        wr_error_set(&err, WR_ERR_BAD_JSON,
                     "invalid `basin`: expected 8-48 characters of [a-z0-9-], starting and ending "
                     "with a letter or digit");
    } else if (!wr_s2_authz(req, t, WR_OP_CREATE_BASIN, json_string_value(name), NULL, NULL)) {
        json_decref(body);
        return;
    } else if (wr_s2_basin_config_from_json(json_object_get(body, "config"), &cfg, &err) == WR_OK &&
               wr_store_basin_create(s2->store, json_string_value(name), &cfg, token, &info, &prov,
                                     &err) == WR_OK) {
        wr_s2_provision_header(req, prov);
        wr_resp_json(req, 201, basin_info_json(&info));
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
    wr_resp_json(req, 200, wr_basin_config_to_json(&cfg));
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
    wr_basin_info info;
    wr_provision prov;
    if (wr_s2_parse_body(req, true, &body, &err) == WR_OK &&
        wr_s2_basin_config_from_json(body ? json_object_get(body, "config") : NULL, &cfg, &err) ==
            WR_OK &&
        wr_store_basin_ensure(s2->store, name, &cfg, &info, &prov, &err) == WR_OK) {
        json_decref(body);
        wr_s2_provision_header(req, prov);
        wr_resp_json(req, prov == WR_PROVISION_CREATED ? 201 : 200, basin_info_json(&info));
        return;
    }
    json_decref(body);
    wr_s2_fail(req, &err);
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
    wr_basin_config cfg;
    if (wr_s2_parse_body(req, false, &body, &err) == WR_OK &&
        wr_s2_basin_patch_from_json(body, &patch, &err) == WR_OK &&
        wr_store_basin_reconfigure(s2->store, name, &patch, &cfg, &err) == WR_OK) {
        json_decref(body);
        wr_resp_json(req, 200, wr_basin_config_to_json(&cfg));
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
    if (!name)
        return;
    wr_error err = {0};
    if (wr_store_basin_delete(s2->store, name, &err) != WR_OK) {
        wr_s2_fail(req, &err);
        return;
    }
    wr_resp_send(req, 202, NULL, NULL, 0);
}

static void
not_implemented(wr_req *req, void *ctx)
{
    if (wr_s2_authn(req, ctx))
        wr_resp_error(req, WR_ERR_NOT_IMPLEMENTED, "not implemented by this server yet");
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

    static const char *const unimplemented[] = {
        "/v1/metrics",   "/v1/metrics/{basin}",   "/v1/metrics/{basin}/{stream}",
        "/v1/locations", "/v1/locations/default",
    };
    static const wr_method methods[] = {WR_METHOD_GET, WR_METHOD_POST, WR_METHOD_PUT,
                                        WR_METHOD_DELETE};
    for (size_t i = 0; i < sizeof(unimplemented) / sizeof(unimplemented[0]); i++)
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
            wr_router_add(r, methods[m], unimplemented[i], not_implemented, s2, 0);
}
