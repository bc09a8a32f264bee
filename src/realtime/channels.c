/*
 * channels.c — the session-channel routes of realtime.md §5 (`:session` = a session_… id or an
 * externalId; `:io` = in | out):
 *   PUT  /realtime/v1/sessions/:session/:io            write credentials (X-S2-* headers)
 *   GET  /realtime/v1/sessions/:session/:io            SSE
 *   POST /realtime/v1/sessions/:session/:io/append     one record {"data","id"}
 *   GET  /realtime/v1/sessions/:session/:io/records    records after ?afterEventId, no waiting
 *   POST /api/v1/sessions/:session/:io/wait            the first record after lastSeqNum
 * and the helpers the run-stream routes share (credentials, SSE request headers).
 *
 * Authorization: the environment's secret key, or a public token with read/write:sessions
 * scope naming the session (by id or externalId); `.out` is written only with the secret key.
 * PUT, GET and records work without a session row for an externalId key (the organization's
 * basin, else the global one); append and wait need the row.
 *
 * Invariants: the basin is resolved per naming.h (row stamp → org basin only when no row →
 * global). Credentials (mint.h): the secret key gets a token for that basin and the
 * environment's prefix, so "{token prefix}{X-S2-Stream-Name}" is the stream's full name; a
 * public token gets an append-only token for exactly that stream, and X-S2-Stream-Name is then
 * the full name. Closing a session revokes its channels' stream tokens. The channels of an open
 * session are pinned against delete-on-empty from the first time weir touches them until the
 * session is closed (sessions.c releases them).
 */
#include <string.h>
#include <strings.h>

#include "realtime/naming.h"
#include "realtime/params.h"
#include "realtime/rt_int.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/utf8.h"

/* A Host value weir repeats to clients: a host name or address and an optional port. */
static bool
host_ok(const char *h, size_t n)
{
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'))
            return false;
    }
    return true;
}

/* The first value of a comma-separated header, trimmed, into out. */
static void
first_value(const char *v, char *out, size_t cap)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strcspn(v, ",");
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    snprintf(out, cap, "%.*s", (int)n, v);
}

/* `key=value` of the first element of a Forwarded header (RFC 7239), quotes removed. */
static bool
forwarded_param(const char *fwd, const char *key, char *out, size_t cap)
{
    char first[512];
    first_value(fwd, first, sizeof(first));
    size_t kl = strlen(key);
    for (char *save = NULL, *p = strtok_r(first, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
        while (*p == ' ')
            p++;
        if (strncasecmp(p, key, kl) != 0 || p[kl] != '=')
            continue;
        const char *v = p + kl + 1;
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
            v++, n -= 2;
        snprintf(out, cap, "%.*s", (int)n, v);
        return true;
    }
    return false;
}

/*
 * The S2 endpoint handed to writers: the configured public URL; else, for a request that came
 * through a trusted proxy, the scheme and host it forwarded (Forwarded, then X-Forwarded-*);
 * else http://<Host>. Values that are not a plain scheme or host are ignored.
 */
static const char *
s2_endpoint(wr_req *req, wr_rt *rt)
{
    if (rt->cfg.remote) /* writers go to the S2 endpoint itself */
        return rt->cfg.s2_public;
    if (rt->cfg.public_url[0])
        return wr_arena_printf(&req->arena, "%s/v1", rt->cfg.public_url);
    char proto[16] = "http", host[256] = "";
    const char *h = wr_req_header(req, "host");
    if (h && host_ok(h, strlen(h)))
        snprintf(host, sizeof(host), "%s", h);
    if (req->peer && wr_cidr_match(&rt->cfg.proxies, req->peer)) {
        char p[16] = "", fh[256] = "";
        const char *fwd = wr_req_header(req, "forwarded");
        const char *xp = wr_req_header(req, "x-forwarded-proto");
        const char *xh = wr_req_header(req, "x-forwarded-host");
        if (!(fwd && forwarded_param(fwd, "proto", p, sizeof(p))) && xp)
            first_value(xp, p, sizeof(p));
        if (!(fwd && forwarded_param(fwd, "host", fh, sizeof(fh))) && xh)
            first_value(xh, fh, sizeof(fh));
        if (strcasecmp(p, "https") == 0 || strcasecmp(p, "http") == 0)
            snprintf(proto, sizeof(proto), "%s", strcasecmp(p, "https") == 0 ? "https" : "http");
        if (host_ok(fh, strlen(fh)))
            snprintf(host, sizeof(host), "%s", fh);
    }
    return wr_arena_printf(&req->arena, "%s://%s/v1", proto, host[0] ? host : "localhost");
}

/* A credentials answer waiting for its token (mint.h may answer later). */
typedef struct cred_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    char *basin, *name; /* name: what X-S2-Stream-Name says */
} cred_op;

static void
cred_minted(void *ud, wr_err err, const wr_error *detail, const char *secret)
{
    cred_op *op = ud;
    wr_req *req = wr_rt_take_req(op);
    wr_rt *rt = op->rt;
    if (req && err != WR_OK) {
        wr_rt_fail_err(req, detail);
    } else if (req) {
        char num[24];
        wr_resp_header(req, "x-s2-access-token", secret);
        wr_resp_header(req, "x-s2-stream-name", op->name);
        wr_resp_header(req, "x-s2-basin", op->basin);
        wr_resp_header(req, "x-s2-endpoint", s2_endpoint(req, rt));
        snprintf(num, sizeof(num), "%llu", (unsigned long long)rt->cfg.flush_interval_ms);
        wr_resp_header(req, "x-s2-flush-interval-ms", num);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)rt->cfg.max_retries);
        wr_resp_header(req, "x-s2-max-retries", num);
        /* Listed explicitly: "*" is not honoured for credentialed requests. */
        wr_resp_header(req, "access-control-expose-headers",
                       "x-s2-access-token, x-s2-stream-name, x-s2-basin, x-s2-endpoint, "
                       "x-s2-flush-interval-ms, x-s2-max-retries");
        wr_resp_json(req, 202, json_pack("{s:s}", "version", "v2"));
    }
    free(op->basin);
    free(op->name);
    free(op);
}

void
wr_rt_answer_channel(wr_req *req, wr_rt *rt, const wr_rt_caller *caller, const wr_org *org,
                     const char *basin, const char *prefix, const char *rel)
{
    /* A browser's public token gets a token for this one stream, append only; the secret key
     * (which holds the whole environment anyway) gets the environment's. */
    const char *full =
        caller->public_token ? wr_arena_printf(&req->arena, "%s%s", prefix, rel) : NULL;
    wr_rt_grant g = {.org_id = org->id,
                     .org_version = org->updated_at_ms,
                     .env_id = caller->env.id,
                     .basin = basin,
                     .prefix = prefix,
                     .stream = full,
                     .not_after_ms = caller->public_token ? caller->exp_ms : 0,
                     .key_hash = caller->env.key_hash};
    cred_op *op = wr_xcalloc(1, sizeof(*op));
    op->rt = rt;
    op->basin = wr_xstrdup(basin);
    op->name = wr_xstrdup(full ? full : rel);
    wr_rt_hold_req(req, op);
    wr_rt_mint_token(rt->mint, &g, cred_minted, op);
}

bool
wr_rt_env_org(wr_req *req, wr_rt *rt, const wr_env *env, wr_org *out)
{
    wr_error err = {0};
    if (wr_rt_read_org(rt, req, env->org_id, out, &err) != WR_OK) {
        wr_rt_fail_err(req, &err);
        return false;
    }
    return true;
}

bool
wr_rt_sse_params(wr_req *req, wr_rt *rt, uint64_t *out_start, uint64_t *out_wait)
{
    const char *t = wr_req_header(req, "timeout-seconds");
    *out_wait = rt->cfg.wait_seconds;
    if (t && !wr_rt_parse_timeout(t, out_wait)) {
        wr_rt_fail(req, WR_ERR_BAD_HEADER, "`Timeout-Seconds` must be an integer from 1 to 600");
        return false;
    }
    const char *leid = wr_req_header(req, "last-event-id");
    const char *from = wr_req_header(req, "x-trigger-stream-start");
    /* `latest` (streams.read({from: "latest"})) starts at the tail; a resume wins over it. */
    if (!leid && from && strcasecmp(from, "latest") == 0)
        *out_start = WR_S2_SSE_AT_TAIL;
    else
        *out_start = wr_rt_parse_last_event_id(leid);
    return true;
}

/* A session channel named in the URL, resolved. */
typedef struct channel {
    wr_rt_caller caller;
    wr_org org;
    wr_session s; /* valid when has_row */
    bool has_row;
    const char *key, *io;
    const char *side; /* a named side channel, or NULL for the main one */
    const char *basin;
    char prefix[WR_RT_NAME_MAX];
    char stream[WR_RT_NAME_MAX + 300]; /* full name */
    const char *rel;                   /* "/sessions/{key}/{io}" */
} channel;

static void
channel_fini(channel *c)
{
    wr_rt_caller_fini(&c->caller);
    wr_session_fini(&c->s);
}

enum {
    NEED_ROW = 1,      /* 404 when no session row exists */
    REJECT_CLOSED = 2, /* 400 when the session is closed (or expired) */
    CLOSED_409 = 4,    /* with REJECT_CLOSED: a closed session is 409 `session_closed` */
};

/* Side channel names become one segment of a stream name. */
static bool
side_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return strcmp(s - n, ".") != 0 && strcmp(s - n, "..") != 0;
}

/* Whether `key` names no session's channels (a renamed session keeps its old external id as
 * its channels' name); false with err set on a control-plane failure. */
static bool
key_free(wr_rt *rt, const wr_req *req, const char *env_id, const char *key, wr_error *err)
{
    bool taken = false;
    memset(err, 0, sizeof(*err));
    if (wr_rt_read_key_taken(rt, req, env_id, key, &taken, err) != WR_OK)
        return false;
    return !taken;
}

/*
 * Authenticates, checks :io, finds the session (per `flags`), authorizes `action` and resolves
 * the basin and stream name. False after answering; on true call channel_fini.
 */
static bool
channel_open(wr_req *req, wr_rt *rt, const char *action, int flags, channel *c)
{
    memset(c, 0, sizeof(*c));
    c->key = req->params[0];
    c->side = req->n_params == 3 ? req->params[1] : NULL;
    c->io = req->params[req->n_params - 1];
    if (!wr_rt_authn(req, rt, true, &c->caller))
        return false;
    wr_error err = {0};
    const char *fail = NULL;
    wr_err code = WR_OK;
    if (strcmp(c->io, "in") != 0 && strcmp(c->io, "out") != 0) {
        code = WR_ERR_NOT_FOUND, fail = "Unknown channel: io must be `in` or `out`";
    } else if (c->key[0] == '\0' || strlen(c->key) > 256 || strchr(c->key, '/')) {
        /* A '/' would let one session's key name another's channels ("a/channels/x"). */
        code = WR_ERR_BAD_REQUEST, fail = "Invalid session key: 1-256 characters without `/`";
    } else if (c->side && !side_name_ok(c->side)) {
        code = WR_ERR_BAD_REQUEST, fail = "Invalid channel name: 1-64 characters of [A-Za-z0-9._-]";
    } else if (strcmp(action, "write") == 0 && strcmp(c->io, "out") == 0 &&
               c->caller.public_token) {
        code = WR_ERR_PERMISSION_DENIED,
        fail = "Writing a session's `.out` channel requires the secret key";
    } else if (!wr_rt_env_org(req, rt, &c->caller.env, &c->org)) {
        channel_fini(c);
        return false;
    } else if (wr_rt_read_session(rt, req, c->caller.env.id, c->key, &c->s, &err) == WR_OK) {
        c->has_row = true;
        bool expired = c->s.expires_at_ms && c->s.expires_at_ms <= wr_clock_now_ms();
        if ((flags & REJECT_CLOSED) && c->s.closed && (flags & CLOSED_409))
            code = WR_ERR_SESSION_CLOSED, fail = "Session is closed";
        else if ((flags & REJECT_CLOSED) && c->s.closed)
            code = WR_ERR_BAD_REQUEST, fail = "Session is closed";
        else if ((flags & REJECT_CLOSED) && expired)
            code = WR_ERR_BAD_REQUEST, fail = "Session has expired";
    } else if (err.code != WR_ERR_NOT_FOUND && err.code != WR_ERR_INVALID) {
        wr_rt_fail_err(req, &err);
        channel_fini(c);
        return false;
    } else if ((flags & NEED_ROW) ||
               strncmp(c->key, WR_META_SESSION_ID_PREFIX, strlen(WR_META_SESSION_ID_PREFIX)) == 0 ||
               !key_free(rt, req, c->caller.env.id, c->key, &err)) {
        /* No row; and a name a renamed session's channels still carry is not reachable. */
        if (err.code == WR_ERR_STORAGE) {
            wr_rt_fail_err(req, &err);
            channel_fini(c);
            return false;
        }
        code = WR_ERR_NOT_FOUND, fail = "Session not found";
    }
    if (fail) {
        if (code == WR_ERR_SESSION_CLOSED)
            wr_rt_fail_closed(req, &c->s, fail);
        else
            wr_rt_fail(req, code, fail);
        channel_fini(c);
        return false;
    }
    const char *ids[3] = {c->key, c->has_row ? c->s.id : NULL,
                          c->has_row && c->s.has_external_id ? c->s.external_id : NULL};
    if (!wr_rt_authz(req, &c->caller, action, "sessions", ids, 3)) {
        channel_fini(c);
        return false;
    }
    c->basin = wr_rt_resolve_basin(rt->cfg.global_basin, c->has_row,
                                   c->has_row && c->s.has_basin ? c->s.basin : NULL,
                                   c->org.has_basin ? c->org.basin : NULL);
    const char *name = c->has_row ? c->s.stream_key : c->key;
    wr_rt_stream_prefix(c->basin, rt->cfg.global_basin, c->org.id, c->caller.env.slug,
                        c->caller.env.id, c->prefix, sizeof(c->prefix));
    c->rel = c->side
                 ? wr_arena_printf(&req->arena, "/sessions/%s/channels/%s/%s", name, c->side, c->io)
                 : wr_arena_printf(&req->arena, "/sessions/%s/%s", name, c->io);
    snprintf(c->stream, sizeof(c->stream), "%s%s", c->prefix, c->rel);
    if (strlen(c->prefix) + strlen(c->rel) > WR_STREAM_NAME_MAX) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Stream name too long");
        channel_fini(c);
        return false;
    }
    return true;
}

/*
 * What a route does once its channel is protected (an open session's channels are protected
 * from delete-on-empty from the first time weir touches them: backend.h `protect`). The
 * protection may answer later, so the step carries what it needs.
 */
typedef enum next_step { STEP_CREDENTIALS, STEP_SSE, STEP_APPEND } next_step;

typedef struct guard_op {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    channel *c;
    next_step next;
    uint64_t start, wait; /* STEP_SSE */
    bool settled;
    json_t *data; /* STEP_APPEND */
    const char *part_id;
} guard_op;

static void
channel_free(channel *c)
{
    channel_fini(c);
    free(c);
}

/* Runs op's step on its request (taken back from wr_rt_hold_req). */
static void
run_step(guard_op *op, wr_req *req)
{
    channel *c = op->c;
    wr_rt *rt = op->rt;
    switch (op->next) {
    case STEP_CREDENTIALS:
        wr_rt_answer_channel(req, rt, &c->caller, &c->org, c->basin, c->prefix, c->rel);
        break;
    case STEP_SSE:
        wr_rt_serve_sse(rt, req, c->basin, c->stream, op->start, op->wait, op->settled);
        break;
    case STEP_APPEND:
        wr_rt_append_part(rt, req, c->caller.env.id, c->basin, c->stream, json_incref(op->data),
                          op->part_id);
        break;
    }
}

static void
guard_free(guard_op *op)
{
    json_decref(op->data);
    channel_free(op->c);
    free(op);
}

static void protected(void *ud, wr_err err, const wr_error *detail)
{
    guard_op *op = ud;
    wr_req *req = wr_rt_take_req(op);
    if (req && err != WR_OK)
        wr_rt_fail_err(req, detail);
    else if (req)
        run_step(op, req);
    guard_free(op);
}

/* Protects the channel of an open session, then runs op's step; takes op. */
static void
guard_then(guard_op *op)
{
    channel *c = op->c;
    wr_rt_hold_req(op->req, op);
    if (!c->has_row || c->s.closed) {
        run_step(op, wr_rt_take_req(op));
        guard_free(op);
        return;
    }
    op->rt->backend->ops->protect(op->rt->backend, c->basin, c->stream, true, protected, op);
}

static guard_op *
guard_new(wr_req *req, wr_rt *rt, channel *c, next_step next)
{
    guard_op *op = wr_xcalloc(1, sizeof(*op));
    op->req = req;
    op->rt = rt;
    op->c = c;
    op->next = next;
    return op;
}

static void
put_session_channel(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    channel *c = wr_xmalloc(sizeof(*c));
    if (!channel_open(req, rt, "write", REJECT_CLOSED, c)) {
        free(c);
        return;
    }
    guard_then(guard_new(req, rt, c, STEP_CREDENTIALS));
}

static void
get_session_channel(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    channel *c = wr_xmalloc(sizeof(*c));
    uint64_t start, wait;
    if (!channel_open(req, rt, "read", 0, c)) {
        free(c);
        return;
    }
    if (!wr_rt_sse_params(req, rt, &start, &wait)) {
        channel_free(c);
        return;
    }
    guard_op *op = guard_new(req, rt, c, STEP_SSE);
    const char *peek = wr_req_header(req, "x-peek-settled");
    op->settled = strcmp(c->io, "out") == 0 && peek && strcmp(peek, "1") == 0;
    op->start = start;
    op->wait = wait;
    guard_then(op);
}

/* HEAD: what trigger.dev's clients probe before resuming a run stream. Resuming is by
 * Last-Event-ID on the SSE itself, so the chunk index is always 0 (as with trigger.dev's S2
 * backend); the answer still authenticates and 404s like GET. */
static void
head_session_channel(wr_req *req, void *ctx)
{
    channel c;
    if (!channel_open(req, ctx, "read", 0, &c))
        return;
    channel_fini(&c);
    wr_resp_header(req, "x-last-chunk-index", "0");
    wr_resp_send(req, 200, NULL, NULL, 0);
}

/* The X-Part-Id header (≤ 256 bytes), NULL when absent; false after answering 400. */
bool
wr_rt_part_id(wr_req *req, const char **out)
{
    *out = wr_req_header(req, "x-part-id");
    if (*out && (strlen(*out) > 256 || !wr_utf8_valid(*out, strlen(*out)))) {
        wr_rt_fail(req, WR_ERR_BAD_HEADER, "`X-Part-Id` must be at most 256 bytes of UTF-8");
        return false;
    }
    return true;
}

/* The request body as a JSON string (text, non-empty); NULL after answering. */
json_t *
wr_rt_text_body(wr_req *req)
{
    if (req->body.len == 0) {
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Request body is empty");
        return NULL;
    }
    if (req->body.len > WR_RT_PART_MAX) {
        wr_rt_fail(req, WR_ERR_PAYLOAD_TOO_LARGE,
                   "Record too large: the limit is 1 MiB (1048576 bytes) metered");
        return NULL;
    }
    json_t *s = json_stringn((const char *)req->body.data, req->body.len);
    if (!s)
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, "Request body must be UTF-8 text");
    return s;
}

static void
append_session_channel(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    channel *c = wr_xmalloc(sizeof(*c));
    const char *part_id;
    if (!channel_open(req, rt, "write", NEED_ROW | REJECT_CLOSED | CLOSED_409, c)) {
        free(c);
        return;
    }
    json_t *data = NULL;
    if (!wr_rt_part_id(req, &part_id) || (data = wr_rt_text_body(req)) == NULL) {
        channel_free(c);
        return;
    }
    guard_op *op = guard_new(req, rt, c, STEP_APPEND);
    op->data = data;
    op->part_id = part_id; /* in the request's arena, which outlives op while req lives */
    guard_then(op);
}

static void
list_session_records(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    channel c;
    if (!channel_open(req, rt, "read", 0, &c))
        return;
    const char *after = NULL;
    uint64_t from = 0;
    int q = wr_req_query(req, "afterEventId", &after);
    if (q == 1 && wr_rt_parse_seq(after, &from))
        from++;
    else if (q == 1)
        q = -1;
    if (q < 0)
        wr_rt_fail(req, WR_ERR_BAD_QUERY,
                   "`afterEventId` must be a non-negative integer (a seqNum)");
    else
        wr_rt_list_records(rt, req, c.basin, c.stream, from);
    channel_fini(&c);
}

static void
wait_session_channel(wr_req *req, void *ctx)
{
    wr_rt *rt = ctx;
    channel c;
    if (!channel_open(req, rt, "read", NEED_ROW, &c))
        return;
    json_t *body = req->body.len ? wr_rt_body(req) : json_object();
    if (!body) {
        channel_fini(&c);
        return;
    }
    json_t *last = json_object_get(body, "lastSeqNum"),
           *t = json_object_get(body, "timeoutSeconds");
    uint64_t from = 0, timeout = rt->cfg.wait_seconds;
    const char *bad = NULL;
    if (last && !json_is_null(last)) {
        if (!json_is_integer(last) || json_integer_value(last) < -1)
            bad = "`lastSeqNum` must be an integer >= -1";
        else
            from = (uint64_t)(json_integer_value(last) + 1);
    }
    if (t && !json_is_null(t)) {
        if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 600)
            bad = "`timeoutSeconds` must be an integer from 1 to 600";
        else
            timeout = (uint64_t)json_integer_value(t);
    }
    json_decref(body);
    if (bad)
        wr_rt_fail(req, WR_ERR_BAD_REQUEST, bad);
    else
        wr_rt_wait_record(rt, req, c.basin, c.stream, from, timeout);
    channel_fini(&c);
}

/* A closed session's channels being released: done runs once every step has answered. */
typedef struct release_op {
    wr_rt *rt;
    wr_env env;
    char basin[49];
    char prefix[WR_RT_NAME_MAX];
    char side[WR_RT_NAME_MAX + 300]; /* the session's side-channel prefix */
    size_t pending;                  /* steps still to answer */
    wr_error first;                  /* the first failure */
    wr_rt_done_cb done;
    void *ud;
} release_op;

static void
release_step_done(void *ud, wr_err err, const wr_error *detail)
{
    release_op *op = ud;
    if (err != WR_OK && op->first.code == WR_OK) {
        if (detail)
            op->first = *detail;
        else
            wr_error_set(&op->first, err, "%s", wr_err_code(err));
    }
    if (--op->pending > 0)
        return;
    if (op->first.code != WR_OK)
        wr_log_warn("releasing a closed session's channels failed", " err=%s", op->first.msg);
    op->done(op->ud, op->first.code, op->first.code == WR_OK ? NULL : &op->first);
    free(op);
}

/* Unprotects a closed session's channel stream and revokes its stream write tokens. */
static void
release_stream(release_op *op, const char *stream)
{
    wr_rt *rt = op->rt;
    op->pending += 2;
    rt->backend->ops->protect(rt->backend, op->basin, stream, false, release_step_done, op);
    wr_rt_mint_revoke_stream(rt->mint, op->env.org_id, op->env.id, op->basin, stream,
                             release_step_done, op);
}

static void
side_channels(void *ud, wr_err err, const wr_error *detail, const char *const *names, size_t n,
              bool more)
{
    release_op *op = ud;
    if (err != WR_OK) {
        release_step_done(op, err, detail);
        return;
    }
    for (size_t i = 0; i < n; i++)
        release_stream(op, names[i]);
    if (more && n > 0) {
        char after[WR_STREAM_NAME_MAX + 1];
        snprintf(after, sizeof(after), "%s", names[n - 1]);
        op->rt->backend->ops->list_streams(op->rt->backend, op->basin, op->side, after,
                                           side_channels, op);
        return;
    }
    release_step_done(op, WR_OK, NULL); /* the listing's own step */
}

void
wr_rt_release_session(wr_rt *rt, const wr_env *env, const wr_session *s, wr_rt_done_cb done,
                      void *ud)
{
    release_op *op = wr_xcalloc(1, sizeof(*op));
    op->rt = rt;
    op->env = *env;
    op->done = done;
    op->ud = ud;
    op->pending = 1; /* the side-channel listing, ended by side_channels */
    snprintf(op->basin, sizeof(op->basin), "%s",
             wr_rt_resolve_basin(rt->cfg.global_basin, true, s->has_basin ? s->basin : NULL, NULL));
    wr_rt_stream_prefix(op->basin, rt->cfg.global_basin, env->org_id, env->slug, env->id,
                        op->prefix, sizeof(op->prefix));
    char stream[WR_RT_NAME_MAX + 300];
    for (int i = 0; i < 2; i++) {
        snprintf(stream, sizeof(stream), "%s/sessions/%s/%s", op->prefix, s->stream_key,
                 i ? "out" : "in");
        release_stream(op, stream);
    }
    snprintf(op->side, sizeof(op->side), "%s/sessions/%s/channels/", op->prefix, s->stream_key);
    rt->backend->ops->list_streams(rt->backend, op->basin, op->side, "", side_channels, op);
}

void
wr_rt_channels_register(wr_rt *rt, wr_router *r)
{
    wr_rt_route(rt, r, WR_METHOD_PUT, "/realtime/v1/sessions/{session}/{io}", put_session_channel,
                64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_GET, "/realtime/v1/sessions/{session}/{io}", get_session_channel,
                0);
    wr_rt_route(rt, r, WR_METHOD_HEAD, "/realtime/v1/sessions/{session}/{io}", head_session_channel,
                0);
    wr_rt_route(rt, r, WR_METHOD_POST, "/realtime/v1/sessions/{session}/{io}/append",
                append_session_channel, WR_RT_BODY_MAX);
    wr_rt_route(rt, r, WR_METHOD_GET, "/realtime/v1/sessions/{session}/{io}/records",
                list_session_records, 0);
    /* Named side channels: the same routes one level down. */
    wr_rt_route(rt, r, WR_METHOD_PUT, "/realtime/v1/sessions/{session}/channels/{name}/{io}",
                put_session_channel, 64 * 1024);
    wr_rt_route(rt, r, WR_METHOD_GET, "/realtime/v1/sessions/{session}/channels/{name}/{io}",
                get_session_channel, 0);
    wr_rt_route(rt, r, WR_METHOD_HEAD, "/realtime/v1/sessions/{session}/channels/{name}/{io}",
                head_session_channel, 0);
    wr_rt_route(rt, r, WR_METHOD_POST,
                "/realtime/v1/sessions/{session}/channels/{name}/{io}/append",
                append_session_channel, WR_RT_BODY_MAX);
    wr_rt_route(rt, r, WR_METHOD_GET,
                "/realtime/v1/sessions/{session}/channels/{name}/{io}/records",
                list_session_records, 0);
    wr_rt_route(rt, r, WR_METHOD_POST, "/api/v1/sessions/{session}/{io}/wait", wait_session_channel,
                64 * 1024);
}
