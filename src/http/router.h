/*
 * router.h — (method, path template) → handler.
 *
 * Templates are literal segments and `{name}` parameters, e.g. "/v1/streams/{stream}/records".
 * A parameter matches exactly one raw path segment; it is percent-decoded only after matching,
 * so an S2 stream name sent as "a%2Fb" arrives as "a/b" without splitting the route. A segment
 * that decodes badly fails the match with 400 bad_path.
 *
 * The router is built once at start-up and read-only afterwards (loop thread only).
 */
#ifndef WR_HTTP_ROUTER_H
#define WR_HTTP_ROUTER_H

#include <stddef.h>

#include "http/req.h"

typedef void (*wr_handler_fn)(wr_req *req, void *ctx);

struct wr_route {
    wr_method method;
    const char *tmpl;
    wr_handler_fn handler;
    void *ctx;
    size_t max_body; /* 0 = the server's default limit */
    /* When set and true for a request, its body is streamed to the handler (see req.h). */
    bool (*stream_body)(const wr_req *req);
};

typedef struct wr_router wr_router;

/* Writes an error answer in a module's own body format (see wr_router_set_error_body). */
typedef void (*wr_error_body_fn)(wr_req *req, wr_err code, const char *msg);

wr_router *wr_router_new(void);
void wr_router_free(wr_router *r);
/* Registers a route; the template string must outlive the router. */
void wr_router_add(wr_router *r, wr_method method, const char *tmpl, wr_handler_fn handler,
                   void *ctx, size_t max_body);

/*
 * Errors on paths under `prefix` (the longest registered prefix wins) are written by `fn`
 * instead of S2's {"code","message"}: those the router and the protocols answer themselves
 * (404, 405, 400 bad_path, 413, 408 …) and every wr_resp_error() of a handler. For APIs with
 * another error format (the realtime layer's {"error"}). At most 8 prefixes; `prefix` must
 * outlive the router.
 */
void wr_router_set_error_body(wr_router *r, const char *prefix, wr_error_body_fn fn);

/* Like wr_router_add, for routes whose body may be streamed when `stream_body` says so. */
void wr_router_add_streaming(wr_router *r, wr_method method, const char *tmpl,
                             wr_handler_fn handler, void *ctx, size_t max_body,
                             bool (*stream_body)(const wr_req *req));

typedef enum wr_match {
    WR_MATCH_OK,
    WR_MATCH_NOT_FOUND,          /* no template matches the path */
    WR_MATCH_METHOD_NOT_ALLOWED, /* templates match, none with this method */
    WR_MATCH_BAD_PATH,           /* a parameter segment is not valid percent-encoding */
} wr_match;

/*
 * Matches req->method and req->path. On WR_MATCH_OK sets req->route and req->params (decoded,
 * in req->arena). On WR_MATCH_METHOD_NOT_ALLOWED writes the comma-separated allowed methods
 * into out_allow (which has room for `allow_len` bytes), adding OPTIONS when `with_options`.
 */
wr_match wr_router_match(const wr_router *r, wr_req *req, char *out_allow, size_t allow_len,
                         int with_options);

/* Marks a CORS preflight in wr_router_route's result (not an error of the table). */
#define WR_ROUTE_PREFLIGHT WR_ERR__COUNT

/*
 * Routes a request whose head is complete (both protocols call this). Returns WR_OK with
 * req->route set, WR_ROUTE_PREFLIGHT for an OPTIONS preflight on a known path (CORS on), or the
 * error to answer once the body has been read: NOT_FOUND, METHOD_NOT_ALLOWED, BAD_PATH.
 * `allow` receives the allowed methods (405 and preflights).
 */
wr_err wr_router_route(const wr_router *r, wr_req *req, char *allow, size_t allow_len);
/* Answers a request that wr_router_route (or the protocol) did not route to a handler. */
void wr_router_answer_unrouted(wr_req *req, wr_err pending, const char *allow);

#endif
