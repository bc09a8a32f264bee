/*
 * admin.c — the realtime administration commands (organizations, projects, environments),
 * against weir's /admin/api/v1 with the root token (docs/realtime.md, "Routes").
 *
 * --json prints the server's answers as they are (camelCase, as the routes define them);
 * human output picks the fields people look for. Secret keys are printed once, as the server
 * shows them once.
 */
#include <string.h>

#include "cli/cli_int.h"

/* Calls /admin/api/v1 + prefix + "/" + id (percent-encoded; none when NULL) + suffix with body
 * (taken; may be NULL); the answer to *out. Returns the exit code. */
static int
admin(wr_cli *c, const char *method, const char *prefix, const char *id, const char *suffix,
      json_t *body, json_t **out)
{
    wr_buf p = {0};
    wr_buf_printf(&p, "/admin/api/v1%s", prefix);
    if (id)
        wr_cli_seg(&p, id);
    wr_buf_append_str(&p, suffix);
    int rc = wr_cli_call(c, WR_CLI_ADMIN, NULL, method, p.data, body, out, NULL);
    wr_buf_fini(&p);
    json_decref(body);
    return rc;
}

/* admin(), its answer shown with wr_cli_show. */
static int
admin_show(wr_cli *c, const char *method, const char *prefix, const char *id, const char *suffix,
           json_t *body)
{
    json_t *o = NULL;
    int rc = admin(c, method, prefix, id, suffix, body, &o);
    return wr_cli_show(c, rc, o);
}

int
wr_cli_cmd_orgs_create(wr_cli *c)
{
    const char *title = c->a.pos[0], *plan = NULL;
    wr_cli_arg_str(&c->a, "title", &title);
    wr_cli_arg_str(&c->a, "plan", &plan);
    json_t *body = json_pack("{s:s,s:s}", "slug", c->a.pos[0], "title", title);
    if (plan)
        json_object_set_new(body, "plan", json_string(plan));
    return admin_show(c, "POST", "/orgs", NULL, "", body);
}

int
wr_cli_cmd_orgs_ls(wr_cli *c)
{
    json_t *o = NULL;
    int rc = admin(c, "GET", "/orgs", NULL, "", NULL, &o);
    if (rc != WR_CLI_EXIT_OK || c->json)
        return wr_cli_show(c, rc, o);
    static const char *const h[] = {"ID", "SLUG", "TITLE", "PLAN", "BASIN"};
    wr_cli_table t;
    wr_cli_table_init(&t, 5, h);
    size_t i;
    json_t *org;
    json_array_foreach(json_object_get(o, "organizations"), i, org)
    {
        static const char *const keys[] = {"id", "slug", "title", "plan", "streamBasinName"};
        for (size_t k = 0; k < 5; k++)
            wr_cli_table_add(&t, json_string_value(json_object_get(org, keys[k])));
    }
    wr_cli_table_print(&t, stdout, c->color_out);
    json_decref(o);
    return WR_CLI_EXIT_OK;
}

int
wr_cli_cmd_orgs_show(wr_cli *c)
{
    return admin_show(c, "GET", "/orgs", c->a.pos[0], "", NULL);
}

int
wr_cli_cmd_orgs_plan(wr_cli *c)
{
    return admin_show(c, "PUT", "/orgs", c->a.pos[0], "/plan",
                      json_pack("{s:s}", "plan", c->a.pos[1]));
}

static int
stream_basin(wr_cli *c, json_t *body)
{
    return admin_show(c, "POST", "/orgs", c->a.pos[0], "/stream-basin", body);
}

int
wr_cli_cmd_orgs_provision(wr_cli *c)
{
    json_t *body = json_pack("{s:s,s:b}", "action", "ensure", "apply_to_existing",
                             wr_cli_arg_flag(&c->a, "apply-to-existing"));
    const char *ret;
    if (wr_cli_arg_str(&c->a, "retention", &ret))
        json_object_set_new(body, "retention", json_string(ret));
    return stream_basin(c, body);
}

int
wr_cli_cmd_orgs_deprovision(wr_cli *c)
{
    return stream_basin(c, json_pack("{s:s}", "action", "deprovision"));
}

static void
usage_row(wr_cli_table *t, const char *basin, const char *kind, json_t *u)
{
    static const char *const counters[] = {"appendedRecords", "appendedBytes", "readRecords",
                                           "readBytes", "storedBytes"};
    wr_cli_table_add(t, basin);
    wr_cli_table_add(t, kind);
    for (size_t i = 0; i < 5; i++) {
        uint64_t v = (uint64_t)json_integer_value(json_object_get(u, counters[i]));
        char s[32];
        if (i % 2 == 0 && i != 4)
            wr_cli_fmt_count(v, s);
        else
            wr_cli_fmt_bytes(v, s);
        wr_cli_table_add(t, s);
    }
}

int
wr_cli_cmd_orgs_usage(wr_cli *c)
{
    json_t *o = NULL;
    int rc = admin(c, "GET", "/orgs", c->a.pos[0], "/usage", NULL, &o);
    if (rc != WR_CLI_EXIT_OK || c->json)
        return wr_cli_show(c, rc, o);
    static const char *const h[] = {"BASIN", "KIND",       "APPENDED", "APPENDED BYTES",
                                    "READ",  "READ BYTES", "STORED"};
    wr_cli_table t;
    wr_cli_table_init(&t, 7, h);
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(o, "basins"), i, b)
        usage_row(&t, json_string_value(json_object_get(b, "basin")),
                  json_is_true(json_object_get(b, "shared")) ? "shared" : "own", b);
    usage_row(&t, "total", "", json_object_get(o, "total"));
    wr_cli_table_print(&t, stdout, c->color_out);
    json_decref(o);
    return WR_CLI_EXIT_OK;
}

int
wr_cli_cmd_projects_create(wr_cli *c)
{
    return admin_show(c, "POST", "/orgs", c->a.pos[0], "/projects",
                      json_pack("{s:s}", "slug", c->a.pos[1]));
}

int
wr_cli_cmd_envs_create(wr_cli *c)
{
    json_t *o = NULL;
    int rc = admin(c, "POST", "/projects", c->a.pos[0], "/environments",
                   json_pack("{s:s}", "slug", c->a.pos[1]), &o);
    rc = wr_cli_show(c, rc, o);
    if (rc == WR_CLI_EXIT_OK && !c->json)
        wr_cli_note(c, "the apiKey is shown only now: keep it (weir config set api_key KEY)");
    return rc;
}

int
wr_cli_cmd_envs_rotate_key(wr_cli *c)
{
    json_t *o = NULL;
    int rc = admin(c, "POST", "/environments", c->a.pos[0], "/rotate-key", NULL, &o);
    if (rc != WR_CLI_EXIT_OK || c->json)
        return wr_cli_show(c, rc, o);
    printf("%s\n", json_string_value(json_object_get(o, "apiKey"))
                       ? json_string_value(json_object_get(o, "apiKey"))
                       : "");
    json_decref(o);
    return WR_CLI_EXIT_OK;
}
