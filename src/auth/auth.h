/*
 * auth.h — access tokens: the root token, issuing, revoking, listing and verifying bearer
 * tokens for the /v1 API (s2-api.md §7).
 *
 * Secrets are 32 random bytes from the OS CSPRNG, base64url-encoded. Only their SHA-256 is
 * stored (RocksDB via the store's token records; the root token's secret lives in
 * `<data-dir>/root_token`, mode 0600) and compared in constant time. All tokens are held in
 * memory, indexed by hash, so verification never touches disk.
 *
 * Writes are asynchronous: the records go to the store's commit thread
 * (wr_store_tokens_write_async) and the answer comes once they are durable. A new token enters
 * the index, and becomes usable, only then; until then its id is taken (a second issue of it is
 * refused) but the token is not usable and not listed. A revocation leaves the index at once
 * (fail closed: the very next request with the token is refused) and is answered once its delete
 * is durable. If that write fails, the token stays revoked in memory and the caller gets STORAGE;
 * the store then refuses every write until it is reopened, and a restart would bring the token
 * back from its record.
 *
 * Threading: loop thread only. Callbacks run on the loop; `detail` is set when err != WR_OK and
 * NULL otherwise. A call that fails its checks answers through its callback before it returns.
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
/* Frees the registry. Writes still in flight are detached: their callbacks run when the store
 * answers them (wr_store_close answers every one) but no longer touch the registry. */
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
 * unknown, not yet durable, revoked or expired. With WR_AUTH_NONE always the root token.
 * Borrowed until the next revoke.
 */
const wr_token *wr_auth_verify(wr_auth *a, const char *authorization);

typedef void (*wr_auth_done_cb)(void *ud, wr_err err, const wr_error *detail);
/* `secret`: the new token's secret, borrowed during the call (NULL on error). */
typedef void (*wr_auth_issue_cb)(void *ud, wr_err err, const wr_error *detail, const char *secret);
/* `n`: how many tokens the call removed from the index (on STORAGE too: they stay revoked). */
typedef void (*wr_auth_count_cb)(void *ud, wr_err err, const wr_error *detail, size_t n);

/*
 * Issues a token described by an AccessTokenInfo JSON object on behalf of `issuer` (both
 * borrowed for the call only). The checks are made before this returns; the record is written
 * by the store's commit thread and cb gets the secret once it is durable, when the token enters
 * the index. Errors: BAD_JSON (shape, id not 1–96 bytes, expires_at not RFC 3339), INVALID
 * (empty permissions, auto_prefix_streams without a prefix stream scope, expiry in the past),
 * PERMISSION_DENIED (broader scope or later expiry than the issuer's, or id outside the issuer's
 * access_tokens set), RESOURCE_ALREADY_EXISTS (`root`, an existing id, or one whose issue is in
 * flight), STORAGE and UNAVAILABLE (the write was not made: nothing is added).
 */
void wr_auth_issue_async(wr_auth *a, const wr_token *issuer, const json_t *info,
                         wr_auth_issue_cb cb, void *ud);
/*
 * Revokes by id: the token leaves the index now, cb runs once its delete is durable. An id
 * whose issue is still in flight is not found (it was never answered). Errors: INVALID (the root
 * token cannot be revoked), ACCESS_TOKEN_NOT_FOUND, STORAGE and UNAVAILABLE (the delete was not
 * made; the token stays revoked in memory).
 */
void wr_auth_revoke_async(wr_auth *a, const char *id, wr_auth_done_cb cb, void *ud);
/* Whether a token with this id exists (issued and durable, not revoked) and has not expired. */
bool wr_auth_token_live(const wr_auth *a, const char *id);
/* How many tokens (expired ones included, until collected) have an id starting with prefix. */
size_t wr_auth_count_prefix(const wr_auth *a, const char *prefix);
/*
 * Revokes every token whose id starts with `prefix` (empty: none), as wr_auth_revoke_async does
 * each, with all their deletes in one write; cb gets how many. Tokens whose issue is in flight
 * are not among them (they are answered, and usable, after this revocation). Errors: STORAGE,
 * UNAVAILABLE (the tokens stay revoked in memory).
 */
void wr_auth_revoke_prefix_async(wr_auth *a, const char *prefix, wr_auth_count_cb cb, void *ud);
/*
 * Deletes up to `max` expired tokens whose id starts with `prefix` ("" = any), in one write:
 * expired tokens are refused by wr_auth_verify already; this only reclaims their records. cb gets
 * how many. Errors: STORAGE, UNAVAILABLE (they are gone from memory all the same).
 */
void wr_auth_gc_async(wr_auth *a, const char *prefix, size_t max, wr_auth_count_cb cb, void *ud);

/*
 * {"access_tokens":[AccessTokenInfo…],"has_more":bool}: tokens whose id starts with prefix, is
 * greater than start_after, and lies in the caller's access_tokens scope; limit as for lists.
 */
json_t *wr_auth_list(wr_auth *a, const wr_token *caller, const char *prefix,
                     const char *start_after, size_t limit);

#endif
