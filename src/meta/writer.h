/*
 * writer.h — the control plane's writer thread: every change off the loop, group-committed.
 *
 * WHY. A control-plane change is a durable commit, i.e. an fsync. Made on the loop thread it
 * stalls every connection of the server for as long as the fsync takes, and every change pays for
 * its own. The writer owns a second handle on the database (meta.h, wr_meta_open_sqlite_shared);
 * the loop submits jobs — functions that make their changes through that handle — and gets each
 * job's completion back on the loop thread, after the commit that made it durable.
 *
 * GROUP COMMIT. The thread takes every job waiting in the queue (at most WR_META_WRITER_GROUP at a
 * time), opens one transaction (wr_meta_group BEGIN), runs each job inside its own savepoint (a job
 * that fails undoes only itself and is answered with its error), commits once, and hands all the
 * group's completions to the loop with one wake-up. Jobs submitted while a commit is in flight
 * form the next group. If the commit fails, every job of the group is answered with its error:
 * nothing of it was made durable. A job that fails with TRANSACTION_CONFLICT (on PostgreSQL, a
 * deadlock between two groups committing at once) is run again in a later group, three times at
 * most, before that error is answered: its own changes were undone, so running it again is safe.
 *
 * BATCHES. Jobs next to each other in a group that carry the same batch function run as one call
 * of it, in one savepoint (wr_meta_job_batch); a batch that fails is undone and its jobs run one
 * by one, so the outcome of each is the one it would have had on its own.
 *
 * SEVERAL CONNECTIONS. A writer may be given several handles on one database, one thread each
 * (PostgreSQL: each a connection of its own, so that groups commit in parallel as a database's
 * clients do; SQLite: one, as it has one writer at a time). Each thread takes its own group from
 * the shared queue.
 *
 * ORDER. With one handle, jobs run in submission order and completions are delivered in the same
 * order (a job run again after a conflict excepted; SQLite never reports one). With several, the jobs of one group keep their order but groups may complete in any
 * order: jobs that must be ordered are submitted one after the other's completion (as every
 * caller does: a request submits one job and answers from its completion). A read on the loop's
 * own handle made from a completion sees the job's changes (they are committed).
 * PRIORITY. The threads run at the process's nice value + WR_META_WRITER_NICE: when they and the
 * loop thread want the same core, the scheduler favours the loop (every connection's requests and
 * events) and the writer's next group grows meanwhile. Measured: the loop's lag under a storm of
 * session creates p99 2.3 → 1.7 ms, creates/s unchanged (docs/benchmarks.md).
 * THREADS. start/submit/stop/free: the loop thread. A job's `run` runs on the writer thread and
 * may touch only its own context and the handle it is given; `done` runs on the loop thread.
 */
#ifndef WR_META_WRITER_H
#define WR_META_WRITER_H

#include <stddef.h>
#include <uv.h>

#include "meta/meta.h"

typedef struct wr_meta_writer wr_meta_writer;

#define WR_META_WRITER_GROUP 512 /* jobs per commit, at most */
#define WR_META_WRITER_NICE 5    /* the threads' nice value above the process's */

/* Runs on the writer thread inside the group's transaction; returns WR_OK to keep its changes. */
typedef wr_err (*wr_meta_job_run)(wr_meta *m, void *ctx, wr_error *out_err);
/* Runs on the loop thread once the job's group committed (rc WR_OK) or the job failed. */
typedef void (*wr_meta_job_done)(void *ctx, wr_err rc, const wr_error *err);

/*
 * Runs the work of n jobs at once, on the writer thread inside the group's transaction: the same
 * changes and the same results in each job's context as running them one by one, in that order.
 * On WR_OK every job succeeded; on an error nothing of them is kept (the writer undoes their
 * savepoint) and the writer runs them one by one, so that each gets its own outcome.
 */
typedef wr_err (*wr_meta_job_batch)(wr_meta *m, void *const *ctxs, size_t n, wr_error *out_err);

/* One job (wr_meta_writer_submit_job). */
typedef struct wr_meta_job {
    wr_meta_job_run run;
    /* optional: jobs next to each other in a group with the same `batch` (at least two) run as
     * one call of it, in one savepoint (PostgreSQL: one statement for a group of session
     * creates instead of a round trip each) */
    wr_meta_job_batch batch;
    void *ctx; /* run's and batch's */
    wr_meta_job_done done;
    void *done_ctx; /* done's; NULL: ctx (a wrapper keeps the job's ctx and has its own done) */
} wr_meta_job;

#define WR_META_WRITER_MAX_THREADS 32

/*
 * Starts one thread per handle of `m` (n of them, 1..WR_META_WRITER_MAX_THREADS, all on the same
 * database). The handles become the writer's (closed by wr_meta_writer_free, also on failure)
 * and each is used only by its thread from now on. At most `max_queued` jobs wait at a time
 * (0: 65,536). Errors: INVALID (n), OTHER (no thread).
 */
wr_err wr_meta_writer_start(uv_loop_t *loop, wr_meta *const *m, size_t n, size_t max_queued,
                            wr_meta_writer **out, wr_error *out_err);

/*
 * READERS. The same machinery without transactions: threads (one handle each) that run read jobs
 * one by one in autocommit, for a backend whose reads are network round trips (PostgreSQL), so
 * that the loop never waits on one. A job's `run` may only read; completions come back on the
 * loop as a writer's do. Submit, stop and free as for a writer.
 */
wr_err wr_meta_readers_start(uv_loop_t *loop, wr_meta *const *m, size_t n, size_t max_queued,
                             wr_meta_writer **out, wr_error *out_err);

/* Queues a job. Errors (done is then never called): UNAVAILABLE when max_queued jobs already wait
 * or the writer is stopping. */
wr_err wr_meta_writer_submit_job(wr_meta_writer *w, const wr_meta_job *j, wr_error *out_err);
/* The same, for a job without a batch whose run and done share ctx. */
wr_err wr_meta_writer_submit(wr_meta_writer *w, wr_meta_job_run run, wr_meta_job_done done,
                             void *ctx, wr_error *out_err);

/* Latency of each group's COMMIT, on any of the writer's threads (Prometheus); valid until free. */
struct wr_hist;
const struct wr_hist *wr_meta_writer_commit_hist(const wr_meta_writer *w);

/* Jobs waiting or running now (for tests and metrics). */
size_t wr_meta_writer_pending(wr_meta_writer *w);

/*
 * Runs every queued job, joins the thread, delivers the remaining completions (from inside this
 * call) and closes the loop handle; run the loop once more before wr_meta_writer_free. NULL is a
 * no-op.
 */
void wr_meta_writer_stop(wr_meta_writer *w);
void wr_meta_writer_free(wr_meta_writer *w);

#endif
