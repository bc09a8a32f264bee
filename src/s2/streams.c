/*
 * streams.c — basin-level stream routes: /v1/streams and /v1/streams/{stream} (CRUD).
 * Record routes live in records.c.
 */
#include <string.h>

#include "s2/s2_int.h"
#include "util/mem.h"

static json_t *
stream_info_json(const wr_stream_info *si)
{
    const char *cipher = wr_cipher_name(si->cipher);
    return json_pack("{s:s,s:o,s:o,s:o}", "name", si->name, "created_at",
                     wr_s2_time_json(true, si->created_at_ms), "deleted_at",
                     wr_s2_time_json(si->deleted, si->deleted_at_ms), "cipher",
                     cipher ? json_string(cipher) : json_null());
}

/* The {stream} path parameter, validated (400 bad_path). */
const char *
wr_s2_path_stream(wr_req *req)
{
    const char *s = req->params[0];
    if (!wr_stream_name_valid(s, strlen(s))) {
        wr_resp_error(req, WR_ERR_BAD_PATH,
                      "invalid stream name in path: 1-512 bytes of UTF-8, not \".\" or \"..\"");
        return NULL;
    }
    return s;
}

static void
list_streams(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t = wr_s2_authn(req, s2);
    const char *basin = t ? wr_s2_basin(req) : NULL;
    const char *prefix, *start_after;
    size_t limit;
    if (!basin || !wr_s2_list_params(req, &prefix, &start_after, &limit) ||
        !wr_s2_authz(req, t, WR_OP_LIST_STREAMS, basin, NULL, NULL))
        return;
    /* Auto-prefix tokens see names relative to their prefix. */
    prefix = wr_s2_full_stream(req, t, prefix ? prefix : "");
    if (start_after && *start_after)
        start_after = wr_s2_full_stream(req, t, start_after);
    json_t *arr = json_array();
    bool has_more = false;
    if (limit == 0 || limit > 1000)
        limit = 1000;
    /* Scan only where the scope can match, and keep paging until the answer holds `limit`
     * in-scope items, so a scoped token never gets an empty page that claims more follow. */
    if (wr_s2_narrow_prefix(req, &t->scope.streams, prefix, &prefix)) {
        char *after = start_after ? wr_arena_strdup(&req->arena, start_after) : NULL;
        for (int scan = 0; scan < WR_S2_LIST_MAX_SCANS; scan++) {
            wr_stream_list l = {0};
            wr_error err = {0};
            if (wr_store_stream_list(s2->store, basin, prefix, after, limit, &l, &err) != WR_OK) {
                json_decref(arr);
                wr_s2_fail(req, &err);
                return;
            }
            size_t i = 0;
            for (; i < l.n && json_array_size(arr) < limit; i++) {
                if (!wr_rset_matches(&t->scope.streams, l.items[i].name))
                    continue;
                wr_stream_info shown = l.items[i];
                const char *name = wr_s2_shown_stream(t, l.items[i].name);
                memmove(shown.name, name, strlen(name) + 1);
                json_array_append_new(arr, stream_info_json(&shown));
            }
            /* More follow if the store has more, or this page holds unreturned in-scope items. */
            has_more = l.has_more;
            for (size_t j = i; j < l.n && !has_more; j++)
                has_more = wr_rset_matches(&t->scope.streams, l.items[j].name);
            if (l.n)
                after = wr_arena_strdup(&req->arena, l.items[l.n - 1].name);
            wr_stream_list_fini(&l);
            if (json_array_size(arr) == limit || !has_more)
                break;
        }
    }
    wr_resp_json(req, 200, json_pack("{s:o,s:b}", "streams", arr, "has_more", has_more));
}

/* A create or ensure on its way through the store's commit thread. */
typedef struct create_ctx {
    wr_s2_waiting w; /* first */
    char *name;      /* as the client gave it (relative for auto-prefix tokens) */
    bool ensure;     /* PUT: 201 when created, 200 otherwise */
} create_ctx;

/* Loop thread: the new stream is durable (or the create failed). */
static void
create_done(void *ud, wr_err e, const wr_error *detail, const wr_stream_info *info,
            wr_provision prov)
{
    create_ctx *c = ud;
    wr_req *req = wr_s2_waiting_req(&c->w);
    if (req) {
        if (e == WR_OK) {
            wr_stream_info shown = *info;
            snprintf(shown.name, sizeof(shown.name), "%s", c->name);
            wr_s2_provision_header(req, prov);
            wr_resp_json(req, !c->ensure || prov == WR_PROVISION_CREATED ? 201 : 200,
                         stream_info_json(&shown));
        } else {
            wr_s2_fail(req, detail);
        }
    }
    free(c->name);
    free(c);
}

static void
create_stream(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t = wr_s2_authn(req, s2);
    const char *basin = t ? wr_s2_basin(req) : NULL;
    const char *token;
    if (!basin || !wr_s2_request_token(req, &token))
        return;
    wr_error err = {0};
    json_t *body = NULL;
    if (wr_s2_parse_body(req, false, &body, &err) != WR_OK) {
        wr_s2_fail(req, &err);
        return;
    }
    json_t *name = json_object_get(body, "stream");
    wr_stream_config cfg;
    if (!json_is_string(name) ||
        !wr_stream_name_valid(json_string_value(name), json_string_length(name)) ||
        strlen(json_string_value(name)) != json_string_length(name)) {
        wr_error_set(&err, WR_ERR_BAD_JSON,
                     "invalid `stream`: expected 1-512 bytes of UTF-8, not \".\" or \"..\"");
    } else {
        const char *full = wr_s2_full_stream(req, t, json_string_value(name));
        if (!wr_s2_authz(req, t, WR_OP_CREATE_STREAM, basin, full, NULL)) {
            json_decref(body);
            return;
        }
        if (wr_s2_stream_config_from_json(json_object_get(body, "config"), &cfg, &err) == WR_OK) {
            /* The meta is written by the store's commit thread: the loop goes on meanwhile. */
            create_ctx *c = wr_s2_waiting_new(req, sizeof(*c));
            c->name = wr_xstrdup(json_string_value(name));
            wr_store_stream_create_async(s2->store, basin, full, &cfg, token, create_done, c);
            json_decref(body); /* after: `full` may be its string */
            return;
        }
    }
    json_decref(body);
    wr_s2_fail(req, &err);
}

static void
get_stream(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t;
    const char *basin, *stream;
    if (!wr_s2_stream_target(req, s2, WR_OP_GET_STREAM_CONFIG, &t, &basin, &stream))
        return;
    wr_stream_config cfg;
    wr_error err = {0};
    if (wr_store_stream_get(s2->store, basin, stream, &cfg, NULL, &err) != WR_OK) {
        wr_s2_fail(req, &err);
        return;
    }
    wr_resp_json(req, 200, wr_stream_config_to_json(&cfg));
}

static void
ensure_stream(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t;
    const char *basin, *stream;
    if (!wr_s2_stream_target(req, s2, WR_OP_CREATE_STREAM, &t, &basin, &stream))
        return;
    /* Ensure may create or replace: it needs both. */
    if (!wr_s2_authz(req, t, WR_OP_RECONFIGURE_STREAM, basin, stream, NULL))
        return;
    wr_error err = {0};
    json_t *body = NULL;
    wr_stream_config cfg;
    /* The body is a bare StreamConfig (not wrapped), or empty for all defaults. */
    if (wr_s2_parse_body(req, true, &body, &err) == WR_OK &&
        wr_s2_stream_config_from_json(body, &cfg, &err) == WR_OK) {
        json_decref(body);
        create_ctx *c = wr_s2_waiting_new(req, sizeof(*c));
        c->name = wr_xstrdup(wr_s2_shown_stream(t, stream));
        c->ensure = true;
        wr_store_stream_ensure_async(s2->store, basin, stream, &cfg, create_done, c);
        return;
    }
    json_decref(body);
    wr_s2_fail(req, &err);
}

/* Loop thread: the new config is durable (or the change failed). */
static void
reconfigure_done(void *ud, wr_err e, const wr_error *detail, const wr_stream_config *cfg)
{
    wr_s2_waiting_answer(ud, e, detail, 200, e == WR_OK ? wr_stream_config_to_json(cfg) : NULL);
}

static void
reconfigure_stream(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t;
    const char *basin, *stream;
    if (!wr_s2_stream_target(req, s2, WR_OP_RECONFIGURE_STREAM, &t, &basin, &stream))
        return;
    wr_error err = {0};
    json_t *body = NULL;
    wr_stream_config_patch patch;
    if (wr_s2_parse_body(req, false, &body, &err) == WR_OK &&
        wr_s2_stream_patch_from_json(body, &patch, &err) == WR_OK) {
        json_decref(body);
        wr_store_stream_reconfigure_async(s2->store, basin, stream, &patch, reconfigure_done,
                                          wr_s2_waiting_new(req, sizeof(wr_s2_waiting)));
        return;
    }
    json_decref(body);
    wr_s2_fail(req, &err);
}

static void
delete_stream(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t;
    const char *basin, *stream;
    if (!wr_s2_stream_target(req, s2, WR_OP_DELETE_STREAM, &t, &basin, &stream))
        return;
    wr_store_stream_delete_async(s2->store, basin, stream, wr_s2_waiting_202,
                                 wr_s2_waiting_new(req, sizeof(wr_s2_waiting)));
}

void
wr_s2_streams_register(wr_s2 *s2, wr_router *r)
{
    wr_router_add(r, WR_METHOD_GET, "/v1/streams", list_streams, s2, 0);
    wr_router_add(r, WR_METHOD_POST, "/v1/streams", create_stream, s2, 64 * 1024);
    wr_router_add(r, WR_METHOD_GET, "/v1/streams/{stream}", get_stream, s2, 0);
    wr_router_add(r, WR_METHOD_PUT, "/v1/streams/{stream}", ensure_stream, s2, 64 * 1024);
    wr_router_add(r, WR_METHOD_PATCH, "/v1/streams/{stream}", reconfigure_stream, s2, 64 * 1024);
    wr_router_add(r, WR_METHOD_DELETE, "/v1/streams/{stream}", delete_stream, s2, 0);
}
