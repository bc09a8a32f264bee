/*
 * rt.c — the realtime layer's context and shared helpers (see rt.h, rt_int.h).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "realtime/rt_int.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sha256.h"
#include "util/utf8.h"

#define TOKEN_GC_MS 60000u   /* how often expired minted tokens are collected */
#define TOKEN_GC_BATCH 1000u /* at most this many per pass (one synced delete each) */

struct rt_route {
    struct rt_route *next;
    wr_rt *rt;
    wr_handler_fn fn;
    wr_rt_route_reads reads; /* what its parameters name (prefetch.c) */
};

bool
wr_rt_name_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return wr_utf8_valid(s, strlen(s));
}

static void
checked_route(wr_req *req, void *ctx)
{
    struct rt_route *r = ctx;
    for (size_t i = 0; i < req->n_params; i++) {
        if (!wr_rt_name_ok(req->params[i])) {
            wr_rt_fail(req, WR_ERR_BAD_REQUEST,
                       "Invalid name in the URL: names must be UTF-8 without control characters");
            return;
        }
    }
    wr_rt_dispatch(r->rt, req, r->fn, &r->reads);
}

void
wr_rt_route(wr_rt *rt, wr_router *r, wr_method method, const char *tmpl, wr_handler_fn fn,
            size_t max_body)
{
    struct rt_route *t = wr_xcalloc(1, sizeof(*t));
    t->rt = rt;
    t->fn = fn;
    t->reads = (wr_rt_route_reads){.target = -1, .stream = -1};
    int i = 0;
    for (const char *p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{'), i++) {
        if (i == 0 && strncmp(p, "{session}", 9) == 0)
            t->reads.first = WR_RT_READ_SESSION;
        else if (i == 0 && strncmp(p, "{runId}", 7) == 0)
            t->reads.first = WR_RT_READ_RUN;
        else if (strncmp(p, "{target}", 8) == 0)
            t->reads.target = i;
        else if (strncmp(p, "{streamId}", 10) == 0)
            t->reads.stream = i;
    }
    t->next = rt->routes;
    rt->routes = t;
    wr_router_add(r, method, tmpl, checked_route, t, max_body);
}

/* What trigger.dev's run engine serves and weir does not (weir streams runs; it does not run
 * them): REST routes under these prefixes answer 501 without retries. */
static const char *const engine_prefixes[] = {
    "/engine/",        "/api/v1/tasks/",      "/api/v2/",          "/api/v3/", "/api/v1/waitpoints",
    "/api/v1/batches", "/api/v1/deployments", "/api/v1/schedules",
};

static const char engine_msg[] =
    "Not implemented: weir serves realtime streams and sessions; trigger.dev's run engine "
    "(task triggering, runs, batches, waitpoints, schedules) is not part of it";

/* A 501 the clients do not retry (x-should-retry: false stops trigger.dev's zodfetch). */
static void
not_served(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_header(req, "x-should-retry", "false");
    wr_rt_fail_code(req, WR_ERR_NOT_IMPLEMENTED, engine_msg);
}

/* Run and batch subscriptions use ElectricSQL's shape client, which retries any 5xx forever: a
 * 410 is the answer it gives up on, with the same message. */
static void
subscription_not_served(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_header(req, "x-should-retry", "false");
    wr_rt_fail_code(req, WR_ERR_GONE,
                    "Run and batch subscriptions are not served: weir streams runs' realtime "
                    "streams, it does not execute runs (use /realtime/v1/streams/…)");
}

/* Errors the HTTP layer answers on realtime paths (unknown route, 405, 413, 408…), as {"error"};
 * an unknown path under the run engine's prefixes is a 501. */
static void
error_body(wr_req *req, wr_err code, const char *msg)
{
    if (code == WR_ERR_NOT_FOUND && req->route == NULL) {
        for (size_t i = 0; i < sizeof(engine_prefixes) / sizeof(engine_prefixes[0]); i++) {
            if (strncmp(req->path, engine_prefixes[i], strlen(engine_prefixes[i])) == 0) {
                not_served(req, NULL);
                return;
            }
        }
        msg = "Not found: no such route";
    }
    wr_rt_fail_code(req, code, msg);
}

static void
register_boundary(wr_rt *rt, wr_router *r)
{
    static const char *const prefixes[] = {"/realtime/", "/api/", "/admin/api/", "/engine/"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        wr_router_set_error_body(r, prefixes[i], error_body);
    static const struct {
        wr_method m;
        const char *tmpl;
        bool subscription;
    } routes[] = {
        {WR_METHOD_GET, "/realtime/v1/runs", true},
        {WR_METHOD_GET, "/realtime/v1/runs/{runId}", true},
        {WR_METHOD_GET, "/realtime/v1/batches/{batchId}", true},
        {WR_METHOD_POST, "/api/v1/runs/{runId}/session-streams/wait", false},
        {WR_METHOD_POST, "/api/v1/runs/{runId}/input-streams/wait", false},
        {WR_METHOD_GET, "/api/v1/sessions/{session}/snapshot-url", false},
        {WR_METHOD_PUT, "/api/v1/sessions/{session}/snapshot-url", false},
        {WR_METHOD_GET, "/api/v1/sessions/{session}/transcript", false},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        wr_router_add(r, routes[i].m, routes[i].tmpl,
                      routes[i].subscription ? subscription_not_served : not_served, rt, 0);
}

static void
gc_tick(uv_timer_t *t)
{
    wr_rt *rt = t->data;
    wr_rt_mint_gc(rt->mint, TOKEN_GC_BATCH);
}

/* One environment's count of changes in flight (rt->queued). */
/* What a count is kept for: an environment id (changes), or "read:" and a credential's id
 * (reads; wr_rt_meta_read). */
#define COUNT_KEY_MAX 48

struct rt_queued {
    struct rt_queued *next;
    size_t n;
    char env_id[COUNT_KEY_MAX + 1];
};

/*
 * Opened environment keys, direct-mapped by env id: opening a sealed key (AES-GCM) was a tenth of
 * the realtime layer's CPU per session create, which signs a public token with it. A slot is used
 * only while its sealed bytes equal the env row's, so a rotation (new sealed bytes) never gets an
 * old key; the keys are wiped when rt is freed. The process holds WEIR_SECRET_KEY, which opens
 * every key anyway: keeping a few open adds no exposure.
 */
#define KEY_SLOTS 64
struct rt_key_slot {
    char env_id[WR_META_ID_MAX + 1];
    size_t enc_len; /* 0: empty */
    uint8_t enc[WR_META_KEY_ENC_MAX];
    char key[WR_RT_KEY_MAX];
};

wr_rt *
wr_rt_new(wr_router *r, const wr_rt_config *cfg, wr_meta *meta, wr_rt_backend *backend,
          wr_auth *auth, wr_keybox *keybox, uv_loop_t *loop)
{
    wr_rt *rt = wr_xcalloc(1, sizeof(*rt));
    rt->keybox = keybox;
    rt->backend = backend;
    rt->cfg = *cfg;
    rt->meta = meta;
    rt->auth = auth;
    rt->loop = loop;
    rt->keys = wr_xcalloc(KEY_SLOTS, sizeof(*rt->keys));
    rt->mint = wr_rt_mint_new(backend, cfg->token_ttl_s, WR_RT_MINT_MAX_PER_ENV);
    rt->parts = wr_rt_parts_new();
    wr_rt_admin_register(rt, r);
    wr_rt_api_register(rt, r);
    wr_rt_sessions_register(rt, r);
    wr_rt_auth_register(rt, r);
    wr_rt_channels_register(rt, r);
    wr_rt_runstreams_register(rt, r);
    register_boundary(rt, r);
    uv_timer_init(loop, &rt->gc_timer);
    rt->gc_timer.data = rt;
    uv_timer_start(&rt->gc_timer, gc_tick, TOKEN_GC_MS, TOKEN_GC_MS);
    uv_unref((uv_handle_t *)&rt->gc_timer); /* never keeps the loop alive */
    return rt;
}

void
wr_rt_stop(wr_rt *rt)
{
    if (rt && !uv_is_closing((uv_handle_t *)&rt->gc_timer))
        uv_close((uv_handle_t *)&rt->gc_timer, NULL);
}

void
wr_rt_free(wr_rt *rt)
{
    if (!rt)
        return;
    wr_rt_mint_free(rt->mint);
    wr_rt_parts_free(rt->parts);
    if (rt->keys)
        OPENSSL_cleanse(rt->keys, KEY_SLOTS * sizeof(*rt->keys));
    free(rt->keys);
    for (size_t i = 0; i < WR_RT_QUEUED_BUCKETS; i++) /* empty once the writer stopped */
        for (struct rt_queued *q = rt->queued[i], *n; q; q = n) {
            n = q->next;
            free(q);
        }
    for (struct rt_route *t = rt->routes, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    free(rt);
}

void
wr_rt_set_writer(wr_rt *rt, wr_meta_writer *w)
{
    rt->writer = w;
}

void
wr_rt_set_readers(wr_rt *rt, wr_meta_writer *r)
{
    rt->readers = r;
}

static struct rt_queued **
queued_slot(wr_rt *rt, const char *env_id)
{
    uint64_t h = wr_hash_fnv1a(WR_FNV1A_SEED, env_id, strlen(env_id));
    struct rt_queued **p = &rt->queued[h % WR_RT_QUEUED_BUCKETS];
    while (*p && strcmp((*p)->env_id, env_id) != 0)
        p = &(*p)->next;
    return p;
}

size_t
wr_rt_meta_queued(const wr_rt *rt, const char *env_id)
{
    struct rt_queued **p = queued_slot((wr_rt *)rt, env_id);
    return *p ? (*p)->n : 0;
}

/* A counted job's answer, and the count to give back when it is done. The job itself (run,
 * batch) keeps the caller's context. */
typedef struct counted {
    wr_rt *rt;
    char env_id[COUNT_KEY_MAX + 1];
    wr_meta_job_done done;
    void *ctx;
} counted;

static void
counted_done(void *ctx, wr_err rc, const wr_error *err)
{
    counted *c = ctx;
    struct rt_queued **p = queued_slot(c->rt, c->env_id), *q = *p;
    if (q && --q->n == 0) {
        *p = q->next;
        free(q);
    }
    c->done(c->ctx, rc, err);
    free(c);
}

/* Runs the job on w's threads, or at once on rt->meta without them (SQLite reads; tests). */
static void
submit(wr_rt *rt, wr_meta_writer *w, const wr_meta_job *j)
{
    wr_error err = {0};
    void *done_ctx = j->done_ctx ? j->done_ctx : j->ctx;
    if (!w) {
        wr_err rc = j->run(rt->meta, j->ctx, &err);
        if (rc != WR_OK && err.code == WR_OK)
            err.code = rc;
        j->done(done_ctx, rc, &err);
        return;
    }
    if (wr_meta_writer_submit_job(w, j, &err) != WR_OK)
        j->done(done_ctx, err.code, &err);
}

/* submit, counted under `key`: at most `cap` in flight, beyond that answered 429 at once. */
static void
counted_submit(wr_rt *rt, wr_meta_writer *w, const char *key, size_t cap, const char *what,
               wr_meta_job j)
{
    struct rt_queued **p = queued_slot(rt, key);
    if (*p && (*p)->n >= cap) {
        wr_error err;
        wr_error_set(
            &err, WR_ERR_RATE_LIMITED, "%s has %zu control-plane %s in flight; retry later",
            strncmp(key, "read:", 5) == 0 ? "this credential" : "this environment", cap, what);
        j.done(j.done_ctx ? j.done_ctx : j.ctx, err.code, &err);
        return;
    }
    if (*p == NULL) {
        *p = wr_xcalloc(1, sizeof(**p));
        snprintf((*p)->env_id, sizeof((*p)->env_id), "%s", key);
    }
    (*p)->n++;
    counted *c = wr_xcalloc(1, sizeof(*c));
    *c = (counted){.rt = rt, .done = j.done, .ctx = j.done_ctx ? j.done_ctx : j.ctx};
    snprintf(c->env_id, sizeof(c->env_id), "%s", key);
    j.done = counted_done;
    j.done_ctx = c;
    submit(rt, w, &j);
}

void
wr_rt_meta_read(wr_rt *rt, const char *who, wr_meta_job_run run, wr_meta_job_batch batch,
                wr_meta_job_done done, void *ctx)
{
    wr_meta_job j = {.run = run, .batch = batch, .done = done, .ctx = ctx};
    if (!rt->readers || !who) {
        submit(rt, rt->readers, &j);
        return;
    }
    char key[COUNT_KEY_MAX + 1];
    snprintf(key, sizeof(key), "read:%s", who);
    counted_submit(rt, rt->readers, key, WR_RT_READS_PER_CREDENTIAL, "reads", j);
}

void
wr_rt_meta_change_batched(wr_rt *rt, const char *env_id, wr_meta_job_run run,
                          wr_meta_job_batch batch, wr_meta_job_done done, void *ctx)
{
    wr_meta_job j = {.run = run, .batch = batch, .done = done, .ctx = ctx};
    if (env_id == NULL)
        submit(rt, rt->writer, &j);
    else
        counted_submit(rt, rt->writer, env_id, WR_RT_QUEUED_PER_ENV, "changes", j);
}

void
wr_rt_meta_change(wr_rt *rt, const char *env_id, wr_meta_job_run run, wr_meta_job_done done,
                  void *ctx)
{
    wr_rt_meta_change_batched(rt, env_id, run, NULL, done, ctx);
}

static void
req_gone(wr_req *req)
{
    *(wr_req **)req->ud = NULL;
}

void
wr_rt_hold_req(wr_req *req, void *op)
{
    *(wr_req **)op = req;
    req->ud = op;
    req->on_close = req_gone;
}

wr_req *
wr_rt_take_req(void *op)
{
    wr_req *req = *(wr_req **)op;
    if (req) {
        req->on_close = NULL;
        req->ud = NULL;
    }
    return req;
}

/* The one place a realtime error becomes an answer: the status is the code's (util/err.h). */
void
wr_rt_fail(wr_req *req, wr_err code, const char *msg)
{
    wr_resp_json(req, wr_err_status(code), json_pack("{s:s}", "error", msg));
}

void
wr_rt_fail_err(wr_req *req, const wr_error *err)
{
    wr_rt_fail(req, err->code, err->msg[0] ? err->msg : wr_err_code(err->code));
}

void
wr_rt_fail_lookup(wr_req *req, const wr_error *err, const char *not_found)
{
    /* INVALID from the control plane means a key of the wrong form: no such row either. */
    if (err->code == WR_ERR_NOT_FOUND || err->code == WR_ERR_INVALID)
        wr_rt_fail(req, WR_ERR_NOT_FOUND, not_found);
    else
        wr_rt_fail_err(req, err);
}

void
wr_rt_fail_code(wr_req *req, wr_err code, const char *msg)
{
    wr_resp_json(req, wr_err_status(code),
                 json_pack("{s:s,s:s}", "error", msg, "code", wr_err_code(code)));
}

void
wr_rt_fail_closed(wr_req *req, const wr_session *s, const char *msg)
{
    /* trigger.dev's clients mark a session closed on exactly this answer; without
     * x-should-retry: false their request layer retries a 409 five times first. */
    wr_resp_header(req, "x-should-retry", "false");
    json_t *o = json_pack("{s:b,s:s,s:s}", "ok", 0, "error", msg, "code",
                          wr_err_code(WR_ERR_SESSION_CLOSED));
    if (s->closed_reason[0])
        json_object_set_new(o, "closedReason", json_string(s->closed_reason));
    wr_resp_json(req, wr_err_status(WR_ERR_SESSION_CLOSED), o);
}

json_t *
wr_rt_time_json(bool set, uint64_t ms)
{
    char ts[40];
    if (!set)
        return json_null();
    wr_clock_format_rfc3339(ms, ts);
    return json_string(ts);
}

json_t *
wr_rt_body(wr_req *req)
{
    json_t *j = req->body.len ? json_loadb(req->body.data, req->body.len, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        wr_rt_fail(req, WR_ERR_BAD_JSON, "Invalid JSON body");
        return NULL;
    }
    return j;
}

/*
 * Random bytes for ids from a per-thread pool that OpenSSL's generator refills 256 bytes at a
 * time: each RAND_bytes call costs microseconds of locking and reseed checks (~3 % of a session
 * create's CPU when every id made its own), an id takes 10-30 bytes. Bytes handed out are wiped
 * from the pool.
 */
static void
random_bytes(uint8_t *out, size_t n)
{
    static _Thread_local uint8_t pool[256];
    static _Thread_local size_t left;
    while (n) {
        if (left == 0) {
            if (RAND_bytes(pool, (int)sizeof(pool)) != 1)
                abort();
            left = sizeof(pool);
        }
        size_t k = n < left ? n : left;
        uint8_t *from = pool + sizeof(pool) - left;
        memcpy(out, from, k);
        OPENSSL_cleanse(from, k);
        left -= k;
        out += k;
        n -= k;
    }
}

static void
random_chars(char *out, size_t n, const char *alphabet, size_t alen)
{
    uint8_t raw[64];
    while (n) {
        size_t k = n < sizeof(raw) ? n : sizeof(raw);
        random_bytes(raw, k);
        for (size_t i = 0; i < k; i++)
            *out++ = alphabet[raw[i] % alen]; /* 36 or 62 symbols: a negligible bias */
        n -= k;
    }
    *out = '\0';
}

void
wr_rt_new_id(const char *prefix, size_t len, char *out)
{
    static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t pl = strlen(prefix);
    strcpy(out, prefix);
    random_chars(out + pl, len - pl, a, 36);
}

void
wr_rt_new_sorted_id(const char *prefix, size_t len, char *out)
{
    static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t pl = strlen(prefix);
    strcpy(out, prefix);
    uint64_t ms = wr_clock_now_ms();
    for (size_t i = WR_RT_ID_TIME_CHARS; i-- > 0; ms /= 36)
        out[pl + i] = digits[ms % 36];
    random_chars(out + pl + WR_RT_ID_TIME_CHARS, len - pl - WR_RT_ID_TIME_CHARS, a, 36);
}

void
wr_rt_hash_key(const char *key, uint8_t hash[32])
{
    wr_sha256(key, strlen(key), hash);
}

void
wr_rt_seal_key(wr_rt *rt, const char *env_id, const char *key, uint8_t out[WR_META_KEY_ENC_MAX],
               size_t *out_len)
{
    /* A key is 43 bytes and the sealed form 71: it always fits. */
    if (wr_keybox_seal(rt->keybox, env_id, key, strlen(key), out, WR_META_KEY_ENC_MAX, out_len,
                       NULL) != WR_OK)
        abort();
}

bool
wr_rt_env_key(wr_rt *rt, const wr_env *env, char out[WR_RT_KEY_MAX])
{
    if (env->key_enc_len == 0 || env->key_enc_len > WR_META_KEY_ENC_MAX)
        return false;
    struct rt_key_slot *k =
        &rt->keys[wr_hash_fnv1a(WR_FNV1A_SEED, env->id, strlen(env->id)) % KEY_SLOTS];
    if (k->enc_len == env->key_enc_len && strcmp(k->env_id, env->id) == 0 &&
        memcmp(k->enc, env->key_enc, env->key_enc_len) == 0) {
        memcpy(out, k->key, WR_RT_KEY_MAX);
        return true;
    }
    size_t n;
    if (wr_keybox_open_secret(rt->keybox, env->id, env->key_enc, env->key_enc_len, out,
                              WR_RT_KEY_MAX, &n, NULL) != WR_OK) {
        /* A wrong WEIR_SECRET_KEY, or a row tampered with: the key is unusable. */
        wr_log_warn("an environment's sealed key does not open", " env=%s", env->id);
        return false;
    }
    snprintf(k->env_id, sizeof(k->env_id), "%s", env->id);
    k->enc_len = env->key_enc_len;
    memcpy(k->enc, env->key_enc, env->key_enc_len);
    memcpy(k->key, out, WR_RT_KEY_MAX);
    return true;
}

char *
wr_rt_new_api_key(uint8_t hash[32])
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char *key = wr_xmalloc(3 + 40 + 1);
    strcpy(key, "sk_");
    random_chars(key + 3, 40, a, 62);
    wr_rt_hash_key(key, hash);
    return key;
}

void
wr_rt_get_stats(const wr_rt *rt, wr_rt_stats *out)
{
    out->minted_tokens = rt ? wr_rt_mint_count(rt->mint) : 0;
    out->part_ids = rt && rt->parts ? wr_rt_parts_count(rt->parts) : 0;
    out->prefetched_reads = rt ? rt->prefetched_reads : 0;
}
