import type { Database } from "bun:sqlite";
import { isTerminal, type JobRecord, type JobState } from "../../core/types.ts";
import type { Row } from "../decode.ts";
import { CANCELLED_MESSAGE } from "../rules.ts";
import { TERMINAL_SQL } from "../sql.ts";
import { placeholders } from "./codec.ts";
import { getJob } from "./read.ts";
import { appendHistory } from "./topics.ts";
import { wakeParent } from "./wake.ts";

// Operator actions. Each runs inside the caller's `BEGIN IMMEDIATE` transaction: it reads the job, then
// writes on what it read.

/** What a cancel sets (?2 is now): finished, holding no lease, waiting for nothing. */
const CANCELLED_SET =
  "state = 'cancelled', leased_until = NULL, lease_token = NULL, wait_reason = NULL, wake_at = NULL, finalized_at = ?2, updated_at = ?2";

/**
 * The descendants of job ?1 (over `parent_job_id`, through `jobs_parent`) that have not finished, cancelled
 * at ?2; returns their ids. The walk goes through finished descendants too: a child that ended may have left
 * children running. UNION rather than UNION ALL, so a cycle of hand-set parent ids ends the walk instead of
 * looping.
 */
export const CANCEL_DESCENDANTS_SQL = `WITH RECURSIVE tree(id) AS (
    SELECT id FROM jobs WHERE parent_job_id = ?1
    UNION
    SELECT j.id FROM jobs j JOIN tree t ON j.parent_job_id = t.id
  )
  UPDATE jobs SET ${CANCELLED_SET}
  WHERE id IN (SELECT id FROM tree) AND state NOT IN (${TERMINAL_SQL}) RETURNING id`;

/**
 * Cancels a non-terminal job and closes its open `started` run as `cancelled` now, so no `started` run
 * outlives its job's attempt when the runner is gone (a live runner's late finalize fills in the attempt's
 * own details, see `rules.ts`). With `cascade`, its unfinished descendants go the same way. The job's parent
 * is woken as for any child's end (`wake.ts`); the descendants' parents are cancelled with them. Returns the
 * job as it was before and the descendants cancelled; terminal jobs are left alone, descendants and all.
 */
export function cancelJob(db: Database, p: { id: string; now: Date; cascade?: boolean; actor?: string }): { before: JobRecord; descendants: string[] } | null {
  const before = getJob(db, p);
  if (!before) return null;
  if (isTerminal(before.state)) return { before, descendants: [] };
  const now = p.now.getTime();
  db.query(`UPDATE jobs SET ${CANCELLED_SET} WHERE id = ?1`).run(p.id, now);
  const descendants = p.cascade ? (db.query(CANCEL_DESCENDANTS_SQL).all(p.id, now) as Row[]).map((r) => r.id as string) : [];
  const closeRun = db.query(
    `UPDATE job_runs SET outcome = 'cancelled', finished_at = ?1, duration_ms = MAX(0, ?1 - started_at), error_message = ?2
     WHERE job_id = ?3 AND outcome = 'started'`,
  );
  for (const id of [p.id, ...descendants]) closeRun.run(now, CANCELLED_MESSAGE, id);
  if (p.actor !== undefined) {
    const actor = p.actor;
    appendHistory(db, [
      { jobId: p.id, at: p.now, action: "cancelled", actor, detail: null },
      ...descendants.map((id) => ({ jobId: id, at: p.now, action: "cancelled" as const, actor, detail: { cascade_from: p.id } })),
    ]);
  }
  if (before.parentJobId !== null) wakeParent(db, { parentId: before.parentJobId, now: p.now, anyWait: false });
  return { before, descendants };
}

/**
 * Makes a non-running job available now (a waiting one stops waiting), raising `max_attempts` to `attempt + 1`
 * when its budget is spent. Returns the job as it was before; a running job, or one whose `unique_active_key`
 * another active job now holds (`heldBy`), is left as it is.
 */
export function retryJob(db: Database, p: { id: string; now: Date; actor?: string }): { before: JobRecord; heldBy: string | null } | null {
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
       wait_reason = NULL, wake_at = NULL, finalized_at = NULL, updated_at = ?1 WHERE id = ?2`,
  ).run(p.now.getTime(), p.id);
  if (p.actor !== undefined) appendHistory(db, [{ jobId: p.id, at: p.now, action: "retried", actor: p.actor, detail: null }]);
  return { before, heldBy: null };
}

/** The tables whose rows belong to one job (by `job_id`) and go with it. */
const JOB_OWNED_TABLES = ["job_runs", "job_steps", "job_waits", "job_events", "job_history"];

/**
 * Hard-deletes up to `limit` terminal jobs finalized before `before` (oldest first, via `jobs_finalized`) with
 * their runs, their workflow rows (steps, waits, events) and their history.
 */
/** Terminal jobs finalized before `before`, counted per state: what {@link deleteFinishedJobs} would take. */
export function countFinishedJobs(db: Database, p: { before: Date }): Array<{ state: JobState; count: number }> {
  return db
    .query(`SELECT state, count(*) AS n FROM jobs WHERE finalized_at IS NOT NULL AND finalized_at < ? AND state IN (${TERMINAL_SQL}) GROUP BY state ORDER BY state`)
    .all(p.before.getTime())
    .map((r) => ({ state: (r as Row).state as JobState, count: Number((r as Row).n) }));
}

export function deleteFinishedJobs(db: Database, p: { before: Date; limit: number }): number {
  const rows = db
    .query(`SELECT id FROM jobs WHERE finalized_at IS NOT NULL AND finalized_at < ? AND state IN (${TERMINAL_SQL}) ORDER BY finalized_at LIMIT ?`)
    .all(p.before.getTime(), p.limit) as Row[];
  if (rows.length === 0) return 0;
  const ids = rows.map((r) => r.id as string);
  const list = placeholders(ids.length);
  for (const table of JOB_OWNED_TABLES) db.query(`DELETE FROM ${table} WHERE job_id IN (${list})`).run(...ids);
  db.query(`DELETE FROM jobs WHERE id IN (${list})`).run(...ids);
  return ids.length;
}
