/*
 * config.c — see config.h. Normalization: an unset field's value part is zeroed so that
 * equality and persistence never depend on stale values.
 */
#include "store/config.h"

#include <string.h>

static const char *const storage_names[] = {NULL, "standard", "express"};
static const char *const ts_names[] = {NULL, "client-prefer", "client-require", "arrival"};
static const char *const cipher_names[] = {NULL, "aegis-256", "aes-256-gcm"};

const char *
wr_storage_class_name(wr_storage_class c)
{
    return (unsigned)c <= WR_STORAGE_EXPRESS ? storage_names[c] : NULL;
}

const char *
wr_ts_mode_name(wr_ts_mode m)
{
    return (unsigned)m <= WR_TS_ARRIVAL ? ts_names[m] : NULL;
}

const char *
wr_cipher_name(wr_cipher c)
{
    return (unsigned)c <= WR_CIPHER_AES_256_GCM ? cipher_names[c] : NULL;
}

static bool
parse_name(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 1; s && i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

bool
wr_storage_class_parse(const char *s, wr_storage_class *out)
{
    int v;
    if (!parse_name(s, storage_names, 3, &v))
        return false;
    *out = (wr_storage_class)v;
    return true;
}

bool
wr_ts_mode_parse(const char *s, wr_ts_mode *out)
{
    int v;
    if (!parse_name(s, ts_names, 4, &v))
        return false;
    *out = (wr_ts_mode)v;
    return true;
}

bool
wr_cipher_parse(const char *s, wr_cipher *out)
{
    int v;
    if (!parse_name(s, cipher_names, 3, &v))
        return false;
    *out = (wr_cipher)v;
    return true;
}

void
wr_stream_config_system_default(wr_stream_config *out)
{
    memset(out, 0, sizeof(*out));
    out->storage_class = WR_STORAGE_EXPRESS;
    out->retention = WR_RETENTION_AGE;
    out->retention_age_secs = WR_DEFAULT_RETENTION_SECS;
    out->ts_mode = WR_TS_CLIENT_PREFER;
    out->has_ts_uncapped = true;
    out->ts_uncapped = false;
    out->has_doe = true;
    out->doe_min_age_secs = 0;
}

static void
normalize(wr_stream_config *c)
{
    if (c->retention != WR_RETENTION_AGE)
        c->retention_age_secs = 0;
    if (!c->has_ts_uncapped)
        c->ts_uncapped = false;
    if (!c->has_doe)
        c->doe_min_age_secs = 0;
}

/* Copies every field that is set in `src` and unset in `dst`. */
static void
fill_from(wr_stream_config *dst, const wr_stream_config *src)
{
    if (!dst->storage_class)
        dst->storage_class = src->storage_class;
    if (!dst->retention) {
        dst->retention = src->retention;
        dst->retention_age_secs = src->retention_age_secs;
    }
    if (!dst->ts_mode)
        dst->ts_mode = src->ts_mode;
    if (!dst->has_ts_uncapped) {
        dst->has_ts_uncapped = src->has_ts_uncapped;
        dst->ts_uncapped = src->ts_uncapped;
    }
    if (!dst->has_doe) {
        dst->has_doe = src->has_doe;
        dst->doe_min_age_secs = src->doe_min_age_secs;
    }
}

void
wr_stream_config_resolve(const wr_stream_config *req, const wr_basin_config *basin,
                         wr_stream_config *out)
{
    wr_stream_config sys;
    if (req)
        *out = *req;
    else
        memset(out, 0, sizeof(*out));
    normalize(out);
    if (basin && basin->has_default_stream_config) {
        wr_stream_config d = basin->default_stream_config;
        normalize(&d);
        fill_from(out, &d);
    }
    wr_stream_config_system_default(&sys);
    fill_from(out, &sys);
}

wr_err
wr_stream_config_validate(const wr_stream_config *c, wr_error *out_err)
{
    if ((unsigned)c->storage_class > WR_STORAGE_EXPRESS)
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid storage class");
    if ((unsigned)c->retention > WR_RETENTION_INFINITE)
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid retention policy");
    if (c->retention == WR_RETENTION_AGE && c->retention_age_secs == 0)
        return wr_error_set(out_err, WR_ERR_INVALID, "retention age must be greater than 0");
    if ((unsigned)c->ts_mode > WR_TS_ARRIVAL)
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid timestamping mode");
    return WR_OK;
}

wr_err
wr_basin_config_validate(const wr_basin_config *c, wr_error *out_err)
{
    if ((unsigned)c->stream_cipher > WR_CIPHER_AES_256_GCM)
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid stream cipher");
    if (c->has_default_stream_config)
        return wr_stream_config_validate(&c->default_stream_config, out_err);
    return WR_OK;
}

wr_err
wr_stream_config_patch_validate(const wr_stream_config_patch *p, wr_error *out_err)
{
    if (p->storage_class_op == WR_PATCH_SET &&
        (p->storage_class < WR_STORAGE_STANDARD || p->storage_class > WR_STORAGE_EXPRESS))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid storage class");
    if (p->retention_op == WR_PATCH_SET) {
        if (p->retention != WR_RETENTION_AGE && p->retention != WR_RETENTION_INFINITE)
            return wr_error_set(out_err, WR_ERR_INVALID, "invalid retention policy");
        if (p->retention == WR_RETENTION_AGE && p->retention_age_secs == 0)
            return wr_error_set(out_err, WR_ERR_INVALID, "retention age must be greater than 0");
    }
    if (p->timestamping_op == WR_PATCH_SET && p->ts_mode_op == WR_PATCH_SET &&
        (p->ts_mode < WR_TS_CLIENT_PREFER || p->ts_mode > WR_TS_ARRIVAL))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid timestamping mode");
    return WR_OK;
}

wr_err
wr_basin_config_patch_validate(const wr_basin_config_patch *p, wr_error *out_err)
{
    if (p->stream_cipher_op == WR_PATCH_SET &&
        (p->stream_cipher < WR_CIPHER_AEGIS_256 || p->stream_cipher > WR_CIPHER_AES_256_GCM))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid stream cipher");
    if (p->default_stream_config_op == WR_PATCH_SET)
        return wr_stream_config_patch_validate(&p->default_stream_config, out_err);
    return WR_OK;
}

void
wr_stream_config_apply_patch(wr_stream_config *c, const wr_stream_config_patch *p)
{
    if (p->storage_class_op == WR_PATCH_NULL)
        c->storage_class = WR_STORAGE_UNSET;
    else if (p->storage_class_op == WR_PATCH_SET)
        c->storage_class = p->storage_class;

    if (p->retention_op == WR_PATCH_NULL) {
        c->retention = WR_RETENTION_UNSET;
    } else if (p->retention_op == WR_PATCH_SET) {
        c->retention = p->retention;
        c->retention_age_secs = p->retention_age_secs;
    }

    if (p->timestamping_op == WR_PATCH_NULL) {
        c->ts_mode = WR_TS_UNSET;
        c->has_ts_uncapped = false;
    } else if (p->timestamping_op == WR_PATCH_SET) {
        if (p->ts_mode_op == WR_PATCH_NULL)
            c->ts_mode = WR_TS_UNSET;
        else if (p->ts_mode_op == WR_PATCH_SET)
            c->ts_mode = p->ts_mode;
        if (p->ts_uncapped_op == WR_PATCH_NULL) {
            c->has_ts_uncapped = false;
        } else if (p->ts_uncapped_op == WR_PATCH_SET) {
            c->has_ts_uncapped = true;
            c->ts_uncapped = p->ts_uncapped;
        }
    }

    if (p->doe_op == WR_PATCH_NULL) {
        c->has_doe = false;
    } else if (p->doe_op == WR_PATCH_SET) {
        if (p->doe_min_age_op == WR_PATCH_NULL) {
            c->has_doe = false;
        } else if (p->doe_min_age_op == WR_PATCH_SET) {
            c->has_doe = true;
            c->doe_min_age_secs = p->doe_min_age_secs;
        }
    }
    normalize(c);
}

void
wr_basin_config_apply_patch(wr_basin_config *c, const wr_basin_config_patch *p)
{
    if (p->default_stream_config_op == WR_PATCH_NULL) {
        c->has_default_stream_config = false;
        memset(&c->default_stream_config, 0, sizeof(c->default_stream_config));
    } else if (p->default_stream_config_op == WR_PATCH_SET) {
        if (!c->has_default_stream_config)
            memset(&c->default_stream_config, 0, sizeof(c->default_stream_config));
        c->has_default_stream_config = true;
        wr_stream_config_apply_patch(&c->default_stream_config, &p->default_stream_config);
    }
    if (p->stream_cipher_op == WR_PATCH_NULL)
        c->stream_cipher = WR_CIPHER_NONE;
    else if (p->stream_cipher_op == WR_PATCH_SET)
        c->stream_cipher = p->stream_cipher;
    if (p->create_stream_on_append_op != WR_PATCH_ABSENT)
        c->create_stream_on_append =
            p->create_stream_on_append_op == WR_PATCH_SET && p->create_stream_on_append;
    if (p->create_stream_on_read_op != WR_PATCH_ABSENT)
        c->create_stream_on_read =
            p->create_stream_on_read_op == WR_PATCH_SET && p->create_stream_on_read;
}

bool
wr_stream_config_equal(const wr_stream_config *a, const wr_stream_config *b)
{
    wr_stream_config x = *a, y = *b;
    normalize(&x);
    normalize(&y);
    return x.storage_class == y.storage_class && x.retention == y.retention &&
           x.retention_age_secs == y.retention_age_secs && x.ts_mode == y.ts_mode &&
           x.has_ts_uncapped == y.has_ts_uncapped && x.ts_uncapped == y.ts_uncapped &&
           x.has_doe == y.has_doe && x.doe_min_age_secs == y.doe_min_age_secs;
}

static bool
stream_config_empty(const wr_stream_config *c)
{
    return !c->storage_class && !c->retention && !c->ts_mode && !c->has_ts_uncapped && !c->has_doe;
}

bool
wr_basin_config_equal(const wr_basin_config *a, const wr_basin_config *b)
{
    /* An all-unset default stream config means the same as none. */
    bool ha = a->has_default_stream_config && !stream_config_empty(&a->default_stream_config);
    bool hb = b->has_default_stream_config && !stream_config_empty(&b->default_stream_config);
    if (ha != hb)
        return false;
    if (ha && !wr_stream_config_equal(&a->default_stream_config, &b->default_stream_config))
        return false;
    return a->stream_cipher == b->stream_cipher &&
           a->create_stream_on_append == b->create_stream_on_append &&
           a->create_stream_on_read == b->create_stream_on_read;
}

static json_t *
str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *
wr_stream_config_to_json(const wr_stream_config *c)
{
    json_t *j = json_object();
    json_object_set_new(j, "storage_class", str_or_null(wr_storage_class_name(c->storage_class)));
    if (c->retention == WR_RETENTION_AGE)
        json_object_set_new(j, "retention_policy",
                            json_pack("{s:I}", "age", (json_int_t)c->retention_age_secs));
    else if (c->retention == WR_RETENTION_INFINITE)
        json_object_set_new(j, "retention_policy", json_pack("{s:{}}", "infinite"));
    else
        json_object_set_new(j, "retention_policy", json_null());
    if (c->ts_mode || c->has_ts_uncapped)
        json_object_set_new(
            j, "timestamping",
            json_pack("{s:o,s:o}", "mode", str_or_null(wr_ts_mode_name(c->ts_mode)), "uncapped",
                      c->has_ts_uncapped ? json_boolean(c->ts_uncapped) : json_null()));
    else
        json_object_set_new(j, "timestamping", json_null());
    if (c->has_doe)
        json_object_set_new(j, "delete_on_empty",
                            json_pack("{s:I}", "min_age_secs", (json_int_t)c->doe_min_age_secs));
    else
        json_object_set_new(j, "delete_on_empty", json_null());
    return j;
}

bool
wr_stream_config_from_json(const json_t *j, wr_stream_config *out)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(j))
        return false;
    json_t *v = json_object_get(j, "storage_class");
    if (v && !json_is_null(v) && !wr_storage_class_parse(json_string_value(v), &out->storage_class))
        return false;
    v = json_object_get(j, "retention_policy");
    if (json_is_object(v)) {
        json_t *age = json_object_get(v, "age");
        if (json_is_integer(age)) {
            out->retention = WR_RETENTION_AGE;
            out->retention_age_secs = (uint64_t)json_integer_value(age);
        } else if (json_object_get(v, "infinite")) {
            out->retention = WR_RETENTION_INFINITE;
        } else {
            return false;
        }
    }
    v = json_object_get(j, "timestamping");
    if (json_is_object(v)) {
        json_t *m = json_object_get(v, "mode");
        if (m && !json_is_null(m) && !wr_ts_mode_parse(json_string_value(m), &out->ts_mode))
            return false;
        json_t *u = json_object_get(v, "uncapped");
        if (json_is_boolean(u)) {
            out->has_ts_uncapped = true;
            out->ts_uncapped = json_is_true(u);
        }
    }
    v = json_object_get(j, "delete_on_empty");
    if (json_is_object(v)) {
        json_t *a = json_object_get(v, "min_age_secs");
        if (json_is_integer(a)) {
            out->has_doe = true;
            out->doe_min_age_secs = (uint64_t)json_integer_value(a);
        }
    }
    return true;
}

json_t *
wr_basin_config_to_json(const wr_basin_config *c)
{
    json_t *j = json_object();
    bool has = c->has_default_stream_config && !stream_config_empty(&c->default_stream_config);
    json_object_set_new(j, "default_stream_config",
                        has ? wr_stream_config_to_json(&c->default_stream_config) : json_null());
    json_object_set_new(j, "stream_cipher", str_or_null(wr_cipher_name(c->stream_cipher)));
    json_object_set_new(j, "create_stream_on_append", json_boolean(c->create_stream_on_append));
    json_object_set_new(j, "create_stream_on_read", json_boolean(c->create_stream_on_read));
    return j;
}

bool
wr_basin_config_from_json(const json_t *j, wr_basin_config *out)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(j))
        return false;
    json_t *v = json_object_get(j, "default_stream_config");
    if (json_is_object(v)) {
        if (!wr_stream_config_from_json(v, &out->default_stream_config))
            return false;
        out->has_default_stream_config = true;
    }
    v = json_object_get(j, "stream_cipher");
    if (v && !json_is_null(v) && !wr_cipher_parse(json_string_value(v), &out->stream_cipher))
        return false;
    out->create_stream_on_append = json_is_true(json_object_get(j, "create_stream_on_append"));
    out->create_stream_on_read = json_is_true(json_object_get(j, "create_stream_on_read"));
    return true;
}
