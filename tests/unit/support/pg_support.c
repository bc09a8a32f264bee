/*
 * pg_support.c — PostgreSQL for unit tests (pg_support.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "support/pg_support.h"

const char *
ts_pg_server(void)
{
    const char *s = getenv("WEIR_TEST_PG");
    return s && s[0] ? s : NULL;
}

int
ts_pg_skip(const char *what)
{
    const char *req = getenv("WEIR_REQUIRE_PG");
    if (req && strcmp(req, "1") == 0) {
        printf("[  FAILED  ] %s: WEIR_TEST_PG is not set but WEIR_REQUIRE_PG=1 (run under "
               "scripts/pg-test.sh)\n",
               what);
        return 1;
    }
    printf("[  SKIPPED ] %s: WEIR_TEST_PG is not set, PostgreSQL NOT tested (run under "
           "scripts/pg-test.sh, as `make unit` does)\n",
           what);
    return 0;
}

PGconn *
ts_pg_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect %s: %s", conninfo, PQerrorMessage(c));
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

void
ts_pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        PQclear(r);
        fail_msg("%s: %s", sql, msg);
    }
    PQclear(r);
}

long long
ts_pg_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 1) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        PQclear(r);
        fail_msg("%s: %s", sql, msg);
    }
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

const char *
ts_pg_fails(PGconn *c, const char *sql)
{
    static char state[8];
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(state, sizeof(state), "%s",
             st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? ""
             : s                                             ? s
                                                             : "?????");
    PQclear(r);
    return state;
}

void
ts_pg_schema_new(char *out, size_t cap)
{
    const char *server = ts_pg_server();
    assert_non_null(server);
    static unsigned counter;
    char schema[64];
    snprintf(schema, sizeof(schema), "weir_t_%ld_%u", (long)getpid(), counter++);
    PGconn *c = ts_pg_connect(server);
    char sql[200];
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
             schema);
    ts_pg_exec(c, sql);
    PQfinish(c);
    int n = snprintf(out, cap, "%s options=-csearch_path=%s application_name=%s", server, schema,
                     schema);
    assert_true(n > 0 && (size_t)n < cap);
}

const char *
ts_pg_schema_name(const char *conninfo)
{
    static char name[64];
    const char *p = strstr(conninfo, "search_path=");
    assert_non_null(p);
    p += strlen("search_path=");
    size_t n = strcspn(p, " ");
    assert_true(n < sizeof(name));
    memcpy(name, p, n);
    name[n] = '\0';
    return name;
}

void
ts_pg_schema_drop(const char *conninfo)
{
    /* A test that failed half-way may have left a handle open in a transaction holding locks on
     * the schema: end its sessions first (they carry the schema's name), then drop; never wait
     * forever. */
    const char *schema = ts_pg_schema_name(conninfo);
    char sql[400];
    snprintf(sql, sizeof(sql),
             "SET lock_timeout = '30s'; SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name LIKE '%s%%' AND pid <> pg_backend_pid(); "
             "DROP SCHEMA IF EXISTS %s CASCADE",
             schema, schema);
    PGconn *c = ts_pg_connect(ts_pg_server());
    ts_pg_exec(c, sql);
    PQfinish(c);
}
