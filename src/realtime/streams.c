/*
 * streams.c — the record operations of the realtime routes, over the stream backend
 * (backend.h): what is the same whichever backend holds the streams.
 *
 *   append_part   one record whose body is the envelope {"data": …, "id": partId}; a part id
 *                 seen on the same stream within 5 minutes is answered with its first seq and
 *                 not written again (the X-Part-Id idempotency of realtime.md §5);
 *   list_records  the records after a seq, envelopes unwrapped, command records dropped;
 *   wait_record   the first non-command record after a seq, as soon as it is durable;
 *   serve_sse     an S2 SSE read session (s2.h) with the realtime headers, after an optional
 *                 "settled" peek at the tail;
 *   protect       live-session protection for the channels of open sessions.
 *
 * Requests answered asynchronously are detached through req->on_close: a context whose request
 * has gone finishes its backend call and only then frees itself.
 */
#include <stdio.h>
#include <string.h>

#include "realtime/rt_int.h"
#include "realtime/backend.h"
#include "store/batch.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/hash.h"
#include "util/mem.h"
#include "util/utf8.h"

#define PART_TTL_MS (5u * 60u * 1000u)
/* With a control plane shared by several nodes, the part ids live in it too (wr_meta_part_*): a
 * claim is taken before the append and turned into the answer after it. A claim whose node went
 * away (crashed between claim and answer) is taken over after PART_CLAIM_MS; that node may have
 * appended, so a crash in that window can leave the one duplicate this cannot rule out. Rows past
 * the window are purged at most every PART_PURGE_MS, by the node that appends next. */
#define PART_CLAIM_MS (30u * 1000u)
#define PART_PURGE_MS (60u * 1000u)
/* Remembered part ids (~250 bytes each) per stream and per environment: past either limit the
 * oldest answered ids of that stream (or environment) are forgotten early. So a flood of unique
 * ids grows memory only up to the limits, and forgets only the flooder's own ids: a browser
 * holding one session's token reaches one stream, and no environment reaches another's. */
#define PART_MAX_PER_STREAM 1000
#define PART_MAX_PER_ENV 100000
#define PART_BUCKETS 4096
#define GROUP_BUCKETS 1024
#define LIST_MAX_RECORDS 1000
#define LIST_MAX_BYTES (1024u * 1024u)

/* ------------------------------------------------------------------------------------------ */
/* Part-id idempotency                                                                          */

typedef struct part_waiter part_waiter;

/* The ids of one environment or of one stream, oldest first. */
typedef struct part_group {
    struct part_group *next; /* hash chain */
    char *name;              /* env id, or "{basin}\n{stream}" */
    struct part *oldest, *newest;
    size_t n;
} part_group;

typedef struct part {
    struct part *next_hash;
    struct part *e_prev, *e_next; /* the environment's ids, insertion order (expiry) */
    struct part *s_prev, *s_next; /* the stream's ids, insertion order */
    part_group *env, *stream;
    char *key; /* "{basin}\n{stream}\n{partId}" */
    bool done;
    uint64_t seq;
    uint64_t done_at_ms;
    part_waiter *waiters; /* requests with the same part id while the first append is pending */
} part;

struct part_waiter {
    wr_req *req;
    part *p;
    part_waiter *next;
};

struct wr_rt_parts {
    uint64_t purged_at_ms; /* the last purge of the shared rows */
    part *buckets[PART_BUCKETS];
    part_group *envs[GROUP_BUCKETS];
    part_group *streams[GROUP_BUCKETS];
};

static size_t
str_hash(const char *key, size_t n_buckets)
{
    return (size_t)(wr_hash_fnv1a(WR_FNV1A_SEED, key, strlen(key)) % n_buckets);
}

wr_rt_parts *
wr_rt_parts_new(void)
{
    return wr_xcalloc(1, sizeof(wr_rt_parts));
}

static part_group *
group_find(part_group **table, const char *name)
{
    for (part_group *g = table[str_hash(name, GROUP_BUCKETS)]; g; g = g->next)
        if (strcmp(g->name, name) == 0)
            return g;
    return NULL;
}

/* The group called name in table[], created when missing. */
static part_group *
group_get(part_group **table, const char *name)
{
    part_group *g = group_find(table, name);
    if (g)
        return g;
    part_group **pp = &table[str_hash(name, GROUP_BUCKETS)];
    g = wr_xcalloc(1, sizeof(*g));
    g->name = wr_xstrdup(name);
    g->next = *pp;
    *pp = g;
    return g;
}

static void
group_free(part_group **table, part_group *g)
{
    part_group **pp = &table[str_hash(g->name, GROUP_BUCKETS)];
    while (*pp != g)
        pp = &(*pp)->next;
    *pp = g->next;
    free(g->name);
    free(g);
}

static void
part_unlink(wr_rt_parts *t, part *p)
{
    part **pp = &t->buckets[str_hash(p->key, PART_BUCKETS)];
    while (*pp != p)
        pp = &(*pp)->next_hash;
    *pp = p->next_hash;
    part_group *e = p->env, *s = p->stream;
    if (p->e_prev)
        p->e_prev->e_next = p->e_next;
    else
        e->oldest = p->e_next;
    if (p->e_next)
        p->e_next->e_prev = p->e_prev;
    else
        e->newest = p->e_prev;
    e->n--;
    if (p->s_prev)
        p->s_prev->s_next = p->s_next;
    else
        s->oldest = p->s_next;
    if (p->s_next)
        p->s_next->s_prev = p->s_prev;
    else
        s->newest = p->s_prev;
    if (--s->n == 0)
        group_free(t->streams, s); /* a stream's group lives only while it remembers ids */
}

static void
part_free(part *p)
{
    free(p->key);
    free(p);
}

void
wr_rt_parts_free(wr_rt_parts *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < GROUP_BUCKETS; i++) {
        for (part_group *e = t->envs[i], *ne; e; e = ne) {
            ne = e->next;
            for (part *p = e->oldest, *n; p; p = n) {
                n = p->e_next;
                part_free(p); /* waiters were detached when their requests closed at shutdown */
            }
            free(e->name);
            free(e);
        }
        for (part_group *g = t->streams[i], *ng; g; g = ng) {
            ng = g->next;
            free(g->name);
            free(g);
        }
    }
    free(t);
}

/* Forgets the group's oldest answered ids while they are past the window or the group is at
 * `max`. */
static void
drop_oldest(wr_rt_parts *t, part_group *g, bool by_env, uint64_t now, size_t max)
{
    part *p = g->oldest;
    while (p && p->done && (now - p->done_at_ms >= PART_TTL_MS || g->n >= max)) {
        part *next = by_env ? p->e_next : p->s_next; /* g's oldest once p is unlinked */
        bool last = !by_env && g->n == 1;            /* unlinking frees an emptied stream group */
        part_unlink(t, p);
        part_free(p);
        if (last)
            return;
        p = next;
    }
}

/* Makes room for one more id of `stream` in environment e: answered ids past the window go,
 * then the oldest of whichever group is at its limit. */
static void
parts_expire(wr_rt_parts *t, part_group *e, const char *stream, uint64_t now)
{
    drop_oldest(t, e, true, now, PART_MAX_PER_ENV);
    part_group *s = group_find(t->streams, stream); /* after: the env's drops may free it */
    if (s)
        drop_oldest(t, s, false, now, PART_MAX_PER_STREAM);
}

static part *
parts_find(wr_rt_parts *t, const char *key)
{
    for (part *p = t->buckets[str_hash(key, PART_BUCKETS)]; p; p = p->next_hash)
        if (strcmp(p->key, key) == 0)
            return p;
    return NULL;
}

static part *
parts_add(wr_rt_parts *t, part_group *e, part_group *s, char *key)
{
    part *p = wr_xcalloc(1, sizeof(*p));
    p->key = key;
    p->env = e;
    p->stream = s;
    size_t b = str_hash(key, PART_BUCKETS);
    p->next_hash = t->buckets[b];
    t->buckets[b] = p;
    p->e_prev = e->newest;
    if (e->newest)
        e->newest->e_next = p;
    else
        e->oldest = p;
    e->newest = p;
    e->n++;
    p->s_prev = s->newest;
    if (s->newest)
        s->newest->s_next = p;
    else
        s->oldest = p;
    s->newest = p;
    s->n++;
    return p;
}

static void
answer_ok(wr_req *req, uint64_t seq)
{
    wr_resp_json(req, 200, json_pack("{s:b,s:I}", "ok", 1, "seq", (json_int_t)seq));
}

static void
waiter_closed(wr_req *req)
{
    part_waiter *w = req->ud;
    part_waiter **pp = &w->p->waiters;
    while (*pp != w)
        pp = &(*pp)->next;
    *pp = w->next;
    free(w);
}

/* Answers every request waiting on p (with the seq, or the failure) and frees the waiters. */
static void
part_settle(part *p, wr_err err, const char *msg)
{
    for (part_waiter *w = p->waiters, *n; w; w = n) {
        n = w->next;
        w->req->on_close = NULL;
        if (err == WR_OK)
            answer_ok(w->req, p->seq);
        else
            wr_rt_fail(w->req, err, msg);
        free(w);
    }
    p->waiters = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Append                                                                                       */

typedef struct append_ctx {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    part *p; /* NULL without a part id */
} append_ctx;

/* The part's outcome: seq, or err (the part id is forgotten: a retry appends). Answers the
 * request (if it is still there) and every request waiting on the same part id; frees c. */
static void
append_settle(append_ctx *c, wr_err err, const char *msg, uint64_t seq)
{
    if (c->p) {
        wr_rt_parts *t = c->rt->parts;
        if (err == WR_OK) {
            /* Kept in insertion order: the oldest entry leaves only 5 minutes after its own
             * answer, and the ones behind it after it, so each is remembered at least that long. */
            c->p->done = true;
            c->p->seq = seq;
            c->p->done_at_ms = wr_clock_now_ms();
            part_settle(c->p, WR_OK, NULL);
        } else {
            part_settle(c->p, err, msg);
            part_unlink(t, c->p);
            part_free(c->p);
        }
    }
    wr_req *req = wr_rt_take_req(c);
    if (req && err == WR_OK)
        answer_ok(req, seq);
    else if (req)
        wr_rt_fail(req, err, msg);
    free(c);
}

static void
append_done(void *ud, wr_err err, const wr_error *detail, uint64_t seq)
{
    const char *msg = detail && detail->msg[0] ? detail->msg : wr_err_code(err);
    append_settle(ud, err, msg, seq);
}

/* --- the shared part ids (a control plane several nodes share) --- */

typedef struct shared_part {
    wr_rt *rt;
    append_ctx *c; /* the append's context (its request and local part); NULL once settled */
    char env_id[64];
    char *key, *part; /* "{basin}\n{stream}", the part id */
    char *basin, *stream, *body;
    size_t len;
    uint64_t claimed_ms, seq;
    wr_meta_part_state state;
} shared_part;

static void
shared_free(shared_part *sp)
{
    free(sp->key);
    free(sp->part);
    free(sp->basin);
    free(sp->stream);
    free(sp->body);
    free(sp);
}

/* Writer thread. */
static wr_err
claim_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    shared_part *sp = ctx;
    return wr_meta_part_claim(m, sp->key, sp->part, sp->claimed_ms, PART_TTL_MS, PART_CLAIM_MS,
                              &sp->state, &sp->seq, out_err);
}

static wr_err
answer_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    shared_part *sp = ctx;
    return wr_meta_part_done(m, sp->key, sp->part, sp->claimed_ms, sp->seq, wr_clock_now_ms(),
                             out_err);
}

static wr_err
release_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    shared_part *sp = ctx;
    return wr_meta_part_release(m, sp->key, sp->part, sp->claimed_ms, out_err);
}

static wr_err
purge_job(wr_meta *m, void *ctx, wr_error *out_err)
{
    (void)ctx;
    uint64_t now = wr_clock_now_ms(), span = PART_TTL_MS + PART_CLAIM_MS;
    return wr_meta_part_purge(m, now > span ? now - span : 0, NULL, out_err);
}

static void
purge_done(void *ctx, wr_err rc, const wr_error *err)
{
    (void)ctx;
    if (rc != WR_OK)
        wr_log_warn("part ids: purge failed", " err=\"%s\"", err ? err->msg : "");
}

/* Loop thread: the claim's answer was recorded (or could not be: the append stands). */
static void
answer_done(void *ctx, wr_err rc, const wr_error *err)
{
    shared_part *sp = ctx;
    if (rc != WR_OK)
        wr_log_warn("part ids: answer not recorded", " part=\"%s\" err=\"%s\"", sp->part,
                    err ? err->msg : "");
    append_settle(sp->c, WR_OK, NULL, sp->seq);
    shared_free(sp);
}

static void
release_done(void *ctx, wr_err rc, const wr_error *err)
{
    (void)rc;
    (void)err;
    shared_free(ctx);
}

/* Loop thread: the claimed part's append finished; record the answer before giving it, so no
 * other node appends it again (or give back the claim when the append failed). */
static void
shared_append_done(void *ud, wr_err err, const wr_error *detail, uint64_t seq)
{
    shared_part *sp = ud;
    if (err == WR_OK) {
        sp->seq = seq;
        wr_rt_meta_change(sp->rt, sp->env_id, answer_job, answer_done, sp);
        return;
    }
    append_settle(sp->c, err, detail && detail->msg[0] ? detail->msg : wr_err_code(err), 0);
    sp->c = NULL;
    wr_rt_meta_change(sp->rt, sp->env_id, release_job, release_done, sp);
}

/* Loop thread: the claim's outcome. */
static void
claim_done(void *ctx, wr_err rc, const wr_error *err)
{
    shared_part *sp = ctx;
    append_ctx *c = sp->c;
    if (rc != WR_OK) {
        append_settle(c, rc, err && err->msg[0] ? err->msg : wr_err_code(rc), 0);
    } else if (sp->state == WR_META_PART_DONE) {
        append_settle(c, WR_OK, NULL, sp->seq);
    } else if (sp->state == WR_META_PART_BUSY) {
        append_settle(c, WR_ERR_TRANSACTION_CONFLICT,
                      "an append with this X-Part-Id is in progress on another node; retry", 0);
    } else {
        sp->rt->backend->ops->append(sp->rt->backend, sp->basin, sp->stream, sp->body, sp->len,
                                     shared_append_done, sp);
        free(sp->body); /* the backend copied it */
        sp->body = NULL;
        return;
    }
    shared_free(sp);
}

void
wr_rt_append_part(wr_rt *rt, wr_req *req, const char *env_id, const char *basin, const char *stream,
                  json_t *data, const char *part_id)
{
    char id[40];
    bool client_id = part_id && part_id[0];
    if (!client_id) {
        wr_rt_new_id("part_", 29, id);
        part_id = id;
    }
    json_t *env = json_pack("{s:o,s:s}", "data", data, "id", part_id);
    char *body = json_dumps(env, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(env);
    size_t len = strlen(body);
    uint64_t metered = wr_record_metered(NULL, 0, len);
    if (metered > WR_MAX_BATCH_BYTES) {
        free(body);
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "Record too large: its metered size is %llu bytes, the limit is 1 MiB "
                 "(1048576 bytes)",
                 (unsigned long long)metered);
        wr_rt_fail(req, WR_ERR_PAYLOAD_TOO_LARGE, msg);
        return;
    }
    part *p = NULL;
    if (client_id) {
        char *key = wr_xmalloc(strlen(basin) + strlen(stream) + strlen(part_id) + 3);
        int slen = sprintf(key, "%s\n%s", basin, stream);
        part_group *e = group_get(rt->parts->envs, env_id);
        parts_expire(rt->parts, e, key, wr_clock_now_ms());
        sprintf(key + slen, "\n%s", part_id);
        p = parts_find(rt->parts, key);
        if (p) {
            free(key);
            free(body);
            if (p->done) {
                answer_ok(req, p->seq);
                return;
            }
            part_waiter *w = wr_xcalloc(1, sizeof(*w));
            w->req = req;
            w->p = p;
            w->next = p->waiters;
            p->waiters = w;
            req->ud = w;
            req->on_close = waiter_closed;
            return;
        }
        key[slen] = '\0';
        part_group *s = group_get(rt->parts->streams, key);
        key[slen] = '\n';
        p = parts_add(rt->parts, e, s, key);
    }
    append_ctx *c = wr_xcalloc(1, sizeof(*c));
    c->rt = rt;
    c->p = p;
    wr_rt_hold_req(req, c);
    if (p && wr_rt_shared_control_plane(rt)) {
        shared_part *sp = wr_xcalloc(1, sizeof(*sp));
        sp->rt = rt;
        sp->c = c;
        snprintf(sp->env_id, sizeof(sp->env_id), "%s", env_id);
        size_t slen = strlen(basin) + 1 + strlen(stream);
        sp->key = wr_xstrndup(p->key, slen);
        sp->part = wr_xstrdup(p->key + slen + 1);
        sp->basin = wr_xstrdup(basin);
        sp->stream = wr_xstrdup(stream);
        sp->body = body;
        sp->len = len;
        sp->claimed_ms = wr_clock_now_ms();
        if (sp->claimed_ms - rt->parts->purged_at_ms >= PART_PURGE_MS) {
            rt->parts->purged_at_ms = sp->claimed_ms;
            wr_rt_meta_change(rt, NULL, purge_job, purge_done, NULL);
        }
        wr_rt_meta_change(rt, env_id, claim_job, claim_done, sp);
        return;
    }
    rt->backend->ops->append(rt->backend, basin, stream, body, len, append_done, c);
    free(body); /* the backend copied it */
}

/* ------------------------------------------------------------------------------------------ */
/* Records: {data, id, seqNum, headers?}                                                        */

static bool
is_command(const wr_rt_rec *r)
{
    return r->n_headers == 1 && r->headers[0].name_len == 0;
}

/* The realtime view of a record: the {data,id} envelope unwrapped ("" when it is not one). */
static json_t *
record_json(const wr_rt_rec *r)
{
    json_t *env = json_loadb((const char *)r->body, r->body_len, JSON_DECODE_ANY, NULL);
    json_t *data = json_object_get(env, "data"), *id = json_object_get(env, "id");
    json_t *o =
        json_pack("{s:o,s:s,s:I}", "data", data ? json_incref(data) : json_string(""), "id",
                  json_is_string(id) ? json_string_value(id) : "", "seqNum", (json_int_t)r->seq);
    json_decref(env);
    if (r->n_headers) {
        json_t *hs = json_array();
        wr_buf tmp;
        wr_buf_init(&tmp);
        for (size_t i = 0; i < r->n_headers; i++) {
            const wr_rt_rec_header *h = &r->headers[i];
            wr_buf_reset(&tmp);
            wr_utf8_lossy(h->name, h->name_len, &tmp);
            json_t *n = json_stringn((const char *)tmp.data, tmp.len);
            wr_buf_reset(&tmp);
            wr_utf8_lossy(h->value, h->value_len, &tmp);
            json_array_append_new(hs, json_pack("[o,s%]", n, (const char *)tmp.data, tmp.len));
        }
        wr_buf_fini(&tmp);
        json_object_set_new(o, "headers", hs);
    }
    return o;
}

typedef struct list_ctx {
    wr_req *req; /* first member (wr_rt_hold_req) */
} list_ctx;

static void
list_done(void *ud, wr_err err, const wr_error *detail, const wr_rt_page *page)
{
    wr_req *req = wr_rt_take_req(ud);
    if (req && err == WR_OK) {
        json_t *arr = json_array();
        for (size_t i = 0; i < page->n; i++)
            if (!is_command(&page->records[i]))
                json_array_append_new(arr, record_json(&page->records[i]));
        wr_resp_json(req, 200, json_pack("{s:o}", "records", arr));
    } else if (req) {
        wr_rt_fail_err(req, detail);
    }
    free(ud);
}

void
wr_rt_list_records(wr_rt *rt, wr_req *req, const char *basin, const char *stream, uint64_t from_seq)
{
    list_ctx *c = wr_xcalloc(1, sizeof(*c));
    wr_rt_hold_req(req, c);
    rt->backend->ops->read_page(rt->backend, basin, stream, from_seq, list_done, c);
}

/* ------------------------------------------------------------------------------------------ */
/* Wait for the first record after a seq                                                        */

typedef struct wait_ctx {
    wr_rt *rt;
    wr_req *req; /* NULL once gone */
    char *basin, *stream;
    uint64_t deadline_ms; /* monotonic */
    void *op;             /* the backend wait in progress */
} wait_ctx;

static void wait_next(wait_ctx *w, uint64_t from_seq);

static void
wait_free(wait_ctx *w)
{
    free(w->basin);
    free(w->stream);
    free(w);
}

static void
wait_closed(wr_req *req)
{
    wait_ctx *w = req->ud;
    w->req = NULL;
    w->rt->backend->ops->cancel_wait(w->rt->backend, w->op); /* its callback frees w */
}

static void
wait_answer(wait_ctx *w, int status, json_t *body)
{
    wr_req *req = w->req;
    if (req) {
        w->req = NULL;
        req->on_close = NULL;
        wr_resp_json(req, status, body);
    } else {
        json_decref(body);
    }
    wait_free(w);
}

static void
wait_done(void *ud, wr_err err, const wr_error *detail, const wr_rt_page *page)
{
    wait_ctx *w = ud;
    w->op = NULL;
    if (w->req == NULL) {
        wait_free(w);
        return;
    }
    if (err != WR_OK) {
        wr_req *req = w->req;
        w->req = NULL;
        req->on_close = NULL;
        wr_rt_fail_err(req, detail);
        wait_free(w);
        return;
    }
    for (size_t i = 0; i < page->n; i++) {
        if (!is_command(&page->records[i])) {
            wait_answer(w, 200, json_pack("{s:o}", "record", record_json(&page->records[i])));
            return;
        }
    }
    if (page->n == 0 || wr_clock_mono_ms() >= w->deadline_ms) {
        wait_answer(w, 408,
                    json_pack("{s:s}", "error", "Timed out waiting for a record after lastSeqNum"));
        return;
    }
    wait_next(w, page->next_seq); /* only command records so far: wait on past them */
}

static void
wait_next(wait_ctx *w, uint64_t from_seq)
{
    uint64_t now = wr_clock_mono_ms();
    uint64_t left_s = w->deadline_ms > now ? (w->deadline_ms - now + 999) / 1000 : 1;
    w->op = w->rt->backend->ops->wait_page(w->rt->backend, w->basin, w->stream, from_seq, left_s,
                                           wait_done, w);
}

void
wr_rt_wait_record(wr_rt *rt, wr_req *req, const char *basin, const char *stream, uint64_t from_seq,
                  uint64_t timeout_s)
{
    wait_ctx *w = wr_xcalloc(1, sizeof(*w));
    w->rt = rt;
    w->req = req;
    w->basin = wr_xstrdup(basin);
    w->stream = wr_xstrdup(stream);
    w->deadline_ms = wr_clock_mono_ms() + timeout_s * 1000;
    req->ud = w;
    req->on_close = wait_closed;
    wait_next(w, from_seq);
}

/* ------------------------------------------------------------------------------------------ */
/* SSE                                                                                          */

typedef struct sse_ctx {
    wr_req *req; /* first member (wr_rt_hold_req) */
    wr_rt *rt;
    char *basin, *stream;
    uint64_t start_seq, wait_s;
} sse_ctx;

static void
sse_start(sse_ctx *c, bool settled)
{
    wr_req *req = wr_rt_take_req(c);
    wr_resp_header(req, "x-stream-version", "v2");
    if (settled)
        wr_resp_header(req, "x-session-settled", "true");
    c->rt->backend->ops->serve_sse(c->rt->backend, req, c->basin, c->stream, c->start_seq,
                                   settled ? 0 : c->wait_s);
}

static void
sse_ctx_free(sse_ctx *c)
{
    free(c->basin);
    free(c->stream);
    free(c);
}

/* The newest non-command record of the peek says turn-complete. */
static bool
settled_tail(const wr_rt_page *page)
{
    for (size_t i = page->n; i-- > 0;) {
        const wr_rt_rec *r = &page->records[i];
        if (is_command(r))
            continue;
        for (size_t k = 0; k < r->n_headers; k++) {
            const wr_rt_rec_header *h = &r->headers[k];
            if (h->name_len == 15 && memcmp(h->name, "trigger-control", 15) == 0)
                return h->value_len == 13 && memcmp(h->value, "turn-complete", 13) == 0;
        }
        return false;
    }
    return false;
}

static void
peek_done(void *ud, wr_err err, const wr_error *detail, const wr_rt_page *page)
{
    (void)detail;
    sse_ctx *c = ud;
    bool settled = err == WR_OK && settled_tail(page);
    if (c->req)
        sse_start(c, settled);
    sse_ctx_free(c);
}

void
wr_rt_serve_sse(wr_rt *rt, wr_req *req, const char *basin, const char *stream, uint64_t start_seq,
                uint64_t wait_s, bool peek_settled)
{
    sse_ctx *c = wr_xcalloc(1, sizeof(*c));
    c->rt = rt;
    c->req = req;
    c->basin = wr_xstrdup(basin);
    c->stream = wr_xstrdup(stream);
    c->start_seq = start_seq;
    c->wait_s = wait_s;
    if (!peek_settled) {
        sse_start(c, false);
        sse_ctx_free(c);
        return;
    }
    /* The last two records: at steady state a turn-complete and the trim after it. */
    wr_rt_hold_req(req, c);
    rt->backend->ops->read_last(rt->backend, basin, stream, 2, peek_done, c);
}

/* Prometheus (rt.h, wr_rt_get_stats): part ids remembered, over every environment's group. */
size_t
wr_rt_parts_count(const wr_rt_parts *t)
{
    size_t n = 0;
    for (size_t i = 0; i < GROUP_BUCKETS; i++)
        for (const part_group *g = t->envs[i]; g; g = g->next)
            n += g->n;
    return n;
}
