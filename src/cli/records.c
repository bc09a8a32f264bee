/*
 * records.c — printing records, and following a records route live over SSE.
 *
 * Following keeps two positions: the Last-Event-ID of the last batch (what a reconnect sends,
 * so the server resumes right after it) and the seq_num after the last record printed (what a
 * reconnect uses before any batch arrived, learned from the first ping's tail, and the guard
 * that drops any record at or below one already printed). Together they make a reconnect — a
 * dropped connection, a restarted server — neither lose nor repeat a record.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_int.h"
#include "util/base64.h"
#include "util/mem.h"
#include "util/utf8.h"

bool
wr_cli_rec_is_command(const wr_cli_rec *r)
{
    return r->n_headers == 1 && r->headers[0].name_len == 0;
}

uint64_t
wr_cli_rec_metered(const wr_cli_rec *r)
{
    uint64_t n = 8 + 2 * (uint64_t)r->n_headers + r->body_len;
    for (size_t i = 0; i < r->n_headers; i++)
        n += r->headers[i].name_len + r->headers[i].value_len;
    return n;
}

static json_t *
text_json(const uint8_t *p, size_t len)
{
    if (len == 0)
        return json_string(""); /* p may be NULL (an absent protobuf field) */
    if (wr_utf8_valid(p, len))
        return json_stringn((const char *)p, len);
    wr_buf b = {0};
    wr_utf8_lossy(p, len, &b);
    json_t *s = json_stringn(b.data ? b.data : "", b.len);
    wr_buf_fini(&b);
    return s;
}

/* Text mode of an envelope {"data":…}: the data (a string as is, anything else as JSON). */
static bool
print_unwrapped(const wr_cli_rec *r)
{
    json_t *j = json_loadb((const char *)r->body, r->body_len, 0, NULL);
    json_t *d = json_object_get(j, "data");
    if (!d) {
        json_decref(j);
        return false;
    }
    if (json_is_string(d)) {
        fwrite(json_string_value(d), 1, json_string_length(d), stdout);
    } else {
        char *s = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(s ? s : "", stdout);
        free(s);
    }
    fputc('\n', stdout);
    json_decref(j);
    return true;
}

void
wr_cli_rec_print(const wr_cli_rec *r, wr_cli_fmt fmt, bool unwrap)
{
    if (fmt != WR_CLI_FMT_JSON) {
        if (wr_cli_rec_is_command(r))
            return;
        if (fmt == WR_CLI_FMT_TEXT && unwrap && print_unwrapped(r))
            return;
        if (r->body_len) /* an empty body may have a NULL pointer */
            fwrite(r->body, 1, r->body_len, stdout);
        if (fmt == WR_CLI_FMT_TEXT)
            fputc('\n', stdout);
        return;
    }
    json_t *hs = json_array();
    for (size_t i = 0; i < r->n_headers; i++)
        json_array_append_new(
            hs, json_pack("[o,o]", text_json(r->headers[i].name, r->headers[i].name_len),
                          text_json(r->headers[i].value, r->headers[i].value_len)));
    wr_cli_print_json(json_pack("{s:I,s:I,s:o,s:o}", "seq_num", (json_int_t)r->seq_num, "timestamp",
                                (json_int_t)r->timestamp, "headers", hs, "body",
                                text_json(r->body, r->body_len)));
}

/* ---- one record out of SSE JSON ---------------------------------------------------------------- */

typedef struct piece {
    size_t off, len;
} piece;

/* Appends the bytes of a JSON string (base64-decoded when b64) to store. */
static bool
take(json_t *s, bool b64, wr_buf *store, piece *out)
{
    if (!s) {
        *out = (piece){store->len, 0};
        return true;
    }
    if (!json_is_string(s))
        return false;
    out->off = store->len;
    if (b64) {
        if (!wr_base64_decode(json_string_value(s), json_string_length(s), store))
            return false;
    } else {
        wr_buf_append(store, json_string_value(s), json_string_length(s));
    }
    out->len = store->len - out->off;
    return true;
}

/* Prints one record of a batch; false if it is malformed. */
static bool
print_json_record(json_t *jr, bool b64, wr_cli_fmt fmt, bool unwrap)
{
    json_t *seq = json_object_get(jr, "seq_num"), *ts = json_object_get(jr, "timestamp");
    json_t *hs = json_object_get(jr, "headers");
    if (!json_is_integer(seq) || (hs && !json_is_array(hs)))
        return false;
    size_t nh = json_array_size(hs);
    piece *ps = wr_xcalloc(2 * nh + 1, sizeof(*ps));
    wr_cli_hdr *hdrs = wr_xcalloc(nh ? nh : 1, sizeof(*hdrs));
    wr_buf store = {0};
    bool ok = take(json_object_get(jr, "body"), b64, &store, &ps[2 * nh]);
    for (size_t i = 0; ok && i < nh; i++) {
        json_t *h = json_array_get(hs, i);
        ok = json_array_size(h) == 2 && take(json_array_get(h, 0), b64, &store, &ps[2 * i]) &&
             take(json_array_get(h, 1), b64, &store, &ps[2 * i + 1]);
    }
    if (ok) {
        const uint8_t *base = (const uint8_t *)(store.data ? store.data : "");
        for (size_t i = 0; i < nh; i++)
            hdrs[i] = (wr_cli_hdr){base + ps[2 * i].off, base + ps[2 * i + 1].off, ps[2 * i].len,
                                   ps[2 * i + 1].len};
        wr_cli_rec r = {
            .seq_num = (uint64_t)json_integer_value(seq),
            .timestamp = (uint64_t)json_integer_value(ts),
            .headers = hdrs,
            .n_headers = nh,
            .body = base + ps[2 * nh].off,
            .body_len = ps[2 * nh].len,
        };
        wr_cli_rec_print(&r, fmt, unwrap);
    }
    wr_buf_fini(&store);
    free(ps);
    free(hdrs);
    return ok;
}

/* ---- following ---------------------------------------------------------------------------------- */

typedef struct follow {
    wr_cli *c;
    const wr_cli_follow *f;
    wr_cli_sse sse;
    uint64_t next_seq; /* the seq_num after the last record printed */
    bool have_next;
    char last_id[256]; /* of the last batch */
    bool got_event;    /* this connection delivered something */
    bool lost;         /* a reconnection was announced and not yet its success */
    bool bad_data;
} follow;

static void
on_batch(follow *st, const char *data, size_t len, const char *id)
{
    json_t *j = json_loadb(data, len, 0, NULL);
    json_t *recs = json_object_get(j, "records");
    if (!json_is_array(recs)) {
        st->bad_data = true;
        json_decref(j);
        return;
    }
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        json_t *seq = json_object_get(r, "seq_num");
        uint64_t s = json_is_integer(seq) ? (uint64_t)json_integer_value(seq) : 0;
        if (st->have_next && s < st->next_seq)
            continue; /* already printed before a reconnect */
        if (!print_json_record(r, st->f->base64, st->f->fmt, st->f->unwrap)) {
            st->bad_data = true;
            break;
        }
        st->next_seq = s + 1;
        st->have_next = true;
    }
    if (id && *id)
        snprintf(st->last_id, sizeof(st->last_id), "%s", id);
    fflush(stdout);
    json_decref(j);
}

static void
on_event(const char *event, const char *data, size_t len, const char *id, void *ud)
{
    follow *st = ud;
    st->got_event = true;
    if (st->lost) {
        wr_cli_note(st->c, "reconnected");
        st->lost = false;
    }
    if (strcmp(event, "batch") == 0) {
        on_batch(st, data, len, id);
    } else if (strcmp(event, "ping") == 0 && !st->have_next) {
        /* Caught up before any record: the next one is the tail. */
        json_t *j = json_loadb(data, len, 0, NULL);
        json_t *t = json_object_get(json_object_get(j, "tail"), "seq_num");
        if (json_is_integer(t)) {
            st->next_seq = (uint64_t)json_integer_value(t);
            st->have_next = true;
        }
        json_decref(j);
    } else if (strcmp(event, "error") == 0) {
        wr_cli_note(st->c, "the server ended the stream: %.*s", (int)(len > 200 ? 200 : len), data);
    }
}

static bool
on_data(const char *p, size_t n, void *ud)
{
    follow *st = ud;
    return wr_cli_sse_feed(&st->sse, p, n) && !st->bad_data;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool
retryable(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

/* One connection, until it ends; its answer in *resp (the events went to on_event). */
static wr_err
connect_once(follow *st, wr_cli_resp *resp, wr_error *err)
{
    const wr_cli_follow *f = st->f;
    /* Resume after the last batch; before any, after what a ping said was the tail. */
    char synth[48] = "";
    if (!st->last_id[0] && st->have_next && st->next_seq > 0)
        snprintf(synth, sizeof(synth), "%llu,0,0", (unsigned long long)st->next_seq - 1);
    wr_buf path = {0};
    wr_buf_append_str(&path, f->path);
    if (!st->last_id[0] && st->have_next && st->next_seq == 0)
        wr_cli_query_u64(&path, "seq_num", 0);
    else
        wr_buf_append_str(&path, f->query);
    wr_cli_req r = {
        .target = f->target,
        .basin = f->basin,
        .method = "GET",
        .path = path.data,
        .accept = "text/event-stream",
        .s2_format = f->base64 ? "base64" : NULL,
        .timeout = f->timeout,
        .last_event_id = st->last_id[0] ? st->last_id
                         : synth[0]     ? synth
                                        : NULL,
        .stream = true,
        .on_data = on_data,
        .ud = st,
    };
    st->got_event = false;
    wr_cli_sse_init(&st->sse, on_event, st);
    wr_err e = wr_cli_http_do(st->c, &r, resp, err);
    if (st->sse.broken)
        st->bad_data = true;
    wr_cli_sse_fini(&st->sse);
    wr_buf_fini(&path);
    return e;
}

/* The exit code when a connection's outcome ends the command, else -1 (reconnect). */
static int
final_outcome(follow *st, wr_err e, const wr_cli_resp *resp, const wr_error *err)
{
    if (e == WR_ERR_INVALID)
        return wr_cli_fail_http(st->c, err);
    if (st->bad_data)
        return wr_cli_fail(st->c, "the server sent a malformed event stream");
    if (e == WR_OK && resp->status >= 300 && !retryable(resp->status))
        return wr_cli_fail_resp(st->c, resp);
    if (e == WR_OK && resp->status < 300 && strncmp(resp->ctype, "text/event-stream", 17) != 0)
        return wr_cli_fail(st->c, "the server did not answer with an event stream (%s)",
                           resp->ctype[0] ? resp->ctype : "no Content-Type");
    return -1;
}

int
wr_cli_follow_run(wr_cli *c, const wr_cli_follow *f)
{
    follow st = {.c = c, .f = f};
    int backoff = 200;
    for (;;) {
        wr_cli_resp resp;
        wr_error err = {0};
        wr_err e = connect_once(&st, &resp, &err);
        int rc = final_outcome(&st, e, &resp, &err);
        bool failed = e != WR_OK || resp.status >= 300;
        if (rc < 0 && failed && !st.lost) {
            if (e != WR_OK)
                wr_cli_note(c, "%s; reconnecting", err.msg);
            else
                wr_cli_note(c, "HTTP %ld; reconnecting", resp.status);
            st.lost = true;
        }
        wr_cli_resp_fini(&resp);
        if (rc >= 0)
            return rc;
        if (st.got_event)
            backoff = 200;
        /* A clean end ([DONE], or the server closing the stream) reconnects at once. */
        if (failed || !st.got_event) {
            sleep_ms(backoff);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
        }
    }
}
