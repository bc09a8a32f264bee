/*
 * tokens.c — issue, list and revoke S2 access tokens (s2-api.md §7).
 *
 * The flags are turned into the AccessTokenInfo JSON here, and checked only for their syntax
 * (a resource set's form, op-group names and permissions, one expiry); what a token may
 * issue is the server's decision, and its refusal is printed as it comes.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cli/cli_int.h"
#include "util/mem.h"

/* "prefix:P", "exact:N", "=N" (exact) or "P" (prefix) → {"prefix":P} / {"exact":N}. */
json_t *
wr_cli_resource_set(const char *s)
{
    if (strncmp(s, "prefix:", 7) == 0)
        return json_pack("{s:s}", "prefix", s + 7);
    if (strncmp(s, "exact:", 6) == 0)
        return json_pack("{s:s}", "exact", s + 6);
    if (s[0] == '=')
        return json_pack("{s:s}", "exact", s + 1);
    return json_pack("{s:s}", "prefix", s);
}

/* "account=rw,basin=r" → {"account":{"read":true,"write":true},"basin":{...}}; NULL if bad. */
json_t *
wr_cli_op_groups(const char *s, char *bad, size_t bad_cap)
{
    json_t *o = json_object();
    char *copy = wr_xstrdup(s), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        const char *perm = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        bool ok_group = strcmp(item, "account") == 0 || strcmp(item, "basin") == 0 ||
                        strcmp(item, "stream") == 0;
        bool r = strchr(perm, 'r') != NULL, w = strchr(perm, 'w') != NULL;
        if (!ok_group || !eq || strspn(perm, "rw") != strlen(perm) || (!r && !w) ||
            strlen(perm) > 2 || json_object_get(o, item)) {
            snprintf(bad, bad_cap, "%s%s%s", item, eq ? "=" : "", perm);
            json_decref(o);
            free(copy);
            return NULL;
        }
        json_object_set_new(o, item, json_pack("{s:b,s:b}", "read", r, "write", w));
    }
    free(copy);
    if (json_object_size(o) == 0) {
        snprintf(bad, bad_cap, "%s", s);
        json_decref(o);
        return NULL;
    }
    return o;
}

static void
rfc3339(uint64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
random_id(char out[32])
{
    uint8_t r[8] = {0};
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(r, &ts.tv_nsec, sizeof(ts.tv_nsec) < 8 ? sizeof(ts.tv_nsec) : 8);
    }
    snprintf(out, 32, "cli-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7]);
}

/* The scope object of the flags; usage errors are printed (returns NULL). */
static json_t *
scope_of(wr_cli *c)
{
    json_t *scope = json_object();
    static const char *const sets[][2] = {
        {"basins", "basins"}, {"streams", "streams"}, {"access-tokens", "access_tokens"}};
    const char *s;
    for (size_t i = 0; i < 3; i++)
        if (wr_cli_arg_str(&c->a, sets[i][0], &s))
            json_object_set_new(scope, sets[i][1], wr_cli_resource_set(s));
    if (wr_cli_arg_str(&c->a, "op-groups", &s)) {
        char bad[128];
        json_t *g = wr_cli_op_groups(s, bad, sizeof(bad));
        if (!g) {
            wr_cli_usage(c,
                         "--op-groups: \"%s\" is not GROUP=r|w|rw with GROUP account, basin or "
                         "stream",
                         bad);
            json_decref(scope);
            return NULL;
        }
        json_object_set_new(scope, "op_groups", g);
    }
    if (wr_cli_arg_str(&c->a, "ops", &s)) {
        json_t *ops = json_array();
        char *copy = wr_xstrdup(s), *save = NULL;
        for (char *op = strtok_r(copy, ",", &save); op; op = strtok_r(NULL, ",", &save))
            json_array_append_new(ops, json_string(op));
        free(copy);
        json_object_set_new(scope, "ops", ops);
    }
    return scope;
}

int
wr_cli_cmd_issue_token(wr_cli *c)
{
    json_t *scope = scope_of(c);
    if (!scope)
        return WR_CLI_EXIT_USAGE;
    uint64_t at = 0, in = 0;
    bool has_at = wr_cli_arg_num(&c->a, "expires-at", &at);
    bool has_in = wr_cli_arg_num(&c->a, "expires-in", &in);
    if (has_at && has_in) {
        json_decref(scope);
        return wr_cli_usage(c, "give --expires-at or --expires-in, not both");
    }
    char id[128], when[40];
    const char *given;
    if (wr_cli_arg_str(&c->a, "id", &given))
        snprintf(id, sizeof(id), "%s", given);
    else
        random_id(id);
    json_t *body = json_pack("{s:s,s:o,s:b}", "id", id, "scope", scope, "auto_prefix_streams",
                             wr_cli_arg_flag(&c->a, "auto-prefix-streams"));
    if (has_in)
        at = (uint64_t)time(NULL) * 1000 + in * 1000;
    if (has_at || has_in) {
        rfc3339(at, when);
        json_object_set_new(body, "expires_at", json_string(when));
    }
    json_t *ans = NULL;
    int rc = wr_cli_call(c, WR_CLI_ACCOUNT, NULL, "POST", "/access-tokens", body, &ans, NULL);
    json_decref(body);
    if (rc != WR_CLI_EXIT_OK)
        return rc;
    const char *tok = json_string_value(json_object_get(ans, "access_token"));
    if (!tok) {
        json_decref(ans);
        return wr_cli_fail(c, "the server's answer has no access_token");
    }
    if (c->json)
        wr_cli_print_json(json_pack("{s:s,s:s}", "id", id, "access_token", tok));
    else
        printf("%s\n", tok);
    json_decref(ans);
    return WR_CLI_EXIT_OK;
}

static void
add_set(wr_cli_table *t, json_t *set)
{
    const char *p = json_string_value(json_object_get(set, "prefix"));
    const char *e = json_string_value(json_object_get(set, "exact"));
    if (p)
        wr_cli_table_addf(t, "prefix:%s", p);
    else if (e)
        wr_cli_table_addf(t, "exact:%s", e);
    else
        wr_cli_table_add(t, NULL);
}

static void
add_perms(wr_cli_table *t, json_t *scope)
{
    wr_buf b = {0};
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(scope, "op_groups"), k, v)
    {
        bool r = json_is_true(json_object_get(v, "read")),
             w = json_is_true(json_object_get(v, "write"));
        if (r || w)
            wr_buf_printf(&b, "%s%s=%s%s", b.len ? "," : "", k, r ? "r" : "", w ? "w" : "");
    }
    size_t i;
    json_array_foreach(json_object_get(scope, "ops"), i, v) wr_buf_printf(
        &b, "%s%s", b.len ? "," : "", json_string_value(v) ? json_string_value(v) : "?");
    wr_cli_table_add(t, b.len ? b.data : NULL);
    wr_buf_fini(&b);
}

int
wr_cli_cmd_list_tokens(wr_cli *c)
{
    const char *prefix = NULL;
    wr_cli_arg_str(&c->a, "prefix", &prefix);
    json_t *all;
    int rc = wr_cli_list_all(c, WR_CLI_ACCOUNT, NULL, "/access-tokens", "access_tokens", "id",
                             prefix, &all);
    if (rc != WR_CLI_EXIT_OK)
        return rc;
    if (c->json) {
        wr_cli_print_json(json_pack("{s:o}", "access_tokens", all));
        return WR_CLI_EXIT_OK;
    }
    static const char *const h[] = {"ID", "EXPIRES", "BASINS", "STREAMS", "PERMISSIONS"};
    wr_cli_table t;
    wr_cli_table_init(&t, 5, h);
    size_t i;
    json_t *tok;
    json_array_foreach(all, i, tok)
    {
        json_t *scope = json_object_get(tok, "scope");
        wr_cli_table_add(&t, json_string_value(json_object_get(tok, "id")));
        wr_cli_table_add(&t, json_string_value(json_object_get(tok, "expires_at")));
        add_set(&t, json_object_get(scope, "basins"));
        add_set(&t, json_object_get(scope, "streams"));
        add_perms(&t, scope);
    }
    wr_cli_table_print(&t, stdout, c->color_out);
    json_decref(all);
    return WR_CLI_EXIT_OK;
}

int
wr_cli_cmd_revoke_token(wr_cli *c)
{
    wr_buf path = {0};
    wr_cli_path(&path, "/access-tokens", c->a.pos[0], "");
    int rc = wr_cli_call(c, WR_CLI_ACCOUNT, NULL, "DELETE", path.data, NULL, NULL, NULL);
    wr_buf_fini(&path);
    return wr_cli_done(c, rc, json_pack("{s:s}", "revoked", c->a.pos[0]), "revoked access token %s",
                       c->a.pos[0]);
}
