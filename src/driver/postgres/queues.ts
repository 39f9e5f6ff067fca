import { foldQueues } from "../decode.ts";
import type { QueueListRow, QueuePauseRow } from "../types.ts";
import type { PgContext } from "./context.ts";
import { READY_PREDICATE } from "./tables.ts";

/** Pauses (`by` given) or resumes a queue; true when its state changed. */
export async function queueSetPaused(ctx: PgContext, p: { name: string; by: string | null; now: Date }): Promise<boolean> {
  if (p.by === null) {
    // A resumed queue's jobs are claimable at once: listeners on every node hear of it as of an insert.
    const rows = await ctx.query(
      `WITH upd AS (
         UPDATE ${ctx.t.queues} SET paused_at = NULL, paused_by = NULL, updated_at = $1 WHERE name = $2 AND paused_at IS NOT NULL RETURNING name
       ) SELECT name, pg_notify($3, name) FROM upd`,
      [p.now, p.name, ctx.channel],
    );
    return rows.length > 0;
  }
  const rows = await ctx.query(
    `INSERT INTO ${ctx.t.queues} AS q (name, paused_at, paused_by, updated_at) VALUES ($1, $2, $3, $2)
     ON CONFLICT (name) DO UPDATE SET paused_at = excluded.paused_at, paused_by = excluded.paused_by, updated_at = excluded.updated_at
     WHERE q.paused_at IS NULL
     RETURNING name`,
    [p.name, p.now, p.by],
  );
  return rows.length > 0;
}

/** The paused queues, by name in byte order (as SQLite sorts). */
export async function queuePausedList(ctx: PgContext): Promise<QueuePauseRow[]> {
  return (await queueRows(ctx, "WHERE paused_at IS NOT NULL")) as QueuePauseRow[];
}

/** Queue rows (a queue has one once it was paused, or a limit names it), by name. */
async function queueRows(ctx: PgContext, where = ""): Promise<Array<{ name: string; pausedAt: Date | null; pausedBy: string | null }>> {
  const rows = await ctx.query(`SELECT name, paused_at, paused_by FROM ${ctx.t.queues} ${where} ORDER BY name COLLATE "C"`);
  return rows.map((r) => ({ name: r.name, pausedAt: (r.paused_at as Date | null) ?? null, pausedBy: r.paused_by ?? null }));
}

/** Every queue with jobs or a row, by name: counts by state and the oldest ready job's time. */
export async function queueList(ctx: PgContext, p: { now: Date }): Promise<QueueListRow[]> {
  const counts = await ctx.query(
    `SELECT queue, state, count(*)::int AS n, min(scheduled_at) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at <= $1) AS oldest
     FROM ${ctx.t.jobs} WHERE deleted_at IS NULL GROUP BY queue, state`,
    [p.now],
  );
  return foldQueues(
    counts.map((r) => ({ queue: r.queue, state: r.state, count: r.n, oldestReady: (r.oldest as Date | null) ?? null })),
    await queueRows(ctx),
  );
}
