/*
 * backend_remote.c — the stream backend over any S2-compatible endpoint (S2, s2-lite, another
 * weir), through the S2 v1 REST API with an account access token, on the loop (http/client.h:
 * libcurl multi driven by libuv; no thread, no blocking call).
 *
 * Requests: JSON, `s2-format: base64` for records (exact bytes), the basin in the `s2-basin`
 * header (and in the basin endpoint's host when it has a `{basin}` placeholder). Each request
 * has the configured timeout. Retries: an answer whose S2 error code is retryable and known to
 * have had no side effect (the error table's two flags), and, for requests that are safe to
 * repeat (reads, PATCHes, deletes), a transport failure too — up to 3 attempts with exponential
 * backoff from 100 ms. Upstream failures reach clients as 503 (unavailable), 504 (timed out) or
 * 502 (a malformed answer), never as a hang.
 *
 * Live-session protection over S2 (backend.h): `protect on` creates the stream if missing and
 * sets its delete_on_empty.min_age_secs to 0 (off), and remembers that for a minute, so the
 * channel PUTs and reads of an open session cost no upstream call; `off` reads the basin's default
 * delete_on_empty age and writes it on the stream (null when the basin has none). Retention still
 * applies to records: an open session keeps its streams, not records older than the retention.
 *
 * SSE: a read session is proxied from an upstream S2 SSE session, byte for byte (the event
 * format is S2's either way): a client that does not read pauses the upstream transfer (TCP
 * back-pressure reaches the endpoint), a client that goes away cancels it, and an upstream that
 * fails mid-session ends the client's answer as a dropped connection (it reconnects with
 * Last-Event-ID) — never as a clean end.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/client.h"
#include "http/sse.h"
#include "realtime/backend.h"
#include "realtime/backend_remote.h"
#include "s2/s2.h"
#include "store/store.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pct.h"
#include "util/ttlset.h"

#define MAX_ATTEMPTS 3
#define BACKOFF_MS 100
#define PAGE_RECORDS 1000
#define PAGE_BYTES (1024u * 1024u)
#define UNARY_WAIT_MAX_S 60 /* S2 caps a unary read's wait */
#define SSE_IDLE_S 45       /* S2 pings every 5–15 s: this long without a byte is a dead peer */
/* Protection is remembered this long per stream (a stream deleted and re-created behind the
 * node's back is protected again within it), for at most this many streams. */
#define PROTECTED_TTL_MS 60000
#define PROTECTED_MAX 100000

typedef struct remote {
    wr_rt_backend base; /* first */
    uv_loop_t *loop;
    wr_hc *hc;
    char *account;     /* ".../v1" */
    char *basin_tmpl;  /* ".../v1", possibly with "{basin}" */
    char *auth_header; /* "Authorization: Bearer …" */
    uint64_t timeout_ms;
    wr_ttlset *protected_streams; /* "basin\nstream" protected lately: a PUT skips the calls */
} remote;

static remote *
R(wr_rt_backend *b)
{
    return (remote *)b;
}

/* ---- requests with retries ------------------------------------------------------------------- */

typedef struct call call;
/* The outcome of a call: err is WR_OK for a 2xx answer (res has the body), else the mapped
 * error with a message in detail. */
typedef void (*call_cb)(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res);

struct call {
    remote *r;
    char *method, *url, *body;
    size_t body_len;
    char basin_header[80];
    bool repeatable; /* safe to send twice */
    int attempt;
    call_cb done;
    void *ud;
    wr_hc_req *hreq;
    uv_timer_t backoff;
    bool timer_open;
};

static void call_send(call *c);

static void
call_closed(uv_handle_t *h)
{
    call *c = h->data;
    free(c->method);
    free(c->url);
    free(c->body);
    free(c);
}

static void
call_free(call *c)
{
    uv_close((uv_handle_t *)&c->backoff, call_closed);
}

/* Maps an upstream answer: 2xx → OK; an S2 error body → its code; anything else by status. */
static wr_err
map_answer(const wr_hc_result *res, wr_error *out)
{
    if (res->err != WR_OK)
        return wr_error_set(out, res->err, "upstream S2 endpoint: %s",
                            res->detail ? res->detail : wr_err_code(res->err));
    if (res->status >= 200 && res->status < 300)
        return WR_OK;
    json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    wr_err e = code ? wr_err_from_code(code) : WR_ERR_OTHER;
    if (e == WR_ERR_OTHER) /* 412 and 416 carry no code: their bodies have other shapes */
        e = res->status >= 500   ? WR_ERR_BAD_GATEWAY
            : res->status == 416 ? WR_ERR_RANGE_NOT_SATISFIABLE
            : res->status == 412 ? WR_ERR_SEQ_NUM_MISMATCH
            : res->status == 408 ? WR_ERR_REQUEST_TIMEOUT
            : res->status == 429 ? WR_ERR_RATE_LIMITED
            : res->status == 404 ? WR_ERR_NOT_FOUND
            : res->status == 401 ? WR_ERR_AUTHN
            : res->status == 403 ? WR_ERR_PERMISSION_DENIED
                                 : WR_ERR_BAD_REQUEST;
    wr_error_set(out, e, "upstream S2 endpoint: %ld %s", res->status, msg ? msg : res->body);
    json_decref(j);
    return e;
}

static void
backoff_fired(uv_timer_t *t)
{
    call_send(t->data);
}

static void
call_answered(void *ud, const wr_hc_result *res)
{
    call *c = ud;
    c->hreq = NULL;
    wr_error err = {0};
    wr_err e = map_answer(res, &err);
    bool transport = res->err != WR_OK;
    bool retry = e != WR_OK && wr_err_retryable(e) && c->attempt < MAX_ATTEMPTS &&
                 (transport ? c->repeatable : (wr_err_no_side_effects(e) || c->repeatable));
    if (retry) {
        uv_timer_start(&c->backoff, backoff_fired, (uint64_t)BACKOFF_MS << (c->attempt - 1), 0);
        return;
    }
    c->done(c, e, e == WR_OK ? NULL : &err, res);
    call_free(c);
}

static void
call_send(call *c)
{
    c->attempt++;
    const char *hdrs[4] = {c->r->auth_header, "Content-Type: application/json", "s2-format: base64",
                           NULL};
    size_t n = 3;
    if (c->basin_header[0])
        hdrs[n++] = c->basin_header;
    wr_hc_opts o = {.method = c->method,
                    .url = c->url,
                    .headers = hdrs,
                    .n_headers = n,
                    .body = c->body,
                    .body_len = c->body_len,
                    .timeout_ms = c->r->timeout_ms,
                    .connect_timeout_ms = c->r->timeout_ms};
    wr_hc_cbs cbs = {.on_done = call_answered};
    c->hreq = wr_hc_start(c->r->hc, &o, &cbs, c);
}

/* Starts a call; `body` (JSON, may be NULL) is stolen. `basin` non-NULL: a basin request. */
static call *
call_start(remote *r, const char *method, bool repeatable, const char *basin, char *url,
           json_t *body, call_cb done, void *ud)
{
    call *c = wr_xcalloc(1, sizeof(*c));
    c->r = r;
    c->method = wr_xstrdup(method);
    c->url = url;
    if (body) {
        c->body = json_dumps(body, JSON_COMPACT);
        c->body_len = strlen(c->body);
        json_decref(body);
    }
    if (basin)
        snprintf(c->basin_header, sizeof(c->basin_header), "s2-basin: %s", basin);
    c->repeatable = repeatable;
    c->done = done;
    c->ud = ud;
    uv_timer_init(r->loop, &c->backoff);
    c->backoff.data = c;
    call_send(c);
    return c;
}

/* Ends a call early: no callback. */
static void
call_cancel(call *c)
{
    if (c->hreq)
        wr_hc_cancel(c->hreq);
    uv_timer_stop(&c->backoff);
    call_free(c);
}

/* ---- URLs ------------------------------------------------------------------------------------ */

static char *account_url(remote *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *
account_url(remote *r, const char *fmt, ...)
{
    wr_buf b;
    wr_buf_init(&b);
    wr_buf_append_str(&b, r->account);
    va_list ap;
    va_start(ap, fmt);
    wr_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return wr_buf_steal(&b, NULL);
}

/* The basin endpoint (with {basin} filled in) followed by `path`. */
static char *
basin_url(remote *r, const char *basin, const char *path)
{
    wr_buf b;
    wr_buf_init(&b);
    const char *p = r->basin_tmpl, *ph = strstr(p, "{basin}");
    if (ph) {
        wr_buf_append(&b, p, (size_t)(ph - p));
        wr_buf_append_str(&b, basin);
        wr_buf_append_str(&b, ph + 7);
    } else {
        wr_buf_append_str(&b, p);
    }
    wr_buf_append_str(&b, path);
    return wr_buf_steal(&b, NULL);
}

/* "/streams/{percent-encoded name}" + suffix. */
static char *
stream_url(remote *r, const char *basin, const char *stream, const char *suffix)
{
    wr_buf path;
    wr_buf_init(&path);
    wr_buf_append_str(&path, "/streams/");
    wr_pct_encode(stream, strlen(stream), &path);
    wr_buf_append_str(&path, suffix);
    char *u = basin_url(r, basin, path.data);
    wr_buf_fini(&path);
    return u;
}

static void
query_str(wr_buf *b, const char *key, const char *value)
{
    wr_buf_printf(b, "%s%s=", strchr(b->data ? b->data : "", '?') ? "&" : "?", key);
    wr_pct_encode(value, strlen(value), b);
}

/* ---- basins ---------------------------------------------------------------------------------- */

typedef struct done_op {
    wr_rt_done_cb cb;
    void *ud;
    remote *r;
    char basin[64];
    json_t *config; /* ensure: the full config, for the PATCH after "already exists" */
    bool keep_existing;
    /* set_retention with apply_to_existing: the stream walk */
    uint64_t retention_s;
    char after[WR_STREAM_NAME_MAX + 1];
    json_t *names; /* the page being reconfigured */
    size_t next;
    char *stream; /* protect off: the stream to give its basin's delete-on-empty back */
} done_op;

static done_op *
done_op_new(remote *r, const char *basin, wr_rt_done_cb cb, void *ud)
{
    done_op *op = wr_xcalloc(1, sizeof(*op));
    op->r = r;
    op->cb = cb;
    op->ud = ud;
    snprintf(op->basin, sizeof(op->basin), "%s", basin ? basin : "");
    return op;
}

static void
done_finish(done_op *op, wr_err err, const wr_error *detail)
{
    op->cb(op->ud, err, err == WR_OK ? NULL : detail);
    json_decref(op->config);
    json_decref(op->names);
    free(op->stream);
    free(op);
}

static void
done_plain(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    (void)res;
    done_finish(c->ud, err, detail);
}

static json_t *
spec_json(const wr_rt_basin_spec *spec)
{
    if (spec->no_stream_defaults)
        return json_pack("{s:b,s:b}", "create_stream_on_append", 1, "create_stream_on_read", 1);
    return json_pack("{s:{s:s,s:{s:I},s:{s:I}},s:b,s:b}", "default_stream_config", "storage_class",
                     wr_storage_class_name(spec->storage_class), "retention_policy", "age",
                     (json_int_t)spec->retention_s, "delete_on_empty", "min_age_secs",
                     (json_int_t)spec->doe_min_age_s, "create_stream_on_append", 1,
                     "create_stream_on_read", 1);
}

static void
basin_created(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    (void)res;
    done_op *op = c->ud;
    if (err == WR_ERR_RESOURCE_ALREADY_EXISTS && op->keep_existing) {
        done_finish(op, WR_OK, NULL);
        return;
    }
    if (err == WR_ERR_RESOURCE_ALREADY_EXISTS) {
        /* A retry after a crash between create and stamp, or a basin made elsewhere: bring it
         * to the requested configuration. */
        char *url = account_url(op->r, "/basins/%s", op->basin);
        call_start(op->r, "PATCH", true, NULL, url, json_incref(op->config), done_plain, op);
        return;
    }
    done_finish(op, err, detail);
}

static void
ensure_basin(wr_rt_backend *b, const char *basin, const wr_rt_basin_spec *spec, wr_rt_done_cb cb,
             void *ud)
{
    done_op *op = done_op_new(R(b), basin, cb, ud);
    op->config = spec_json(spec);
    op->keep_existing = spec->keep_existing;
    json_t *body = json_pack("{s:s,s:O}", "basin", basin, "config", op->config);
    call_start(R(b), "POST", false, NULL, account_url(R(b), "/basins"), body, basin_created, op);
}

static void retention_walk(done_op *op);

static void
stream_reconfigured(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    (void)res;
    done_op *op = c->ud;
    if (err != WR_OK && err != WR_ERR_STREAM_NOT_FOUND && err != WR_ERR_STREAM_DELETION_PENDING) {
        done_finish(op, err, detail);
        return;
    }
    retention_walk(op);
}

static void
stream_page(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    done_op *op = c->ud;
    if (err != WR_OK) {
        done_finish(op, err, detail);
        return;
    }
    json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
    json_t *streams = json_object_get(j, "streams");
    json_decref(op->names);
    op->names = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(streams, i, s)
    {
        json_t *name = json_object_get(s, "name");
        if (json_is_string(name) && json_is_null(json_object_get(s, "deleted_at")))
            json_array_append(op->names, name);
        if (json_is_string(name))
            snprintf(op->after, sizeof(op->after), "%s", json_string_value(name));
    }
    op->next = 0;
    bool more = json_is_true(json_object_get(j, "has_more")) && json_array_size(streams) > 0;
    json_decref(j);
    if (!more)
        op->after[0] = '\x01'; /* marks the last page */
    retention_walk(op);
}

/* Reconfigures the streams of the current page one by one, then fetches the next page. */
static void
retention_walk(done_op *op)
{
    remote *r = op->r;
    if (op->names && op->next < json_array_size(op->names)) {
        const char *name = json_string_value(json_array_get(op->names, op->next++));
        json_t *body =
            json_pack("{s:{s:I}}", "retention_policy", "age", (json_int_t)op->retention_s);
        call_start(r, "PATCH", true, op->basin, stream_url(r, op->basin, name, ""), body,
                   stream_reconfigured, op);
        return;
    }
    if (op->after[0] == '\x01') {
        done_finish(op, WR_OK, NULL);
        return;
    }
    wr_buf u;
    wr_buf_init(&u);
    char *base = basin_url(r, op->basin, "/streams");
    wr_buf_append_str(&u, base);
    free(base);
    query_str(&u, "limit", "1000");
    if (op->after[0])
        query_str(&u, "start_after", op->after);
    call_start(r, "GET", true, op->basin, wr_buf_steal(&u, NULL), NULL, stream_page, op);
}

static void
basin_retention_set(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    (void)res;
    done_op *op = c->ud;
    if (err != WR_OK || op->retention_s == 0) {
        done_finish(op, err, detail);
        return;
    }
    retention_walk(op); /* apply_to_existing */
}

static void
set_retention(wr_rt_backend *b, const char *basin, uint64_t retention_s, bool apply_to_existing,
              wr_rt_done_cb cb, void *ud)
{
    done_op *op = done_op_new(R(b), basin, cb, ud);
    op->retention_s = apply_to_existing ? retention_s : 0;
    json_t *body = json_pack("{s:{s:{s:I}}}", "default_stream_config", "retention_policy", "age",
                             (json_int_t)retention_s);
    call_start(R(b), "PATCH", true, NULL, account_url(R(b), "/basins/%s", basin), body,
               basin_retention_set, op);
}

typedef struct names_op {
    wr_rt_names_cb cb;
    void *ud;
} names_op;

static void
names_page(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    names_op *op = c->ud;
    if (err != WR_OK) {
        op->cb(op->ud, err, detail, NULL, 0, false);
        free(op);
        return;
    }
    json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
    json_t *streams = json_object_get(j, "streams");
    size_t n = json_array_size(streams), k = 0;
    const char **names = wr_xcalloc(n ? n : 1, sizeof(*names));
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(streams, i);
        if (json_is_string(json_object_get(s, "name")) &&
            json_is_null(json_object_get(s, "deleted_at")))
            names[k++] = json_string_value(json_object_get(s, "name"));
    }
    op->cb(op->ud, WR_OK, NULL, names, k, json_is_true(json_object_get(j, "has_more")) && n > 0);
    free(names);
    json_decref(j);
    free(op);
}

static void
list_streams(wr_rt_backend *b, const char *basin, const char *prefix, const char *start_after,
             wr_rt_names_cb cb, void *ud)
{
    names_op *op = wr_xcalloc(1, sizeof(*op));
    op->cb = cb;
    op->ud = ud;
    wr_buf u;
    wr_buf_init(&u);
    char *base = basin_url(R(b), basin, "/streams");
    wr_buf_append_str(&u, base);
    free(base);
    query_str(&u, "limit", "1000");
    if (prefix && *prefix)
        query_str(&u, "prefix", prefix);
    if (start_after && *start_after)
        query_str(&u, "start_after", start_after);
    call_start(R(b), "GET", true, basin, wr_buf_steal(&u, NULL), NULL, names_page, op);
}

/* ---- tokens ---------------------------------------------------------------------------------- */

typedef struct secret_op {
    wr_rt_secret_cb cb;
    void *ud;
} secret_op;

static void
token_issued(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    secret_op *op = c->ud;
    json_t *j = err == WR_OK ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
    const char *secret = json_string_value(json_object_get(j, "access_token"));
    if (err == WR_OK && !secret) {
        wr_error e = {0};
        wr_error_set(&e, WR_ERR_BAD_GATEWAY, "upstream S2 endpoint: no access_token issued");
        op->cb(op->ud, e.code, &e, NULL);
    } else {
        op->cb(op->ud, err, detail, secret);
    }
    json_decref(j);
    free(op);
}

static void
issue_token(wr_rt_backend *b, const json_t *info, wr_rt_secret_cb cb, void *ud)
{
    secret_op *op = wr_xcalloc(1, sizeof(*op));
    op->cb = cb;
    op->ud = ud;
    call_start(R(b), "POST", false, NULL, account_url(R(b), "/access-tokens"), json_deep_copy(info),
               token_issued, op);
}

/*
 * Walks the tokens whose id starts with a prefix (pages of 1000), deleting each (revoke) or the
 * expired ones up to a limit (count with gc), and counting.
 */
typedef struct token_walk {
    remote *r;
    wr_rt_count_cb cb;
    void *ud;
    char prefix[WR_TOKEN_ID_MAX + 1];
    bool revoke;
    size_t gc;      /* expired ones still to delete */
    size_t counted; /* revoke: deleted; count: live */
    json_t *doomed; /* ids to delete from the current page */
    size_t next;
    char after[WR_TOKEN_ID_MAX + 1];
    bool last_page;
} token_walk;

static void walk_step(token_walk *w);

static void
walk_finish(token_walk *w, wr_err err, const wr_error *detail)
{
    w->cb(w->ud, err, err == WR_OK ? NULL : detail, w->counted);
    json_decref(w->doomed);
    free(w);
}

static void
token_deleted(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    (void)res;
    token_walk *w = c->ud;
    if (err != WR_OK && err != WR_ERR_ACCESS_TOKEN_NOT_FOUND) {
        walk_finish(w, err, detail);
        return;
    }
    if (w->revoke && err == WR_OK)
        w->counted++;
    walk_step(w);
}

static void
token_page(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    token_walk *w = c->ud;
    if (err != WR_OK) {
        walk_finish(w, err, detail);
        return;
    }
    json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
    json_t *tokens = json_object_get(j, "access_tokens");
    json_decref(w->doomed);
    w->doomed = json_array();
    w->next = 0;
    uint64_t now = wr_clock_now_ms();
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t)
    {
        json_t *id = json_object_get(t, "id");
        if (!json_is_string(id))
            continue;
        snprintf(w->after, sizeof(w->after), "%s", json_string_value(id));
        uint64_t exp = 0;
        const char *e = json_string_value(json_object_get(t, "expires_at"));
        bool expired = e && wr_clock_parse_rfc3339(e, &exp) && exp <= now;
        if (w->revoke || (expired && w->gc > 0)) {
            json_array_append(w->doomed, id);
            if (!w->revoke)
                w->gc--;
        } else if (!expired) {
            w->counted++;
        }
    }
    w->last_page = !json_is_true(json_object_get(j, "has_more")) || json_array_size(tokens) == 0;
    json_decref(j);
    walk_step(w);
}

static void
walk_step(token_walk *w)
{
    remote *r = w->r;
    if (w->doomed && w->next < json_array_size(w->doomed)) {
        const char *id = json_string_value(json_array_get(w->doomed, w->next++));
        wr_buf p;
        wr_buf_init(&p);
        wr_pct_encode(id, strlen(id), &p);
        char *url = account_url(r, "/access-tokens/%s", p.data);
        wr_buf_fini(&p);
        call_start(r, "DELETE", true, NULL, url, NULL, token_deleted, w);
        return;
    }
    if (w->last_page) {
        walk_finish(w, WR_OK, NULL);
        return;
    }
    wr_buf u;
    wr_buf_init(&u);
    wr_buf_append_str(&u, r->account);
    wr_buf_append_str(&u, "/access-tokens");
    query_str(&u, "prefix", w->prefix);
    query_str(&u, "limit", "1000");
    /* Revoked tokens are gone from the list: a revoke walk always re-reads from the start. */
    if (w->after[0] && !w->revoke)
        query_str(&u, "start_after", w->after);
    call_start(r, "GET", true, NULL, wr_buf_steal(&u, NULL), NULL, token_page, w);
}

static void
start_walk(remote *r, const char *prefix, bool revoke, size_t gc, wr_rt_count_cb cb, void *ud)
{
    token_walk *w = wr_xcalloc(1, sizeof(*w));
    w->r = r;
    w->cb = cb;
    w->ud = ud;
    w->revoke = revoke;
    w->gc = gc;
    snprintf(w->prefix, sizeof(w->prefix), "%s", prefix);
    walk_step(w);
}

static void
revoke_tokens(wr_rt_backend *b, const char *id_prefix, wr_rt_count_cb cb, void *ud)
{
    start_walk(R(b), id_prefix, true, 0, cb, ud);
}

static void
count_tokens(wr_rt_backend *b, const char *id_prefix, size_t gc, wr_rt_count_cb cb, void *ud)
{
    start_walk(R(b), id_prefix, false, gc, cb, ud);
}

/* A remote registry cannot be asked cheaply: the mint cache forgets what this node revokes. */
static bool
token_live(wr_rt_backend *b, const char *id)
{
    (void)b;
    (void)id;
    return true;
}

/* ---- records --------------------------------------------------------------------------------- */

typedef struct append_op {
    wr_rt_append_cb cb;
    void *ud;
} append_op;

static void
appended(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    append_op *op = c->ud;
    uint64_t seq = 0;
    if (err == WR_OK) {
        json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
        json_t *s = json_object_get(json_object_get(j, "start"), "seq_num");
        if (json_is_integer(s))
            seq = (uint64_t)json_integer_value(s);
        else
            err = WR_ERR_BAD_GATEWAY;
        json_decref(j);
    }
    wr_error e = {0};
    if (err == WR_ERR_BAD_GATEWAY && !detail)
        detail = &e, wr_error_set(&e, err, "upstream S2 endpoint: malformed append ack");
    op->cb(op->ud, err, detail, seq);
    free(op);
}

static void
append(wr_rt_backend *b, const char *basin, const char *stream, const void *body, size_t len,
       wr_rt_append_cb cb, void *ud)
{
    append_op *op = wr_xcalloc(1, sizeof(*op));
    op->cb = cb;
    op->ud = ud;
    wr_buf b64;
    wr_buf_init(&b64);
    wr_base64_encode(body, len, &b64);
    json_t *req = json_pack("{s:[{s:s%}]}", "records", "body", b64.data ? b64.data : "", b64.len);
    wr_buf_fini(&b64);
    call_start(R(b), "POST", false, basin, stream_url(R(b), basin, stream, "/records"), req,
               appended, op);
}

/* A page decoded from a unary read answer: records point into `bufs`. */
typedef struct decoded {
    wr_rt_rec *recs;
    wr_rt_rec_header *hdrs;
    wr_buf bytes; /* every decoded body and header, back to back */
    size_t n;
} decoded;

static void
decoded_fini(decoded *d)
{
    free(d->recs);
    free(d->hdrs);
    wr_buf_fini(&d->bytes);
}

/* Decodes base64 `s` into d->bytes, returning its offset; false on bad input. */
static bool
decode_into(decoded *d, json_t *s, size_t *off, size_t *len)
{
    const char *v = json_string_value(s);
    if (!v)
        return false;
    *off = d->bytes.len;
    if (!wr_base64_decode(v, json_string_length(s), &d->bytes))
        return false;
    *len = d->bytes.len - *off;
    return true;
}

/* Parses {"records":[{seq_num, headers:[[n,v]], body}]} (headers and an empty body may be left
 * out); false when malformed. */
static bool
decode_records(const char *body, size_t len, decoded *d)
{
    memset(d, 0, sizeof(*d));
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *recs = json_object_get(j, "records");
    bool ok = json_is_array(recs);
    size_t n = ok ? json_array_size(recs) : 0, nh = 0;
    for (size_t i = 0; ok && i < n; i++)
        nh += json_array_size(json_object_get(json_array_get(recs, i), "headers"));
    d->recs = wr_xcalloc(n ? n : 1, sizeof(*d->recs));
    d->hdrs = wr_xcalloc(nh ? nh : 1, sizeof(*d->hdrs));
    /* Offsets first (the buffer grows), pointers once every byte is in place. */
    size_t *boff = wr_xcalloc(n ? n : 1, sizeof(size_t)),
           *hoff = wr_xcalloc(nh ? nh * 2 : 1, sizeof(size_t));
    size_t h = 0;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *r = json_array_get(recs, i), *hs = json_object_get(r, "headers");
        json_t *seq = json_object_get(r, "seq_num");
        ok = json_is_integer(seq);
        d->recs[i].seq = ok ? (uint64_t)json_integer_value(seq) : 0;
        d->recs[i].n_headers = json_array_size(hs);
        for (size_t k = 0; ok && k < d->recs[i].n_headers; k++, h++) {
            json_t *pair = json_array_get(hs, k);
            ok = decode_into(d, json_array_get(pair, 0), &hoff[2 * h], &d->hdrs[h].name_len) &&
                 decode_into(d, json_array_get(pair, 1), &hoff[2 * h + 1], &d->hdrs[h].value_len);
        }
        json_t *rb = json_object_get(r, "body"); /* an empty body may be left out */
        if (rb)
            ok = ok && decode_into(d, rb, &boff[i], &d->recs[i].body_len);
        else
            boff[i] = d->bytes.len;
    }
    h = 0;
    for (size_t i = 0; ok && i < n; i++) {
        d->recs[i].headers = &d->hdrs[h];
        for (size_t k = 0; k < d->recs[i].n_headers; k++, h++) {
            d->hdrs[h].name = (const uint8_t *)d->bytes.data + hoff[2 * h];
            d->hdrs[h].value = (const uint8_t *)d->bytes.data + hoff[2 * h + 1];
        }
        d->recs[i].body = (const uint8_t *)d->bytes.data + boff[i];
    }
    d->n = ok ? n : 0;
    free(boff);
    free(hoff);
    json_decref(j);
    return ok;
}

typedef struct page_op {
    wr_rt_page_cb cb;
    void *ud;
    uint64_t from_seq;
} page_op;

/* The tail of a 416 answer ({"tail":{"seq_num":N}}), else `dflt`. */
static uint64_t
tail_of(const wr_hc_result *res, uint64_t dflt)
{
    json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
    json_t *s = json_object_get(json_object_get(j, "tail"), "seq_num");
    uint64_t v = json_is_integer(s) ? (uint64_t)json_integer_value(s) : dflt;
    json_decref(j);
    return v;
}

/* Delivers a read answer as a page: records, or an empty page for a missing stream or a start
 * at the tail (416). */
static void
deliver_page(wr_rt_page_cb cb, void *ud, uint64_t from_seq, wr_err err, const wr_error *detail,
             const wr_hc_result *res)
{
    if (err == WR_ERR_STREAM_NOT_FOUND || err == WR_ERR_RANGE_NOT_SATISFIABLE) {
        uint64_t tail = err == WR_ERR_RANGE_NOT_SATISFIABLE ? tail_of(res, from_seq) : from_seq;
        wr_rt_page empty = {NULL, 0, tail, true};
        cb(ud, WR_OK, NULL, &empty);
        return;
    }
    if (err != WR_OK) {
        cb(ud, err, detail, NULL);
        return;
    }
    decoded d;
    if (!decode_records(res->body, res->body_len, &d)) {
        decoded_fini(&d);
        wr_error e = {0};
        wr_error_set(&e, WR_ERR_BAD_GATEWAY, "upstream S2 endpoint: malformed records");
        cb(ud, e.code, &e, NULL);
        return;
    }
    uint64_t next = d.n ? d.recs[d.n - 1].seq + 1 : from_seq;
    wr_rt_page page = {d.recs, d.n, next, d.n < PAGE_RECORDS};
    cb(ud, WR_OK, NULL, &page);
    decoded_fini(&d);
}

static void
page_read(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    page_op *op = c->ud;
    deliver_page(op->cb, op->ud, op->from_seq, err, detail, res);
    free(op);
}

static char *
read_url(remote *r, const char *basin, const char *stream, const char *start, uint64_t start_v,
         uint64_t count, uint64_t wait_s)
{
    char q[200];
    snprintf(q, sizeof(q), "/records?%s=%" PRIu64 "&count=%" PRIu64 "&bytes=%u%s", start, start_v,
             count, PAGE_BYTES, strcmp(start, "seq_num") == 0 ? "&clamp=true" : "");
    if (wait_s)
        snprintf(q + strlen(q), sizeof(q) - strlen(q), "&wait=%" PRIu64, wait_s);
    return stream_url(r, basin, stream, q);
}

static void
read_page(wr_rt_backend *b, const char *basin, const char *stream, uint64_t from_seq,
          wr_rt_page_cb cb, void *ud)
{
    page_op *op = wr_xcalloc(1, sizeof(*op));
    op->cb = cb;
    op->ud = ud;
    op->from_seq = from_seq;
    call_start(R(b), "GET", true, basin,
               read_url(R(b), basin, stream, "seq_num", from_seq, PAGE_RECORDS, 0), NULL, page_read,
               op);
}

static void
read_last(wr_rt_backend *b, const char *basin, const char *stream, size_t n, wr_rt_page_cb cb,
          void *ud)
{
    page_op *op = wr_xcalloc(1, sizeof(*op));
    op->cb = cb;
    op->ud = ud;
    call_start(R(b), "GET", true, basin, read_url(R(b), basin, stream, "tail_offset", n, n, 0),
               NULL, page_read, op);
}

/* ---- wait: unary reads with `wait`, repeated until something comes or time is up ------------ */

typedef struct wait_op {
    remote *r;
    wr_rt_page_cb cb;
    void *ud;
    char *basin, *stream;
    uint64_t from_seq;
    uint64_t deadline_ms; /* monotonic */
    call *c;
} wait_op;

static void wait_next(wait_op *w);

static void
wait_finish(wait_op *w)
{
    free(w->basin);
    free(w->stream);
    free(w);
}

static void
wait_got(void *ud, wr_err err, const wr_error *detail, const wr_rt_page *page)
{
    wait_op *w = ud;
    assert(err != WR_OK || page != NULL); /* deliver_page answers OK with a page */
    if (err == WR_OK && page->n == 0 && wr_clock_mono_ms() < w->deadline_ms) {
        wait_next(w); /* an upstream wait is at most 60 s: ask again for the rest */
        return;
    }
    w->cb(w->ud, err, detail, page);
    wait_finish(w);
}

static void
wait_read(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    wait_op *w = c->ud;
    w->c = NULL;
    deliver_page(wait_got, w, w->from_seq, err, detail, res);
}

static void
wait_next(wait_op *w)
{
    uint64_t now = wr_clock_mono_ms();
    uint64_t left = w->deadline_ms > now ? (w->deadline_ms - now + 999) / 1000 : 1;
    if (left > UNARY_WAIT_MAX_S)
        left = UNARY_WAIT_MAX_S;
    /* The call's own timeout must outlast the wait it asks for. */
    w->c =
        call_start(w->r, "GET", true, w->basin,
                   read_url(w->r, w->basin, w->stream, "seq_num", w->from_seq, PAGE_RECORDS, left),
                   NULL, wait_read, w);
}

static void *
wait_page(wr_rt_backend *b, const char *basin, const char *stream, uint64_t from_seq,
          uint64_t timeout_s, wr_rt_page_cb cb, void *ud)
{
    wait_op *w = wr_xcalloc(1, sizeof(*w));
    w->r = R(b);
    w->cb = cb;
    w->ud = ud;
    w->basin = wr_xstrdup(basin);
    w->stream = wr_xstrdup(stream);
    w->from_seq = from_seq;
    w->deadline_ms = wr_clock_mono_ms() + timeout_s * 1000;
    wait_next(w);
    return w;
}

static void
cancel_wait(wr_rt_backend *b, void *handle)
{
    (void)b;
    wait_op *w = handle;
    if (w->c)
        call_cancel(w->c);
    w->c = NULL;
    wr_error e = {0};
    wr_error_set(&e, WR_ERR_CLIENT_HANGUP, "the client went away");
    w->cb(w->ud, e.code, &e, NULL);
    wait_finish(w);
}

/* ---- SSE proxy ------------------------------------------------------------------------------- */

typedef struct proxy {
    wr_req *req; /* NULL once the client is gone */
    wr_hc_req *up;
    long status;
    bool started;
    wr_buf err_body; /* a non-200 upstream answer */
} proxy;

static void
proxy_free(proxy *p)
{
    wr_buf_fini(&p->err_body);
    free(p);
}

static void
proxy_client_gone(wr_req *req)
{
    proxy *p = req->ud;
    p->req = NULL;
    if (p->up)
        wr_hc_cancel(p->up); /* no callback follows */
    proxy_free(p);
}

static void
proxy_drain(wr_req *req)
{
    proxy *p = req->ud;
    if (p->up)
        wr_hc_resume(p->up);
}

/* Detaches the client's request for answering it. */
static wr_req *
proxy_take(proxy *p)
{
    wr_req *req = p->req;
    p->req = NULL;
    if (req)
        req->on_close = req->on_drain = req->on_shutdown = NULL;
    return req;
}

static void
proxy_shutdown(wr_req *req)
{
    proxy *p = req->ud;
    if (p->up)
        wr_hc_cancel(p->up);
    p->up = NULL;
    proxy_take(p);
    if (p->started)
        wr_resp_abort(req); /* a dropped connection: the client resumes elsewhere */
    else
        wr_resp_error(req, WR_ERR_SERVER_DRAINING, "the server is shutting down; retry");
    proxy_free(p);
}

static void
proxy_head(void *ud, long status)
{
    proxy *p = ud;
    p->status = status;
    if (status == 200 && p->req) {
        p->started = true;
        wr_sse_start(p->req);
    }
}

static bool
proxy_data(void *ud, const char *data, size_t len)
{
    proxy *p = ud;
    if (p->status != 200) {
        if (p->err_body.len + len <= 64 * 1024)
            wr_buf_append(&p->err_body, data, len);
        return true;
    }
    return p->req ? wr_resp_write(p->req, data, len) : true;
}

static void
proxy_end(void *ud, wr_err err, const char *detail)
{
    proxy *p = ud;
    p->up = NULL;
    wr_req *req = proxy_take(p);
    if (req && p->started) {
        if (err == WR_OK)
            wr_resp_end(req); /* the upstream session ended as S2 ends one ([DONE] included) */
        else
            wr_resp_abort(req); /* never a clean end for a failed upstream */
    } else if (req) {
        wr_hc_result res = {.err = err,
                            .detail = detail,
                            .status = p->status,
                            .body = p->err_body.data ? p->err_body.data : "",
                            .body_len = p->err_body.len};
        wr_error e = {0};
        wr_err code = map_answer(&res, &e);
        if (code == WR_OK)
            code = wr_error_set(&e, WR_ERR_BAD_GATEWAY, "upstream S2 endpoint: empty answer");
        wr_resp_error(req, code, e.msg);
    }
    proxy_free(p);
}

static void
serve_sse(wr_rt_backend *b, wr_req *req, const char *basin, const char *stream, uint64_t start_seq,
          uint64_t wait_s)
{
    remote *r = R(b);
    proxy *p = wr_xcalloc(1, sizeof(*p));
    p->req = req;
    wr_buf_init(&p->err_body);
    char q[120];
    if (start_seq == WR_S2_SSE_AT_TAIL)
        snprintf(q, sizeof(q), "/records?tail_offset=0&wait=%" PRIu64, wait_s);
    else
        snprintf(q, sizeof(q), "/records?seq_num=%" PRIu64 "&clamp=true&wait=%" PRIu64, start_seq,
                 wait_s);
    char *url = stream_url(r, basin, stream, q);
    char bh[80];
    snprintf(bh, sizeof(bh), "s2-basin: %s", basin);
    const char *hdrs[] = {r->auth_header, "Accept: text/event-stream", "s2-format: raw", bh};
    wr_hc_opts o = {.method = "GET",
                    .url = url,
                    .headers = hdrs,
                    .n_headers = 4,
                    .connect_timeout_ms = r->timeout_ms,
                    .head_timeout_ms = r->timeout_ms,
                    .idle_timeout_s = SSE_IDLE_S};
    wr_hc_cbs cbs = {.on_head = proxy_head, .on_data = proxy_data, .on_end = proxy_end};
    req->ud = p;
    req->on_close = proxy_client_gone;
    req->on_drain = proxy_drain;
    req->on_shutdown = proxy_shutdown;
    p->up = wr_hc_start(r->hc, &o, &cbs, p);
    free(url);
}

/* ---- protection ------------------------------------------------------------------------------ */

static void
protected_key(const char *basin, const char *stream, wr_buf *out)
{
    wr_buf_init(out);
    wr_buf_append_str(out, basin);
    wr_buf_append_byte(out, '\n');
    wr_buf_append_str(out, stream);
}

static void
doe_patched(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    (void)res;
    done_op *op = c->ud;
    /* Unprotecting a stream (or basin) that is gone has nothing left to do. */
    if ((err == WR_ERR_STREAM_NOT_FOUND || err == WR_ERR_BASIN_NOT_FOUND) && op->stream)
        err = WR_OK;
    if (err == WR_OK && op->config) { /* protected: remembered for a while */
        wr_buf k;
        protected_key(op->basin, json_string_value(op->config), &k);
        wr_ttlset_add(op->r->protected_streams, k.data, wr_clock_mono_ms());
        wr_buf_fini(&k);
    }
    done_finish(op, err, detail);
}

static void
stream_made(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    (void)res;
    done_op *op = c->ud;
    if (err != WR_OK && err != WR_ERR_RESOURCE_ALREADY_EXISTS) {
        done_finish(op, err, detail);
        return;
    }
    json_t *body = json_pack("{s:{s:i}}", "delete_on_empty", "min_age_secs", 0);
    call_start(op->r, "PATCH", true, op->basin,
               stream_url(op->r, op->basin, json_string_value(op->config), ""), body, doe_patched,
               op);
}

/* Protect off, step 2: the stream gets its basin's delete-on-empty age back, written out (an S2
 * endpoint need not read a reset field as "inherit the basin's default"). */
static void
basin_doe_read(call *c, wr_err err, const wr_error *detail, const wr_hc_result *res)
{
    done_op *op = c->ud;
    if (err != WR_OK) {
        doe_patched(c, err, detail, res);
        return;
    }
    json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
    json_t *age = json_object_get(
        json_object_get(json_object_get(j, "default_stream_config"), "delete_on_empty"),
        "min_age_secs");
    json_t *body = json_is_integer(age) && json_integer_value(age) > 0
                       ? json_pack("{s:{s:O}}", "delete_on_empty", "min_age_secs", age)
                       : json_pack("{s:n}", "delete_on_empty");
    json_decref(j);
    call_start(op->r, "PATCH", true, op->basin, stream_url(op->r, op->basin, op->stream, ""), body,
               doe_patched, op);
}

static void
protect(wr_rt_backend *b, const char *basin, const char *stream, bool on, wr_rt_done_cb cb,
        void *ud)
{
    remote *r = R(b);
    wr_buf k;
    protected_key(basin, stream, &k);
    bool known = on && wr_ttlset_has(r->protected_streams, k.data, wr_clock_mono_ms());
    if (!on)
        wr_ttlset_del(r->protected_streams, k.data);
    wr_buf_fini(&k);
    if (known) {
        cb(ud, WR_OK, NULL);
        return;
    }
    done_op *op = done_op_new(r, basin, cb, ud);
    if (on) {
        op->config = json_string(stream); /* the stream to patch once it exists */
        char *url = basin_url(r, basin, "/streams");
        call_start(r, "POST", true, basin, url, json_pack("{s:s}", "stream", stream), stream_made,
                   op);
        return;
    }
    op->stream = wr_xstrdup(stream);
    call_start(r, "GET", true, NULL, account_url(r, "/basins/%s", basin), NULL, basin_doe_read, op);
}

/* ---- usage ----------------------------------------------------------------------------------- */

static void
usage(wr_rt_backend *b, const wr_rt_usage_query *q, wr_rt_usage_cb cb, void *ud)
{
    (void)b;
    (void)q;
    wr_error e = {0};
    wr_error_set(&e, WR_ERR_NOT_IMPLEMENTED,
                 "usage is unavailable with a remote stream backend: ask the S2 endpoint's "
                 "metrics API");
    cb(ud, e.code, &e, NULL);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void
remote_free(wr_rt_backend *b)
{
    remote *r = R(b);
    wr_hc_free(r->hc);
    wr_ttlset_free(r->protected_streams);
    free(r->account);
    free(r->basin_tmpl);
    free(r->auth_header);
    free(r);
}

static const wr_rt_backend_ops remote_ops = WR_RT_BACKEND_OPS("remote", remote_free);

/* "http://h:p", "http://h:p/", "http://h:p/v1" → "http://h:p/v1". */
static char *
v1_url(const char *endpoint)
{
    size_t n = strlen(endpoint);
    while (n && endpoint[n - 1] == '/')
        n--;
    if (n >= 3 && memcmp(endpoint + n - 3, "/v1", 3) == 0)
        n -= 3;
    char *u = wr_xmalloc(n + 4);
    snprintf(u, n + 4, "%.*s/v1", (int)n, endpoint);
    return u;
}

wr_rt_backend *
wr_rt_backend_remote(uv_loop_t *loop, const wr_rt_remote_opts *o)
{
    remote *r = wr_xcalloc(1, sizeof(*r));
    r->base.ops = &remote_ops;
    r->loop = loop;
    r->hc = wr_hc_new(loop);
    r->account = v1_url(o->endpoint);
    r->basin_tmpl =
        v1_url(o->basin_endpoint && *o->basin_endpoint ? o->basin_endpoint : o->endpoint);
    size_t n = strlen(o->access_token) + 32;
    r->auth_header = wr_xmalloc(n);
    snprintf(r->auth_header, n, "Authorization: Bearer %s", o->access_token);
    r->timeout_ms = o->timeout_ms;
    r->protected_streams = wr_ttlset_new(PROTECTED_MAX, PROTECTED_TTL_MS);
    return &r->base;
}
