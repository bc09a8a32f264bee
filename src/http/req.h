/*
 * req.h — a protocol-independent HTTP request and its response.
 *
 * Handlers see only wr_req: they never know whether it arrived over HTTP/1.1 or HTTP/2. The
 * protocol layer (http1.c, http2.c) fills the request, calls the route's handler once the
 * whole body has arrived (at once, for a streamed body: see on_body), and implements the
 * response through wr_proto_ops.
 *
 * Lifetime and ownership:
 * - The protocol owns the wr_req. Everything hanging off it (path, query, headers, params, body)
 *   lives in req->arena and dies with the request.
 * - A handler answers exactly once: wr_resp_send()/wr_resp_json()/wr_resp_error(), or
 *   wr_resp_start() followed by wr_resp_write()* and wr_resp_end(). It may answer later, from
 *   another loop callback, but only on the loop thread.
 * - After the answer is complete (send, or end), the request is gone: the handler must not touch
 *   it again.
 * - If the client goes away (or the server force-closes) before the answer is complete,
 *   req->on_close is called once (if set); after it returns the request is freed and any
 *   resp call on it is forbidden. A handler with pending async work sets on_close to detach.
 * - Streaming: wr_resp_write() returns false when the client is not keeping up (unsent bytes over
 *   the connection's high-water mark; with HTTP/2, also the stream's). The handler should stop
 *   producing until req->on_drain is called. Writing anyway is allowed but buffers memory.
 * - On graceful shutdown, req->on_shutdown (if set) asks a streaming handler to end its response
 *   soon (e.g. an SSE session sends its last event and calls wr_resp_end()).
 */
#ifndef WR_HTTP_REQ_H
#define WR_HTTP_REQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/rbuf.h"

typedef enum wr_method {
    WR_METHOD_GET,
    WR_METHOD_HEAD,
    WR_METHOD_POST,
    WR_METHOD_PUT,
    WR_METHOD_PATCH,
    WR_METHOD_DELETE,
    WR_METHOD_OPTIONS,
    WR_METHOD_OTHER,
    WR_METHOD__COUNT
} wr_method;

#define WR_REQ_MAX_PARAMS 8
#define WR_RESP_MAX_HEADERS 24

typedef struct wr_hdr {
    const char *name; /* lower-case */
    const char *value;
} wr_hdr;

typedef struct wr_req wr_req;
typedef struct wr_route wr_route;

/* Implemented by each protocol. `headers` excludes framing headers, which the protocol adds. */
typedef struct wr_proto_ops {
    void (*send)(wr_req *req, int status, const wr_hdr *headers, size_t n_headers, const void *body,
                 size_t len);
    void (*start)(wr_req *req, int status, const wr_hdr *headers, size_t n_headers);
    /* Body pieces of a streaming answer; shared pieces (ref) are referenced, not copied. */
    bool (*write)(wr_req *req, const wr_iov *parts, size_t n);
    void (*end)(wr_req *req);
    void (*abort)(wr_req *req);
    /* Streaming request bodies: the handler has processed n bytes (flow-control credit). */
    void (*consumed)(wr_req *req, size_t n);
} wr_proto_ops;

struct wr_req {
    wr_arena arena;
    wr_method method;
    const char *method_name;
    char *path;  /* raw (still percent-encoded), without the query */
    char *query; /* raw, without '?'; NULL when absent */
    wr_hdr *headers;
    size_t n_headers;
    wr_buf body;

    const struct sockaddr *peer; /* the connection's client address (family 0 when unknown) */

    const wr_route *route;
    /* Set by routing: errors of this path are written in its API's format (router.h). */
    void (*error_body)(wr_req *req, wr_err code, const char *msg);
    const char *params[WR_REQ_MAX_PARAMS]; /* percent-decoded path parameters */
    size_t n_params;

    /* Handler-owned. */
    void *ud;
    bool op_metered; /* s2: the request's operation was counted in the usage series */
    void (*on_close)(wr_req *req);
    void (*on_drain)(wr_req *req);
    void (*on_shutdown)(wr_req *req);
    /*
     * Streaming request bodies (routes registered with a stream_body predicate that returned
     * true): the handler runs as soon as the head has arrived, with body_streaming set, and
     * receives the body through on_body (data valid during the call) and on_body_end. It calls
     * wr_req_consumed() for bytes it has finished with, which lets the peer send more (HTTP/2
     * flow control); unconsumed bytes make the peer stop. Over HTTP/1.1 the body is buffered
     * first and then delivered the same way.
     */
    bool body_streaming;
    void (*on_body)(wr_req *req, const void *data, size_t len);
    void (*on_body_end)(wr_req *req);

    /* Response state, shared with the protocol. */
    bool cors;
    bool unsafe_header; /* wr_resp_header refused a value (CR/LF): a whole answer becomes 500 */
    bool responded;     /* send or start happened */
    bool streaming;
    /* Observation (access log, Prometheus): set by req.c, read when the request ends. */
    uint64_t start_ns;   /* wr_req_init, monotonic */
    int status;          /* 0 until answered */
    uint64_t resp_bytes; /* body bytes handed to the protocol */
    char id[40];         /* the request id (wr_req_id), "" until first asked for */
    bool began;          /* the request_begin hook ran (http/http_int.h) */
    wr_hdr resp_headers[WR_RESP_MAX_HEADERS];
    size_t n_resp_headers;

    /* Protocol-private. */
    const wr_proto_ops *ops;
    void *proto;
};

void wr_req_init(wr_req *req, const wr_proto_ops *ops, void *proto);

/*
 * A bounded free list of finished requests, for a protocol that allocates one per exchange
 * (HTTP/1.1). A request handed back keeps its arena's first chunk and a small body buffer, so
 * the next exchange starts without allocating; requests that grew bigger are freed instead.
 * One thread only (the listener's loop). A zeroed pool is empty and valid.
 */
#define WR_REQ_POOL_MAX 64
typedef struct wr_req_pool {
    wr_req *free[WR_REQ_POOL_MAX];
    size_t n;
} wr_req_pool;
/* A request ready for wr_req_init's state (from the pool, or newly allocated). */
wr_req *wr_req_pool_take(wr_req_pool *pool, const wr_proto_ops *ops, void *proto);
/* Ends a request taken from the pool (wr_req_fini's effects): kept for reuse or freed. */
void wr_req_pool_put(wr_req_pool *pool, wr_req *req);
/* Frees every kept request. */
void wr_req_pool_fini(wr_req_pool *pool);
/*
 * The request id: the client's `x-request-id` when it is 1–36 characters of [A-Za-z0-9._-],
 * else one made up here (unique in the process). Every answer carries it as `x-request-id`;
 * the access log prints it. Valid while the request lives.
 */
const char *wr_req_id(wr_req *req);
/* Frees the arena and body. Does not call callbacks. */
void wr_req_fini(wr_req *req);

wr_method wr_method_parse(const char *name);
const char *wr_method_name(wr_method m);

/* Header lookup by lower-case `name` (header names are case-insensitive; the request's are
 * stored lower-cased); NULL when absent. The first occurrence wins. */
const char *wr_req_header(const wr_req *req, const char *name);
/* Adds a request header (copies into the arena, lower-cases the name). */
void wr_req_add_header(wr_req *req, const char *name, size_t name_len, const char *value,
                       size_t value_len);
/*
 * Looks up a query parameter, percent-decoding the value (query mode: '+' is a space).
 * Returns 1 and sets *out_value (arena) when present, 0 when absent, -1 when the value is
 * malformed percent-encoding.
 */
int wr_req_query(wr_req *req, const char *name, const char **out_value);
/*
 * Calls fn for every `key=value` pair of the query in order, both percent-decoded (query mode)
 * into the arena; pairs with an empty key are skipped. Returns the number of pairs, or -1 (after
 * calling fn for the pairs before it) when a key or value is malformed or decodes to a NUL.
 */
int wr_req_query_each(wr_req *req, void (*fn)(void *ud, const char *key, const char *value),
                      void *ud);

/*
 * Adds a response header (both strings copied into the arena); before send/start only. A name
 * or value containing CR or LF is never written: it is dropped and logged, and a later
 * wr_resp_send() answers 500 instead (defence in depth against response splitting; names from
 * outside must be validated at the edge).
 */
void wr_resp_header(wr_req *req, const char *name, const char *value);
void wr_resp_send(wr_req *req, int status, const char *content_type, const void *body, size_t len);
/* Serialises `body` compactly and sends it as application/json; steals the reference. A body
 * jansson cannot encode (a string that is not UTF-8) is answered 500 instead, and logged. */
void wr_resp_json(wr_req *req, int status, json_t *body);
/* {"code":…, "message":…} with the table's status. An empty message uses the code. Under a
 * prefix with its own error format (wr_router_set_error_body, set by routing), that format. */
void wr_resp_error(wr_req *req, wr_err code, const char *message);
void wr_resp_error_from(wr_req *req, const wr_error *err);

/* Gives the peer credit for n bytes of a streaming request body. */
void wr_req_consumed(wr_req *req, size_t n);

void wr_resp_start(wr_req *req, int status, const char *content_type);
bool wr_resp_write(wr_req *req, const void *data, size_t len);
/* Writes pieces as one; shared pieces are referenced instead of copied (see rbuf.h), so many
 * answers queueing the same encoded bytes hold one copy. At most WR_CONN_MAX_IOV - 2 pieces. */
bool wr_resp_writev(wr_req *req, const wr_iov *parts, size_t n);
void wr_resp_end(wr_req *req);
/*
 * Ends a started streaming answer as a failure instead of a completion: the client sees a dropped
 * connection (HTTP/1.1: the connection closes after what is queued, without the terminating
 * chunk; HTTP/2: the stream is reset), never a finished body. For a server going away while a
 * client should reconnect and resume. Afterwards the request is gone, as after wr_resp_end().
 */
void wr_resp_abort(wr_req *req);

const char *wr_http_reason(int status);

#endif
