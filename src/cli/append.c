/*
 * append.c — `weir append`: lines in, batches of records out.
 *
 * Input is read with read(2) into a bounded buffer (4 MiB; a line longer than a record may be
 * is an error, never an unbounded allocation). Records accumulate in a batch until it holds
 * --batch-records records or the next one would pass --batch-bytes metered bytes, or — when
 * the input is a pipe or terminal rather than a file — until the input has been quiet for
 * --linger-ms, so an interactive producer's lines go out promptly. Each batch is one unary
 * protobuf append (raw bytes: any line is a valid body). Batches are sent one at a time, in
 * order; the first failure stops the command (nothing later is sent). There is no retry: an
 * append whose answer was lost may or may not have happened, and only --match-seq-num makes a
 * retry safe, so the user decides.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "util/mem.h"

#define MAX_BATCH_RECORDS 1000
#define MAX_BATCH_BYTES (1u << 20)
#define READ_CAP (4u << 20)

/* ---- sending one batch --------------------------------------------------------------------- */

static void
pos_from(const S2__V1__StreamPosition *p, wr_cli_spos *out)
{
    out->seq_num = p ? p->seq_num : 0;
    out->timestamp = p ? p->timestamp : 0;
}

json_t *
wr_cli_ack_json(const wr_cli_ack *a)
{
    return json_pack("{s:{s:I,s:I},s:{s:I,s:I},s:{s:I,s:I}}", "start", "seq_num",
                     (json_int_t)a->start.seq_num, "timestamp", (json_int_t)a->start.timestamp,
                     "end", "seq_num", (json_int_t)a->end.seq_num, "timestamp",
                     (json_int_t)a->end.timestamp, "tail", "seq_num", (json_int_t)a->tail.seq_num,
                     "timestamp", (json_int_t)a->tail.timestamp);
}

int
wr_cli_append_batch(wr_cli *c, const wr_cli_uri *u, const S2__V1__AppendInput *in, wr_cli_ack *out)
{
    size_t len = s2__v1__append_input__get_packed_size(in);
    uint8_t *buf = wr_xmalloc(len ? len : 1);
    s2__v1__append_input__pack(in, buf);
    wr_buf path = {0};
    wr_cli_path(&path, "/streams", u->stream, "/records");
    wr_cli_req r = {
        .target = WR_CLI_BASIN,
        .basin = u->basin,
        .method = "POST",
        .path = path.data,
        .ctype = "application/protobuf",
        .accept = "application/protobuf",
        .body = buf,
        .body_len = len,
    };
    wr_cli_resp resp;
    wr_error err = {0};
    int rc = WR_CLI_EXIT_OK;
    if (wr_cli_http_do(c, &r, &resp, &err) != WR_OK) {
        rc = wr_cli_fail_http(c, &err);
    } else if (resp.status != 200) {
        rc = wr_cli_fail_resp(c, &resp);
    } else {
        S2__V1__AppendAck *ack =
            s2__v1__append_ack__unpack(NULL, resp.body.len, (const uint8_t *)resp.body.data);
        if (!ack) {
            rc = wr_cli_fail(c, "the server's append acknowledgement is not valid protobuf");
        } else {
            pos_from(ack->start, &out->start);
            pos_from(ack->end, &out->end);
            pos_from(ack->tail, &out->tail);
            s2__v1__append_ack__free_unpacked(ack, NULL);
        }
    }
    wr_cli_resp_fini(&resp);
    wr_buf_fini(&path);
    free(buf);
    return rc;
}

/* ---- the input -------------------------------------------------------------------------------- */

typedef struct reader {
    int fd;
    bool regular; /* a regular file: no lingering, size known */
    bool eof;
    char *buf;
    size_t off, len;
    uint64_t consumed; /* bytes handed out as lines (with their newlines) */
    uint64_t size;     /* regular files: total size */
    uint64_t line_no;
} reader;

enum { LINE = 1, QUIET = 0, END = -1, FAILED = -2, TOO_LONG = -3 };

/*
 * The next line (without "\n") in *out and *out_len, valid until the next call. With timeout_ms
 * >= 0 on a non-file input, returns QUIET when no complete line arrived in that time.
 */
static int
next_line(reader *r, int timeout_ms, const char **out, size_t *out_len)
{
    for (;;) {
        char *nl = memchr(r->buf + r->off, '\n', r->len - r->off);
        if (nl || (r->eof && r->len > r->off)) {
            size_t n = nl ? (size_t)(nl - (r->buf + r->off)) : r->len - r->off;
            *out = r->buf + r->off;
            *out_len = n;
            r->off += n + (nl ? 1 : 0);
            r->consumed += n + (nl ? 1 : 0);
            r->line_no++;
            return LINE;
        }
        if (r->eof)
            return END;
        if (r->off > 0) { /* keep the partial line at the front */
            memmove(r->buf, r->buf + r->off, r->len - r->off);
            r->len -= r->off;
            r->off = 0;
        }
        if (r->len == READ_CAP)
            return TOO_LONG;
        if (timeout_ms >= 0 && !r->regular) {
            struct pollfd p = {.fd = r->fd, .events = POLLIN};
            int pr = poll(&p, 1, timeout_ms);
            if (pr == 0)
                return QUIET;
            if (pr < 0 && errno != EINTR)
                return FAILED;
            if (pr < 0)
                continue;
        }
        ssize_t n = read(r->fd, r->buf + r->len, READ_CAP - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return FAILED;
        if (n == 0)
            r->eof = true;
        r->len += (size_t)n;
    }
}

/* ---- batches ------------------------------------------------------------------------------------ */

typedef struct brec {
    size_t body_off, body_len;
    size_t hdr_first, n_hdrs;
    bool has_ts;
    uint64_t ts;
} brec;

typedef struct bhdr {
    size_t name_off, name_len, val_off, val_len;
} bhdr;

typedef struct batch {
    wr_buf data; /* bodies and header bytes */
    brec *recs;
    size_t n, cap;
    bhdr *hdrs;
    size_t n_hdrs, cap_hdrs;
    uint64_t metered;
} batch;

static void
batch_reset(batch *b)
{
    wr_buf_reset(&b->data);
    b->n = b->n_hdrs = 0;
    b->metered = 0;
}

static void
batch_fini(batch *b)
{
    wr_buf_fini(&b->data);
    free(b->recs);
    free(b->hdrs);
}

static brec *
batch_add(batch *b)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->recs = wr_xrealloc(b->recs, b->cap * sizeof(*b->recs));
    }
    brec *r = &b->recs[b->n++];
    memset(r, 0, sizeof(*r));
    r->hdr_first = b->n_hdrs;
    return r;
}

static void
batch_add_hdr(batch *b, const char *name, size_t nlen, const char *val, size_t vlen)
{
    if (b->n_hdrs == b->cap_hdrs) {
        b->cap_hdrs = b->cap_hdrs ? 2 * b->cap_hdrs : 64;
        b->hdrs = wr_xrealloc(b->hdrs, b->cap_hdrs * sizeof(*b->hdrs));
    }
    bhdr *h = &b->hdrs[b->n_hdrs++];
    h->name_off = b->data.len;
    h->name_len = nlen;
    wr_buf_append(&b->data, name, nlen);
    h->val_off = b->data.len;
    h->val_len = vlen;
    wr_buf_append(&b->data, val, vlen);
}

/* Appends the single record of `one` (and its bytes and headers) to b; metered is not added. */
static void
batch_merge(batch *b, const batch *one)
{
    size_t first = b->n_hdrs;
    const brec *src = &one->recs[0];
    for (size_t i = 0; i < src->n_hdrs; i++) {
        const bhdr *h = &one->hdrs[src->hdr_first + i];
        batch_add_hdr(b, one->data.data + h->name_off, h->name_len, one->data.data + h->val_off,
                      h->val_len);
    }
    brec *r = batch_add(b);
    *r = *src;
    r->hdr_first = first;
    r->body_off = b->data.len;
    wr_buf_append(&b->data, one->data.data ? one->data.data + src->body_off : "", src->body_len);
}

/* Parses one --format json line into the record r of batch b. Returns NULL or an error text. */
static const char *
parse_json_line(batch *b, const char *line, size_t len, brec *r)
{
    json_error_t je;
    json_t *j = json_loadb(line, len, 0, &je);
    const char *e = NULL;
    if (!json_is_object(j)) {
        e = j ? "not a JSON object" : "not valid JSON";
        goto out;
    }
    json_t *body = json_object_get(j, "body"), *hs = json_object_get(j, "headers");
    json_t *ts = json_object_get(j, "timestamp");
    if (body && !json_is_string(body) && !json_is_null(body)) {
        e = "\"body\" must be a string";
        goto out;
    }
    if (hs && !json_is_array(hs) && !json_is_null(hs)) {
        e = "\"headers\" must be an array of [name, value] pairs";
        goto out;
    }
    if (ts && !json_is_null(ts) && (!json_is_integer(ts) || json_integer_value(ts) < 0)) {
        e = "\"timestamp\" must be a non-negative integer (milliseconds)";
        goto out;
    }
    size_t i;
    json_t *h;
    json_array_foreach(hs, i, h)
    {
        json_t *n = json_array_get(h, 0), *v = json_array_get(h, 1);
        if (json_array_size(h) != 2 || !json_is_string(n) || !json_is_string(v)) {
            e = "\"headers\" must be an array of [name, value] pairs";
            goto out;
        }
        batch_add_hdr(b, json_string_value(n), json_string_length(n), json_string_value(v),
                      json_string_length(v));
        r->n_hdrs++;
    }
    r->body_off = b->data.len;
    r->body_len = json_is_string(body) ? json_string_length(body) : 0;
    if (r->body_len)
        wr_buf_append(&b->data, json_string_value(body), r->body_len);
    if (json_is_integer(ts)) {
        r->has_ts = true;
        r->ts = (uint64_t)json_integer_value(ts);
    }
out:
    json_decref(j);
    return e;
}

static uint64_t
brec_metered(const batch *b, const brec *r)
{
    uint64_t n = 8 + 2 * (uint64_t)r->n_hdrs + r->body_len;
    for (size_t i = 0; i < r->n_hdrs; i++)
        n += b->hdrs[r->hdr_first + i].name_len + b->hdrs[r->hdr_first + i].val_len;
    return n;
}

/* The protobuf view of a batch (pointing into its data) and its send. */
static int
batch_send(wr_cli *c, const wr_cli_uri *u, batch *b, const char *fencing, bool has_match,
           uint64_t match, wr_cli_ack *ack)
{
    S2__V1__AppendRecord *recs = wr_xcalloc(b->n, sizeof(*recs));
    S2__V1__AppendRecord **rp = wr_xcalloc(b->n, sizeof(*rp));
    S2__V1__Header *hdrs = wr_xcalloc(b->n_hdrs ? b->n_hdrs : 1, sizeof(*hdrs));
    S2__V1__Header **hp = wr_xcalloc(b->n_hdrs ? b->n_hdrs : 1, sizeof(*hp));
    uint8_t *base = (uint8_t *)(b->data.data ? b->data.data : "");
    for (size_t i = 0; i < b->n_hdrs; i++) {
        s2__v1__header__init(&hdrs[i]);
        hdrs[i].has_name = hdrs[i].has_value = 1;
        hdrs[i].name = (ProtobufCBinaryData){b->hdrs[i].name_len, base + b->hdrs[i].name_off};
        hdrs[i].value = (ProtobufCBinaryData){b->hdrs[i].val_len, base + b->hdrs[i].val_off};
        hp[i] = &hdrs[i];
    }
    for (size_t i = 0; i < b->n; i++) {
        s2__v1__append_record__init(&recs[i]);
        recs[i].has_body = b->recs[i].body_len > 0;
        recs[i].body = (ProtobufCBinaryData){b->recs[i].body_len, base + b->recs[i].body_off};
        recs[i].has_timestamp = b->recs[i].has_ts;
        recs[i].timestamp = b->recs[i].ts;
        recs[i].n_headers = b->recs[i].n_hdrs;
        recs[i].headers = b->recs[i].n_hdrs ? hp + b->recs[i].hdr_first : NULL;
        rp[i] = &recs[i];
    }
    S2__V1__AppendInput in = S2__V1__APPEND_INPUT__INIT;
    in.n_records = b->n;
    in.records = rp;
    in.fencing_token = (char *)fencing;
    in.has_match_seq_num = has_match;
    in.match_seq_num = match;
    int rc = wr_cli_append_batch(c, u, &in, ack);
    free(recs);
    free(rp);
    free(hdrs);
    free(hp);
    return rc;
}

/* ---- progress ------------------------------------------------------------------------------------ */

typedef struct progress {
    bool wanted; /* allowed (a TTY, not turned off) */
    bool shown;  /* a line is on the screen */
    uint64_t t0_ns, last_ns;
} progress;

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
progress_print(progress *p, const reader *r, uint64_t records, bool final)
{
    uint64_t now = now_ns();
    /* A file, or more than 1 MiB of input: worth a progress line. */
    if (!p->wanted || (!r->regular && r->consumed < MAX_BATCH_BYTES))
        return;
    if (!final && now - p->last_ns < 200000000u)
        return;
    p->last_ns = now;
    double secs = (double)(now - p->t0_ns) / 1e9;
    if (secs < 1e-3)
        secs = 1e-3;
    char n[32], bytes[32], rate[32], brate[32], pct[16] = "", el[32];
    wr_cli_fmt_count(records, n);
    wr_cli_fmt_bytes(r->consumed, bytes);
    wr_cli_fmt_count((uint64_t)((double)records / secs), rate);
    wr_cli_fmt_byte_rate((double)r->consumed / secs, brate);
    wr_cli_fmt_secs((uint64_t)secs, el);
    if (r->regular && r->size)
        snprintf(pct, sizeof(pct), "  %3.0f%%", 100.0 * (double)r->consumed / (double)r->size);
    fprintf(stderr, "\r\033[K%s %s records  %s%s  %s records/s  %s  %s",
            final ? "appended" : "appending", n, bytes, pct, rate, brate, el);
    p->shown = true;
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

/* ---- the command ------------------------------------------------------------------------------------ */

typedef struct append_opts {
    wr_cli_fmt fmt; /* TEXT or JSON */
    uint64_t max_records, max_bytes, linger_ms;
    const char *fencing;
    bool has_match;
    uint64_t match;
} append_opts;

static int
read_opts(wr_cli *c, append_opts *o)
{
    uint64_t v;
    o->fmt = wr_cli_arg_num(&c->a, "format", &v) && v == 1 ? WR_CLI_FMT_JSON : WR_CLI_FMT_TEXT;
    o->max_records = MAX_BATCH_RECORDS;
    o->max_bytes = MAX_BATCH_BYTES;
    o->linger_ms = 5;
    if (wr_cli_arg_num(&c->a, "batch-records", &o->max_records) &&
        (o->max_records == 0 || o->max_records > MAX_BATCH_RECORDS))
        return wr_cli_usage(c, "--batch-records: must be between 1 and 1000");
    if (wr_cli_arg_num(&c->a, "batch-bytes", &o->max_bytes) &&
        (o->max_bytes < 16 || o->max_bytes > MAX_BATCH_BYTES))
        return wr_cli_usage(c, "--batch-bytes: must be between 16 and 1MiB");
    if (wr_cli_arg_num(&c->a, "linger-ms", &o->linger_ms) && o->linger_ms > 60000)
        return wr_cli_usage(c, "--linger-ms: must be at most 60000");
    wr_cli_arg_str(&c->a, "fencing-token", &o->fencing);
    o->has_match = wr_cli_arg_num(&c->a, "match-seq-num", &o->match);
    return WR_CLI_EXIT_OK;
}

static int
open_input(wr_cli *c, reader *r)
{
    const char *file = "-";
    wr_cli_arg_str(&c->a, "file", &file);
    r->fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return wr_cli_usage(c, "--file %s: %s", file, strerror(errno));
    struct stat st;
    if (fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode)) {
        r->regular = true;
        r->size = (uint64_t)st.st_size;
    }
    r->buf = wr_xmalloc(READ_CAP);
    return WR_CLI_EXIT_OK;
}

typedef struct totals {
    uint64_t records, bytes;
    bool any;
    wr_cli_ack first, last;
} totals;

static int
flush(wr_cli *c, const wr_cli_uri *u, batch *b, append_opts *o, totals *t)
{
    if (b->n == 0)
        return WR_CLI_EXIT_OK;
    wr_cli_ack ack = {0};
    int rc = batch_send(c, u, b, o->fencing, o->has_match, o->match, &ack);
    if (rc != WR_CLI_EXIT_OK)
        return rc;
    if (!t->any)
        t->first = ack;
    t->last = ack;
    t->any = true;
    t->records += b->n;
    t->bytes += b->metered;
    if (o->has_match)
        o->match = ack.end.seq_num; /* the next batch continues exactly here */
    batch_reset(b);
    return WR_CLI_EXIT_OK;
}

static void
report(wr_cli *c, const wr_cli_uri *u, const totals *t)
{
    if (c->json) {
        json_t *o = json_pack("{s:I,s:I}", "records", (json_int_t)t->records, "bytes",
                              (json_int_t)t->bytes);
        json_t *j = t->any ? wr_cli_ack_json(&t->last) : NULL;
        json_object_set_new(o, "start",
                            t->any ? json_pack("{s:I,s:I}", "seq_num",
                                               (json_int_t)t->first.start.seq_num, "timestamp",
                                               (json_int_t)t->first.start.timestamp)
                                   : json_null());
        json_object_set(o, "end", j ? json_object_get(j, "end") : json_null());
        json_object_set(o, "tail", j ? json_object_get(j, "tail") : json_null());
        json_decref(j);
        wr_cli_print_json(o);
        return;
    }
    char n[32], b[32];
    wr_cli_fmt_count(t->records, n);
    wr_cli_fmt_bytes(t->bytes, b);
    if (t->any)
        printf("appended %s record%s (%s) to s2://%s/%s: seq_num %llu to %llu\n", n,
               t->records == 1 ? "" : "s", b, u->basin, u->stream,
               (unsigned long long)t->first.start.seq_num,
               (unsigned long long)t->last.end.seq_num - 1);
    else
        printf("nothing to append: the input had no lines\n");
}

/* Everything one `weir append` run holds. */
typedef struct appender {
    wr_cli *c;
    wr_cli_uri u;
    append_opts o;
    reader r;
    batch b, one; /* the batch being filled; one JSON record being parsed */
    totals t;
    progress p;
} appender;

/* Adds one input line to the batch, sending the batch first if the line does not fit. */
static int
add_line(appender *ap, const char *line, size_t len)
{
    batch *b = &ap->b;
    /* A JSON record is parsed on its own first; a text record is just the line. */
    const char *e = NULL;
    uint64_t m = 8 + len;
    if (ap->o.fmt == WR_CLI_FMT_JSON) {
        batch_reset(&ap->one);
        brec *pr = batch_add(&ap->one);
        e = parse_json_line(&ap->one, line, len, pr);
        m = e ? 0 : brec_metered(&ap->one, pr);
    }
    if (!e && m > MAX_BATCH_BYTES)
        e = "the record is larger than 1 MiB";
    if (e)
        return wr_cli_fail(ap->c, "line %llu: %s", (unsigned long long)ap->r.line_no, e);
    int rc;
    if ((b->n == ap->o.max_records || (b->n > 0 && b->metered + m > ap->o.max_bytes)) &&
        (rc = flush(ap->c, &ap->u, b, &ap->o, &ap->t)) != WR_CLI_EXIT_OK)
        return rc;
    if (ap->o.fmt == WR_CLI_FMT_JSON) {
        batch_merge(b, &ap->one);
    } else {
        brec *br = batch_add(b);
        br->body_off = b->data.len;
        br->body_len = len;
        wr_buf_append(&b->data, line, len);
    }
    b->metered += m;
    return WR_CLI_EXIT_OK;
}

/* Reads the input to its end (or the first failure), sending batches as they fill. */
static int
pump(appender *ap)
{
    for (;;) {
        const char *line;
        size_t len;
        int lr = next_line(&ap->r, ap->b.n ? (int)ap->o.linger_ms : -1, &line, &len);
        int rc;
        if (lr == QUIET || lr == END) {
            if ((rc = flush(ap->c, &ap->u, &ap->b, &ap->o, &ap->t)) != WR_CLI_EXIT_OK || lr == END)
                return rc;
            continue;
        }
        if (lr == FAILED)
            return wr_cli_fail(ap->c, "reading the input: %s", strerror(errno));
        if (lr == TOO_LONG)
            return wr_cli_fail(ap->c, "line %llu: longer than a record may be (1 MiB)",
                               (unsigned long long)ap->r.line_no + 1);
        if ((rc = add_line(ap, line, len)) != WR_CLI_EXIT_OK)
            return rc;
        progress_print(&ap->p, &ap->r, ap->t.records + ap->b.n, false);
    }
}

int
wr_cli_cmd_append(wr_cli *c)
{
    appender ap = {.c = c};
    int rc;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &ap.u))
        return WR_CLI_EXIT_USAGE;
    if ((rc = read_opts(c, &ap.o)) != WR_CLI_EXIT_OK ||
        (rc = open_input(c, &ap.r)) != WR_CLI_EXIT_OK)
        goto out;
    ap.p.wanted = isatty(STDERR_FILENO) && !c->quiet && !wr_cli_arg_flag(&c->a, "no-progress");
    ap.p.t0_ns = now_ns();
    rc = pump(&ap);
    if (ap.p.shown || (rc == WR_CLI_EXIT_OK && ap.p.wanted && ap.r.regular))
        progress_print(&ap.p, &ap.r, ap.t.records, true);
    if (rc == WR_CLI_EXIT_OK)
        report(c, &ap.u, &ap.t);
    else if (ap.t.any)
        wr_cli_note(c, "%llu records were appended before the failure (up to seq_num %llu)",
                    (unsigned long long)ap.t.records,
                    (unsigned long long)ap.t.last.end.seq_num - 1);
out:
    if (ap.r.fd > 0)
        close(ap.r.fd);
    free(ap.r.buf);
    batch_fini(&ap.b);
    batch_fini(&ap.one);
    return rc;
}
