/*
 * rtauth.c — who is calling a realtime route (realtime.md §5):
 *   - an environment's secret key (`Authorization: Bearer sk_…`): everything of that environment;
 *   - a public token: an HS256 JWT {sub: envId, pub: true, scopes: [...], iat, exp} that only the
 *     server mints (POST /api/v1/auth/public-tokens, and the session-create response).
 *
 * Signing key of an environment's public tokens: HMAC-SHA256 keyed by the server's root secret
 * over (envId, SHA-256 of the environment's API key) — wr_auth_derive_key. The server never
 * stores API keys, only their hashes, so it cannot sign with the raw key as trigger.dev does;
 * deriving from the hash and a server secret keeps the database alone from being enough to
 * forge tokens. Consequences: rotating the environment key invalidates its public tokens (as
 * it would with the raw key), and so does changing the root secret.
 *
 * Scopes: "admin", "read:all", "write:all", "{read|write}:{kind}" (every resource of the kind)
 * and "{read|write}:{kind}:{id}" with kind sessions | runs | inputStreams.
 */
#include <string.h>
#include <strings.h>

#include "auth/jwt.h"
#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/duration.h"

#define PUBLIC_TOKEN_DEFAULT_TTL_S (15 * 60)
#define PUBLIC_TOKEN_MAX_TTL_S (30 * 24 * 3600)

static void
signing_key(const wr_rt *rt, const wr_env *env, uint8_t out[32])
{
    uint8_t data[WR_META_ID_MAX + 1 + 32];
    size_t n = strlen(env->id);
    memcpy(data, env->id, n);
    data[n] = '\0';
    memcpy(data + n + 1, env->key_hash, 32);
    wr_auth_derive_key(rt->auth, "weir public token v1", data, n + 1 + 32, out);
}

char *
wr_rt_public_token(wr_rt *rt, const wr_env *env, json_t *scopes, uint64_t ttl_s)
{
    uint8_t key[32];
    signing_key(rt, env, key);
    uint64_t now = wr_clock_now_ms() / 1000;
    json_t *claims = json_pack("{s:s,s:b,s:o,s:I,s:I}", "sub", env->id, "pub", 1, "scopes", scopes,
                               "iat", (json_int_t)now, "exp", (json_int_t)(now + ttl_s));
    char *jwt = wr_jwt_sign(claims, key, sizeof(key));
    json_decref(claims);
    return jwt;
}

/* A JWT has exactly two dots; API keys have none. */
static bool
looks_like_jwt(const char *s)
{
    const char *d1 = strchr(s, '.');
    return d1 && strchr(d1 + 1, '.') != NULL;
}

/* The `sub` claim of a JWT, unverified (to find whose key verifies it). */
static bool
unverified_sub(const char *jwt, char out[WR_META_ID_MAX + 1])
{
    json_t *j = wr_jwt_unverified_claims(jwt);
    json_t *sub = json_object_get(j, "sub");
    bool ok = json_is_string(sub) && json_string_length(sub) > 0 &&
              json_string_length(sub) <= WR_META_ID_MAX &&
              strlen(json_string_value(sub)) == json_string_length(sub);
    if (ok)
        strcpy(out, json_string_value(sub));
    json_decref(j);
    return ok;
}

/* Verifies a public token; on success fills env and takes the scopes. */
static bool
verify_jwt(wr_rt *rt, const char *jwt, wr_rt_caller *out, const char **why)
{
    char env_id[WR_META_ID_MAX + 1];
    *why = "Invalid public access token";
    if (!unverified_sub(jwt, env_id) || wr_meta_env_get(rt->meta, env_id, &out->env, NULL) != WR_OK)
        return false;
    uint8_t key[32];
    signing_key(rt, &out->env, key);
    json_t *claims = NULL;
    wr_error err = {0};
    if (wr_jwt_verify(jwt, key, sizeof(key), wr_clock_now_ms() / 1000, &claims, &err) != WR_OK) {
        if (strstr(err.msg, "expired"))
            *why = "Public access token has expired";
        return false;
    }
    json_t *sub = json_object_get(claims, "sub"), *scopes = json_object_get(claims, "scopes");
    bool ok = json_is_string(sub) && strcmp(json_string_value(sub), out->env.id) == 0 &&
              json_is_true(json_object_get(claims, "pub")) && json_is_array(scopes);
    json_t *exp = json_object_get(claims, "exp");
    if (ok) {
        out->public_token = true;
        out->scopes = json_incref(scopes);
        out->exp_ms = json_is_integer(exp) && json_integer_value(exp) > 0
                          ? (uint64_t)json_integer_value(exp) * 1000
                          : 0;
    }
    json_decref(claims);
    return ok;
}

bool
wr_rt_authn(wr_req *req, wr_rt *rt, bool allow_public, wr_rt_caller *out)
{
    memset(out, 0, sizeof(*out));
    const char *h = wr_req_header(req, "authorization");
    const char *cred = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
    const char *why = "Invalid or missing API key";
    if (cred && looks_like_jwt(cred)) {
        if (allow_public && verify_jwt(rt, cred, out, &why))
            return true;
        if (!allow_public)
            why = "This route requires the environment's secret key";
    } else if (cred) {
        uint8_t hash[32];
        wr_rt_hash_key(cred, hash);
        if (wr_meta_env_by_key_hash(rt->meta, hash, &out->env, NULL) == WR_OK)
            return true;
    }
    wr_rt_fail(req, 401, why);
    return false;
}

void
wr_rt_caller_fini(wr_rt_caller *c)
{
    json_decref(c->scopes);
    c->scopes = NULL;
}

bool
wr_rt_allowed(const wr_rt_caller *c, const char *action, const char *kind, const char *const *ids,
              size_t n_ids)
{
    if (!c->public_token)
        return true;
    char all[32], whole[64];
    snprintf(all, sizeof(all), "%s:all", action);
    snprintf(whole, sizeof(whole), "%s:%s", action, kind);
    size_t wl = strlen(whole);
    size_t i;
    json_t *v;
    json_array_foreach(c->scopes, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL)
            continue;
        if (strcmp(s, "admin") == 0 || strcmp(s, all) == 0 || strcmp(s, whole) == 0)
            return true;
        if (strncmp(s, whole, wl) != 0 || s[wl] != ':')
            continue;
        for (size_t k = 0; k < n_ids; k++)
            if (ids[k] && strcmp(s + wl + 1, ids[k]) == 0)
                return true;
    }
    return false;
}

bool
wr_rt_authz(wr_req *req, const wr_rt_caller *c, const char *action, const char *kind,
            const char *const *ids, size_t n_ids)
{
    if (wr_rt_allowed(c, action, kind, ids, n_ids))
        return true;
    char msg[160];
    snprintf(msg, sizeof(msg), "Public access token lacks the scope %s:%s:%s", action, kind,
             n_ids && ids[0] ? ids[0] : "");
    wr_rt_fail(req, 403, msg);
    return false;
}

/* Whether `s` is a scope string this server understands. */
static bool
scope_valid(const char *s, size_t len)
{
    if (strlen(s) != len || len > 300)
        return false;
    if (strcmp(s, "admin") == 0 || strcmp(s, "read:all") == 0 || strcmp(s, "write:all") == 0)
        return true;
    static const char *const kinds[] = {"read:sessions", "write:sessions", "read:runs",
                                        "write:inputStreams"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t kl = strlen(kinds[i]);
        if (strncmp(s, kinds[i], kl) == 0 && (s[kl] == '\0' || (s[kl] == ':' && s[kl + 1])))
            return true;
    }
    return false;
}

/* expirationTime: a duration string or a number of seconds; 0 on error (answered). */
static uint64_t
expiration(wr_req *req, json_t *v)
{
    uint64_t secs = 0;
    if (v == NULL || json_is_null(v))
        return PUBLIC_TOKEN_DEFAULT_TTL_S;
    if (json_is_integer(v) && json_integer_value(v) > 0)
        secs = (uint64_t)json_integer_value(v);
    else if (json_is_string(v) && wr_duration_parse(json_string_value(v), &secs, NULL) != WR_OK)
        secs = 0;
    if (secs == 0 || secs > PUBLIC_TOKEN_MAX_TTL_S) {
        wr_rt_fail(req, 400,
                   "`expirationTime` must be a duration like 15m, 1h, 1d or a number of seconds, "
                   "at most 30d");
        return 0;
    }
    return secs;
}

/* POST /api/v1/auth/public-tokens {"scopes":[...], "expirationTime"?} → {"token"} */
static void
create_public_token(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_rt_caller c;
    if (!wr_rt_authn(req, rt, false, &c))
        return;
    json_t *body = wr_rt_body(req);
    if (!body)
        return;
    json_t *scopes = json_object_get(body, "scopes");
    bool ok =
        json_is_array(scopes) && json_array_size(scopes) > 0 && json_array_size(scopes) <= 100;
    size_t i;
    json_t *v;
    json_array_foreach(scopes, i, v)
    {
        ok = ok && json_is_string(v) && scope_valid(json_string_value(v), json_string_length(v));
    }
    if (!ok) {
        json_decref(body);
        wr_rt_fail(req, 400,
                   "`scopes` must be a non-empty array of scopes such as read:sessions:<key>, "
                   "write:sessions:<key>, read:runs:<runId>, write:inputStreams:<runId>, "
                   "read:all, write:all, admin");
        return;
    }
    uint64_t ttl = expiration(req, json_object_get(body, "expirationTime"));
    if (ttl) {
        char *jwt = wr_rt_public_token(rt, &c.env, json_incref(scopes), ttl);
        wr_resp_json(req, 200, json_pack("{s:s}", "token", jwt));
        free(jwt);
    }
    json_decref(body);
}

void
wr_rt_auth_register(wr_rt *rt, wr_router *r)
{
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/auth/public-tokens", create_public_token,
                64 * 1024);
}
