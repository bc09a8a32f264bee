/*
 * postgres.c — the PostgreSQL backend of the control-plane store (see meta.h, meta_int.h), for
 * deployments where several weir nodes share one control plane.
 *
 * WHAT IT KEEPS TRUE.
 *   - One handle is one libpq connection, used by one thread at a time (the server opens one for
 *     the writer thread and one for the loop's reads). Statements whose plan may be kept
 *     (stmt_kept) are prepared on the connection on first use (PQprepare) and run with
 *     PQexecPrepared; the others are sent unnamed (PQexecParams) and planned on every call. Text
 *     parameters, except the key hash and sealed key, which go as binary BYTEA; results come
 *     back as text (BYTEA as hex).
 *     synchronous_commit is set to on for the session, so a change is durable on the server (its
 *     WAL flushed) before the call that made it returns, or, in a group, before COMMIT returns.
 *   - The schema is the result of the numbered migrations (postgres_sql.c), applied in order at
 *     open, all pending ones in one transaction under a transaction-scoped advisory lock (so two
 *     nodes opening an empty database at once do not both apply them), each recorded in
 *     schema_migrations(version, applied_at_ms). That list is separate from sqlite.c's (the two
 *     dialects differ) but both backends must keep the same semantics: a change to one list gets
 *     its counterpart in the other. An applied migration is never edited; a database whose newest
 *     version this binary does not know (written by a newer weir) is refused.
 *   - Every change is one transaction: a single statement, or BEGIN … COMMIT. In a group
 *     (wr_meta_group) the transaction is the group's, and every change, even a single statement,
 *     runs inside SAVEPOINT op: PostgreSQL aborts the whole transaction on any failed statement
 *     unless a savepoint is rolled back to, so a failed change undoes exactly itself.
 *   - Round trips. Inside a group the savepoint statements (SAVEPOINT, RELEASE, ROLLBACK TO) are
 *     not sent on their own: they wait (`defer`) and go to the server in one pipeline (libpq
 *     pipeline mode) with the next statement that needs an answer, so a one-statement change
 *     costs one round trip, not five. A savepoint still waiting when it is released or rolled
 *     back to had nothing after it: both are dropped. COMMIT drops what waits (it releases every
 *     savepoint). The server runs a pipeline's statements in order and stops at the first
 *     failure (the rest come back PIPELINE_ABORTED), so the outcome is the same as one by one.
 *   - Stamps, completions and closes are write-once: no statement here changes a stamp, and
 *     migration 2 adds triggers (PL/pgSQL, RAISE) that refuse any other attempt.
 *   - Ordering matches SQLite's: text keys compare bytewise (COLLATE "C"), and runs and run
 *     streams carry an identity column (`seq`) that stands for SQLite's rowid (creation order).
 *   - Unlike SQLite, a failed write or COMMIT does not put the handle in a failed state: the
 *     server guarantees that a transaction either committed completely or not at all, so the
 *     handle goes on. There is no local file whose state could be unknown.
 *   - Connection loss: every call first reads what the server sent while the handle was idle, so
 *     a server that restarted or terminated the session is noticed before anything is sent. A
 *     call that finds the connection broken resets it once (PQreset; the prepared statements are
 *     made again on first use) — except inside a group, whose transaction died with the
 *     connection: its remaining steps fail with UNAVAILABLE until COMMIT/ABORT. A read, or
 *     the BEGIN of a change, that loses the connection is retried once on a fresh one (nothing
 *     had happened). A change that loses the connection fails with UNAVAILABLE when it was inside
 *     a transaction that had not committed (the server rolls it back), and with STORAGE when a
 *     commit was in flight (an autocommit statement or COMMIT): it may or may not have happened.
 *   - A call never returns with a transaction of its own open: outside a group every error path
 *     rolls back, and a call that finds a transaction left open (it should not happen) rolls it
 *     back first.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/postgres_int.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/mem.h"

/* ---- statements ----------------------------------------------------------------------------- */

static const char *const stmt_sql[] = {
#define STMT_SQL(name, writes, sql) sql,
    STMT_MAP(STMT_SQL)
#undef STMT_SQL
};

static const bool stmt_writes[] = {
#define STMT_WRITES(name, writes, sql) (writes),
    STMT_MAP(STMT_WRITES)
#undef STMT_WRITES
};

/*
 * Statements whose plan may be kept: prepared once per connection, so that PostgreSQL's plan
 * cache switches them to a generic plan after five runs and stops planning them. Each has one
 * sensible plan whatever its parameters and the tables' sizes: an insert or a function call, or a
 * look-up by a whole primary or unique key that no other index begins with. Every other
 * statement is sent unnamed and planned for its parameters on every call: a generic plan made
 * while a table was nearly empty can pick the wrong index — made on an empty `sessions`, the
 * look-up by external id used the (env_id, created_at_ms, id) index, a scan of the
 * environment's whole index per call (14.7 million index entries read for 6,953 look-ups in
 * 8 s), kept until the next ANALYZE of the table. Planning the hot statements on every call
 * instead cost ~30 % of session-create throughput (docs/benchmarks.md).
 */
static const bool stmt_kept[S__COUNT] = {
    [S_ORG_INSERT] = true,      [S_ORG_GET] = true,
    [S_ORG_GET_SLUG] = true,    [S_ORG_SET_PLAN] = true,
    [S_ORG_SET_BASIN] = true,   [S_PROJECT_INSERT] = true,
    [S_PROJECT_GET] = true,     [S_ENV_INSERT] = true,
    [S_ENV_GET] = true,         [S_ENV_BY_HASH] = true,
    [S_ENV_ORG_BY_HASH] = true, [S_ENV_ORG_GET] = true,
    [S_ENV_SET_KEY] = true,     [S_RUN_INSERT] = true,
    [S_RUN_EXISTS] = true,      [S_RUN_COMPLETE] = true,
    [S_RUN_STREAM_ADD] = true,  [S_RUN_STREAM_HAS] = true,
    [S_SESSION_CREATE] = true,  [S_SESSION_CREATE_BULK] = true,
    [S_SESSION_EXISTS] = true,  [S_SESSION_CLOSE] = true,
    [S_SESSION_SWAP] = true,    [S_PART_CLAIM] = true,
    [S_PART_GET] = true,
};

typedef wr_meta_pg_params params;

typedef struct pg {
    wr_meta base; /* first: a wr_meta * is a pg * */
    PGconn *conn;
    char server[128];        /* "host:port", for messages */
    bool prepared[S__COUNT]; /* statement i is prepared on this connection */
    bool tx;                 /* an operation's own BEGIN is open (outside a group) */
    bool op;                 /* inside a group: the operation's SAVEPOINT op is open */
    bool op_on_job;          /* … or the op is its job's first: SAVEPOINT job marks its start */
    bool group, job;         /* wr_meta_group state */
    const char *defer[8];    /* savepoint statements waiting for the next round trip (group) */
    size_t n_defer;
    bool ended; /* the server sent FATAL while we were idle: the session is over */
} pg;

static pg *
PG(wr_meta *m)
{
    return (pg *)m;
}

/* ---- connection and errors ------------------------------------------------------------------ */

/* Copies libpq's message without its trailing newline. */
static void
trim_msg(const char *msg, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s", msg ? msg : "");
    size_t n = strlen(dst);
    while (n && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = '\0';
}

static bool
conn_ok(const pg *q)
{
    return PQstatus(q->conn) == CONNECTION_OK;
}

/*
 * Maps a failed statement to a wr_err: a lost connection → UNAVAILABLE, or STORAGE when a commit
 * was in flight (`in_doubt`); unique violations (23505) → RESOURCE_ALREADY_EXISTS; foreign-key
 * violations (23503: the parent row is missing) → NOT_FOUND; a deadlock (40P01) or serialization
 * failure (40001) → TRANSACTION_CONFLICT (the statement was undone and may be retried: the writer
 * runs such a job again); anything else, the write-once triggers' RAISE (P0001) included →
 * STORAGE. `what` names the row being written, `parent` the row it refers to.
 */
static wr_err
fail(pg *q, const PGresult *res, bool in_doubt, const char *what, const char *parent,
     wr_error *out_err)
{
    char msg[200];
    trim_msg(res ? PQresultErrorMessage(res) : PQerrorMessage(q->conn), msg, sizeof(msg));
    if (!msg[0])
        trim_msg(PQerrorMessage(q->conn), msg, sizeof(msg));
    if (!conn_ok(q)) {
        if (in_doubt)
            return wr_error_set(out_err, WR_ERR_STORAGE,
                                "control-plane PostgreSQL server %s: connection lost while "
                                "committing (%s); the %s change may or may not have been made",
                                q->server, msg, what);
        return wr_error_set(out_err, WR_ERR_UNAVAILABLE,
                            "control-plane PostgreSQL server %s: connection lost (%s)", q->server,
                            msg);
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "23505") == 0)
        return wr_error_set(out_err, WR_ERR_RESOURCE_ALREADY_EXISTS, "%s already exists (%s)", what,
                            msg);
    if (state && strcmp(state, "23503") == 0)
        return wr_error_set(out_err, WR_ERR_NOT_FOUND, "%s not found", parent);
    if (state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0))
        return wr_error_set(out_err, WR_ERR_TRANSACTION_CONFLICT,
                            "%s: transaction conflict with another writer (%s)", what, msg);
    return wr_error_set(out_err, WR_ERR_STORAGE, "postgres (%s): %s", what, msg);
}

/* True when res is a successful command or query. */
static bool
res_ok(const PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Notices stay quiet (CREATE … IF NOT EXISTS must not print to our stderr), but a FATAL one
 * — the server ending an idle session: shutdown, pg_terminate_backend — marks the session over. */
static void
on_notice(void *arg, const PGresult *res)
{
    pg *q = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
        q->ended = true;
}

/* Whether the connection is still usable. Reads and parses what the server sent while we were
 * idle (never blocks), so a session the server ended is noticed before anything is sent. */
static bool
alive(pg *q)
{
    if (conn_ok(q) && PQconsumeInput(q->conn))
        PQisBusy(q->conn); /* parses: an error message now goes to on_notice */
    return conn_ok(q) && !q->ended;
}

/* Session settings every connection (and every reset one) needs. */
static wr_err
configure(pg *q, wr_error *out_err)
{
    PQsetNoticeReceiver(q->conn, on_notice, q);
    PGresult *res = PQexec(q->conn, "SET synchronous_commit = on; SET client_encoding = 'UTF8'; "
                                    "SET bytea_output = 'hex'; SET client_min_messages = warning; "
                                    "SET plan_cache_mode = auto"); /* see stmt_kept */
    wr_err err = res_ok(res) ? WR_OK : fail(q, res, false, "session settings", "", out_err);
    PQclear(res);
    return err;
}

/*
 * Makes sure the connection works before a call: a broken one is reset once (forgetting its
 * prepared statements). Inside a group the group's transaction died with the connection, so
 * nothing is reset until the group ends. Outside a group a transaction left open is rolled back.
 */
static wr_err
ready(pg *q, wr_error *out_err)
{
    if (alive(q)) {
        if (!q->group && PQtransactionStatus(q->conn) != PQTRANS_IDLE) {
            PGresult *res = PQexec(q->conn, "ROLLBACK");
            PQclear(res);
        }
        if (alive(q))
            return WR_OK;
    }
    if (q->group)
        return wr_error_set(out_err, WR_ERR_UNAVAILABLE,
                            "control-plane PostgreSQL server %s: connection lost; the group "
                            "transaction was rolled back",
                            q->server);
    PQreset(q->conn);
    memset(q->prepared, 0, sizeof(q->prepared));
    q->tx = q->op = q->ended = false;
    q->n_defer = 0;
    if (!conn_ok(q)) {
        char msg[160];
        trim_msg(PQerrorMessage(q->conn), msg, sizeof(msg));
        return wr_error_set(out_err, WR_ERR_UNAVAILABLE,
                            "control-plane PostgreSQL server %s is unreachable: %s", q->server,
                            msg);
    }
    return configure(q, out_err);
}

/* Whether a statement that just failed on a lost connection may run again on a fresh one:
 * nothing had happened (a read or a BEGIN, outside any transaction of ours). */
static bool
may_retry(pg *q, bool writes)
{
    return !writes && !q->group && !q->tx && !conn_ok(q);
}

static void
stmt_name(char name[16], int id)
{
    snprintf(name, 16, "s%d", id);
}

/*
 * One round trip: the deferred savepoint statements, then `ctl` (one control statement) or
 * prepared statement `id` with p (preparing it first if this connection has not), sent as one
 * pipeline. Returns the first failed result, else the last one; NULL when the connection broke
 * before any came back. The caller clears it.
 */
static PGresult *
pipeline(pg *q, const char *ctl, int id, const params *p)
{
    PGconn *c = q->conn;
    size_t n = q->n_defer;
    q->n_defer = 0;
    if (PQenterPipelineMode(c) != 1)
        return NULL;
    int sent = 0, prepare_at = -1;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++, sent++)
        ok = PQsendQueryParams(c, q->defer[i], 0, NULL, NULL, NULL, NULL, 0) == 1;
    if (ok && ctl) {
        ok = PQsendQueryParams(c, ctl, 0, NULL, NULL, NULL, NULL, 0) == 1;
        sent++;
    } else if (ok) {
        char name[16];
        stmt_name(name, id);
        if (!stmt_kept[id]) {
            ok = PQsendQueryParams(c, stmt_sql[id], p->n, NULL, p->v, p->len, p->fmt, 0) == 1;
            sent++;
        } else {
            if (!q->prepared[id]) {
                ok = PQsendPrepare(c, name, stmt_sql[id], p->n, NULL) == 1;
                prepare_at = sent++;
            }
            if (ok) {
                ok = PQsendQueryPrepared(c, name, p->n, p->v, p->len, p->fmt, 0) == 1;
                sent++;
            }
        }
    }
    ok = ok && PQpipelineSync(c) == 1;
    PGresult *keep = NULL; /* the first failure, else the latest result */
    for (int i = 0; ok && i < sent; i++) {
        PGresult *r;
        while ((r = PQgetResult(c)) != NULL) {
            if (i == prepare_at && res_ok(r))
                q->prepared[id] = true;
            if (!keep || res_ok(keep)) {
                PQclear(keep);
                keep = r;
            } else {
                PQclear(r);
            }
        }
        ok = conn_ok(q);
    }
    PGresult *r;
    while (ok && (r = PQgetResult(c)) != NULL) { /* up to the sync point */
        bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if (sync)
            break;
    }
    PQexitPipelineMode(c); /* a broken connection stays in it until the reset */
    return keep;
}

/* Whether `sql` is the last statement waiting (nothing was sent after it). */
static bool
waiting_last(const pg *q, const char *sql)
{
    return q->n_defer && strcmp(q->defer[q->n_defer - 1], sql) == 0;
}

/* Inside a group: savepoint statement `sql` waits for the next round trip. Releasing a savepoint
 * that is still waiting drops both: nothing ran after it. */
static void
defer(pg *q, const char *sql)
{
    if (q->n_defer && strncmp(sql, "RELEASE ", 8) == 0 &&
        strcmp(q->defer[q->n_defer - 1], sql + 8) == 0) {
        q->n_defer--;
        return;
    }
    if (q->n_defer == sizeof(q->defer) / sizeof(q->defer[0])) { /* not reached by our callers */
        PGresult *res = pipeline(q, q->defer[--q->n_defer], -1, NULL);
        PQclear(res);
    }
    q->defer[q->n_defer++] = sql;
}

/*
 * Runs prepared statement `id` (preparing it first if this connection has not). On success
 * *out_res is its result, which the caller clears; on failure *out_res is NULL and the mapped
 * error is returned (see fail()).
 */
static wr_err
exec_stmt(pg *q, int id, const params *p, const char *what, const char *parent, PGresult **out_res,
          wr_error *out_err)
{
    *out_res = NULL;
    char name[16];
    stmt_name(name, id);
    for (int attempt = 0;; attempt++) {
        PGresult *res = NULL;
        bool piped = q->n_defer > 0;
        if (piped) {
            res = pipeline(q, NULL, id, p);
        } else if (!stmt_kept[id]) {
            res = PQexecParams(q->conn, stmt_sql[id], p->n, NULL, p->v, p->len, p->fmt, 0);
        } else if (!q->prepared[id]) {
            res = PQprepare(q->conn, name, stmt_sql[id], p->n, NULL);
            q->prepared[id] = res_ok(res);
            if (q->prepared[id]) {
                PQclear(res);
                res = NULL;
            }
        }
        bool commits = stmt_writes[id] && !q->group && !q->tx;
        if (!piped && stmt_kept[id] && q->prepared[id])
            res = PQexecPrepared(q->conn, name, p->n, p->v, p->len, p->fmt, 0);
        if (res_ok(res)) {
            *out_res = res;
            return WR_OK;
        }
        if (attempt == 0 && may_retry(q, stmt_writes[id])) {
            PQclear(res);
            wr_err err = ready(q, out_err); /* UNAVAILABLE when the server is still away */
            if (err == WR_OK)
                continue;
            return err;
        }
        wr_err err = fail(q, res, commits, what, parent, out_err);
        PQclear(res);
        return err;
    }
}

/*
 * Runs one statement without parameters or rows (BEGIN, ROLLBACK TO …), after the deferred ones.
 * `commit`: it is a COMMIT, whose success is checked by its tag (a COMMIT of a failed transaction
 * answers ROLLBACK).
 */
static wr_err
exec_ctl(pg *q, const char *sql, bool commit, wr_error *out_err)
{
    PGresult *res = q->n_defer ? pipeline(q, sql, -1, NULL) : PQexec(q->conn, sql);
    if (!res_ok(res) && strcmp(sql, "BEGIN") == 0 && may_retry(q, false)) {
        PQclear(res);
        wr_err err = ready(q, out_err);
        if (err != WR_OK)
            return err;
        res = PQexec(q->conn, sql);
    }
    wr_err err = WR_OK;
    if (!res_ok(res))
        err = fail(q, res, commit, commit ? "commit" : sql, "", out_err);
    else if (commit && strcmp(PQcmdStatus(res), "COMMIT") != 0)
        err = wr_error_set(out_err, WR_ERR_STORAGE,
                           "postgres: the transaction was rolled back instead of committed");
    PQclear(res);
    return err;
}

/* ---- an operation's transaction ------------------------------------------------------------- */

/*
 * Opens the operation's transaction. In a group: SAVEPOINT op, even for one statement (a failed
 * statement would otherwise abort the group). Outside one: BEGIN when the operation runs several
 * statements (`multi`); a single statement commits on its own.
 */
static wr_err
op_begin(pg *q, bool multi, wr_error *out_err)
{
    wr_err err = ready(q, out_err);
    if (err != WR_OK)
        return err;
    if (q->group) {
        /* Nothing of the job ran yet (its savepoint still waits): undoing the op is undoing to
         * the job's savepoint, so the op needs none of its own (two statements fewer). */
        q->op_on_job = waiting_last(q, "SAVEPOINT job");
        if (!q->op_on_job)
            defer(q, "SAVEPOINT op");
        q->op = true;
    } else if (multi) {
        err = exec_ctl(q, "BEGIN", false, out_err);
        q->tx = err == WR_OK;
    }
    return err;
}

/*
 * Inside a group: undoes everything since savepoint `op` or `job` and drops it, in one round trip
 * (nothing to send when that savepoint is still waiting: nothing ran after it).
 */
static wr_err
undo_savepoint(pg *q, bool job, wr_error *out_err)
{
    const char *sql = job ? "SAVEPOINT job" : "SAVEPOINT op";
    if (waiting_last(q, sql)) {
        q->n_defer--;
        return WR_OK;
    }
    defer(q, job ? "ROLLBACK TO SAVEPOINT job" : "ROLLBACK TO SAVEPOINT op");
    return exec_ctl(q, job ? "RELEASE SAVEPOINT job" : "RELEASE SAVEPOINT op", false, out_err);
}

/* Undoes the operation's open transaction or savepoint, if any. */
static void
op_rollback(pg *q)
{
    if (q->op && q->op_on_job && conn_ok(q)) {
        /* back to the job's start; the job's savepoint stays (ROLLBACK TO keeps it) */
        if (!waiting_last(q, "SAVEPOINT job"))
            exec_ctl(q, "ROLLBACK TO SAVEPOINT job", false, NULL);
    } else if (q->op && conn_ok(q)) {
        undo_savepoint(q, false, NULL);
    } else if (q->tx && conn_ok(q)) {
        PGresult *res = PQexec(q->conn, "ROLLBACK");
        PQclear(res);
    }
    q->op = q->tx = false;
}

/* Ends the operation: keeps it when err is WR_OK (its COMMIT or RELEASE), else undoes it.
 * Returns err, or the error of the commit. */
static wr_err
op_end(pg *q, wr_err err, wr_error *out_err)
{
    if (err == WR_OK && q->op) {
        if (!q->op_on_job)
            defer(q, "RELEASE SAVEPOINT op");
        q->op = false;
    } else if (err == WR_OK && q->tx) {
        err = exec_ctl(q, "COMMIT", true, out_err);
        q->tx = err != WR_OK;
    }
    op_rollback(q);
    return err;
}

/* ---- result columns ------------------------------------------------------------------------- */

/* Copies text column c of row r into dst (cap bytes, always terminated); false for NULL. */
static bool
col_copy(const PGresult *res, int r, int c, char *dst, size_t cap)
{
    if (PQgetisnull(res, r, c)) {
        dst[0] = '\0';
        return false;
    }
    size_t n = (size_t)PQgetlength(res, r, c);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, PQgetvalue(res, r, c), n);
    dst[n] = '\0';
    return true;
}

static char *
col_dup(const PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c))
        return NULL;
    return wr_xstrndup(PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
}

static bool
col_null(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) != 0;
}

static uint64_t
col_u64(const PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c))
        return 0;
    return (uint64_t)strtoll(PQgetvalue(res, r, c), NULL, 10);
}

/* Decodes BYTEA column c (hex output: "\x0a1b…") into dst; returns the byte count, or 0 when the
 * value is NULL, malformed or longer than cap. */
static size_t
col_bytes(const PGresult *res, int r, int c, uint8_t *dst, size_t cap)
{
    if (PQgetisnull(res, r, c))
        return 0;
    const char *s = PQgetvalue(res, r, c);
    size_t len = (size_t)PQgetlength(res, r, c);
    if (len < 2 || s[0] != '\\' || s[1] != 'x' || (len - 2) % 2 != 0 || (len - 2) / 2 > cap)
        return 0;
    size_t n = (len - 2) / 2;
    for (size_t i = 0; i < n; i++) {
        int hi = wr_hex_digit(s[2 + 2 * i]), lo = wr_hex_digit(s[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return 0;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return n;
}

/* ---- row readers (column order as in *_COLS) ------------------------------------------------ */

typedef void (*reader_fn)(const PGresult *res, int r, void *out);

/* ORG_COLS from column c on. */
static void
read_org_at(const PGresult *res, int r, int c, wr_org *o)
{
    memset(o, 0, sizeof(*o));
    col_copy(res, r, c, o->id, sizeof(o->id));
    col_copy(res, r, c + 1, o->slug, sizeof(o->slug));
    col_copy(res, r, c + 2, o->title, sizeof(o->title));
    col_copy(res, r, c + 3, o->plan, sizeof(o->plan));
    o->has_basin = col_copy(res, r, c + 4, o->basin, sizeof(o->basin));
    o->created_at_ms = col_u64(res, r, c + 5);
    o->updated_at_ms = col_u64(res, r, c + 6);
}

static void
read_org(const PGresult *res, int r, void *out)
{
    read_org_at(res, r, 0, out);
}

static void
read_project(const PGresult *res, int r, void *out)
{
    wr_project *p = out;
    memset(p, 0, sizeof(*p));
    col_copy(res, r, 0, p->id, sizeof(p->id));
    col_copy(res, r, 1, p->slug, sizeof(p->slug));
    col_copy(res, r, 2, p->org_id, sizeof(p->org_id));
    p->created_at_ms = col_u64(res, r, 3);
}

static void
read_env(const PGresult *res, int r, void *out)
{
    wr_env *e = out;
    memset(e, 0, sizeof(*e));
    col_copy(res, r, 0, e->id, sizeof(e->id));
    col_copy(res, r, 1, e->slug, sizeof(e->slug));
    col_copy(res, r, 2, e->project_id, sizeof(e->project_id));
    col_copy(res, r, 3, e->org_id, sizeof(e->org_id));
    uint8_t h[32];
    if (col_bytes(res, r, 4, h, sizeof(h)) == sizeof(h))
        memcpy(e->key_hash, h, sizeof(h));
    e->created_at_ms = col_u64(res, r, 5);
    e->key_enc_len = col_bytes(res, r, 6, e->key_enc, sizeof(e->key_enc));
}

static void
read_run(const PGresult *res, int r, void *out)
{
    wr_run *x = out;
    memset(x, 0, sizeof(*x));
    col_copy(res, r, 0, x->id, sizeof(x->id));
    col_copy(res, r, 1, x->env_id, sizeof(x->env_id));
    col_copy(res, r, 2, x->task_identifier, sizeof(x->task_identifier));
    x->has_parent = col_copy(res, r, 3, x->parent_run_id, sizeof(x->parent_run_id));
    col_copy(res, r, 4, x->root_run_id, sizeof(x->root_run_id));
    x->completed = !col_null(res, r, 5);
    x->completed_at_ms = col_u64(res, r, 5);
    x->has_basin = col_copy(res, r, 6, x->basin, sizeof(x->basin));
    x->created_at_ms = col_u64(res, r, 7);
}

static void
read_session(const PGresult *res, int r, void *out)
{
    wr_session *s = out;
    memset(s, 0, sizeof(*s));
    col_copy(res, r, 0, s->id, sizeof(s->id));
    col_copy(res, r, 1, s->env_id, sizeof(s->env_id));
    s->has_external_id = col_copy(res, r, 2, s->external_id, sizeof(s->external_id));
    col_copy(res, r, 3, s->type, sizeof(s->type));
    col_copy(res, r, 4, s->task_identifier, sizeof(s->task_identifier));
    s->metadata_json = col_dup(res, r, 5);
    s->tags_json = col_dup(res, r, 6);
    s->closed = !col_null(res, r, 7);
    s->closed_at_ms = col_u64(res, r, 7);
    col_copy(res, r, 8, s->closed_reason, sizeof(s->closed_reason));
    s->expires_at_ms = col_u64(res, r, 9);
    s->has_basin = col_copy(res, r, 10, s->basin, sizeof(s->basin));
    s->created_at_ms = col_u64(res, r, 11);
    col_copy(res, r, 12, s->stream_key, sizeof(s->stream_key));
    s->trigger_config_json = col_dup(res, r, 13);
    s->has_current_run = col_copy(res, r, 14, s->current_run_id, sizeof(s->current_run_id));
    s->updated_at_ms = col_u64(res, r, 15);
}

/* ---- generic shapes ------------------------------------------------------------------------- */

/* Runs a bound write (insert/update) and maps its result; *out_changed (may be NULL) gets the
 * number of rows it changed. */
static wr_err
write_stmt(pg *q, int id, const params *p, const char *what, const char *parent, long *out_changed,
           wr_error *out_err)
{
    PGresult *res;
    wr_err err = exec_stmt(q, id, p, what, parent, &res, out_err);
    if (err != WR_OK)
        return err;
    if (out_changed)
        *out_changed = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return WR_OK;
}

/* Runs a bound single-row SELECT; fills out through `read` or returns NOT_FOUND. */
static wr_err
query_one(pg *q, int id, const params *p, reader_fn read, void *out, const char *what,
          const char *key, wr_error *out_err)
{
    PGresult *res;
    wr_err rc = exec_stmt(q, id, p, what, what, &res, out_err);
    if (rc != WR_OK)
        return rc;
    wr_err err = WR_OK;
    if (PQntuples(res) > 0)
        read(res, 0, out);
    else
        err = wr_error_set(out_err, WR_ERR_NOT_FOUND, "%s %s not found", what, key);
    PQclear(res);
    return err;
}

/* Reads every row of a result into a malloc'd array of `size`-byte elements (NULL when empty). */
static void
read_all(const PGresult *res, reader_fn read, size_t size, void **out, size_t *out_n)
{
    int n = PQntuples(res);
    char *v = n ? wr_xcalloc((size_t)n, size) : NULL;
    for (int i = 0; i < n; i++)
        read(res, i, v + (size_t)i * size);
    *out = v;
    *out_n = (size_t)n;
}

/* Runs a bound SELECT and reads all its rows (see read_all); on error *out stays NULL. */
static wr_err
query_all(pg *q, int id, const params *p, reader_fn read, size_t size, const char *what, void **out,
          size_t *out_n, wr_error *out_err)
{
    *out = NULL;
    *out_n = 0;
    PGresult *res;
    wr_err rc = exec_stmt(q, id, p, what, what, &res, out_err);
    if (rc != WR_OK)
        return rc;
    read_all(res, read, size, out, out_n);
    PQclear(res);
    return WR_OK;
}

/* Whether "SELECT 1 …" statement id with p finds a row (*found). */
static wr_err
has_row(pg *q, int id, const params *p, const char *what, bool *found, wr_error *out_err)
{
    PGresult *res;
    wr_err rc = exec_stmt(q, id, p, what, what, &res, out_err);
    if (rc != WR_OK)
        return rc;
    *found = PQntuples(res) > 0;
    PQclear(res);
    return WR_OK;
}

/* WR_OK when "SELECT 1 … WHERE id = $1" finds the row, NOT_FOUND when not. */
static wr_err
exists(pg *q, int id_stmt, const char *id, const char *what, wr_error *out_err)
{
    params p = {0};
    p_text(&p, id);
    bool found;
    wr_err err = has_row(q, id_stmt, &p, what, &found, out_err);
    if (err == WR_OK && !found)
        err = wr_error_set(out_err, WR_ERR_NOT_FOUND, "%s %s not found", what, id);
    return err;
}

/* A read's connection check, then the read. */
#define READY()                                                                                    \
    do {                                                                                           \
        wr_err r_ = ready(q, out_err);                                                             \
        if (r_ != WR_OK)                                                                           \
            return r_;                                                                             \
    } while (0)

/* One write statement as a whole operation (a savepoint of its own inside a group). */
static wr_err
write_op(pg *q, int id, const params *p, const char *what, const char *parent, long *out_changed,
         wr_error *out_err)
{
    wr_error e = {0};
    wr_err err = op_begin(q, false, &e);
    if (err == WR_OK)
        err = write_stmt(q, id, p, what, parent, out_changed, &e);
    err = op_end(q, err, &e);
    if (err != WR_OK && out_err)
        *out_err = e;
    return err;
}

/* An UPDATE as a whole operation; NOT_FOUND when it matched no row. */
static wr_err
update_one(pg *q, int id, const params *p, const char *what, const char *key, wr_error *out_err)
{
    long changed = 0;
    wr_err err = write_op(q, id, p, what, what, &changed, out_err);
    if (err == WR_OK && changed == 0)
        err = wr_error_set(out_err, WR_ERR_NOT_FOUND, "%s %s not found", what, key);
    return err;
}

/* ---- organizations -------------------------------------------------------------------------- */

static wr_err
org_create(wr_meta *m, const wr_org *o, wr_error *out_err)
{
    params p = {0};
    p_text(&p, o->id);
    p_text(&p, o->slug);
    p_text(&p, o->title);
    p_text(&p, o->plan);
    p_opt_text(&p, o->has_basin, o->basin);
    p_u64(&p, o->created_at_ms);
    p_u64(&p, o->updated_at_ms);
    return write_op(PG(m), S_ORG_INSERT, &p, "organization", "organization", NULL, out_err);
}

static wr_err
get_by_key(pg *q, int id, const char *key, reader_fn read, void *out, const char *what,
           wr_error *out_err)
{
    READY();
    params p = {0};
    p_text(&p, key);
    return query_one(q, id, &p, read, out, what, key, out_err);
}

static wr_err
org_get(wr_meta *m, const char *id, wr_org *out, wr_error *out_err)
{
    return get_by_key(PG(m), S_ORG_GET, id, read_org, out, "organization", out_err);
}

static wr_err
org_get_by_slug(wr_meta *m, const char *slug, wr_org *out, wr_error *out_err)
{
    return get_by_key(PG(m), S_ORG_GET_SLUG, slug, read_org, out, "organization", out_err);
}

static wr_err
org_list(wr_meta *m, wr_org **out, size_t *out_n, wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    params p = {0};
    return query_all(q, S_ORG_LIST, &p, read_org, sizeof(**out), "organization", (void **)out,
                     out_n, out_err);
}

static wr_err
org_set_plan(wr_meta *m, const char *id, const char *plan, uint64_t now_ms, wr_error *out_err)
{
    params p = {0};
    p_text(&p, id);
    p_text(&p, plan);
    p_u64(&p, now_ms);
    return update_one(PG(m), S_ORG_SET_PLAN, &p, "organization", id, out_err);
}

static wr_err
org_set_basin(wr_meta *m, const char *id, const char *basin_or_null, uint64_t now_ms,
              wr_error *out_err)
{
    params p = {0};
    p_text(&p, id);
    p_text(&p, basin_or_null);
    p_u64(&p, now_ms);
    return update_one(PG(m), S_ORG_SET_BASIN, &p, "organization", id, out_err);
}

/* ---- projects and environments -------------------------------------------------------------- */

static wr_err
project_create(wr_meta *m, const wr_project *pr, wr_error *out_err)
{
    params p = {0};
    p_text(&p, pr->id);
    p_text(&p, pr->slug);
    p_text(&p, pr->org_id);
    p_u64(&p, pr->created_at_ms);
    return write_op(PG(m), S_PROJECT_INSERT, &p, "project", "organization", NULL, out_err);
}

static wr_err
project_get(wr_meta *m, const char *id, wr_project *out, wr_error *out_err)
{
    return get_by_key(PG(m), S_PROJECT_GET, id, read_project, out, "project", out_err);
}

static wr_err
env_create(wr_meta *m, const wr_env *e, wr_error *out_err)
{
    params p = {0};
    p_text(&p, e->id);
    p_text(&p, e->slug);
    p_text(&p, e->project_id);
    p_text(&p, e->org_id);
    p_bytes(&p, e->key_hash, sizeof(e->key_hash));
    p_u64(&p, e->created_at_ms);
    p_bytes(&p, e->key_enc, e->key_enc_len);
    return write_op(PG(m), S_ENV_INSERT, &p, "environment", "project", NULL, out_err);
}

static wr_err
env_get(wr_meta *m, const char *id, wr_env *out, wr_error *out_err)
{
    return get_by_key(PG(m), S_ENV_GET, id, read_env, out, "environment", out_err);
}

static wr_err
env_by_key_hash(wr_meta *m, const uint8_t hash[32], wr_env *out, wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    params p = {0};
    p_bytes(&p, hash, 32);
    return query_one(q, S_ENV_BY_HASH, &p, read_env, out, "environment", "for this key", out_err);
}

/* One statement: the environment's columns (ENV_COLS), then its organization's (ORG_COLS). */
static wr_err
env_and_org(wr_meta *m, const uint8_t *hash, const char *env_id, wr_env *out_env, wr_org *out_org,
            wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    params p = {0};
    if (hash)
        p_bytes(&p, hash, 32);
    else
        p_text(&p, env_id);
    PGresult *res;
    wr_err err = exec_stmt(q, hash ? S_ENV_ORG_BY_HASH : S_ENV_ORG_GET, &p, "environment",
                           "environment", &res, out_err);
    if (err != WR_OK)
        return err;
    if (PQntuples(res) > 0) {
        read_env(res, 0, out_env);
        read_org_at(res, 0, 7, out_org);
    } else {
        err = wr_error_set(out_err, WR_ERR_NOT_FOUND, "environment %s not found",
                           hash ? "for this key" : env_id);
    }
    PQclear(res);
    return err;
}

static wr_err
env_set_key(wr_meta *m, const char *id, const uint8_t hash[32], const uint8_t *key_enc,
            size_t enc_len, wr_error *out_err)
{
    params p = {0};
    p_text(&p, id);
    p_bytes(&p, hash, 32);
    p_bytes(&p, key_enc, enc_len);
    return update_one(PG(m), S_ENV_SET_KEY, &p, "environment", id, out_err);
}

/* ---- runs ----------------------------------------------------------------------------------- */

/* The run's columns (RUN_COLS order) as 8 parameters; all NULL for no run. */
static void
run_params(params *p, const wr_run *r)
{
    p_text(p, r ? r->id : NULL);
    p_text(p, r ? r->env_id : NULL);
    p_text(p, r ? r->task_identifier : NULL);
    p_opt_text(p, r && r->has_parent, r ? r->parent_run_id : NULL);
    p_text(p, r ? r->root_run_id : NULL);
    p_opt_u64(p, r && r->completed, r ? r->completed_at_ms : 0);
    p_opt_text(p, r && r->has_basin, r ? r->basin : NULL);
    p_opt_u64(p, r != NULL, r ? r->created_at_ms : 0);
}

/* The run's INSERT, inside whatever transaction is open. */
static wr_err
run_insert(pg *q, const wr_run *r, wr_error *out_err)
{
    params p = {0};
    run_params(&p, r);
    return write_stmt(q, S_RUN_INSERT, &p, "run", "environment", NULL, out_err);
}

static wr_err
run_create(wr_meta *m, const wr_run *r, wr_error *out_err)
{
    pg *q = PG(m);
    wr_error e = {0};
    wr_err err = op_begin(q, false, &e);
    if (err == WR_OK)
        err = run_insert(q, r, &e);
    err = op_end(q, err, &e);
    if (err != WR_OK && out_err)
        *out_err = e;
    return err;
}

static wr_err
run_get(wr_meta *m, const char *env_id, const char *id, wr_run *out, wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    params p = {0};
    p_text(&p, id);
    p_text(&p, env_id);
    return query_one(q, S_RUN_GET, &p, read_run, out, "run", id, out_err);
}

static wr_err
run_complete(wr_meta *m, const char *id, uint64_t at_ms, wr_error *out_err)
{
    pg *q = PG(m);
    params p = {0};
    p_text(&p, id);
    p_u64(&p, at_ms);
    long changed = 0;
    wr_err err = write_op(q, S_RUN_COMPLETE, &p, "run", "run", &changed, out_err);
    if (err == WR_OK && changed == 0) /* already completed, or missing */
        err = exists(q, S_RUN_EXISTS, id, "run", out_err);
    return err;
}

static wr_err
run_add_stream(wr_meta *m, const char *run_id, const char *stream_id, wr_error *out_err)
{
    params p = {0};
    p_text(&p, run_id);
    p_text(&p, stream_id);
    return write_op(PG(m), S_RUN_STREAM_ADD, &p, "run stream", "run", NULL, out_err);
}

static void
read_str(const PGresult *res, int r, void *out)
{
    *(char **)out = col_dup(res, r, 0);
}

static wr_err
run_has_stream(wr_meta *m, const char *run_id, const char *stream_id, bool *out, wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    params p = {0};
    p_text(&p, run_id);
    p_text(&p, stream_id);
    return has_row(q, S_RUN_STREAM_HAS, &p, "run stream", out, out_err);
}

static wr_err
run_streams(wr_meta *m, const char *run_id, char ***out, size_t *out_n, wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    wr_err err = exists(q, S_RUN_EXISTS, run_id, "run", out_err);
    if (err != WR_OK)
        return err;
    params p = {0};
    p_text(&p, run_id);
    return query_all(q, S_RUN_STREAM_LIST, &p, read_str, sizeof(**out), "run stream", (void **)out,
                     out_n, out_err);
}

static wr_err
run_list(wr_meta *m, const char *env_id, const char *after, size_t limit, wr_run_page *out,
         wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    params p = {0};
    p_text(&p, env_id);
    p_u64(&p, limit + 1); /* one more tells whether a next page exists */
    if (after)
        p_text(&p, after);
    void *items;
    size_t n;
    wr_err err = query_all(q, after ? S_RUN_LIST_AFTER : S_RUN_LIST, &p, read_run, sizeof(wr_run),
                           "run", &items, &n, out_err);
    if (err != WR_OK)
        return err;
    out->items = items;
    out->has_next = n > limit;
    out->n = n > limit ? limit : n;
    return WR_OK;
}

/* ---- sessions ------------------------------------------------------------------------------- */

static wr_err
session_by_id(pg *q, const char *env_id, const char *id, wr_session *out, wr_error *out_err)
{
    params p = {0};
    p_text(&p, id);
    p_text(&p, env_id);
    return query_one(q, S_SESSION_GET_ID, &p, read_session, out, "session", id, out_err);
}

static wr_err
session_by_external_id(pg *q, const char *env_id, const char *ext, wr_session *out,
                       wr_error *out_err)
{
    params p = {0};
    p_text(&p, env_id);
    p_text(&p, ext);
    return query_one(q, S_SESSION_GET_EXT, &p, read_session, out, "session", ext, out_err);
}

static wr_err
session_get_by_id(wr_meta *m, const char *env_id, const char *id, wr_session *out,
                  wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    return session_by_id(q, env_id, id, out, out_err);
}

static wr_err
session_get_by_external_id(wr_meta *m, const char *env_id, const char *external_id, wr_session *out,
                           wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    return session_by_external_id(q, env_id, external_id, out, out_err);
}

static wr_err
key_taken(pg *q, const char *env_id, const char *key, bool *out_taken, wr_error *out_err)
{
    params p = {0};
    p_text(&p, env_id);
    p_text(&p, key);
    PGresult *res;
    wr_err rc = exec_stmt(q, S_SESSION_KEY_TAKEN, &p, "session", "session", &res, out_err);
    if (rc != WR_OK)
        return rc;
    *out_taken = PQntuples(res) > 0;
    PQclear(res);
    return WR_OK;
}

static wr_err
session_stream_key_taken(wr_meta *m, const char *env_id, const char *key, bool *out_taken,
                         wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    return key_taken(q, env_id, key, out_taken, out_err);
}

/* SESSION_CREATE's 24 parameters: the session's columns in the function's order, then the
 * first run's (all NULL without one). */
static void
session_params(params *p, const wr_session *s, const wr_run *first_run)
{
    p_text(p, s->id);
    p_text(p, s->env_id);
    p_opt_text(p, s->has_external_id, s->external_id);
    p_text(p, s->type);
    p_text(p, s->task_identifier);
    p_text(p, s->metadata_json);
    p_text(p, s->tags_json);
    p_opt_u64(p, s->closed, s->closed_at_ms);
    p_opt_text(p, s->closed, s->closed_reason);
    p_opt_u64(p, s->expires_at_ms != 0, s->expires_at_ms);
    p_opt_text(p, s->has_basin, s->basin);
    p_u64(p, s->created_at_ms);
    p_text(p, s->stream_key);
    p_text(p, s->trigger_config_json);
    p_opt_text(p, s->has_current_run, s->current_run_id);
    p_u64(p, s->updated_at_ms);
    run_params(p, first_run);
}

/* Creates per statement of session_create_many, at most, and bytes of their JSON: a group of
 * large creates (metadata up to the body limit each) goes in several statements. */
#define CREATE_MANY_ITEMS 128
#define CREATE_MANY_BYTES (1u << 20)

/* The fallback of create_many_chunk for one create the bulk insert skipped: migration 3's
 * function, which returns the row that conflicted (or inserts under the session's own id). */
static wr_err
create_one(pg *q, const wr_meta_session_create *c, wr_error *out_err)
{
    params p = {0};
    session_params(&p, c->s, c->first_run);
    PGresult *res;
    wr_err err = exec_stmt(q, S_SESSION_CREATE, &p, "session", "environment", &res, out_err);
    if (err == WR_OK && PQntuples(res) != 1)
        err = wr_error_set(out_err, WR_ERR_STORAGE, "session create returned %d rows",
                           PQntuples(res));
    if (err == WR_OK) {
        read_session(res, 0, c->out);
        *c->out_created = strcmp(PQgetvalue(res, 0, PQnfields(res) - 1), "t") == 0;
    }
    PQclear(res);
    return err;
}

/*
 * One chunk of session_create_many, c[0..n): one statement inserts every create that conflicts
 * with nothing (and its first run) — the common case, without a function call per create; each
 * create it skipped then runs migration 3's function, in array order, which finds the row it
 * conflicted with (an existing externalId, also one inserted by this chunk) or inserts it under
 * its own stream key. Two creates of one externalId in a chunk thus give one row, as one by one
 * would. Fills the outs only when every create has its row (on an error none is filled).
 */
static wr_err
create_many_chunk(pg *q, const wr_meta_session_create *c, size_t n, wr_error *out_err)
{
    params *each = wr_xcalloc(n, sizeof(*each));
    for (size_t i = 0; i < n; i++)
        session_params(&each[i], c[i].s, c[i].first_run);
    wr_buf arrays[WR_META_PG_MAX_PARAMS] = {0};
    const char **col = wr_xcalloc(n, sizeof(*col));
    params p = {0};
    for (int k = 0; k < each[0].n; k++) {
        for (size_t i = 0; i < n; i++)
            col[i] = each[i].v[k];
        wr_meta_pg_array_literal(&arrays[k], col, n);
        p_text(&p, arrays[k].data);
    }
    free(col);
    free(each);
    PGresult *res;
    wr_err err = exec_stmt(q, S_SESSION_CREATE_BULK, &p, "session", "environment", &res, out_err);
    for (int k = 0; k < p.n; k++)
        wr_buf_fini(&arrays[k]);
    if (err != WR_OK)
        return err;
    int rows = PQntuples(res), kcol = PQnfields(res) - 1;
    bool *filled = wr_xcalloc(n, sizeof(*filled));
    if ((size_t)rows > n)
        err =
            wr_error_set(out_err, WR_ERR_STORAGE, "%zu session creates returned %d rows", n, rows);
    for (int r = 0; r < rows && err == WR_OK; r++) {
        long k = strtol(PQgetvalue(res, r, kcol), NULL, 10);
        if (k < 1 || (size_t)k > n || filled[k - 1]) {
            err = wr_error_set(out_err, WR_ERR_STORAGE, "session creates returned row %ld", k);
            break;
        }
        read_session(res, r, c[k - 1].out);
        *c[k - 1].out_created = true;
        filled[k - 1] = true;
    }
    PQclear(res);
    for (size_t i = 0; i < n && err == WR_OK; i++)
        if (!filled[i] && (err = create_one(q, &c[i], out_err)) == WR_OK)
            filled[i] = true;
    for (size_t i = 0; i < n && err != WR_OK; i++)
        if (filled[i])
            wr_session_fini(c[i].out);
    free(filled);
    return err;
}

/* One create (one statement: migration 3's weir_session_create; see there, the same steps as
 * sqlite.c's). */
static wr_err
session_create_or_get(wr_meta *m, const wr_session *s, const wr_run *first_run, wr_session *out,
                      bool *out_created, wr_error *out_err)
{
    pg *q = PG(m);
    wr_err err = op_begin(q, false, out_err);
    if (err != WR_OK)
        return err;
    wr_meta_session_create c = {
        .s = s, .first_run = first_run, .out = out, .out_created = out_created};
    err = create_one(q, &c, out_err);
    return op_end(q, err, out_err);
}

/* Several creates in one operation (one savepoint in a group), CREATE_MANY_ITEMS at a time. */
static wr_err
session_create_many(wr_meta *m, const wr_meta_session_create *c, size_t n, wr_error *out_err)
{
    pg *q = PG(m);
    wr_err err = op_begin(q, true, out_err); /* outside a group: one transaction for all */
    if (err != WR_OK)
        return err;
    size_t done = 0;
    while (err == WR_OK && done < n) {
        size_t k = 0, bytes = 0;
        do {
            const wr_session *s = c[done + k].s;
            bytes += 512 + (s->metadata_json ? strlen(s->metadata_json) : 0) +
                     (s->tags_json ? strlen(s->tags_json) : 0) +
                     (s->trigger_config_json ? strlen(s->trigger_config_json) : 0);
            k++;
        } while (done + k < n && k < CREATE_MANY_ITEMS && bytes < CREATE_MANY_BYTES);
        err = create_many_chunk(q, c + done, k, out_err);
        if (err == WR_OK)
            done += k;
    }
    for (size_t i = 0; i < done && err != WR_OK; i++) /* all or nothing */
        wr_session_fini(c[i].out);
    return op_end(q, err, out_err);
}

static wr_err
session_close(wr_meta *m, const char *id, const char *reason, uint64_t at_ms, bool *out_already,
              wr_error *out_err)
{
    pg *q = PG(m);
    params p = {0};
    p_text(&p, id);
    p_u64(&p, at_ms);
    p_text(&p, reason);
    long changed = 0;
    wr_err err = write_op(q, S_SESSION_CLOSE, &p, "session", "session", &changed, out_err);
    if (err == WR_OK && changed == 0) {
        err = exists(q, S_SESSION_EXISTS, id, "session", out_err);
        *out_already = err == WR_OK;
    }
    return err;
}

static wr_err
session_update(wr_meta *m, const char *env_id, const char *id, const wr_session_patch *pa,
               uint64_t now_ms, wr_error *out_err)
{
    params p = {0};
    p_text(&p, id);
    p_text(&p, env_id);
    p_bool(&p, pa->set_tags);
    p_opt_text(&p, pa->set_tags, pa->tags_json);
    p_bool(&p, pa->set_metadata);
    p_opt_text(&p, pa->set_metadata, pa->metadata_json);
    p_bool(&p, pa->set_external_id);
    p_opt_text(&p, pa->set_external_id, pa->external_id);
    p_u64(&p, now_ms);
    return update_one(PG(m), S_SESSION_UPDATE, &p, "session", id, out_err);
}

/* The compare-and-swap of current_run_id and the new run's insert are one transaction. */
static wr_err
session_swap_run(wr_meta *m, const char *id, const char *expected, const wr_run *run,
                 uint64_t now_ms, bool *out_swapped, wr_error *out_err)
{
    pg *q = PG(m);
    wr_err err = op_begin(q, true, out_err);
    if (err != WR_OK)
        return err;
    params p = {0};
    p_text(&p, id);
    p_text(&p, expected);
    p_text(&p, run->id);
    p_u64(&p, now_ms);
    long changed = 0;
    err = write_stmt(q, S_SESSION_SWAP, &p, "session", "session", &changed, out_err);
    if (err == WR_OK && changed == 0)
        err = exists(q, S_SESSION_EXISTS, id, "session", out_err);
    if (err == WR_OK && changed)
        err = run_insert(q, run, out_err);
    if (err == WR_OK && changed)
        err = op_end(q, WR_OK, out_err);
    op_rollback(q);
    *out_swapped = err == WR_OK && changed;
    return err;
}

/* ---- listing -------------------------------------------------------------------------------- */

/* The creation time of cursor session `id` of the env, or NOT_FOUND. */
static wr_err
cursor_time(pg *q, const char *env_id, const char *id, uint64_t *out_ms, wr_error *out_err)
{
    params p = {0};
    p_text(&p, id);
    p_text(&p, env_id);
    PGresult *res;
    wr_err rc = exec_stmt(q, S_SESSION_CURSOR, &p, "session", "session", &res, out_err);
    if (rc != WR_OK)
        return rc;
    wr_err err = WR_OK;
    if (PQntuples(res) > 0)
        *out_ms = col_u64(res, 0, 0);
    else
        err = wr_error_set(out_err, WR_ERR_NOT_FOUND, "cursor %s is not a session", id);
    PQclear(res);
    return err;
}

static wr_err
session_list(wr_meta *m, const char *env_id, const wr_session_filter *f, wr_session_page *out,
             wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    const char *cursor_id = f->after ? f->after : f->before;
    uint64_t cursor_ms = 0;
    wr_err err = WR_OK;
    if (cursor_id && (err = cursor_time(q, env_id, cursor_id, &cursor_ms, out_err)) != WR_OK)
        return err;
    wr_meta_pg_list l = {0};
    wr_buf_init(&l.sql);
    for (int i = 0; i < 3; i++)
        wr_buf_init(&l.arrays[i]);
    wr_meta_pg_list_build(&l, env_id, f, cursor_id != NULL, cursor_ms, cursor_id);
    /* A one-off query: PQexecParams (the unnamed statement), not a prepared one. */
    PGresult *res = PQexecParams(q->conn, l.sql.data, l.p.n, NULL, l.p.v, l.p.len, l.p.fmt, 0);
    if (!res_ok(res)) {
        err = fail(q, res, false, "session", "session", out_err);
        goto out;
    }
    void *items;
    size_t n;
    read_all(res, read_session, sizeof(wr_session), &items, &n);
    out->items = items;
    out->n = n;
    bool more = out->n > f->limit;
    if (more)
        wr_session_fini(&out->items[--out->n]);
    if (f->before) {
        for (size_t a = 0, b = out->n ? out->n - 1 : 0; a < b; a++, b--) {
            wr_session t = out->items[a];
            out->items[a] = out->items[b];
            out->items[b] = t;
        }
        out->has_previous = more;
        out->has_next = true;
    } else {
        out->has_next = more;
        out->has_previous = f->after != NULL;
    }
out:
    PQclear(res);
    wr_meta_pg_list_fini(&l);
    return err;
}

static wr_err
project_list(wr_meta *m, const char *org_id, wr_project **out, size_t *out_n, wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    params p = {0};
    p_text(&p, org_id);
    return query_all(q, S_PROJECT_LIST, &p, read_project, sizeof(**out), "project", (void **)out,
                     out_n, out_err);
}

static wr_err
env_list(wr_meta *m, const char *org_id, wr_env **out, size_t *out_n, wr_error *out_err)
{
    pg *q = PG(m);
    READY();
    params p = {0};
    p_text(&p, org_id);
    return query_all(q, S_ENV_LIST, &p, read_env, sizeof(**out), "environment", (void **)out, out_n,
                     out_err);
}

/* ---- part ids ------------------------------------------------------------------------------- */

static wr_err
part_claim(wr_meta *m, const char *key, const char *part, uint64_t now_ms, uint64_t done_before,
           uint64_t claimed_before, wr_meta_part_state *out_state, uint64_t *out_seq,
           wr_error *out_err)
{
    pg *q = PG(m);
    params p = {0};
    p_text(&p, key);
    p_text(&p, part);
    p_u64(&p, now_ms);
    p_u64(&p, done_before);
    p_u64(&p, claimed_before);
    long changed = 0;
    wr_err err = write_op(q, S_PART_CLAIM, &p, "part id", "part id", &changed, out_err);
    if (err != WR_OK || changed > 0) {
        *out_state = WR_META_PART_CLAIMED;
        return err;
    }
    params g = {0};
    p_text(&g, key);
    p_text(&g, part);
    PGresult *res;
    err = exec_stmt(q, S_PART_GET, &g, "part id", "part id", &res, out_err);
    if (err == WR_OK && PQntuples(res) > 0 && !col_null(res, 0, 0)) {
        *out_state = WR_META_PART_DONE;
        *out_seq = col_u64(res, 0, 0);
    }
    PQclear(res);
    return err;
}

static wr_err
part_done(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms, uint64_t seq,
          uint64_t now_ms, wr_error *out_err)
{
    params p = {0};
    p_text(&p, key);
    p_text(&p, part);
    p_u64(&p, claimed_ms);
    p_u64(&p, seq);
    p_u64(&p, now_ms);
    return update_one(PG(m), S_PART_DONE, &p, "part id claim", part, out_err);
}

static wr_err
part_release(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms, wr_error *out_err)
{
    params p = {0};
    p_text(&p, key);
    p_text(&p, part);
    p_u64(&p, claimed_ms);
    return write_op(PG(m), S_PART_RELEASE, &p, "part id", "part id", NULL, out_err);
}

static wr_err
part_purge(wr_meta *m, uint64_t before_ms, size_t *out_n, wr_error *out_err)
{
    params p = {0};
    p_u64(&p, before_ms);
    long changed = 0;
    wr_err err = write_op(PG(m), S_PART_PURGE, &p, "part id", "part id", &changed, out_err);
    if (err == WR_OK && out_n)
        *out_n = (size_t)changed;
    return err;
}

/* ---- group commit --------------------------------------------------------------------------- */

/* Inside a group, the transaction must still be there and healthy before the next step. */
static wr_err
group_alive(pg *q, wr_error *out_err)
{
    if (!alive(q))
        return wr_error_set(out_err, WR_ERR_UNAVAILABLE,
                            "control-plane PostgreSQL server %s: connection lost; the group "
                            "transaction was rolled back",
                            q->server);
    if (PQtransactionStatus(q->conn) != PQTRANS_INTRANS)
        return wr_error_set(out_err, WR_ERR_STORAGE,
                            "control-plane group transaction is no longer usable");
    return WR_OK;
}

/* wr_meta_group on PostgreSQL: BEGIN … COMMIT around the group, savepoints inside. */
static wr_err
pg_group(wr_meta *m, wr_meta_group_step step_id, wr_error *out_err)
{
    pg *q = PG(m);
    bool order_ok = step_id == WR_META_GROUP_BEGIN ? !q->group
                    : step_id == WR_META_GROUP_JOB ? q->group && !q->job
                    : step_id == WR_META_GROUP_JOB_KEEP || step_id == WR_META_GROUP_JOB_UNDO
                        ? q->job
                        : q->group && !q->job;
    if (!order_ok)
        return wr_error_set(out_err, WR_ERR_INVALID, "control-plane group step out of order");
    wr_err err = WR_OK;
    switch (step_id) {
    case WR_META_GROUP_BEGIN:
        err = ready(q, out_err);
        if (err == WR_OK)
            err = exec_ctl(q, "BEGIN", false, out_err);
        q->group = err == WR_OK;
        q->op = false;
        return err;
    case WR_META_GROUP_JOB:
        err = group_alive(q, out_err);
        if (err == WR_OK)
            defer(q, "SAVEPOINT job");
        q->job = err == WR_OK;
        return err;
    case WR_META_GROUP_JOB_KEEP:
    case WR_META_GROUP_JOB_UNDO:
        q->job = false;
        if (!conn_ok(q))
            return group_alive(q, out_err);
        /* A statement of the job that failed outside an operation's savepoint (a read) left the
         * transaction aborted: the job cannot be kept, only undone. */
        if (step_id == WR_META_GROUP_JOB_KEEP && PQtransactionStatus(q->conn) == PQTRANS_INERROR) {
            undo_savepoint(q, true, NULL);
            return wr_error_set(out_err, WR_ERR_STORAGE,
                                "a statement of the job failed; its changes were undone");
        }
        if (step_id == WR_META_GROUP_JOB_UNDO)
            return undo_savepoint(q, true, out_err);
        defer(q, "RELEASE SAVEPOINT job");
        return WR_OK;
    case WR_META_GROUP_COMMIT:
        q->group = false;
        q->n_defer = 0; /* COMMIT releases every savepoint */
        err = group_alive(q, out_err);
        if (err == WR_OK)
            err = exec_ctl(q, "COMMIT", true, out_err);
        if (conn_ok(q) && PQtransactionStatus(q->conn) != PQTRANS_IDLE) {
            PGresult *res = PQexec(q->conn, "ROLLBACK");
            PQclear(res);
        }
        return err;
    default: /* WR_META_GROUP_ABORT */
        q->group = false;
        q->n_defer = 0;
        if (conn_ok(q) && PQtransactionStatus(q->conn) != PQTRANS_IDLE) {
            PGresult *res = PQexec(q->conn, "ROLLBACK");
            if (!res_ok(res))
                err = fail(q, res, false, "rollback", "", out_err);
            PQclear(res);
        }
        return err;
    }
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void
pg_close(wr_meta *m)
{
    pg *q = PG(m);
    PQfinish(q->conn);
    free(q);
}

static const wr_meta_ops postgres_ops = {
    .name = "postgres",
    .close = pg_close,
    .org_create = org_create,
    .org_get = org_get,
    .org_get_by_slug = org_get_by_slug,
    .org_list = org_list,
    .org_set_plan = org_set_plan,
    .org_set_basin = org_set_basin,
    .project_create = project_create,
    .project_get = project_get,
    .env_create = env_create,
    .env_get = env_get,
    .env_by_key_hash = env_by_key_hash,
    .env_and_org = env_and_org,
    .env_set_key = env_set_key,
    .run_create = run_create,
    .run_get = run_get,
    .run_complete = run_complete,
    .run_add_stream = run_add_stream,
    .run_has_stream = run_has_stream,
    .run_streams = run_streams,
    .session_create_or_get = session_create_or_get,
    .session_create_many = session_create_many,
    .session_get_by_id = session_get_by_id,
    .session_get_by_external_id = session_get_by_external_id,
    .session_stream_key_taken = session_stream_key_taken,
    .session_close = session_close,
    .session_update = session_update,
    .session_swap_run = session_swap_run,
    .session_list = session_list,
    .project_list = project_list,
    .env_list = env_list,
    .run_list = run_list,
    .part_claim = part_claim,
    .part_done = part_done,
    .part_release = part_release,
    .part_purge = part_purge,
    .group = pg_group,
};

wr_err
wr_meta_open_postgres(const char *conninfo, wr_meta **out, wr_error *out_err)
{
    *out = NULL;
    /* A malformed string is the caller's mistake, not an unreachable server. */
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts && (strchr(conninfo, '=') || strstr(conninfo, "://"))) {
        char msg[160];
        trim_msg(perr ? perr : "out of memory", msg, sizeof(msg));
        PQfreemem(perr);
        return wr_error_set(out_err, WR_ERR_INVALID, "bad PostgreSQL connection string: %s", msg);
    }
    PQconninfoFree(opts);
    PQfreemem(perr);
    pg *q = wr_xcalloc(1, sizeof(*q));
    q->base.ops = &postgres_ops;
    /* Defaults first: what conninfo says overrides them (expand_dbname). The TCP settings bound
     * how long a call can hang on a server that vanished without closing the connection: about
     * a minute (keepalives after 30 s idle, 3 probes 10 s apart; unacknowledged data 60 s). */
    const char *const keys[] = {
        "connect_timeout",  "application_name", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "dbname",          NULL};
    const char *const vals[] = {"10", "weir", "30", "10", "3", "60000", conninfo, NULL};
    q->conn = PQconnectdbParams(keys, vals, 1);
    wr_err err = WR_OK;
    if (!q->conn) {
        err = wr_error_set(out_err, WR_ERR_UNAVAILABLE, "control-plane PostgreSQL: out of memory");
        goto out;
    }
    const char *host = PQhost(q->conn), *port = PQport(q->conn);
    snprintf(q->server, sizeof(q->server), "%s:%s", host && host[0] ? host : "localhost",
             port && port[0] ? port : "5432");
    if (!conn_ok(q)) {
        char msg[160];
        trim_msg(PQerrorMessage(q->conn), msg, sizeof(msg));
        err = wr_error_set(out_err, WR_ERR_UNAVAILABLE,
                           "cannot connect to control-plane PostgreSQL server %s: %s", q->server,
                           msg);
        goto out;
    }
    err = configure(q, out_err);
    if (err == WR_OK)
        err = wr_meta_pg_migrate(q->conn, out_err);
    if (err == WR_OK) {
        *out = &q->base;
        return WR_OK;
    }
out:
    PQfinish(q->conn);
    free(q);
    return err;
}
