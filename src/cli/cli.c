/*
 * cli.c — wr_cli_main: parse, load the settings, run one command, report.
 *
 * Order: arguments (a usage error stops here, before any file or network access), then the
 * config file (only for commands that can use a setting), then the command. Every path out
 * returns an exit code of cli.h; nothing here calls exit().
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "util/mem.h"

static void vline(wr_cli *c, const char *cmd, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vline(wr_cli *c, const char *cmd, const char *fmt, va_list ap)
{
    fflush(stdout);
    if (c && c->color_err)
        fputs("\033[1;31m", stderr);
    fprintf(stderr, "weir%s%s:", cmd ? " " : "", cmd ? cmd : "");
    if (c && c->color_err)
        fputs("\033[0m", stderr);
    fputc(' ', stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int
wr_cli_usage(wr_cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(c, c && c->a.cmd ? c->a.cmd->name : c && c->a.group ? c->a.group : NULL, fmt, ap);
    va_end(ap);
    return WR_CLI_EXIT_USAGE;
}

int
wr_cli_fail(wr_cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(c, NULL, fmt, ap);
    va_end(ap);
    return WR_CLI_EXIT_FAIL;
}

void
wr_cli_note(wr_cli *c, const char *fmt, ...)
{
    if (c->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fputs("weir: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void
wr_cli_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
    }
    free(s);
    json_decref(v);
}

int
wr_cli_show(wr_cli *c, int rc, json_t *o)
{
    if (rc != WR_CLI_EXIT_OK) {
        json_decref(o);
        return rc;
    }
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
wr_cli_done(wr_cli *c, int rc, json_t *json, const char *fmt, ...)
{
    if (rc != WR_CLI_EXIT_OK) {
        json_decref(json);
        return rc;
    }
    if (c->json) {
        wr_cli_print_json(json ? json : json_object());
        return rc;
    }
    json_decref(json);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    return rc;
}

bool
wr_cli_pos_uri(wr_cli *c, size_t i, wr_cli_uri_kind kind, wr_cli_uri *out)
{
    wr_error err = {0};
    if (wr_cli_uri_parse(c->a.pos[i], kind, out, &err) == WR_OK)
        return true;
    wr_cli_usage(c, "\"%s\": %s", c->a.pos[i], err.msg);
    return false;
}

/* Commands that never read a setting work even with a broken config file. */
static bool
needs_settings(const wr_cli_cmd *cmd)
{
    return cmd->run != wr_cli_cmd_help && cmd->run != wr_cli_cmd_completion &&
           cmd->run != wr_cli_cmd_version;
}

static int
run(wr_cli *c, int argc, char **argv)
{
    wr_error err = {0};
    if (wr_cli_args_parse(argc - 1, argv + 1, &c->a, &err) != WR_OK)
        return wr_cli_usage(c, "%s", err.msg);
    c->json = wr_cli_arg_flag(&c->a, "json");
    c->quiet = wr_cli_arg_flag(&c->a, "quiet");
    c->color_out = wr_cli_use_color(STDOUT_FILENO, wr_cli_arg_flag(&c->a, "no-color"));
    c->color_err = wr_cli_use_color(STDERR_FILENO, wr_cli_arg_flag(&c->a, "no-color"));
    if (c->a.group) {
        wr_cli_print_group_help(c->a.group, c->a.help ? stdout : stderr);
        return c->a.help ? WR_CLI_EXIT_OK : WR_CLI_EXIT_USAGE;
    }
    if (!c->a.cmd) {
        wr_cli_print_overview(c->a.help ? stdout : stderr);
        return c->a.help ? WR_CLI_EXIT_OK : WR_CLI_EXIT_USAGE;
    }
    if (c->a.help) {
        wr_cli_print_cmd_help(c->a.cmd, stdout);
        return WR_CLI_EXIT_OK;
    }
    if (!c->a.cmd->run)
        return wr_cli_usage(c, "write `weir serve [OPTIONS]` (see weir serve --help)");
    if (needs_settings(c->a.cmd)) {
        wr_buf path = {0};
        if (wr_cli_conf_path(&path))
            c->conf_path = wr_buf_steal(&path, NULL);
        if (c->conf_path && wr_cli_conf_load(&c->conf, c->conf_path, &err) != WR_OK)
            return wr_cli_usage(c, "%s", err.msg);
    }
    return c->a.cmd->run(c);
}

int
wr_cli_main(int argc, char **argv, const char *version)
{
    wr_cli c;
    memset(&c, 0, sizeof(c));
    c.version = version;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = run(&c, argc, argv);
    if (fflush(stdout) != 0 && rc == WR_CLI_EXIT_OK)
        rc = WR_CLI_EXIT_FAIL; /* e.g. a full disk behind `> file` */
    wr_cli_http_free(c.http);
    wr_cli_conf_fini(&c.conf);
    free(c.conf_path);
    curl_global_cleanup();
    return rc;
}
