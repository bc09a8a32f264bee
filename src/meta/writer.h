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
 * nothing of it was made durable.
 *
 * ORDER. Jobs run in submission order and completions are delivered in the same order. A read on
 * the loop's own handle made from a completion sees the job's changes (they are committed).
 *
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

/* Runs on the writer thread inside the group's transaction; returns WR_OK to keep its changes. */
typedef wr_err (*wr_meta_job_run)(wr_meta *m, void *ctx, wr_error *out_err);
/* Runs on the loop thread once the job's group committed (rc WR_OK) or the job failed. */
typedef void (*wr_meta_job_done)(void *ctx, wr_err rc, const wr_error *err);

/*
 * Starts the thread. `m` becomes the writer's (closed by wr_meta_writer_free) and is used only by
 * the writer thread from now on. At most `max_queued` jobs wait at a time (0: 65,536). Errors:
 * OTHER (no thread).
 */
wr_err wr_meta_writer_start(uv_loop_t *loop, wr_meta *m, size_t max_queued, wr_meta_writer **out,
                            wr_error *out_err);

/* Queues a job. Errors (done is then never called): UNAVAILABLE when max_queued jobs already wait
 * or the writer is stopping. */
wr_err wr_meta_writer_submit(wr_meta_writer *w, wr_meta_job_run run, wr_meta_job_done done,
                             void *ctx, wr_error *out_err);

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
