/*
 * bench/fanout.c — the fan-out load generator of bench/fanout.sh: one process holding N
 * subscriber connections on one epoll loop, and a writer child process appending R records/s for
 * S seconds, one durable append at a time, against either
 *   weir   SSE read sessions (GET /v1/streams/{s}/records?seq_num=…, text/event-stream) and
 *          unary JSON appends (POST /v1/streams/{s}/records), or
 *   redis  XREAD BLOCK 0 subscribers and XADD (the server runs with appendfsync always).
 * Both processes stamp times on CLOCK_MONOTONIC (one clock for the machine), the writer into
 * shared memory, so "ack → event" is the time from the writer receiving an append's ack to a
 * subscriber receiving the record, over every (subscriber, record) pair. A negative value means
 * the event reached the subscriber before the ack reached the writer.
 *
 * Cheap on purpose, so that the generator is not what is measured: no JSON parsing. A weir SSE
 * batch event's id is "<last seq_num>,<records so far>,<bytes so far>", which says which records
 * it carried; a Redis reply is parsed as RESP and its entries carry their index in field "i".
 * Every subscriber must receive every record exactly once and in order; the run reports how many
 * did.
 *
 * With --pid, the server's RSS is read before the subscribers connect and once they are all
 * following (idle, at the tail): the RSS per idle subscriber. With --idle, the run stops there.
 *
 * Usage: fanout --mode weir|redis --port P --subs N [--rate R] [--secs S] [--pid SERVER_PID]
 *               [--idle] [--stream NAME --basin NAME --token TOKEN --base SEQ] [--key KEY]
 * Prints human-readable lines and one machine-readable line:
 *   RESULT <ack→event p50 ms> <p99 ms> <send→event p50 ms> <p99 ms> <send→ack p50 ms> <p99 ms>
 *          <KB RSS per idle subscriber> <complete subscribers> <records> <generator CPU %>
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NO_TIME (-1e300) /* as a float: -inf, "not yet" */

static struct {
    bool redis;
    int port;
    int subs;
    int rate;
    int secs;
    int pid;
    bool idle;
    const char *stream, *basin, *token, *key;
    long long base;
} opt = {.rate = 100,
         .secs = 10,
         .stream = "fan",
         .basin = "bench-fanout-01",
         .token = "",
         .key = "fan"};

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
die(const char *what)
{
    perror(what);
    exit(1);
}

static long
rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int
connect_to(bool blocking)
{
    int fd = socket(AF_INET, SOCK_STREAM | (blocking ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
        die("connect");
    return fd;
}

static void
send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write");
        p += w;
        n -= (size_t)w;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Writer (child process): one connection, one append at a time, on an absolute schedule.      */

/* Reads one whole reply into buf (HTTP: head + Content-Length body; RESP: one line). */
static size_t
read_reply(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            die("writer read");
        n += (size_t)r;
        buf[n] = '\0';
        if (opt.redis) {
            if (strstr(buf, "\r\n"))
                return n;
            continue;
        }
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "content-length:");
        size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
        if (n >= (size_t)(end + 4 - buf) + body)
            return n;
    }
}

static void
writer(int go_fd, double *sent, double *acked, int n)
{
    int fd = connect_to(true);
    char go;
    if (read(go_fd, &go, 1) != 1)
        exit(0); /* the parent gave up before starting */
    char req[1024], reply[8192];
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        double due = t0 + (double)i * 1000.0 / opt.rate;
        double wait = due - now_ms();
        if (wait > 0) {
            long long ns = (long long)(wait * 1e6);
            struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
            nanosleep(&ts, NULL);
        }
        int len;
        if (opt.redis) {
            char idx[24];
            int il = snprintf(idx, sizeof(idx), "%d", i);
            len = snprintf(req, sizeof(req),
                           "*5\r\n$4\r\nXADD\r\n$%zu\r\n%s\r\n$1\r\n*\r\n$1\r\ni\r\n$%d\r\n%s\r\n",
                           strlen(opt.key), opt.key, il, idx);
        } else {
            char body[160];
            int bl =
                snprintf(body, sizeof(body),
                         "{\"records\":[{\"body\":\"rec-%d-"
                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}",
                         i);
            len = snprintf(req, sizeof(req),
                           "POST /v1/streams/%s/records HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "S2-Basin: %s\r\nAuthorization: Bearer %s\r\n"
                           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                           opt.stream, opt.basin, opt.token, bl, body);
        }
        sent[i] = now_ms();
        send_all(fd, req, (size_t)len);
        read_reply(fd, reply, sizeof(reply));
        acked[i] = now_ms();
        if (opt.redis ? reply[0] != '$' : strncmp(reply, "HTTP/1.1 200", 12) != 0) {
            fprintf(stderr, "writer: append %d failed: %.200s\n", i, reply);
            exit(1);
        }
        if (!opt.redis) {
            char *s = strstr(reply, "\"start\":{\"seq_num\":");
            if (!s || strtoll(s + 19, NULL, 10) != opt.base + i) {
                fprintf(stderr, "writer: append %d got an unexpected seq_num: %.300s\n", i, reply);
                exit(1);
            }
        }
    }
    exit(0);
}

/* ------------------------------------------------------------------------------------------ */
/* Subscribers                                                                                 */

typedef struct sub {
    int fd;
    int idx;
    bool head_done; /* weir: response head read */
    bool chunked;
    long long chunk_left; /* weir, chunked: body bytes left in this chunk; -1: reading a size */
    char line[64];        /* weir: the first bytes of the current SSE line */
    size_t line_len;
    char size_line[24]; /* weir, chunked: the current chunk-size line */
    size_t size_len;
    int crlf_skip;  /* weir, chunked: bytes of the CRLF after a chunk still to skip */
    bool ready;     /* weir: a ping arrived; redis: the first XREAD was sent */
    long long next; /* records received so far */
    bool broken;    /* out of order, gap, duplicate, or an error */
    char *rbuf;     /* redis: unparsed reply bytes */
    size_t rlen, rcap;
    char last_id[48]; /* redis: where the next XREAD starts */
} sub;

static float *recv_at; /* [subs × n] arrival times, ms since t_base */
static double t_base;
static int n_records;

static void
got_records(sub *s, long long upto_count, double t)
{
    if (upto_count <= s->next || upto_count > n_records) {
        s->broken = true;
        return;
    }
    for (long long k = s->next; k < upto_count; k++)
        recv_at[(size_t)s->idx * (size_t)n_records + (size_t)k] = (float)(t - t_base);
    s->next = upto_count;
}

/* One complete SSE line (or its first 63 bytes). */
static void
sse_line(sub *s, double t)
{
    s->line[s->line_len] = '\0';
    if (strncmp(s->line, "event: ping", 11) == 0 || strncmp(s->line, "event:ping", 10) == 0) {
        s->ready = true;
    } else if (strncmp(s->line, "id:", 3) == 0) {
        const char *p = s->line + 3;
        if (*p == ' ')
            p++;
        long long last = strtoll(p, NULL, 10);
        got_records(s, last - opt.base + 1, t);
    }
    s->line_len = 0;
}

static void
sse_bytes(sub *s, const char *p, size_t n, double t)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            sse_line(s, t);
        } else if (p[i] != '\r' && s->line_len < sizeof(s->line) - 1) {
            s->line[s->line_len++] = p[i];
        }
    }
}

static void
weir_body(sub *s, const char *p, size_t n, double t)
{
    if (!s->chunked) {
        sse_bytes(s, p, n, t);
        return;
    }
    /* A small dechunker: size line, data, CRLF; SSE lines may span chunks. */
    while (n) {
        if (s->crlf_skip) {
            size_t k = n < (size_t)s->crlf_skip ? n : (size_t)s->crlf_skip;
            s->crlf_skip -= (int)k, p += k, n -= k;
        } else if (s->chunk_left < 0) {
            char c = *p++;
            n--;
            if (c == '\n') {
                s->size_line[s->size_len] = '\0';
                s->chunk_left = strtoll(s->size_line, NULL, 16);
                s->size_len = 0;
                if (s->chunk_left == 0) {
                    s->broken = true; /* the server ended the session */
                    return;
                }
            } else if (s->size_len < sizeof(s->size_line) - 1) {
                s->size_line[s->size_len++] = c;
            }
        } else {
            size_t k = n < (size_t)s->chunk_left ? n : (size_t)s->chunk_left;
            sse_bytes(s, p, k, t);
            p += k, n -= k;
            s->chunk_left -= (long long)k;
            if (s->chunk_left == 0) {
                s->chunk_left = -1;
                s->crlf_skip = 2;
            }
        }
    }
}

static void
weir_read(sub *s, char *buf, size_t n, double t)
{
    if (!s->head_done) {
        /* The head is small and comes in the first read (asserted). */
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end || strncmp(buf, "HTTP/1.1 200", 12) != 0) {
            fprintf(stderr, "subscriber %d: bad answer: %.200s\n", s->idx, buf);
            s->broken = true;
            return;
        }
        *end = '\0';
        s->chunked = strcasestr(buf, "transfer-encoding: chunked") != NULL;
        s->chunk_left = -1;
        s->head_done = true;
        size_t head = (size_t)(end + 4 - buf);
        weir_body(s, buf + head, n - head, t);
        return;
    }
    weir_body(s, buf, n, t);
}

/* RESP: parses one value at p (len bytes); returns its length, 0 if incomplete. Bulk strings
 * are collected in out (pointers into p). */
typedef struct bulk {
    const char *p;
    size_t n;
} bulk;

static size_t
resp_value(const char *p, size_t len, bulk *out, size_t *n_out, size_t cap)
{
    const char *nl = memchr(p, '\n', len);
    if (!nl)
        return 0;
    size_t head = (size_t)(nl - p) + 1;
    long long v = strtoll(p + 1, NULL, 10);
    switch (p[0]) {
    case '*': {
        size_t off = head;
        for (long long i = 0; i < v; i++) {
            size_t k = resp_value(p + off, len - off, out, n_out, cap);
            if (!k)
                return 0;
            off += k;
        }
        return off;
    }
    case '$':
        if (v < 0)
            return head;
        if (len < head + (size_t)v + 2)
            return 0;
        if (*n_out < cap)
            out[(*n_out)++] = (bulk){p + head, (size_t)v};
        return head + (size_t)v + 2;
    default: /* +, -, : */
        return head;
    }
}

static void
redis_xread(sub *s)
{
    char req[256];
    int n =
        snprintf(req, sizeof(req),
                 "*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$%zu\r\n%s\r\n"
                 "$%zu\r\n%s\r\n",
                 strlen(opt.key), opt.key, strlen(s->last_id), s->last_id);
    send_all(s->fd, req, (size_t)n);
}

static void
redis_read(sub *s, const char *buf, size_t n, double t)
{
    if (s->rlen + n > s->rcap) {
        s->rcap = (s->rlen + n) * 2;
        s->rbuf = realloc(s->rbuf, s->rcap);
    }
    memcpy(s->rbuf + s->rlen, buf, n);
    s->rlen += n;
    static bulk parts[3 * 4096 + 1];
    size_t n_parts = 0;
    size_t k = resp_value(s->rbuf, s->rlen, parts, &n_parts, sizeof(parts) / sizeof(parts[0]));
    if (!k)
        return;
    if (s->rbuf[0] == '-') {
        fprintf(stderr, "subscriber %d: %.*s\n", s->idx, (int)k, s->rbuf);
        s->broken = true;
        return;
    }
    /* [key, (id, "i", index)...] */
    for (size_t i = 1; i + 2 < n_parts; i += 3) {
        long long idx = strtoll(parts[i + 2].p, NULL, 10);
        if (idx != s->next) {
            s->broken = true;
            return;
        }
        got_records(s, idx + 1, t);
        snprintf(s->last_id, sizeof(s->last_id), "%.*s", (int)parts[i].n, parts[i].p);
    }
    memmove(s->rbuf, s->rbuf + k, s->rlen - k);
    s->rlen -= k;
    if (s->next < n_records)
        redis_xread(s);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
    if (!n)
        return NO_TIME;
    size_t i = (size_t)(p / 100.0 * (double)n);
    return v[i >= n ? n - 1 : i];
}

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--idle") == 0) {
            opt.idle = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "fanout: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--mode") == 0)
            opt.redis = strcmp(v, "redis") == 0;
        else if (strcmp(a, "--port") == 0)
            opt.port = atoi(v);
        else if (strcmp(a, "--subs") == 0)
            opt.subs = atoi(v);
        else if (strcmp(a, "--rate") == 0)
            opt.rate = atoi(v);
        else if (strcmp(a, "--secs") == 0)
            opt.secs = atoi(v);
        else if (strcmp(a, "--pid") == 0)
            opt.pid = atoi(v);
        else if (strcmp(a, "--stream") == 0)
            opt.stream = v;
        else if (strcmp(a, "--basin") == 0)
            opt.basin = v;
        else if (strcmp(a, "--token") == 0)
            opt.token = v;
        else if (strcmp(a, "--key") == 0)
            opt.key = v;
        else if (strcmp(a, "--base") == 0)
            opt.base = atoll(v);
        else {
            fprintf(stderr, "fanout: unknown option %s\n", a);
            return 2;
        }
    }
    if (opt.port <= 0 || opt.subs <= 0 || opt.rate <= 0 || opt.secs <= 0) {
        fprintf(stderr,
                "usage: fanout --mode weir|redis --port P --subs N [--rate R] [--secs S] "
                "[--pid PID] [--idle] [--stream S --basin B --token T --base SEQ] [--key K]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    n_records = opt.rate * opt.secs;
    size_t shared = 2 * (size_t)n_records * sizeof(double);
    double *times = mmap(NULL, shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (times == MAP_FAILED)
        die("mmap");
    double *sent = times, *acked = times + n_records;
    for (int i = 0; i < 2 * n_records; i++)
        times[i] = NO_TIME;
    int go[2];
    if (pipe(go) < 0)
        die("pipe");
    pid_t child = opt.idle ? -1 : fork();
    if (child == 0) {
        close(go[1]);
        writer(go[0], sent, acked, n_records);
    }
    close(go[0]);

    recv_at = malloc((size_t)opt.subs * (size_t)n_records * sizeof(float));
    if (!recv_at)
        die("malloc");
    for (size_t i = 0; i < (size_t)opt.subs * (size_t)n_records; i++)
        recv_at[i] = (float)NO_TIME;
    long rss0 = opt.pid ? rss_kb(opt.pid) : -1;
    int ep = epoll_create1(0);
    sub *subs = calloc((size_t)opt.subs, sizeof(*subs));
    char req[1024];
    int req_len =
        snprintf(req, sizeof(req),
                 "GET /v1/streams/%s/records?seq_num=%lld HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Accept: text/event-stream\r\nS2-Basin: %s\r\nAuthorization: Bearer %s\r\n\r\n",
                 opt.stream, opt.base, opt.basin, opt.token);
    /* One blocking connect at a time (cheap on loopback), so the listen backlog never
     * overflows into SYN retries; then each socket is made non-blocking. */
    for (int i = 0; i < opt.subs; i++) {
        sub *s = &subs[i];
        s->idx = i;
        s->fd = connect_to(true);
        snprintf(s->last_id, sizeof(s->last_id), "$");
        if (opt.redis) {
            redis_xread(s);
            s->ready = true;
        } else {
            send_all(s->fd, req, (size_t)req_len);
        }
        fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
            die("epoll_ctl");
    }
    t_base = now_ms();
    static char buf[1 << 16];
    struct epoll_event evs[256];
    /* Until every subscriber follows (weir: its first ping; redis: XREAD sent, then 1 s). */
    double ready_deadline = now_ms() + 30000;
    int n_ready = opt.redis ? opt.subs : 0;
    while (n_ready < opt.subs && now_ms() < ready_deadline) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int e = 0; e < k; e++) {
            sub *s = evs[e].data.ptr;
            ssize_t r = read(s->fd, buf, sizeof(buf) - 1);
            if (r <= 0) {
                s->broken = true;
                epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
                continue;
            }
            bool was = s->ready;
            weir_read(s, buf, (size_t)r, now_ms());
            if (!was && s->ready)
                n_ready++;
        }
    }
    if (n_ready < opt.subs)
        fprintf(stderr, "fanout: only %d of %d subscribers started following\n", n_ready, opt.subs);
    struct timespec settle = {1, 0};
    nanosleep(&settle, NULL);
    long rss1 = opt.pid ? rss_kb(opt.pid) : -1;
    double kb_per_sub = rss0 > 0 && rss1 > 0 ? (double)(rss1 - rss0) / opt.subs : -1;
    printf("server RSS: %ld kB before, %ld kB with %d idle subscribers: %.2f KB each\n", rss0, rss1,
           opt.subs, kb_per_sub);
    if (opt.idle) {
        printf("RESULT - - - - - - %.2f %d 0 -\n", kb_per_sub, n_ready);
        return 0;
    }

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double run_start = now_ms();
    if (write(go[1], "g", 1) != 1)
        die("start the writer");
    double deadline = run_start + opt.secs * 1000.0 + 10000;
    int complete = 0;
    while (now_ms() < deadline && complete < opt.subs) {
        int k = epoll_wait(ep, evs, 256, 100);
        double t = now_ms();
        for (int e = 0; e < k; e++) {
            sub *s = evs[e].data.ptr;
            ssize_t r = read(s->fd, buf, sizeof(buf) - 1);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                s->broken = true;
                epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
                continue;
            }
            bool done_before = s->next >= n_records;
            if (opt.redis)
                redis_read(s, buf, (size_t)r, t);
            else
                weir_read(s, buf, (size_t)r, t);
            if (!done_before && s->next >= n_records)
                complete++;
        }
    }
    getrusage(RUSAGE_SELF, &ru1);
    double wall = now_ms() - run_start;
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e3 +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e3 +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e3 +
                 (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e3;
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "fanout: the writer failed\n");
        return 1;
    }
    /* Latencies over every (subscriber, record) pair that arrived: from the ack reaching the
     * writer, and from the append being sent. */
    size_t n_pairs = 0, cap = (size_t)opt.subs * (size_t)n_records;
    double *lat = malloc(cap * sizeof(double)), *lat_sent = malloc(cap * sizeof(double));
    int intact = 0;
    for (int i = 0; i < opt.subs; i++) {
        if (!subs[i].broken && subs[i].next == n_records)
            intact++;
        for (int k = 0; k < n_records; k++) {
            float r = recv_at[(size_t)i * (size_t)n_records + (size_t)k];
            if (r > -1e30f) { /* arrived */
                lat[n_pairs] = ((double)r + t_base) - acked[k];
                lat_sent[n_pairs++] = ((double)r + t_base) - sent[k];
            }
        }
    }
    qsort(lat, n_pairs, sizeof(double), cmp_double);
    qsort(lat_sent, n_pairs, sizeof(double), cmp_double);
    double *sa = malloc((size_t)n_records * sizeof(double));
    for (int k = 0; k < n_records; k++)
        sa[k] = acked[k] - sent[k];
    qsort(sa, (size_t)n_records, sizeof(double), cmp_double);
    double cpu_pct = 100.0 * cpu / wall;
    printf("%s: %d subscribers, %d records at %d/s: ack→event p50 %.2f ms, p99 %.2f ms; "
           "send→event p50 %.2f ms, p99 %.2f ms, max %.2f ms; append send→ack p50 %.2f ms, "
           "p99 %.2f ms; %d of %d subscribers got every record in order; generator CPU %.0f %%\n",
           opt.redis ? "redis" : "weir", opt.subs, n_records, opt.rate, pct(lat, n_pairs, 50),
           pct(lat, n_pairs, 99), pct(lat_sent, n_pairs, 50), pct(lat_sent, n_pairs, 99),
           n_pairs ? lat_sent[n_pairs - 1] : NO_TIME, pct(sa, (size_t)n_records, 50),
           pct(sa, (size_t)n_records, 99), intact, opt.subs, cpu_pct);
    printf("RESULT %.3f %.3f %.3f %.3f %.3f %.3f %.2f %d %d %.0f\n", pct(lat, n_pairs, 50),
           pct(lat, n_pairs, 99), pct(lat_sent, n_pairs, 50), pct(lat_sent, n_pairs, 99),
           pct(sa, (size_t)n_records, 50), pct(sa, (size_t)n_records, 99), kb_per_sub, intact,
           n_records, cpu_pct);
    return 0;
}
