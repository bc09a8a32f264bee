/*
 * http.c — the HTTP layer of a listener (see http.h): the options and router its connections
 * share, the observation hooks, and the entry point the listener calls for each connection.
 */
#include "http/http.h"

#include <stdlib.h>

#include "http/http1.h"
#include "http/http_int.h"
#include "util/mem.h"

wr_http *
wr_http_new(const wr_http_opts *opts, const wr_router *router)
{
    wr_http *http = wr_xcalloc(1, sizeof(*http));
    http->opts = *opts;
    http->router = router;
    http->req_pool = wr_xcalloc(1, sizeof(*http->req_pool));
    return http;
}

void
wr_http_free(wr_http *http)
{
    if (!http)
        return;
    wr_req_pool_fini(http->req_pool);
    free(http->req_pool);
    free(http);
}

void
wr_http_on_connection(void *ud, wr_conn *c)
{
    wr_http1_attach(c, ud);
}

void
wr_http__req_begin(const wr_http *http, wr_req *req)
{
    req->began = true;
    if (http->opts.req_begin)
        http->opts.req_begin(http->opts.hooks_ud, req);
}

void
wr_http__req_end(const wr_http *http, wr_req *req)
{
    if (http->opts.req_end && (req->began || req->status))
        http->opts.req_end(http->opts.hooks_ud, req);
}
