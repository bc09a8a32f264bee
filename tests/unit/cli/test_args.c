/*
 * test_args.c — the command table (cli/cmds.c) and the parser that reads it (cli/args.c):
 * the table is well-formed (names unique, no option or shorthand used twice in a command,
 * every enum has choices); a table of command lines that parse and of ones that are usage
 * errors naming the argument; every option kind's values; token scope flags; and a seeded
 * fuzz loop of random argument lists that must end in success or one clean error line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli_int.h"
#include "support/test_main.h"

/* Splits a command line on spaces ("\\s" stands for a space inside a word). */
static int
split(const char *line, char *storage, char **argv, int max)
{
    int argc = 0;
    strcpy(storage, line);
    for (char *tok = strtok(storage, " "); tok && argc < max; tok = strtok(NULL, " ")) {
        for (char *p = tok; (p = strstr(p, "\\s")); p++) {
            *p = ' ';
            memmove(p + 1, p + 2, strlen(p + 2) + 1);
        }
        argv[argc++] = tok;
    }
    return argc;
}

static void
test_table_well_formed(void **state)
{
    (void)state;
    for (size_t i = 0; i < wr_cli_n_cmds; i++) {
        const wr_cli_cmd *c = &wr_cli_cmds[i];
        assert_true(c->summary && *c->summary && c->section && c->args);
        assert_true(c->min_pos <= c->max_pos && c->max_pos <= WR_CLI_MAX_POS);
        assert_true(c->run || strcmp(c->name, "serve") == 0);
        assert_ptr_equal(wr_cli_cmd_find(c->name), c);
        /* A command's name is one word or "group sub", never a group itself. */
        assert_false(!strchr(c->name, ' ') && wr_cli_is_group(c->name));
        const wr_cli_opt *seen[64];
        size_t n = 0;
        const wr_cli_opt *const *lists[WR_CLI_MAX_OPT_LISTS + 1] = {wr_cli_global_opts, c->opts[0],
                                                                    c->opts[1], c->opts[2]};
        for (size_t l = 0; l <= WR_CLI_MAX_OPT_LISTS; l++)
            for (const wr_cli_opt *const *o = lists[l]; o && *o; o++) {
                assert_true((*o)->help && *(*o)->help);
                if ((*o)->kind == WR_CLI_ENUM)
                    assert_non_null(strchr((*o)->meta, '|'));
                for (size_t k = 0; k < n; k++) {
                    if (strcmp(seen[k]->name, (*o)->name) == 0)
                        fail_msg("%s: --%s twice", c->name, (*o)->name);
                    if ((*o)->shorthand && seen[k]->shorthand == (*o)->shorthand)
                        fail_msg("%s: -%c twice", c->name, (*o)->shorthand);
                }
                assert_true(n < 64);
                seen[n++] = *o;
            }
    }
}

struct ok_row {
    const char *line;
    const char *cmd;
    size_t n_pos;
    const char *opt; /* an option to check, or NULL */
    uint64_t num;
    const char *raw;
};

static const struct ok_row ok[] = {
    {"ls", "ls", 0, NULL, 0, NULL},
    {"--json ls", "ls", 0, "json", 1, "true"},
    {"ls --json=false", "ls", 0, "json", 0, "false"},
    {"ls s2://my-basin-01 --limit 5", "ls", 1, "limit", 5, "5"},
    {"ls --limit=5 --limit 7", "ls", 0, "limit", 7, "7"},
    {"read s2://b-b-b-b-b/s -s 3", "read", 1, "seq-num", 3, "3"},
    {"read s2://b-b-b-b-b/s --bytes 64KiB", "read", 1, "bytes", 65536, "64KiB"},
    {"read s2://b-b-b-b-b/s --timestamp 2025-08-21T09:53:20.123Z", "read", 1, "timestamp",
     1755770000123ull, NULL},
    {"read s2://b-b-b-b-b/s --format raw", "read", 1, "format", 2, "raw"},
    {"read --format=json s2://b-b-b-b-b/s", "read", 1, "format", 1, "json"},
    {"tail -f -n 0 s2://b-b-b-b-b/s", "tail", 1, "lines", 0, "0"},
    {"tail s2://b-b-b-b-b/s -f", "tail", 1, "follow", 1, "true"},
    {"append s2://b-b-b-b-b/s -i -", "append", 1, "file", 0, "-"},
    {"append s2://b-b-b-b-b/s --fencing-token=-starts-with-dash", "append", 1, "fencing-token", 0,
     "-starts-with-dash"},
    {"append s2://b-b-b-b-b/s --fencing-token \\s", "append", 1, "fencing-token", 0, " "},
    {"create-stream s2://b-b-b-b-b/s --retention-policy infinite", "create-stream", 1,
     "retention-policy", 0, "infinite"},
    {"create-stream s2://b-b-b-b-b/s --retention-policy 7d", "create-stream", 1, "retention-policy",
     604800, "7d"},
    {"create-basin s2://b-b-b-b-b --create-stream-on-append", "create-basin", 1,
     "create-stream-on-append", 1, NULL},
    {"create-basin s2://b-b-b-b-b --create-stream-on-read=no", "create-basin", 1,
     "create-stream-on-read", 0, NULL},
    {"fence s2://b-b-b-b-b/s -- --token", "fence", 2, NULL, 0, NULL},
    {"trim s2://b-b-b-b-b/s 5", "trim", 2, NULL, 0, NULL},
    {"orgs create acme --title Acme", "orgs create", 1, "title", 0, "Acme"},
    {"orgs usage c1", "orgs usage", 1, NULL, 0, NULL},
    {"sessions tail s1 --io in", "sessions tail", 1, "io", 1, "in"},
    {"config set access_token abc", "config set", 2, NULL, 0, NULL},
    {"issue-access-token --expires-in 30d --ops append,read", "issue-access-token", 0, "expires-in",
     2592000, NULL},
    {"help orgs create", "help", 2, NULL, 0, NULL},
    {"completion zsh", "completion", 1, NULL, 0, NULL},
    {"--url http://x ls", "ls", 0, "url", 0, "http://x"},
};

static void
test_parse_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char storage[512], *argv[32];
        int argc = split(ok[i].line, storage, argv, 32);
        wr_cli_args a;
        wr_error err = {0};
        if (wr_cli_args_parse(argc, argv, &a, &err) != WR_OK)
            fail_msg("\"%s\": %s", ok[i].line, err.msg);
        assert_non_null(a.cmd);
        assert_string_equal(a.cmd->name, ok[i].cmd);
        assert_int_equal(a.n_pos, ok[i].n_pos);
        if (!ok[i].opt)
            continue;
        uint64_t v = 99;
        const char *raw = NULL;
        assert_true(wr_cli_arg_num(&a, ok[i].opt, &v));
        assert_true(wr_cli_arg_str(&a, ok[i].opt, &raw));
        assert_int_equal(v, ok[i].num);
        if (ok[i].raw)
            assert_string_equal(raw, ok[i].raw);
    }
}

struct bad_row {
    const char *line;
    const char *needle;
};

static const struct bad_row bad[] = {
    {"frobnicate", "unknown command \"frobnicate\""},
    {"orgs frob", "unknown command \"orgs frob\""},
    {"ls --frob", "unknown option --frob"},
    {"ls -z", "unknown option -z"},
    {"ls -fz", "unknown option -fz"},
    {"--count 1 ls", "unknown option --count"}, /* command options come after the command */
    {"ls --limit", "--limit: missing value"},
    {"ls --limit --json", "--limit: missing value"},
    {"ls --limit -1", "--limit: missing value"},
    {"ls --limit abc", "--limit: must be a non-negative integer, got \"abc\""},
    {"ls --limit 18446744073709551616", "--limit: must be a non-negative integer"},
    {"ls --limit=", "--limit: must be a non-negative integer, got \"\""},
    {"ls --json=maybe", "--json: must be true or false, got \"maybe\""},
    {"ls a b", "unexpected argument \"b\""},
    {"read", "missing argument s2://BASIN/STREAM"},
    {"read s2://b-b-b-b-b/s --format xml", "--format: must be one of text|json|raw, got \"xml\""},
    {"read s2://b-b-b-b-b/s --bytes 1MB", "--bytes: must be a size like"},
    {"read s2://b-b-b-b-b/s --timestamp yesterday", "--timestamp: must be milliseconds"},
    {"create-stream s2://b-b-b-b-b/s --retention-policy 0s", "--retention-policy: must be"},
    {"create-stream s2://b-b-b-b-b/s --retention-policy forever", "--retention-policy: must be"},
    {"create-stream s2://b-b-b-b-b/s --delete-on-empty-min-age 5", "--delete-on-empty-min-age:"},
    {"create-stream s2://b-b-b-b-b/s --storage-class fast", "--storage-class: must be one of"},
    {"trim s2://b-b-b-b-b/s", "missing argument s2://BASIN/STREAM SEQ_NUM"},
    {"trim s2://b-b-b-b-b/s 1 2", "unexpected argument \"2\""},
    {"append s2://b-b-b-b-b/s --format csv", "--format: must be one of text|json"},
    {"tail s2://b-b-b-b-b/s -n", "--lines: missing value"},
    {"config set access_token", "missing argument KEY VALUE"},
    {"issue-access-token --expires-at soon", "--expires-at: must be"},
    {"sessions tail s --io both", "--io: must be one of out|in"},
};

static void
test_parse_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char storage[512], *argv[32];
        int argc = split(bad[i].line, storage, argv, 32);
        wr_cli_args a;
        wr_error err = {0};
        if (wr_cli_args_parse(argc, argv, &a, &err) != WR_ERR_INVALID)
            fail_msg("\"%s\" was accepted", bad[i].line);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].line, err.msg, bad[i].needle);
        assert_null(strchr(err.msg, '\n'));
    }
}

static void
test_help_and_groups(void **state)
{
    (void)state;
    char storage[256], *argv[8];
    wr_cli_args a;
    int argc = split("read s2://x --bogus-after-help -h --more-bogus", storage, argv, 8);
    assert_int_equal(wr_cli_args_parse(argc, argv, &a, NULL), WR_ERR_INVALID);
    argc = split("read -h --bogus", storage, argv, 8);
    assert_int_equal(wr_cli_args_parse(argc, argv, &a, NULL), WR_OK);
    assert_true(a.help);
    assert_string_equal(a.cmd->name, "read");
    argc = split("orgs", storage, argv, 8);
    assert_int_equal(wr_cli_args_parse(argc, argv, &a, NULL), WR_OK);
    assert_null(a.cmd);
    assert_string_equal(a.group, "orgs");
    argc = split("--help", storage, argv, 8);
    assert_int_equal(wr_cli_args_parse(argc, argv, &a, NULL), WR_OK);
    assert_true(a.help);
    assert_null(a.cmd);
    assert_int_equal(wr_cli_args_parse(0, argv, &a, NULL), WR_OK);
    assert_null(a.cmd);
}

static void
test_scope_flags(void **state)
{
    (void)state;
    struct {
        const char *in, *want;
    } sets[] = {
        {"prefix:ci-", "{\"prefix\":\"ci-\"}"},
        {"exact:events", "{\"exact\":\"events\"}"},
        {"=events", "{\"exact\":\"events\"}"},
        {"ci-", "{\"prefix\":\"ci-\"}"},
        {"", "{\"prefix\":\"\"}"},
        {"prefix:", "{\"prefix\":\"\"}"},
    };
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        json_t *j = wr_cli_resource_set(sets[i].in);
        char *s = json_dumps(j, JSON_COMPACT);
        assert_string_equal(s, sets[i].want);
        free(s);
        json_decref(j);
    }
    char badbuf[64];
    json_t *g = wr_cli_op_groups("account=r,basin=rw,stream=w", badbuf, sizeof(badbuf));
    char *s = json_dumps(g, JSON_COMPACT);
    assert_string_equal(s, "{\"account\":{\"read\":true,\"write\":false},\"basin\":{\"read\":true,"
                           "\"write\":true},\"stream\":{\"read\":false,\"write\":true}}");
    free(s);
    json_decref(g);
    static const char *const bad_groups[][2] = {
        {"account", "account"},
        {"account=", "account="},
        {"account=x", "account=x"},
        {"acct=rw", "acct=rw"},
        {"basin=rwr", "basin=rwr"},
        {"basin=r,basin=w", "basin=w"},
        {",", ","},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(bad_groups) / sizeof(bad_groups[0]); i++) {
        badbuf[0] = 0;
        assert_null(wr_cli_op_groups(bad_groups[i][0], badbuf, sizeof(badbuf)));
        assert_string_equal(badbuf, bad_groups[i][1]);
    }
}

/* Random argument lists from a pool of plausible and hostile words: never a crash, and every
 * error is exactly one line. */
static void
test_fuzz(void **state)
{
    (void)state;
    static const char *const pool[] = {
        "ls",
        "read",
        "tail",
        "append",
        "orgs",
        "create",
        "config",
        "set",
        "help",
        "trim",
        "sessions",
        "-",
        "--",
        "-f",
        "-n",
        "-h",
        "--json",
        "--count",
        "--count=",
        "--format",
        "json",
        "xml",
        "s2://my-basin-01/x",
        "s2://",
        "7d",
        "0",
        "-1",
        "99999999999999999999",
        "--limit",
        "--bytes",
        "1MiB",
        "--timestamp",
        "2025-01-01T00:00:00Z",
        "\xff",
        "",
        "--retention-policy",
        "infinite",
        "--io",
        "in",
        "=",
        "--=x",
        "---",
        "-\xc3\xa9",
    };
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int iter = 0; iter < 50000; iter++) {
        char *argv[12];
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int argc = (int)((seed >> 33) % 12);
        for (int i = 0; i < argc; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            argv[i] = (char *)pool[(seed >> 33) % (sizeof(pool) / sizeof(pool[0]))];
        }
        wr_cli_args a;
        wr_error err = {0};
        wr_err e = wr_cli_args_parse(argc, argv, &a, &err);
        if (e != WR_OK) {
            assert_int_equal(e, WR_ERR_INVALID);
            assert_true(err.msg[0] != '\0');
            assert_null(strchr(err.msg, '\n'));
        } else if (a.cmd) {
            assert_true(a.help || a.n_pos >= a.cmd->min_pos);
            assert_true(a.n_pos <= a.cmd->max_pos);
        }
    }
}

static void
test_completion_scripts(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    wr_cli_completion_bash(f);
    fclose(f);
    /* Generated from the table: every command word and option appears. */
    for (size_t i = 0; i < wr_cli_n_cmds; i++) {
        const char *sp = strchr(wr_cli_cmds[i].name, ' ');
        assert_non_null(strstr(text, sp ? sp + 1 : wr_cli_cmds[i].name));
        for (size_t l = 0; l < WR_CLI_MAX_OPT_LISTS; l++)
            for (const wr_cli_opt *const *o = wr_cli_cmds[i].opts[l]; o && *o; o++) {
                char word[64];
                snprintf(word, sizeof(word), "--%s", (*o)->name);
                assert_non_null(strstr(text, word));
            }
    }
    assert_non_null(strstr(text, "complete -F _weir weir"));
    free(text);
    text = NULL;
    f = open_memstream(&text, &len);
    wr_cli_completion_zsh(f);
    fclose(f);
    assert_non_null(strstr(text, "#compdef weir"));
    assert_non_null(strstr(text, "compadd"));
    free(text);
}

WR_TEST_MAIN(cmocka_unit_test(test_table_well_formed), cmocka_unit_test(test_parse_ok),
             cmocka_unit_test(test_parse_bad), cmocka_unit_test(test_help_and_groups),
             cmocka_unit_test(test_scope_flags), cmocka_unit_test(test_fuzz),
             cmocka_unit_test(test_completion_scripts))
