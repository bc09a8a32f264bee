/*
 * http.c — the CLI's HTTP client (libcurl easy interface) and the one place that turns
 * answers into exit codes and error lines.
 *
 * One curl handle per process: consecutive requests (append batches, read pages, list pages)
 * reuse its connection. Which base URL and which credential a request gets is decided here
 * from its target (cli_int.h), never by the commands:
 *
 *   target   base URL                                                  credential
 *   ACCOUNT  account endpoint, else basin endpoint, else weir URL      access token, else root
 *   BASIN    basin endpoint, else account endpoint, else weir URL      (the same) + s2-basin
 *   ADMIN    weir URL, else the S2 endpoint without its /v1            root token, else access
 *   API      (as ADMIN)                                                environment key
 *
 * and http://127.0.0.1:4243 (weir's default listen address) when nothing is configured.
 * Answers are buffered up to 256 MiB; streaming answers go to the request's on_data instead.
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_int.h"
#include "util/mem.h"
#include "util/pct.h"

#define DEFAULT_URL "http://127.0.0.1:4243"
#define MAX_BODY (256u << 20)

struct wr_cli_http {
    CURL *curl;
};

void
wr_cli_http_free(wr_cli_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

void
wr_cli_resp_fini(wr_cli_resp *r)
{
    wr_buf_fini(&r->body);
}

/* ---- URLs ------------------------------------------------------------------------------------ */

wr_err
wr_cli_endpoint_norm(const char *in, bool add_v1, wr_buf *out, wr_error *err)
{
    const char *sep = strstr(in, "://");
    if (sep && strncasecmp(in, "http://", 7) != 0 && strncasecmp(in, "https://", 8) != 0)
        return wr_error_set(err, WR_ERR_INVALID, "endpoint %s: only http:// and https://", in);
    size_t start = out->len;
    if (!sep)
        wr_buf_append_str(out, "https://");
    wr_buf_append_str(out, in);
    while (out->len > start && out->data[out->len - 1] == '/')
        out->data[--out->len] = '\0';
    const char *authority = strstr(out->data + start, "://") + 3;
    if (*authority == '\0' || *authority == '/' || strpbrk(authority, " \t\r\n?#"))
        return wr_error_set(err, WR_ERR_INVALID, "endpoint %s: not a URL", in);
    if (add_v1 && !strchr(authority, '/'))
        wr_buf_append_str(out, "/v1");
    return WR_OK;
}

/* Replaces every "{basin}" of tmpl by basin. */
static void
substitute(const char *tmpl, const char *basin, wr_buf *out)
{
    for (const char *p = tmpl; *p;) {
        if (basin && strncmp(p, "{basin}", 7) == 0) {
            wr_buf_append_str(out, basin);
            p += 7;
        } else {
            wr_buf_append_byte(out, (uint8_t)*p++);
        }
    }
}

wr_err
wr_cli_base_url(wr_cli *c, wr_cli_target t, const char *basin, wr_buf *out, wr_error *err)
{
    const char *acct = wr_cli_setting(c, WR_CLI_KEY_ACCOUNT_ENDPOINT, NULL);
    const char *bsn = wr_cli_setting(c, WR_CLI_KEY_BASIN_ENDPOINT, NULL);
    const char *weir = wr_cli_setting(c, WR_CLI_KEY_WEIR_URL, NULL);
    bool templated = bsn && strstr(bsn, "{basin}");
    const char *ep;
    wr_buf tmp = {0};
    wr_err e;
    switch (t) {
    case WR_CLI_ACCOUNT:
        ep = acct ? acct : (bsn && !templated) ? bsn : weir ? weir : DEFAULT_URL;
        e = wr_cli_endpoint_norm(ep, true, out, err);
        break;
    case WR_CLI_BASIN:
        ep = bsn ? bsn : acct ? acct : weir ? weir : DEFAULT_URL;
        substitute(ep, basin, &tmp);
        e = wr_cli_endpoint_norm(tmp.data ? tmp.data : "", true, out, err);
        break;
    default:
        if (weir) {
            e = wr_cli_endpoint_norm(weir, false, out, err);
            break;
        }
        ep = acct ? acct : (bsn && !templated) ? bsn : DEFAULT_URL;
        e = wr_cli_endpoint_norm(ep, true, out, err);
        if (e == WR_OK && out->len >= 3 && strcmp(out->data + out->len - 3, "/v1") == 0)
            out->data[out->len -= 3] = '\0';
        break;
    }
    wr_buf_fini(&tmp);
    return e;
}

static const char *
credential(wr_cli *c, wr_cli_target t, wr_error *err)
{
    const char *tok;
    switch (t) {
    case WR_CLI_ADMIN:
        tok = wr_cli_setting(c, WR_CLI_KEY_ROOT_TOKEN, NULL);
        if (!tok)
            tok = wr_cli_setting(c, WR_CLI_KEY_ACCESS_TOKEN, NULL);
        if (!tok)
            wr_error_set(err, WR_ERR_INVALID,
                         "no root token: use --root-token, WEIR_ROOT_TOKEN or `weir config set "
                         "root_token TOKEN`");
        return tok;
    case WR_CLI_API:
        tok = wr_cli_setting(c, WR_CLI_KEY_API_KEY, NULL);
        if (!tok)
            wr_error_set(err, WR_ERR_INVALID,
                         "no environment key: use --api-key, WEIR_API_KEY or `weir config set "
                         "api_key KEY`");
        return tok;
    default:
        tok = wr_cli_setting(c, WR_CLI_KEY_ACCESS_TOKEN, NULL);
        if (!tok)
            tok = wr_cli_setting(c, WR_CLI_KEY_ROOT_TOKEN, NULL);
        if (!tok)
            wr_error_set(err, WR_ERR_INVALID,
                         "no access token: use --access-token, S2_ACCESS_TOKEN or `weir config "
                         "set access_token TOKEN`");
        return tok;
    }
}

void
wr_cli_query(wr_buf *b, const char *k, const char *v)
{
    wr_buf_append_byte(b, memchr(b->data ? b->data : "", '?', b->len) ? '&' : '?');
    wr_buf_append_str(b, k);
    wr_buf_append_byte(b, '=');
    wr_pct_encode(v, strlen(v), b);
}

void
wr_cli_query_u64(wr_buf *b, const char *k, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
    wr_cli_query(b, k, s);
}

void
wr_cli_seg(wr_buf *b, const char *seg)
{
    wr_buf_append_byte(b, '/');
    wr_pct_encode(seg, strlen(seg), b);
}

void
wr_cli_path(wr_buf *b, const char *prefix, const char *seg, const char *suffix)
{
    wr_buf_append_str(b, prefix);
    wr_cli_seg(b, seg);
    wr_buf_append_str(b, suffix);
}

/* ---- transport ------------------------------------------------------------------------------- */

typedef struct xfer {
    CURL *curl;
    const wr_cli_req *req;
    wr_cli_resp *resp;
    bool too_big;
} xfer;

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    if (x->req->on_data && status >= 200 && status < 300) {
        if (!x->req->on_data(p, len, x->req->ud)) {
            x->resp->stopped = true;
            return 0;
        }
        return len;
    }
    if (x->resp->body.len + len > MAX_BODY) {
        x->too_big = true;
        return 0;
    }
    wr_buf_append(&x->resp->body, p, len);
    return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    static const char name[] = "s2-provision-result:";
    if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        const char *v = p + sizeof(name) - 1;
        size_t vl = len - (sizeof(name) - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        snprintf(x->resp->provision, sizeof(x->resp->provision), "%.*s", (int)vl, v);
    }
    return len;
}

static struct curl_slist *
add_header(struct curl_slist *l, const char *name, const char *value)
{
    wr_buf b = {0};
    wr_buf_printf(&b, "%s: %s", name, value);
    struct curl_slist *r = curl_slist_append(l, b.data);
    wr_buf_fini(&b);
    if (!r) {
        fprintf(stderr, "weir: out of memory\n");
        abort();
    }
    return r;
}

/* The request's headers; the caller frees the list. */
static struct curl_slist *
headers_of(const wr_cli_req *r, const char *tok)
{
    struct curl_slist *h = NULL;
    wr_buf bearer = {0};
    wr_buf_printf(&bearer, "Bearer %s", tok);
    h = add_header(h, "Authorization", bearer.data);
    wr_buf_fini(&bearer);
    if (r->target == WR_CLI_BASIN)
        h = add_header(h, "s2-basin", r->basin);
    if (r->ctype)
        h = add_header(h, "Content-Type", r->ctype);
    h = add_header(h, "Accept", r->accept ? r->accept : "application/json");
    if (r->last_event_id)
        h = add_header(h, "Last-Event-ID", r->last_event_id);
    if (r->s2_format)
        h = add_header(h, "s2-format", r->s2_format);
    if (r->timeout)
        h = add_header(h, "Timeout-Seconds", r->timeout);
    return curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
}

static void
set_options(CURL *curl, const wr_cli_req *r, xfer *x, const char *url, struct curl_slist *h,
            const char *ua, char *errbuf)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (r->stream) {
        /* Servers ping at least every 15 s; 30 s of silence means the connection is gone. */
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
    } else {
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
    }
    if (strcmp(r->method, "GET") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
        strcmp(r->method, "PATCH") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
}

wr_err
wr_cli_http_do(wr_cli *c, const wr_cli_req *r, wr_cli_resp *out, wr_error *err)
{
    memset(out, 0, sizeof(*out));
    wr_buf url = {0};
    const char *tok = credential(c, r->target, err);
    if (!tok || wr_cli_base_url(c, r->target, r->basin, &url, err) != WR_OK) {
        wr_buf_fini(&url);
        return WR_ERR_INVALID;
    }
    wr_buf_append_str(&url, r->path);
    if (!c->http) {
        c->http = wr_xcalloc(1, sizeof(*c->http));
        c->http->curl = curl_easy_init();
    }
    CURL *curl = c->http->curl;
    curl_easy_reset(curl); /* keeps the connection cache */
    char ua[64], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(ua, sizeof(ua), "weir-cli/%s", c->version ? c->version : "0");
    struct curl_slist *h = headers_of(r, tok);
    xfer x = {.curl = curl, .req = r, .resp = out};
    set_options(curl, r, &x, url.data, h, ua, errbuf);
    CURLcode cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    char *ct = NULL;
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(out->ctype, sizeof(out->ctype), "%s", ct);
    wr_err e = WR_OK;
    if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && out->stopped)) {
        e = WR_OK;
    } else if (x.too_big) {
        e = wr_error_set(err, WR_ERR_UNAVAILABLE, "%s: answer larger than 256 MiB", url.data);
    } else {
        /* The URL without its query: it names the server without repeating parameters. */
        char *q = strchr(url.data, '?');
        if (q)
            *q = '\0';
        e = wr_error_set(err, WR_ERR_UNAVAILABLE, "%s %s: %s", r->method, url.data,
                         errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    curl_slist_free_all(h);
    wr_buf_fini(&url);
    return e;
}

/* ---- errors ----------------------------------------------------------------------------------- */

int
wr_cli_fail_http(wr_cli *c, const wr_error *err)
{
    if (err->code == WR_ERR_INVALID)
        return wr_cli_usage(c, "%s", err->msg);
    return wr_cli_fail(c, "%s", err->msg);
}

/* The first line of a non-JSON body, without control characters, at most 200 bytes. */
static void
body_excerpt(const wr_buf *b, char out[208])
{
    size_t o = 0;
    for (size_t i = 0; i < b->len && o < 200; i++) {
        unsigned char ch = (unsigned char)b->data[i];
        if (ch == '\n' || ch == '\r')
            break;
        out[o++] = ch < 0x20 || ch == 0x7F ? '?' : (char)ch;
    }
    out[o] = '\0';
}

int
wr_cli_fail_resp(wr_cli *c, const wr_cli_resp *r)
{
    json_t *j = r->body.len ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    const char *rt = json_string_value(json_object_get(j, "error"));
    json_t *fe = json_object_get(j, "fieldErrors");
    json_t *snm = json_object_get(j, "seq_num_mismatch");
    json_t *ftm = json_object_get(j, "fencing_token_mismatch");
    json_t *tail = json_object_get(json_object_get(j, "tail"), "seq_num");
    wr_buf m = {0};
    if (r->status == 412 && json_is_integer(snm)) {
        code = "seq_num_mismatch";
        wr_buf_printf(&m, "the stream's next seq_num is %lld", (long long)json_integer_value(snm));
    } else if (r->status == 412 && json_is_string(ftm)) {
        code = "fencing_token_mismatch";
        wr_buf_printf(&m, "the stream's fencing token is \"%s\"", json_string_value(ftm));
    } else if (r->status == 416 && json_is_integer(tail)) {
        code = "range_not_satisfiable";
        wr_buf_printf(&m, "the start is past the tail (seq_num %lld)",
                      (long long)json_integer_value(tail));
    } else if (msg || rt) {
        wr_buf_append_str(&m, msg ? msg : rt);
        const char *k;
        json_t *v;
        json_object_foreach(fe, k, v)
        {
            const char *first = json_string_value(json_array_get(v, 0));
            wr_buf_printf(&m, "; %s: %s", k, first ? first : "invalid");
        }
    } else {
        char ex[208];
        body_excerpt(&r->body, ex);
        wr_buf_append_str(&m, ex[0] ? ex : "no details");
    }
    if (c->json) {
        json_t *o = json_pack("{s:I,s:s?,s:s}", "status", (json_int_t)r->status, "code", code,
                              "message", m.data);
        json_object_set(o, "body", j ? j : json_null());
        char *s = json_dumps(o, JSON_COMPACT);
        fprintf(stderr, "%s\n", s);
        free(s);
        json_decref(o);
    } else if (code) {
        wr_cli_fail(c, "%s (%ld): %s", code, r->status, m.data);
    } else {
        wr_cli_fail(c, "HTTP %ld: %s", r->status, m.data);
    }
    wr_buf_fini(&m);
    json_decref(j);
    return WR_CLI_EXIT_FAIL;
}

int
wr_cli_call(wr_cli *c, wr_cli_target t, const char *basin, const char *method, const char *path,
            json_t *body, json_t **out_json, wr_cli_resp *out_resp)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    wr_cli_req r = {
        .target = t,
        .basin = basin,
        .method = method,
        .path = path,
        .ctype = text ? "application/json" : NULL,
        .body = text,
        .body_len = text ? strlen(text) : 0,
    };
    wr_cli_resp resp;
    wr_error err = {0};
    int rc = WR_CLI_EXIT_OK;
    if (out_json)
        *out_json = NULL;
    if (wr_cli_http_do(c, &r, &resp, &err) != WR_OK) {
        rc = wr_cli_fail_http(c, &err);
        goto out;
    }
    if (resp.status < 200 || resp.status > 299) {
        rc = wr_cli_fail_resp(c, &resp);
        goto out;
    }
    if (out_json && resp.body.len) {
        json_error_t je;
        *out_json = json_loadb(resp.body.data, resp.body.len, 0, &je);
        if (!*out_json)
            rc = wr_cli_fail(c, "%s %s: the server's answer is not JSON (%s)", method, path,
                             je.text);
    }
out:
    if (out_resp) {
        *out_resp = resp;
        wr_buf_fini(&out_resp->body);
    } else {
        wr_cli_resp_fini(&resp);
    }
    free(text);
    return rc;
}

int
wr_cli_call_show(wr_cli *c, wr_cli_target t, const char *basin, const char *method,
                 const char *path, json_t *body)
{
    json_t *o = NULL;
    int rc = wr_cli_call(c, t, basin, method, path, body, &o, NULL);
    return wr_cli_show(c, rc, o);
}
