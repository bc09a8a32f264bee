/*
 * rtauth.c — who is calling a realtime route (realtime.md §5):
 *   - an environment's secret key (`Authorization: Bearer sk_…`): everything of that environment;
 *   - a public token: an HS256 JWT {sub: envId, pub: true, scopes: [...], iss, aud, iat, exp},
 *     signed with the environment's raw secret key — by trigger.dev's SDK locally (after
 *     POST /api/v1/auth/jwt/claims) or by weir (POST /api/v1/auth/public-tokens, session
 *     create); the two are interchangeable.
 *
 * Signing key: the environment's API key, which weir keeps sealed at rest (keybox.h) and opens
 * per verification. Tokens signed with it must carry iss https://id.trigger.dev and aud
 * https://api.trigger.dev, as trigger.dev's do. An environment created before keys were sealed
 * has no raw key until it rotates; its tokens use the older server-derived key,
 * HMAC-SHA256(root secret hash, envId ‖ SHA-256(api key)) (wr_auth_derive_key), which only
 * weir can sign with. Either way rotating the key invalidates every public token.
 *
 * Scopes: "admin", "read:all", "write:all", "{read|write}:{kind}" (every resource of the kind)
 * and "{read|write}:{kind}:{id}" with kind sessions | runs | inputStreams.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth/jwt.h"
#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/jsonw.h"

#define PUBLIC_TOKEN_DEFAULT_TTL_S (15 * 60)
#define PUBLIC_TOKEN_MAX_TTL_S (30 * 24 * 3600)

#define JWT_ISSUER "https://id.trigger.dev"
#define JWT_AUDIENCE "https://api.trigger.dev"

/* An environment's signing key: its raw API key (raw = true), or the legacy derived key. */
typedef struct signing_key {
    bool raw;
    char bytes[WR_RT_KEY_MAX];
    size_t len;
} signing_key;

static void
key_for(wr_rt *rt, const wr_env *env, signing_key *k)
{
    k->raw = wr_rt_env_key(rt, env, k->bytes);
    if (k->raw) {
        k->len = strlen(k->bytes);
        return;
    }
    uint8_t data[WR_META_ID_MAX + 1 + 32];
    size_t n = strlen(env->id);
    memcpy(data, env->id, n);
    data[n] = '\0';
    memcpy(data + n + 1, env->key_hash, 32);
    wr_auth_derive_key(rt->auth, "weir public token v1", data, n + 1 + 32, (uint8_t *)k->bytes);
    k->len = 32;
}

static void
key_wipe(signing_key *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

char *
wr_rt_public_token_until(wr_rt *rt, const wr_env *env, const char *scopes, uint64_t exp_s)
{
    signing_key k;
    key_for(rt, env, &k);
    wr_buf claims = {0};
    wr_jw_open(&claims, '{');
    wr_jw_str(&claims, "sub", env->id);
    wr_jw_bool(&claims, "pub", true);
    wr_jw_raw(&claims, "scopes", scopes, "[]");
    wr_jw_int(&claims, "iat", (int64_t)(wr_clock_now_ms() / 1000));
    wr_jw_int(&claims, "exp", (int64_t)exp_s);
    if (k.raw) {
        wr_jw_str(&claims, "iss", JWT_ISSUER);
        wr_jw_str(&claims, "aud", JWT_AUDIENCE);
    }
    wr_jw_close(&claims, '}');
    char *jwt = wr_jwt_sign_text(claims.data, claims.len, k.bytes, k.len);
    wr_buf_fini(&claims);
    key_wipe(&k);
    return jwt;
}

char *
wr_rt_public_token(wr_rt *rt, const wr_env *env, const char *scopes, uint64_t ttl_s)
{
    return wr_rt_public_token_until(rt, env, scopes, wr_clock_now_ms() / 1000 + ttl_s);
}

/* `aud` is a string or an array of strings (RFC 7519 §4.1.3). */
static bool
audience_ok(json_t *aud)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), JWT_AUDIENCE) == 0;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), JWT_AUDIENCE) == 0)
            return true;
    }
    return false;
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
verify_jwt(wr_req *req, wr_rt *rt, const char *jwt, wr_rt_caller *out, const char **why)
{
    char env_id[WR_META_ID_MAX + 1];
    *why = "Invalid public access token";
    if (!unverified_sub(jwt, env_id) || wr_rt_read_env(rt, req, env_id, &out->env, NULL) != WR_OK)
        return false;
    signing_key k;
    key_for(rt, &out->env, &k);
    json_t *claims = NULL;
    wr_error err = {0};
    wr_err verr = wr_jwt_verify(jwt, k.bytes, k.len, wr_clock_now_ms() / 1000, &claims, &err);
    bool raw = k.raw;
    key_wipe(&k);
    if (verr != WR_OK) {
        if (strstr(err.msg, "expired"))
            *why = "Public access token has expired";
        return false;
    }
    json_t *sub = json_object_get(claims, "sub"), *scopes = json_object_get(claims, "scopes");
    json_t *iss = json_object_get(claims, "iss");
    /* A token without scopes grants nothing (trigger.dev's createPublicToken() sends none). */
    bool ok = json_is_string(sub) && strcmp(json_string_value(sub), out->env.id) == 0 &&
              json_is_true(json_object_get(claims, "pub")) &&
              (scopes == NULL || json_is_array(scopes)) &&
              (!raw || (json_is_string(iss) && strcmp(json_string_value(iss), JWT_ISSUER) == 0 &&
                        audience_ok(json_object_get(claims, "aud"))));
    json_t *exp = json_object_get(claims, "exp");
    if (ok) {
        out->public_token = true;
        out->scopes = scopes ? json_incref(scopes) : json_array();
        out->exp_ms = json_is_integer(exp) && json_integer_value(exp) > 0
                          ? (uint64_t)json_integer_value(exp) * 1000
                          : 0;
    }
    json_decref(claims);
    return ok;
}

/* The bearer credential of req, or NULL. */
static const char *
bearer(wr_req *req)
{
    const char *h = wr_req_header(req, "authorization");
    return h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
}

bool
wr_rt_credential(wr_req *req, bool *by_key, uint8_t hash[32], char sub[WR_META_ID_MAX + 1])
{
    const char *cred = bearer(req);
    if (cred && looks_like_jwt(cred)) {
        *by_key = false;
        return unverified_sub(cred, sub);
    }
    if (cred) {
        *by_key = true;
        wr_rt_hash_key(cred, hash);
    }
    return cred != NULL;
}

bool
wr_rt_authn(wr_req *req, wr_rt *rt, bool allow_public, wr_rt_caller *out)
{
    memset(out, 0, sizeof(*out));
    const char *cred = bearer(req);
    const char *why = "Invalid or missing API key";
    if (cred && looks_like_jwt(cred)) {
        if (allow_public && verify_jwt(req, rt, cred, out, &why))
            return true;
        if (!allow_public)
            why = "This route requires the environment's secret key";
    } else if (cred) {
        uint8_t hash[32];
        wr_rt_hash_key(cred, hash);
        if (wr_rt_read_env_by_key_hash(rt, req, hash, &out->env, NULL) == WR_OK)
            return true;
    }
    wr_rt_fail(req, WR_ERR_AUTHN, why);
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
    wr_rt_fail(req, WR_ERR_PERMISSION_DENIED, msg);
    return false;
}

/* A scope string: 1–300 printable characters. Scopes weir does not serve (read:tags:…,
 * read:batch:…, trigger:tasks:…) are accepted and grant nothing (wr_rt_allowed). */
static bool
scope_valid(const char *s, size_t len)
{
    return len > 0 && len <= 300 && strlen(s) == len && wr_rt_name_ok(s);
}

/*
 * expirationTime, as trigger.dev's SDK means it: a number is an absolute time in Unix seconds
 * (the SDK turns a Date into one), a string is a duration from now ("15m", "1h", "2 days").
 * Default 15 minutes, at most 30 days ahead. Returns the expiry in Unix seconds, 0 after
 * answering 400.
 */
static uint64_t
expiration(wr_req *req, json_t *v)
{
    uint64_t now = wr_clock_now_ms() / 1000, secs = 0, exp = 0;
    if (v == NULL || json_is_null(v))
        return now + PUBLIC_TOKEN_DEFAULT_TTL_S;
    if (json_is_integer(v) && json_integer_value(v) > (json_int_t)now)
        exp = (uint64_t)json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) > (double)now &&
             json_real_value(v) < (double)now + PUBLIC_TOKEN_MAX_TTL_S + 1) /* then cast */
        exp = (uint64_t)json_real_value(v);
    else if (json_is_string(v) && wr_duration_parse(json_string_value(v), &secs, NULL) == WR_OK)
        exp = now + secs;
    if (exp <= now || exp - now > PUBLIC_TOKEN_MAX_TTL_S) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST,
                   "`expirationTime` must be a duration like 15m, 1h, 1d or a future time in Unix "
                   "seconds, at most 30 days ahead");
        return 0;
    }
    return exp;
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
        wr_rt_fail(req, WR_ERR_BAD_REQUEST,
                   "`scopes` must be a non-empty array of scopes such as read:sessions:<key>, "
                   "write:sessions:<key>, read:runs:<runId>, write:inputStreams:<runId>, "
                   "read:all, write:all, admin");
        return;
    }
    uint64_t exp = expiration(req, json_object_get(body, "expirationTime"));
    if (exp) {
        char *text = json_dumps(scopes, JSON_COMPACT);
        char *jwt = wr_rt_public_token_until(rt, &c.env, text, exp);
        wr_resp_json(req, 200, json_pack("{s:s}", "token", jwt));
        free(jwt);
        free(text);
    }
    json_decref(body);
}

/* POST /api/v1/auth/jwt/claims → the claims trigger.dev's SDK copies into the public tokens it
 * signs locally with the secret key. */
static void
jwt_claims(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    wr_rt_caller c;
    if (!wr_rt_authn(req, rt, false, &c))
        return;
    wr_resp_json(req, 200, json_pack("{s:s,s:b}", "sub", c.env.id, "pub", 1));
    wr_rt_caller_fini(&c);
}

void
wr_rt_auth_register(wr_rt *rt, wr_router *r)
{
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/auth/jwt/claims", jwt_claims, 64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/auth/public-tokens", create_public_token,
                64 * 1024);
}
