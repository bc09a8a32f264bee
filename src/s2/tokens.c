/*
 * tokens.c — /v1/access-tokens: issue (POST), list (GET) and revoke (DELETE /{id}).
 * The rules (scope, expiry, no escalation) live in src/auth/; this file only decodes,
 * authorizes and encodes.
 */
#include <stdlib.h>
#include <string.h>

#include "s2/s2_int.h"

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
    if (!wr_s2_authz(req, t, WR_OP_ISSUE_ACCESS_TOKEN, NULL, NULL,
                     json_is_string(id) ? json_string_value(id) : "")) {
        json_decref(body);
        return;
    }
    char *secret = NULL;
    if (wr_auth_issue(s2->auth, t, body, &secret, &err) != WR_OK) {
        json_decref(body);
        wr_s2_fail(req, &err);
        return;
    }
    json_decref(body);
    wr_resp_json(req, 201, json_pack("{s:s}", "access_token", secret));
    free(secret);
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
    wr_error err = {0};
    if (wr_auth_revoke(s2->auth, id, &err) != WR_OK) {
        wr_s2_fail(req, &err);
        return;
    }
    wr_resp_send(req, 204, NULL, NULL, 0);
}

void
wr_s2_tokens_register(wr_s2 *s2, wr_router *r)
{
    wr_router_add(r, WR_METHOD_POST, "/v1/access-tokens", issue_token, s2, 64 * 1024);
    wr_router_add(r, WR_METHOD_GET, "/v1/access-tokens", list_tokens, s2, 0);
    wr_router_add(r, WR_METHOD_DELETE, "/v1/access-tokens/{id}", revoke_token, s2, 0);
}
