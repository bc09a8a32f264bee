/*
 * pg_support.h — PostgreSQL for unit tests: the throw-away server scripts/pg-test.sh starts
 * (its connection string in WEIR_TEST_PG) and one fresh schema per test, so tests running in
 * parallel on one server never see each other's rows.
 *
 * Without WEIR_TEST_PG the PostgreSQL tests do not run: ts_pg_skip says so on stdout, and fails
 * (returns nonzero) when WEIR_REQUIRE_PG=1, as `make unit` sets it, so that a missing server is
 * never mistaken for a pass.
 */
#ifndef WR_TEST_PG_SUPPORT_H
#define WR_TEST_PG_SUPPORT_H

#include <libpq-fe.h>
#include <stddef.h>

/* The server's connection string (WEIR_TEST_PG), or NULL when it is not set. */
const char *ts_pg_server(void);

/* Call when ts_pg_server() is NULL: prints "<what>: SKIPPED (...)" and returns 0, or, with
 * WEIR_REQUIRE_PG=1, prints why it fails and returns 1 (a count of failed groups). */
int ts_pg_skip(const char *what);

/* Creates a fresh, empty schema on the server and writes into `out` (cap bytes) a connection
 * string whose search_path is that schema and whose application_name is the schema's name
 * (so a test can find its own sessions in pg_stat_activity). Fails the test if it cannot. */
void ts_pg_schema_new(char *out, size_t cap);
/* Drops the schema a ts_pg_schema_new connection string names, with everything in it. */
void ts_pg_schema_drop(const char *conninfo);
/* The schema name inside such a connection string (a static buffer). */
const char *ts_pg_schema_name(const char *conninfo);

/* A raw libpq connection; fails the test if it cannot connect. Close with PQfinish. */
PGconn *ts_pg_connect(const char *conninfo);
/* Runs sql, failing the test unless it succeeds. */
void ts_pg_exec(PGconn *c, const char *sql);
/* The integer a one-row, one-column query returns; fails the test otherwise. */
long long ts_pg_int(PGconn *c, const char *sql);
/* The SQLSTATE sql fails with ("" when it succeeds). A static buffer. */
const char *ts_pg_fails(PGconn *c, const char *sql);

#endif
