/*
 * http_support.c — see http_support.h.
 */
#include "support/http_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"

struct wr_test_server {
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t stop_async;
    wr_server *srv;
    wr_http *http;
    wr_router *router;
    wr_test_server_opts opts;
    unsigned stop_timeout_ms;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready;
};

wr_test_server_opts
wr_test_server_defaults(void)
{
    return (wr_test_server_opts){
        .max_connections = 64,
        .http =
            {
                .max_header_bytes = 16 * 1024,
                .max_body_bytes = 64 * 1024,
                .header_timeout_ms = 10000,
                .body_timeout_ms = 60000,
                .idle_timeout_ms = 60000,
                .cors = true,
            },
    };
}

static void
shutdown_done(void *ud)
{
    wr_test_server *ts = ud;
    uv_close((uv_handle_t *)&ts->stop_async, NULL);
}

static void
on_stop(uv_async_t *a)
{
    wr_test_server *ts = a->data;
    wr_server_shutdown(ts->srv, ts->stop_timeout_ms, shutdown_done, ts);
}

static void *
run(void *arg)
{
    wr_test_server *ts = arg;
    uv_loop_init(&ts->loop);
    uv_async_init(&ts->loop, &ts->stop_async, on_stop);
    ts->stop_async.data = ts;
    ts->http = wr_http_new(&ts->opts.http, ts->router);
    wr_server_opts so = {.max_connections = ts->opts.max_connections,
                         .on_connection = wr_http_on_connection,
                         .on_connection_ud = ts->http};
    ts->srv = wr_server_new(&ts->loop, &so);
    wr_error err = {0};
    if (wr_server_listen(ts->srv, "127.0.0.1", 0, &ts->port, &err) != WR_OK) {
        fprintf(stderr, "test server: %s\n", err.msg);
        abort();
    }
    pthread_mutex_lock(&ts->mu);
    ts->ready = true;
    pthread_cond_signal(&ts->cv);
    pthread_mutex_unlock(&ts->mu);
    uv_run(&ts->loop, UV_RUN_DEFAULT);
    wr_server_free(ts->srv);
    uv_run(&ts->loop, UV_RUN_DEFAULT);
    uv_loop_close(&ts->loop);
    wr_http_free(ts->http);
    return NULL;
}

wr_test_server *
wr_test_server_start(wr_router *router, const wr_test_server_opts *opts)
{
    wr_test_server *ts = wr_xcalloc(1, sizeof(*ts));
    ts->router = router;
    ts->opts = opts ? *opts : wr_test_server_defaults();
    pthread_mutex_init(&ts->mu, NULL);
    pthread_cond_init(&ts->cv, NULL);
    pthread_create(&ts->thread, NULL, run, ts);
    pthread_mutex_lock(&ts->mu);
    while (!ts->ready)
        pthread_cond_wait(&ts->cv, &ts->mu);
    pthread_mutex_unlock(&ts->mu);
    return ts;
}

wr_test_fixture *
wr_test_fixture_start(wr_router *router, const wr_test_server_opts *opts)
{
    wr_test_fixture *f = wr_xcalloc(1, sizeof(*f));
    f->router = router;
    f->ts = wr_test_server_start(router, opts);
    f->port = wr_test_server_port(f->ts);
    return f;
}

int
wr_test_fixture_teardown(void **state)
{
    wr_test_fixture *f = *state;
    wr_test_server_stop(f->ts, 2000);
    wr_router_free(f->router);
    free(f);
    return 0;
}

int
wr_test_server_port(const wr_test_server *ts)
{
    return ts->port;
}

void
wr_test_server_stop(wr_test_server *ts, unsigned timeout_ms)
{
    ts->stop_timeout_ms = timeout_ms;
    uv_async_send(&ts->stop_async);
    pthread_join(ts->thread, NULL);
    pthread_mutex_destroy(&ts->mu);
    pthread_cond_destroy(&ts->cv);
    free(ts);
}

int
wr_test_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("connect");
        abort();
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

void
wr_test_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the server may legitimately have closed */
        p += n;
        len -= (size_t)n;
    }
}

void
wr_test_send_str(int fd, const char *s)
{
    wr_test_send(fd, s, strlen(s));
}

/* Reads what is available within the remaining time; returns bytes read, 0 on EOF, -1 timeout. */
static ssize_t
recv_some(int fd, wr_buf *b, uint64_t deadline_ms)
{
    uint64_t now = wr_clock_mono_ms();
    if (now >= deadline_ms)
        return -1;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)(deadline_ms - now)) <= 0)
        return -1;
    char tmp[16384];
    ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
    if (n > 0)
        wr_buf_append(b, tmp, (size_t)n);
    return n < 0 ? 0 : n;
}

char *
wr_test_recv_all(int fd, unsigned timeout_ms, size_t *out_len)
{
    wr_buf b;
    wr_buf_init(&b);
    wr_buf_append(&b, "", 0);
    uint64_t deadline = wr_clock_mono_ms() + timeout_ms;
    while (recv_some(fd, &b, deadline) > 0)
        ;
    return wr_buf_steal(&b, out_len);
}

/* Returns the length of a complete response at the start of s, or 0 if incomplete. */
static size_t
complete_response(const char *s, size_t len)
{
    const char *end = memmem(s, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - s) + 4;
    const char *cl = strcasestr(s, "content-length:");
    if (cl && cl < end)
        return len >= head + strtoul(cl + 15, NULL, 10) ? head + strtoul(cl + 15, NULL, 10) : 0;
    const char *te = strcasestr(s, "transfer-encoding: chunked");
    if (te && te < end) {
        const char *term = memmem(s + head, len - head, "0\r\n\r\n", 5);
        /* good enough for tests: the terminal chunk preceded by CRLF or at body start */
        return term ? (size_t)(term - s) + 5 : 0;
    }
    int status = atoi(s + 9);
    if (status == 204 || status == 304 || (status >= 100 && status < 200))
        return head;
    return 0; /* close-delimited: caller reads until EOF */
}

char *
wr_test_recv_response(int fd, wr_buf *rest, unsigned timeout_ms)
{
    wr_buf b;
    wr_buf_init(&b);
    wr_buf_append(&b, rest->data ? rest->data : "", rest->len);
    wr_buf_reset(rest);
    uint64_t deadline = wr_clock_mono_ms() + timeout_ms;
    for (;;) {
        size_t n = b.len ? complete_response(b.data, b.len) : 0;
        if (n) {
            wr_buf_append(rest, b.data + n, b.len - n);
            char *out = wr_xstrndup(b.data, n);
            wr_buf_fini(&b);
            return out;
        }
        if (recv_some(fd, &b, deadline) <= 0)
            break;
    }
    if (b.len == 0) {
        wr_buf_fini(&b);
        return NULL;
    }
    return wr_buf_steal(&b, NULL);
}

int
wr_test_count(const char *haystack, const char *needle)
{
    int n = 0;
    size_t nl = strlen(needle);
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += nl)
        n++;
    return n;
}
