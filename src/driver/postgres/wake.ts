import { CLAIMABLE_SQL, TERMINAL_SQL } from "../sql.ts";
import type { Scope } from "./tables.ts";

// How a waiting workflow is woken, spelled once for the three statements that wake one: a finalize (a suspend
// that raced an event or a child's end, and the parents of children that ended), a cancel (the cancelled job's
// parent) and an emit. Each runs the wake as part of an UPDATE of the job's row, never from a separate read:
// under READ COMMITTED an UPDATE that waited on the row's lock re-evaluates its SET against the row's latest
// version (EvalPlanQual), so a wake that committed meanwhile is seen.

/** SQL expressions for a job's wait columns when it is not woken. */
export interface WaitColumns {
  state: string;
  scheduledAt: string;
  waitReason: string;
  wakeAt: string;
}

/** The wait columns of the row being updated, left as they are. */
export function unchanged(alias: string): WaitColumns {
  return { state: `${alias}.state`, scheduledAt: `${alias}.scheduled_at`, waitReason: `${alias}.wait_reason`, wakeAt: `${alias}.wake_at` };
}

/**
 * `SET` assignments that make a job available at `now` with its wait cleared when `woken` (an SQL condition)
 * holds, and give it `otherwise` when it does not.
 */
export function wakeAssignments(woken: string, now: string, otherwise: WaitColumns): string {
  const pick = (whenWoken: string, other: string) => `CASE WHEN ${woken} THEN ${whenWoken} ELSE ${other} END`;
  return [
    `state = ${pick("'available'", otherwise.state)}`,
    `scheduled_at = ${pick(now, otherwise.scheduledAt)}`,
    `wait_reason = ${pick("NULL", otherwise.waitReason)}`,
    `wake_at = ${pick("NULL", otherwise.wakeAt)}`,
  ].join(", ");
}

/**
 * An `UPDATE` telling parents that a child of theirs ended: each parent's `wake_seq` moves, and a parent
 * waiting for its children becomes available at `now`. `parentIds` is an SQL `text[]` expression; parents it
 * names twice move once. `exclude` lists subqueries of ids this statement updates elsewhere (a row may change
 * only once per statement; those rows see the child's end by other means). Returns `queue, state,
 * scheduled_at` of each parent, for {@link notifyClaimable}.
 */
export function wakeParentsSql(s: Scope, p: { parentIds: string; exclude: string[]; now: string }): string {
  const waitsForChildren = "p.state = 'waiting' AND p.wait_reason = 'children'";
  // `= ANY(array)`: an index probe per parent, however the planner estimates the rows feeding the array.
  return `UPDATE ${s.t.jobs} p SET wake_seq = p.wake_seq + 1, updated_at = ${p.now},
      ${wakeAssignments(waitsForChildren, p.now, unchanged("p"))}
    WHERE p.id = ANY(${p.parentIds})${p.exclude.map((ids) => ` AND p.id NOT IN (${ids})`).join("")}
    RETURNING p.queue, p.state, p.scheduled_at`;
}

/** A `text[]` of the parents of the jobs in `rows` (a CTE returning `state, parent_job_id`) that just ended. */
export function endedParents(rows: string): string {
  return `ARRAY(SELECT parent_job_id FROM ${rows} WHERE parent_job_id IS NOT NULL AND state IN (${TERMINAL_SQL}))`;
}

/** The queues of `rows` (a CTE returning `queue, state, scheduled_at`) that hold a job claimable at `now`. */
export function claimableQueues(rows: string, now: string): string {
  return `SELECT queue FROM ${rows} WHERE state IN (${CLAIMABLE_SQL}) AND scheduled_at <= ${now}`;
}

/** A `SELECT` notifying `<schema>_jobs` once per distinct queue that `queues` (a `SELECT queue ...`) yields. */
export function notifyQueues(s: Scope, queues: string): string {
  return `SELECT count(pg_notify(${s.ps.add(s.channel)}::text, d.queue)) AS n FROM (SELECT DISTINCT queue FROM (${queues}) q) d`;
}
