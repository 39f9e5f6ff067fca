import type { Database, SQLQueryBindings } from "bun:sqlite";

// How something that happens to a job (an event, a child's end) reaches a workflow that may wait for it, inside
// the caller's `BEGIN IMMEDIATE` transaction. `wake_seq` always moves, so an attempt that is running now and
// suspends later sees it moved and does not sleep through it; a job already waiting for this very thing is
// made available now. A waiting job sits in `jobs_ready` at its wake time, so `scheduled_at = now` is what
// makes the next claim take it.

/** Moves `wake_seq`: whatever the job is doing, the thing happened. */
const BUMP = "UPDATE jobs SET wake_seq = wake_seq + 1, updated_at = ?2 WHERE id = ?1";

/** Ends a wait now; the caller's condition (bound from ?3 on) says which waits this happening ends. */
const END_WAIT =
  "UPDATE jobs SET state = 'available', scheduled_at = ?2, wait_reason = NULL, wake_at = NULL, updated_at = ?2 WHERE id = ?1 AND state = 'waiting'";

/** Moves the job's `wake_seq`, and ends its wait when it waits as `condition` says; returns whether it woke. */
function wake(db: Database, id: string, now: Date, condition: string, params: SQLQueryBindings[]): boolean {
  db.query(BUMP).run(id, now.getTime());
  return db.query(`${END_WAIT} AND (${condition}) RETURNING id`).get(id, now.getTime(), ...params) !== null;
}

/**
 * A child of `parentId` ended (advanced to a terminal state, or was cancelled): wakes the parent when it waits
 * for its children, or for anything at all when `anyWait` (it suspended in the same finalize batch that ended
 * the child, after the child's end could move the `wake_seq` it compared).
 */
export function wakeParent(db: Database, p: { parentId: string; now: Date; anyWait: boolean }): boolean {
  return wake(db, p.parentId, p.now, "?3 OR wait_reason = 'children'", [p.anyWait ? 1 : 0]);
}

/**
 * Event `name` was stored for the job: wakes it when it waits for events and this name is one its current
 * attempt asked for (a `job_waits` row of an earlier attempt is stale and wakes nothing).
 */
export function wakeForEvent(db: Database, p: { jobId: string; name: string; now: Date }): boolean {
  return wake(
    db,
    p.jobId,
    p.now,
    "wait_reason = 'event' AND EXISTS (SELECT 1 FROM job_waits w WHERE w.job_id = jobs.id AND w.name = ?3 AND w.attempt = jobs.attempt)",
    [p.name],
  );
}
