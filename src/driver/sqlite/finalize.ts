import type { Database } from "bun:sqlite";
import { isTerminal, type JobState, type RunOutcome } from "../../core/types.ts";
import type { Row } from "../decode.ts";
import { settleRun, type RunFacts } from "../rules.ts";
import { TERMINAL_SQL } from "../sql.ts";
import type { FinalizeItem, FinalizeOutcome, InsertOutcome } from "../types.ts";
import { applyBreaker } from "./breakers.ts";
import { toJsonText } from "./codec.ts";
import { insertJobs } from "./insert.ts";
import { wakeParent } from "./wake.ts";

/**
 * A suspending item (?8, the `wake_seq` its attempt saw, set) whose job's `wake_seq` moved since: something it
 * may wait for happened while the attempt ran, so the job is made available now instead of waiting. It reads
 * the row's own `wake_seq`, in the same statement that writes the row.
 */
const WAKE_SEQ_MOVED = "(?8 IS NOT NULL AND wake_seq <> ?8)";

/**
 * The fenced job update. The fence: the attempt still holds the lease token; a sweep item (?7 set) also needs
 * the lease still expired at the instant it was listed, so a lease renewed since the listing is left alone.
 * A suspending item waits as ?9 (`wait_reason`) and ?10 (`wake_at`) say; every other item clears them.
 */
const ADVANCE_SQL = `UPDATE jobs SET
    state = CASE WHEN ${WAKE_SEQ_MOVED} THEN 'available' ELSE ?1 END,
    scheduled_at = CASE WHEN ${WAKE_SEQ_MOVED} THEN ?4 ELSE COALESCE(?2, scheduled_at) END,
    wait_reason = CASE WHEN ${WAKE_SEQ_MOVED} THEN NULL ELSE ?9 END,
    wake_at = CASE WHEN ${WAKE_SEQ_MOVED} THEN NULL ELSE ?10 END,
    max_attempts = max_attempts + ?3, leased_until = NULL, lease_token = NULL, updated_at = ?4,
    finalized_at = CASE WHEN ?1 IN (${TERMINAL_SQL}) THEN ?4 ELSE NULL END
  WHERE id = ?5 AND lease_token = ?6 AND (?7 IS NULL OR (state = 'running' AND leased_until < ?7))
  RETURNING state, attempt, parent_job_id`;

/**
 * Finalizes attempts inside the caller's `BEGIN IMMEDIATE` transaction. Per item: the fenced job update; when
 * it did not advance, the facts `settleRun` decides on (the job's state, the run's recorded outcome); the run
 * row as `settleRun` says; follow-ups only for a job that advanced. What a lost fence or a replay records is
 * decided in `rules.ts`, not here.
 *
 * Workflows: a suspending item that advanced records the event names it waits for; a job that advanced to a
 * terminal state wakes its parent (see `wake.ts`). Items run in order, so a parent suspending in the batch
 * sees an earlier item's child end in its `wake_seq`, and a later item's child end wakes it whatever it waits
 * for. A job without a wait or a parent pays nothing beyond its fenced update.
 */
export function finalizeJobs(db: Database, items: FinalizeItem[], at: Date): FinalizeOutcome[] {
  const now = at.getTime();
  const advance = db.query(ADVANCE_SQL);
  const jobState = db.query("SELECT state FROM jobs WHERE id = ?");
  const runOutcome = db.query("SELECT outcome FROM job_runs WHERE id = ?");
  const writeRun = db.query(
    `UPDATE job_runs SET outcome = ?, error_class = ?, error_message = ?, output = ?, finished_at = ?, duration_ms = ?,
       cost_micros = ?, enqueued_children = ? WHERE id = ?`,
  );
  const awaitName = db.query("INSERT INTO job_waits (job_id, name, attempt) VALUES (?, ?, ?) ON CONFLICT (job_id, name) DO UPDATE SET attempt = excluded.attempt");
  const suspendedHere = new Set<string>();
  return items.map((item): FinalizeOutcome => {
    const wait = item.job.wait;
    const row = advance.get(
      item.job.state,
      item.job.scheduledAt?.getTime() ?? null,
      item.job.maxAttemptsDelta,
      now,
      item.jobId,
      item.leaseToken,
      item.expiredBefore?.getTime() ?? null,
      wait?.seenWakeSeq ?? null,
      wait?.reason ?? null,
      wait?.wakeAt?.getTime() ?? null,
    ) as Row | null;
    const advanced = row !== null;
    if (row && wait) {
      for (const name of wait.names) awaitName.run(item.jobId, name, row.attempt);
      if (row.state === "waiting") suspendedHere.add(item.jobId);
    }
    if (row?.parent_job_id && isTerminal(row.state)) {
      wakeParent(db, { parentId: row.parent_job_id, now: at, anyWait: suspendedHere.has(row.parent_job_id) });
    }
    // An advanced job decides its run alone, so the steady state pays no extra reads.
    const facts: RunFacts = advanced
      ? { advanced, jobState: item.job.state, recorded: null }
      : {
          advanced,
          jobState: ((jobState.get(item.jobId) as Row | null)?.state as JobState | undefined) ?? null,
          recorded: ((runOutcome.get(item.runId) as Row | null)?.outcome as RunOutcome | undefined) ?? null,
        };
    const settlement = settleRun(item, facts);
    const children: InsertOutcome[] = advanced && item.followUps.length > 0 ? insertJobs(db, item.followUps) : [];
    if (settlement.write) {
      const r = item.run;
      writeRun.run(
        settlement.outcome,
        r.errorClass,
        r.errorMessage,
        toJsonText(r.output),
        r.finishedAt.getTime(),
        r.durationMs,
        r.costMicros,
        children.filter((c) => c.inserted).length,
        item.runId,
      );
    }
    // Only an attempt that advanced its job counts against the breaker: a replay or a lost fence counted already.
    const breaker = advanced && item.breaker ? applyBreaker(db, item.breaker, item.jobId, item.run.outcome, at) : null;
    return { applied: settlement.applied, outcome: settlement.outcome, children, ...(breaker ? { breaker } : {}) };
  });
}
