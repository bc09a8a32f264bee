/*
 * auth.c — token registry (see auth.h).
 *
 * Invariants: `sorted` holds every usable token record (issued and durable, not revoked) sorted
 * by id; the hash table `buckets` indexes the same records by their secret's SHA-256. The root
 * token is kept apart and never stored in RocksDB. `writes` lists the token writes in flight
 * (one per issue, revoke, revoke-prefix or gc call not yet answered by the store); the issues
 * among them are the pending ids, taken but not usable. So an id is in at most one of `sorted`
 * and the pending issues, and the list is bounded by the calls in flight (requests, realtime
 * mints), not by the number of tokens.
 *
 * Stored record (value of the store's ACCESS_TOKEN key), JSON:
 *   {"id":…, "sha256":"<64 hex>", "expires_at_ms":N|null, "auto_prefix_streams":bool,
 *    "scope":{…AccessTokenInfo scope…}}
 */
#include "auth/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/sha256.h"

#define N_BUCKETS 1024

typedef struct entry {
    wr_token tok;
    struct entry *next_hash;
} entry;

/* A token write in flight (wr_store_tokens_write_async); on `writes` until it is answered. */
typedef struct write_op {
    struct write_op *prev, *next;
    struct wr_auth *a; /* NULL once the registry is freed */
    entry *issued;     /* an issue: the new token, indexed once durable; NULL for deletes */
    bool revoked;      /* an issue revoked while in flight: never indexed, its record deleted */
    char *secret;      /* an issue's secret */
    size_t n;          /* deletes: how many tokens left the index */
    /* Exactly one is set: the caller's callback. */
    wr_auth_issue_cb issue_cb;
    wr_auth_done_cb done_cb;
    wr_auth_count_cb count_cb;
    void *ud;
} write_op;

struct wr_auth {
    wr_store *store;
    wr_auth_mode mode;
    wr_token root;
    entry **sorted; /* by id */
    size_t n, cap;
    entry *buckets[N_BUCKETS];
    write_op *writes; /* in flight */
};

/* --- helpers ------------------------------------------------------------------------------- */

static size_t
bucket_of(const uint8_t hash[32])
{
    return ((size_t)hash[0] << 8 | hash[1]) % N_BUCKETS;
}

/* 32 random bytes, base64url without padding (43 characters). */
static char *
new_secret(void)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t raw[33] = {0};
    if (RAND_bytes(raw, 32) != 1) {
        wr_log_error("CSPRNG failure", "%s", "");
        abort();
    }
    char *out = wr_xmalloc(45);
    size_t k = 0;
    for (size_t i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        for (int j = 3; j >= 0 && k < 43; j--)
            out[k++] = alpha[(v >> (6 * j)) & 63];
    }
    out[k] = '\0';
    return out;
}

/* --- registry ------------------------------------------------------------------------------ */

static void
index_add(wr_auth *a, entry *e)
{
    size_t b = bucket_of(e->tok.hash);
    e->next_hash = a->buckets[b];
    a->buckets[b] = e;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->sorted = wr_xrealloc(a->sorted, a->cap * sizeof(*a->sorted));
    }
    size_t i = a->n;
    while (i > 0 && strcmp(a->sorted[i - 1]->tok.id, e->tok.id) > 0) {
        a->sorted[i] = a->sorted[i - 1];
        i--;
    }
    a->sorted[i] = e;
    a->n++;
}

static size_t lower_bound(const wr_auth *a, const char *key);

static void
hash_unlink(wr_auth *a, entry *e)
{
    for (entry **pp = &a->buckets[bucket_of(e->tok.hash)]; *pp; pp = &(*pp)->next_hash)
        if (*pp == e) {
            *pp = e->next_hash;
            break;
        }
}

/* The record of `id`, or NULL. */
static entry *
index_find(const wr_auth *a, const char *id)
{
    size_t i = lower_bound(a, id);
    return i < a->n && strcmp(a->sorted[i]->tok.id, id) == 0 ? a->sorted[i] : NULL;
}

static entry *
index_remove(wr_auth *a, const char *id)
{
    size_t i = lower_bound(a, id);
    if (i == a->n || strcmp(a->sorted[i]->tok.id, id) != 0)
        return NULL;
    entry *e = a->sorted[i];
    memmove(&a->sorted[i], &a->sorted[i + 1], (a->n - i - 1) * sizeof(*a->sorted));
    a->n--;
    hash_unlink(a, e);
    return e;
}

/* The first index in `sorted` whose id is >= key (binary search). */
static size_t
lower_bound(const wr_auth *a, const char *key)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(a->sorted[mid]->tok.id, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static json_t *
record_json(const wr_token *t)
{
    char h[65];
    wr_hex_encode(t->hash, 32, h);
    return json_pack("{s:s,s:s,s:o,s:b,s:o}", "id", t->id, "sha256", h, "expires_at_ms",
                     t->expires_at_ms ? json_integer((json_int_t)t->expires_at_ms) : json_null(),
                     "auto_prefix_streams", t->auto_prefix, "scope", wr_scope_to_json(&t->scope));
}

static void
load_one(void *ud, const char *id, size_t id_len, const char *v, size_t len)
{
    wr_auth *a = ud;
    json_t *j = json_loadb(v, len, 0, NULL);
    entry *e = wr_xcalloc(1, sizeof(*e));
    wr_error err;
    json_t *exp = j ? json_object_get(j, "expires_at_ms") : NULL;
    if (!j || id_len > WR_TOKEN_ID_MAX ||
        !wr_hex_decode(json_string_value(json_object_get(j, "sha256")) ?: "", e->tok.hash, 32) ||
        wr_scope_from_json(json_object_get(j, "scope"), &e->tok.scope, &err) != WR_OK) {
        wr_log_error("skipping an unreadable access token record", " id=%.*s", (int)id_len, id);
        free(e);
        json_decref(j);
        return;
    }
    memcpy(e->tok.id, id, id_len);
    e->tok.expires_at_ms = json_is_integer(exp) ? (uint64_t)json_integer_value(exp) : 0;
    e->tok.auto_prefix = json_is_true(json_object_get(j, "auto_prefix_streams"));
    index_add(a, e);
    json_decref(j);
}

/* Reads or creates <data_dir>/root_token. */
static wr_err
root_from_file(const char *data_dir, char **out_secret, bool *out_created, wr_error *out_err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/root_token", data_dir);
    *out_created = false;
    FILE *f = fopen(path, "r");
    if (f) {
        char buf[256] = {0};
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            buf[--n] = '\0';
        if (n == 0)
            return wr_error_set(out_err, WR_ERR_STORAGE, "%s is empty", path);
        *out_secret = wr_xstrdup(buf);
        return WR_OK;
    }
    if (errno != ENOENT)
        return wr_error_set(out_err, WR_ERR_STORAGE, "%s: %s", path, strerror(errno));
    char *secret = new_secret();
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    bool ok = fd >= 0 && write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret) &&
              write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    int dfd = open(data_dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        ok = ok && fsync(dfd) == 0; /* the new directory entry must survive a crash too */
        close(dfd);
    }
    if (!ok) {
        free(secret);
        return wr_error_set(out_err, WR_ERR_STORAGE, "cannot write %s: %s", path, strerror(errno));
    }
    *out_secret = secret;
    *out_created = true;
    return WR_OK;
}

wr_err
wr_auth_open(wr_store *store, wr_auth_mode mode, const char *data_dir, const char *root_secret,
             wr_auth **out, char **out_new_root, wr_error *out_err)
{
    *out = NULL;
    *out_new_root = NULL;
    wr_auth *a = wr_xcalloc(1, sizeof(*a));
    a->store = store;
    a->mode = mode;
    strcpy(a->root.id, "root");
    a->root.root = true;
    wr_scope_all(&a->root.scope);
    char *secret = NULL;
    bool created = false;
    wr_err e;
    if (root_secret) {
        if (!*root_secret) {
            wr_auth_free(a);
            return wr_error_set(out_err, WR_ERR_INVALID, "WEIR_ROOT_TOKEN must not be empty");
        }
        secret = wr_xstrdup(root_secret);
    } else if ((e = root_from_file(data_dir, &secret, &created, out_err)) != WR_OK) {
        wr_auth_free(a);
        return e;
    }
    wr_sha256(secret, strlen(secret), a->root.hash);
    if (created)
        *out_new_root = secret;
    else
        free(secret);
    if (store && (e = wr_store_token_scan(store, load_one, a, out_err)) != WR_OK) {
        free(*out_new_root);
        *out_new_root = NULL;
        wr_auth_free(a);
        return e;
    }
    *out = a;
    return WR_OK;
}

void
wr_auth_free(wr_auth *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->sorted[i]);
    for (write_op *op = a->writes; op; op = op->next)
        op->a = NULL; /* answered later by the store, without the registry */
    free(a->sorted);
    free(a);
}

void
wr_auth_derive_key(const wr_auth *a, const char *label, const void *data, size_t len,
                   uint8_t out[32])
{
    wr_hmac_sha256(a->root.hash, 32, label, strlen(label) + 1, data, len, out);
}

wr_auth_mode
wr_auth_get_mode(const wr_auth *a)
{
    return a->mode;
}

const wr_token *
wr_auth_root(wr_auth *a)
{
    return &a->root;
}

const wr_token *
wr_auth_verify(wr_auth *a, const char *authorization)
{
    if (a->mode == WR_AUTH_NONE)
        return &a->root;
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *secret = authorization + 7;
    while (*secret == ' ')
        secret++;
    if (!*secret)
        return NULL;
    uint8_t h[32];
    wr_sha256(secret, strlen(secret), h);
    if (CRYPTO_memcmp(h, a->root.hash, 32) == 0)
        return &a->root;
    for (entry *e = a->buckets[bucket_of(h)]; e; e = e->next_hash) {
        if (CRYPTO_memcmp(h, e->tok.hash, 32) != 0)
            continue;
        if (e->tok.expires_at_ms && e->tok.expires_at_ms <= wr_clock_now_ms())
            return NULL;
        return &e->tok;
    }
    return NULL;
}

/* Parses an AccessTokenInfo into t (id, expiry, auto-prefix, scope). */
static wr_err
info_from_json(const json_t *info, const wr_token *issuer, wr_token *t, wr_error *e)
{
    memset(t, 0, sizeof(*t));
    if (!json_is_object(info))
        return wr_error_set(e, WR_ERR_BAD_JSON, "expected a JSON object");
    json_t *id = json_object_get(info, "id");
    if (!json_is_string(id) || json_string_length(id) < 1 ||
        json_string_length(id) > WR_TOKEN_ID_MAX ||
        strlen(json_string_value(id)) != json_string_length(id))
        return wr_error_set(e, WR_ERR_BAD_JSON, "invalid `id`: expected 1-96 bytes");
    memcpy(t->id, json_string_value(id), json_string_length(id) + 1);
    json_t *exp = json_object_get(info, "expires_at");
    if (exp && !json_is_null(exp)) {
        if (!json_is_string(exp) ||
            !wr_clock_parse_rfc3339(json_string_value(exp), &t->expires_at_ms))
            return wr_error_set(e, WR_ERR_BAD_JSON,
                                "invalid `expires_at`: expected an RFC 3339 timestamp");
        if (t->expires_at_ms <= wr_clock_now_ms())
            return wr_error_set(e, WR_ERR_INVALID, "`expires_at` is in the past");
    } else {
        t->expires_at_ms = issuer->expires_at_ms; /* defaults to the issuer's expiry */
    }
    json_t *ap = json_object_get(info, "auto_prefix_streams");
    if (ap && !json_is_null(ap) && !json_is_boolean(ap))
        return wr_error_set(e, WR_ERR_BAD_JSON,
                            "invalid `auto_prefix_streams`: expected a boolean");
    t->auto_prefix = json_is_true(ap);
    wr_err err = wr_scope_from_json(json_object_get(info, "scope"), &t->scope, e);
    if (err)
        return err;
    if (t->auto_prefix && t->scope.streams.kind != WR_RSET_PREFIX)
        return wr_error_set(e, WR_ERR_INVALID,
                            "`auto_prefix_streams` requires a `prefix` stream scope");
    return WR_OK;
}

/* --- writes -------------------------------------------------------------------------------- */

/* The issue of `id` in flight (revoked or not), or NULL. */
static write_op *
pending(const wr_auth *a, const char *id)
{
    for (write_op *op = a->writes; op; op = op->next)
        if (op->issued && strcmp(op->issued->tok.id, id) == 0)
            return op;
    return NULL;
}

/* Loop thread: the store answered a write (durable, or not made). */
static void
written(void *ud, wr_err err, const wr_error *detail)
{
    write_op *op = ud;
    wr_auth *a = op->a;
    if (a) {
        if (op->prev)
            op->prev->next = op->next;
        else
            a->writes = op->next;
        if (op->next)
            op->next->prev = op->prev;
        if (op->issued && err == WR_OK && !op->revoked) { /* durable: usable from now on */
            index_add(a, op->issued);
            op->issued = NULL;
        }
    }
    wr_error revoked;
    if (op->revoked && err == WR_OK) { /* never usable: the revocation's write deletes it */
        err = wr_error_set(&revoked, WR_ERR_TRANSACTION_CONFLICT,
                           "the token was revoked while it was being issued; retry");
        detail = &revoked;
    }
    const wr_error *d = err == WR_OK ? NULL : detail;
    if (op->issue_cb)
        op->issue_cb(op->ud, err, d, err == WR_OK ? op->secret : NULL);
    else if (op->done_cb)
        op->done_cb(op->ud, err, d);
    else
        op->count_cb(op->ud, err, d, op->n);
    free(op->issued);
    free(op->secret);
    free(op);
}

/* Hands `n` changes to the store for op; op is answered (and freed) through written(), maybe
 * before this returns. */
static void
submit(wr_auth *a, write_op *op, const wr_store_token_change *changes, size_t n)
{
    op->a = a;
    op->prev = NULL;
    op->next = a->writes;
    if (a->writes)
        a->writes->prev = op;
    a->writes = op;
    wr_store_tokens_write_async(a->store, changes, n, written, op);
}

/* The checks of an issue: the token it describes in *t, or an error. */
static wr_err
issue_check(const wr_auth *a, const wr_token *issuer, const json_t *info, wr_token *t,
            wr_error *out_err)
{
    wr_err err = info_from_json(info, issuer, t, out_err);
    if (err == WR_OK && !issuer->root) {
        if (issuer->expires_at_ms &&
            (!t->expires_at_ms || t->expires_at_ms > issuer->expires_at_ms))
            err = wr_error_set(out_err, WR_ERR_PERMISSION_DENIED,
                               "a token cannot outlive the token that issues it");
        else if (!wr_scope_within(&t->scope, &issuer->scope))
            err = wr_error_set(out_err, WR_ERR_PERMISSION_DENIED,
                               "the requested scope is broader than the issuing token's");
        else if (issuer->auto_prefix && !t->auto_prefix)
            err =
                wr_error_set(out_err, WR_ERR_PERMISSION_DENIED,
                             "a token confined to a stream prefix can only issue confined tokens");
    }
    if (err != WR_OK)
        return err;
    if (strcmp(t->id, "root") == 0)
        return wr_error_set(out_err, WR_ERR_RESOURCE_ALREADY_EXISTS, "`root` is reserved");
    if (index_find(a, t->id))
        return wr_error_set(out_err, WR_ERR_RESOURCE_ALREADY_EXISTS,
                            "an access token with this id already exists");
    if (pending(a, t->id))
        return wr_error_set(out_err, WR_ERR_RESOURCE_ALREADY_EXISTS,
                            "an access token with this id is being issued");
    return WR_OK;
}

void
wr_auth_issue_async(wr_auth *a, const wr_token *issuer, const json_t *info, wr_auth_issue_cb cb,
                    void *ud)
{
    wr_error err = {0};
    entry *e = wr_xcalloc(1, sizeof(*e));
    wr_err rc = issue_check(a, issuer, info, &e->tok, &err);
    if (rc != WR_OK) {
        free(e);
        cb(ud, rc, &err, NULL);
        return;
    }
    write_op *op = wr_xcalloc(1, sizeof(*op));
    op->issued = e;
    op->secret = new_secret();
    op->issue_cb = cb;
    op->ud = ud;
    wr_sha256(op->secret, strlen(op->secret), e->tok.hash);
    json_t *rec = record_json(&e->tok);
    char *v = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    char id[WR_TOKEN_ID_MAX + 1];
    strcpy(id, e->tok.id); /* e may be freed by an answer given inside submit */
    wr_store_token_change ch = {id, v, strlen(v)};
    submit(a, op, &ch, 1);
    free(v);
}

void
wr_auth_revoke_async(wr_auth *a, const char *id, wr_auth_done_cb cb, void *ud)
{
    wr_error err = {0};
    entry *e = NULL;
    wr_err rc = WR_OK;
    write_op *issuing = NULL;
    if (strcmp(id, "root") == 0)
        rc = wr_error_set(&err, WR_ERR_INVALID, "the root token cannot be revoked");
    else if ((e = index_remove(a, id)) == NULL && /* fail closed: refused from now on */
             (!(issuing = pending(a, id)) || issuing->revoked))
        rc = wr_error_set(&err, WR_ERR_ACCESS_TOKEN_NOT_FOUND, "no access token with this id");
    if (rc != WR_OK) {
        cb(ud, rc, &err);
        return;
    }
    write_op *op = wr_xcalloc(1, sizeof(*op));
    op->n = 1;
    op->done_cb = cb;
    op->ud = ud;
    /* An issue in flight is never indexed; its put is written before this delete (the store
     * writes changes in the order they come). */
    if (issuing)
        issuing->revoked = true;
    wr_store_token_change ch = {e ? e->tok.id : issuing->issued->tok.id, NULL, 0};
    submit(a, op, &ch, 1);
    free(e);
}

bool
wr_auth_token_live(const wr_auth *a, const char *id)
{
    const entry *e = index_find(a, id);
    return e && (e->tok.expires_at_ms == 0 || e->tok.expires_at_ms > wr_clock_now_ms());
}

size_t
wr_auth_count_prefix(const wr_auth *a, const char *prefix)
{
    size_t plen = strlen(prefix), n = 0;
    for (size_t i = lower_bound(a, prefix); i < a->n; i++, n++)
        if (strncmp(a->sorted[i]->tok.id, prefix, plen) != 0)
            break;
    return n;
}

/*
 * Takes out of the index up to `max` tokens whose id starts with prefix (only expired ones when
 * `expired_only`) in one pass over their range, then deletes their records in one write.
 */
static void
remove_prefix(wr_auth *a, const char *prefix, bool expired_only, size_t max, wr_auth_count_cb cb,
              void *ud)
{
    size_t plen = strlen(prefix), lo = lower_bound(a, prefix), i = lo, kept = lo, n = 0, cap = 0;
    uint64_t now = wr_clock_now_ms();
    entry **gone = NULL;
    for (; i < a->n && n < max && strncmp(a->sorted[i]->tok.id, prefix, plen) == 0; i++) {
        entry *e = a->sorted[i];
        if (expired_only && (e->tok.expires_at_ms == 0 || e->tok.expires_at_ms > now)) {
            a->sorted[kept++] = e;
            continue;
        }
        hash_unlink(a, e);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            gone = wr_xrealloc(gone, cap * sizeof(*gone));
        }
        gone[n++] = e;
    }
    if (n) {
        memmove(&a->sorted[kept], &a->sorted[i], (a->n - i) * sizeof(*a->sorted)); /* the gap */
        a->n -= i - kept;
    }
    /* A revocation also covers issues in flight (a key rotated while a token for the old one is
     * being minted): never indexed, their puts written before these deletes. */
    size_t n_issuing = 0;
    for (write_op *w = a->writes; w && !expired_only; w = w->next)
        if (w->issued && !w->revoked && strncmp(w->issued->tok.id, prefix, plen) == 0)
            n_issuing++;
    if (n + n_issuing == 0) {
        free(gone);
        cb(ud, WR_OK, NULL, 0);
        return;
    }
    wr_store_token_change *ch = wr_xcalloc(n + n_issuing, sizeof(*ch));
    size_t n_ch = 0;
    for (size_t k = 0; k < n; k++)
        ch[n_ch++].id = gone[k]->tok.id;
    for (write_op *w = a->writes; w && n_ch < n + n_issuing; w = w->next)
        if (w->issued && !w->revoked && strncmp(w->issued->tok.id, prefix, plen) == 0) {
            w->revoked = true;
            ch[n_ch++].id = w->issued->tok.id;
        }
    write_op *op = wr_xcalloc(1, sizeof(*op));
    op->n = n_ch;
    op->count_cb = cb;
    op->ud = ud;
    submit(a, op, ch, n_ch);
    for (size_t k = 0; k < n; k++)
        free(gone[k]);
    free(gone);
    free(ch);
}

void
wr_auth_revoke_prefix_async(wr_auth *a, const char *prefix, wr_auth_count_cb cb, void *ud)
{
    if (!*prefix) { /* an empty prefix would be every token */
        cb(ud, WR_OK, NULL, 0);
        return;
    }
    remove_prefix(a, prefix, false, SIZE_MAX, cb, ud);
}

void
wr_auth_gc_async(wr_auth *a, const char *prefix, size_t max, wr_auth_count_cb cb, void *ud)
{
    remove_prefix(a, prefix, true, max, cb, ud);
}

json_t *
wr_auth_list(wr_auth *a, const wr_token *caller, const char *prefix, const char *start_after,
             size_t limit)
{
    if (limit == 0 || limit > 1000)
        limit = 1000;
    json_t *arr = json_array();
    bool has_more = false;
    size_t plen = prefix ? strlen(prefix) : 0;
    for (size_t i = 0; i < a->n; i++) {
        const wr_token *t = &a->sorted[i]->tok;
        if ((plen && strncmp(t->id, prefix, plen) != 0) ||
            (start_after && *start_after && strcmp(t->id, start_after) <= 0) ||
            !wr_rset_matches(&caller->scope.tokens, t->id))
            continue;
        if (json_array_size(arr) == limit) {
            has_more = true;
            break;
        }
        json_t *exp = json_null();
        if (t->expires_at_ms) {
            char buf[40];
            wr_clock_format_rfc3339(t->expires_at_ms, buf);
            exp = json_string(buf);
        }
        json_array_append_new(arr, json_pack("{s:s,s:o,s:b,s:o}", "id", t->id, "expires_at", exp,
                                             "auto_prefix_streams", t->auto_prefix, "scope",
                                             wr_scope_to_json(&t->scope)));
    }
    return json_pack("{s:o,s:b}", "access_tokens", arr, "has_more", has_more);
}
