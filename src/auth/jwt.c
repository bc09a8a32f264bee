/*
 * jwt.c — see jwt.h. base64url without padding (RFC 7515 §2) both ways.
 */
#include "auth/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/sha256.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
b64url_encode(const uint8_t *p, size_t n, wr_buf *out)
{
    wr_buf_reserve(out, (n + 2) / 3 * 4);
    char *o = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64url[v >> 18 & 63];
        *o++ = b64url[v >> 12 & 63];
        *o++ = b64url[v >> 6 & 63];
        *o++ = b64url[v & 63];
    }
    if (n - i > 0) {
        uint32_t v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = b64url[v >> 18 & 63];
        *o++ = b64url[v >> 12 & 63];
        if (n - i == 2)
            *o++ = b64url[v >> 6 & 63];
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
}

static int
b64url_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

/* Strict: only the alphabet, no padding, no impossible lengths. */
static bool
b64url_decode(const char *s, size_t n, wr_buf *out)
{
    if (n % 4 == 1)
        return false;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            wr_buf_append_byte(out, (uint8_t)(acc >> bits));
        }
    }
    return true;
}

/* A public token is signed per session create: util/sha256's HMAC, over the digest fetched once. */
static void
hs256(const void *key, size_t key_len, const char *data, size_t len, uint8_t out[32])
{
    wr_hmac_sha256(key, key_len, data, len, NULL, 0, out);
}

char *
wr_jwt_sign_text(const char *claims, size_t len, const void *key, size_t key_len)
{
    wr_buf out;
    wr_buf_init(&out);
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    b64url_encode((const uint8_t *)header, sizeof(header) - 1, &out);
    wr_buf_append_byte(&out, '.');
    b64url_encode((const uint8_t *)claims, len, &out);
    uint8_t mac[32];
    hs256(key, key_len, out.data, out.len, mac);
    wr_buf_append_byte(&out, '.');
    b64url_encode(mac, sizeof(mac), &out);
    return wr_buf_steal(&out, NULL);
}

char *
wr_jwt_sign(const json_t *claims, const void *key, size_t key_len)
{
    char *payload = json_dumps(claims, JSON_COMPACT);
    char *jwt = wr_jwt_sign_text(payload, strlen(payload), key, key_len);
    free(payload);
    return jwt;
}

static wr_err
fail(wr_error *e, const char *msg)
{
    return wr_error_set(e, WR_ERR_AUTHN, "%s", msg);
}

/* The decoded JSON object of one part, or NULL. */
static json_t *
part_json(const char *s, size_t n)
{
    wr_buf raw;
    wr_buf_init(&raw);
    json_t *j = NULL;
    if (b64url_decode(s, n, &raw) && raw.len)
        j = json_loadb(raw.data, raw.len, JSON_REJECT_DUPLICATES, NULL);
    wr_buf_fini(&raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static bool
header_ok(const json_t *h)
{
    const char *key;
    json_t *v;
    bool alg = false;
    json_object_foreach((json_t *)h, key, v)
    {
        if (strcmp(key, "alg") == 0)
            alg = json_is_string(v) && strcmp(json_string_value(v), "HS256") == 0;
        else if (strcmp(key, "typ") == 0) {
            if (!json_is_string(v) || strcmp(json_string_value(v), "JWT") != 0)
                return false;
        } else {
            return false; /* kid, jku, crit, …: nothing else may steer verification */
        }
    }
    return alg;
}

wr_err
wr_jwt_verify(const char *token, const void *key, size_t key_len, uint64_t now_s,
              json_t **out_claims, wr_error *out_err)
{
    *out_claims = NULL;
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        return fail(out_err, "malformed token: expected three parts");
    json_t *header = part_json(token, (size_t)(d1 - token));
    bool alg_ok = header && header_ok(header);
    json_decref(header);
    if (!alg_ok)
        return fail(out_err, "unsupported token header: only HS256 is accepted");
    wr_buf sig;
    wr_buf_init(&sig);
    bool sig_ok = b64url_decode(d2 + 1, strlen(d2 + 1), &sig) && sig.len == 32;
    uint8_t mac[32];
    hs256(key, key_len, token, (size_t)(d2 - token), mac);
    sig_ok = sig_ok && CRYPTO_memcmp(mac, sig.data, 32) == 0;
    wr_buf_fini(&sig);
    if (!sig_ok)
        return fail(out_err, "bad token signature");
    json_t *claims = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!claims)
        return fail(out_err, "malformed token claims");
    json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
    wr_err e = WR_OK;
    if (!json_is_integer(exp) || json_integer_value(exp) < 0)
        e = fail(out_err, "token has no valid `exp`");
    else if ((uint64_t)json_integer_value(exp) <= now_s)
        e = fail(out_err, "token has expired");
    else if (nbf && (!json_is_integer(nbf) || (uint64_t)json_integer_value(nbf) > now_s))
        e = fail(out_err, "token is not valid yet");
    if (e != WR_OK) {
        json_decref(claims);
        return e;
    }
    *out_claims = claims;
    return WR_OK;
}

json_t *
wr_jwt_unverified_claims(const char *token)
{
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        return NULL;
    return part_json(d1 + 1, (size_t)(d2 - d1 - 1));
}
