/*
 * common.c — request decoding helpers and S2 error bodies shared by every /v1 handler.
 * The mapping from wr_err to status and code is the error table's (util/err.h); this file only
 * chooses the body shape, which differs for 412 and 416.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s2/s2_int.h"
#include "util/clock.h"

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

void
wr_s2_fail(wr_req *req, const wr_error *err)
{
    wr_resp_error(req, err->code, err->msg);
}

json_t *
wr_s2_pos_json(wr_pos p)
{
    return json_pack("{s:I,s:I}", "seq_num", (json_int_t)p.seq, "timestamp", (json_int_t)p.ts_ms);
}

void
wr_s2_fail_416(wr_req *req, wr_pos tail)
{
    wr_resp_json(req, 416, json_pack("{s:o}", "tail", wr_s2_pos_json(tail)));
}

void
wr_s2_fail_append(wr_req *req, const wr_append_result *res)
{
    switch (res->err) {
    case WR_ERR_SEQ_NUM_MISMATCH:
        wr_resp_json(req, 412, json_pack("{s:I}", "seq_num_mismatch", (json_int_t)res->actual_seq));
        return;
    case WR_ERR_FENCING_TOKEN_MISMATCH:
        wr_resp_json(req, 412,
                     json_pack("{s:s%}", "fencing_token_mismatch", res->actual_token,
                               res->actual_token_len));
        return;
    default:
        wr_resp_error(req, res->err, res->error.msg);
    }
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
    json_t *j = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &je);
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
