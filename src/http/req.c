/*
 * req.c — request accessors and the protocol-independent response API (see req.h).
 * CORS headers are added here, once, so every response of every protocol carries them.
 */
#include "http/req.h"

#include <ctype.h>
#include <sanitizer/asan_interface.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pct.h"

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static const char *method_names[WR_METHOD__COUNT] = {
    [WR_METHOD_GET] = "GET",         [WR_METHOD_HEAD] = "HEAD",   [WR_METHOD_POST] = "POST",
    [WR_METHOD_PUT] = "PUT",         [WR_METHOD_PATCH] = "PATCH", [WR_METHOD_DELETE] = "DELETE",
    [WR_METHOD_OPTIONS] = "OPTIONS", [WR_METHOD_OTHER] = "OTHER",
};

void
wr_req_init(wr_req *req, const wr_proto_ops *ops, void *proto)
{
    memset(req, 0, sizeof(*req));
    wr_arena_init(&req->arena, 4096);
    wr_buf_init(&req->body);
    req->ops = ops;
    req->proto = proto;
    req->start_ns = wr_clock_mono_ns();
}

static bool
id_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

const char *
wr_req_id(wr_req *req)
{
    if (req->id[0])
        return req->id;
    const char *h = wr_req_header(req, "x-request-id");
    size_t n = h ? strlen(h) : 0;
    bool ok = n > 0 && n <= 36;
    for (size_t i = 0; ok && i < n; i++)
        ok = id_char_ok(h[i]);
    if (ok) {
        memcpy(req->id, h, n + 1);
        return req->id;
    }
    /* A per-process prefix (pid and start) and a counter: unique within the process. */
    static atomic_uint_fast64_t counter;
    static uint32_t prefix;
    if (!prefix)
        prefix = (uint32_t)(((uint64_t)getpid() << 16) ^ wr_clock_now_ms()) | 1u;
    /* "%08x%012llx", written by hand: every request that is logged or answered takes one. */
    static const char hex[] = "0123456789abcdef";
    uint64_t v = atomic_fetch_add(&counter, 1) + 1, hi = prefix;
    for (int i = 7; i >= 0; i--, hi >>= 4)
        req->id[i] = hex[hi & 15];
    for (int i = 19; i >= 8; i--, v >>= 4)
        req->id[i] = hex[v & 15];
    req->id[20] = '\0';
    return req->id;
}

void
wr_req_fini(wr_req *req)
{
    wr_buf_fini(&req->body);
    wr_arena_fini(&req->arena);
}

/* The body buffer a pooled request may keep (a typical JSON append fits). */
#define POOL_BODY_KEEP 4096u

/*
 * AddressSanitizer: a kept request is poisoned but for its arena and body members (the pointers
 * that keep their memory reachable for the leak checker; that memory is poisoned itself), so a
 * stale pointer to the request or into its memory is reported. No-ops in other builds.
 */
_Static_assert(offsetof(wr_req, arena) == 0, "pool_poison: the arena is the first member");

static void
pool_poison(wr_req *req, bool poison)
{
    char *p = (char *)req, *body = (char *)&req->body;
    char *after_arena = p + sizeof(req->arena), *after_body = body + sizeof(req->body);
    if (poison) {
        ASAN_POISON_MEMORY_REGION(after_arena, (size_t)(body - after_arena));
        ASAN_POISON_MEMORY_REGION(after_body, (size_t)(p + sizeof(*req) - after_body));
        if (req->body.data)
            ASAN_POISON_MEMORY_REGION(req->body.data, req->body.cap);
    } else {
        ASAN_UNPOISON_MEMORY_REGION(req, sizeof(*req));
        if (req->body.data)
            ASAN_UNPOISON_MEMORY_REGION(req->body.data, req->body.cap);
    }
}

wr_req *
wr_req_pool_take(wr_req_pool *pool, const wr_proto_ops *ops, void *proto)
{
    if (!pool->n) {
        wr_req *req = wr_xmalloc(sizeof(*req));
        wr_req_init(req, ops, proto);
        return req;
    }
    wr_req *req = pool->free[--pool->n];
    pool_poison(req, false);
    wr_arena arena = req->arena;
    wr_buf body = req->body;
    wr_req_init(req, ops, proto);
    req->arena = arena;
    wr_buf_reset(&body);
    req->body = body;
    return req;
}

void
wr_req_pool_put(wr_req_pool *pool, wr_req *req)
{
    /* Kept only while small: an arena still on its first chunk, a body buffer of a few KiB. */
    if (pool->n == WR_REQ_POOL_MAX || !wr_arena_reset_first(&req->arena) ||
        req->body.cap > POOL_BODY_KEEP) {
        wr_req_fini(req);
        free(req);
        return;
    }
    pool_poison(req, true);
    pool->free[pool->n++] = req;
}

void
wr_req_pool_fini(wr_req_pool *pool)
{
    while (pool->n) {
        wr_req *req = pool->free[--pool->n];
        pool_poison(req, false);
        wr_req_fini(req);
        free(req);
    }
}

wr_method
wr_method_parse(const char *name)
{
    for (int m = 0; m < WR_METHOD_OTHER; m++)
        if (strcmp(name, method_names[m]) == 0)
            return (wr_method)m;
    return WR_METHOD_OTHER;
}

const char *
wr_method_name(wr_method m)
{
    return (unsigned)m < WR_METHOD__COUNT ? method_names[m] : "OTHER";
}

const char *
wr_req_header(const wr_req *req, const char *name)
{
    /* Stored names are lower-case (wr_req_add_header), and so is `name` (req.h). */
    /* The first byte settles most comparisons (a request looks up a dozen names). */
    for (size_t i = 0; i < req->n_headers; i++)
        if (req->headers[i].name[0] == name[0] && strcmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

void
wr_req_add_header(wr_req *req, const char *name, size_t name_len, const char *value,
                  size_t value_len)
{
    /* Grow geometrically inside the arena; old arrays are simply abandoned to it. */
    size_t n = req->n_headers;
    if (n == 0 || (n & (n - 1)) == 0) {
        size_t cap = n ? n * 2 : 16;
        wr_hdr *h = wr_arena_alloc(&req->arena, cap * sizeof(*h));
        if (n)
            memcpy(h, req->headers, n * sizeof(*h));
        req->headers = h;
    }
    char *lname = wr_arena_strndup(&req->arena, name, name_len);
    for (char *p = lname; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* Trim optional whitespace around the value (RFC 9110 §5.5). */
    while (value_len && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        value_len--;
    }
    while (value_len && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        value_len--;
    req->headers[n].name = lname;
    req->headers[n].value = wr_arena_strndup(&req->arena, value, value_len);
    req->n_headers = n + 1;
}

int
wr_req_query(wr_req *req, const char *name, const char **out_value)
{
    if (req->query == NULL)
        return 0;
    size_t name_len = strlen(name);
    const char *p = req->query;
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (klen == name_len && memcmp(p, name, klen) == 0) {
            const char *v = eq ? eq + 1 : p + len;
            size_t vlen = eq ? len - klen - 1 : 0;
            char *out = wr_arena_alloc(&req->arena, vlen + 1);
            size_t out_len;
            if (!wr_pct_decode_to(v, vlen, WR_PCT_QUERY, out, &out_len))
                return -1;
            *out_value = out;
            return 1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* A header value weir may put on the wire: no CR or LF (NUL cannot be in a C string). */
static bool
header_value_safe(const char *v)
{
    return strpbrk(v, "\r\n") == NULL;
}

int
wr_req_query_each(wr_req *req, void (*fn)(void *ud, const char *key, const char *value), void *ud)
{
    int n = 0;
    for (const char *p = req->query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        size_t vlen = eq ? len - klen - 1 : 0;
        char *k = wr_arena_alloc(&req->arena, klen + 1);
        char *v = wr_arena_alloc(&req->arena, vlen + 1);
        size_t kn, vn;
        if (!wr_pct_decode_to(p, klen, WR_PCT_QUERY, k, &kn) ||
            !wr_pct_decode_to(eq ? eq + 1 : p + len, vlen, WR_PCT_QUERY, v, &vn) ||
            strlen(k) != kn || strlen(v) != vn)
            return -1;
        if (klen) {
            fn(ud, k, v);
            n++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return n;
}

void
wr_resp_header(wr_req *req, const char *name, const char *value)
{
    if (!header_value_safe(name) || !header_value_safe(value)) {
        /* A name from outside reached a header unchecked: never emit it (response splitting).
         * A whole answer becomes a 500 (see answer_unsafe); a stream goes on without it. */
        wr_log_error("refused a response header with CR/LF", " name=%s", name);
        req->unsafe_header = true;
        return;
    }
    if (req->n_resp_headers >= WR_RESP_MAX_HEADERS)
        return;
    wr_hdr *h = &req->resp_headers[req->n_resp_headers++];
    h->name = wr_arena_strdup(&req->arena, name);
    h->value = wr_arena_strdup(&req->arena, value);
}

static void
add_cors(wr_req *req)
{
    wr_resp_header(req, "x-request-id", wr_req_id(req));
    if (!req->cors)
        return;
    const char *origin = wr_req_header(req, "origin");
    wr_resp_header(req, "access-control-allow-origin", origin ? origin : "*");
    if (origin)
        wr_resp_header(req, "vary", "origin");
    wr_resp_header(req, "access-control-expose-headers", "*");
}

static const char unsafe_body[] =
    "{\"code\":\"other\",\"message\":\"internal error: refused to write an unsafe response "
    "header\"}";

/* The answer a response with a refused header gets instead: 500 without the handler's headers. */
static void
answer_unsafe(wr_req *req)
{
    req->n_resp_headers = 0;
    wr_resp_header(req, "content-type", "application/json");
    add_cors(req);
    req->ops->send(req, 500, req->resp_headers, req->n_resp_headers, unsafe_body,
                   sizeof(unsafe_body) - 1);
}

void
wr_resp_send(wr_req *req, int status, const char *content_type, const void *body, size_t len)
{
    if (req->responded)
        abort(); /* A second answer is a programming error, never a runtime condition. */
    req->responded = true;
    if (req->unsafe_header) {
        req->status = 500;
        req->resp_bytes = sizeof(unsafe_body) - 1;
        answer_unsafe(req);
        return;
    }
    req->status = status;
    req->resp_bytes = len;
    if (content_type)
        wr_resp_header(req, "content-type", content_type);
    add_cors(req);
    req->ops->send(req, status, req->resp_headers, req->n_resp_headers, body, len);
}

void
wr_resp_json(wr_req *req, int status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (s == NULL) {
        /* Only a string that is not UTF-8 (json_stringn_nocheck) gets here: never a silent
         * empty answer with the handler's status. */
        wr_log_error("response body is not encodable JSON", " status=%d", status);
        wr_resp_error(req, WR_ERR_OTHER, "the response could not be encoded");
        return;
    }
    wr_resp_send(req, status, "application/json", s, strlen(s));
    free(s);
}

void
wr_resp_error(wr_req *req, wr_err code, const char *message)
{
    if (req->error_body) {
        req->error_body(req, code, message && *message ? message : wr_err_code(code));
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(wr_err_code(code)));
    json_object_set_new(o, "message",
                        json_string(message && *message ? message : wr_err_code(code)));
    wr_resp_json(req, wr_err_status(code), o);
}

void
wr_resp_error_from(wr_req *req, const wr_error *err)
{
    wr_resp_error(req, err->code, err->msg);
}

void
wr_resp_start(wr_req *req, int status, const char *content_type)
{
    if (req->responded)
        abort();
    req->responded = true;
    /* A streaming answer with a refused header goes out without it (the handler goes on
     * writing the stream; the 500 of answer_unsafe is for whole answers). */
    req->streaming = true;
    req->status = status;
    if (content_type)
        wr_resp_header(req, "content-type", content_type);
    add_cors(req);
    req->ops->start(req, status, req->resp_headers, req->n_resp_headers);
}

bool
wr_resp_write(wr_req *req, const void *data, size_t len)
{
    wr_iov part = {data, len, NULL};
    req->resp_bytes += len;
    return req->ops->write(req, &part, 1);
}

bool
wr_resp_writev(wr_req *req, const wr_iov *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        req->resp_bytes += parts[i].len;
    return req->ops->write(req, parts, n);
}

void
wr_req_consumed(wr_req *req, size_t n)
{
    if (req->ops->consumed)
        req->ops->consumed(req, n);
}

void
wr_resp_end(wr_req *req)
{
    req->ops->end(req);
}

void
wr_resp_abort(wr_req *req)
{
    req->ops->abort(req);
}

const char *
wr_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 416:
        return "Range Not Satisfiable";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 499:
        return "Client Closed Request";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}
