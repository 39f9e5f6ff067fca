import type { JobRecord } from "../../core/types.ts";
import { CANCELLED_MESSAGE } from "../rules.ts";
import { ACTIVE_SQL, TERMINAL_SQL } from "../sql.ts";
import { decode } from "./codec.ts";
import type { PgContext } from "./context.ts";
import { literalLimit } from "./params.ts";

/**
 * Cancels a non-terminal job and, in the same statement, closes its open `started` run as `cancelled` (so no
 * stub outlives a runner that is gone); returns the job as it was before, or null when missing. A runner still
 * working on it loses its fence; its late finalize fills the closed run in with the attempt's own details.
 */
export async function jobCancel(ctx: PgContext, p: { id: string; now: Date }): Promise<JobRecord | null> {
  // `before` locks the row and reads its latest version; `upd` then changes it only if it was not terminal.
  const [row] = await ctx.query(
    `WITH before AS (SELECT * FROM ${ctx.t.jobs} WHERE id = $1 FOR UPDATE),
     upd AS (
       UPDATE ${ctx.t.jobs} j SET state = 'cancelled', leased_until = NULL, lease_token = NULL, finalized_at = $2, updated_at = $2
       FROM before b WHERE j.id = b.id AND b.state NOT IN (${TERMINAL_SQL})
       RETURNING j.id
     ),
     closed AS (
       UPDATE ${ctx.t.runs} r SET outcome = 'cancelled', finished_at = $2, error_message = $3,
         duration_ms = greatest(0, (extract(epoch FROM ($2::timestamptz - r.started_at)) * 1000)::bigint)
       FROM upd WHERE r.job_id = upd.id AND r.outcome = 'started'
     )
     SELECT b.* FROM before b`,
    [p.id, p.now, CANCELLED_MESSAGE],
  );
  return row ? decode.job(row) : null;
}

/**
 * Makes a non-running job available now, raising `max_attempts` to `attempt + 1` when exhausted, and wakes
 * the queue's listeners; returns the job as it was before (unchanged when running), or null when missing.
 */
export async function jobRetry(ctx: PgContext, p: { id: string; now: Date }): Promise<{ before: JobRecord; heldBy: string | null } | null> {
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
         finalized_at = NULL, updated_at = $2
       FROM before b WHERE j.id = b.id AND b.state <> 'running' AND NOT EXISTS (SELECT 1 FROM holder)
       RETURNING j.queue
     )
     SELECT b.*, (SELECT id FROM holder) AS held_by, (SELECT count(pg_notify($3, queue)) FROM upd)::int AS changed FROM before b`,
    [p.id, p.now, ctx.channel],
  );
  return row ? { before: decode.job(row), heldBy: (row.held_by as string | null) ?? null } : null;
}

/** Hard-deletes up to `limit` terminal jobs finalized before `before`, and their runs; returns how many jobs. */
export async function jobDeleteFinished(ctx: PgContext, p: { before: Date; limit: number }): Promise<number> {
  // SKIP LOCKED: retention on several nodes takes different batches instead of waiting on each other.
  const [row] = await ctx.query(
    `WITH doomed AS (
       SELECT id FROM ${ctx.t.jobs}
       WHERE finalized_at IS NOT NULL AND finalized_at < $1 AND state IN (${TERMINAL_SQL})
       ORDER BY finalized_at LIMIT ${literalLimit(p.limit)} FOR UPDATE SKIP LOCKED
     ),
     runs AS (DELETE FROM ${ctx.t.runs} WHERE job_id IN (SELECT id FROM doomed)),
     gone AS (DELETE FROM ${ctx.t.jobs} WHERE id IN (SELECT id FROM doomed) RETURNING id)
     SELECT count(*)::int AS n FROM gone`,
    [p.before],
  );
  return row!.n;
}
