/*
 * http1.h — HTTP/1.1 on a wr_conn, using http-parser for the wire syntax.
 *
 * Requests on one connection are handled one at a time, in order: while a request is being
 * answered, further pipelined bytes are buffered (and reading stops once the buffer holds more
 * than one request head's worth), so responses always leave in request order.
 */
#ifndef WR_HTTP_HTTP1_H
#define WR_HTTP_HTTP1_H

#include "http/http.h"
#include "net/conn.h"

/* Takes over the connection: installs the HTTP/1.1 protocol and starts reading. `http` (the
 * listener's options and router) is borrowed for the connection's life. */
void wr_http1_attach(wr_conn *c, const wr_http *http);

#endif
