/*
 * backend_embedded.c — the stream backend over this process's own store (backend.h): no network
 * hop. The only file of src/realtime/ that calls wr_store_* or the token registry.
 *
 * Metadata changes (basins, stream configs, pins, tokens) are written by the store's commit
 * thread and answer from a later loop callback (errors found before a write answer inline), as
 * do appends, reads and waits. A wait is a read and then,
 * at the tail, a follow from where the read stopped: whatever became durable between the two is
 * replayed by the follow, so nothing appended after the call started is missed.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "realtime/backend.h"
#include "s2/s2.h"
#include "store/store.h"
#include "util/mem.h"

#define PAGE_RECORDS 1000
#define PAGE_BYTES (1024u * 1024u)

/* The store's header layout is the backend's: records are handed over without copying. */
_Static_assert(sizeof(wr_header) == sizeof(wr_rt_rec_header) &&
                   offsetof(wr_header, name_len) == offsetof(wr_rt_rec_header, name_len) &&
                   offsetof(wr_header, value) == offsetof(wr_rt_rec_header, value) &&
                   offsetof(wr_header, value_len) == offsetof(wr_rt_rec_header, value_len),
               "wr_header and wr_rt_rec_header differ");

typedef struct embedded {
    wr_rt_backend base; /* first */
    wr_store *store;
    wr_auth *auth;
    wr_s2 *s2;
    uv_loop_t *loop;
} embedded;

static embedded *
E(wr_rt_backend *b)
{
    return (embedded *)b;
}

static void
done(wr_rt_done_cb cb, void *ud, wr_err e, const wr_error *err)
{
    cb(ud, e, e == WR_OK ? NULL : err);
}

/* ---- basins ---------------------------------------------------------------------------------- */

static void
spec_config(const wr_rt_basin_spec *spec, wr_basin_config *out)
{
    memset(out, 0, sizeof(*out));
    out->create_stream_on_append = true;
    out->create_stream_on_read = true;
    if (spec->no_stream_defaults)
        return;
    out->has_default_stream_config = true;
    wr_stream_config *d = &out->default_stream_config;
    d->storage_class = spec->storage_class;
    d->retention = WR_RETENTION_AGE;
    d->retention_age_secs = spec->retention_s;
    d->has_doe = true;
    d->doe_min_age_secs = spec->doe_min_age_s;
}

/* ensure_basin / set_retention on their way through the store's commit thread. */
typedef struct basin_op {
    wr_store *store;
    char *basin;
    wr_basin_config_patch patch;
    bool keep_existing;
    bool more;                          /* set_retention: another page of streams follows */
    char after[WR_STREAM_NAME_MAX + 1]; /* … after this one */
    size_t pending;                     /* stream reconfigures of the page in flight */
    wr_err err;                         /* the first of them that failed */
    wr_error detail;
    wr_rt_done_cb cb;
    void *ud;
} basin_op;

static basin_op *
basin_op_new(wr_rt_backend *b, const char *basin, wr_rt_done_cb cb, void *ud)
{
    basin_op *op = wr_xcalloc(1, sizeof(*op));
    op->store = E(b)->store;
    op->basin = wr_xstrdup(basin);
    op->cb = cb;
    op->ud = ud;
    return op;
}

static void
basin_op_finish(basin_op *op, wr_err e, const wr_error *detail)
{
    done(op->cb, op->ud, e, detail);
    free(op->basin);
    free(op);
}

static void
basin_reconfigured(void *ud, wr_err e, const wr_error *detail, const wr_basin_config *cfg)
{
    (void)cfg;
    basin_op_finish(ud, e, detail);
}

static void
basin_created(void *ud, wr_err e, const wr_error *detail, const wr_basin_info *info,
              wr_provision prov)
{
    (void)info;
    (void)prov;
    basin_op *op = ud;
    if (e == WR_ERR_RESOURCE_ALREADY_EXISTS && !op->keep_existing) {
        wr_store_basin_reconfigure_async(op->store, op->basin, &op->patch, basin_reconfigured, op);
        return;
    }
    basin_op_finish(op, e == WR_ERR_RESOURCE_ALREADY_EXISTS ? WR_OK : e, detail);
}

static void
ensure_basin(wr_rt_backend *b, const char *basin, const wr_rt_basin_spec *spec, wr_rt_done_cb cb,
             void *ud)
{
    wr_basin_config cfg;
    spec_config(spec, &cfg);
    basin_op *op = basin_op_new(b, basin, cb, ud);
    op->keep_existing = spec->keep_existing;
    /* An existing basin gets the spec's settings as a patch (its other settings stay). */
    wr_basin_config_patch *full = &op->patch;
    full->create_stream_on_append_op = full->create_stream_on_read_op = WR_PATCH_SET;
    full->create_stream_on_append = full->create_stream_on_read = true;
    full->default_stream_config_op = WR_PATCH_SET;
    wr_stream_config_patch *d = &full->default_stream_config;
    d->storage_class_op = d->retention_op = WR_PATCH_SET;
    d->storage_class = spec->storage_class;
    d->retention = WR_RETENTION_AGE;
    d->retention_age_secs = spec->retention_s;
    d->doe_op = d->doe_min_age_op = WR_PATCH_SET;
    d->doe_min_age_secs = spec->doe_min_age_s;
    wr_store_basin_create_async(op->store, basin, &cfg, NULL, basin_created, op);
}

static void retention_page(basin_op *op);

static void
retention_page_done(basin_op *op)
{
    if (op->err != WR_OK || !op->more)
        basin_op_finish(op, op->err, &op->detail);
    else
        retention_page(op);
}

static void
retention_stream_done(void *ud, wr_err e, const wr_error *detail, const wr_stream_config *cfg)
{
    (void)cfg;
    basin_op *op = ud;
    /* a stream that went away meanwhile needs no new retention */
    if (e != WR_OK && e != WR_ERR_STREAM_NOT_FOUND && e != WR_ERR_STREAM_DELETION_PENDING &&
        op->err == WR_OK) {
        op->err = e;
        op->detail = *detail;
    }
    if (--op->pending == 0)
        retention_page_done(op);
}

/* One page of the basin's streams, reconfigured together; the next page once they are done. */
static void
retention_page(basin_op *op)
{
    wr_stream_list l = {0};
    op->err = wr_store_stream_list(op->store, op->basin, NULL, op->after, 1000, &l, &op->detail);
    if (op->err != WR_OK) {
        basin_op_finish(op, op->err, &op->detail);
        return;
    }
    op->more = l.has_more && l.n > 0;
    if (op->more)
        strcpy(op->after, l.items[l.n - 1].name);
    op->pending = 1; /* this call's own, so answers given at once do not end the page early */
    for (size_t i = 0; i < l.n; i++) {
        if (l.items[i].deleted)
            continue;
        op->pending++;
        wr_store_stream_reconfigure_async(op->store, op->basin, l.items[i].name,
                                          &op->patch.default_stream_config, retention_stream_done,
                                          op);
    }
    wr_stream_list_fini(&l);
    if (--op->pending == 0)
        retention_page_done(op);
}

static void
retention_basin_done(void *ud, wr_err e, const wr_error *detail, const wr_basin_config *cfg)
{
    (void)cfg;
    basin_op *op = ud;
    if (e != WR_OK || !op->more)
        basin_op_finish(op, e, detail);
    else
        retention_page(op);
}

static void
set_retention(wr_rt_backend *b, const char *basin, uint64_t retention_s, bool apply_to_existing,
              wr_rt_done_cb cb, void *ud)
{
    basin_op *op = basin_op_new(b, basin, cb, ud);
    wr_basin_config_patch *bp = &op->patch;
    bp->default_stream_config_op = WR_PATCH_SET;
    bp->default_stream_config.retention_op = WR_PATCH_SET;
    bp->default_stream_config.retention = WR_RETENTION_AGE;
    bp->default_stream_config.retention_age_secs = retention_s;
    op->more = apply_to_existing; /* the first page follows the basin's change */
    wr_store_basin_reconfigure_async(op->store, basin, bp, retention_basin_done, op);
}

static void
list_streams(wr_rt_backend *b, const char *basin, const char *prefix, const char *start_after,
             wr_rt_names_cb cb, void *ud)
{
    wr_stream_list l = {0};
    wr_error err = {0};
    wr_err e = wr_store_stream_list(E(b)->store, basin, prefix, start_after, 1000, &l, &err);
    if (e != WR_OK) {
        cb(ud, e, &err, NULL, 0, false);
        return;
    }
    const char **names = wr_xcalloc(l.n ? l.n : 1, sizeof(*names));
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!l.items[i].deleted)
            names[n++] = l.items[i].name;
    cb(ud, WR_OK, NULL, names, n, l.has_more && l.n > 0);
    free(names);
    wr_stream_list_fini(&l);
}

/* ---- tokens ---------------------------------------------------------------------------------- */

static void
issue_token(wr_rt_backend *b, const json_t *info, wr_rt_secret_cb cb, void *ud)
{
    wr_auth *a = E(b)->auth;
    wr_auth_issue_async(a, wr_auth_root(a), info, cb, ud); /* answers once durable */
}

static void
revoke_tokens(wr_rt_backend *b, const char *id_prefix, wr_rt_count_cb cb, void *ud)
{
    wr_auth_revoke_prefix_async(E(b)->auth, id_prefix, cb, ud); /* one write for them all */
}

/* count_tokens waiting for its collection of expired tokens to be durable. */
typedef struct count_op {
    size_t before; /* the prefix's tokens before the collection took `n` of them out */
    wr_rt_count_cb cb;
    void *ud;
} count_op;

static void
collected(void *ud, wr_err e, const wr_error *detail, size_t n)
{
    count_op *op = ud;
    op->cb(op->ud, e, detail, e == WR_OK ? op->before - n : 0);
    free(op);
}

static void
count_tokens(wr_rt_backend *b, const char *id_prefix, size_t gc, wr_rt_count_cb cb, void *ud)
{
    wr_auth *a = E(b)->auth;
    if (!gc) {
        cb(ud, WR_OK, NULL, wr_auth_count_prefix(a, id_prefix));
        return;
    }
    /* The count is taken now (the collection leaves the index at once), so the answer needs
     * neither the registry nor the backend, which may be gone by the time the store answers. */
    count_op *op = wr_xmalloc(sizeof(*op));
    op->before = wr_auth_count_prefix(a, id_prefix);
    op->cb = cb;
    op->ud = ud;
    wr_auth_gc_async(a, id_prefix, gc, collected, op);
}

static bool
token_live(wr_rt_backend *b, const char *id)
{
    return wr_auth_token_live(E(b)->auth, id);
}

/* ---- records --------------------------------------------------------------------------------- */

typedef struct append_op {
    wr_append_record rec;
    wr_append_input in;
    wr_rt_append_cb cb;
    void *ud;
    char body[];
} append_op;

static void
append_done(void *arg, const wr_append_result *res)
{
    append_op *op = arg;
    op->cb(op->ud, res->err, res->err == WR_OK ? NULL : &res->error, res->start.seq);
    free(op);
}

static void
append(wr_rt_backend *b, const char *basin, const char *stream, const void *body, size_t len,
       wr_rt_append_cb cb, void *ud)
{
    append_op *op = wr_xmalloc(sizeof(*op) + len);
    memset(op, 0, sizeof(*op));
    memcpy(op->body, body, len);
    op->rec.body = (const uint8_t *)op->body;
    op->rec.body_len = len;
    op->in.records = &op->rec;
    op->in.n_records = 1;
    op->cb = cb;
    op->ud = ud;
    wr_store_append(E(b)->store, basin, stream, &op->in, append_done, op);
}

/* Hands a store read result to a page callback (a missing stream is an empty page). */
static void
deliver_result(wr_rt_page_cb cb, void *ud, const wr_read_result *res)
{
    if (res->err != WR_OK && res->err != WR_ERR_RANGE_NOT_SATISFIABLE &&
        res->err != WR_ERR_STREAM_NOT_FOUND) {
        cb(ud, res->err, &res->error, NULL);
        return;
    }
    wr_rt_rec *v = wr_xcalloc(res->n_records ? res->n_records : 1, sizeof(*v));
    size_t n = res->err == WR_OK ? res->n_records : 0;
    for (size_t i = 0; i < n; i++) {
        const wr_record *r = &res->records[i];
        v[i] = (wr_rt_rec){r->seq, (const wr_rt_rec_header *)r->headers, r->n_headers, r->body,
                           r->body_len};
    }
    wr_rt_page page = {v, n, res->err == WR_OK ? res->next_seq : res->tail.seq,
                       res->err != WR_OK || res->at_tail};
    cb(ud, WR_OK, NULL, &page);
    free(v);
}

typedef struct read_op {
    wr_rt_page_cb cb;
    void *ud;
} read_op;

static void
read_done(void *arg, wr_read_result *res)
{
    read_op *op = arg;
    deliver_result(op->cb, op->ud, res);
    wr_read_result_free(res);
    free(op);
}

static void
start_read(embedded *e, const char *basin, const char *stream, const wr_read_req *rr,
           wr_rt_page_cb cb, void *ud)
{
    read_op *op = wr_xmalloc(sizeof(*op));
    op->cb = cb;
    op->ud = ud;
    wr_store_read(e->store, basin, stream, rr, read_done, op);
}

static wr_read_req
page_from(uint64_t from)
{
    return (wr_read_req){.start_kind = WR_READ_SEQ,
                         .start_value = from,
                         .clamp = true,
                         .has_count = true,
                         .count = PAGE_RECORDS,
                         .has_bytes = true,
                         .bytes = PAGE_BYTES,
                         .may_follow = true};
}

static void
read_page(wr_rt_backend *b, const char *basin, const char *stream, uint64_t from_seq,
          wr_rt_page_cb cb, void *ud)
{
    wr_read_req rr = page_from(from_seq);
    start_read(E(b), basin, stream, &rr, cb, ud);
}

static void
read_last(wr_rt_backend *b, const char *basin, const char *stream, size_t n, wr_rt_page_cb cb,
          void *ud)
{
    wr_read_req rr = {.start_kind = WR_READ_TAIL_OFFSET,
                      .start_value = n,
                      .has_count = true,
                      .count = n,
                      .may_follow = true};
    start_read(E(b), basin, stream, &rr, cb, ud);
}

/* ---- wait ------------------------------------------------------------------------------------ */

typedef struct wait_op {
    embedded *e;
    wr_rt_page_cb cb; /* NULL once answered */
    void *ud;
    char *basin, *stream;
    uint64_t from_seq;
    bool read_pending;
    wr_follow *follow;
    uv_timer_t timer;
    bool timer_open;
} wait_op;

static void wait_read(wait_op *w);

static void
wait_closed(uv_handle_t *h)
{
    wait_op *w = h->data;
    free(w->basin);
    free(w->stream);
    free(w);
}

/* Frees the wait once it is answered and no read is pending. */
static void
wait_maybe_free(wait_op *w)
{
    if (w->cb || w->read_pending || !w->timer_open)
        return;
    if (w->follow)
        wr_store_unfollow(w->follow);
    w->follow = NULL;
    w->timer_open = false;
    wr_store_release(w->e->store, w->basin, w->stream);
    uv_close((uv_handle_t *)&w->timer, wait_closed);
}

static void
wait_answer(wait_op *w, wr_err err, const wr_error *detail, const wr_rt_page *page)
{
    wr_rt_page_cb cb = w->cb;
    if (cb == NULL)
        return;
    w->cb = NULL;
    uv_timer_stop(&w->timer);
    cb(w->ud, err, detail, page);
    wait_maybe_free(w);
}

static void
wait_timeout(uv_timer_t *t)
{
    wait_op *w = t->data;
    wr_rt_page empty = {NULL, 0, w->from_seq, true};
    wait_answer(w, WR_OK, NULL, &empty);
}

static void
wait_on_follow(void *ud, const wr_follow_event *ev)
{
    wait_op *w = ud;
    if (w->cb == NULL)
        return;
    if (ev->kind == WR_FOLLOW_BATCH) {
        const wr_batch *bt = ev->batch;
        size_t n = bt->n_records - ev->first;
        wr_rt_rec *v = wr_xcalloc(n ? n : 1, sizeof(*v));
        for (size_t i = 0; i < n; i++) {
            const wr_record *r = &bt->records[ev->first + i];
            v[i] = (wr_rt_rec){r->seq, (const wr_rt_rec_header *)r->headers, r->n_headers, r->body,
                               r->body_len};
        }
        wr_rt_page page = {v, n, ev->tail.seq, true};
        wait_answer(w, WR_OK, NULL, &page);
        free(v);
        return;
    }
    wr_store_unfollow(w->follow);
    w->follow = NULL;
    if (ev->kind == WR_FOLLOW_LAGGED) {
        wait_read(w); /* fell out of the cache: read instead */
    } else {
        wr_error e = {0};
        wr_error_set(&e, ev->err, "the stream is being deleted");
        wait_answer(w, ev->err, &e, NULL);
    }
}

static void
wait_page_answer(void *ud, wr_err err, const wr_error *detail, const wr_rt_page *page)
{
    wait_answer(ud, err, detail, page);
}

static void
wait_read_done(void *ud, wr_read_result *res)
{
    wait_op *w = ud;
    w->read_pending = false;
    if (w->cb == NULL) {
        wr_read_result_free(res);
        wait_maybe_free(w);
        return;
    }
    bool absent = res->err == WR_ERR_STREAM_NOT_FOUND || res->err == WR_ERR_RANGE_NOT_SATISFIABLE;
    if ((res->err == WR_OK && res->n_records > 0) || (res->err != WR_OK && !absent)) {
        deliver_result(wait_page_answer, w, res); /* records, or a real error */
        wr_read_result_free(res);
        return;
    }
    uint64_t next = res->err == WR_OK ? res->next_seq : res->tail.seq;
    bool at_tail = res->err != WR_OK || res->at_tail;
    wr_read_result_free(res);
    if (!at_tail) {
        w->from_seq = next;
        wait_read(w);
        return;
    }
    /* Follow from where the read stopped: what became durable since is replayed. */
    wr_error fe = {0};
    if (wr_store_follow(w->e->store, w->basin, w->stream, next, wait_on_follow, w, &w->follow,
                        &fe) != WR_OK) {
        w->follow = NULL;
        if (fe.code == WR_ERR_RANGE_NOT_SATISFIABLE) /* trimmed meanwhile: read again */
            wait_read(w);
        else
            wait_answer(w, fe.code, &fe, NULL);
    }
}

static void
wait_read(wait_op *w)
{
    wr_read_req rr = page_from(w->from_seq);
    w->read_pending = true;
    wr_store_read(w->e->store, w->basin, w->stream, &rr, wait_read_done, w);
}

static void *
wait_page(wr_rt_backend *b, const char *basin, const char *stream, uint64_t from_seq,
          uint64_t timeout_s, wr_rt_page_cb cb, void *ud)
{
    wait_op *w = wr_xcalloc(1, sizeof(*w));
    w->e = E(b);
    w->cb = cb;
    w->ud = ud;
    w->basin = wr_xstrdup(basin);
    w->stream = wr_xstrdup(stream);
    w->from_seq = from_seq;
    uv_timer_init(w->e->loop, &w->timer);
    w->timer.data = w;
    w->timer_open = true;
    uv_timer_start(&w->timer, wait_timeout, timeout_s * 1000, 0);
    wr_store_hold(w->e->store, basin, stream); /* a long-poll counts as a live reader */
    wait_read(w);
    return w;
}

static void
cancel_wait(wr_rt_backend *b, void *handle)
{
    (void)b;
    wait_op *w = handle;
    wr_error e = {0};
    wr_error_set(&e, WR_ERR_CLIENT_HANGUP, "the client went away");
    wait_answer(w, WR_ERR_CLIENT_HANGUP, &e, NULL);
}

/* ---- SSE and protection ---------------------------------------------------------------------- */

static void
serve_sse(wr_rt_backend *b, wr_req *req, const char *basin, const char *stream, uint64_t start_seq,
          uint64_t wait_s)
{
    wr_s2_serve_sse(E(b)->s2, req, basin, stream, start_seq, wait_s);
}

static void
protect(wr_rt_backend *b, const char *basin, const char *stream, bool on, wr_rt_done_cb cb,
        void *ud)
{
    /* the pin (and a new channel stream) is written by the store's commit thread */
    if (on)
        wr_store_stream_protect_async(E(b)->store, basin, stream, cb, ud);
    else
        wr_store_stream_unprotect_async(E(b)->store, basin, stream, cb, ud);
}

/* The store's usage series (store.h, Usage) in the realtime layer's figures. */
typedef struct usage_op {
    wr_rt_usage_cb cb;
    void *ud;
} usage_op;

static wr_rt_usage
figures(const wr_usage_bucket *b)
{
    return (wr_rt_usage){.appended_records = b->c[WR_USAGE_APPEND_RECORDS],
                         .appended_bytes = b->c[WR_USAGE_APPEND_BYTES_EXPRESS] +
                                           b->c[WR_USAGE_APPEND_BYTES_STANDARD],
                         .read_records = b->c[WR_USAGE_READ_RECORDS],
                         .read_bytes = b->c[WR_USAGE_READ_BYTES],
                         .stored_bytes = b->storage_metered};
}

static void
usage_answered(void *ud, wr_usage_result *res)
{
    usage_op *op = ud;
    if (res->err != WR_OK) {
        op->cb(op->ud, res->err, &res->error, NULL);
    } else {
        wr_rt_usage_bucket *bk = wr_xcalloc(res->n_buckets ? res->n_buckets : 1, sizeof(*bk));
        for (size_t i = 0; i < res->n_buckets; i++)
            bk[i] = (wr_rt_usage_bucket){res->buckets[i].ts_s, figures(&res->buckets[i])};
        wr_rt_usage_series s = {figures(&res->total), bk, res->n_buckets};
        op->cb(op->ud, WR_OK, NULL, &s);
        free(bk);
    }
    wr_usage_result_free(res);
    free(op);
}

static void
usage(wr_rt_backend *b, const wr_rt_usage_query *q, wr_rt_usage_cb cb, void *ud)
{
    usage_op *op = wr_xcalloc(1, sizeof(*op));
    op->cb = cb;
    op->ud = ud;
    wr_usage_query sq = {.basin = q->basin,
                         .stream = q->prefix,
                         .interval = q->interval,
                         .start_s = q->start_s,
                         .end_s = q->end_s,
                         .want_counters = true,
                         .want_storage = true};
    wr_store_usage_query(E(b)->store, &sq, usage_answered, op);
}

static void
embedded_free(wr_rt_backend *b)
{
    free(b);
}

static const wr_rt_backend_ops embedded_ops = WR_RT_BACKEND_OPS("embedded", embedded_free);

wr_rt_backend *
wr_rt_backend_embedded(wr_store *store, wr_auth *auth, wr_s2 *s2, uv_loop_t *loop)
{
    embedded *e = wr_xcalloc(1, sizeof(*e));
    e->base.ops = &embedded_ops;
    e->store = store;
    e->auth = auth;
    e->s2 = s2;
    e->loop = loop;
    return &e->base;
}

void
wr_rt_backend_free(wr_rt_backend *b)
{
    if (b)
        b->ops->free(b);
}
