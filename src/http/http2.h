/*
 * http2.h — HTTP/2 over cleartext with prior knowledge (h2c), on the same port as HTTP/1.1.
 * http1.c hands a connection over when its first bytes are the HTTP/2 connection preface.
 *
 * Each HTTP/2 stream becomes one wr_req; handlers cannot tell it from HTTP/1.1. Flow control is
 * honoured both ways: response bytes wait in a per-stream queue (shared pieces by reference)
 * until the peer's window admits them, and wr_resp_write() reports congestion once the stream's
 * queue, or the connection's over all streams, passes a high-water mark; request bodies are
 * acknowledged (WINDOW_UPDATE) only as streaming handlers consume them, and buffered ones only
 * within a per-connection budget. The listener's HTTP timeouts (http.h) apply per stream (header, body) and per
 * connection (first request head, idle). http2.c's header gives the limits and the memory bound
 * per connection that follows from them.
 */
#ifndef WR_HTTP_HTTP2_H
#define WR_HTTP_HTTP2_H

#include <stddef.h>

#include "http/http.h"
#include "net/conn.h"

/* Takes over the connection; `data` holds bytes already read (starting with the preface).
 * `http` is borrowed for the connection's life. On failure the connection is closed. */
void wr_http2_attach(wr_conn *c, const wr_http *http, const char *data, size_t len);

#endif
