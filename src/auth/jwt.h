/*
 * jwt.h — HS256 JSON Web Tokens (RFC 7519), the realtime layer's public access tokens: signed
 * with an environment's secret key, carrying `sub` (environment id), `pub: true`, `scopes`,
 * `iat` and `exp`.
 *
 * Verification accepts exactly one algorithm: the header must say {"alg":"HS256"} (a "typ" of
 * "JWT" is allowed). `none`, RS256 or anything else is rejected, so a token can never choose
 * how it is checked. Signatures are compared in constant time. Pure functions; any thread.
 */
#ifndef WR_AUTH_JWT_H
#define WR_AUTH_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Signs `claims` (borrowed) with `key`; returns a malloc'd compact JWT. */
char *wr_jwt_sign(const json_t *claims, const void *key, size_t key_len);
/* The same for claims already written as compact JSON text (an object), claims[0..len). */
char *wr_jwt_sign_text(const char *claims, size_t len, const void *key, size_t key_len);

/*
 * Verifies `token` against `key` and returns its claims (a new reference) in *out_claims.
 * Errors, all WR_ERR_AUTHN with a message: malformed (not three base64url parts, bad JSON),
 * wrong algorithm, bad signature, `exp` missing or not a number, expired (exp <= now_s),
 * `nbf` in the future.
 */
wr_err wr_jwt_verify(const char *token, const void *key, size_t key_len, uint64_t now_s,
                     json_t **out_claims, wr_error *out_err);

/*
 * The claims of a well-formed token WITHOUT verifying anything (a new reference, or NULL): only
 * to find out which key should verify it (e.g. `sub`). Never trust what it returns.
 */
json_t *wr_jwt_unverified_claims(const char *token);

#endif
