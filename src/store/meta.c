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

static wr_err
basin_meta_put(wr_store *s, const char *name, const basin_meta *m, wr_error *out_err)
{
    wr_buf k = {0};
    wr_key_basin_meta(&k, name, strlen(name));
    char *v = basin_meta_json(m);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put(wb, k.data, k.len, v, strlen(v));
    wr_err e = wr_store__write(s, wb, DB_WRITE_META, out_err);
    rocksdb_writebatch_destroy(wb);
    free(v);
    wr_buf_fini(&k);
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
static creating *
creating_find(wr_store *s, const char *basin, const char *stream)
{
    for (creating *c = s->creating; c; c = c->next)
        if (strcmp(c->basin, basin) == 0 &&
            (stream ? c->stream && strcmp(c->stream, stream) == 0 : !c->stream))
            return c;
    return NULL;
}

bool
wr_store__wait_created(wr_store *s, const char *basin, const char *stream,
                       void (*fn)(wr_store *s, void *arg), void *arg)
{
    creating *c = creating_find(s, basin, stream);
    if (!c)
        return false;
    create_waiter *w = wr_xmalloc(sizeof(*w));
    w->fn = fn;
    w->arg = arg;
    w->next = c->waiters;
    c->waiters = w;
    return true;
}

bool
wr_store__creating(const wr_store *s, const char *basin, const char *stream)
{
    for (const creating *c = s->creating; c; c = c->next)
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
    if (wr_store__creating(s, basin, stream))
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

wr_err
wr_store__stream_meta_create(wr_store *s, const char *basin, const char *stream,
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

/* Whether a create of basin `name` is in flight (a `creating` entry without a stream). */
static bool
basin_creating(wr_store *s, const char *name)
{
    return creating_find(s, name, NULL) != NULL;
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
    if (basin_creating(s, name))
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
wr_store_basin_ensure(wr_store *s, const char *name, const wr_basin_config *cfg,
                      wr_basin_info *out_info, wr_provision *out_prov, wr_error *out_err)
{
    wr_basin_config c = {0};
    basin_meta m;
    wr_provision prov = WR_PROVISION_CREATED;
    wr_err e = check_basin_args(name, cfg, NULL, out_err);
    if (e)
        return e;
    if (cfg)
        c = *cfg;
    if (basin_creating(s, name))
        return wr_error_set(out_err, WR_ERR_TRANSACTION_CONFLICT,
                            "the basin is being created; retry");
    e = wr_store__basin_meta_get(s, name, &m, out_err);
    if (e == WR_OK) {
        if (m.deleted)
            return wr_error_set(out_err, WR_ERR_BASIN_DELETION_PENDING, "basin is being deleted");
        prov = wr_basin_config_equal(&c, &m.cfg) ? WR_PROVISION_NOOP : WR_PROVISION_UPDATED;
    } else if (e == WR_ERR_BASIN_NOT_FOUND) {
        memset(&m, 0, sizeof(m));
        m.created_at = wr_clock_now_ms();
        snprintf(m.location, sizeof(m.location), "%s", s->opts.location ? s->opts.location : "");
    } else {
        return e;
    }
    m.cfg = c;
    if (prov != WR_PROVISION_NOOP && (e = basin_meta_put(s, name, &m, out_err)))
        return e;
    basin_info(name, &m, out_info);
    if (out_prov)
        *out_prov = prov;
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

wr_err
wr_store_basin_reconfigure(wr_store *s, const char *name, const wr_basin_config_patch *p,
                           wr_basin_config *out_cfg, wr_error *out_err)
{
    basin_meta m;
    if (!name || !wr_basin_name_valid(name))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid basin name");
    wr_err e = wr_basin_config_patch_validate(p, out_err);
    if (e)
        return e;
    if ((e = wr_store__basin_meta_get(s, name, &m, out_err)))
        return e;
    if (m.deleted)
        return wr_error_set(out_err, WR_ERR_BASIN_DELETION_PENDING, "basin is being deleted");
    wr_basin_config c = m.cfg;
    wr_basin_config_apply_patch(&c, p);
    if ((e = wr_basin_config_validate(&c, out_err)))
        return e;
    if (!wr_basin_config_equal(&c, &m.cfg)) {
        m.cfg = c;
        if ((e = basin_meta_put(s, name, &m, out_err)))
            return e;
    }
    if (out_cfg)
        *out_cfg = c;
    return WR_OK;
}

/* An asynchronous basin create on its way through the commit thread. */
typedef struct basin_create_op {
    meta_op op; /* first: a meta_op * is a basin_create_op * */
    creating mark;
    basin_meta m;
    wr_store_basin_cb cb;
    void *ud;
} basin_create_op;

/* A create of (basin, stream) — stream NULL: of the basin — is in flight from now on. */
static void
mark_creating(wr_store *s, creating *mark, const char *basin, const char *stream)
{
    mark->basin = wr_xstrdup(basin);
    mark->stream = stream ? wr_xstrdup(stream) : NULL;
    mark->waiters = NULL;
    mark->next = s->creating;
    s->creating = mark;
}

/* The create is done (durable or failed): the name is free, and whoever waited for it runs. */
static void
unmark_creating(wr_store *s, creating *mark)
{
    creating **pp = &s->creating;
    while (*pp != mark)
        pp = &(*pp)->next;
    *pp = mark->next;
    for (create_waiter *w = mark->waiters, *next; w; w = next) {
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
    unmark_creating(s, &c->mark);
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
    if (!e && basin_creating(s, name)) { /* answered as if it came after that one */
        basin_retry *r = wr_xcalloc(1, sizeof(*r));
        r->name = wr_xstrdup(name);
        r->token = request_token ? wr_xstrdup(request_token) : NULL;
        r->has_cfg = cfg != NULL;
        if (cfg)
            r->cfg = *cfg;
        r->cb = cb;
        r->ud = ud;
        wr_store__wait_created(s, name, NULL, basin_again, r);
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
    mark_creating(s, &c->mark, name, NULL);
    wr_buf k = {0};
    wr_key_basin_meta(&k, name, strlen(name));
    char *v = basin_meta_json(&c->m);
    c->op.wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put(c->op.wb, k.data, k.len, v, strlen(v));
    free(v);
    wr_buf_fini(&k);
    c->op.done = basin_written;
    wr_store__meta_submit(s, &c->op);
}

wr_err
wr_store_basin_delete(wr_store *s, const char *name, wr_error *out_err)
{
    basin_meta m;
    if (!name || !wr_basin_name_valid(name))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid basin name");
    wr_err e = wr_store__basin_meta_get(s, name, &m, out_err);
    if (e || m.deleted)
        return e;
    if (wr_store__creating(s, name, NULL)) /* its meta would land after the cleanup's scan */
        return wr_error_set(out_err, WR_ERR_TRANSACTION_CONFLICT,
                            "a stream of the basin is being created; retry");
    m.deleted = true;
    m.deleted_at = wr_clock_now_ms();
    /* The meta and the deletion cursor (empty: no stream deleted yet) in one write, so the
     * cleanup resumes after a crash (lifecycle.c). */
    wr_buf k = {0};
    wr_key_basin_meta(&k, name, strlen(name));
    char *v = basin_meta_json(&m);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put(wb, k.data, k.len, v, strlen(v));
    wr_key_basin_deletion(&k, name, strlen(name));
    rocksdb_writebatch_put(wb, k.data, k.len, "", 0);
    e = wr_store__write(s, wb, DB_WRITE_META, out_err);
    rocksdb_writebatch_destroy(wb);
    free(v);
    wr_buf_fini(&k);
    if (e)
        return e;
    /* Cleanup runs on the next regular maintenance tick (about a minute, as in S2), so the
     * deletion stays observable: listed with deleted_at, 409 for use, repeat DELETE 202. */
    wr_store__lc_basin_deleted(s, name);
    return WR_OK;
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

static wr_err
stream_provision(wr_store *s, const char *basin, const char *stream, const wr_stream_config *cfg,
                 const char *token, bool ensure, wr_stream_info *out_info, wr_provision *out_prov,
                 wr_error *out_err)
{
    basin_meta bm;
    stream_meta m;
    wr_stream_config resolved;
    wr_err e = check_stream_args(basin, stream, cfg, token, out_err);
    if (e)
        return e;
    if ((e = wr_store__basin_meta_get(s, basin, &bm, out_err)))
        return e;
    if (bm.deleted)
        return wr_error_set(out_err, WR_ERR_BASIN_DELETION_PENDING, "basin is being deleted");
    wr_stream_config_resolve(cfg, &bm.cfg, &resolved);
    e = wr_store__stream_meta_get(s, basin, stream, &m, out_err);
    if (e == WR_ERR_STREAM_NOT_FOUND) {
        if ((e = wr_store__stream_meta_create(s, basin, stream, &resolved, bm.cfg.stream_cipher,
                                              token, &m, out_err)))
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
    bool same = wr_stream_config_equal(&resolved, &m.cfg);
    if (!ensure) {
        if (!(token && token[0] && strcmp(token, m.token) == 0 && same))
            return wr_error_set(out_err, WR_ERR_RESOURCE_ALREADY_EXISTS, "stream already exists");
    } else if (!same) {
        m.cfg = resolved;
        if ((e = stream_meta_put(s, basin, stream, &m, false, out_err)))
            return e;
        sync_cache(s, basin, stream, &m);
    }
    stream_info(stream, &m, out_info);
    if (out_prov)
        *out_prov = same ? WR_PROVISION_NOOP : WR_PROVISION_UPDATED;
    return WR_OK;
}

wr_err
wr_store_stream_create(wr_store *s, const char *basin, const char *stream,
                       const wr_stream_config *cfg, const char *request_token,
                       wr_stream_info *out_info, wr_provision *out_prov, wr_error *out_err)
{
    return stream_provision(s, basin, stream, cfg, request_token, false, out_info, out_prov,
                            out_err);
}

/* An asynchronous create on its way through the commit thread. */
typedef struct create_op {
    meta_op op; /* first: a meta_op * is a create_op * */
    creating mark;
    stream_meta m;
    wr_store_stream_cb cb;
    void *ud;
} create_op;

/* Loop thread: the new stream's meta is durable (or not: the store refuses writes now). */
static void
create_written(wr_store *s, meta_op *op)
{
    create_op *c = (create_op *)op;
    unmark_creating(s, &c->mark);
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
    unmark_creating(s, &c->mark);
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
    mark_creating(s, &c->mark, basin, stream);
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
    if (!e && wr_store__creating(s, basin, stream)) {
        /* Wait for the create in flight, then answer as if this one came after it: the same
         * create again (NOOP), or 409 already exists. */
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
        wr_store__wait_created(s, basin, stream, create_again, r);
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
    mark_creating(s, &c->mark, basin, stream);
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

/* wr_store_stream_protect_async on its way. */
typedef struct protect_op {
    wr_store_done_cb cb;
    void *ud;
} protect_op;

static void
protect_created(void *ud, wr_err err, const wr_error *detail, const wr_stream_info *info,
                wr_provision prov)
{
    (void)info;
    (void)prov;
    protect_op *p = ud;
    p->cb(p->ud, err, detail);
    free(p);
}

/* A protect that found its stream being created: it runs again once that create is done. */
typedef struct protect_retry {
    char *basin, *stream;
    wr_store_done_cb cb;
    void *ud;
} protect_retry;

static void
protect_again(wr_store *s, void *arg)
{
    protect_retry *r = arg;
    wr_store_stream_protect_async(s, r->basin, r->stream, r->cb, r->ud);
    free(r->basin);
    free(r->stream);
    free(r);
}

void
wr_store_stream_protect_async(wr_store *s, const char *basin, const char *stream,
                              wr_store_done_cb cb, void *ud)
{
    wr_error err = {0};
    uint64_t n = 0;
    if (wr_basin_name_valid(basin) && wr_stream_name_valid(stream, strlen(stream)) &&
        wr_store__creating(s, basin, stream)) {
        protect_retry *r = wr_xcalloc(1, sizeof(*r));
        r->basin = wr_xstrdup(basin);
        r->stream = wr_xstrdup(stream);
        r->cb = cb;
        r->ud = ud;
        wr_store__wait_created(s, basin, stream, protect_again, r);
        return;
    }
    wr_err e = wr_store_pin_count(s, basin, stream, &n, &err);
    if (e == WR_OK && n == 0)
        e = wr_store_pin(s, basin, stream, &err); /* an existing stream: synced here */
    if (e != WR_ERR_STREAM_NOT_FOUND) {
        cb(ud, e, &err);
        return;
    }
    protect_op *p = wr_xcalloc(1, sizeof(*p));
    p->cb = cb;
    p->ud = ud;
    stream_create_async(s, basin, stream, NULL, NULL, true, protect_created, p);
}

wr_err
wr_store_stream_ensure(wr_store *s, const char *basin, const char *stream,
                       const wr_stream_config *cfg, wr_stream_info *out_info,
                       wr_provision *out_prov, wr_error *out_err)
{
    return stream_provision(s, basin, stream, cfg, NULL, true, out_info, out_prov, out_err);
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

/* stream_existing for a change: a stream whose create is in flight is not found by name, but
 * it will be: TRANSACTION_CONFLICT (retry) rather than a 404 that is about to be wrong. */
static wr_err
stream_changeable(wr_store *s, const char *basin, const char *stream, basin_meta *bm,
                  stream_meta *m, wr_error *out_err)
{
    wr_err e = stream_existing(s, basin, stream, bm, m, out_err);
    if (e == WR_ERR_STREAM_NOT_FOUND && wr_store__creating(s, basin, stream))
        return wr_error_set(out_err, WR_ERR_TRANSACTION_CONFLICT,
                            "the stream is being created; retry");
    return e;
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

wr_err
wr_store_stream_reconfigure(wr_store *s, const char *basin, const char *stream,
                            const wr_stream_config_patch *p, wr_stream_config *out_cfg,
                            wr_error *out_err)
{
    basin_meta bm;
    stream_meta m;
    wr_err e = wr_stream_config_patch_validate(p, out_err);
    if (e)
        return e;
    if ((e = stream_changeable(s, basin, stream, &bm, &m, out_err)))
        return e;
    if (m.deleted)
        return wr_error_set(out_err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
    wr_stream_config c = m.cfg, resolved;
    wr_stream_config_apply_patch(&c, p);
    wr_stream_config_resolve(&c, &bm.cfg, &resolved);
    if ((e = wr_stream_config_validate(&resolved, out_err)))
        return e;
    if (!wr_stream_config_equal(&resolved, &m.cfg)) {
        m.cfg = resolved;
        if ((e = stream_meta_put(s, basin, stream, &m, false, out_err)))
            return e;
        sync_cache(s, basin, stream, &m);
    }
    if (out_cfg)
        *out_cfg = resolved;
    return WR_OK;
}

wr_err
wr_store__stream_mark_deleted(wr_store *s, const char *basin, const char *stream, stream_meta *m,
                              wr_error *out_err)
{
    m->deleted = true;
    m->deleted_at = wr_clock_now_ms();
    wr_err e = stream_meta_put(s, basin, stream, m, false, out_err);
    if (e)
        return e;
    sync_cache(s, basin, stream, m);
    return WR_OK;
}

wr_err
wr_store_stream_delete(wr_store *s, const char *basin, const char *stream, wr_error *out_err)
{
    basin_meta bm;
    stream_meta m;
    wr_err e = stream_changeable(s, basin, stream, &bm, &m, out_err);
    if (e || m.deleted)
        return e;
    if ((e = wr_store__stream_mark_deleted(s, basin, stream, &m, out_err)))
        return e;
    return WR_OK; /* cleaned up on the next regular maintenance tick (see basin delete) */
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
