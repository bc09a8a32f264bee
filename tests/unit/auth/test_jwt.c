/*
 * test_jwt.c — HS256 public tokens: round trip, and a table of tokens that must be refused
 * (tampering, other algorithms, expiry, malformed encodings).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/jwt.h"
#include "support/test_main.h"

#define KEY "sk_environment_secret"
#define NOW 1795000000ull

static char *
sign(const char *claims_json, const char *key)
{
    json_t *c = json_loads(claims_json, 0, NULL);
    assert_non_null(c);
    char *t = wr_jwt_sign(c, key, strlen(key));
    json_decref(c);
    return t;
}

static void
test_round_trip(void **state)
{
    (void)state;
    char *t = sign("{\"sub\":\"env1\",\"pub\":true,\"scopes\":[\"read:sessions:chat-1\"],"
                   "\"iat\":1794990000,\"exp\":1795003600}",
                   KEY);
    json_t *claims = NULL;
    wr_error e = {0};
    assert_int_equal(wr_jwt_verify(t, KEY, strlen(KEY), NOW, &claims, &e), WR_OK);
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), "env1");
    assert_true(json_is_true(json_object_get(claims, "pub")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(claims, "scopes"), 0)),
                        "read:sessions:chat-1");
    json_decref(claims);
    free(t);
}

/* base64url without padding, for the reference signatures below. */
static void
b64url(const uint8_t *p, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = a[(acc >> bits) & 63];
        }
    }
    if (bits)
        out[o++] = a[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* The signature is HMAC-SHA256 of "header.claims" under the key, as OpenSSL's own HMAC() computes
 * it, for keys shorter than, as long as and longer than SHA-256's 64-byte block (hashed first). */
static void
test_signature_is_hmac_sha256(void **state)
{
    (void)state;
    static const char claims[] = "{\"sub\":\"env1\",\"pub\":true,\"exp\":1795003600}";
    char key[130];
    memset(key, 'k', sizeof(key));
    static const size_t lens[] = {0, 1, 21, 63, 64, 65, 129};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        key[0] = (char)('a' + i); /* a different key each row */
        char *t = wr_jwt_sign_text(claims, strlen(claims), key, lens[i]);
        assert_non_null(t);
        const char *d2 = strrchr(t, '.');
        uint8_t mac[32];
        unsigned int n = sizeof(mac);
        assert_non_null(HMAC(EVP_sha256(), lens[i] ? key : "", (int)lens[i], (const uint8_t *)t,
                             (size_t)(d2 - t), mac, &n));
        char want[64];
        b64url(mac, n, want);
        assert_string_equal(d2 + 1, want);
        free(t);
    }
}

/* Replaces the part `idx` (0 header, 1 claims, 2 signature) of token t with `part`. */
static char *
with_part(const char *t, int idx, const char *part)
{
    const char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
    const char *starts[3] = {t, d1 + 1, d2 + 1};
    size_t lens[3] = {(size_t)(d1 - t), (size_t)(d2 - d1 - 1), strlen(d2 + 1)};
    char *out = malloc(strlen(t) + strlen(part) + 4);
    out[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (i)
            strcat(out, ".");
        if (i == idx)
            strcat(out, part);
        else
            strncat(out, starts[i], lens[i]);
    }
    return out;
}

static void
test_refused(void **state)
{
    (void)state;
    char *good = sign("{\"sub\":\"env1\",\"pub\":true,\"exp\":1795003600}", KEY);
    char *expired = sign("{\"sub\":\"env1\",\"exp\":1794999999}", KEY);
    char *no_exp = sign("{\"sub\":\"env1\"}", KEY);
    char *str_exp = sign("{\"sub\":\"env1\",\"exp\":\"1795003600\"}", KEY);
    char *nbf = sign("{\"sub\":\"env1\",\"exp\":1795003600,\"nbf\":1795000100}", KEY);
    char *other_key = sign("{\"sub\":\"env1\",\"exp\":1795003600}", "another-key");
    char *other_claims = sign("{\"sub\":\"env2\",\"exp\":1795003600}", "another-key");
    /* base64url of {"alg":"none"}, {"alg":"RS256"}, {"alg":"HS256","kid":"x"}, {"alg":"HS512"} */
    char *alg_none = with_part(good, 0, "eyJhbGciOiJub25lIn0");
    char *alg_none_nosig = with_part(alg_none, 2, "");
    char *alg_rs = with_part(good, 0, "eyJhbGciOiJSUzI1NiJ9");
    char *kid = with_part(good, 0, "eyJhbGciOiJIUzI1NiIsImtpZCI6IngifQ");
    char *hs512 = with_part(good, 0, "eyJhbGciOiJIUzUxMiJ9");
    const char *d1 = strchr(other_claims, '.'), *d2 = strchr(d1 + 1, '.');
    char swapped_claims[512];
    snprintf(swapped_claims, sizeof(swapped_claims), "%.*s", (int)(d2 - d1 - 1), d1 + 1);
    char *tampered = with_part(good, 1, swapped_claims);
    char *bad_sig = with_part(good, 2, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    char *padded = malloc(strlen(good) + 2);
    sprintf(padded, "%s=", good);
    struct {
        const char *name;
        const char *token;
    } rows[] = {
        {"expired", expired},
        {"no exp", no_exp},
        {"exp as a string", str_exp},
        {"nbf in the future", nbf},
        {"signed with another key", other_key},
        {"alg none", alg_none},
        {"alg none, empty signature", alg_none_nosig},
        {"RS256", alg_rs},
        {"extra header field", kid},
        {"HS512", hs512},
        {"claims swapped", tampered},
        {"bad signature", bad_sig},
        {"padding", padded},
        {"two parts", "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9"},
        {"four parts", "a.b.c.d"},
        {"empty", ""},
        {"bad characters", "eyJ!.eyJ.abc"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *claims = NULL;
        wr_error e = {0};
        if (wr_jwt_verify(rows[i].token, KEY, strlen(KEY), NOW, &claims, &e) != WR_ERR_AUTHN)
            fail_msg("row '%s' was accepted", rows[i].name);
        assert_null(claims);
    }
    free(good);
    free(expired);
    free(no_exp);
    free(str_exp);
    free(nbf);
    free(other_key);
    free(other_claims);
    free(alg_none);
    free(alg_none_nosig);
    free(alg_rs);
    free(kid);
    free(hs512);
    free(tampered);
    free(bad_sig);
    free(padded);
}

WR_TEST_MAIN(cmocka_unit_test(test_round_trip), cmocka_unit_test(test_signature_is_hmac_sha256),
             cmocka_unit_test(test_refused))
