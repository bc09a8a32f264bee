/*
 * tokens.c — /v1/access-tokens: issue (POST), list (GET) and revoke (DELETE /{id}).
 * The rules (scope, expiry, no escalation) live in src/auth/; this file only decodes,
 * authorizes and encodes. Issue and revoke answer once the store has made their write durable
 * (auth.h); a client that goes away meanwhile detaches its request from the pending call.
 */
#include <stdlib.h>
#include <string.h>

#include "s2/s2_int.h"
#include "util/mem.h"

/* A request waiting for its token write. */
typedef struct token_ctx {
    wr_req *req; /* NULL once the client is gone */
} token_ctx;

static void
token_closed(wr_req *req)
{
    token_ctx *c = req->ud;
    c->req = NULL;
}

static token_ctx *
token_wait(wr_req *req)
{
    token_ctx *c = wr_xcalloc(1, sizeof(*c));
    c->req = req;
    req->ud = c;
    req->on_close = token_closed;
    return c;
}

/* Loop thread: the new token is durable (and usable), or the issue failed. */
static void
issued(void *ud, wr_err e, const wr_error *detail, const char *secret)
{
    token_ctx *c = ud;
    wr_req *req = c->req;
    if (req) {
        req->on_close = NULL;
        if (e == WR_OK)
            wr_resp_json(req, 201, json_pack("{s:s}", "access_token", secret));
        else
            wr_s2_fail(req, detail);
    }
    free(c);
}

static void
issue_token(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t = wr_s2_authn(req, s2);
    if (!t)
        return;
    wr_error err = {0};
    json_t *body = NULL;
    if (wr_s2_parse_body(req, false, &body, &err) != WR_OK) {
        wr_s2_fail(req, &err);
        return;
    }
    json_t *id = json_object_get(body, "id");
    if (wr_s2_authz(req, t, WR_OP_ISSUE_ACCESS_TOKEN, NULL, NULL,
                    json_is_string(id) ? json_string_value(id) : ""))
        wr_auth_issue_async(s2->auth, t, body, issued, token_wait(req));
    json_decref(body);
}

static void
list_tokens(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t = wr_s2_authn(req, s2);
    const char *prefix, *start_after;
    size_t limit;
    if (!t || !wr_s2_list_params(req, &prefix, &start_after, &limit) ||
        !wr_s2_authz(req, t, WR_OP_LIST_ACCESS_TOKENS, NULL, NULL, NULL))
        return;
    wr_resp_json(req, 200, wr_auth_list(s2->auth, t, prefix, start_after, limit));
}

/* Loop thread: the revocation is durable (it took effect in memory when it was asked). */
static void
revoked(void *ud, wr_err e, const wr_error *detail)
{
    token_ctx *c = ud;
    wr_req *req = c->req;
    if (req) {
        req->on_close = NULL;
        if (e == WR_OK)
            wr_resp_send(req, 204, NULL, NULL, 0);
        else
            wr_s2_fail(req, detail);
    }
    free(c);
}

static void
revoke_token(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t = wr_s2_authn(req, s2);
    if (!t)
        return;
    const char *id = req->params[0];
    if (strlen(id) > WR_TOKEN_ID_MAX) {
        wr_resp_error(req, WR_ERR_BAD_PATH, "invalid token id: expected 1-96 bytes");
        return;
    }
    if (!wr_s2_authz(req, t, WR_OP_REVOKE_ACCESS_TOKEN, NULL, NULL, id))
        return;
    wr_auth_revoke_async(s2->auth, id, revoked, token_wait(req));
}

void
wr_s2_tokens_register(wr_s2 *s2, wr_router *r)
{
    wr_router_add(r, WR_METHOD_POST, "/v1/access-tokens", issue_token, s2, 64 * 1024);
    wr_router_add(r, WR_METHOD_GET, "/v1/access-tokens", list_tokens, s2, 0);
    wr_router_add(r, WR_METHOD_DELETE, "/v1/access-tokens/{id}", revoke_token, s2, 0);
}
