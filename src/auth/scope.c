/*
 * scope.c — see scope.h.
 */
#include "auth/scope.h"

#include <string.h>

static const struct {
    const char *name;
    int group;
    bool write;
} ops[WR_OP__COUNT] = {
#define WR_OP_ROW(n, wire, group, write) [WR_OP_##n] = {wire, group, write},
    WR_OP_MAP(WR_OP_ROW)
#undef WR_OP_ROW
};

static const char *const group_names[3] = {"account", "basin", "stream"};

const char *
wr_op_name(wr_op op)
{
    return (unsigned)op < WR_OP__COUNT ? ops[op].name : "unknown";
}

bool
wr_op_parse(const char *name, wr_op *out)
{
    for (int i = 0; i < WR_OP__COUNT; i++)
        if (strcmp(name, ops[i].name) == 0) {
            *out = (wr_op)i;
            return true;
        }
    return false;
}

static wr_opset
group_ops(int group, bool write)
{
    wr_opset set = 0;
    for (int i = 0; i < WR_OP__COUNT; i++)
        if (ops[i].group == group && ops[i].write == write)
            set |= 1u << i;
    return set;
}

bool
wr_rset_matches(const wr_rset *r, const char *name)
{
    if (name == NULL)
        return false;
    switch (r->kind) {
    case WR_RSET_EXACT:
        return r->value[0] != '\0' && strcmp(r->value, name) == 0;
    case WR_RSET_PREFIX:
        return strncmp(name, r->value, strlen(r->value)) == 0;
    default:
        return false;
    }
}

bool
wr_rset_within(const wr_rset *inner, const wr_rset *outer)
{
    if (inner->kind == WR_RSET_NONE || (inner->kind == WR_RSET_EXACT && !inner->value[0]))
        return true; /* matches nothing */
    if (inner->kind == WR_RSET_EXACT)
        return wr_rset_matches(outer, inner->value);
    /* inner is a prefix set: only a prefix that is itself a prefix of inner's covers it. */
    return outer->kind == WR_RSET_PREFIX &&
           strncmp(inner->value, outer->value, strlen(outer->value)) == 0;
}

bool
wr_scope_allows(const wr_scope *s, wr_op op, const char *basin, const char *stream,
                const char *token_id)
{
    if ((unsigned)op >= WR_OP__COUNT || !(s->ops & (1u << op)))
        return false;
    if (basin && !wr_rset_matches(&s->basins, basin))
        return false;
    if (stream && !wr_rset_matches(&s->streams, stream))
        return false;
    if (token_id && !wr_rset_matches(&s->tokens, token_id))
        return false;
    return true;
}

bool
wr_scope_within(const wr_scope *inner, const wr_scope *outer)
{
    return (inner->ops & ~outer->ops) == 0 && wr_rset_within(&inner->basins, &outer->basins) &&
           wr_rset_within(&inner->streams, &outer->streams) &&
           wr_rset_within(&inner->tokens, &outer->tokens);
}

static wr_err
rset_from_json(const json_t *j, const char *field, wr_rset *out, wr_error *e)
{
    memset(out, 0, sizeof(*out));
    if (j == NULL || json_is_null(j))
        return WR_OK;
    json_t *ex = json_object_get(j, "exact"), *px = json_object_get(j, "prefix");
    if (!json_is_object(j) || (ex != NULL) == (px != NULL))
        return wr_error_set(e, WR_ERR_BAD_JSON,
                            "invalid `%s`: expected {\"exact\": name} or {\"prefix\": name}",
                            field);
    const json_t *v = ex ? ex : px;
    if (!json_is_string(v) || json_string_length(v) > WR_RSET_MAX ||
        strlen(json_string_value(v)) != json_string_length(v))
        return wr_error_set(e, WR_ERR_BAD_JSON,
                            "invalid `%s`: expected a string of at most %d bytes", field,
                            WR_RSET_MAX);
    out->kind = ex ? WR_RSET_EXACT : WR_RSET_PREFIX;
    memcpy(out->value, json_string_value(v), json_string_length(v) + 1);
    return WR_OK;
}

static wr_err
groups_from_json(const json_t *j, wr_scope *out, wr_error *e)
{
    if (j == NULL || json_is_null(j))
        return WR_OK;
    if (!json_is_object(j))
        return wr_error_set(e, WR_ERR_BAD_JSON, "invalid `op_groups`: expected an object");
    for (int g = 0; g < 3; g++) {
        json_t *grp = json_object_get(j, group_names[g]);
        if (grp == NULL || json_is_null(grp))
            continue;
        if (!json_is_object(grp))
            return wr_error_set(e, WR_ERR_BAD_JSON, "invalid `op_groups.%s`", group_names[g]);
        for (int w = 0; w < 2; w++) {
            json_t *v = json_object_get(grp, w ? "write" : "read");
            if (v == NULL || json_is_null(v))
                continue;
            if (!json_is_boolean(v))
                return wr_error_set(e, WR_ERR_BAD_JSON, "invalid `op_groups.%s.%s`", group_names[g],
                                    w ? "write" : "read");
            if (json_is_true(v)) {
                out->groups |= (uint8_t)(1u << (g * 2 + w));
                out->ops |= group_ops(g, w);
            }
        }
    }
    return WR_OK;
}

wr_err
wr_scope_from_json(const json_t *j, wr_scope *out, wr_error *e)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(j))
        return wr_error_set(e, WR_ERR_BAD_JSON, "invalid `scope`: expected an object");
    wr_err err;
    if ((err = rset_from_json(json_object_get(j, "basins"), "scope.basins", &out->basins, e)) ||
        (err = rset_from_json(json_object_get(j, "streams"), "scope.streams", &out->streams, e)) ||
        (err = rset_from_json(json_object_get(j, "access_tokens"), "scope.access_tokens",
                              &out->tokens, e)) ||
        (err = groups_from_json(json_object_get(j, "op_groups"), out, e)))
        return err;
    json_t *list = json_object_get(j, "ops");
    if (list && !json_is_null(list)) {
        if (!json_is_array(list))
            return wr_error_set(e, WR_ERR_BAD_JSON, "invalid `scope.ops`: expected an array");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            wr_op op;
            if (!json_is_string(v))
                return wr_error_set(e, WR_ERR_BAD_JSON, "invalid `scope.ops`: expected strings");
            if (!wr_op_parse(json_string_value(v), &op))
                return wr_error_set(e, WR_ERR_INVALID, "unknown operation `%s`",
                                    json_string_value(v));
            out->listed_ops |= 1u << op;
            out->ops |= 1u << op;
        }
    }
    if (out->ops == 0)
        return wr_error_set(e, WR_ERR_INVALID, "the token's scope permits no operation");
    return WR_OK;
}

static json_t *
rset_to_json(const wr_rset *r)
{
    if (r->kind == WR_RSET_NONE)
        return json_null();
    return json_pack("{s:s}", r->kind == WR_RSET_EXACT ? "exact" : "prefix", r->value);
}

json_t *
wr_scope_to_json(const wr_scope *s)
{
    json_t *list = json_array();
    for (int i = 0; i < WR_OP__COUNT; i++)
        if (s->listed_ops & (1u << i))
            json_array_append_new(list, json_string(ops[i].name));
    json_t *groups = json_object();
    for (int g = 0; g < 3; g++)
        json_object_set_new(groups, group_names[g],
                            json_pack("{s:b,s:b}", "read", (s->groups >> (g * 2)) & 1, "write",
                                      (s->groups >> (g * 2 + 1)) & 1));
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "basins", rset_to_json(&s->basins), "streams",
                     rset_to_json(&s->streams), "access_tokens", rset_to_json(&s->tokens),
                     "op_groups", groups, "ops", list);
}

void
wr_scope_all(wr_scope *out)
{
    memset(out, 0, sizeof(*out));
    out->basins.kind = out->streams.kind = out->tokens.kind = WR_RSET_PREFIX;
    out->ops = out->listed_ops = WR_OPSET_ALL;
    out->groups = 0x3f;
}
