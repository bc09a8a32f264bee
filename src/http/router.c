/*
 * router.c — linear template matching. weir has a few dozen routes, and a match costs a
 * handful of segment comparisons per route, far below the cost of parsing the request.
 */
#include "http/router.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/pct.h"

#define MAX_ERROR_BODIES 8

struct wr_router {
    wr_route *routes;
    size_t n;
    struct {
        const char *prefix;
        wr_error_body_fn fn;
    } error_bodies[MAX_ERROR_BODIES];
    size_t n_error_bodies;
};

void
wr_router_set_error_body(wr_router *r, const char *prefix, wr_error_body_fn fn)
{
    if (r->n_error_bodies == MAX_ERROR_BODIES)
        abort(); /* a start-up programming error */
    r->error_bodies[r->n_error_bodies].prefix = prefix;
    r->error_bodies[r->n_error_bodies++].fn = fn;
}

/* The error writer for req's path: the longest matching prefix's, or NULL. */
static wr_error_body_fn
error_body_for(const wr_router *r, const char *path)
{
    wr_error_body_fn fn = NULL;
    size_t best = 0;
    for (size_t i = 0; i < r->n_error_bodies; i++) {
        size_t n = strlen(r->error_bodies[i].prefix);
        if (n > best && strncmp(path, r->error_bodies[i].prefix, n) == 0) {
            fn = r->error_bodies[i].fn;
            best = n;
        }
    }
    return fn;
}

wr_router *
wr_router_new(void)
{
    return wr_xcalloc(1, sizeof(wr_router));
}

void
wr_router_free(wr_router *r)
{
    if (r == NULL)
        return;
    free(r->routes);
    free(r);
}

void
wr_router_add(wr_router *r, wr_method method, const char *tmpl, wr_handler_fn handler, void *ctx,
              size_t max_body)
{
    r->routes = wr_xrealloc(r->routes, (r->n + 1) * sizeof(wr_route));
    r->routes[r->n++] = (wr_route){method, tmpl, handler, ctx, max_body, NULL};
}

void
wr_router_add_streaming(wr_router *r, wr_method method, const char *tmpl, wr_handler_fn handler,
                        void *ctx, size_t max_body, bool (*stream_body)(const wr_req *req))
{
    wr_router_add(r, method, tmpl, handler, ctx, max_body);
    r->routes[r->n - 1].stream_body = stream_body;
}

/* Next segment of s starting at *pos ('/' already skipped); returns its length. */
static size_t
segment(const char *s, size_t *pos)
{
    size_t start = *pos, i = start;
    while (s[i] && s[i] != '/')
        i++;
    *pos = i;
    return i - start;
}

/*
 * Matches one template against the path. Records the raw spans of parameters in spans/lens.
 * Returns true on a structural match.
 */
static bool
match_tmpl(const char *tmpl, const char *path, const char **spans, size_t *lens, size_t *out_n)
{
    size_t tp = 0, pp = 0, n = 0;
    for (;;) {
        if (tmpl[tp] != path[pp] || tmpl[tp] != '/')
            return tmpl[tp] == '\0' && path[pp] == '\0';
        tp++;
        pp++;
        size_t ts = tp, ps = pp;
        size_t tl = segment(tmpl, &tp), pl = segment(path, &pp);
        if (tl >= 2 && tmpl[ts] == '{' && tmpl[ts + tl - 1] == '}') {
            if (pl == 0 || n >= WR_REQ_MAX_PARAMS)
                return false;
            spans[n] = path + ps;
            lens[n++] = pl;
        } else if (tl != pl || memcmp(tmpl + ts, path + ps, tl) != 0) {
            return false;
        }
        if (tmpl[tp] == '\0' && path[pp] == '\0') {
            *out_n = n;
            return true;
        }
    }
}

wr_match
wr_router_match(const wr_router *r, wr_req *req, char *out_allow, size_t allow_len,
                int with_options)
{
    const char *spans[WR_REQ_MAX_PARAMS];
    size_t lens[WR_REQ_MAX_PARAMS];
    size_t n_params = 0;
    bool path_matched = false;
    bool allowed[WR_METHOD__COUNT] = {false};

    /* The routes of the request's method first: the first that matches wins. Only when none
     * does are the others matched, to tell 405 (with Allow) from 404. */
    for (size_t i = 0; i < 2 * r->n; i++) {
        bool first_pass = i < r->n;
        const wr_route *rt = &r->routes[first_pass ? i : i - r->n];
        if ((rt->method == req->method) != first_pass)
            continue;
        size_t n = 0;
        if (!match_tmpl(rt->tmpl, req->path, spans, lens, &n))
            continue;
        path_matched = true;
        allowed[rt->method] = true;
        if (rt->method != req->method)
            continue;
        n_params = n;
        for (size_t k = 0; k < n_params; k++) {
            char *out = wr_arena_alloc(&req->arena, lens[k] + 1);
            size_t out_len;
            /* A NUL would silently truncate the C string: no name in weir may hold one. */
            if (!wr_pct_decode_to(spans[k], lens[k], WR_PCT_PATH, out, &out_len) ||
                memchr(out, '\0', out_len) != NULL)
                return WR_MATCH_BAD_PATH;
            req->params[k] = out;
        }
        req->n_params = n_params;
        req->route = rt;
        return WR_MATCH_OK;
    }
    if (!path_matched)
        return WR_MATCH_NOT_FOUND;
    if (out_allow && allow_len) {
        out_allow[0] = '\0';
        size_t used = 0;
        if (with_options)
            allowed[WR_METHOD_OPTIONS] = true;
        for (int m = 0; m < WR_METHOD_OTHER; m++) {
            if (!allowed[m])
                continue;
            const char *name = wr_method_name((wr_method)m);
            size_t need = strlen(name) + (used ? 2 : 0);
            if (used + need + 1 > allow_len)
                break;
            if (used) {
                memcpy(out_allow + used, ", ", 2);
                used += 2;
            }
            memcpy(out_allow + used, name, strlen(name) + 1);
            used += strlen(name);
        }
    }
    return WR_MATCH_METHOD_NOT_ALLOWED;
}

wr_err
wr_router_route(const wr_router *r, wr_req *req, char *allow, size_t allow_len)
{
    req->error_body = error_body_for(r, req->path);
    wr_match m = wr_router_match(r, req, allow, allow_len, req->cors);
    if (m == WR_MATCH_OK)
        return WR_OK;
    if (req->method == WR_METHOD_OPTIONS && req->cors && m != WR_MATCH_NOT_FOUND)
        return WR_ROUTE_PREFLIGHT;
    return m == WR_MATCH_NOT_FOUND            ? WR_ERR_NOT_FOUND
           : m == WR_MATCH_METHOD_NOT_ALLOWED ? WR_ERR_METHOD_NOT_ALLOWED
                                              : WR_ERR_BAD_PATH;
}

void
wr_router_answer_unrouted(wr_req *req, wr_err pending, const char *allow)
{
    switch (pending) {
    case WR_ROUTE_PREFLIGHT: {
        wr_resp_header(req, "access-control-allow-methods", allow);
        const char *rh = wr_req_header(req, "access-control-request-headers");
        wr_resp_header(req, "access-control-allow-headers", rh ? rh : "*");
        wr_resp_header(req, "access-control-max-age", "86400");
        wr_resp_send(req, 204, NULL, NULL, 0);
        return;
    }
    case WR_ERR_METHOD_NOT_ALLOWED:
        wr_resp_header(req, "allow", allow);
        wr_resp_error(req, pending, "method not allowed for this path");
        return;
    case WR_ERR_NOT_FOUND:
        wr_resp_error(req, pending, "no such route");
        return;
    case WR_ERR_BAD_PATH:
        wr_resp_error(req, pending, "malformed percent-encoding in path");
        return;
    case WR_ERR_PAYLOAD_TOO_LARGE:
        wr_resp_error(req, pending, "request body is too large");
        return;
    case WR_ERR_HEADERS_TOO_LARGE:
        wr_resp_error(req, pending, "request head is too large");
        return;
    default:
        wr_resp_error(req, pending, "malformed request");
    }
}
