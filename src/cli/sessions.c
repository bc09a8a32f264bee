/*
 * sessions.c — chat/agent sessions with an environment's secret key (docs/realtime.md):
 * ls (every page of GET /api/v1/sessions, following `pagination.next`), show, close, and tail
 * (the channel's SSE, followed through records.c).
 */
#include <stdint.h>
#include <string.h>

#include "cli/cli_int.h"

/* One page of GET /api/v1/sessions after `after` ("" = the first): its items are appended to
 * `all`, the next cursor (or "") written to `next`. Returns the exit code. */
static int
list_page(wr_cli *c, const char *status, const char *type, size_t size, const char *after,
          json_t *all, char next[WR_CLI_CURSOR_MAX])
{
    wr_buf p = {0};
    wr_buf_append_str(&p, "/api/v1/sessions");
    wr_cli_query_u64(&p, "page[size]", size);
    if (*after)
        wr_cli_query(&p, "page[after]", after);
    if (status)
        wr_cli_query(&p, "filter[status]", status);
    if (type)
        wr_cli_query(&p, "filter[type]", type);
    json_t *o = NULL;
    int rc = wr_cli_call(c, WR_CLI_API, NULL, "GET", p.data, NULL, &o, NULL);
    wr_buf_fini(&p);
    next[0] = '\0';
    json_t *data = json_object_get(o, "data");
    if (rc == WR_CLI_EXIT_OK && !json_is_array(data))
        rc = wr_cli_fail(c, "the server's answer has no `data` list");
    if (rc == WR_CLI_EXIT_OK) {
        json_array_extend(all, data);
        const char *n =
            json_string_value(json_object_get(json_object_get(o, "pagination"), "next"));
        if (n && strlen(n) < WR_CLI_CURSOR_MAX && json_array_size(data) > 0)
            strcpy(next, n);
    }
    json_decref(o);
    return rc;
}

int
wr_cli_cmd_sessions_ls(wr_cli *c)
{
    static const char *const statuses[] = {"ACTIVE", "CLOSED", "EXPIRED"};
    uint64_t limit = UINT64_MAX, st = 0;
    wr_cli_arg_num(&c->a, "limit", &limit);
    const char *status = wr_cli_arg_num(&c->a, "status", &st) ? statuses[st] : NULL, *type = NULL;
    wr_cli_arg_str(&c->a, "type", &type);
    json_t *all = json_array();
    char after[WR_CLI_CURSOR_MAX] = "", next[WR_CLI_CURSOR_MAX];
    int rc = WR_CLI_EXIT_OK;
    while (rc == WR_CLI_EXIT_OK && json_array_size(all) < limit) {
        uint64_t left = limit - json_array_size(all);
        rc = list_page(c, status, type, left < 100 ? (size_t)left : 100, after, all, next);
        if (!next[0])
            break;
        strcpy(after, next);
    }
    if (rc != WR_CLI_EXIT_OK) {
        json_decref(all);
        return rc;
    }
    if (c->json) {
        wr_cli_print_json(all);
        return rc;
    }
    static const char *const h[] = {"ID", "EXTERNAL ID", "TYPE", "STATUS", "CREATED"};
    wr_cli_table t;
    wr_cli_table_init(&t, 5, h);
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s)
    {
        const char *ext = json_string_value(json_object_get(s, "externalId"));
        wr_cli_table_add(&t, json_string_value(json_object_get(s, "id")));
        wr_cli_table_add(&t, ext ? ext : "-");
        wr_cli_table_add(&t, json_string_value(json_object_get(s, "type")));
        wr_cli_table_add(&t, json_is_true(json_object_get(s, "closed")) ? "closed" : "open");
        wr_cli_table_add(&t, json_string_value(json_object_get(s, "createdAt")));
    }
    wr_cli_table_print(&t, stdout, c->color_out);
    json_decref(all);
    return rc;
}

int
wr_cli_cmd_sessions_show(wr_cli *c)
{
    wr_buf p = {0};
    wr_cli_path(&p, "/api/v1/sessions", c->a.pos[0], "");
    int rc = wr_cli_call_show(c, WR_CLI_API, NULL, "GET", p.data, NULL);
    wr_buf_fini(&p);
    return rc;
}

int
wr_cli_cmd_sessions_close(wr_cli *c)
{
    wr_buf p = {0};
    wr_cli_path(&p, "/api/v1/sessions", c->a.pos[0], "/close");
    json_t *body = json_object();
    const char *reason;
    if (wr_cli_arg_str(&c->a, "reason", &reason))
        json_object_set_new(body, "reason", json_string(reason));
    int rc = wr_cli_call_show(c, WR_CLI_API, NULL, "POST", p.data, body);
    json_decref(body);
    wr_buf_fini(&p);
    return rc;
}

int
wr_cli_cmd_sessions_tail(wr_cli *c)
{
    uint64_t io = 0, fmt = 0;
    wr_cli_arg_num(&c->a, "io", &io);
    bool has_fmt = wr_cli_arg_num(&c->a, "format", &fmt);
    wr_buf p = {0};
    wr_cli_path(&p, "/realtime/v1/sessions", c->a.pos[0], io == 1 ? "/in" : "/out");
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
