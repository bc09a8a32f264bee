/*
 * sse.h — Server-Sent Events framing (text/event-stream). Pure formatting into a wr_buf; the
 * caller writes the bytes with wr_resp_write() and handles back-pressure.
 */
#ifndef WR_HTTP_SSE_H
#define WR_HTTP_SSE_H

#include <stddef.h>

#include "http/req.h"
#include "util/buf.h"

/*
 * Appends one event. `event` and `id` may be NULL (omitted). `data` is split on '\n' into
 * several `data:` lines, as the SSE grammar requires. CR characters are not allowed in event or
 * id and are dropped.
 */
void wr_sse_event(wr_buf *out, const char *event, const char *id, const char *data, size_t len);
/* Appends a comment line (": text"), which clients ignore; useful as a keep-alive. */
void wr_sse_comment(wr_buf *out, const char *text);
/* Starts an SSE response with the headers proxies need to not buffer it. */
void wr_sse_start(wr_req *req);

#endif
