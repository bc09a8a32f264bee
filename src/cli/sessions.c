/*
 * sessions.c — chat/agent sessions with an environment's secret key (docs/realtime.md):
 * show, close, tail (the channel's SSE, followed through records.c), and ls where the server
 * has a list route. A server without one answers 404 (or 405: the path exists for POST); the
 * command then says so plainly instead of printing a raw error.
 */
#include <string.h>

#include "cli/cli_int.h"

static void
session_path(wr_buf *b, const char *prefix, const char *session, const char *suffix)
{
    wr_buf_append_str(b, prefix);
    wr_cli_seg(b, session);
    wr_buf_append_str(b, suffix);
}

static int
show(wr_cli *c, int rc, json_t *o)
{
    if (rc != WR_CLI_EXIT_OK)
        return rc;
    if (!o)
        o = json_object();
    if (c->json) {
        wr_cli_print_json(o);
        return rc;
    }
    wr_cli_print_object(o, stdout, c->color_out);
    json_decref(o);
    return rc;
}

int
wr_cli_cmd_sessions_ls(wr_cli *c)
{
    wr_cli_req r = {.target = WR_CLI_API, .method = "GET", .path = "/api/v1/sessions"};
    wr_cli_resp resp;
    wr_error err = {0};
    if (wr_cli_http_do(c, &r, &resp, &err) != WR_OK)
        return wr_cli_fail_http(c, &err);
    int rc = WR_CLI_EXIT_OK;
    if (resp.status == 404 || resp.status == 405) {
        rc = wr_cli_fail(c,
                         "sessions ls: not supported by this server (%ld): it has no "
                         "GET /api/v1/sessions route",
                         resp.status);
    } else if (resp.status != 200) {
        rc = wr_cli_fail_resp(c, &resp);
    } else {
        json_t *j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
        /* trigger.dev's list page ({"data": [...], "pagination"}), or a bare array. */
        json_t *list = json_is_array(j) ? j : json_object_get(j, "data");
        if (!list)
            list = json_object_get(j, "sessions");
        if (!j) {
            rc = wr_cli_fail(c, "the server's answer is not JSON");
        } else if (c->json) {
            wr_cli_print_json(json_incref(j));
        } else {
            static const char *const h[] = {"ID", "EXTERNAL ID", "TYPE", "CLOSED"};
            wr_cli_table t;
            wr_cli_table_init(&t, 4, h);
            size_t i;
            json_t *s;
            json_array_foreach(list, i, s)
            {
                wr_cli_table_add(&t, json_string_value(json_object_get(s, "id")));
                wr_cli_table_add(&t, json_string_value(json_object_get(s, "externalId")));
                wr_cli_table_add(&t, json_string_value(json_object_get(s, "type")));
                wr_cli_table_add(&t, json_is_true(json_object_get(s, "closed")) ? "yes" : "no");
            }
            wr_cli_table_print(&t, stdout, c->color_out);
        }
        json_decref(j);
    }
    wr_cli_resp_fini(&resp);
    return rc;
}

int
wr_cli_cmd_sessions_show(wr_cli *c)
{
    wr_buf p = {0};
    session_path(&p, "/api/v1/sessions", c->a.pos[0], "");
    json_t *o = NULL;
    int rc = wr_cli_call(c, WR_CLI_API, NULL, "GET", p.data, NULL, &o, NULL);
    wr_buf_fini(&p);
    return show(c, rc, o);
}

int
wr_cli_cmd_sessions_close(wr_cli *c)
{
    wr_buf p = {0};
    session_path(&p, "/api/v1/sessions", c->a.pos[0], "/close");
    json_t *body = json_object();
    const char *reason;
    if (wr_cli_arg_str(&c->a, "reason", &reason))
        json_object_set_new(body, "reason", json_string(reason));
    json_t *o = NULL;
    int rc = wr_cli_call(c, WR_CLI_API, NULL, "POST", p.data, body, &o, NULL);
    json_decref(body);
    wr_buf_fini(&p);
    return show(c, rc, o);
}

int
wr_cli_cmd_sessions_tail(wr_cli *c)
{
    uint64_t io = 0, fmt = 0;
    wr_cli_arg_num(&c->a, "io", &io);
    bool has_fmt = wr_cli_arg_num(&c->a, "format", &fmt);
    wr_buf p = {0};
    session_path(&p, "/realtime/v1/sessions", c->a.pos[0], io == 1 ? "/in" : "/out");
    wr_cli_follow f = {
        .target = WR_CLI_API,
        .path = p.data,
        .query = "",
        .fmt = (has_fmt ? fmt == 1 : c->json) ? WR_CLI_FMT_JSON : WR_CLI_FMT_TEXT,
        .unwrap = true,
        .timeout = "600",
    };
    int rc = wr_cli_follow_run(c, &f);
    wr_buf_fini(&p);
    return rc;
}
