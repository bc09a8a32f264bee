/*
 * http_int.h — what http1.c and http2.c share about their listener's HTTP layer (http.h).
 */
#ifndef WR_HTTP_HTTP_INT_H
#define WR_HTTP_HTTP_INT_H

#include "http/http.h"
#include "http/req.h"

struct wr_http {
    wr_http_opts opts;
    const wr_router *router;
    wr_req_pool *req_pool; /* HTTP/1.1 requests between exchanges (loop thread; req.h) */
};

/* The observation hooks (wr_http_opts.req_begin/req_end); NULL hooks are skipped. req_end runs
 * only for requests that began or were answered. */
void wr_http__req_begin(const wr_http *http, wr_req *req);
void wr_http__req_end(const wr_http *http, wr_req *req);

#endif
