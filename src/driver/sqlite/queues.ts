import type { Database } from "bun:sqlite";
import { foldQueues, type Row } from "../decode.ts";
import { CLAIMABLE_SQL } from "../sql.ts";
import type { QueueListRow, QueuePauseRow } from "../types.ts";
import { toDate } from "./codec.ts";

/** Pauses (`by` given) or resumes a queue; true when its state changed. */
export function setQueuePaused(db: Database, p: { name: string; by: string | null; now: Date }): boolean {
  const now = p.now.getTime();
  if (p.by === null) {
    return db.query("UPDATE job_queues SET paused_at = NULL, paused_by = NULL, updated_at = ? WHERE name = ? AND paused_at IS NOT NULL").run(now, p.name).changes > 0;
  }
  return (
    db
      .query(
        `INSERT INTO job_queues (name, paused_at, paused_by, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET paused_at = excluded.paused_at, paused_by = excluded.paused_by, updated_at = excluded.updated_at
         WHERE job_queues.paused_at IS NULL`,
      )
      .run(p.name, now, p.by, now).changes > 0
  );
}

/** The names of the paused queues, for the claim to leave out. */
export function pausedQueues(db: Database): Set<string> {
  const rows = db.query("SELECT name FROM job_queues WHERE paused_at IS NOT NULL").all() as Row[];
  return new Set(rows.map((r) => r.name as string));
}

/** The paused queues, by name. */
export function listPausedQueues(db: Database): QueuePauseRow[] {
  return queueRows(db, "WHERE paused_at IS NOT NULL") as QueuePauseRow[];
}

/** Queue rows (a queue has one once it was paused, or a limit names it), by name. */
function queueRows(db: Database, where = ""): Array<{ name: string; pausedAt: Date | null; pausedBy: string | null }> {
  const rows = db.query(`SELECT name, paused_at, paused_by FROM job_queues ${where} ORDER BY name`).all() as Row[];
  return rows.map((r) => ({ name: r.name, pausedAt: toDate(r.paused_at), pausedBy: r.paused_by ?? null }));
}

/** Every queue with jobs or a row, by name: counts by state and the oldest ready job's time. */
export function listQueues(db: Database, p: { now: Date }): QueueListRow[] {
  const counts = db
    .query(
      `SELECT queue, state, count(*) AS n,
         min(CASE WHEN state IN (${CLAIMABLE_SQL}) AND scheduled_at <= ? THEN scheduled_at END) AS oldest
       FROM jobs WHERE deleted_at IS NULL GROUP BY queue, state`,
    )
    .all(p.now.getTime()) as Row[];
  return foldQueues(
    counts.map((r) => ({ queue: r.queue, state: r.state, count: r.n, oldestReady: toDate(r.oldest) })),
    queueRows(db),
  );
}
