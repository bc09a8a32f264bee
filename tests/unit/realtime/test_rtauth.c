/*
 * test_rtauth.c — what a public token's scopes grant (wr_rt_allowed, realtime/rtauth.c), as a
 * table: exact ids, any of several ids (a session by id or externalId), kind-wide scopes,
 * read:all / write:all / admin, and near misses that must not match (prefixes of ids, another
 * kind, another action, malformed entries). A secret-key caller may do everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "realtime/rt_int.h"
#include "support/test_main.h"

typedef struct row {
    const char *scopes; /* JSON array */
    const char *action, *kind;
    const char *ids[2];
    bool want;
} row;

static const row rows[] = {
    {"[\"read:sessions:chat-1\"]", "read", "sessions", {"chat-1", NULL}, true},
    {"[\"read:sessions:chat-1\"]", "read", "sessions", {"session_x", "chat-1"}, true},
    {"[\"read:sessions:chat-1\"]", "read", "sessions", {"chat-2", NULL}, false},
    {"[\"read:sessions:chat-1\"]", "read", "sessions", {"chat-", NULL}, false},
    {"[\"read:sessions:chat\"]", "read", "sessions", {"chat-1", NULL}, false},
    {"[\"read:sessions:chat-1\"]", "write", "sessions", {"chat-1", NULL}, false},
    {"[\"write:sessions:chat-1\"]", "write", "sessions", {"chat-1", NULL}, true},
    {"[\"write:sessions:chat-1\"]", "read", "sessions", {"chat-1", NULL}, false},
    {"[\"read:sessions\"]", "read", "sessions", {"anything", NULL}, true},
    {"[\"read:sessions\"]", "read", "runs", {"run_1", NULL}, false},
    {"[\"read:sessionsX\"]", "read", "sessions", {"chat-1", NULL}, false},
    {"[\"read:all\"]", "read", "runs", {"run_1", NULL}, true},
    {"[\"read:all\"]", "write", "inputStreams", {"run_1", NULL}, false},
    {"[\"write:all\"]", "write", "inputStreams", {"run_1", NULL}, true},
    {"[\"admin\"]", "write", "sessions", {"chat-1", NULL}, true},
    {"[\"read:runs:run_1\"]", "read", "runs", {"run_1", NULL}, true},
    {"[\"read:runs:run_1\"]", "read", "runs", {"run_12", NULL}, false},
    {"[\"read:runs:run_1\"]", "read", "sessions", {"run_1", NULL}, false},
    {"[\"write:inputStreams:run_1\"]", "write", "inputStreams", {"run_1", NULL}, true},
    {"[\"write:inputStreams:run_1\"]", "read", "runs", {"run_1", NULL}, false},
    {"[]", "read", "sessions", {"chat-1", NULL}, false},
    {"[1, null, {\"a\":1}]", "read", "sessions", {"chat-1", NULL}, false},
    {"[\"read:sessions:\"]", "read", "sessions", {"", NULL}, true},
    {"[\"read:sessions:a:b\"]", "read", "sessions", {"a:b", NULL}, true},
    {"[\"read:sessions:a\", \"write:sessions:b\"]", "write", "sessions", {"b", NULL}, true},
    {"[\"read:sessions:a\"]", "read", "sessions", {NULL, "a"}, true},
};

static void
test_scope_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *r = &rows[i];
        wr_rt_caller c = {.public_token = true};
        c.scopes = json_loads(r->scopes, 0, NULL);
        assert_non_null(c.scopes);
        bool got = wr_rt_allowed(&c, r->action, r->kind, r->ids, 2);
        if (got != r->want)
            fail_msg("row %zu: %s %s:%s %s → %d, want %d", i, r->scopes, r->action, r->kind,
                     r->ids[0] ? r->ids[0] : "(null)", got, r->want);
        wr_rt_caller_fini(&c);
    }
}

static void
test_secret_key_may_do_anything(void **state)
{
    (void)state;
    wr_rt_caller c = {.public_token = false};
    const char *ids[1] = {"x"};
    assert_true(wr_rt_allowed(&c, "write", "sessions", ids, 1));
    assert_true(wr_rt_allowed(&c, "read", "runs", ids, 1));
}

WR_TEST_MAIN(cmocka_unit_test(test_scope_table), cmocka_unit_test(test_secret_key_may_do_anything))
