/*
 * test_config.c — the option loader (util/config.h) over the tables of `weir serve`
 * (serve_config.h): defaults, precedence flag > environment >
 * default, both flag spellings, every kind's accepted and rejected values, and the error
 * messages a user sees. Each test starts from an environment with no WEIR_* variables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve_config.h"
#include "support/test_main.h"
#include "util/config.h"

extern char **environ;

static int
clear_env(void **state)
{
    (void)state;
    for (;;) {
        char **e = environ;
        while (*e && strncmp(*e, "WEIR_", 5) != 0)
            e++;
        if (*e == NULL)
            return 0;
        char name[256];
        size_t n = strcspn(*e, "=");
        snprintf(name, sizeof(name), "%.*s", (int)n, *e);
        unsetenv(name);
    }
}

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Loads with the given argv; returns the error code and leaves the message in *e. */
static wr_err
load(wr_config *cfg, int argc, char **argv, wr_error *e)
{
    memset(e, 0, sizeof(*e));
    return wr_config_load(cfg, argc, argv, e);
}

static void
test_defaults(void **state)
{
    (void)state;
    wr_config cfg;
    wr_error e;
    assert_int_equal(load(&cfg, 0, NULL, &e), WR_OK);
    assert_string_equal(cfg.serve.listen.host, "127.0.0.1");
    assert_int_equal(cfg.serve.listen.port, 4243);
    assert_string_equal(cfg.serve.data_dir, "./data");
    assert_int_equal(cfg.serve.log_level, WR_LOG_INFO);
    assert_false(cfg.http.no_cors);
    assert_int_equal(cfg.http.max_connections, 10000);
    assert_int_equal(cfg.http.max_header_bytes, 16 * 1024);
    assert_int_equal(cfg.http.max_body_bytes, 8 * 1024 * 1024);
    assert_int_equal(cfg.http.header_timeout_s, 10);
    assert_int_equal(cfg.http.idle_timeout_s, 60);
    assert_int_equal(cfg.http.shutdown_timeout_s, 10);
    assert_int_equal(cfg.store.append_inflight_bytes, 128ull * 1024 * 1024);
    assert_false(cfg.help);
    wr_config_fini(&cfg);
    assert_null(cfg.serve.data_dir);
    wr_config_fini(&cfg); /* twice is fine */
}

static void
test_precedence(void **state)
{
    (void)state;
    wr_config cfg;
    wr_error e;

    setenv("WEIR_IDLE_TIMEOUT", "5m", 1);
    setenv("WEIR_DATA_DIR", "/env/dir", 1);
    assert_int_equal(load(&cfg, 0, NULL, &e), WR_OK);
    assert_int_equal(cfg.http.idle_timeout_s, 300); /* env over default */
    assert_string_equal(cfg.serve.data_dir, "/env/dir");
    wr_config_fini(&cfg);

    char *a1[] = {"--idle-timeout", "2h", "--data-dir=/flag/dir"};
    assert_int_equal(load(&cfg, ARGC(a1), a1, &e), WR_OK);
    assert_int_equal(cfg.http.idle_timeout_s, 7200); /* flag over env */
    assert_string_equal(cfg.serve.data_dir, "/flag/dir");
    assert_int_equal(cfg.http.header_timeout_s, 10); /* untouched option keeps its default */
    wr_config_fini(&cfg);

    /* Last occurrence wins. */
    char *a2[] = {"--idle-timeout=1s", "--idle-timeout", "3s"};
    assert_int_equal(load(&cfg, ARGC(a2), a2, &e), WR_OK);
    assert_int_equal(cfg.http.idle_timeout_s, 3);
    wr_config_fini(&cfg);

    /* A bad environment value is ignored when a flag overrides it... */
    setenv("WEIR_MAX_CONNECTIONS", "lots", 1);
    char *a3[] = {"--max-connections", "5"};
    assert_int_equal(load(&cfg, ARGC(a3), a3, &e), WR_OK);
    assert_int_equal(cfg.http.max_connections, 5);
    wr_config_fini(&cfg);
    /* ...and reported, by variable name, when it is not. */
    assert_int_equal(load(&cfg, 0, NULL, &e), WR_ERR_INVALID);
    assert_string_equal(e.msg, "WEIR_MAX_CONNECTIONS: must be a non-negative integer");
    assert_null(cfg.serve.data_dir); /* nothing left to free after an error */

    /* An empty variable counts as unset. */
    setenv("WEIR_MAX_CONNECTIONS", "", 1);
    setenv("WEIR_DATA_DIR", "", 1);
    assert_int_equal(load(&cfg, 0, NULL, &e), WR_OK);
    assert_int_equal(cfg.http.max_connections, 10000);
    assert_string_equal(cfg.serve.data_dir, "./data");
    wr_config_fini(&cfg);
}

static void
test_help(void **state)
{
    (void)state;
    wr_config cfg;
    wr_error e;
    char *a1[] = {"--help"};
    char *a2[] = {"-h"};
    char *a3[] = {"--idle-timeout", "7d", "--help", "--bogus"};
    char **argvs[] = {a1, a2, a3};
    int argcs[] = {1, 1, 4};
    setenv("WEIR_IDLE_TIMEOUT", "not a duration", 1); /* help must work with a broken env */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(load(&cfg, argcs[i], argvs[i], &e), WR_OK);
        assert_true(cfg.help);
        assert_string_equal(cfg.serve.data_dir, "./data");
        assert_int_equal(cfg.http.idle_timeout_s, 60); /* defaults only */
        wr_config_fini(&cfg);
    }
    /* An error before --help is still an error. */
    char *a4[] = {"--bogus", "--help"};
    assert_int_equal(load(&cfg, ARGC(a4), a4, &e), WR_ERR_INVALID);
}

static void
test_argument_errors(void **state)
{
    (void)state;
    static const struct {
        const char *args[3];
        int argc;
        const char *msg;
    } rows[] = {
        {{"--bogus"}, 1, "unknown option --bogus (see --help)"},
        {{"--bogus=1"}, 1, "unknown option --bogus (see --help)"},
        {{"--listen-addr", "x"}, 2, "unknown option --listen-addr (see --help)"},
        {{"--liste", "x"}, 2, "unknown option --liste (see --help)"},
        {{"--LISTEN", "x"}, 2, "unknown option --LISTEN (see --help)"},
        {{"-x"}, 1, "unexpected argument '-x' (see --help)"},
        {{"serve"}, 1, "unexpected argument 'serve' (see --help)"},
        {{"--"}, 1, "unexpected argument '--' (see --help)"},
        {{"--no-cors", "true"}, 2, "unexpected argument 'true' (see --help)"},
        {{"--data-dir"}, 1, "--data-dir: missing value (DIR)"},
        {{"--data-dir", "--no-cors"}, 2, "--data-dir: missing value (DIR)"},
        {{"--idle-timeout"}, 1, "--idle-timeout: missing value (DURATION)"},
        {{"--listen", "--data-dir", "x"}, 3, "--listen: missing value (HOST:PORT)"},
        {{"--data-dir="}, 1, "--data-dir: must not be empty"},
        {{"--idle-timeout="}, 1, "--idle-timeout: must be a duration like 7d, 30d, 365d, 1h, 1y"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_config cfg;
        wr_error e;
        if (load(&cfg, rows[i].argc, (char **)rows[i].args, &e) != WR_ERR_INVALID)
            fail_msg("row %zu (%s) accepted", i, rows[i].args[0]);
        assert_int_equal(e.code, WR_ERR_INVALID);
        assert_string_equal(e.msg, rows[i].msg);
        wr_config_fini(&cfg);
    }
}

/* One value for one option, given as a flag (both spellings) and as an environment variable. */
struct vrow {
    const char *flag; /* without "--" */
    const char *env;
    const char *value;
    const char *msg; /* NULL = accepted; else the message after "--flag: " / "ENV: " */
    size_t off;      /* for accepted numeric rows: the uint64_t field to check */
    uint64_t want;
};

#define U(f) offsetof(wr_config, f)
#define NONE SIZE_MAX
#define DUR_MSG "must be a duration like 7d, 30d, 365d, 1h, 1y"
#define SIZE_MSG "must be a size like 65536, 64KiB, 8MiB, 1GiB"
#define KIB 1024ull
#define MIB (1024ull * 1024ull)

static const struct vrow vrows[] = {
    /* K_UINT */
    {"max-connections", "WEIR_MAX_CONNECTIONS", "1", NULL, U(http.max_connections), 1},
    {"max-connections", "WEIR_MAX_CONNECTIONS", "1000000", NULL, U(http.max_connections), 1000000},
    {"max-connections", "WEIR_MAX_CONNECTIONS", "0", "must be between 1 and 1000000", NONE, 0},
    {"max-connections", "WEIR_MAX_CONNECTIONS", "1000001", "must be between 1 and 1000000", NONE,
     0},
    {"max-connections", "WEIR_MAX_CONNECTIONS", "-1", "must be a non-negative integer", NONE, 0},
    {"max-connections", "WEIR_MAX_CONNECTIONS", "1e3", "must be a non-negative integer", NONE, 0},
    {"max-connections", "WEIR_MAX_CONNECTIONS", "10k", "must be a non-negative integer", NONE, 0},
    {"max-connections", "WEIR_MAX_CONNECTIONS", "99999999999999999999999",
     "must be a non-negative integer", NONE, 0},
    /* K_SIZE */
    {"max-header-bytes", "WEIR_MAX_HEADER_BYTES", "1KiB", NULL, U(http.max_header_bytes), KIB},
    {"max-header-bytes", "WEIR_MAX_HEADER_BYTES", "1024", NULL, U(http.max_header_bytes), KIB},
    {"max-header-bytes", "WEIR_MAX_HEADER_BYTES", "32K", NULL, U(http.max_header_bytes), 32 * KIB},
    {"max-header-bytes", "WEIR_MAX_HEADER_BYTES", "1MiB", NULL, U(http.max_header_bytes), MIB},
    {"max-header-bytes", "WEIR_MAX_HEADER_BYTES", "1023", "must be between 1KiB and 1MiB", NONE, 0},
    {"max-header-bytes", "WEIR_MAX_HEADER_BYTES", "1025KiB", "must be between 1KiB and 1MiB", NONE,
     0},
    {"max-header-bytes", "WEIR_MAX_HEADER_BYTES", "16KB", SIZE_MSG, NONE, 0},
    {"max-body-bytes", "WEIR_MAX_BODY_BYTES", "64MiB", NULL, U(http.max_body_bytes), 64 * MIB},
    {"max-body-bytes", "WEIR_MAX_BODY_BYTES", "1k", NULL, U(http.max_body_bytes), KIB},
    {"max-body-bytes", "WEIR_MAX_BODY_BYTES", "65537KiB", "must be between 1KiB and 64MiB", NONE,
     0},
    {"max-body-bytes", "WEIR_MAX_BODY_BYTES", "1G", "must be between 1KiB and 64MiB", NONE, 0},
    {"max-body-bytes", "WEIR_MAX_BODY_BYTES", "-8MiB", SIZE_MSG, NONE, 0},
    {"append-inflight-bytes", "WEIR_APPEND_INFLIGHT_BYTES", "1GiB", NULL,
     U(store.append_inflight_bytes), 1024 * MIB},
    {"append-inflight-bytes", "WEIR_APPEND_INFLIGHT_BYTES", "1MiB", NULL,
     U(store.append_inflight_bytes), MIB},
    {"append-inflight-bytes", "WEIR_APPEND_INFLIGHT_BYTES", "1023KiB", "must be at least 1MiB",
     NONE, 0},
    {"append-inflight-bytes", "WEIR_APPEND_INFLIGHT_BYTES", "lots", SIZE_MSG, NONE, 0},
    /* K_DURATION */
    {"header-timeout", "WEIR_HEADER_TIMEOUT", "1s", NULL, U(http.header_timeout_s), 1},
    {"header-timeout", "WEIR_HEADER_TIMEOUT", "2 MINUTES", NULL, U(http.header_timeout_s), 120},
    {"header-timeout", "WEIR_HEADER_TIMEOUT", "1d", NULL, U(http.header_timeout_s), 86400},
    {"header-timeout", "WEIR_HEADER_TIMEOUT", "0s", "must be between 1s and 1d", NONE, 0},
    {"header-timeout", "WEIR_HEADER_TIMEOUT", "2d", "must be between 1s and 1d", NONE, 0},
    {"header-timeout", "WEIR_HEADER_TIMEOUT", "10", DUR_MSG, NONE, 0},
    {"idle-timeout", "WEIR_IDLE_TIMEOUT", "90s", NULL, U(http.idle_timeout_s), 90},
    {"idle-timeout", "WEIR_IDLE_TIMEOUT", "1.5m", DUR_MSG, NONE, 0},
    {"idle-timeout", "WEIR_IDLE_TIMEOUT", "1m30s", DUR_MSG, NONE, 0},
    {"idle-timeout", "WEIR_IDLE_TIMEOUT", "999999999999999999y", DUR_MSG, NONE, 0},
    {"shutdown-timeout", "WEIR_SHUTDOWN_TIMEOUT", "0s", NULL, U(http.shutdown_timeout_s), 0},
    {"shutdown-timeout", "WEIR_SHUTDOWN_TIMEOUT", "1 hour", NULL, U(http.shutdown_timeout_s), 3600},
    {"shutdown-timeout", "WEIR_SHUTDOWN_TIMEOUT", "25h", "must be between 0s and 1d", NONE, 0},
    {"shutdown-timeout", "WEIR_SHUTDOWN_TIMEOUT", "-1s", DUR_MSG, NONE, 0},
    /* K_LOG_LEVEL */
    {"log-level", "WEIR_LOG_LEVEL", "debug", NULL, NONE, 0},
    {"log-level", "WEIR_LOG_LEVEL", "WARN", NULL, NONE, 0},
    {"log-level", "WEIR_LOG_LEVEL", "trace", "must be one of debug, info, warn, error, off", NONE,
     0},
    {"log-level", "WEIR_LOG_LEVEL", "warning", "must be one of debug, info, warn, error, off", NONE,
     0},
    {"log-level", "WEIR_LOG_LEVEL", "informational", "must be one of debug, info, warn, error, off",
     NONE, 0},
    /* K_BOOL (explicit values) */
    {"no-cors", "WEIR_NO_CORS", "maybe", "must be one of 1, 0, true, false, yes, no", NONE, 0},
    {"no-cors", "WEIR_NO_CORS", "on", "must be one of 1, 0, true, false, yes, no", NONE, 0},
    {"no-cors", "WEIR_NO_CORS", "2", "must be one of 1, 0, true, false, yes, no", NONE, 0},
    /* K_STRING */
    {"data-dir", "WEIR_DATA_DIR", "/var/lib/weir", NULL, NONE, 0},
    /* K_ONOFF (values checked in test_console_switch) */
    {"console", "WEIR_CONSOLE", "on", NULL, NONE, 0},
    {"console", "WEIR_CONSOLE", "OFF", NULL, NONE, 0},
    {"console", "WEIR_CONSOLE", "true", "must be on or off", NONE, 0},
    {"console", "WEIR_CONSOLE", "1", "must be on or off", NONE, 0},
    {"console", "WEIR_CONSOLE", "no", "must be on or off", NONE, 0},
    {"console", "WEIR_CONSOLE", "onn", "must be on or off", NONE, 0},
    {"console", "WEIR_CONSOLE", " on", "must be on or off", NONE, 0},
};

/* --console on|off: on by default; a value is required (it is not a switch). */
static void
test_console_switch(void **state)
{
    (void)state;
    wr_config cfg;
    wr_error e;
    clear_env(NULL);
    assert_int_equal(load(&cfg, 0, NULL, &e), WR_OK);
    assert_true(cfg.serve.console);
    wr_config_fini(&cfg);
    char *a1[] = {"--console", "off"};
    assert_int_equal(load(&cfg, ARGC(a1), a1, &e), WR_OK);
    assert_false(cfg.serve.console);
    wr_config_fini(&cfg);
    setenv("WEIR_CONSOLE", "Off", 1);
    assert_int_equal(load(&cfg, 0, NULL, &e), WR_OK);
    assert_false(cfg.serve.console);
    wr_config_fini(&cfg);
    char *a2[] = {"--console=on"}; /* the flag wins over the environment */
    assert_int_equal(load(&cfg, ARGC(a2), a2, &e), WR_OK);
    assert_true(cfg.serve.console);
    wr_config_fini(&cfg);
    char *a3[] = {"--console"};
    assert_int_equal(load(&cfg, ARGC(a3), a3, &e), WR_ERR_INVALID);
    assert_string_equal(e.msg, "--console: missing value (on|off)");
    clear_env(NULL);
}

static void
check_vrow(const struct vrow *r, int how)
{
    wr_config cfg;
    wr_error e;
    char joined[256], name[64];
    char *argv[2];
    int argc = 0;
    clear_env(NULL);
    if (how == 0) {
        argv[0] = name, argv[1] = (char *)r->value, argc = 2;
        snprintf(name, sizeof(name), "--%s", r->flag);
    } else if (how == 1) {
        snprintf(joined, sizeof(joined), "--%s=%s", r->flag, r->value);
        argv[0] = joined, argc = 1;
    } else {
        setenv(r->env, r->value, 1);
    }
    wr_err err = load(&cfg, argc, argv, &e);
    if (r->msg == NULL) {
        if (err != WR_OK)
            fail_msg("%s=%s (how %d) rejected: %s", r->flag, r->value, how, e.msg);
        if (r->off != NONE) {
            uint64_t got;
            memcpy(&got, (char *)&cfg + r->off, sizeof(got));
            if (got != r->want)
                fail_msg("%s=%s: got %llu want %llu", r->flag, r->value, (unsigned long long)got,
                         (unsigned long long)r->want);
        }
    } else {
        char want[300];
        if (how == 2)
            snprintf(want, sizeof(want), "%s: %s", r->env, r->msg);
        else
            snprintf(want, sizeof(want), "--%s: %s", r->flag, r->msg);
        if (err != WR_ERR_INVALID)
            fail_msg("%s=%s (how %d) accepted", r->flag, r->value, how);
        assert_string_equal(e.msg, want);
    }
    wr_config_fini(&cfg);
}

static void
test_values_by_flag_and_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vrows) / sizeof(vrows[0]); i++)
        for (int how = 0; how < 3; how++)
            if (!(how == 0 && strcmp(vrows[i].flag, "no-cors") == 0)) /* no separate value */
                check_vrow(&vrows[i], how);
}

static void
test_exact_messages_from_brief(void **state)
{
    (void)state;
    wr_config cfg;
    wr_error e;
    char *a[] = {"--idle-timeout", "soon"};
    assert_int_equal(load(&cfg, ARGC(a), a, &e), WR_ERR_INVALID);
    assert_string_equal(e.msg, "--idle-timeout: must be a duration like 7d, 30d, 365d, 1h, 1y");
}

static void
test_log_level_values(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        wr_log_level want;
    } rows[] = {{"debug", WR_LOG_DEBUG}, {"info", WR_LOG_INFO}, {"warn", WR_LOG_WARN},
                {"error", WR_LOG_ERROR}, {"off", WR_LOG_OFF},   {"Debug", WR_LOG_DEBUG},
                {"ERROR", WR_LOG_ERROR}, {"OFF", WR_LOG_OFF}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_config cfg;
        wr_error e;
        char *a[] = {"--log-level", (char *)rows[i].v};
        assert_int_equal(load(&cfg, 2, a, &e), WR_OK);
        assert_int_equal(cfg.serve.log_level, rows[i].want);
        wr_config_fini(&cfg);
    }
}

static void
test_bool_values(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        bool want;
    } rows[] = {{"1", true},   {"0", false},   {"true", true},   {"false", false}, {"yes", true},
                {"no", false}, {"TRUE", true}, {"False", false}, {"YES", true},    {"No", false}};
    wr_config cfg;
    wr_error e;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        setenv("WEIR_NO_CORS", rows[i].v, 1);
        assert_int_equal(load(&cfg, 0, NULL, &e), WR_OK);
        assert_int_equal(cfg.http.no_cors, rows[i].want);
        wr_config_fini(&cfg);
        char flag[64];
        snprintf(flag, sizeof(flag), "--no-cors=%s", rows[i].v);
        char *a[] = {flag};
        unsetenv("WEIR_NO_CORS");
        assert_int_equal(load(&cfg, 1, a, &e), WR_OK);
        assert_int_equal(cfg.http.no_cors, rows[i].want);
        wr_config_fini(&cfg);
    }
    /* A bare flag means true, and beats a false environment value. */
    setenv("WEIR_NO_CORS", "false", 1);
    char *a[] = {"--no-cors"};
    assert_int_equal(load(&cfg, 1, a, &e), WR_OK);
    assert_true(cfg.http.no_cors);
    wr_config_fini(&cfg);
}

static void
test_listen(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        const char *host; /* NULL = rejected */
        uint16_t port;
    } rows[] = {
        {"127.0.0.1:4243", "127.0.0.1", 4243},
        {"0.0.0.0:0", "0.0.0.0", 0},
        {"10.1.2.3:65535", "10.1.2.3", 65535},
        {"localhost:80", "localhost", 80},
        {"LocalHost:80", "localhost", 80},
        {"[::1]:4243", "::1", 4243},
        {"[::]:0", "::", 0},
        {"[2001:db8::1]:8080", "2001:db8::1", 8080},
        {"[::ffff:127.0.0.1]:1", "::ffff:127.0.0.1", 1},
        {"127.0.0.1:08080", "127.0.0.1", 8080},
        {"127.0.0.1", NULL, 0},
        {"127.0.0.1:", NULL, 0},
        {":4243", NULL, 0},
        {"4243", NULL, 0},
        {"127.0.0.1:65536", NULL, 0},
        {"127.0.0.1:99999", NULL, 0},
        {"127.0.0.1:000080", NULL, 0},
        {"127.0.0.1:-1", NULL, 0},
        {"127.0.0.1:+80", NULL, 0},
        {"127.0.0.1:80x", NULL, 0},
        {"127.0.0.1:http", NULL, 0},
        {"127.0.0.1:80 ", NULL, 0},
        {" 127.0.0.1:80", NULL, 0},
        {"example.com:80", NULL, 0},
        {"localhost.:80", NULL, 0},
        {"256.0.0.1:80", NULL, 0},
        {"1.2.3:80", NULL, 0},
        {"::1:4243", NULL, 0},
        {"[::1]", NULL, 0},
        {"[::1]4243", NULL, 0},
        {"[::1]:", NULL, 0},
        {"[::1:4243", NULL, 0},
        {"[]:80", NULL, 0},
        {"[127.0.0.1]:80", NULL, 0},
        {"[fe80::1%eth0]:80", NULL, 0},
        {"[::1]:80:80", NULL, 0},
        {"[localhost]:80", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_config cfg;
        wr_error e;
        char *a[] = {"--listen", (char *)rows[i].v};
        wr_err err = load(&cfg, 2, a, &e);
        if (rows[i].host) {
            if (err != WR_OK)
                fail_msg("%s rejected: %s", rows[i].v, e.msg);
            assert_string_equal(cfg.serve.listen.host, rows[i].host);
            assert_int_equal(cfg.serve.listen.port, rows[i].port);
        } else {
            if (err != WR_ERR_INVALID)
                fail_msg("%s accepted", rows[i].v);
            assert_string_equal(e.msg, "--listen: must be HOST:PORT with HOST an IPv4 address, "
                                       "localhost or [IPv6 address] and PORT 0-65535");
        }
        wr_config_fini(&cfg);
    }
}

/* Each module registers its own table; together they name every flag and variable once. */
static void
test_tables_name_each_option_once(void **state)
{
    (void)state;
    const char *seen[256];
    size_t n = 0;
    for (size_t t = 0; t < wr_config_n_tables; t++) {
        const wr_opt_table *tab = wr_config_tables[t];
        assert_true(tab->n_opts > 0);
        for (size_t i = 0; i < tab->n_opts; i++) {
            const wr_opt *o = &tab->opts[i];
            assert_true(o->flag || o->env);
            assert_non_null(o->help);
            assert_true(o->kind != WR_OPT_CUSTOM || o->parse != NULL);
            const char *names[2] = {o->flag, o->env};
            for (int k = 0; k < 2; k++) {
                if (names[k] == NULL)
                    continue;
                for (size_t j = 0; j < n; j++)
                    if (strcmp(seen[j], names[k]) == 0)
                        fail_msg("%s is declared twice", names[k]);
                assert_true(n < sizeof(seen) / sizeof(seen[0]));
                seen[n++] = names[k];
            }
        }
    }
}

static void
test_help_lists_every_option(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    wr_config_print_help(f);
    fclose(f);
    static const char *must[] = {
        "--listen HOST:PORT",
        "WEIR_LISTEN",
        "127.0.0.1:4243",
        "--data-dir DIR",
        "WEIR_DATA_DIR",
        "./data",
        "--log-level LEVEL",
        "WEIR_LOG_LEVEL",
        "--no-cors\n",
        "WEIR_NO_CORS",
        "--max-connections N",
        "WEIR_MAX_CONNECTIONS, default 10000",
        "--max-header-bytes SIZE",
        "WEIR_MAX_HEADER_BYTES, default 16KiB",
        "--max-body-bytes SIZE",
        "WEIR_MAX_BODY_BYTES, default 8MiB",
        "--header-timeout DURATION",
        "WEIR_HEADER_TIMEOUT, default 10s",
        "--idle-timeout DURATION",
        "WEIR_IDLE_TIMEOUT, default 60s",
        "--shutdown-timeout DURATION",
        "WEIR_SHUTDOWN_TIMEOUT, default 10s",
        "--append-inflight-bytes SIZE",
        "WEIR_APPEND_INFLIGHT_BYTES, default 128MiB",
        "--console on|off",
        "WEIR_CONSOLE, default on",
        "--help",
    };
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        if (strstr(text, must[i]) == NULL)
            fail_msg("help lacks \"%s\"", must[i]);
    free(text);
}

WR_TEST_MAIN(cmocka_unit_test_setup(test_defaults, clear_env),
             cmocka_unit_test_setup(test_precedence, clear_env),
             cmocka_unit_test_setup(test_help, clear_env),
             cmocka_unit_test_setup(test_argument_errors, clear_env),
             cmocka_unit_test_setup(test_values_by_flag_and_env, clear_env),
             cmocka_unit_test_setup(test_console_switch, clear_env),
             cmocka_unit_test_setup(test_exact_messages_from_brief, clear_env),
             cmocka_unit_test_setup(test_log_level_values, clear_env),
             cmocka_unit_test_setup(test_bool_values, clear_env),
             cmocka_unit_test_setup(test_listen, clear_env),
             cmocka_unit_test_setup(test_help_lists_every_option, clear_env),
             cmocka_unit_test(test_tables_name_each_option_once))
