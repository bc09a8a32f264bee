/*
 * auth.h — access tokens: the root token, issuing, revoking, listing and verifying bearer
 * tokens for the /v1 API (s2-api.md §7).
 *
 * Secrets are 32 random bytes from the OS CSPRNG, base64url-encoded. Only their SHA-256 is
 * stored (RocksDB via the store's token records; the root token's secret lives in
 * `<data-dir>/root_token`, mode 0600) and compared in constant time. All tokens are held in
 * memory, indexed by hash, so verification never touches disk; revocation removes the entry, so
 * it takes effect for the very next request.
 *
 * Threading: loop thread only (it uses the store's synchronous token calls).
 */
#ifndef WR_AUTH_AUTH_H
#define WR_AUTH_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/scope.h"
#include "store/store.h"
#include "util/err.h"

typedef enum wr_auth_mode {
    WR_AUTH_TOKENS = 0, /* every /v1 request needs a valid bearer token */
    WR_AUTH_NONE,       /* emulator mode: any (or no) token is the root token */
} wr_auth_mode;

typedef struct wr_token {
    char id[WR_TOKEN_ID_MAX + 1];
    uint8_t hash[32];
    uint64_t expires_at_ms; /* 0 = never */
    bool auto_prefix;       /* auto_prefix_streams: names are relative to scope.streams */
    bool root;
    wr_scope scope;
} wr_token;

typedef struct wr_auth wr_auth;

/*
 * Loads every stored token and the root token: `root_secret` when given (WEIR_ROOT_TOKEN),
 * else `<data_dir>/root_token`, created with a new secret when missing. Without a store (a
 * realtime node over a remote S2 endpoint) only the root token exists. When this call created
 * it, *out_new_root is set to the secret (malloc'd; the caller prints it once and frees it).
 * Errors: STORAGE (store or file I/O), INVALID (an empty root secret).
 */
wr_err wr_auth_open(wr_store *store, wr_auth_mode mode, const char *data_dir,
                    const char *root_secret, wr_auth **out, char **out_new_root, wr_error *out_err);
void wr_auth_free(wr_auth *a);
wr_auth_mode wr_auth_get_mode(const wr_auth *a);
/* The root token (every permission, never expires); for server-side issuing. */
const wr_token *wr_auth_root(wr_auth *a);

/*
 * A 32-byte key derived from the root secret: HMAC-SHA256(SHA-256(root secret), label NUL data).
 * For signing keys the server must be able to recompute after a restart without storing them
 * (e.g. the realtime layer's public tokens). Changing the root secret changes every derived key.
 */
void wr_auth_derive_key(const wr_auth *a, const char *label, const void *data, size_t len,
                        uint8_t out[32]);

/*
 * The token an `Authorization` header value stands for, or NULL (401): missing, not a Bearer,
 * unknown, revoked or expired. With WR_AUTH_NONE always the root token. Borrowed until the next
 * revoke.
 */
const wr_token *wr_auth_verify(wr_auth *a, const char *authorization);

/*
 * Issues a token described by an AccessTokenInfo JSON object on behalf of `issuer`. On success
 * *out_secret is the new secret (malloc'd). Errors: BAD_JSON (shape, id not 1–96 bytes,
 * expires_at not RFC 3339), INVALID (empty permissions, auto_prefix_streams without a prefix
 * stream scope, expiry in the past), PERMISSION_DENIED (broader scope or later expiry than the
 * issuer's, or id outside the issuer's access_tokens set), RESOURCE_ALREADY_EXISTS, STORAGE.
 */
wr_err wr_auth_issue(wr_auth *a, const wr_token *issuer, const json_t *info, char **out_secret,
                     wr_error *out_err);
/* Revokes by id. Errors: ACCESS_TOKEN_NOT_FOUND, STORAGE (the root token cannot be revoked:
 * INVALID). */
wr_err wr_auth_revoke(wr_auth *a, const char *id, wr_error *out_err);
/* Whether a token with this id exists (issued, not revoked) and has not expired. */
bool wr_auth_token_live(const wr_auth *a, const char *id);
/* How many tokens (expired ones included, until collected) have an id starting with prefix. */
size_t wr_auth_count_prefix(const wr_auth *a, const char *prefix);
/*
 * Revokes every token whose id starts with `prefix` (non-empty), as wr_auth_revoke does each;
 * *out_n (may be NULL) is how many. Errors: STORAGE (those revoked before it stay revoked).
 */
wr_err wr_auth_revoke_prefix(wr_auth *a, const char *prefix, size_t *out_n, wr_error *out_err);
/*
 * Deletes up to `max` expired tokens whose id starts with `prefix` ("" = any): expired tokens
 * are refused by wr_auth_verify already; this only reclaims their records. *out_n (may be
 * NULL) is how many. Errors: STORAGE.
 */
wr_err wr_auth_gc(wr_auth *a, const char *prefix, size_t max, size_t *out_n, wr_error *out_err);

/*
 * {"access_tokens":[AccessTokenInfo…],"has_more":bool}: tokens whose id starts with prefix, is
 * greater than start_after, and lies in the caller's access_tokens scope; limit as for lists.
 */
json_t *wr_auth_list(wr_auth *a, const wr_token *caller, const char *prefix,
                     const char *start_after, size_t limit);

#endif
