import type { Database } from "bun:sqlite";
import { isTerminal, type JobRecord } from "../../core/types.ts";
import type { Row } from "../decode.ts";
import { CANCELLED_MESSAGE } from "../rules.ts";
import { TERMINAL_SQL } from "../sql.ts";
import { placeholders } from "./codec.ts";
import { getJob } from "./read.ts";

// Operator actions. Each runs inside the caller's `BEGIN IMMEDIATE` transaction: it reads the job, then
// writes on what it read.

/**
 * Cancels a non-terminal job and closes its open `started` run as `cancelled` now, so no `started` run
 * outlives its job's attempt when the runner is gone (a live runner's late finalize fills in the attempt's
 * own details, see `rules.ts`). Returns the job as it was before; terminal jobs are left alone.
 */
export function cancelJob(db: Database, p: { id: string; now: Date }): JobRecord | null {
  const before = getJob(db, p);
  if (!before || isTerminal(before.state)) return before;
  const now = p.now.getTime();
  db.query("UPDATE jobs SET state = 'cancelled', leased_until = NULL, lease_token = NULL, finalized_at = ?1, updated_at = ?1 WHERE id = ?2").run(
    now,
    p.id,
  );
  db.query(
    `UPDATE job_runs SET outcome = 'cancelled', finished_at = ?1, duration_ms = MAX(0, ?1 - started_at), error_message = ?2
     WHERE job_id = ?3 AND outcome = 'started'`,
  ).run(now, CANCELLED_MESSAGE, p.id);
  return before;
}

/**
 * Makes a non-running job available now, raising `max_attempts` to `attempt + 1` when its budget is spent.
 * Returns the job as it was before; a running job, or one whose `unique_active_key` another active job now holds
 * (`heldBy`), is left as it is.
 */
export function retryJob(db: Database, p: { id: string; now: Date }): { before: JobRecord; heldBy: string | null } | null {
  const before = getJob(db, p);
  if (!before) return null;
  if (before.state === "running") return { before, heldBy: null };
  if (before.uniqueActiveKey !== null) {
    const holder = db
      .query(`SELECT id FROM jobs WHERE unique_active_key = ? AND id <> ? AND state NOT IN (${TERMINAL_SQL}) LIMIT 1`)
      .get(before.uniqueActiveKey, p.id) as Row | null;
    if (holder) return { before, heldBy: holder.id as string };
  }
  db.query(
    `UPDATE jobs SET state = 'available', scheduled_at = ?1, max_attempts = MAX(max_attempts, attempt + 1),
       finalized_at = NULL, updated_at = ?1 WHERE id = ?2`,
  ).run(p.now.getTime(), p.id);
  return { before, heldBy: null };
}

/** Hard-deletes up to `limit` terminal jobs finalized before `before` (oldest first, via `jobs_finalized`) and their runs. */
export function deleteFinishedJobs(db: Database, p: { before: Date; limit: number }): number {
  const rows = db
    .query(`SELECT id FROM jobs WHERE finalized_at IS NOT NULL AND finalized_at < ? AND state IN (${TERMINAL_SQL}) ORDER BY finalized_at LIMIT ?`)
    .all(p.before.getTime(), p.limit) as Row[];
  if (rows.length === 0) return 0;
  const ids = rows.map((r) => r.id as string);
  db.query(`DELETE FROM job_runs WHERE job_id IN (${placeholders(ids.length)})`).run(...ids);
  db.query(`DELETE FROM jobs WHERE id IN (${placeholders(ids.length)})`).run(...ids);
  return ids.length;
}
