/*
 * console.c — serves the embedded web console (see console.h, docs/console.md).
 */
#include "console/console.h"

#include <string.h>

const wr_console_asset *
wr_console_find(const char *name)
{
    for (size_t i = 0; i < wr_console_n_assets; i++)
        if (strcmp(wr_console_assets[i].name, name) == 0)
            return &wr_console_assets[i];
    return NULL;
}

const char *
wr_console_content_type(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static const char *
skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool
wr_console_etag_match(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = skip_ows(inm);
    if (strcmp(p, "*") == 0)
        return true;
    while (*p) {
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"')
            return false; /* not an entity tag: the list is malformed */
        const char *end = strchr(p + 1, '"');
        if (!end)
            return false;
        size_t n = (size_t)(end - p) + 1;
        if (n == elen && memcmp(p, etag, n) == 0)
            return true;
        p = skip_ows(end + 1);
        if (*p == '\0')
            break;
        if (*p != ',')
            return false;
        p = skip_ows(p + 1);
    }
    return false;
}

static void
security_headers(wr_req *req)
{
    wr_resp_header(req, "content-security-policy", WR_CONSOLE_CSP);
    wr_resp_header(req, "x-content-type-options", "nosniff");
    wr_resp_header(req, "x-frame-options", "DENY");
    wr_resp_header(req, "referrer-policy", "no-referrer");
    wr_resp_header(req, "cross-origin-opener-policy", "same-origin");
    wr_resp_header(req, "cross-origin-resource-policy", "same-origin");
    wr_resp_header(req, "permissions-policy",
                   "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
}

/* Plain-text errors (404, 405, 400 bad_path, …) for every path under /console. */
static void
error_body(wr_req *req, wr_err code, const char *msg)
{
    (void)msg; /* the router's own words name S2 concepts; a console user gets the status */
    security_headers(req);
    wr_resp_header(req, "cache-control", "no-store");
    int status = wr_err_status(code);
    const char *reason = wr_http_reason(status);
    wr_resp_send(req, status, "text/plain; charset=utf-8", reason, strlen(reason));
}

static void
serve(wr_req *req, const wr_console_asset *a)
{
    if (!a) {
        error_body(req, WR_ERR_NOT_FOUND, NULL);
        return;
    }
    security_headers(req);
    wr_resp_header(req, "cache-control", "no-cache");
    wr_resp_header(req, "etag", a->etag);
    const char *inm = wr_req_header(req, "if-none-match");
    if (inm && wr_console_etag_match(inm, a->etag)) {
        wr_resp_send(req, 304, NULL, NULL, 0);
        return;
    }
    wr_resp_send(req, 200, wr_console_content_type(a->name), a->data, a->len);
}

static void
handle_page(wr_req *req, void *ctx)
{
    (void)ctx;
    serve(req, wr_console_find("index.html"));
}

static void
handle_asset(wr_req *req, void *ctx)
{
    (void)ctx;
    serve(req, wr_console_find(req->params[0]));
}

void
wr_console_register(wr_router *r)
{
    static const char *const pages[] = {"/console", "/console/"};
    static const wr_method methods[] = {WR_METHOD_GET, WR_METHOD_HEAD};
    for (size_t m = 0; m < 2; m++) {
        for (size_t i = 0; i < 2; i++)
            wr_router_add(r, methods[m], pages[i], handle_page, NULL, 0);
        wr_router_add(r, methods[m], "/console/{asset}", handle_asset, NULL, 0);
    }
    wr_router_set_error_body(r, "/console", error_body);
}
