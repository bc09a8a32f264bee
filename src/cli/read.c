/*
 * read.c — `weir read` (unary reads page by page) and `weir tail` (the last records, then with
 * -f live over SSE through records.c's follower).
 *
 * Pages are unary protobuf reads (raw bytes, so --format raw reproduces bodies exactly), each
 * continuing at the seq_num after the last record of the previous one, with --count/--bytes
 * reduced by what was already printed. The walk ends at the tail (416, or an empty page), at
 * --until (an empty page), or when a limit is used up.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "util/mem.h"

typedef enum start_kind { START_SEQ, START_TS, START_OFFSET } start_kind;

typedef struct read_params {
    start_kind start;
    uint64_t start_value;
    bool has_count, has_bytes, has_until, clamp;
    uint64_t count, bytes, until;
    wr_cli_fmt fmt;
} read_params;

static wr_cli_fmt
out_format(wr_cli *c)
{
    uint64_t v;
    if (wr_cli_arg_num(&c->a, "format", &v))
        return v == 1 ? WR_CLI_FMT_JSON : v == 2 ? WR_CLI_FMT_RAW : WR_CLI_FMT_TEXT;
    return c->json ? WR_CLI_FMT_JSON : WR_CLI_FMT_TEXT;
}

static void
page_query(wr_buf *q, const read_params *p, bool first, uint64_t next, uint64_t done_records,
           uint64_t done_bytes)
{
    if (!first)
        wr_cli_query_u64(q, "seq_num", next);
    else if (p->start == START_TS)
        wr_cli_query_u64(q, "timestamp", p->start_value);
    else if (p->start == START_OFFSET)
        wr_cli_query_u64(q, "tail_offset", p->start_value);
    else
        wr_cli_query_u64(q, "seq_num", p->start_value);
    if (p->has_count)
        wr_cli_query_u64(q, "count", p->count - done_records);
    if (p->has_bytes)
        wr_cli_query_u64(q, "bytes", p->bytes - done_bytes);
    if (p->has_until)
        wr_cli_query_u64(q, "until", p->until);
    if (first && p->clamp)
        wr_cli_query(q, "clamp", "true");
}

/* Prints a page; returns the number of records (and adds their metered bytes to *bytes). */
static size_t
print_page(const S2__V1__ReadBatch *rb, wr_cli_fmt fmt, uint64_t *next, uint64_t *bytes)
{
    for (size_t i = 0; i < rb->n_records; i++) {
        const S2__V1__SequencedRecord *sr = rb->records[i];
        wr_cli_hdr hs[64];
        wr_cli_hdr *h = sr->n_headers <= 64 ? hs : wr_xcalloc(sr->n_headers, sizeof(*h));
        for (size_t k = 0; k < sr->n_headers; k++)
            h[k] = (wr_cli_hdr){sr->headers[k]->name.data, sr->headers[k]->value.data,
                                sr->headers[k]->name.len, sr->headers[k]->value.len};
        wr_cli_rec r = {
            .seq_num = sr->seq_num,
            .timestamp = sr->timestamp,
            .headers = h,
            .n_headers = sr->n_headers,
            .body = sr->body.data,
            .body_len = sr->body.len,
        };
        wr_cli_rec_print(&r, fmt, false);
        *bytes += wr_cli_rec_metered(&r);
        *next = sr->seq_num + 1;
        if (h != hs)
            free(h);
    }
    return rb->n_records;
}

/* 416 on the first page: past the tail is an error (unless --clamp), at the tail simply
 * nothing to read. */
static int
first_page_416(wr_cli *c, const read_params *p, const wr_cli_resp *resp)
{
    json_t *j = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
    json_t *t = json_object_get(json_object_get(j, "tail"), "seq_num");
    bool past = !p->clamp && p->start == START_SEQ && json_is_integer(t) &&
                (uint64_t)json_integer_value(t) < p->start_value;
    json_decref(j);
    return past ? wr_cli_fail_resp(c, resp) : WR_CLI_EXIT_OK;
}

static int
read_pages(wr_cli *c, const wr_cli_uri *u, const read_params *p)
{
    uint64_t next = 0, records = 0, bytes = 0;
    wr_buf path = {0};
    int rc = WR_CLI_EXIT_OK;
    for (bool first = true;; first = false) {
        if (!first &&
            ((p->has_count && records >= p->count) || (p->has_bytes && bytes >= p->bytes)))
            break;
        wr_buf_reset(&path);
        wr_cli_path(&path, "/streams", u->stream, "/records");
        page_query(&path, p, first, next, records, bytes);
        wr_cli_req r = {
            .target = WR_CLI_BASIN,
            .basin = u->basin,
            .method = "GET",
            .path = path.data,
            .accept = "application/protobuf",
        };
        wr_cli_resp resp;
        wr_error err = {0};
        if (wr_cli_http_do(c, &r, &resp, &err) != WR_OK) {
            rc = wr_cli_fail_http(c, &err);
            break;
        }
        if (resp.status == 416) {
            rc = first ? first_page_416(c, p, &resp) : WR_CLI_EXIT_OK;
            wr_cli_resp_fini(&resp);
            break;
        }
        if (resp.status != 200) {
            rc = wr_cli_fail_resp(c, &resp);
            wr_cli_resp_fini(&resp);
            break;
        }
        S2__V1__ReadBatch *rb =
            s2__v1__read_batch__unpack(NULL, resp.body.len, (const uint8_t *)resp.body.data);
        wr_cli_resp_fini(&resp);
        if (!rb) {
            rc = wr_cli_fail(c, "the server's read answer is not valid protobuf");
            break;
        }
        size_t n = print_page(rb, p->fmt, &next, &bytes);
        s2__v1__read_batch__free_unpacked(rb, NULL);
        records += n;
        if (n == 0)
            break;
    }
    wr_buf_fini(&path);
    return rc;
}

int
wr_cli_cmd_read(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &u))
        return WR_CLI_EXIT_USAGE;
    read_params p = {.start = START_SEQ, .fmt = out_format(c)};
    int starts = 0;
    if (wr_cli_arg_num(&c->a, "seq-num", &p.start_value))
        starts++;
    if (wr_cli_arg_num(&c->a, "timestamp", &p.start_value)) {
        p.start = START_TS;
        starts++;
    }
    if (wr_cli_arg_num(&c->a, "tail-offset", &p.start_value)) {
        p.start = START_OFFSET;
        starts++;
    }
    if (starts > 1)
        return wr_cli_usage(c, "give at most one of --seq-num, --timestamp and --tail-offset");
    p.has_count = wr_cli_arg_num(&c->a, "count", &p.count);
    p.has_bytes = wr_cli_arg_num(&c->a, "bytes", &p.bytes);
    p.has_until = wr_cli_arg_num(&c->a, "until", &p.until);
    p.clamp = wr_cli_arg_flag(&c->a, "clamp");
    if (p.has_until && p.start == START_TS && p.start_value >= p.until)
        return wr_cli_usage(c, "--until must be later than --timestamp");
    return read_pages(c, &u, &p);
}

int
wr_cli_cmd_tail(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &u))
        return WR_CLI_EXIT_USAGE;
    uint64_t lines = 10;
    wr_cli_arg_num(&c->a, "lines", &lines);
    wr_cli_fmt fmt = out_format(c);
    if (!wr_cli_arg_flag(&c->a, "follow")) {
        read_params p = {.start = START_OFFSET,
                         .start_value = lines,
                         .has_count = true,
                         .count = lines,
                         .fmt = fmt};
        return lines == 0 ? WR_CLI_EXIT_OK : read_pages(c, &u, &p);
    }
    wr_buf path = {0}, query = {0};
    wr_cli_path(&path, "/streams", u.stream, "/records");
    wr_cli_query_u64(&query, "tail_offset", lines);
    wr_cli_follow f = {
        .target = WR_CLI_BASIN,
        .basin = u.basin,
        .path = path.data,
        .query = query.data,
        .base64 = true,
        .fmt = fmt,
    };
    int rc = wr_cli_follow_run(c, &f);
    wr_buf_fini(&path);
    wr_buf_fini(&query);
    return rc;
}
