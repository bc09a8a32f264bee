/*
 * args.c — parses argv against the command table (cmds.c).
 *
 * Grammar: weir [GLOBAL-OPTIONS] COMMAND [SUBCOMMAND] [OPTIONS and ARGUMENTS in any order].
 * Options are `--name value`, `--name=value`, `-x value`; booleans take no separate value
 * (`--clamp`, `--clamp=false`). `--` ends the options. A value that starts with "-" is accepted
 * only through `--name=value`, except for numbers' absence: `--count -1` is "missing value",
 * never a negative count. The last occurrence of an option wins. `-h`/`--help` anywhere stops
 * parsing and asks for help. Every error is one line naming what the user wrote.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_int.h"
#include "util/duration.h"

static bool
parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool
parse_bool(const char *s, uint64_t *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return true;
        }
    }
    return false;
}

/* The index of `s` among the '|'-separated choices, or -1. */
static int
enum_index(const char *choices, const char *s)
{
    size_t n = strlen(s);
    int i = 0;
    for (const char *p = choices; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && n > 0 && strncmp(p, s, n) == 0)
            return i;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

wr_err
wr_cli_opt_value(const wr_cli_opt *o, const char *text, uint64_t *out_num, wr_error *err)
{
    uint64_t v = 0;
    wr_error ignored;
    switch (o->kind) {
    case WR_CLI_BOOL:
        if (!parse_bool(text, &v))
            return wr_error_set(err, WR_ERR_INVALID, "--%s: must be true or false, got \"%s\"",
                                o->name, text);
        break;
    case WR_CLI_STR:
        break;
    case WR_CLI_U64:
        if (!parse_u64(text, &v))
            return wr_error_set(err, WR_ERR_INVALID,
                                "--%s: must be a non-negative integer, got \"%s\"", o->name, text);
        break;
    case WR_CLI_DUR:
        if (wr_duration_parse(text, &v, &ignored) != WR_OK)
            return wr_error_set(err, WR_ERR_INVALID, "--%s: %s, got \"%s\"", o->name,
                                WR_DURATION_ERRMSG, text);
        break;
    case WR_CLI_SIZE:
        if (wr_size_parse(text, &v, &ignored) != WR_OK)
            return wr_error_set(err, WR_ERR_INVALID, "--%s: %s, got \"%s\"", o->name,
                                WR_SIZE_ERRMSG, text);
        break;
    case WR_CLI_ENUM: {
        int i = enum_index(o->meta, text);
        if (i < 0)
            return wr_error_set(err, WR_ERR_INVALID, "--%s: must be one of %s, got \"%s\"", o->name,
                                o->meta, text);
        v = (uint64_t)i;
        break;
    }
    case WR_CLI_RETENTION:
        if (strcmp(text, "infinite") == 0)
            break;
        if (wr_duration_parse(text, &v, &ignored) != WR_OK || v == 0)
            return wr_error_set(err, WR_ERR_INVALID,
                                "--%s: must be \"infinite\" or a duration > 0 like 7d, 1h, "
                                "got \"%s\"",
                                o->name, text);
        break;
    case WR_CLI_TIME:
        if (!wr_cli_parse_time(text, &v))
            return wr_error_set(err, WR_ERR_INVALID,
                                "--%s: must be milliseconds since the epoch or an RFC 3339 "
                                "date-time like 2026-01-31T12:00:00Z, got \"%s\"",
                                o->name, text);
        break;
    }
    *out_num = v;
    return WR_OK;
}

/* Finds an option of the command (or a global one) by long name or shorthand. */
static const wr_cli_opt *
find_opt(const wr_cli_cmd *cmd, const char *name, size_t name_len, char shorthand)
{
    const wr_cli_opt *const *lists[WR_CLI_MAX_OPT_LISTS + 1] = {wr_cli_global_opts};
    size_t n_lists = 1;
    for (size_t i = 0; cmd && i < WR_CLI_MAX_OPT_LISTS; i++)
        if (cmd->opts[i])
            lists[n_lists++] = cmd->opts[i];
    for (size_t l = 0; l < n_lists; l++)
        for (const wr_cli_opt *const *o = lists[l]; *o; o++) {
            if (shorthand && (*o)->shorthand == shorthand)
                return *o;
            if (!shorthand && strlen((*o)->name) == name_len &&
                strncmp((*o)->name, name, name_len) == 0)
                return *o;
        }
    return NULL;
}

static wr_err
store_val(wr_cli_args *a, const wr_cli_opt *o, const char *raw, wr_error *err)
{
    uint64_t num = 0;
    wr_err e = wr_cli_opt_value(o, raw, &num, err);
    if (e != WR_OK)
        return e;
    for (size_t i = 0; i < a->n_vals; i++)
        if (a->vals[i].opt == o) { /* the last occurrence wins */
            a->vals[i].raw = raw;
            a->vals[i].num = num;
            return WR_OK;
        }
    if (a->n_vals == WR_CLI_MAX_VALS)
        return wr_error_set(err, WR_ERR_INVALID, "too many options");
    a->vals[a->n_vals++] = (wr_cli_val){.opt = o, .raw = raw, .num = num};
    return WR_OK;
}

/*
 * Parses the option at argv[*i] (which starts with '-'); consumes its value. `cmd` may be NULL
 * (before the command: only global options).
 */
static wr_err
parse_opt(wr_cli_args *a, const wr_cli_cmd *cmd, int argc, char **argv, int *i, wr_error *err)
{
    const char *arg = argv[*i];
    const wr_cli_opt *o;
    const char *inline_val = NULL;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        o = len ? find_opt(cmd, name, len, 0) : NULL;
        if (eq)
            inline_val = eq + 1;
        if (!o)
            return wr_error_set(err, WR_ERR_INVALID, "unknown option --%.*s", (int)len, name);
    } else {
        if (arg[2] != '\0')
            return wr_error_set(err, WR_ERR_INVALID, "unknown option %s (write -x VALUE)", arg);
        o = find_opt(cmd, NULL, 0, arg[1]);
        if (!o)
            return wr_error_set(err, WR_ERR_INVALID, "unknown option %s", arg);
    }
    if (strcmp(o->name, "help") == 0) {
        a->help = true;
        return WR_OK;
    }
    if (o->kind == WR_CLI_BOOL)
        return store_val(a, o, inline_val ? inline_val : "true", err);
    if (inline_val)
        return store_val(a, o, inline_val, err);
    if (*i + 1 >= argc || (argv[*i + 1][0] == '-' && argv[*i + 1][1] != '\0'))
        return wr_error_set(err, WR_ERR_INVALID, "--%s: missing value (%s)", o->name,
                            o->meta ? o->meta : "VALUE");
    (*i)++;
    return store_val(a, o, argv[*i], err);
}

static bool
is_opt(const char *s)
{
    return s[0] == '-' && s[1] != '\0';
}

/* Resolves the command at argv[*i] (one or two words); advances *i past it. */
static wr_err
resolve_cmd(wr_cli_args *a, int argc, char **argv, int *i, wr_error *err)
{
    const char *w = argv[*i];
    if (wr_cli_is_group(w)) {
        a->group = w;
        if (*i + 1 >= argc || is_opt(argv[*i + 1])) {
            (*i)++;
            return WR_OK; /* `weir orgs` alone: the group's help */
        }
        char name[64];
        snprintf(name, sizeof(name), "%s %s", w, argv[*i + 1]);
        a->cmd = wr_cli_cmd_find(name);
        if (!a->cmd)
            return wr_error_set(err, WR_ERR_INVALID, "unknown command \"%s %s\" (see weir help %s)",
                                w, argv[*i + 1], w);
        a->group = NULL;
        *i += 2;
        return WR_OK;
    }
    a->cmd = wr_cli_cmd_find(w);
    if (!a->cmd)
        return wr_error_set(err, WR_ERR_INVALID, "unknown command \"%s\" (see weir help)", w);
    (*i)++;
    return WR_OK;
}

wr_err
wr_cli_args_parse(int argc, char **argv, wr_cli_args *out, wr_error *err)
{
    memset(out, 0, sizeof(*out));
    int i = 0;
    wr_err e;
    for (; i < argc && is_opt(argv[i]) && strcmp(argv[i], "--") != 0; i++)
        if ((e = parse_opt(out, NULL, argc, argv, &i, err)) != WR_OK)
            return e;
    if (out->help || i >= argc)
        return WR_OK;
    if (strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc)
        return WR_OK;
    if ((e = resolve_cmd(out, argc, argv, &i, err)) != WR_OK)
        return e;
    bool opts_done = false;
    for (; i < argc; i++) {
        if (!opts_done && strcmp(argv[i], "--") == 0) {
            opts_done = true;
            continue;
        }
        if (!opts_done && is_opt(argv[i])) {
            if ((e = parse_opt(out, out->cmd, argc, argv, &i, err)) != WR_OK)
                return e;
            if (out->help)
                return WR_OK;
            continue;
        }
        if (!out->cmd || out->n_pos >= out->cmd->max_pos || out->n_pos >= WR_CLI_MAX_POS)
            return wr_error_set(err, WR_ERR_INVALID, "unexpected argument \"%s\"", argv[i]);
        out->pos[out->n_pos++] = argv[i];
    }
    if (out->cmd && out->n_pos < out->cmd->min_pos)
        return wr_error_set(err, WR_ERR_INVALID, "missing argument %s", out->cmd->args);
    return WR_OK;
}

/* Aborts on a name the command does not list: a handler and its table row disagree. */
static const wr_cli_val *
lookup(const wr_cli_args *a, const char *name)
{
    if (!find_opt(a->cmd, name, strlen(name), 0)) {
        fprintf(stderr, "weir: internal error: option --%s is not in the table of \"%s\"\n", name,
                a->cmd ? a->cmd->name : "");
        abort();
    }
    for (size_t i = 0; i < a->n_vals; i++)
        if (strcmp(a->vals[i].opt->name, name) == 0)
            return &a->vals[i];
    return NULL;
}

bool
wr_cli_arg_str(const wr_cli_args *a, const char *name, const char **out)
{
    const wr_cli_val *v = lookup(a, name);
    if (v)
        *out = v->raw;
    return v != NULL;
}

bool
wr_cli_arg_num(const wr_cli_args *a, const char *name, uint64_t *out)
{
    const wr_cli_val *v = lookup(a, name);
    if (v)
        *out = v->num;
    return v != NULL;
}

bool
wr_cli_arg_flag(const wr_cli_args *a, const char *name)
{
    const wr_cli_val *v = lookup(a, name);
    return v && v->num;
}
