/*
 * basins.c — `ls` (basins, or a basin's streams) and the basin commands.
 *
 * Lists follow `has_more` pages with start_after = the last name, so `ls` shows everything
 * (or --limit items) whatever the server's page size; a page that claims more but is empty
 * ends the walk rather than looping. JSON output gathers the pages into one object.
 */
#include <string.h>

#include "cli/cli_int.h"
#include "util/mem.h"

/* "2026-08-21T10:00:00.123Z" → "2026-08-21 10:00:00". */
static void
short_time(const char *rfc, char out[32])
{
    if (!rfc) {
        snprintf(out, 32, "-");
        return;
    }
    snprintf(out, 32, "%.19s", rfc);
    if (strlen(out) > 10 && out[10] == 'T')
        out[10] = ' ';
}

static const char *
state_of(json_t *item)
{
    const char *st = json_string_value(json_object_get(item, "state"));
    if (st)
        return st;
    return json_is_string(json_object_get(item, "deleted_at")) ? "deleting" : "active";
}

int
wr_cli_list_all(wr_cli *c, wr_cli_target t, const char *basin, const char *route, const char *key,
                const char *id_key, const char *prefix, json_t **out)
{
    const char *start_after = NULL;
    uint64_t limit = 0;
    bool has_limit = wr_cli_arg_num(&c->a, "limit", &limit);
    wr_cli_arg_str(&c->a, "start-after", &start_after);
    json_t *all = json_array();
    char *cursor = start_after ? wr_xstrdup(start_after) : NULL;
    int rc = WR_CLI_EXIT_OK;
    for (;;) {
        wr_buf path = {0};
        wr_buf_append_str(&path, route);
        if (prefix && *prefix)
            wr_cli_query(&path, "prefix", prefix);
        if (cursor)
            wr_cli_query(&path, "start_after", cursor);
        if (has_limit && limit - json_array_size(all) < 1000)
            wr_cli_query_u64(&path, "limit", limit - json_array_size(all));
        json_t *page = NULL;
        rc = wr_cli_call(c, t, basin, "GET", path.data, NULL, &page, NULL);
        wr_buf_fini(&path);
        if (rc != WR_CLI_EXIT_OK)
            break;
        json_t *items = json_object_get(page, key);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            if (has_limit && json_array_size(all) >= limit)
                break;
            json_array_append(all, it);
        }
        const char *last = json_string_value(
            json_object_get(json_array_get(items, json_array_size(items) - 1), id_key));
        bool more = json_is_true(json_object_get(page, "has_more")) && last &&
                    (!has_limit || json_array_size(all) < limit);
        free(cursor);
        cursor = more ? wr_xstrdup(last) : NULL;
        json_decref(page);
        if (!more)
            break;
    }
    free(cursor);
    if (rc != WR_CLI_EXIT_OK) {
        json_decref(all);
        return rc;
    }
    *out = all;
    return WR_CLI_EXIT_OK;
}

/* A basin (basin NULL) or stream listing as a table: name (a stream's s2:// URI), state and
 * creation time. Releases all. */
static void
print_listing(wr_cli *c, json_t *all, const char *basin)
{
    static const char *const hb[] = {"NAME", "STATE", "CREATED"};
    static const char *const hs[] = {"URI", "STATE", "CREATED"};
    wr_cli_table t;
    wr_cli_table_init(&t, 3, basin ? hs : hb);
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        char when[32];
        short_time(json_string_value(json_object_get(e, "created_at")), when);
        const char *name = json_string_value(json_object_get(e, "name"));
        if (basin)
            wr_cli_table_addf(&t, "s2://%s/%s", basin, name ? name : "");
        else
            wr_cli_table_add(&t, name);
        wr_cli_table_add(&t, state_of(e));
        wr_cli_table_add(&t, when);
    }
    wr_cli_table_print(&t, stdout, c->color_out);
    json_decref(all);
}

static int
ls_basins(wr_cli *c)
{
    const char *prefix = NULL;
    wr_cli_arg_str(&c->a, "prefix", &prefix);
    json_t *all;
    int rc = wr_cli_list_all(c, WR_CLI_ACCOUNT, NULL, "/basins", "basins", "name", prefix, &all);
    if (rc != WR_CLI_EXIT_OK)
        return rc;
    if (c->json) {
        wr_cli_print_json(json_pack("{s:o}", "basins", all));
        return WR_CLI_EXIT_OK;
    }
    print_listing(c, all, NULL);
    return WR_CLI_EXIT_OK;
}

int
wr_cli_cmd_ls(wr_cli *c)
{
    if (c->a.n_pos == 0)
        return ls_basins(c);
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_BASIN_PREFIX, &u))
        return WR_CLI_EXIT_USAGE;
    const char *prefix = u.stream;
    if (!*prefix)
        wr_cli_arg_str(&c->a, "prefix", &prefix);
    json_t *all;
    int rc = wr_cli_list_all(c, WR_CLI_BASIN, u.basin, "/streams", "streams", "name", prefix, &all);
    if (rc != WR_CLI_EXIT_OK)
        return rc;
    if (c->json) {
        wr_cli_print_json(json_pack("{s:s,s:o}", "basin", u.basin, "streams", all));
        return WR_CLI_EXIT_OK;
    }
    print_listing(c, all, u.basin);
    return WR_CLI_EXIT_OK;
}

/* The BasinConfig (or BasinReconfiguration: the same fields) of the options; NULL if none. */
static json_t *
basin_config(wr_cli *c)
{
    json_t *cfg = json_object();
    json_t *sc = wr_cli_stream_config(c);
    uint64_t v;
    if (sc)
        json_object_set_new(cfg, "default_stream_config", sc);
    if (wr_cli_arg_num(&c->a, "create-stream-on-append", &v))
        json_object_set_new(cfg, "create_stream_on_append", json_boolean(v));
    if (wr_cli_arg_num(&c->a, "create-stream-on-read", &v))
        json_object_set_new(cfg, "create_stream_on_read", json_boolean(v));
    if (json_object_size(cfg) == 0) {
        json_decref(cfg);
        return NULL;
    }
    return cfg;
}

int
wr_cli_cmd_create_basin(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_BASIN, &u))
        return WR_CLI_EXIT_USAGE;
    json_t *cfg = basin_config(c);
    json_t *body = json_pack("{s:s,s:o}", "basin", u.basin, "config", cfg ? cfg : json_null());
    json_t *info = NULL;
    int rc = wr_cli_call(c, WR_CLI_ACCOUNT, NULL, "POST", "/basins", body, &info, NULL);
    json_decref(body);
    return wr_cli_done(c, rc, info, "created basin s2://%s", u.basin);
}

int
wr_cli_cmd_delete_basin(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_BASIN, &u))
        return WR_CLI_EXIT_USAGE;
    wr_buf path = {0};
    wr_cli_path(&path, "/basins", u.basin, "");
    int rc = wr_cli_call(c, WR_CLI_ACCOUNT, NULL, "DELETE", path.data, NULL, NULL, NULL);
    wr_buf_fini(&path);
    return wr_cli_done(c, rc, json_pack("{s:s,s:s}", "basin", u.basin, "state", "deleting"),
                       "deleting basin s2://%s", u.basin);
}

int
wr_cli_cmd_get_basin_config(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_BASIN, &u))
        return WR_CLI_EXIT_USAGE;
    wr_buf path = {0};
    wr_cli_path(&path, "/basins", u.basin, "");
    int rc = wr_cli_call_show(c, WR_CLI_ACCOUNT, NULL, "GET", path.data, NULL);
    wr_buf_fini(&path);
    return rc;
}

int
wr_cli_cmd_reconfigure_basin(wr_cli *c)
{
    wr_cli_uri u;
    if (!wr_cli_pos_uri(c, 0, WR_CLI_URI_BASIN, &u))
        return WR_CLI_EXIT_USAGE;
    json_t *body = basin_config(c);
    if (!body)
        return wr_cli_usage(c, "nothing to change: give at least one option (see weir help "
                               "reconfigure-basin)");
    wr_buf path = {0};
    wr_cli_path(&path, "/basins", u.basin, "");
    int rc = wr_cli_call_show(c, WR_CLI_ACCOUNT, NULL, "PATCH", path.data, body);
    wr_buf_fini(&path);
    json_decref(body);
    return rc;
}
