/*
 * help.c — `weir help`, `--help`, and the bash/zsh completion scripts, all printed from the
 * command table (cmds.c): a command or option added there appears here without an edit.
 *
 * The two completion scripts share one body (case statements over the table) and differ only
 * in how they read the words and offer candidates (bash: COMP_WORDS + compgen; zsh: words +
 * compadd). They complete command words, subcommands, option names, enum option values,
 * `--file` paths, `completion`'s shells, `config` keys and `help` topics.
 */
#include <string.h>

#include "cli/cli_int.h"

/* The groups ("orgs", ...): first words of the two-word commands, in table order. */
typedef struct grp {
    const char *name;
    int len;
} grp;

#define MAX_GROUPS 16

static size_t
list_groups(grp out[MAX_GROUPS])
{
    size_t n = 0;
    for (size_t i = 0; i < wr_cli_n_cmds; i++) {
        const char *sp = strchr(wr_cli_cmds[i].name, ' ');
        if (!sp)
            continue;
        int len = (int)(sp - wr_cli_cmds[i].name);
        bool seen = false;
        for (size_t g = 0; g < n; g++)
            seen |=
                out[g].len == len && strncmp(out[g].name, wr_cli_cmds[i].name, (size_t)len) == 0;
        if (!seen && n < MAX_GROUPS)
            out[n++] = (grp){wr_cli_cmds[i].name, len};
    }
    return n;
}

/* ---- help ------------------------------------------------------------------------------------ */

static void
print_opt(FILE *f, const wr_cli_opt *o)
{
    char left[80];
    int n = 0;
    if (o->shorthand)
        n = snprintf(left, sizeof(left), "-%c, ", o->shorthand);
    snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", o->name,
             o->kind == WR_CLI_BOOL ? "" : " ",
             o->kind == WR_CLI_BOOL ? ""
             : o->meta              ? o->meta
                                    : "VALUE");
    fprintf(f, "  %-34s %s\n", left, o->help);
}

/* The width of the widest "name args" of the table, so summaries line up. */
static int
cmd_col(void)
{
    size_t w = 0;
    for (size_t i = 0; i < wr_cli_n_cmds; i++) {
        size_t n = strlen(wr_cli_cmds[i].name) + 1 + strlen(wr_cli_cmds[i].args);
        w = n > w ? n : w;
    }
    return (int)w;
}

static void
print_cmd_line(FILE *f, const wr_cli_cmd *cmd)
{
    char left[96];
    snprintf(left, sizeof(left), "%s%s%s", cmd->name, cmd->args[0] ? " " : "", cmd->args);
    fprintf(f, "  %-*s  %s\n", cmd_col(), left, cmd->summary);
}

void
wr_cli_print_overview(FILE *f)
{
    fprintf(f,
            "weir — a multi-tenant durable stream server (S2-compatible) and its command line\n\n"
            "usage: weir COMMAND [ARGUMENTS] [OPTIONS]\n");
    const char *section = NULL;
    for (size_t i = 0; i < wr_cli_n_cmds; i++) {
        const wr_cli_cmd *cmd = &wr_cli_cmds[i];
        if (!section || strcmp(section, cmd->section) != 0) {
            section = cmd->section;
            fprintf(f, "\n%s:\n", section);
        }
        print_cmd_line(f, cmd);
    }
    fprintf(f, "\nGlobal options (every command):\n");
    for (const wr_cli_opt *const *o = wr_cli_global_opts; *o; o++)
        print_opt(f, *o);
    fprintf(f, "\nSettings: a flag wins over the environment, which wins over the config file\n"
               "($XDG_CONFIG_HOME/weir/config.toml or ~/.config/weir/config.toml):\n");
    for (int k = 0; k < WR_CLI_KEY__COUNT; k++)
        fprintf(f, "  %-17s %-20s %s\n", wr_cli_keys[k].key, wr_cli_keys[k].env,
                wr_cli_keys[k].help);
    fprintf(f, "With one S2 endpoint set it serves both; with none, WEIR_URL or "
               "http://127.0.0.1:4243.\n\n"
               "Exit codes: 0 success, 1 the operation failed (the server's error is printed),\n"
               "2 usage error. `weir help COMMAND` shows a command's options.\n");
}

void
wr_cli_print_cmd_help(const wr_cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: weir %s%s%s [OPTIONS]\n\n%s\n", cmd->name, cmd->args[0] ? " " : "",
            cmd->args, cmd->summary);
    if (cmd->help)
        fprintf(f, "\n%s\n", cmd->help);
    bool any = false;
    for (size_t l = 0; l < WR_CLI_MAX_OPT_LISTS; l++)
        for (const wr_cli_opt *const *o = cmd->opts[l]; o && *o; o++) {
            if (!any)
                fprintf(f, "\nOptions:\n");
            any = true;
            print_opt(f, *o);
        }
    fprintf(f, "\nGlobal options:\n");
    for (const wr_cli_opt *const *o = wr_cli_global_opts; *o; o++)
        print_opt(f, *o);
}

void
wr_cli_print_group_help(const char *group, FILE *f)
{
    fprintf(f, "usage: weir %s SUBCOMMAND [ARGUMENTS] [OPTIONS]\n\n", group);
    size_t n = strlen(group);
    for (size_t i = 0; i < wr_cli_n_cmds; i++)
        if (strncmp(wr_cli_cmds[i].name, group, n) == 0 && wr_cli_cmds[i].name[n] == ' ')
            print_cmd_line(f, &wr_cli_cmds[i]);
}

int
wr_cli_cmd_help(wr_cli *c)
{
    if (c->a.n_pos == 0) {
        wr_cli_print_overview(stdout);
        return WR_CLI_EXIT_OK;
    }
    char name[96];
    snprintf(name, sizeof(name), "%s%s%s", c->a.pos[0], c->a.n_pos > 1 ? " " : "",
             c->a.n_pos > 1 ? c->a.pos[1] : "");
    const wr_cli_cmd *cmd = wr_cli_cmd_find(name);
    if (cmd) {
        wr_cli_print_cmd_help(cmd, stdout);
        return WR_CLI_EXIT_OK;
    }
    if (c->a.n_pos == 1 && wr_cli_is_group(name)) {
        wr_cli_print_group_help(name, stdout);
        return WR_CLI_EXIT_OK;
    }
    return wr_cli_usage(c, "no command \"%s\" (see weir help)", name);
}

int
wr_cli_cmd_version(wr_cli *c)
{
    if (c->json)
        wr_cli_print_json(json_pack("{s:s}", "version", c->version));
    else
        printf("weir %s\n", c->version);
    return WR_CLI_EXIT_OK;
}

/* ---- completion ------------------------------------------------------------------------------ */

/* Every option of a command, including the global ones, as "--a --b -x". */
static void
opt_words(FILE *f, const wr_cli_cmd *cmd)
{
    const wr_cli_opt *const *lists[WR_CLI_MAX_OPT_LISTS + 1] = {wr_cli_global_opts};
    for (size_t l = 0; l < WR_CLI_MAX_OPT_LISTS; l++)
        lists[l + 1] = cmd ? cmd->opts[l] : NULL;
    bool first = true;
    for (size_t l = 0; l <= WR_CLI_MAX_OPT_LISTS; l++)
        for (const wr_cli_opt *const *o = lists[l]; o && *o; o++) {
            fprintf(f, "%s--%s", first ? "" : " ", (*o)->name);
            first = false;
        }
}

/* Options that take a value, so the word after them is skipped when finding the command.
 * Each is written once (options are shared between commands, and names may repeat). */
static void
value_opts(FILE *f)
{
    wr_buf seen = {0};
    wr_buf_append_str(&seen, " ");
    const wr_cli_opt *const *lists[1 + 64 * WR_CLI_MAX_OPT_LISTS];
    size_t n = 0;
    lists[n++] = wr_cli_global_opts;
    for (size_t i = 0;
         i < wr_cli_n_cmds && n + WR_CLI_MAX_OPT_LISTS <= sizeof(lists) / sizeof(lists[0]); i++)
        for (size_t l = 0; l < WR_CLI_MAX_OPT_LISTS; l++)
            if (wr_cli_cmds[i].opts[l])
                lists[n++] = wr_cli_cmds[i].opts[l];
    for (size_t l = 0; l < n; l++)
        for (const wr_cli_opt *const *o = lists[l]; *o; o++) {
            char word[80];
            if ((*o)->kind == WR_CLI_BOOL)
                continue;
            snprintf(word, sizeof(word), " --%s ", (*o)->name);
            if (strstr(seen.data, word))
                continue;
            wr_buf_append_str(&seen, word + 1);
            if ((*o)->shorthand)
                wr_buf_printf(&seen, "-%c ", (*o)->shorthand);
        }
    fputs(seen.data, f);
    wr_buf_fini(&seen);
}

static void
top_words(FILE *f)
{
    grp gs[MAX_GROUPS];
    size_t ng = list_groups(gs);
    for (size_t i = 0; i < wr_cli_n_cmds; i++)
        if (!strchr(wr_cli_cmds[i].name, ' '))
            fprintf(f, "%s ", wr_cli_cmds[i].name);
    for (size_t g = 0; g < ng; g++)
        fprintf(f, "%.*s%s", gs[g].len, gs[g].name, g + 1 < ng ? " " : "");
}

/* Writes "choices" with '|' turned into spaces. */
static void
choices(FILE *f, const char *meta)
{
    for (const char *p = meta; *p; p++)
        fputc(*p == '|' ? ' ' : *p, f);
}

/* Finds the command among the words before the cursor, skipping options and their values. */
static void
emit_find_cmd(FILE *f, bool zsh)
{
    grp gs[MAX_GROUPS];
    size_t ng = list_groups(gs);
    fprintf(f, "    local valopts=\"");
    value_opts(f);
    fprintf(f, "\"\n    local cmd=\"\" w skip=0 i\n");
    fprintf(f, "    for ((i = %s; i < %s; i++)); do\n", zsh ? "2" : "1",
            zsh ? "CURRENT" : "COMP_CWORD");
    fprintf(f, "        w=\"${%s[i]}\"\n", zsh ? "words" : "COMP_WORDS");
    fprintf(f, "        if ((skip)); then skip=0; continue; fi\n"
               "        case \"$w\" in\n"
               "            --*=*) continue ;;\n"
               "            -*) [[ \"$valopts\" == *\" $w \"* ]] && skip=1; continue ;;\n"
               "        esac\n"
               "        if [[ -z \"$cmd\" ]]; then cmd=\"$w\"\n"
               "        elif [[ \"$cmd\" != *\" \"* && \" ");
    for (size_t g = 0; g < ng; g++)
        fprintf(f, "%.*s ", gs[g].len, gs[g].name);
    fprintf(f, "\" == *\" $cmd \"* ]]; then cmd=\"$cmd $w\"\n"
               "        fi\n"
               "    done\n"
               "    local list=\"\"\n");
}

/* Candidates for the value of the option just before the cursor. */
static void
emit_value_cases(FILE *f, const char *reply, const char *files)
{
    /* Values of the previous word's option. */
    fprintf(f, "    case \"$cmd:$prev\" in\n");
    for (size_t i = 0; i < wr_cli_n_cmds; i++)
        for (size_t l = 0; l < WR_CLI_MAX_OPT_LISTS; l++)
            for (const wr_cli_opt *const *o = wr_cli_cmds[i].opts[l]; o && *o; o++) {
                if ((*o)->kind == WR_CLI_ENUM) {
                    fprintf(f, "        \"%s:--%s\") list=\"", wr_cli_cmds[i].name, (*o)->name);
                    choices(f, (*o)->meta);
                    fprintf(f, "\"; %s; return ;;\n", reply);
                } else if ((*o)->meta && strcmp((*o)->meta, "PATH") == 0) {
                    fprintf(f, "        \"%s:--%s\"|\"%s:-%c\") %s; return ;;\n",
                            wr_cli_cmds[i].name, (*o)->name, wr_cli_cmds[i].name,
                            (*o)->shorthand ? (*o)->shorthand : '-', files);
                }
            }
    fprintf(f, "    esac\n");
}

/* Candidates for each command: its options, or its positional choices. */
static void
emit_cmd_cases(FILE *f)
{
    grp gs[MAX_GROUPS];
    size_t ng = list_groups(gs);
    fprintf(f, "    case \"$cmd\" in\n        \"\") list=\"");
    top_words(f);
    fprintf(f, "\" ;;\n");
    for (size_t g = 0; g < ng; g++) {
        fprintf(f, "        %.*s) list=\"", gs[g].len, gs[g].name);
        size_t n = (size_t)gs[g].len;
        bool first = true;
        for (size_t i = 0; i < wr_cli_n_cmds; i++)
            if (strncmp(wr_cli_cmds[i].name, gs[g].name, n) == 0 && wr_cli_cmds[i].name[n] == ' ') {
                fprintf(f, "%s%s", first ? "" : " ", wr_cli_cmds[i].name + n + 1);
                first = false;
            }
        fprintf(f, "\" ;;\n");
    }
    for (size_t i = 0; i < wr_cli_n_cmds; i++) {
        const wr_cli_cmd *cmd = &wr_cli_cmds[i];
        fprintf(f, "        \"%s\")\n            if [[ \"$cur\" == -* ]]; then list=\"", cmd->name);
        opt_words(f, cmd);
        fprintf(f, "\"\n");
        if (strchr(cmd->args, '|') && !strchr(cmd->args, ' ')) {
            fprintf(f, "            else list=\"");
            choices(f, cmd->args);
            fprintf(f, "\"\n");
        } else if (strncmp(cmd->name, "config ", 7) == 0 && strncmp(cmd->args, "KEY", 3) == 0) {
            fprintf(f, "            elif [[ \"$prev\" == \"%s\" ]]; then list=\"", cmd->name + 7);
            for (int k = 0; k < WR_CLI_KEY__COUNT; k++)
                fprintf(f, "%s%s", k ? " " : "", wr_cli_keys[k].key);
            fprintf(f, "\"\n");
        } else if (strcmp(cmd->name, "help") == 0) {
            fprintf(f, "            else list=\"");
            top_words(f);
            fprintf(f, "\"\n");
        }
        fprintf(f, "            fi ;;\n");
    }
}

static void
emit_body(FILE *f, bool zsh)
{
    const char *reply =
        zsh ? "compadd -- ${=list}" : "COMPREPLY=( $(compgen -W \"$list\" -- \"$cur\") )";
    const char *files = zsh ? "_files" : "COMPREPLY=( $(compgen -f -- \"$cur\") )";
    emit_find_cmd(f, zsh);
    emit_value_cases(f, reply, files);
    emit_cmd_cases(f);
    fprintf(f, "    esac\n    %s\n", reply);
}

void
wr_cli_completion_bash(FILE *f)
{
    fprintf(f, "# bash completion for weir, generated by `weir completion bash` from its command\n"
               "# table. Load it with: source <(weir completion bash)\n"
               "_weir() {\n"
               "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
               "    COMPREPLY=()\n");
    emit_body(f, false);
    fprintf(f, "}\ncomplete -F _weir weir\n");
}

void
wr_cli_completion_zsh(FILE *f)
{
    fprintf(f, "#compdef weir\n"
               "# zsh completion for weir, generated by `weir completion zsh` from its command\n"
               "# table. Load it with: source <(weir completion zsh)   (after compinit)\n"
               "_weir() {\n"
               "    local cur=\"${words[CURRENT]}\" prev=\"${words[CURRENT-1]}\"\n");
    emit_body(f, true);
    fprintf(f, "}\nif (( $+functions[compdef] )); then compdef _weir weir; fi\n");
}

int
wr_cli_cmd_completion(wr_cli *c)
{
    if (strcmp(c->a.pos[0], "bash") == 0)
        wr_cli_completion_bash(stdout);
    else if (strcmp(c->a.pos[0], "zsh") == 0)
        wr_cli_completion_zsh(stdout);
    else
        return wr_cli_usage(c, "\"%s\": the shell must be bash or zsh", c->a.pos[0]);
    return WR_CLI_EXIT_OK;
}
