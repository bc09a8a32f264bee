/*
 * codec.c — S2 JSON shapes ↔ store structs.
 *
 * Input rules (s2-api.md §1.4): anything that does not have the documented shape — a wrong
 * type, a missing required field, an unknown enum string, a negative or fractional number — is
 * 400 bad_json; a well-formed value that breaks a semantic rule (a zero retention age, invalid
 * base64 under s2-format: base64) is 422 invalid. Unknown fields are ignored.
 *
 * Output: records are written by hand into a wr_buf (not through jansson) because they are the
 * hot path; a whole batch's encoding is cached in the batch for all of its readers.
 */
#include <stdlib.h>
#include <string.h>

#include "s2/enc_cache.h"
#include "s2/s2_int.h"
#include "util/base64.h"
#include "util/jsonw.h"
#include "util/mem.h"
#include "util/utf8.h"

static wr_err
bad(wr_error *e, const char *field, const char *what)
{
    return wr_error_set(e, WR_ERR_BAD_JSON, "invalid `%s`: %s", field, what);
}

static wr_err
get_u64(const json_t *v, const char *field, uint64_t *out, wr_error *e)
{
    /* Integers above INT64_MAX arrive rewritten by wr_s2_parse_body (see common.c). */
    if (json_is_string(v) && json_string_length(v) > 5 &&
        memcmp(json_string_value(v), "\0u64:", 5) == 0) {
        *out = strtoull(json_string_value(v) + 5, NULL, 10);
        return WR_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return bad(e, field, "expected a non-negative integer");
    *out = (uint64_t)json_integer_value(v);
    return WR_OK;
}

/* 0 = absent, 1 = null, 2 = present (non-null) */
static int
field_state(const json_t *obj, const char *name, json_t **out)
{
    json_t *v = json_object_get(obj, name);
    *out = v;
    if (v == NULL)
        return 0;
    return json_is_null(v) ? 1 : 2;
}

static wr_err
parse_storage_class(const json_t *v, wr_storage_class *out, wr_error *e)
{
    if (!json_is_string(v) || !wr_storage_class_parse(json_string_value(v), out))
        return bad(e, "storage_class", "expected \"standard\" or \"express\"");
    return WR_OK;
}

static wr_err
parse_retention(const json_t *v, wr_retention_kind *kind, uint64_t *age, wr_error *e)
{
    if (!json_is_object(v))
        return bad(e, "retention_policy", "expected an object");
    json_t *a = json_object_get(v, "age");
    json_t *inf = json_object_get(v, "infinite");
    if ((a != NULL) == (inf != NULL))
        return bad(e, "retention_policy", "expected exactly one of `age` or `infinite`");
    if (inf) {
        if (!json_is_object(inf))
            return bad(e, "retention_policy.infinite", "expected an object");
        *kind = WR_RETENTION_INFINITE;
        *age = 0;
        return WR_OK;
    }
    if (get_u64(a, "retention_policy.age", age, e) != WR_OK)
        return WR_ERR_BAD_JSON;
    if (*age == 0)
        return wr_error_set(e, WR_ERR_INVALID, "retention age must be greater than 0 seconds");
    *kind = WR_RETENTION_AGE;
    return WR_OK;
}

static wr_err
parse_ts_mode(const json_t *v, wr_ts_mode *out, wr_error *e)
{
    if (!json_is_string(v) || !wr_ts_mode_parse(json_string_value(v), out))
        return bad(e, "timestamping.mode",
                   "expected \"client-prefer\", \"client-require\" or \"arrival\"");
    return WR_OK;
}

wr_err
wr_s2_stream_config_from_json(const json_t *j, wr_stream_config *out, wr_error *e)
{
    memset(out, 0, sizeof(*out));
    if (j == NULL || json_is_null(j))
        return WR_OK;
    if (!json_is_object(j))
        return bad(e, "config", "expected an object");
    json_t *v;
    wr_err err;
    if (field_state(j, "storage_class", &v) == 2 &&
        (err = parse_storage_class(v, &out->storage_class, e)) != WR_OK)
        return err;
    if (field_state(j, "retention_policy", &v) == 2 &&
        (err = parse_retention(v, &out->retention, &out->retention_age_secs, e)) != WR_OK)
        return err;
    if (field_state(j, "timestamping", &v) == 2) {
        if (!json_is_object(v))
            return bad(e, "timestamping", "expected an object");
        json_t *m, *u;
        if (field_state(v, "mode", &m) == 2 && (err = parse_ts_mode(m, &out->ts_mode, e)) != WR_OK)
            return err;
        if (field_state(v, "uncapped", &u) == 2) {
            if (!json_is_boolean(u))
                return bad(e, "timestamping.uncapped", "expected a boolean");
            out->has_ts_uncapped = true;
            out->ts_uncapped = json_is_true(u);
        }
    }
    if (field_state(j, "delete_on_empty", &v) == 2) {
        if (!json_is_object(v))
            return bad(e, "delete_on_empty", "expected an object");
        json_t *m;
        if (field_state(v, "min_age_secs", &m) == 2) {
            if (get_u64(m, "delete_on_empty.min_age_secs", &out->doe_min_age_secs, e) != WR_OK)
                return WR_ERR_BAD_JSON;
            out->has_doe = true;
        }
    }
    return WR_OK;
}

static wr_err
parse_bool_field(const json_t *j, const char *name, bool *out, wr_error *e)
{
    json_t *v;
    int st = field_state(j, name, &v);
    *out = false;
    if (st == 2) {
        if (!json_is_boolean(v))
            return bad(e, name, "expected a boolean");
        *out = json_is_true(v);
    }
    return WR_OK;
}

static wr_err
parse_cipher(const json_t *v, wr_cipher *out, wr_error *e)
{
    if (!json_is_string(v) || !wr_cipher_parse(json_string_value(v), out))
        return bad(e, "stream_cipher", "expected \"aegis-256\" or \"aes-256-gcm\"");
    return WR_OK;
}

wr_err
wr_s2_basin_config_from_json(const json_t *j, wr_basin_config *out, wr_error *e)
{
    memset(out, 0, sizeof(*out));
    if (j == NULL || json_is_null(j))
        return WR_OK;
    if (!json_is_object(j))
        return bad(e, "config", "expected an object");
    json_t *v;
    wr_err err;
    if (field_state(j, "default_stream_config", &v) == 2) {
        if ((err = wr_s2_stream_config_from_json(v, &out->default_stream_config, e)) != WR_OK)
            return err;
        out->has_default_stream_config = true;
    }
    if (field_state(j, "stream_cipher", &v) == 2 &&
        (err = parse_cipher(v, &out->stream_cipher, e)) != WR_OK)
        return err;
    if ((err = parse_bool_field(j, "create_stream_on_append", &out->create_stream_on_append, e)))
        return err;
    return parse_bool_field(j, "create_stream_on_read", &out->create_stream_on_read, e);
}

static wr_patch_op
op_of(int state)
{
    return state == 0 ? WR_PATCH_ABSENT : state == 1 ? WR_PATCH_NULL : WR_PATCH_SET;
}

/* A boolean patch field `name` of j; `what` names it in errors. */
static wr_err
bool_patch(const json_t *j, const char *name, const char *what, wr_patch_op *op, bool *val,
           wr_error *e)
{
    json_t *v;
    *op = op_of(field_state(j, name, &v));
    if (*op == WR_PATCH_SET) {
        if (!json_is_boolean(v))
            return bad(e, what, "expected a boolean");
        *val = json_is_true(v);
    }
    return WR_OK;
}

wr_err
wr_s2_stream_patch_from_json(const json_t *j, wr_stream_config_patch *out, wr_error *e)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(j))
        return bad(e, "body", "expected an object");
    json_t *v;
    wr_err err;
    out->storage_class_op = op_of(field_state(j, "storage_class", &v));
    if (out->storage_class_op == WR_PATCH_SET &&
        (err = parse_storage_class(v, &out->storage_class, e)) != WR_OK)
        return err;
    out->retention_op = op_of(field_state(j, "retention_policy", &v));
    if (out->retention_op == WR_PATCH_SET &&
        (err = parse_retention(v, &out->retention, &out->retention_age_secs, e)) != WR_OK)
        return err;
    out->timestamping_op = op_of(field_state(j, "timestamping", &v));
    if (out->timestamping_op == WR_PATCH_SET) {
        if (!json_is_object(v))
            return bad(e, "timestamping", "expected an object");
        json_t *m;
        out->ts_mode_op = op_of(field_state(v, "mode", &m));
        if (out->ts_mode_op == WR_PATCH_SET && (err = parse_ts_mode(m, &out->ts_mode, e)))
            return err;
        if ((err = bool_patch(v, "uncapped", "timestamping.uncapped", &out->ts_uncapped_op,
                              &out->ts_uncapped, e)) != WR_OK)
            return err;
    }
    out->doe_op = op_of(field_state(j, "delete_on_empty", &v));
    if (out->doe_op == WR_PATCH_SET) {
        if (!json_is_object(v))
            return bad(e, "delete_on_empty", "expected an object");
        json_t *m;
        out->doe_min_age_op = op_of(field_state(v, "min_age_secs", &m));
        if (out->doe_min_age_op == WR_PATCH_SET &&
            get_u64(m, "delete_on_empty.min_age_secs", &out->doe_min_age_secs, e) != WR_OK)
            return WR_ERR_BAD_JSON;
    }
    return WR_OK;
}

wr_err
wr_s2_basin_patch_from_json(const json_t *j, wr_basin_config_patch *out, wr_error *e)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(j))
        return bad(e, "body", "expected an object");
    json_t *v;
    wr_err err;
    out->default_stream_config_op = op_of(field_state(j, "default_stream_config", &v));
    if (out->default_stream_config_op == WR_PATCH_SET &&
        (err = wr_s2_stream_patch_from_json(v, &out->default_stream_config, e)) != WR_OK)
        return err;
    out->stream_cipher_op = op_of(field_state(j, "stream_cipher", &v));
    if (out->stream_cipher_op == WR_PATCH_SET &&
        (err = parse_cipher(v, &out->stream_cipher, e)) != WR_OK)
        return err;
    if ((err = bool_patch(j, "create_stream_on_append", "create_stream_on_append",
                          &out->create_stream_on_append_op, &out->create_stream_on_append, e)))
        return err;
    return bool_patch(j, "create_stream_on_read", "create_stream_on_read",
                      &out->create_stream_on_read_op, &out->create_stream_on_read, e);
}

/* --- append input ------------------------------------------------------------------------ */

/* Bytes of a JSON string value, decoded per format into `bytes` (reserved up front). */
static wr_err
take_bytes(const json_t *v, const char *field, wr_s2_format fmt, wr_buf *bytes, const uint8_t **out,
           size_t *out_len, wr_error *e)
{
    if (!json_is_string(v))
        return bad(e, field, "expected a string");
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (fmt == WR_S2_FORMAT_RAW) {
        *out = (const uint8_t *)s;
        *out_len = len;
        return WR_OK;
    }
    uint8_t *dst = (uint8_t *)bytes->data + bytes->len;
    size_t n;
    if (!wr_base64_decode_to(s, len, dst, &n))
        return wr_error_set(e, WR_ERR_INVALID, "invalid base64 in `%s`", field);
    bytes->len += n;
    *out = dst;
    *out_len = n;
    return WR_OK;
}

/* Upper bound of decoded bytes for every string in the records (base64 only). */
static size_t
decoded_bound(const json_t *records)
{
    size_t total = 0, i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        json_t *body = json_object_get(r, "body");
        if (json_is_string(body))
            total += wr_base64_decoded_max(json_string_length(body));
        json_t *hs = json_object_get(r, "headers");
        size_t k;
        json_t *h;
        if (json_is_array(hs))
            json_array_foreach(hs, k, h)
            {
                for (size_t m = 0; m < 2 && json_is_array(h); m++)
                    if (json_is_string(json_array_get(h, m)))
                        total += wr_base64_decoded_max(json_string_length(json_array_get(h, m)));
            }
    }
    return total;
}

static wr_err
parse_record(const json_t *r, wr_s2_format fmt, wr_s2_append *a, wr_append_record *out,
             size_t *hdr_used, wr_error *e)
{
    if (!json_is_object(r))
        return bad(e, "records", "expected an array of objects");
    json_t *v;
    wr_err err;
    memset(out, 0, sizeof(*out));
    if (field_state(r, "timestamp", &v) == 2) {
        if ((err = get_u64(v, "timestamp", &out->ts_ms, e)) != WR_OK)
            return err;
        out->has_ts = true;
    }
    if (field_state(r, "headers", &v) == 2) {
        if (!json_is_array(v))
            return bad(e, "headers", "expected an array of [name, value] pairs");
        out->headers = a->headers + *hdr_used;
        size_t k;
        json_t *h;
        json_array_foreach(v, k, h)
        {
            if (!json_is_array(h) || json_array_size(h) != 2)
                return bad(e, "headers", "expected an array of [name, value] pairs");
            wr_header *hd = &a->headers[(*hdr_used)++];
            if ((err = take_bytes(json_array_get(h, 0), "headers", fmt, &a->bytes, &hd->name,
                                  &hd->name_len, e)) != WR_OK ||
                (err = take_bytes(json_array_get(h, 1), "headers", fmt, &a->bytes, &hd->value,
                                  &hd->value_len, e)) != WR_OK)
                return err;
            out->n_headers++;
        }
    }
    if (field_state(r, "body", &v) == 2 &&
        (err = take_bytes(v, "body", fmt, &a->bytes, &out->body, &out->body_len, e)) != WR_OK)
        return err;
    return WR_OK;
}

wr_err
wr_s2_append_from_json(const json_t *j, wr_s2_format fmt, wr_s2_append *a, wr_error *e)
{
    memset(a, 0, sizeof(*a));
    wr_buf_init(&a->bytes);
    json_t *records = json_object_get(j, "records");
    if (!json_is_array(records))
        return bad(e, "records", "expected an array");
    size_t n = json_array_size(records), n_headers = 0, i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        json_t *hs = json_object_get(r, "headers");
        if (json_is_array(hs))
            n_headers += json_array_size(hs);
    }
    a->records = wr_xcalloc(n ? n : 1, sizeof(wr_append_record));
    a->headers = wr_xcalloc(n_headers ? n_headers : 1, sizeof(wr_header));
    if (fmt == WR_S2_FORMAT_BASE64)
        wr_buf_reserve(&a->bytes, decoded_bound(records) + 1);
    size_t hdr_used = 0;
    wr_err err;
    json_array_foreach(records, i, r)
    {
        if ((err = parse_record(r, fmt, a, &a->records[i], &hdr_used, e)) != WR_OK)
            return err;
    }
    a->in.records = a->records;
    a->in.n_records = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
    json_t *v;
    if (field_state(j, "match_seq_num", &v) == 2) {
        if ((err = get_u64(v, "match_seq_num", &a->in.match_seq, e)) != WR_OK)
            return err;
        a->in.has_match_seq = true;
    }
    if (field_state(j, "fencing_token", &v) == 2) {
        if (!json_is_string(v))
            return bad(e, "fencing_token", "expected a string");
        a->fencing_token = wr_xstrndup(json_string_value(v), json_string_length(v));
        a->in.fencing_token = a->fencing_token;
        a->in.fencing_token_len = json_string_length(v);
    }
    return WR_OK;
}

void
wr_s2_append_fini(wr_s2_append *a)
{
    if (!a->room || a->records != a->room->records)
        free(a->records);
    free(a->headers);
    free(a->fencing_token);
    wr_buf_fini(&a->bytes);
    if (a->owned && a->owned_free)
        a->owned_free(a->owned);
    memset(a, 0, sizeof(*a));
}

/* --- records output ---------------------------------------------------------------------- */

static void
put_bytes(wr_buf *out, const uint8_t *p, size_t len, wr_s2_format fmt, wr_buf *scratch)
{
    if (fmt == WR_S2_FORMAT_BASE64) {
        wr_buf_append_byte(out, '"');
        wr_base64_encode(p, len, out);
        wr_buf_append_byte(out, '"');
        return;
    }
    if (wr_utf8_valid(p, len)) {
        wr_jw_quote(out, p, len);
        return;
    }
    wr_buf_reset(scratch);
    wr_utf8_lossy(p, len, scratch);
    wr_jw_quote(out, scratch->data, scratch->len);
}

void
wr_s2_records_json(wr_buf *out, const wr_record *recs, size_t n, wr_s2_format fmt)
{
    wr_buf scratch;
    wr_buf_init(&scratch);
    for (size_t i = 0; i < n; i++) {
        const wr_record *r = &recs[i];
        wr_buf_printf(out, "%s{\"seq_num\":%llu,\"timestamp\":%llu", i ? "," : "",
                      (unsigned long long)r->seq, (unsigned long long)r->ts_ms);
        if (r->n_headers) {
            wr_buf_append_str(out, ",\"headers\":[");
            for (uint32_t h = 0; h < r->n_headers; h++) {
                wr_buf_append_str(out, h ? ",[" : "[");
                put_bytes(out, r->headers[h].name, r->headers[h].name_len, fmt, &scratch);
                wr_buf_append_byte(out, ',');
                put_bytes(out, r->headers[h].value, r->headers[h].value_len, fmt, &scratch);
                wr_buf_append_byte(out, ']');
            }
            wr_buf_append_byte(out, ']');
        }
        if (r->body_len) {
            wr_buf_append_str(out, ",\"body\":");
            put_bytes(out, r->body, r->body_len, fmt, &scratch);
        }
        wr_buf_append_byte(out, '}');
    }
    wr_buf_fini(&scratch);
}

static void
free_buf(void *p)
{
    wr_buf *b = p;
    wr_buf_fini(b);
    free(b);
}

const wr_buf *
wr_s2_batch_json(wr_batch *b, wr_s2_format fmt)
{
    wr_s2_enc_slot slot = fmt == WR_S2_FORMAT_BASE64 ? WR_S2_ENC_JSON_BASE64 : WR_S2_ENC_JSON_RAW;
    wr_buf *enc = wr_s2_enc_get(b, slot);
    if (enc)
        return enc;
    enc = wr_xcalloc(1, sizeof(*enc));
    wr_s2_records_json(enc, b->records, b->n_records, fmt);
    wr_s2_enc_set(b, slot, enc, free_buf);
    return enc;
}
