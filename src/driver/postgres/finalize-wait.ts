import { TERMINAL_SQL } from "../sql.ts";
import type { FinalizeItem } from "../types.ts";
import type { Scope } from "./tables.ts";
import { wakeAssignments } from "./wake.ts";

// The finalize's part for workflow attempts that suspend (items with `job.wait`). Nothing of it reaches a batch
// without such items but the `SET` of the wait columns, so the runner's hot path keeps its cost.

/** The pieces {@link waitSql} adds to the finalize's statement; empty strings where the batch needs none. */
export interface WaitSql {
  /** `kid_ends AS (...),`: the parents (or NULL) of jobs in this batch that end, read before the advance. */
  kidEnds: string;
  /** The advance's `SET` of `state, scheduled_at, wait_reason, wake_at` (over `j`, the job, and `items`). */
  assignments: string;
  /** `waits AS (...),`: the event names each advanced suspending job now waits for, at its attempt. */
  waits: string;
}

/**
 * The wait side of a finalize over the `items` CTE (columns `job_id, token, state, scheduled_at, wait_reason,
 * wake_at, seen_seq`) and the advance `adv` (returning `id, attempt`). A suspending job waits unless something
 * it may wait for happened while its attempt ran: its `wake_seq` moved (read from the row being updated, so a
 * wake committed while this waited on the row's lock counts), or a child of it ends in this very batch. Either
 * way it becomes available now instead. `ending`: some item ends its job.
 */
export function waitSql(s: Scope, items: FinalizeItem[], p: { ending: boolean; now: string }): WaitSql {
  if (!items.some((i) => i.job.wait !== undefined)) {
    return { kidEnds: "", waits: "", assignments: "state = items.state, scheduled_at = coalesce(items.scheduled_at, j.scheduled_at), wait_reason = NULL, wake_at = NULL" };
  }
  const { t, ps } = s;
  // A fenced read of the ending children's rows: the same snapshot the advance reads, so a child whose fence
  // this finds held is one the advance ends (or, when a cancel overtakes it, a wake that costs one replay). A
  // scalar subquery per item, so a primary-key probe each: as a join, the planner may walk all of `jobs_parent`.
  const kidEnds = p.ending
    ? `kid_ends AS (
        SELECT (SELECT c.parent_job_id FROM ${t.jobs} c WHERE c.id = items.job_id AND c.lease_token = items.token) AS parent_job_id
        FROM items WHERE items.state IN (${TERMINAL_SQL})
      ),`
    : "";
  const endedKid = " OR j.id IN (SELECT parent_job_id FROM kid_ends WHERE parent_job_id IS NOT NULL)";
  const woken = `items.wait_reason IS NOT NULL AND (j.wake_seq <> items.seen_seq${kidEnds ? endedKid : ""})`;
  const assignments = wakeAssignments(woken, p.now, {
    state: "items.state",
    scheduledAt: "coalesce(items.scheduled_at, j.scheduled_at)",
    waitReason: "items.wait_reason",
    wakeAt: "items.wake_at",
  });
  const names = new Map<string, { jobId: string; name: string }>();
  for (const item of items) {
    for (const name of item.job.wait?.names ?? []) names.set(JSON.stringify([item.jobId, name]), { jobId: item.jobId, name });
  }
  // Rows of an earlier wait stay: they name an older attempt, which no emit matches any more.
  const waits =
    names.size > 0
      ? `waits AS (
          INSERT INTO ${t.waits} (job_id, name, attempt)
          SELECT w.job_id, w.name, adv.attempt
          FROM unnest(${ps.add([...names.values()].map((w) => w.jobId))}::text[], ${ps.add([...names.values()].map((w) => w.name))}::text[]) AS w(job_id, name)
          JOIN adv ON adv.id = w.job_id
          ON CONFLICT (job_id, name) DO UPDATE SET attempt = excluded.attempt
        ),`
      : "";
  return { kidEnds, assignments, waits };
}
