/*
 * streams.c — the stream commands: create, delete, configuration, check-tail, and the two
 * command records (trim, fence), which are appends of one record whose only header has an
 * empty name (s2-api.md §3.2). They go as protobuf, because a trim body is 8 raw bytes.
 */
#include <string.h>

#include "cli/cli_int.h"
#include "util/buf.h"
#include "util/utf8.h"

json_t *
wr_cli_stream_config(wr_cli *c)
{
    json_t *cfg = json_object();
    const char *s;
    uint64_t v;
    if (wr_cli_arg_str(&c->a, "storage-class", &s))
        json_object_set_new(cfg, "storage_class", json_string(s));
    if (wr_cli_arg_num(&c->a, "retention-policy", &v))
        json_object_set_new(cfg, "retention_policy",
                            v ? json_pack("{s:I}", "age", (json_int_t)v)
                              : json_pack("{s:{}}", "infinite"));
    json_t *ts = json_object();
    if (wr_cli_arg_str(&c->a, "timestamping-mode", &s))
        json_object_set_new(ts, "mode", json_string(s));
    if (wr_cli_arg_num(&c->a, "timestamping-uncapped", &v))
        json_object_set_new(ts, "uncapped", json_boolean(v));
    if (json_object_size(ts))
        json_object_set_new(cfg, "timestamping", ts);
    else
        json_decref(ts);
    if (wr_cli_arg_num(&c->a, "delete-on-empty-min-age", &v))
        json_object_set_new(cfg, "delete_on_empty",
                            json_pack("{s:I}", "min_age_secs", (json_int_t)v));
    if (json_object_size(cfg) == 0) {
        json_decref(cfg);
        return NULL;
    }
    return cfg;
}

static void
stream_path(wr_buf *b, const wr_cli_uri *u, const char *suffix)
{
    wr_cli_path(b, "/streams", u->stream, suffix);
}

int
wr_cli_cmd_create_stream(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &u))
        return WR_CLI_EXIT_USAGE;
    json_t *cfg = wr_cli_stream_config(c);
    json_t *body = json_pack("{s:s,s:o}", "stream", u.stream, "config", cfg ? cfg : json_null());
    json_t *info = NULL;
    int rc = wr_cli_call(c, WR_CLI_BASIN, u.basin, "POST", "/streams", body, &info, NULL);
    json_decref(body);
    return wr_cli_done(c, rc, info, "created stream s2://%s/%s", u.basin, u.stream);
}

int
wr_cli_cmd_delete_stream(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &u))
        return WR_CLI_EXIT_USAGE;
    wr_buf path = {0};
    stream_path(&path, &u, "");
    int rc = wr_cli_call(c, WR_CLI_BASIN, u.basin, "DELETE", path.data, NULL, NULL, NULL);
    wr_buf_fini(&path);
    json_t *j =
        json_pack("{s:s,s:s,s:s}", "basin", u.basin, "stream", u.stream, "state", "deleting");
    return wr_cli_done(c, rc, j, "deleting stream s2://%s/%s", u.basin, u.stream);
}

static int
show_config(wr_cli *c, int rc, json_t *cfg)
{
    if (rc != WR_CLI_EXIT_OK || !cfg || c->json)
        return wr_cli_show(c, rc, cfg);
    /* Retention in days rather than seconds. */
    json_t *age = json_object_get(json_object_get(cfg, "retention_policy"), "age");
    if (json_is_integer(age)) {
        char d[32];
        wr_cli_fmt_secs((uint64_t)json_integer_value(age), d);
        json_object_set_new(json_object_get(cfg, "retention_policy"), "age", json_string(d));
    }
    json_t *doe = json_object_get(json_object_get(cfg, "delete_on_empty"), "min_age_secs");
    if (json_is_integer(doe) && json_integer_value(doe) > 0) {
        char d[32];
        wr_cli_fmt_secs((uint64_t)json_integer_value(doe), d);
        json_object_set_new(json_object_get(cfg, "delete_on_empty"), "min_age_secs",
                            json_string(d));
    }
    return wr_cli_show(c, rc, cfg);
}

int
wr_cli_cmd_get_stream_config(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &u))
        return WR_CLI_EXIT_USAGE;
    wr_buf path = {0};
    stream_path(&path, &u, "");
    json_t *cfg = NULL;
    int rc = wr_cli_call(c, WR_CLI_BASIN, u.basin, "GET", path.data, NULL, &cfg, NULL);
    wr_buf_fini(&path);
    return show_config(c, rc, cfg);
}

int
wr_cli_cmd_reconfigure_stream(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &u))
        return WR_CLI_EXIT_USAGE;
    json_t *body = wr_cli_stream_config(c);
    if (!body)
        return wr_cli_usage(c, "nothing to change: give at least one option (see weir help "
                               "reconfigure-stream)");
    wr_buf path = {0};
    stream_path(&path, &u, "");
    json_t *cfg = NULL;
    int rc = wr_cli_call(c, WR_CLI_BASIN, u.basin, "PATCH", path.data, body, &cfg, NULL);
    wr_buf_fini(&path);
    json_decref(body);
    return show_config(c, rc, cfg);
}

int
wr_cli_cmd_check_tail(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &u))
        return WR_CLI_EXIT_USAGE;
    wr_buf path = {0};
    stream_path(&path, &u, "/records/tail");
    json_t *j = NULL;
    int rc = wr_cli_call(c, WR_CLI_BASIN, u.basin, "GET", path.data, NULL, &j, NULL);
    wr_buf_fini(&path);
    if (rc != WR_CLI_EXIT_OK)
        return rc;
    json_t *tail = json_object_get(j, "tail");
    json_t *seq = json_object_get(tail, "seq_num"), *ts = json_object_get(tail, "timestamp");
    if (!json_is_integer(seq)) {
        json_decref(j);
        return wr_cli_fail(c, "the server's answer has no tail");
    }
    if (c->json) {
        wr_cli_print_json(j);
        return WR_CLI_EXIT_OK;
    }
    char when[40] = "";
    if (json_integer_value(ts) > 0)
        wr_cli_fmt_time_ms((uint64_t)json_integer_value(ts), when);
    printf("seq_num    %lld\ntimestamp  %lld%s%s%s\n", (long long)json_integer_value(seq),
           (long long)json_integer_value(ts), when[0] ? " (" : "", when, when[0] ? ")" : "");
    json_decref(j);
    return WR_CLI_EXIT_OK;
}

/* Appends one command record (op, body) with the command's conditions. */
static int
command_record(wr_cli *c, const wr_cli_uri *u, const char *op, const void *body, size_t len)
{
    S2__V1__Header h = S2__V1__HEADER__INIT;
    h.has_name = h.has_value = 1;
    h.name.data = (uint8_t *)"";
    h.name.len = 0;
    h.value.data = (uint8_t *)op;
    h.value.len = strlen(op);
    S2__V1__Header *hp = &h;
    S2__V1__AppendRecord rec = S2__V1__APPEND_RECORD__INIT;
    rec.n_headers = 1;
    rec.headers = &hp;
    rec.has_body = 1;
    rec.body.data = (uint8_t *)body;
    rec.body.len = len;
    S2__V1__AppendRecord *rp = &rec;
    S2__V1__AppendInput in = S2__V1__APPEND_INPUT__INIT;
    in.n_records = 1;
    in.records = &rp;
    const char *tok = NULL;
    if (wr_cli_arg_str(&c->a, "fencing-token", &tok))
        in.fencing_token = (char *)tok;
    uint64_t m;
    if (wr_cli_arg_num(&c->a, "match-seq-num", &m)) {
        in.has_match_seq_num = 1;
        in.match_seq_num = m;
    }
    wr_cli_ack ack;
    int rc = wr_cli_append_batch(c, u, &in, &ack);
    if (rc != WR_CLI_EXIT_OK)
        return rc;
    if (c->json)
        wr_cli_print_json(wr_cli_ack_json(&ack));
    return WR_CLI_EXIT_OK;
}

int
wr_cli_cmd_trim(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &u))
        return WR_CLI_EXIT_USAGE;
    static const wr_cli_opt seq_opt = {"SEQ_NUM", 0, WR_CLI_U64, "N", ""};
    uint64_t seq;
    wr_error err = {0};
    if (wr_cli_opt_value(&seq_opt, c->a.pos[1], &seq, &err) != WR_OK)
        return wr_cli_usage(c, "SEQ_NUM: must be a non-negative integer, got \"%s\"", c->a.pos[1]);
    uint8_t be[8];
    wr_put_be64(be, seq);
    int rc = command_record(c, &u, "trim", be, sizeof(be));
    if (rc == WR_CLI_EXIT_OK && !c->json)
        printf("trimming s2://%s/%s before seq_num %llu\n", u.basin, u.stream,
               (unsigned long long)seq);
    return rc;
}

int
wr_cli_cmd_fence(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_STREAM, &u))
        return WR_CLI_EXIT_USAGE;
    const char *tok = c->a.pos[1];
    if (strlen(tok) > 36 || !wr_utf8_valid(tok, strlen(tok)))
        return wr_cli_usage(c, "NEW_TOKEN: at most 36 bytes of UTF-8");
    int rc = command_record(c, &u, "fence", tok, strlen(tok));
    if (rc == WR_CLI_EXIT_OK && !c->json) {
        if (*tok)
            printf("fenced s2://%s/%s with token \"%s\"\n", u.basin, u.stream, tok);
        else
            printf("cleared the fencing token of s2://%s/%s\n", u.basin, u.stream);
    }
    return rc;
}
