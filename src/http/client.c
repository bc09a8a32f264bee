/*
 * client.c — see client.h. The glue between libcurl's multi "socket" interface and libuv:
 *   - curl tells us which sockets to watch (on_socket): one uv_poll per socket, created on
 *     first use and closed when curl says CURL_POLL_REMOVE;
 *   - curl tells us when it wants to be called without socket activity (on_timer_set): one
 *     uv_timer;
 *   - poll and timer events call curl_multi_socket_action, after which finished transfers are
 *     collected (check_done) and their callbacks run.
 * Re-entrancy: curl forbids removing a handle from inside its own callbacks, so a cancel that
 * happens while curl is running (in_curl) only marks the request; marked requests are removed
 * once curl has returned (reap). Callbacks of a marked request never run.
 */
#include "http/client.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"

typedef struct poll_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct wr_hc *hc;
} poll_ctx;

struct wr_hc_req {
    wr_hc *hc;
    CURL *easy;
    struct curl_slist *hdrs;
    wr_hc_cbs cbs;
    void *ud;
    bool streaming;
    bool head_sent;
    bool cancelled;
    bool head_timed_out;
    uint64_t head_deadline_ms; /* streaming: monotonic; 0 = none */
    wr_buf body;               /* unary: the answer */
    char *send_body;           /* the request body (copied) */
    char errbuf[CURL_ERROR_SIZE];
    wr_hc_req *prev, *next;
};

struct wr_hc {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    bool in_curl;
    bool freeing;
    int handles_open; /* the timer and every poll handle */
    wr_hc_req *reqs;
};

static void check_done(wr_hc *hc);
static void reap(wr_hc *hc);

/* ---- libuv side ------------------------------------------------------------------------------ */

static void
run_curl(wr_hc *hc, curl_socket_t fd, int flags)
{
    int running = 0;
    hc->in_curl = true;
    curl_multi_socket_action(hc->multi, fd, flags, &running);
    hc->in_curl = false;
    check_done(hc);
    reap(hc);
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
    poll_ctx *pc = h->data;
    wr_hc *hc = pc->hc;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    run_curl(hc, pc->fd, flags);
}

static void
on_timer(uv_timer_t *t)
{
    run_curl(t->data, CURL_SOCKET_TIMEOUT, 0);
}

/* ---- curl side ------------------------------------------------------------------------------- */

static poll_ctx *
poll_new(wr_hc *hc, curl_socket_t fd)
{
    poll_ctx *pc = wr_xcalloc(1, sizeof(*pc));
    pc->hc = hc;
    pc->fd = fd;
    if (uv_poll_init_socket(hc->loop, &pc->poll, fd) != 0) {
        free(pc);
        return NULL;
    }
    pc->poll.data = pc;
    hc->handles_open++;
    return pc;
}

static void
poll_closed(uv_handle_t *h)
{
    poll_ctx *pc = h->data;
    wr_hc *hc = pc->hc;
    free(pc);
    if (--hc->handles_open == 0 && hc->freeing)
        free(hc);
}

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    wr_hc *hc = userp;
    poll_ctx *pc = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (pc) {
            uv_poll_stop(&pc->poll);
            uv_close((uv_handle_t *)&pc->poll, poll_closed);
            curl_multi_assign(hc->multi, fd, NULL);
        }
        return 0;
    }
    if (!pc) {
        pc = poll_new(hc, fd);
        if (!pc)
            return -1;
        curl_multi_assign(hc->multi, fd, pc);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&pc->poll, ev, on_poll);
    return 0;
}

static int
on_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    wr_hc *hc = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&hc->timer);
    else
        uv_timer_start(&hc->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t
on_header(char *data, size_t size, size_t n, void *ud)
{
    wr_hc_req *r = ud;
    size_t len = size * n;
    /* The blank line that ends a head; 1xx heads (100 Continue) are followed by another. */
    if (r->streaming && !r->cancelled && !r->head_sent &&
        (len == 2 && data[0] == '\r' && data[1] == '\n')) {
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) {
            r->head_sent = true;
            if (r->cbs.on_head)
                r->cbs.on_head(r->ud, status);
        }
    }
    return len;
}

static size_t
on_write(char *data, size_t size, size_t n, void *ud)
{
    wr_hc_req *r = ud;
    size_t len = size * n;
    if (r->cancelled)
        return 0; /* curl ends the transfer; nobody listens any more */
    if (!r->streaming) {
        if (r->body.len + len > WR_HC_MAX_BODY)
            return 0; /* reported as BAD_GATEWAY */
        wr_buf_append(&r->body, data, len);
        return len;
    }
    /* The bytes are taken either way; false only asks to stop until resumed. */
    if (!r->cbs.on_data(r->ud, data, len) && !r->cancelled)
        curl_easy_pause(r->easy, CURLPAUSE_RECV);
    return len;
}

/* libcurl's progress callback (at least once a second while a transfer waits, since streaming
 * requests have a low-speed limit): ends a streaming request whose head is late. */
static int
on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    wr_hc_req *r = ud;
    if (r->head_sent || !r->head_deadline_ms || wr_clock_mono_ms() < r->head_deadline_ms)
        return 0;
    r->head_timed_out = true;
    return 1;
}

static void
req_unlink(wr_hc_req *r)
{
    wr_hc *hc = r->hc;
    if (r->prev)
        r->prev->next = r->next;
    else
        hc->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static void
req_free(wr_hc_req *r)
{
    curl_multi_remove_handle(r->hc->multi, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    wr_buf_fini(&r->body);
    free(r->send_body);
    free(r);
}

static wr_err
map_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return WR_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return WR_ERR_UPSTREAM_TIMEOUT;
    case CURLE_WRITE_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_FILESIZE_EXCEEDED:
        return WR_ERR_BAD_GATEWAY;
    default:
        return WR_ERR_UNAVAILABLE; /* refused, reset, DNS, TLS … */
    }
}

static void
finish(wr_hc_req *r, CURLcode rc)
{
    req_unlink(r);
    wr_err err = r->head_timed_out ? WR_ERR_UPSTREAM_TIMEOUT : map_curl(rc);
    const char *detail = r->head_timed_out ? "no answer in time"
                         : r->errbuf[0]    ? r->errbuf
                                           : curl_easy_strerror(rc);
    char msg[CURL_ERROR_SIZE + 64];
    snprintf(msg, sizeof(msg), "%s", detail);
    if (r->streaming) {
        if (err == WR_OK && !r->head_sent) {
            long status = 0;
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
            r->head_sent = true;
            if (r->cbs.on_head)
                r->cbs.on_head(r->ud, status);
        }
        wr_hc_cbs cbs = r->cbs;
        void *ud = r->ud;
        req_free(r);
        cbs.on_end(ud, err, err == WR_OK ? NULL : msg);
        return;
    }
    wr_hc_result res = {.err = err, .detail = err == WR_OK ? NULL : msg};
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
    wr_hc_cbs cbs = r->cbs;
    void *ud = r->ud;
    wr_buf body = r->body; /* outlives the request for the callback */
    wr_buf_init(&r->body);
    req_free(r);
    res.body = body.data ? body.data : "";
    res.body_len = body.len;
    cbs.on_done(ud, &res);
    wr_buf_fini(&body);
}

static void
check_done(wr_hc *hc)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(hc->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        wr_hc_req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode rc = msg->data.result;
        if (r->cancelled) {
            req_unlink(r);
            req_free(r);
        } else {
            finish(r, rc);
        }
    }
}

/* Removes requests cancelled while curl was running. */
static void
reap(wr_hc *hc)
{
    for (wr_hc_req *r = hc->reqs, *next; r; r = next) {
        next = r->next;
        if (r->cancelled) {
            req_unlink(r);
            req_free(r);
        }
    }
}

/* ---- API ------------------------------------------------------------------------------------- */

wr_hc *
wr_hc_new(uv_loop_t *loop)
{
    wr_hc *hc = wr_xcalloc(1, sizeof(*hc));
    hc->loop = loop;
    hc->multi = curl_multi_init();
    if (!hc->multi)
        abort();
    curl_multi_setopt(hc->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(hc->multi, CURLMOPT_SOCKETDATA, hc);
    curl_multi_setopt(hc->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
    curl_multi_setopt(hc->multi, CURLMOPT_TIMERDATA, hc);
    curl_multi_setopt(hc->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    uv_timer_init(loop, &hc->timer);
    hc->timer.data = hc;
    hc->handles_open = 1;
    return hc;
}

static void
timer_closed(uv_handle_t *h)
{
    wr_hc *hc = h->data;
    if (--hc->handles_open == 0)
        free(hc);
}

void
wr_hc_free(wr_hc *hc)
{
    if (!hc)
        return;
    /* req_unlink moves hc->reqs on; the analyzer loses that through r->hc. */
    while (hc->reqs) {
        wr_hc_req *r = hc->reqs;
        req_unlink(r); /* NOLINT(clang-analyzer-unix.Malloc) */
        req_free(r);   /* curl closes its sockets: polls close through on_socket */
    }
    curl_multi_cleanup(hc->multi);
    hc->freeing = true;
    uv_timer_stop(&hc->timer);
    uv_close((uv_handle_t *)&hc->timer, timer_closed);
}

wr_hc_req *
wr_hc_start(wr_hc *hc, const wr_hc_opts *o, const wr_hc_cbs *cbs, void *ud)
{
    wr_hc_req *r = wr_xcalloc(1, sizeof(*r));
    r->hc = hc;
    r->cbs = *cbs;
    r->ud = ud;
    r->streaming = cbs->on_done == NULL;
    wr_buf_init(&r->body);
    r->easy = curl_easy_init();
    if (!r->easy)
        abort();
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* HTTP/2 where TLS negotiates it; plain HTTP stays HTTP/1.1 (with keep-alive reuse). */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (o->timeout_ms)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    if (o->connect_timeout_ms)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    if (r->streaming && o->head_timeout_ms) {
        r->head_deadline_ms = wr_clock_mono_ms() + o->head_timeout_ms;
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, r);
    }
    if (o->idle_timeout_s) {
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)o->idle_timeout_s);
    }
    for (size_t i = 0; i < o->n_headers; i++)
        r->hdrs = curl_slist_append(r->hdrs, o->headers[i]);
    r->hdrs = curl_slist_append(r->hdrs, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    const char *m = o->method ? o->method : "GET";
    if (o->body) {
        r->send_body = wr_xmalloc(o->body_len + 1);
        memcpy(r->send_body, o->body, o->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->send_body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    }
    if (strcmp(m, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(m, "GET") != 0 && !(strcmp(m, "POST") == 0 && o->body))
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    r->next = hc->reqs;
    if (hc->reqs)
        hc->reqs->prev = r;
    hc->reqs = r;
    /* Adding only schedules the transfer (through the timer): no callback runs in here. */
    curl_multi_add_handle(hc->multi, e);
    return r;
}

void
wr_hc_resume(wr_hc_req *r)
{
    if (r->cancelled)
        return;
    /* Unpausing may hand buffered bytes to on_data right here: treat it as curl running. */
    wr_hc *hc = r->hc;
    bool nested = hc->in_curl;
    hc->in_curl = true;
    curl_easy_pause(r->easy, CURLPAUSE_CONT);
    hc->in_curl = nested;
    if (!nested)
        reap(hc);
}

void
wr_hc_cancel(wr_hc_req *r)
{
    r->cancelled = true;
    if (!r->hc->in_curl) {
        req_unlink(r);
        req_free(r);
    }
}
