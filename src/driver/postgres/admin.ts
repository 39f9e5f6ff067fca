import type { JobRecord, JobState } from "../../core/types.ts";
import { CANCELLED_MESSAGE } from "../rules.ts";
import { ACTIVE_SQL, TERMINAL_SQL } from "../sql.ts";
import { decode } from "./codec.ts";
import type { PgContext } from "./context.ts";
import { literalLimit } from "./params.ts";
import { historyInsertSql } from "./topics.ts";
import { claimableQueues, notifyQueues, wakeParentsSql } from "./wake.ts";

/**
 * Cancels a non-terminal job and, in the same statement, closes its open `started` run as `cancelled` (so no
 * stub outlives a runner that is gone); returns the job as it was before, or null when missing. A runner still
 * working on it loses its fence; its late finalize fills the closed run in with the attempt's own details.
 * With `cascade`, every non-terminal descendant goes with it the same way (`descendants`: their ids). The
 * job's parent learns of the end as of any child's. A terminal job is left alone, and so is its subtree.
 */
export async function jobCancel(
  ctx: PgContext,
  p: { id: string; now: Date; cascade?: boolean; actor?: string },
): Promise<{ before: JobRecord; descendants: string[] } | null> {
  const s = ctx.scope();
  const id = s.ps.add(p.id);
  const now = `${s.ps.add(p.now)}::timestamptz`;
  // `before` locks the row and reads its latest version; `doomed` is the subtree's unfinished jobs, locked in id
  // order (concurrent cascades over one subtree then queue instead of deadlocking) and re-checked once locked.
  const subtree = p.cascade
    ? `tree(id) AS (
         SELECT j.id FROM ${s.t.jobs} j, before b WHERE j.parent_job_id = b.id AND b.state NOT IN (${TERMINAL_SQL})
         UNION
         SELECT j.id FROM ${s.t.jobs} j JOIN tree ON j.parent_job_id = tree.id
       ),
       doomed AS (
         SELECT id FROM ${s.t.jobs} WHERE id = ANY(ARRAY(SELECT id FROM tree)) AND state NOT IN (${TERMINAL_SQL})
         ORDER BY id FOR UPDATE
       ),`
    : "";
  const ended = `SELECT b.id FROM before b WHERE b.state NOT IN (${TERMINAL_SQL})${p.cascade ? " UNION ALL SELECT id FROM doomed" : ""}`;
  // With an actor, each job this cancel ends gets a history row (a cascaded one says where the cascade came from).
  const history =
    p.actor === undefined
      ? ""
      : `hist AS (${historyInsertSql(s.t.history, "SELECT id FROM upd", "'cancelled'", `${s.ps.add(p.actor)}::text`, now, `CASE WHEN h.id = ${id} THEN NULL ELSE jsonb_build_object('cascade_from', ${id}::text) END`)}),`;
  const [row] = await ctx.query(
    `WITH RECURSIVE before AS (SELECT * FROM ${s.t.jobs} WHERE id = ${id} FOR UPDATE),
     ${subtree}
     upd AS (
       UPDATE ${s.t.jobs} j SET state = 'cancelled', leased_until = NULL, lease_token = NULL, wait_reason = NULL, wake_at = NULL,
         finalized_at = ${now}, updated_at = ${now}
       WHERE j.id = ANY(ARRAY(${ended}))
       RETURNING j.id
     ),
     closed AS (
       UPDATE ${s.t.runs} r SET outcome = 'cancelled', finished_at = ${now}, error_message = ${s.ps.add(CANCELLED_MESSAGE)},
         duration_ms = greatest(0, (extract(epoch FROM (${now} - r.started_at)) * 1000)::bigint)
       WHERE r.job_id = ANY(ARRAY(SELECT id FROM upd)) AND r.outcome = 'started'
     ),
     parents AS (${wakeParentsSql(s, { parentIds: `ARRAY(SELECT b.parent_job_id FROM before b WHERE b.id IN (SELECT id FROM upd))`, exclude: ["SELECT id FROM upd"], now })}),
     ${history}
     woke AS (${notifyQueues(s, claimableQueues("parents", now))})
     SELECT b.*, ${p.cascade ? "(SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM doomed)" : "'{}'::text[]"} AS descendants,
       (SELECT n FROM woke) AS woke
     FROM before b`,
    s.ps.values,
  );
  return row ? { before: decode.job(row), descendants: row.descendants as string[] } : null;
}

/**
 * Makes a non-running job available now, raising `max_attempts` to `attempt + 1` when exhausted, and wakes
 * the queue's listeners; returns the job as it was before (unchanged when running), or null when missing.
 */
export async function jobRetry(ctx: PgContext, p: { id: string; now: Date; actor?: string }): Promise<{ before: JobRecord; heldBy: string | null } | null> {
  // `holder`: another active job holding this job's unique_active_key; retrying would violate it.
  const [row] = await ctx.query(
    `WITH before AS (SELECT * FROM ${ctx.t.jobs} WHERE id = $1 FOR UPDATE),
     holder AS (
       SELECT j.id FROM ${ctx.t.jobs} j, before b
       WHERE b.unique_active_key IS NOT NULL AND j.unique_active_key = b.unique_active_key AND j.id <> b.id
         AND j.state IN (${ACTIVE_SQL})
       LIMIT 1
     ),
     upd AS (
       UPDATE ${ctx.t.jobs} j SET state = 'available', scheduled_at = $2, max_attempts = greatest(j.max_attempts, j.attempt + 1),
         wait_reason = NULL, wake_at = NULL, finalized_at = NULL, updated_at = $2
       FROM before b WHERE j.id = b.id AND b.state <> 'running' AND NOT EXISTS (SELECT 1 FROM holder)
       RETURNING j.queue, j.id
     )${p.actor === undefined ? "" : `, hist AS (${historyInsertSql(ctx.t.history, "SELECT id FROM upd", "'retried'", "$4::text", "$2::timestamptz")})`}
     SELECT b.*, (SELECT id FROM holder) AS held_by, (SELECT count(pg_notify($3, queue)) FROM upd)::int AS changed FROM before b`,
    p.actor === undefined ? [p.id, p.now, ctx.channel] : [p.id, p.now, ctx.channel, p.actor],
  );
  return row ? { before: decode.job(row), heldBy: (row.held_by as string | null) ?? null } : null;
}

/** Terminal jobs finalized before `before`, counted per state: what {@link jobDeleteFinished} would take. */
export async function jobCountFinished(ctx: PgContext, p: { before: Date }): Promise<Array<{ state: JobState; count: number }>> {
  const rows = await ctx.query(
    `SELECT state, count(*)::int AS n FROM ${ctx.t.jobs}
     WHERE finalized_at IS NOT NULL AND finalized_at < $1 AND state IN (${TERMINAL_SQL}) GROUP BY state ORDER BY state`,
    [p.before],
  );
  return rows.map((r) => ({ state: r.state as JobState, count: r.n as number }));
}

/**
 * Hard-deletes up to `limit` terminal jobs finalized before `before`, with their runs, steps, waits, events and
 * history; returns how many jobs.
 */
export async function jobDeleteFinished(ctx: PgContext, p: { before: Date; limit: number }): Promise<number> {
  // SKIP LOCKED: retention on several nodes takes different batches instead of waiting on each other.
  const [row] = await ctx.query(
    `WITH doomed AS (
       SELECT id FROM ${ctx.t.jobs}
       WHERE finalized_at IS NOT NULL AND finalized_at < $1 AND state IN (${TERMINAL_SQL})
       ORDER BY finalized_at LIMIT ${literalLimit(p.limit)} FOR UPDATE SKIP LOCKED
     ),
     runs AS (DELETE FROM ${ctx.t.runs} WHERE job_id IN (SELECT id FROM doomed)),
     steps AS (DELETE FROM ${ctx.t.steps} WHERE job_id IN (SELECT id FROM doomed)),
     waits AS (DELETE FROM ${ctx.t.waits} WHERE job_id IN (SELECT id FROM doomed)),
     events AS (DELETE FROM ${ctx.t.events} WHERE job_id IN (SELECT id FROM doomed)),
     history AS (DELETE FROM ${ctx.t.history} WHERE job_id IN (SELECT id FROM doomed)),
     gone AS (DELETE FROM ${ctx.t.jobs} WHERE id IN (SELECT id FROM doomed) RETURNING id)
     SELECT count(*)::int AS n FROM gone`,
    [p.before],
  );
  return row!.n;
}
