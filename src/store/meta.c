/*
 * meta.c — basins and streams: the synchronous metadata operations of store.h and the JSON
 * values of the BASIN_META / STREAM_META families.
 *
 * All functions run on the loop thread. Reads go to RocksDB through db.c (found, absent, or
 * STORAGE, never an error read as "absent"); every change is one WriteBatch written with
 * sync=true through wr_store__write (so the failed state and the sync hook apply). When a
 * stream's meta changes, its cached stream_state (if any) is updated in the same call so appends
 * and reads see the change immediately. Creating a stream meta is the one place the stream
 * limits are checked and counted (quota.c).
 *
 * Persisted JSON (field names are PERSISTED: never rename):
 *   basin:  {"config":BasinConfig,"created_at":ms,"deleted_at":ms|null,"request_token":s|null}
 *   stream: {"id":n,"config":StreamConfig(resolved),"cipher":s|null,"created_at":ms,
 *            "deleted_at":ms|null,"request_token":s|null}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store/store_int.h"
#include "util/clock.h"
#include "util/mem.h"

/* ---------------------------------------------------------------------------------------- */
/* JSON values                                                                                */

static json_t *
opt_ms(bool has, uint64_t v)
{
    return has ? json_integer((json_int_t)v) : json_null();
}

static void
token_copy(char out[WR_REQUEST_TOKEN_MAX + 1], const char *tok)
{
    out[0] = 0;
    if (tok)
        snprintf(out, WR_REQUEST_TOKEN_MAX + 1, "%s", tok);
}

static char *
basin_meta_json(const basin_meta *m)
{
    json_t *j =
        json_pack("{s:o,s:I,s:o,s:o}", "config", wr_basin_config_to_json(&m->cfg), "created_at",
                  (json_int_t)m->created_at, "deleted_at", opt_ms(m->deleted, m->deleted_at),
                  "request_token", m->token[0] ? json_string(m->token) : json_null());
    if (m->location[0])
        json_object_set_new(j, "location", json_string(m->location));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static char *
stream_meta_json(const stream_meta *m)
{
    const char *cipher = wr_cipher_name(m->cipher);
    json_t *j = json_pack(
        "{s:I,s:o,s:o,s:I,s:o,s:o}", "id", (json_int_t)m->id, "config",
        wr_stream_config_to_json(&m->cfg), "cipher", cipher ? json_string(cipher) : json_null(),
        "created_at", (json_int_t)m->created_at, "deleted_at", opt_ms(m->deleted, m->deleted_at),
        "request_token", m->token[0] ? json_string(m->token) : json_null());
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static void
common_fields(json_t *j, uint64_t *created, bool *deleted, uint64_t *deleted_at, char *token)
{
    *created = (uint64_t)json_integer_value(json_object_get(j, "created_at"));
    json_t *d = json_object_get(j, "deleted_at");
    *deleted = json_is_integer(d);
    *deleted_at = *deleted ? (uint64_t)json_integer_value(d) : 0;
    token_copy(token, json_string_value(json_object_get(j, "request_token")));
}

static wr_err
get_json(wr_store *s, const wr_buf *key, json_t **out, wr_error *out_err)
{
    char *v;
    size_t vlen;
    *out = NULL;
    wr_err e = wr_store__get(s, key->data, key->len, &v, &vlen, out_err);
    if (e || !v)
        return e;
    *out = json_loadb(v, vlen, 0, NULL);
    rocksdb_free(v);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return wr_error_set(out_err, WR_ERR_STORAGE, "metadata value is malformed");
    }
    return WR_OK;
}

wr_err
wr_store__basin_meta_get(wr_store *s, const char *name, basin_meta *out, wr_error *out_err)
{
    wr_buf k = {0};
    json_t *j;
    memset(out, 0, sizeof(*out));
    wr_key_basin_meta(&k, name, strlen(name));
    wr_err e = get_json(s, &k, &j, out_err);
    wr_buf_fini(&k);
    if (e)
        return e;
    if (!j)
        return wr_error_set(out_err, WR_ERR_BASIN_NOT_FOUND, "basin not found");
    bool ok = wr_basin_config_from_json(json_object_get(j, "config"), &out->cfg);
    common_fields(j, &out->created_at, &out->deleted, &out->deleted_at, out->token);
    const char *loc = json_string_value(json_object_get(j, "location"));
    if (loc)
        snprintf(out->location, sizeof(out->location), "%s", loc);
    json_decref(j);
    return ok ? WR_OK : wr_error_set(out_err, WR_ERR_STORAGE, "basin config is malformed");
}

static bool
stream_meta_from(json_t *j, stream_meta *out)
{
    bool ok = wr_stream_config_from_json(json_object_get(j, "config"), &out->cfg);
    out->id = (uint64_t)json_integer_value(json_object_get(j, "id"));
    json_t *c = json_object_get(j, "cipher");
    if (json_is_string(c))
        ok = ok && wr_cipher_parse(json_string_value(c), &out->cipher);
    common_fields(j, &out->created_at, &out->deleted, &out->deleted_at, out->token);
    return ok && out->id;
}

wr_err
wr_store__stream_meta_get(wr_store *s, const char *basin, const char *stream, stream_meta *out,
                          wr_error *out_err)
{
    wr_buf k = {0};
    json_t *j;
    memset(out, 0, sizeof(*out));
    wr_key_stream_meta(&k, basin, strlen(basin), stream, strlen(stream));
    wr_err e = get_json(s, &k, &j, out_err);
    wr_buf_fini(&k);
    if (e)
        return e;
    if (!j)
        return wr_error_set(out_err, WR_ERR_STREAM_NOT_FOUND, "stream not found");
    bool ok = stream_meta_from(j, out);
    json_decref(j);
    return ok ? WR_OK : wr_error_set(out_err, WR_ERR_STORAGE, "stream meta is malformed");
}

bool
wr_store__stream_meta_decode(const char *v, size_t len, stream_meta *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = json_loadb(v, len, 0, NULL);
    bool ok = json_is_object(j) && stream_meta_from(j, out);
    json_decref(j);
    return ok;
}

static rocksdb_writebatch_t *
basin_meta_batch(const char *name, const basin_meta *m)
{
    wr_buf k = {0};
    wr_key_basin_meta(&k, name, strlen(name));
    char *v = basin_meta_json(m);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put(wb, k.data, k.len, v, strlen(v));
    free(v);
    wr_buf_fini(&k);
    return wb;
}

static wr_err
basin_meta_put(wr_store *s, const char *name, const basin_meta *m, wr_error *out_err)
{
    rocksdb_writebatch_t *wb = basin_meta_batch(name, m);
    wr_err e = wr_store__write(s, wb, DB_WRITE_META, out_err);
    rocksdb_writebatch_destroy(wb);
    return e;
}

/* The batch that writes STREAM_META (and, for a new stream, STREAM_ID) and its deadline. */
static rocksdb_writebatch_t *
stream_meta_batch(const char *basin, const char *stream, const stream_meta *m, bool is_new)
{
    wr_buf k = {0};
    wr_key_stream_meta(&k, basin, strlen(basin), stream, strlen(stream));
    char *v = stream_meta_json(m);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put(wb, k.data, k.len, v, strlen(v));
    if (is_new) {
        uint8_t kid[WR_KEY_ID_LEN];
        wr_key_stream_id(kid, WR_KEY_STREAM_ID, m->id);
        rocksdb_writebatch_put(wb, (char *)kid, sizeof(kid), k.data + 1, k.len - 1);
    }
    /* Delete-on-empty: a (re)configured stream gets a full min_age from now; a stream without
     * delete-on-empty has no deadline. */
    uint8_t kd[WR_KEY_LC_ID_LEN], dv[8];
    wr_key_lc_id(kd, WR_LC_DOE_DEADLINE, m->id);
    if (!m->deleted && m->cfg.doe_min_age_secs) {
        wr_put_be64(dv, wr_clock_now_ms() + m->cfg.doe_min_age_secs * 1000);
        rocksdb_writebatch_put(wb, (char *)kd, sizeof(kd), (char *)dv, sizeof(dv));
    } else {
        rocksdb_writebatch_delete(wb, (char *)kd, sizeof(kd));
    }
    free(v);
    wr_buf_fini(&k);
    return wb;
}

/* Writes STREAM_META (and, for a new stream, STREAM_ID) in one synced batch. */
static wr_err
stream_meta_put(wr_store *s, const char *basin, const char *stream, const stream_meta *m,
                bool is_new, wr_error *out_err)
{
    rocksdb_writebatch_t *wb = stream_meta_batch(basin, stream, m, is_new);
    wr_err e = wr_store__write(s, wb, DB_WRITE_META, out_err);
    rocksdb_writebatch_destroy(wb);
    return e;
}

/* The in-flight create of (basin, stream), or of basin `basin` itself when stream is NULL. */
static changing *
changing_find(wr_store *s, const char *basin, const char *stream)
{
    for (changing *c = s->changing; c; c = c->next)
        if (strcmp(c->basin, basin) == 0 &&
            (stream ? c->stream && strcmp(c->stream, stream) == 0 : !c->stream))
            return c;
    return NULL;
}

/* Queues fn(s, arg) behind the change in flight; the waiters run in the order they came. */
static void
queue_after(changing *ahead, void (*fn)(wr_store *s, void *arg), void *arg)
{
    change_waiter *w = wr_xmalloc(sizeof(*w));
    w->fn = fn;
    w->arg = arg;
    w->next = NULL;
    change_waiter **pp = &ahead->waiters;
    while (*pp)
        pp = &(*pp)->next;
    *pp = w;
}

/* The change in flight that a change of stream (basin, stream) must follow: one of the stream,
 * else one of its basin itself. */
static changing *
stream_change_ahead(wr_store *s, const char *basin, const char *stream)
{
    changing *c = changing_find(s, basin, stream);
    return c ? c : changing_find(s, basin, NULL);
}

bool
wr_store__wait_created(wr_store *s, const char *basin, const char *stream,
                       void (*fn)(wr_store *s, void *arg), void *arg)
{
    changing *c = changing_find(s, basin, stream);
    if (c && c->create)
        queue_after(c, fn, arg);
    return c && c->create;
}

bool
wr_store__changing(const wr_store *s, const char *basin, const char *stream)
{
    for (const changing *c = s->changing; c; c = c->next)
        if (strcmp(c->basin, basin) == 0 &&
            (!stream || (c->stream && strcmp(c->stream, stream) == 0)))
            return true;
    return false;
}

/* A new stream's meta, before it is written: the limits checked and counted, an id taken.
 * TRANSACTION_CONFLICT while a create of the same name is in flight (its meta is not written
 * yet, so it looks absent; a second id must not be made for it). */
static wr_err
stream_meta_new(wr_store *s, const char *basin, const char *stream,
                const wr_stream_config *resolved, wr_cipher cipher, const char *token,
                stream_meta *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    if (wr_store__changing(s, basin, stream))
        return wr_error_set(out_err, WR_ERR_TRANSACTION_CONFLICT,
                            "the stream is being created; retry");
    wr_err e = wr_store__quota_check(s, basin, stream, out_err);
    if (e)
        return e;
    out->id = s->next_stream_id++;
    out->cfg = *resolved;
    out->cipher = cipher;
    out->created_at = wr_clock_now_ms();
    token_copy(out->token, token);
    wr_store__quota_created(s, basin, stream);
    return WR_OK;
}

/* The new stream's meta is durable: a deleted stream of the same name whose cleanup just
 * finished may still be cached. */
static void
stream_meta_created(wr_store *s, const char *basin, const char *stream, const stream_meta *m)
{
    stream_state *old = wr_store__stream_cached(s, basin, stream);
    if (old && old->id != m->id)
        wr_store__stream_uncache(s, old);
}

/* Creates a stream's meta (new id) with a synced write (the synchronous create tests use). */
static wr_err
stream_meta_create(wr_store *s, const char *basin, const char *stream,
                   const wr_stream_config *resolved, wr_cipher cipher, const char *token,
                   stream_meta *out, wr_error *out_err)
{
    wr_err e = stream_meta_new(s, basin, stream, resolved, cipher, token, out, out_err);
    if (e)
        return e;
    if ((e = stream_meta_put(s, basin, stream, out, true, out_err))) {
        wr_store__quota_removed(s, basin, stream);
        return e;
    }
    stream_meta_created(s, basin, stream, out);
    return WR_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Basins                                                                                     */

static void
basin_info(const char *name, const basin_meta *m, wr_basin_info *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->location, sizeof(out->location), "%s", m->location);
    out->created_at_ms = m->created_at;
    out->deleted = m->deleted;
    out->deleted_at_ms = m->deleted_at;
}

static wr_err
check_basin_args(const char *name, const wr_basin_config *cfg, const char *token, wr_error *out_err)
{
    if (!name || !wr_basin_name_valid(name))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid basin name");
    if (token && strlen(token) > WR_REQUEST_TOKEN_MAX)
        return wr_error_set(out_err, WR_ERR_INVALID, "request token is longer than 36 bytes");
    return cfg ? wr_basin_config_validate(cfg, out_err) : WR_OK;
}

/* Whether a change of basin `name` itself is in flight (a `changing` entry without a stream). */
static bool
basin_changing(wr_store *s, const char *name)
{
    return changing_find(s, name, NULL) != NULL;
}

wr_err
wr_store_basin_create(wr_store *s, const char *name, const wr_basin_config *cfg,
                      const char *request_token, wr_basin_info *out_info, wr_provision *out_prov,
                      wr_error *out_err)
{
    wr_basin_config c = {0};
    basin_meta m;
    wr_err e = check_basin_args(name, cfg, request_token, out_err);
    if (e)
        return e;
    if (cfg)
        c = *cfg;
    if (basin_changing(s, name))
        return wr_error_set(out_err, WR_ERR_TRANSACTION_CONFLICT,
                            "the basin is being created; retry");
    e = wr_store__basin_meta_get(s, name, &m, out_err);
    if (e == WR_OK) {
        if (m.deleted)
            return wr_error_set(out_err, WR_ERR_BASIN_DELETION_PENDING, "basin is being deleted");
        if (request_token && request_token[0] && strcmp(request_token, m.token) == 0 &&
            wr_basin_config_equal(&c, &m.cfg)) {
            basin_info(name, &m, out_info);
            if (out_prov)
                *out_prov = WR_PROVISION_NOOP;
            return WR_OK;
        }
        return wr_error_set(out_err, WR_ERR_RESOURCE_ALREADY_EXISTS, "basin already exists");
    }
    if (e != WR_ERR_BASIN_NOT_FOUND)
        return e;
    memset(&m, 0, sizeof(m));
    m.cfg = c;
    m.created_at = wr_clock_now_ms();
    snprintf(m.location, sizeof(m.location), "%s", s->opts.location ? s->opts.location : "");
    token_copy(m.token, request_token);
    if ((e = basin_meta_put(s, name, &m, out_err)))
        return e;
    basin_info(name, &m, out_info);
    if (out_prov)
        *out_prov = WR_PROVISION_CREATED;
    return WR_OK;
}

wr_err
wr_store_basin_get(wr_store *s, const char *name, wr_basin_config *out_cfg, wr_basin_info *out_info,
                   wr_error *out_err)
{
    basin_meta m;
    if (!name || !wr_basin_name_valid(name))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid basin name");
    wr_err e = wr_store__basin_meta_get(s, name, &m, out_err);
    if (e)
        return e;
    if (out_cfg)
        *out_cfg = m.cfg;
    basin_info(name, &m, out_info);
    return WR_OK;
}

/* An asynchronous basin create on its way through the commit thread. */
typedef struct basin_create_op {
    meta_op op; /* first: a meta_op * is a basin_create_op * */
    changing mark;
    basin_meta m;
    wr_store_basin_cb cb;
    void *ud;
} basin_create_op;

/* A create of (basin, stream) — stream NULL: of the basin — is in flight from now on. */
static void
mark_changing(wr_store *s, changing *mark, const char *basin, const char *stream, bool create)
{
    mark->create = create;
    mark->basin = wr_xstrdup(basin);
    mark->stream = stream ? wr_xstrdup(stream) : NULL;
    mark->waiters = NULL;
    mark->next = s->changing;
    s->changing = mark;
}

/* The create is done (durable or failed): the name is free, and whoever waited for it runs. */
static void
unmark_changing(wr_store *s, changing *mark)
{
    changing **pp = &s->changing;
    while (*pp != mark)
        pp = &(*pp)->next;
    *pp = mark->next;
    for (change_waiter *w = mark->waiters, *next; w; w = next) {
        next = w->next;
        wr_store__defer(s, w->fn, w->arg);
        free(w);
    }
}

/* The message of a meta write the commit thread could not make. */
static void
meta_write_error(wr_err err, wr_error *out)
{
    wr_error_set(out, err,
                 err == WR_ERR_UNAVAILABLE ? "the store is closing"
                                           : "metadata write failed; the store refuses writes "
                                             "until it is reopened");
}

static void
basin_written(wr_store *s, meta_op *op)
{
    basin_create_op *c = (basin_create_op *)op;
    unmark_changing(s, &c->mark);
    wr_error err = {0};
    wr_basin_info info;
    if (op->err == WR_OK)
        basin_info(c->mark.basin, &c->m, &info);
    else
        meta_write_error(op->err, &err);
    c->cb(c->ud, op->err, &err, op->err == WR_OK ? &info : NULL, WR_PROVISION_CREATED);
    rocksdb_writebatch_destroy(op->wb);
    free(c->mark.basin);
    free(c);
}

/* A basin create that found its name being created: it runs again once that one is done. */
typedef struct basin_retry {
    char *name, *token;
    wr_basin_config cfg;
    bool has_cfg;
    wr_store_basin_cb cb;
    void *ud;
} basin_retry;

static void
basin_again(wr_store *s, void *arg)
{
    basin_retry *r = arg;
    wr_store_basin_create_async(s, r->name, r->has_cfg ? &r->cfg : NULL, r->token, r->cb, r->ud);
    free(r->name);
    free(r->token);
    free(r);
}

void
wr_store_basin_create_async(wr_store *s, const char *name, const wr_basin_config *cfg,
                            const char *request_token, wr_store_basin_cb cb, void *ud)
{
    wr_error err = {0};
    wr_basin_info info;
    basin_meta m;
    wr_err e = check_basin_args(name, cfg, request_token, &err);
    changing *ahead = e ? NULL : changing_find(s, name, NULL);
    if (ahead) { /* answered as if it came after that one */
        basin_retry *r = wr_xcalloc(1, sizeof(*r));
        r->name = wr_xstrdup(name);
        r->token = request_token ? wr_xstrdup(request_token) : NULL;
        r->has_cfg = cfg != NULL;
        if (cfg)
            r->cfg = *cfg;
        r->cb = cb;
        r->ud = ud;
        queue_after(ahead, basin_again, r);
        return;
    }
    if (!e)
        e = wr_store__basin_meta_get(s, name, &m, &err);
    if (e != WR_ERR_BASIN_NOT_FOUND) { /* an answer without a write: the sync path gives it */
        if (e == WR_OK) {
            wr_provision prov = WR_PROVISION_NOOP;
            e = wr_store_basin_create(s, name, cfg, request_token, &info, &prov, &err);
            cb(ud, e, &err, e == WR_OK ? &info : NULL, prov);
        } else {
            cb(ud, e, &err, NULL, WR_PROVISION_NOOP);
        }
        return;
    }
    basin_create_op *c = wr_xcalloc(1, sizeof(*c));
    if (cfg)
        c->m.cfg = *cfg;
    c->m.created_at = wr_clock_now_ms();
    snprintf(c->m.location, sizeof(c->m.location), "%s", s->opts.location ? s->opts.location : "");
    token_copy(c->m.token, request_token);
    c->cb = cb;
    c->ud = ud;
    mark_changing(s, &c->mark, name, NULL, true);
    c->op.wb = basin_meta_batch(name, &c->m);
    c->op.done = basin_written;
    wr_store__meta_submit(s, &c->op);
}

/* ---------------------------------------------------------------------------------------- */
/* Listing                                                                                    */

/* Sets `hi` to the smallest key greater than every key starting with `lo` (lo has a byte that
 * is not 0xff). */
static void
prefix_upper(const wr_buf *lo, wr_buf *hi)
{
    wr_buf_reset(hi);
    wr_buf_append(hi, lo->data, lo->len);
    while (hi->len && (uint8_t)hi->data[hi->len - 1] == 0xff)
        hi->len--;
    hi->data[hi->len - 1]++;
}

typedef void (*list_item_fn)(void *ctx, const char *name, size_t name_len, const char *v,
                             size_t vlen);

/*
 * Iterates keys `base ‖ prefix…` greater than `base ‖ start_after`, calling `fn` for up to
 * `limit` of them; sets *has_more when another one follows.
 */
static wr_err
list_keys(wr_store *s, const wr_buf *base, const char *prefix, const char *start_after,
          size_t limit, list_item_fn fn, void *ctx, bool *has_more, wr_error *out_err)
{
    wr_buf lo = {0}, hi = {0}, from = {0};
    wr_buf_append(&lo, base->data, base->len);
    if (prefix)
        wr_buf_append_str(&lo, prefix);
    prefix_upper(&lo, &hi);
    wr_buf_append(&from, base->data, base->len);
    if (start_after)
        wr_buf_append_str(&from, start_after);
    bool skip_equal = start_after && start_after[0];
    size_t common = from.len < lo.len ? from.len : lo.len;
    int cmp = memcmp(from.data, lo.data, common);
    if (cmp < 0 || (cmp == 0 && from.len < lo.len)) {
        wr_buf_reset(&from);
        wr_buf_append(&from, lo.data, lo.len);
        skip_equal = false;
    }
    if (limit == 0 || limit > 1000)
        limit = 1000;
    db_iter it;
    wr_store__iter_open(&it, s, NULL, 0, hi.data, hi.len);
    size_t n = 0;
    *has_more = false;
    for (wr_store__iter_seek(&it, from.data, from.len); wr_store__iter_valid(&it);
         wr_store__iter_next(&it)) {
        size_t klen, vlen;
        const char *k = wr_store__iter_key(&it, &klen);
        if (skip_equal && klen == from.len && memcmp(k, from.data, klen) == 0)
            continue;
        if (n == limit) {
            *has_more = true;
            break;
        }
        const char *v = wr_store__iter_value(&it, &vlen);
        fn(ctx, k + base->len, klen - base->len, v, vlen);
        n++;
    }
    wr_err e = wr_store__iter_end(&it, WR_OK, out_err);
    wr_buf_fini(&lo);
    wr_buf_fini(&hi);
    wr_buf_fini(&from);
    return e;
}

static void
basin_item(void *ctx, const char *name, size_t name_len, const char *v, size_t vlen)
{
    wr_basin_list *l = ctx;
    json_t *j = json_loadb(v, vlen, 0, NULL);
    basin_meta m = {0};
    if (j) {
        char tok[WR_REQUEST_TOKEN_MAX + 1];
        common_fields(j, &m.created_at, &m.deleted, &m.deleted_at, tok);
        const char *loc = json_string_value(json_object_get(j, "location"));
        snprintf(m.location, sizeof(m.location), "%s", loc ? loc : "");
        json_decref(j);
    }
    l->items = wr_xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
    wr_basin_info *bi = &l->items[l->n++];
    memset(bi, 0, sizeof(*bi));
    memcpy(bi->location, m.location, sizeof(bi->location));
    memcpy(bi->name, name, name_len > WR_BASIN_NAME_MAX ? WR_BASIN_NAME_MAX : name_len);
    bi->created_at_ms = m.created_at;
    bi->deleted = m.deleted;
    bi->deleted_at_ms = m.deleted_at;
}

wr_err
wr_store_basin_list(wr_store *s, const char *prefix, const char *start_after, size_t limit,
                    wr_basin_list *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    wr_buf base = {0};
    wr_buf_append_byte(&base, WR_KEY_BASIN_META);
    wr_err e =
        list_keys(s, &base, prefix, start_after, limit, basin_item, out, &out->has_more, out_err);
    wr_buf_fini(&base);
    if (e)
        wr_basin_list_fini(out);
    return e;
}

void
wr_basin_list_fini(wr_basin_list *l)
{
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* ---------------------------------------------------------------------------------------- */
/* Streams                                                                                    */

static void
stream_info(const char *name, const stream_meta *m, wr_stream_info *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->created_at_ms = m->created_at;
    out->deleted = m->deleted;
    out->deleted_at_ms = m->deleted_at;
    out->cipher = m->cipher;
}

static wr_err
check_stream_args(const char *basin, const char *stream, const wr_stream_config *cfg,
                  const char *token, wr_error *out_err)
{
    if (!basin || !wr_basin_name_valid(basin))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid basin name");
    if (!stream || !wr_stream_name_valid(stream, strlen(stream)))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid stream name");
    if (token && strlen(token) > WR_REQUEST_TOKEN_MAX)
        return wr_error_set(out_err, WR_ERR_INVALID, "request token is longer than 36 bytes");
    return cfg ? wr_stream_config_validate(cfg, out_err) : WR_OK;
}

/* Keeps a cached stream_state in step with its meta. */
static void
sync_cache(wr_store *s, const char *basin, const char *stream, const stream_meta *m)
{
    stream_state *st = wr_store__stream_cached(s, basin, stream);
    if (!st)
        return;
    st->cfg = m->cfg;
    st->cipher = m->cipher;
    if (m->deleted && !st->deleted) {
        st->deleted = true;
        st->deleted_at = m->deleted_at;
        wr_store__close_subs(s, st, WR_ERR_STREAM_DELETION_PENDING);
    }
}

wr_err
wr_store_stream_create(wr_store *s, const char *basin, const char *stream,
                       const wr_stream_config *cfg, const char *request_token,
                       wr_stream_info *out_info, wr_provision *out_prov, wr_error *out_err)
{
    basin_meta bm;
    stream_meta m;
    wr_stream_config resolved;
    wr_err e = check_stream_args(basin, stream, cfg, request_token, out_err);
    if (e)
        return e;
    if ((e = wr_store__basin_meta_get(s, basin, &bm, out_err)))
        return e;
    if (bm.deleted)
        return wr_error_set(out_err, WR_ERR_BASIN_DELETION_PENDING, "basin is being deleted");
    wr_stream_config_resolve(cfg, &bm.cfg, &resolved);
    e = wr_store__stream_meta_get(s, basin, stream, &m, out_err);
    if (e == WR_ERR_STREAM_NOT_FOUND) {
        if ((e = stream_meta_create(s, basin, stream, &resolved, bm.cfg.stream_cipher,
                                    request_token, &m, out_err)))
            return e;
        stream_info(stream, &m, out_info);
        if (out_prov)
            *out_prov = WR_PROVISION_CREATED;
        return WR_OK;
    }
    if (e)
        return e;
    if (m.deleted)
        return wr_error_set(out_err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
    if (!(request_token && request_token[0] && strcmp(request_token, m.token) == 0 &&
          wr_stream_config_equal(&resolved, &m.cfg)))
        return wr_error_set(out_err, WR_ERR_RESOURCE_ALREADY_EXISTS, "stream already exists");
    stream_info(stream, &m, out_info);
    if (out_prov)
        *out_prov = WR_PROVISION_NOOP;
    return WR_OK;
}

/* An asynchronous create on its way through the commit thread. */
typedef struct create_op {
    meta_op op; /* first: a meta_op * is a create_op * */
    changing mark;
    stream_meta m;
    wr_store_stream_cb cb;
    void *ud;
} create_op;

/* Loop thread: the new stream's meta is durable (or not: the store refuses writes now). */
static void
create_written(wr_store *s, meta_op *op)
{
    create_op *c = (create_op *)op;
    unmark_changing(s, &c->mark);
    wr_error err = {0};
    wr_stream_info info;
    if (op->err == WR_OK) {
        stream_meta_created(s, c->mark.basin, c->mark.stream, &c->m);
        stream_info(c->mark.stream, &c->m, &info);
    } else {
        wr_store__quota_removed(s, c->mark.basin, c->mark.stream);
        meta_write_error(op->err, &err);
    }
    c->cb(c->ud, op->err, &err, op->err == WR_OK ? &info : NULL, WR_PROVISION_CREATED);
    rocksdb_writebatch_destroy(op->wb);
    free(c->mark.basin);
    free(c->mark.stream);
    free(c);
}

/* Loop thread: an automatically created stream's meta is durable (or the store failed). */
static void
auto_written(wr_store *s, meta_op *op)
{
    create_op *c = (create_op *)op;
    unmark_changing(s, &c->mark);
    rocksdb_writebatch_destroy(op->wb);
    free(c->mark.basin);
    free(c->mark.stream);
    free(c);
}

wr_err
wr_store__stream_meta_create_auto(wr_store *s, const char *basin, const char *stream,
                                  const wr_stream_config *resolved, wr_cipher cipher,
                                  stream_meta *out, wr_error *out_err)
{
    wr_err e = stream_meta_new(s, basin, stream, resolved, cipher, NULL, out, out_err);
    if (e)
        return e;
    stream_meta_created(s, basin, stream, out); /* the new state is cached next */
    create_op *c = wr_xcalloc(1, sizeof(*c));
    c->m = *out;
    mark_changing(s, &c->mark, basin, stream, true);
    c->op.wb = stream_meta_batch(basin, stream, out, true);
    c->op.done = auto_written;
    wr_store__meta_submit(s, &c->op);
    return WR_OK;
}

/* A create that found its name being created: it runs again once that one is done. */
typedef struct create_retry {
    char *basin, *stream, *token;
    wr_stream_config cfg;
    bool has_cfg, pin;
    wr_store_stream_cb cb;
    void *ud;
} create_retry;

static void stream_create_async(wr_store *s, const char *basin, const char *stream,
                                const wr_stream_config *cfg, const char *request_token, bool pin,
                                wr_store_stream_cb cb, void *ud);

static void
create_again(wr_store *s, void *arg)
{
    create_retry *r = arg;
    stream_create_async(s, r->basin, r->stream, r->has_cfg ? &r->cfg : NULL, r->token, r->pin,
                        r->cb, r->ud);
    free(r->basin);
    free(r->stream);
    free(r->token);
    free(r);
}

/* The create of wr_store_stream_create_async; `pin`: a new stream is written pinned once (the
 * pin in the same batch as its meta). */
static void
stream_create_async(wr_store *s, const char *basin, const char *stream, const wr_stream_config *cfg,
                    const char *request_token, bool pin, wr_store_stream_cb cb, void *ud)
{
    basin_meta bm;
    stream_meta m;
    wr_stream_config resolved;
    wr_error err = {0};
    wr_stream_info info;
    wr_err e = check_stream_args(basin, stream, cfg, request_token, &err);
    changing *ahead = e ? NULL : stream_change_ahead(s, basin, stream);
    if (ahead) {
        /* Wait for the change in flight, then answer as if this one came after it: e.g. the
         * same create again (NOOP), or 409 already exists. */
        create_retry *r = wr_xcalloc(1, sizeof(*r));
        r->basin = wr_xstrdup(basin);
        r->stream = wr_xstrdup(stream);
        r->token = request_token ? wr_xstrdup(request_token) : NULL;
        r->has_cfg = cfg != NULL;
        if (cfg)
            r->cfg = *cfg;
        r->pin = pin;
        r->cb = cb;
        r->ud = ud;
        queue_after(ahead, create_again, r);
        return;
    }
    if (!e && !(e = wr_store__basin_meta_get(s, basin, &bm, &err)) && bm.deleted)
        e = wr_error_set(&err, WR_ERR_BASIN_DELETION_PENDING, "basin is being deleted");
    if (e) { /* before the stream is looked at */
        cb(ud, e, &err, NULL, WR_PROVISION_NOOP);
        return;
    }
    wr_stream_config_resolve(cfg, &bm.cfg, &resolved);
    e = wr_store__stream_meta_get(s, basin, stream, &m, &err);
    if (e == WR_OK) { /* it exists: the same create again (its token and config), or a 409 */
        if (m.deleted)
            e = wr_error_set(&err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
        else if (!(request_token && request_token[0] && strcmp(request_token, m.token) == 0 &&
                   wr_stream_config_equal(&resolved, &m.cfg)))
            e = wr_error_set(&err, WR_ERR_RESOURCE_ALREADY_EXISTS, "stream already exists");
        else
            stream_info(stream, &m, &info);
        cb(ud, e, &err, e == WR_OK ? &info : NULL, WR_PROVISION_NOOP);
        return;
    }
    if (e != WR_ERR_STREAM_NOT_FOUND ||
        (e = stream_meta_new(s, basin, stream, &resolved, bm.cfg.stream_cipher, request_token, &m,
                             &err))) {
        cb(ud, e, &err, NULL, WR_PROVISION_NOOP);
        return;
    }
    create_op *c = wr_xcalloc(1, sizeof(*c));
    c->m = m;
    c->cb = cb;
    c->ud = ud;
    mark_changing(s, &c->mark, basin, stream, true);
    c->op.wb = stream_meta_batch(basin, stream, &m, true);
    if (pin) {
        uint8_t k[WR_KEY_LC_ID_LEN], v[8];
        wr_key_lc_id(k, WR_LC_PIN, m.id);
        wr_put_be64(v, 1);
        rocksdb_writebatch_put(c->op.wb, (char *)k, sizeof(k), (char *)v, sizeof(v));
    }
    c->op.done = create_written;
    wr_store__meta_submit(s, &c->op);
}

void
wr_store_stream_create_async(wr_store *s, const char *basin, const char *stream,
                             const wr_stream_config *cfg, const char *request_token,
                             wr_store_stream_cb cb, void *ud)
{
    stream_create_async(s, basin, stream, cfg, request_token, false, cb, ud);
}

/* Loads an existing stream's meta, checking the basin first for the right 404. */
static wr_err
stream_existing(wr_store *s, const char *basin, const char *stream, basin_meta *bm, stream_meta *m,
                wr_error *out_err)
{
    wr_err e = check_stream_args(basin, stream, NULL, NULL, out_err);
    if (e)
        return e;
    if ((e = wr_store__basin_meta_get(s, basin, bm, out_err)))
        return e;
    return wr_store__stream_meta_get(s, basin, stream, m, out_err);
}

wr_err
wr_store_stream_get(wr_store *s, const char *basin, const char *stream, wr_stream_config *out_cfg,
                    wr_stream_info *out_info, wr_error *out_err)
{
    basin_meta bm;
    stream_meta m;
    wr_err e = stream_existing(s, basin, stream, &bm, &m, out_err);
    if (e)
        return e;
    if (m.deleted)
        return wr_error_set(out_err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
    if (out_cfg)
        *out_cfg = m.cfg;
    stream_info(stream, &m, out_info);
    return WR_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Changes of existing basins and streams                                                     */

/*
 * A reconfigure, ensure, delete or pin change of a stream (or of a basin: stream NULL). Made
 * asynchronously (the *_async calls) it runs once no other change of its name is in flight,
 * decides against the meta as it is then, and hands its batch to the commit thread with the name
 * held, so the next change of the name waits and decides on this one's result; its in-memory
 * effects (cached config, deleted flag, closed followers, basin cleanup) and its answer come once
 * the batch is durable, and until then readers see the meta as it was. Made synchronously (the
 * calls without _async, which only tests use) the same decision is written with a synced write
 * here, and a name held by an asynchronous change gets TRANSACTION_CONFLICT.
 */
typedef enum change_kind {
    CH_STREAM_ENSURE,
    CH_STREAM_RECONFIGURE,
    CH_STREAM_DELETE,
    CH_STREAM_MARK_DELETED, /* delete-on-empty: the caller checked the meta it passes */
    CH_STREAM_PROTECT,      /* pinned once; created pinned when missing */
    CH_STREAM_UNPROTECT,    /* one pin released, if it has any */
    CH_BASIN_ENSURE,
    CH_BASIN_RECONFIGURE,
    CH_BASIN_DELETE,
} change_kind;

typedef struct change_op {
    meta_op op; /* first: a meta_op * is a change_op * */
    changing mark;
    change_kind kind;
    char *basin, *stream;
    bool has_cfg; /* ENSURE: in.*_cfg given (else: defaults) */
    bool is_new;  /* STREAM_ENSURE: creates the stream */
    union {
        wr_stream_config stream_cfg;
        wr_stream_config_patch stream_patch;
        wr_basin_config basin_cfg;
        wr_basin_config_patch basin_patch;
    } in;
    stream_meta m; /* a stream's meta as written (or found, when nothing was) */
    basin_meta bm; /* a basin's */
    wr_provision prov;
    union {
        wr_store_stream_cb stream;
        wr_store_stream_config_cb stream_cfg;
        wr_store_basin_cb basin;
        wr_store_basin_config_cb basin_cfg;
        wr_store_done_cb done;
        void (*internal)(wr_store *s, void *arg, wr_err err);
    } cb;
    void *ud;
} change_op;

static change_op *
change_new(change_kind kind, const char *basin, const char *stream)
{
    change_op *c = wr_xcalloc(1, sizeof(*c));
    c->kind = kind;
    c->basin = wr_xstrdup(basin);
    c->stream = stream ? wr_xstrdup(stream) : NULL;
    return c;
}

/* Answers an asynchronous change and frees it. */
static void
change_answer(wr_store *s, change_op *c, wr_err e, const wr_error *detail)
{
    bool ok = e == WR_OK;
    wr_stream_info si;
    wr_basin_info bi;
    switch (c->kind) {
    case CH_STREAM_ENSURE:
        stream_info(c->stream, &c->m, &si);
        c->cb.stream(c->ud, e, detail, ok ? &si : NULL, c->prov);
        break;
    case CH_STREAM_RECONFIGURE:
        c->cb.stream_cfg(c->ud, e, detail, ok ? &c->m.cfg : NULL);
        break;
    case CH_STREAM_MARK_DELETED:
        c->cb.internal(s, c->ud, e);
        break;
    case CH_BASIN_ENSURE:
        basin_info(c->basin, &c->bm, &bi);
        c->cb.basin(c->ud, e, detail, ok ? &bi : NULL, c->prov);
        break;
    case CH_BASIN_RECONFIGURE:
        c->cb.basin_cfg(c->ud, e, detail, ok ? &c->bm.cfg : NULL);
        break;
    default:
        c->cb.done(c->ud, e, detail);
    }
    free(c->basin);
    free(c->stream);
    free(c);
}

/* The change in flight that a change of c's name must follow, or NULL: one of the same stream,
 * else one of its basin itself; a basin's delete also follows those of any of its streams (their
 * metas must be written before the cleanup scans them). */
static changing *
change_ahead(wr_store *s, const change_op *c)
{
    if (c->stream)
        return stream_change_ahead(s, c->basin, c->stream);
    changing *same = changing_find(s, c->basin, NULL);
    if (same || c->kind != CH_BASIN_DELETE)
        return same;
    for (changing *x = s->changing; x; x = x->next)
        if (strcmp(x->basin, c->basin) == 0)
            return x;
    return NULL;
}

static wr_err
stream_ensure_decide(wr_store *s, change_op *c, wr_error *err)
{
    basin_meta bm;
    wr_stream_config resolved;
    wr_err e = wr_store__basin_meta_get(s, c->basin, &bm, err);
    if (e)
        return e;
    if (bm.deleted)
        return wr_error_set(err, WR_ERR_BASIN_DELETION_PENDING, "basin is being deleted");
    wr_stream_config_resolve(c->has_cfg ? &c->in.stream_cfg : NULL, &bm.cfg, &resolved);
    e = wr_store__stream_meta_get(s, c->basin, c->stream, &c->m, err);
    if (e == WR_ERR_STREAM_NOT_FOUND) {
        if ((e = stream_meta_new(s, c->basin, c->stream, &resolved, bm.cfg.stream_cipher, NULL,
                                 &c->m, err)))
            return e;
        c->is_new = true;
        c->prov = WR_PROVISION_CREATED;
        c->op.wb = stream_meta_batch(c->basin, c->stream, &c->m, true);
        return WR_OK;
    }
    if (e)
        return e;
    if (c->m.deleted)
        return wr_error_set(err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
    c->prov =
        wr_stream_config_equal(&resolved, &c->m.cfg) ? WR_PROVISION_NOOP : WR_PROVISION_UPDATED;
    if (c->prov == WR_PROVISION_UPDATED) {
        c->m.cfg = resolved;
        c->op.wb = stream_meta_batch(c->basin, c->stream, &c->m, false);
    }
    return WR_OK;
}

/* PROTECT / UNPROTECT: one pin added when it has none, or one released when it has any. */
static wr_err
stream_pin_decide(wr_store *s, change_op *c, wr_error *err)
{
    stream_state *st;
    uint64_t n = 0;
    wr_err e = wr_store__stream(s, c->basin, c->stream, false, false, &st, err);
    if (!e)
        e = wr_store__pin_count(s, st->id, &n, err);
    if (e == WR_ERR_STREAM_NOT_FOUND && c->kind == CH_STREAM_UNPROTECT)
        return WR_OK; /* nothing to release */
    if (e || (c->kind == CH_STREAM_PROTECT ? n > 0 : n == 0))
        return e;
    c->op.wb = rocksdb_writebatch_create();
    e = wr_store__pin_batch(s, st, n, c->kind == CH_STREAM_PROTECT ? 1 : -1, c->op.wb, err);
    if (e) {
        rocksdb_writebatch_destroy(c->op.wb);
        c->op.wb = NULL;
    }
    return e;
}

/* Decides a stream change against the metas as they are now; sets c->op.wb when there is
 * something to write. */
static wr_err
stream_change_decide(wr_store *s, change_op *c, wr_error *err)
{
    basin_meta bm;
    wr_err e;
    switch (c->kind) {
    case CH_STREAM_ENSURE:
        return stream_ensure_decide(s, c, err);
    case CH_STREAM_PROTECT:
    case CH_STREAM_UNPROTECT:
        return stream_pin_decide(s, c, err);
    case CH_STREAM_MARK_DELETED:
        break; /* c->m is the caller's */
    default:
        if ((e = stream_existing(s, c->basin, c->stream, &bm, &c->m, err)))
            return e;
    }
    if (c->kind == CH_STREAM_RECONFIGURE) {
        if (c->m.deleted)
            return wr_error_set(err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
        wr_stream_config cfg = c->m.cfg, resolved;
        wr_stream_config_apply_patch(&cfg, &c->in.stream_patch);
        wr_stream_config_resolve(&cfg, &bm.cfg, &resolved);
        if ((e = wr_stream_config_validate(&resolved, err)))
            return e;
        if (wr_stream_config_equal(&resolved, &c->m.cfg))
            return WR_OK;
        c->m.cfg = resolved;
    } else { /* DELETE, MARK_DELETED: repeating a delete writes nothing */
        if (c->m.deleted)
            return WR_OK;
        c->m.deleted = true;
        c->m.deleted_at = wr_clock_now_ms();
    }
    c->op.wb = stream_meta_batch(c->basin, c->stream, &c->m, false);
    return WR_OK;
}

static wr_err
basin_change_decide(wr_store *s, change_op *c, wr_error *err)
{
    basin_meta *m = &c->bm;
    wr_err e = wr_store__basin_meta_get(s, c->basin, m, err);
    if (e == WR_ERR_BASIN_NOT_FOUND && c->kind == CH_BASIN_ENSURE) {
        memset(m, 0, sizeof(*m));
        m->created_at = wr_clock_now_ms();
        snprintf(m->location, sizeof(m->location), "%s", s->opts.location ? s->opts.location : "");
        m->cfg = c->in.basin_cfg;
        c->prov = WR_PROVISION_CREATED;
        c->op.wb = basin_meta_batch(c->basin, m);
        return WR_OK;
    }
    if (e)
        return e;
    if (c->kind == CH_BASIN_DELETE) {
        if (m->deleted) /* repeating is fine */
            return WR_OK;
        m->deleted = true;
        m->deleted_at = wr_clock_now_ms();
        /* The meta and the deletion cursor (empty: no stream deleted yet) in one write, so the
         * cleanup resumes after a crash (lifecycle.c). */
        c->op.wb = basin_meta_batch(c->basin, m);
        wr_buf k = {0};
        wr_key_basin_deletion(&k, c->basin, strlen(c->basin));
        rocksdb_writebatch_put(c->op.wb, k.data, k.len, "", 0);
        wr_buf_fini(&k);
        return WR_OK;
    }
    if (m->deleted)
        return wr_error_set(err, WR_ERR_BASIN_DELETION_PENDING, "basin is being deleted");
    wr_basin_config cfg = c->in.basin_cfg;
    if (c->kind == CH_BASIN_RECONFIGURE) {
        cfg = m->cfg;
        wr_basin_config_apply_patch(&cfg, &c->in.basin_patch);
        if ((e = wr_basin_config_validate(&cfg, err)))
            return e;
    }
    c->prov = wr_basin_config_equal(&cfg, &m->cfg) ? WR_PROVISION_NOOP : WR_PROVISION_UPDATED;
    if (c->prov == WR_PROVISION_UPDATED) {
        m->cfg = cfg;
        c->op.wb = basin_meta_batch(c->basin, m);
    }
    return WR_OK;
}

/* The change is durable: its effects on what the loop holds in memory. */
static void
change_applied(wr_store *s, change_op *c)
{
    switch (c->kind) {
    case CH_STREAM_ENSURE:
        if (c->is_new) {
            stream_meta_created(s, c->basin, c->stream, &c->m);
            break;
        }
        /* fallthrough */
    case CH_STREAM_RECONFIGURE:
    case CH_STREAM_DELETE:
    case CH_STREAM_MARK_DELETED:
        sync_cache(s, c->basin, c->stream, &c->m);
        break;
    case CH_BASIN_DELETE:
        /* Cleanup runs on the next regular maintenance tick (about a minute, as in S2), so the
         * deletion stays observable: listed with deleted_at, 409 for use, repeat DELETE 202. */
        wr_store__lc_basin_deleted(s, c->basin);
        break;
    default:
        break;
    }
}

static void
change_written(wr_store *s, meta_op *op)
{
    change_op *c = (change_op *)op;
    unmark_changing(s, &c->mark);
    free(c->mark.basin);
    free(c->mark.stream);
    rocksdb_writebatch_destroy(op->wb);
    wr_error err = {0};
    if (op->err) {
        if (c->is_new)
            wr_store__quota_removed(s, c->basin, c->stream);
        meta_write_error(op->err, &err);
    } else {
        change_applied(s, c);
    }
    change_answer(s, c, op->err, op->err ? &err : NULL);
}

/* A protect whose stream is missing: created pinned (stream_create_async). */
static void
protect_created(void *ud, wr_err err, const wr_error *detail, const wr_stream_info *info,
                wr_provision prov)
{
    (void)info;
    (void)prov;
    change_op *c = ud;
    c->cb.done(c->ud, err, detail);
    free(c->basin);
    free(c->stream);
    free(c);
}

static void
change_run(wr_store *s, void *arg)
{
    change_op *c = arg;
    changing *ahead = change_ahead(s, c);
    if (ahead) {
        queue_after(ahead, change_run, c);
        return;
    }
    wr_error err = {0};
    wr_err e = c->stream ? stream_change_decide(s, c, &err) : basin_change_decide(s, c, &err);
    if (e == WR_ERR_STREAM_NOT_FOUND && c->kind == CH_STREAM_PROTECT) {
        stream_create_async(s, c->basin, c->stream, NULL, NULL, true, protect_created, c);
        return;
    }
    if (e || !c->op.wb) {
        change_answer(s, c, e, e ? &err : NULL);
        return;
    }
    mark_changing(s, &c->mark, c->basin, c->stream, c->is_new);
    c->op.done = change_written;
    wr_store__meta_submit(s, &c->op);
}

/* A synchronous change (c on the caller's stack): decided and written here. */
static wr_err
change_sync(wr_store *s, change_op *c, wr_error *out_err)
{
    if (change_ahead(s, c))
        return wr_error_set(out_err, WR_ERR_TRANSACTION_CONFLICT,
                            c->stream ? "the stream is being changed; retry"
                                      : "the basin is being changed; retry");
    wr_err e = c->stream ? stream_change_decide(s, c, out_err) : basin_change_decide(s, c, out_err);
    if (e || !c->op.wb)
        return e;
    e = wr_store__write(s, c->op.wb, DB_WRITE_META, out_err);
    rocksdb_writebatch_destroy(c->op.wb);
    if (e) {
        if (c->is_new)
            wr_store__quota_removed(s, c->basin, c->stream);
        return e;
    }
    change_applied(s, c);
    return WR_OK;
}

/* ---- streams ---- */

void
wr_store_stream_ensure_async(wr_store *s, const char *basin, const char *stream,
                             const wr_stream_config *cfg, wr_store_stream_cb cb, void *ud)
{
    wr_error err = {0};
    if (check_stream_args(basin, stream, cfg, NULL, &err)) {
        cb(ud, err.code, &err, NULL, WR_PROVISION_NOOP);
        return;
    }
    change_op *c = change_new(CH_STREAM_ENSURE, basin, stream);
    c->has_cfg = cfg != NULL;
    if (cfg)
        c->in.stream_cfg = *cfg;
    c->cb.stream = cb;
    c->ud = ud;
    change_run(s, c);
}

wr_err
wr_store_stream_ensure(wr_store *s, const char *basin, const char *stream,
                       const wr_stream_config *cfg, wr_stream_info *out_info,
                       wr_provision *out_prov, wr_error *out_err)
{
    wr_err e = check_stream_args(basin, stream, cfg, NULL, out_err);
    if (e)
        return e;
    change_op c = {.kind = CH_STREAM_ENSURE, .basin = (char *)basin, .stream = (char *)stream};
    c.has_cfg = cfg != NULL;
    if (cfg)
        c.in.stream_cfg = *cfg;
    if ((e = change_sync(s, &c, out_err)))
        return e;
    stream_info(stream, &c.m, out_info);
    if (out_prov)
        *out_prov = c.prov;
    return WR_OK;
}

void
wr_store_stream_reconfigure_async(wr_store *s, const char *basin, const char *stream,
                                  const wr_stream_config_patch *p, wr_store_stream_config_cb cb,
                                  void *ud)
{
    wr_error err = {0};
    if (wr_stream_config_patch_validate(p, &err) ||
        check_stream_args(basin, stream, NULL, NULL, &err)) {
        cb(ud, err.code, &err, NULL);
        return;
    }
    change_op *c = change_new(CH_STREAM_RECONFIGURE, basin, stream);
    c->in.stream_patch = *p;
    c->cb.stream_cfg = cb;
    c->ud = ud;
    change_run(s, c);
}

wr_err
wr_store_stream_reconfigure(wr_store *s, const char *basin, const char *stream,
                            const wr_stream_config_patch *p, wr_stream_config *out_cfg,
                            wr_error *out_err)
{
    wr_err e = wr_stream_config_patch_validate(p, out_err);
    if (e || (e = check_stream_args(basin, stream, NULL, NULL, out_err)))
        return e;
    change_op c = {.kind = CH_STREAM_RECONFIGURE, .basin = (char *)basin, .stream = (char *)stream};
    c.in.stream_patch = *p;
    if ((e = change_sync(s, &c, out_err)))
        return e;
    if (out_cfg)
        *out_cfg = c.m.cfg;
    return WR_OK;
}

/* A stream change answered with a wr_store_done_cb: DELETE, PROTECT, UNPROTECT. */
static void
stream_done_async(wr_store *s, change_kind kind, const char *basin, const char *stream,
                  wr_store_done_cb cb, void *ud)
{
    wr_error err = {0};
    if (check_stream_args(basin, stream, NULL, NULL, &err)) {
        cb(ud, err.code, &err);
        return;
    }
    change_op *c = change_new(kind, basin, stream);
    c->cb.done = cb;
    c->ud = ud;
    change_run(s, c);
}

void
wr_store_stream_delete_async(wr_store *s, const char *basin, const char *stream,
                             wr_store_done_cb cb, void *ud)
{
    stream_done_async(s, CH_STREAM_DELETE, basin, stream, cb, ud);
}

wr_err
wr_store_stream_delete(wr_store *s, const char *basin, const char *stream, wr_error *out_err)
{
    wr_err e = check_stream_args(basin, stream, NULL, NULL, out_err);
    if (e)
        return e;
    change_op c = {.kind = CH_STREAM_DELETE, .basin = (char *)basin, .stream = (char *)stream};
    return change_sync(s, &c, out_err); /* cleaned up on the next maintenance tick */
}

void
wr_store__stream_mark_deleted_async(wr_store *s, const char *basin, const char *stream,
                                    const stream_meta *m,
                                    void (*fn)(wr_store *s, void *arg, wr_err err), void *arg)
{
    change_op *c = change_new(CH_STREAM_MARK_DELETED, basin, stream);
    c->m = *m;
    c->cb.internal = fn;
    c->ud = arg;
    change_run(s, c);
}

void
wr_store_stream_protect_async(wr_store *s, const char *basin, const char *stream,
                              wr_store_done_cb cb, void *ud)
{
    stream_done_async(s, CH_STREAM_PROTECT, basin, stream, cb, ud);
}

void
wr_store_stream_unprotect_async(wr_store *s, const char *basin, const char *stream,
                                wr_store_done_cb cb, void *ud)
{
    stream_done_async(s, CH_STREAM_UNPROTECT, basin, stream, cb, ud);
}

/* ---- basins ---- */

void
wr_store_basin_ensure_async(wr_store *s, const char *name, const wr_basin_config *cfg,
                            wr_store_basin_cb cb, void *ud)
{
    wr_error err = {0};
    if (check_basin_args(name, cfg, NULL, &err)) {
        cb(ud, err.code, &err, NULL, WR_PROVISION_NOOP);
        return;
    }
    change_op *c = change_new(CH_BASIN_ENSURE, name, NULL);
    if (cfg)
        c->in.basin_cfg = *cfg;
    c->cb.basin = cb;
    c->ud = ud;
    change_run(s, c);
}

wr_err
wr_store_basin_ensure(wr_store *s, const char *name, const wr_basin_config *cfg,
                      wr_basin_info *out_info, wr_provision *out_prov, wr_error *out_err)
{
    wr_err e = check_basin_args(name, cfg, NULL, out_err);
    if (e)
        return e;
    change_op c = {.kind = CH_BASIN_ENSURE, .basin = (char *)name};
    if (cfg)
        c.in.basin_cfg = *cfg;
    if ((e = change_sync(s, &c, out_err)))
        return e;
    basin_info(name, &c.bm, out_info);
    if (out_prov)
        *out_prov = c.prov;
    return WR_OK;
}

void
wr_store_basin_reconfigure_async(wr_store *s, const char *name, const wr_basin_config_patch *p,
                                 wr_store_basin_config_cb cb, void *ud)
{
    wr_error err = {0};
    if (check_basin_args(name, NULL, NULL, &err) || wr_basin_config_patch_validate(p, &err)) {
        cb(ud, err.code, &err, NULL);
        return;
    }
    change_op *c = change_new(CH_BASIN_RECONFIGURE, name, NULL);
    c->in.basin_patch = *p;
    c->cb.basin_cfg = cb;
    c->ud = ud;
    change_run(s, c);
}

wr_err
wr_store_basin_reconfigure(wr_store *s, const char *name, const wr_basin_config_patch *p,
                           wr_basin_config *out_cfg, wr_error *out_err)
{
    wr_err e = check_basin_args(name, NULL, NULL, out_err);
    if (e || (e = wr_basin_config_patch_validate(p, out_err)))
        return e;
    change_op c = {.kind = CH_BASIN_RECONFIGURE, .basin = (char *)name};
    c.in.basin_patch = *p;
    if ((e = change_sync(s, &c, out_err)))
        return e;
    if (out_cfg)
        *out_cfg = c.bm.cfg;
    return WR_OK;
}

void
wr_store_basin_delete_async(wr_store *s, const char *name, wr_store_done_cb cb, void *ud)
{
    wr_error err = {0};
    if (check_basin_args(name, NULL, NULL, &err)) {
        cb(ud, err.code, &err);
        return;
    }
    change_op *c = change_new(CH_BASIN_DELETE, name, NULL);
    c->cb.done = cb;
    c->ud = ud;
    change_run(s, c);
}

wr_err
wr_store_basin_delete(wr_store *s, const char *name, wr_error *out_err)
{
    wr_err e = check_basin_args(name, NULL, NULL, out_err);
    if (e)
        return e;
    change_op c = {.kind = CH_BASIN_DELETE, .basin = (char *)name};
    return change_sync(s, &c, out_err);
}

typedef struct stream_list_ctx {
    wr_stream_list *l;
} stream_list_ctx;

static void
stream_item(void *ctx, const char *name, size_t name_len, const char *v, size_t vlen)
{
    wr_stream_list *l = ((stream_list_ctx *)ctx)->l;
    json_t *j = json_loadb(v, vlen, 0, NULL);
    stream_meta m = {0};
    if (j) {
        common_fields(j, &m.created_at, &m.deleted, &m.deleted_at, m.token);
        json_t *c = json_object_get(j, "cipher");
        if (json_is_string(c))
            wr_cipher_parse(json_string_value(c), &m.cipher);
        json_decref(j);
    }
    l->items = wr_xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
    wr_stream_info *si = &l->items[l->n++];
    memset(si, 0, sizeof(*si));
    memcpy(si->name, name, name_len > WR_STREAM_NAME_MAX ? WR_STREAM_NAME_MAX : name_len);
    si->created_at_ms = m.created_at;
    si->deleted = m.deleted;
    si->deleted_at_ms = m.deleted_at;
    si->cipher = m.cipher;
}

wr_err
wr_store_stream_list(wr_store *s, const char *basin, const char *prefix, const char *start_after,
                     size_t limit, wr_stream_list *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    if (!basin || !wr_basin_name_valid(basin))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid basin name");
    wr_buf base = {0};
    wr_key_stream_meta_prefix(&base, basin, strlen(basin));
    stream_list_ctx ctx = {out};
    wr_err e =
        list_keys(s, &base, prefix, start_after, limit, stream_item, &ctx, &out->has_more, out_err);
    wr_buf_fini(&base);
    if (e)
        wr_stream_list_fini(out);
    return e;
}

void
wr_stream_list_fini(wr_stream_list *l)
{
    free(l->items);
    memset(l, 0, sizeof(*l));
}

wr_err
wr_store_check_tail(wr_store *s, const char *basin, const char *stream, wr_pos *out_tail,
                    wr_error *out_err)
{
    stream_state *st;
    wr_err e = wr_store__stream(s, basin, stream, true, false, &st, out_err);
    if (e)
        return e;
    if (st->deleted)
        return wr_error_set(out_err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
    out_tail->seq = st->d_seq;
    out_tail->ts_ms = st->d_ts;
    return WR_OK;
}

/* wr_store_check_tail_async waiting for the create of its stream. */
typedef struct tail_wait {
    char *basin, *stream;
    wr_store_tail_cb cb;
    void *ud;
} tail_wait;

static void
tail_run(wr_store *s, void *arg)
{
    tail_wait *t = arg;
    wr_pos tail = {0};
    wr_error err = {0};
    wr_err e = wr_store_check_tail(s, t->basin, t->stream, &tail, &err);
    if (e == WR_OK && wr_store__wait_created(s, t->basin, t->stream, tail_run, t))
        return; /* answered once the stream (maybe created just now) is durable */
    t->cb(t->ud, e, &err, tail);
    free(t->basin);
    free(t->stream);
    free(t);
}

void
wr_store_check_tail_async(wr_store *s, const char *basin, const char *stream, wr_store_tail_cb cb,
                          void *ud)
{
    tail_wait *t = wr_xcalloc(1, sizeof(*t));
    t->basin = wr_xstrdup(basin);
    t->stream = wr_xstrdup(stream);
    t->cb = cb;
    t->ud = ud;
    tail_run(s, t);
}
