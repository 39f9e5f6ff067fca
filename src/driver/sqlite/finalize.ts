import type { Database } from "bun:sqlite";
import type { JobState, RunOutcome } from "../../core/types.ts";
import type { Row } from "../decode.ts";
import { settleRun, type RunFacts } from "../rules.ts";
import { TERMINAL_SQL } from "../sql.ts";
import type { FinalizeItem, FinalizeOutcome, InsertOutcome } from "../types.ts";
import { toJsonText } from "./codec.ts";
import { insertJobs } from "./insert.ts";

/**
 * Finalizes attempts inside the caller's `BEGIN IMMEDIATE` transaction. Per item: the fenced job update; when
 * it did not advance, the facts `settleRun` decides on (the job's state, the run's recorded outcome); the run
 * row as `settleRun` says; follow-ups only for a job that advanced. What a lost fence or a replay records is
 * decided in `rules.ts`, not here.
 */
export function finalizeJobs(db: Database, items: FinalizeItem[], at: Date): FinalizeOutcome[] {
  const now = at.getTime();
  // The fence: the attempt still holds the lease token. A sweep item (?7 set) also needs the lease still
  // expired at the instant it was listed, so a lease renewed since the listing is left alone.
  const advance = db.query(
    `UPDATE jobs SET state = ?1, scheduled_at = COALESCE(?2, scheduled_at), max_attempts = max_attempts + ?3,
       leased_until = NULL, lease_token = NULL, updated_at = ?4,
       finalized_at = CASE WHEN ?1 IN (${TERMINAL_SQL}) THEN ?4 ELSE NULL END
     WHERE id = ?5 AND lease_token = ?6 AND (?7 IS NULL OR (state = 'running' AND leased_until < ?7)) RETURNING id`,
  );
  const jobState = db.query("SELECT state FROM jobs WHERE id = ?");
  const runOutcome = db.query("SELECT outcome FROM job_runs WHERE id = ?");
  const writeRun = db.query(
    `UPDATE job_runs SET outcome = ?, error_class = ?, error_message = ?, output = ?, finished_at = ?, duration_ms = ?,
       cost_micros = ?, enqueued_children = ? WHERE id = ?`,
  );
  return items.map((item): FinalizeOutcome => {
    const advanced =
      advance.get(
        item.job.state,
        item.job.scheduledAt?.getTime() ?? null,
        item.job.maxAttemptsDelta,
        now,
        item.jobId,
        item.leaseToken,
        item.expiredBefore?.getTime() ?? null,
      ) !== null;
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
    return { applied: settlement.applied, outcome: settlement.outcome, children };
  });
}
