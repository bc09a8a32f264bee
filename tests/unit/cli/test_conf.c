/*
 * test_conf.c — the CLI's config file (cli/conf.c): the TOML subset it reads (one row per
 * accepted spelling and per rejected line), writing and reading back any value, set/unset,
 * the path rules, and the atomic 0600 save.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli_int.h"
#include "support/test_main.h"

struct ok_row {
    const char *text;
    const char *key, *want; /* want NULL: key absent */
    size_t n;               /* keys expected */
};

static const struct ok_row ok[] = {
    {"", "access_token", NULL, 0},
    {"# only a comment\n\n   \n", "access_token", NULL, 0},
    {"access_token = \"abc\"\n", "access_token", "abc", 1},
    {"access_token=\"abc\"", "access_token", "abc", 1},
    {"  access_token\t=\t'lit\\eral' # c\n", "access_token", "lit\\eral", 1},
    {"a = \"x\"\r\nb = \"y\"\r\n", "b", "y", 2},
    {"k = \"q\\\"uote\\\\back\"", "k", "q\"uote\\back", 1},
    {"k = \"\\t\\n\\r\\b\\f\"", "k", "\t\n\r\b\f", 1},
    {"k = \"\\u00e9\\U0001F600\"", "k", "\xc3\xa9\xf0\x9f\x98\x80", 1},
    {"k = \"\"", "k", "", 1},
    {"k = \"#not a comment\"", "k", "#not a comment", 1},
    {"weir_url = \"http://h:1\"\nunknown_key = \"kept\"\n", "unknown_key", "kept", 2},
};

struct bad_row {
    const char *text;
    const char *needle;
};

static const struct bad_row bad[] = {
    {"[section]\n", "line 1: tables"},
    {"k = 5\n", "line 1: values must be quoted"},
    {"k = true\n", "line 1: values must be quoted"},
    {"k = [\"a\"]\n", "line 1: values must be quoted"},
    {"\nk = \"unterminated\n", "line 2: unterminated"},
    {"k = 'unterminated\n", "line 1: unterminated"},
    {"k \"v\"\n", "line 1: expected key"},
    {"= \"v\"\n", "line 1: expected key"},
    {"k.x = \"v\"\n", "line 1: expected key"},
    {"k = \"v\" junk\n", "line 1: unexpected text"},
    {"k = \"\\q\"\n", "line 1: invalid escape"},
    {"k = \"\\u12\"\n", "line 1: invalid escape"},
    {"k = \"\\uD800\"\n", "line 1: invalid escape"},
    {"k = \"\\U00110000\"\n", "line 1: invalid escape"},
    {"k = \"a\x01\"\n", "line 1: control character"},
    {"k = \"\xff\"\n", "line 1: value is not valid UTF-8"},
    {"k = \"a\"\nk = \"b\"\n", "line 2: key given twice"},
};

static void
test_parse_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        wr_cli_conf c;
        wr_error err = {0};
        if (wr_cli_conf_parse(&c, ok[i].text, strlen(ok[i].text), &err) != WR_OK)
            fail_msg("row %zu: %s", i, err.msg);
        const char *v = wr_cli_conf_get(&c, ok[i].key);
        if (ok[i].want)
            assert_string_equal(v, ok[i].want);
        else
            assert_null(v);
        assert_int_equal(c.n, ok[i].n);
        wr_cli_conf_fini(&c);
    }
}

static void
test_parse_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wr_cli_conf c;
        wr_error err = {0};
        if (wr_cli_conf_parse(&c, bad[i].text, strlen(bad[i].text), &err) != WR_ERR_INVALID)
            fail_msg("row %zu was accepted", i);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("row %zu: \"%s\" lacks \"%s\"", i, err.msg, bad[i].needle);
        assert_int_equal(c.n, 0);
    }
}

static void
test_format_roundtrip(void **state)
{
    (void)state;
    static const char *const values[] = {
        "",
        "plain",
        "quote\"back\\slash",
        "tab\tnl\ncr\r",
        "\x01\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac",
        "# hash = 'x'",
        "http://127.0.0.1:4243/v1",
    };
    wr_cli_conf c = {0};
    char key[16];
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        wr_cli_conf_set(&c, key, values[i]);
    }
    wr_buf text = {0};
    wr_cli_conf_format(&c, &text);
    wr_cli_conf back;
    wr_error err = {0};
    if (wr_cli_conf_parse(&back, text.data, text.len, &err) != WR_OK)
        fail_msg("%s\n%s", err.msg, text.data);
    assert_int_equal(back.n, c.n);
    for (size_t i = 0; i < c.n; i++) {
        assert_string_equal(back.keys[i], c.keys[i]);
        assert_string_equal(back.vals[i], c.vals[i]);
    }
    wr_buf_fini(&text);
    wr_cli_conf_fini(&back);
    wr_cli_conf_fini(&c);
}

static void
test_set_unset(void **state)
{
    (void)state;
    wr_cli_conf c = {0};
    assert_false(wr_cli_conf_set(&c, "a", NULL));
    assert_true(wr_cli_conf_set(&c, "a", "1"));
    assert_true(wr_cli_conf_set(&c, "b", "2"));
    assert_true(wr_cli_conf_set(&c, "a", "3")); /* replaced in place */
    assert_string_equal(c.keys[0], "a");
    assert_string_equal(wr_cli_conf_get(&c, "a"), "3");
    assert_true(wr_cli_conf_set(&c, "a", NULL));
    assert_null(wr_cli_conf_get(&c, "a"));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.keys[0], "b");
    wr_cli_conf_fini(&c);
    wr_cli_conf_fini(&c); /* idempotent */
}

static void
test_path(void **state)
{
    (void)state;
    wr_buf b = {0};
    setenv("WEIR_CONFIG", "/tmp/explicit.toml", 1);
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    assert_true(wr_cli_conf_path(&b));
    assert_string_equal(b.data, "/tmp/explicit.toml");
    wr_buf_reset(&b);
    unsetenv("WEIR_CONFIG");
    assert_true(wr_cli_conf_path(&b));
    assert_string_equal(b.data, "/xdg/weir/config.toml");
    wr_buf_reset(&b);
    setenv("XDG_CONFIG_HOME", "relative", 1); /* the XDG spec says: ignore it */
    assert_true(wr_cli_conf_path(&b));
    assert_string_equal(b.data, "/home/u/.config/weir/config.toml");
    wr_buf_reset(&b);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    assert_false(wr_cli_conf_path(&b));
    wr_buf_fini(&b);
}

static void
test_save_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/weir-conf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/a/b/config.toml", dir);
    wr_cli_conf c = {0}, back;
    wr_error err = {0};
    assert_int_equal(wr_cli_conf_load(&back, path, &err), WR_OK); /* missing = empty */
    assert_int_equal(back.n, 0);
    wr_cli_conf_set(&c, "access_token", "s\"ecret");
    wr_cli_conf_set(&c, "account_endpoint", "http://127.0.0.1:1");
    assert_int_equal(wr_cli_conf_save(&c, path, &err), WR_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char sub[256];
    snprintf(sub, sizeof(sub), "%s/a/b", dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(wr_cli_conf_load(&back, path, &err), WR_OK);
    assert_string_equal(wr_cli_conf_get(&back, "access_token"), "s\"ecret");
    wr_cli_conf_fini(&back);
    /* A malformed file is an error naming the file and the line. */
    FILE *f = fopen(path, "w");
    fputs("ok = \"1\"\nnot toml\n", f);
    fclose(f);
    assert_int_equal(wr_cli_conf_load(&back, path, &err), WR_ERR_INVALID);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "line 2"));
    /* Saving over it replaces it whole; no temporary file is left behind. */
    assert_int_equal(wr_cli_conf_save(&c, path, &err), WR_OK);
    assert_int_equal(wr_cli_conf_load(&back, path, &err), WR_OK);
    assert_int_equal(back.n, 2);
    wr_cli_conf_fini(&back);
    wr_cli_conf_fini(&c);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s/a/b)\" = config.toml", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void
test_keys(void **state)
{
    (void)state;
    for (int k = 0; k < WR_CLI_KEY__COUNT; k++) {
        assert_int_equal(wr_cli_key_find(wr_cli_keys[k].key), k);
        /* Every setting has its global flag in the command table. */
        bool found = false;
        for (const wr_cli_opt *const *o = wr_cli_global_opts; *o; o++)
            found |= strcmp((*o)->name, wr_cli_keys[k].flag) == 0 && (*o)->kind == WR_CLI_STR;
        if (!found)
            fail_msg("no global option --%s", wr_cli_keys[k].flag);
    }
    assert_int_equal(wr_cli_key_find("nope"), -1);
}

/* Random bytes and mutated valid files: the parser never crashes, and every error is one line
 * naming a line number. */
static void
test_fuzz(void **state)
{
    (void)state;
    static const char seed[] = "# c\nk = \"v\\u00e9\"\nq = 'lit'\n";
    static const char alphabet[] = "k=\"'\\u0#[] \t\r\nxU\x01\xff";
    uint64_t x = 0x243F6A8885A308D3ull;
    char text[64];
    for (int iter = 0; iter < 50000; iter++) {
        size_t n = sizeof(seed) - 1;
        memcpy(text, seed, n);
        for (int m = 0; m < 4; m++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            text[(x >> 33) % n] = alphabet[(x >> 17) % (sizeof(alphabet) - 1)];
        }
        wr_cli_conf c;
        wr_error err = {0};
        if (wr_cli_conf_parse(&c, text, n, &err) == WR_OK) {
            wr_cli_conf_fini(&c);
            continue;
        }
        assert_non_null(strstr(err.msg, "line "));
        assert_null(strchr(err.msg, '\n'));
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_parse_ok), cmocka_unit_test(test_parse_bad),
             cmocka_unit_test(test_format_roundtrip), cmocka_unit_test(test_set_unset),
             cmocka_unit_test(test_path), cmocka_unit_test(test_save_load),
             cmocka_unit_test(test_keys), cmocka_unit_test(test_fuzz))
