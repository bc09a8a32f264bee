/*
 * common.c — request decoding helpers and S2 error bodies shared by every /v1 handler.
 * The mapping from wr_err to status and code is the error table's (util/err.h); this file only
 * chooses the body shape, which differs for 412 and 416.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s2/s2_int.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/utf8.h"

const wr_token *
wr_s2_authn(wr_req *req, wr_s2 *s2)
{
    const wr_token *t = wr_auth_verify(s2->auth, wr_req_header(req, "authorization"));
    if (t == NULL)
        wr_resp_error(req, WR_ERR_AUTHN, "missing, invalid, expired or revoked access token");
    return t;
}

/*
 * Usage: an allowed request is one account or basin operation (store.h, Usage), counted once
 * even when a handler checks several ops (ensure checks create and reconfigure). Appends, reads,
 * trims and fences are counted by the store as data operations. Account operations: those on
 * the account and tokens, metrics and locations; basin operations: the rest (basin and stream
 * configuration, stream listing, check-tail). Every /v1 route's context is the wr_s2.
 */
static void
meter(wr_req *req, wr_op op, const char *basin)
{
    uint8_t code = wr_usage_op_code(wr_op_name(op));
    if (req->op_metered || code == 0 || !req->route || !req->route->ctx)
        return;
    req->op_metered = true;
    wr_s2 *s2 = req->route->ctx;
    bool basin_op = basin && op != WR_OP_CREATE_BASIN && op != WR_OP_DELETE_BASIN &&
                    op != WR_OP_BASIN_METRICS && op != WR_OP_STREAM_METRICS;
    wr_store_usage_op(s2->store, basin_op ? basin : NULL, code);
}

bool
wr_s2_authz(wr_req *req, const wr_token *t, wr_op op, const char *basin, const char *stream,
            const char *token_id)
{
    if (wr_scope_allows(&t->scope, op, basin, stream, token_id)) {
        meter(req, op, basin);
        return true;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "the access token does not permit `%s` on this resource",
             wr_op_name(op));
    wr_resp_error(req, WR_ERR_PERMISSION_DENIED, msg);
    return false;
}

const char *
wr_s2_full_stream(wr_req *req, const wr_token *t, const char *name)
{
    if (!t->auto_prefix)
        return name;
    return wr_arena_printf(&req->arena, "%s%s", t->scope.streams.value, name);
}

const char *
wr_s2_shown_stream(const wr_token *t, const char *stored)
{
    size_t n = strlen(t->scope.streams.value);
    if (t->auto_prefix && strncmp(stored, t->scope.streams.value, n) == 0)
        return stored + n;
    return stored;
}

bool
wr_s2_stream_target(wr_req *req, wr_s2 *s2, wr_op op, const wr_token **out_tok,
                    const char **out_basin, const char **out_stream)
{
    const wr_token *t = wr_s2_authn(req, s2);
    const char *basin = t ? wr_s2_basin(req) : NULL;
    const char *name = basin ? wr_s2_path_stream(req) : NULL;
    if (!name)
        return false;
    const char *stream = wr_s2_full_stream(req, t, name);
    if (t->auto_prefix && strlen(stream) > WR_STREAM_NAME_MAX) {
        wr_resp_error(req, WR_ERR_BAD_PATH, "stream name too long once prefixed");
        return false;
    }
    if (!wr_s2_authz(req, t, op, basin, stream, NULL))
        return false;
    *out_tok = t;
    *out_basin = basin;
    *out_stream = stream;
    return true;
}

bool
wr_s2_narrow_prefix(wr_req *req, const wr_rset *scope, const char *q, const char **out)
{
    q = q ? q : "";
    size_t ql = strlen(q), sl = strlen(scope->value);
    switch (scope->kind) {
    case WR_RSET_PREFIX:
        if (ql >= sl && strncmp(q, scope->value, sl) == 0)
            *out = q;
        else if (sl > ql && strncmp(scope->value, q, ql) == 0)
            *out = wr_arena_strdup(&req->arena, scope->value);
        else
            return false;
        return true;
    case WR_RSET_EXACT:
        if (sl == 0 || sl < ql || strncmp(scope->value, q, ql) != 0)
            return false;
        *out = wr_arena_strdup(&req->arena, scope->value);
        return true;
    default:
        return false;
    }
}

bool
wr_s2_commands_allowed(const wr_token *t, const wr_append_input *in, const char *basin,
                       const char *stream, wr_error *out_err)
{
    for (uint32_t i = 0; i < in->n_records; i++) {
        const wr_append_record *r = &in->records[i];
        if (r->n_headers != 1 || r->headers[0].name_len != 0)
            continue;
        const wr_header *h = &r->headers[0];
        wr_op op;
        if (h->value_len == 5 && memcmp(h->value, "fence", 5) == 0)
            op = WR_OP_FENCE;
        else if (h->value_len == 4 && memcmp(h->value, "trim", 4) == 0)
            op = WR_OP_TRIM;
        else
            continue; /* not a command the store accepts: it answers 422 */
        if (!wr_scope_allows(&t->scope, op, basin, stream, NULL)) {
            wr_error_set(out_err, WR_ERR_PERMISSION_DENIED,
                         "the access token does not permit `%s` on this stream", wr_op_name(op));
            return false;
        }
    }
    return true;
}

const char *
wr_s2_basin(wr_req *req)
{
    const char *b = wr_req_header(req, "s2-basin");
    if (b == NULL) {
        /* Fallback: a Host of the form {basin}.b.{zone}. */
        const char *host = wr_req_header(req, "host");
        const char *dot = host ? strstr(host, ".b.") : NULL;
        if (dot && dot > host && (size_t)(dot - host) <= WR_BASIN_NAME_MAX) {
            char *name = wr_arena_strndup(&req->arena, host, (size_t)(dot - host));
            if (wr_basin_name_valid(name))
                return name;
        }
        wr_resp_error(req, WR_ERR_BAD_HEADER, "Missing header `s2-basin`");
        return NULL;
    }
    if (!wr_basin_name_valid(b)) {
        wr_resp_error(req, WR_ERR_BAD_HEADER, "invalid `s2-basin` header: not a valid basin name");
        return NULL;
    }
    return b;
}

bool
wr_s2_read_format(wr_req *req, wr_s2_format *out)
{
    const char *f = wr_req_header(req, "s2-format");
    if (f == NULL || strcmp(f, "raw") == 0 || strcmp(f, "json") == 0) {
        *out = WR_S2_FORMAT_RAW;
        return true;
    }
    if (strcmp(f, "base64") == 0 || strcmp(f, "json-binsafe") == 0) {
        *out = WR_S2_FORMAT_BASE64;
        return true;
    }
    wr_resp_error(req, WR_ERR_BAD_HEADER, "invalid `s2-format` header: expected raw or base64");
    return false;
}

static void
waiting_closed(wr_req *req)
{
    wr_s2_waiting *w = req->ud;
    w->req = NULL;
}

void *
wr_s2_waiting_new(wr_req *req, size_t size)
{
    wr_s2_waiting *w = wr_xcalloc(1, size);
    w->req = req;
    req->ud = w;
    req->on_close = waiting_closed;
    return w;
}

wr_req *
wr_s2_waiting_req(wr_s2_waiting *w)
{
    if (w->req)
        w->req->on_close = NULL;
    return w->req;
}

void
wr_s2_waiting_answer(wr_s2_waiting *w, wr_err e, const wr_error *detail, int status, json_t *body)
{
    wr_req *req = wr_s2_waiting_req(w);
    if (req && e != WR_OK)
        wr_s2_fail(req, detail);
    else if (req && body)
        wr_resp_json(req, status, body);
    else if (req)
        wr_resp_send(req, status, NULL, NULL, 0);
    if (!req || e != WR_OK)
        json_decref(body);
    free(w);
}

void
wr_s2_waiting_202(void *w, wr_err e, const wr_error *detail)
{
    wr_s2_waiting_answer(w, e, detail, 202, NULL);
}

void
wr_s2_fail(wr_req *req, const wr_error *err)
{
    wr_resp_error(req, err->code, err->msg);
}

void
wr_s2_pos_append(wr_buf *out, wr_pos p)
{
    /* By hand: u64 values above 2^63 do not fit jansson's signed integers. */
    wr_buf_append_str(out, "{\"seq_num\":");
    wr_buf_append_u64(out, p.seq);
    wr_buf_append_str(out, ",\"timestamp\":");
    wr_buf_append_u64(out, p.ts_ms);
    wr_buf_append_byte(out, '}');
}

void
wr_s2_send_tail(wr_req *req, int status, wr_pos tail)
{
    wr_buf b;
    wr_buf_init(&b);
    wr_buf_append_str(&b, "{\"tail\":");
    wr_s2_pos_append(&b, tail);
    wr_buf_append_byte(&b, '}');
    wr_resp_send(req, status, "application/json", b.data, b.len);
    wr_buf_fini(&b);
}

void
wr_s2_fail_416(wr_req *req, wr_pos tail)
{
    wr_s2_send_tail(req, 416, tail);
}

/* Appends {"<key>":"<text>"...}: text as a JSON string, lossily when it is not UTF-8. */
static void
json_text(wr_buf *out, const char *text, size_t len)
{
    wr_buf valid;
    wr_buf_init(&valid);
    if (!wr_utf8_valid(text, len)) {
        wr_utf8_lossy(text, len, &valid);
        text = valid.data;
        len = valid.len;
    }
    json_t *str = json_stringn(text ? text : "", text ? len : 0);
    char *j = json_dumps(str, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(str);
    if (j) /* valid UTF-8 and an aborting allocator: always */
        wr_buf_append_str(out, j);
    else
        wr_buf_append_str(out, "\"\"");
    free(j);
    wr_buf_fini(&valid);
}

void
wr_s2_error_json(wr_buf *out, wr_err code, const char *msg)
{
    if (msg == NULL || *msg == '\0')
        msg = wr_err_code(code);
    wr_buf_printf(out, "{\"code\":\"%s\",\"message\":", wr_err_code(code));
    json_text(out, msg, strlen(msg));
    wr_buf_append_byte(out, '}');
}

int
wr_s2_append_error_json(const wr_append_result *res, wr_buf *out)
{
    switch (res->err) {
    case WR_ERR_SEQ_NUM_MISMATCH:
        wr_buf_printf(out, "{\"seq_num_mismatch\":%llu}", (unsigned long long)res->actual_seq);
        return 412;
    case WR_ERR_FENCING_TOKEN_MISMATCH:
        wr_buf_append_str(out, "{\"fencing_token_mismatch\":");
        json_text(out, res->actual_token, res->actual_token_len);
        wr_buf_append_byte(out, '}');
        return 412;
    default:
        wr_s2_error_json(out, res->err, res->error.msg);
        return wr_err_status(res->err);
    }
}

void
wr_s2_fail_append(wr_req *req, const wr_append_result *res)
{
    wr_buf b;
    wr_buf_init(&b);
    int status = wr_s2_append_error_json(res, &b);
    wr_resp_send(req, status, "application/json", b.data, b.len);
    wr_buf_fini(&b);
}

static bool
is_json_type(const char *ct)
{
    if (ct == NULL)
        return false;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/*
 * jansson holds integers as int64, but S2 numbers are u64. Integer literals in
 * (INT64_MAX, UINT64_MAX] are rewritten as the string "\u0000u64:<digits>", which the u64
 * readers in codec.c accept (no client string can be confused with it where a number is
 * expected: such a field rejects strings). Returns false when nothing needed rewriting.
 */
static bool
rewrite_big_ints(const char *in, size_t len, wr_buf *out)
{
    bool changed = false, in_str = false;
    size_t i = 0;
    while (i < len) {
        char c = in[i];
        if (in_str) {
            wr_buf_append_byte(out, (uint8_t)c);
            if (c == '\\' && i + 1 < len)
                wr_buf_append_byte(out, (uint8_t)in[++i]);
            else if (c == '"')
                in_str = false;
            i++;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c >= '0' && c <= '9') {
            size_t j = i;
            while (j < len && in[j] >= '0' && in[j] <= '9')
                j++;
            /* Only a whole non-negative integer literal, never digits inside a real or after
             * a sign. */
            bool plain = (j == len || (in[j] != '.' && in[j] != 'e' && in[j] != 'E')) &&
                         (i == 0 || strchr(".eE+-", in[i - 1]) == NULL);
            if (plain && j - i >= 19 && j - i <= 20) {
                char digits[24];
                memcpy(digits, in + i, j - i);
                digits[j - i] = '\0';
                errno = 0;
                unsigned long long v = strtoull(digits, NULL, 10);
                if (errno == 0 && v > (unsigned long long)INT64_MAX) {
                    wr_buf_printf(out, "\"\\u0000u64:%s\"", digits);
                    changed = true;
                    i = j;
                    continue;
                }
            }
            wr_buf_append(out, in + i, j - i);
            i = j;
            continue;
        }
        wr_buf_append_byte(out, (uint8_t)c);
        i++;
    }
    return changed;
}

wr_err
wr_s2_append_parse_json(wr_req *req, wr_s2_format fmt, json_t **out_j, wr_s2_append_room *room,
                        wr_s2_append *out, wr_error *out_err)
{
    *out_j = NULL;
    /* The same gate as wr_s2_parse_body's, before the fast decoder may accept anything. */
    if (req->body.len && is_json_type(wr_req_header(req, "content-type")) &&
        wr_s2_append_from_json_fast(req->body.data, req->body.len, fmt, room, out))
        return WR_OK;
    wr_err rc = wr_s2_parse_body(req, false, out_j, out_err);
    if (rc != WR_OK) {
        memset(out, 0, sizeof(*out)); /* wr_s2_append_fini-able */
        return rc;
    }
    return wr_s2_append_from_json(*out_j, fmt, out, out_err);
}

wr_err
wr_s2_parse_body(wr_req *req, bool allow_empty, json_t **out, wr_error *out_err)
{
    *out = NULL;
    if (req->body.len == 0) {
        if (allow_empty)
            return WR_OK;
        return wr_error_set(out_err, WR_ERR_BAD_JSON, "request body is required");
    }
    if (!is_json_type(wr_req_header(req, "content-type")))
        return wr_error_set(out_err, WR_ERR_BAD_JSON,
                            "expected request with `Content-Type: application/json`");
    json_error_t je;
    json_t *j =
        json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (j == NULL && json_error_code(&je) == json_error_numeric_overflow) {
        wr_buf big;
        wr_buf_init(&big);
        if (rewrite_big_ints(req->body.data, req->body.len, &big))
            j = json_loadb(big.data, big.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
        wr_buf_fini(&big);
    }
    if (j == NULL)
        return wr_error_set(out_err, WR_ERR_BAD_JSON, "invalid JSON at line %d column %d: %s",
                            je.line, je.column, je.text);
    if (!json_is_object(j) && !(allow_empty && json_is_null(j))) {
        json_decref(j);
        return wr_error_set(out_err, WR_ERR_BAD_JSON, "expected a JSON object");
    }
    if (json_is_null(j)) {
        json_decref(j);
        return WR_OK;
    }
    *out = j;
    return WR_OK;
}

void
wr_s2_provision_header(wr_req *req, wr_provision p)
{
    wr_resp_header(req, "s2-provision-result",
                   p == WR_PROVISION_CREATED   ? "created"
                   : p == WR_PROVISION_UPDATED ? "updated"
                                               : "noop");
}

json_t *
wr_s2_time_json(bool set, uint64_t ms)
{
    if (!set)
        return json_null();
    char buf[40];
    wr_clock_format_rfc3339(ms, buf);
    return json_string(buf);
}
