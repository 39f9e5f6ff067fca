import type { Database } from "bun:sqlite";
import { appendHistory } from "./topics.ts";
import { isTerminal, type EventRecord, type JobState, type StepRecord } from "../../core/types.ts";
import type { Row } from "../decode.ts";
import type { EventEmitParams, EventEmitResult, StepWrite } from "../types.ts";
import { columns } from "./codec.ts";
import { wakeForEvent } from "./wake.ts";

// A workflow's own rows: its memoized steps, and the events emitted to it (SPEC §17).

/** A `job_steps` row as a {@link StepRecord}. */
function decodeStep(r: Row): StepRecord {
  return {
    key: r.step_key,
    status: r.status,
    output: columns.json(r.output),
    error: r.error ?? null,
    attempts: r.attempts,
    runId: r.run_id ?? null,
    wakeAt: columns.date(r.wake_at),
    startedAt: columns.date(r.started_at),
    finishedAt: columns.date(r.finished_at),
  };
}

/** A `job_events` row as an {@link EventRecord}. */
function decodeEvent(r: Row): EventRecord {
  return { name: r.name, payload: columns.json(r.payload), emittedAt: columns.date(r.emitted_at)! };
}

/** Every step stored for the job and every event emitted to it: two reads of their primary keys. */
export function loadWorkflow(db: Database, p: { jobId: string }): { steps: StepRecord[]; events: EventRecord[] } {
  return {
    steps: (db.query("SELECT * FROM job_steps WHERE job_id = ?").all(p.jobId) as Row[]).map(decodeStep),
    events: (db.query("SELECT * FROM job_events WHERE job_id = ?").all(p.jobId) as Row[]).map(decodeEvent),
  };
}

/**
 * Writes one step, only while the job still holds the attempt's lease token (one statement: the fence is read
 * where the row is written); returns whether it wrote.
 */
export function saveStep(db: Database, p: { jobId: string; leaseToken: string; step: StepWrite }): boolean {
  const s = p.step;
  return (
    db
      .query(
        `INSERT INTO job_steps (job_id, step_key, status, output, error, attempts, run_id, wake_at, started_at, finished_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND lease_token = ?11)
         ON CONFLICT (job_id, step_key) DO UPDATE SET status = excluded.status, output = excluded.output, error = excluded.error,
           attempts = excluded.attempts, run_id = excluded.run_id, wake_at = excluded.wake_at, started_at = excluded.started_at,
           finished_at = excluded.finished_at`,
      )
      .run(
        p.jobId,
        s.key,
        s.status,
        s.outputJson,
        s.error,
        s.attempts,
        s.runId,
        s.wakeAt?.getTime() ?? null,
        s.startedAt?.getTime() ?? null,
        s.finishedAt?.getTime() ?? null,
        p.leaseToken,
      ).changes > 0
  );
}

/**
 * Emits an event inside the caller's transaction (the runtime's `BEGIN IMMEDIATE`, or the application's for
 * the outbox): a missing or finished job gets nothing; otherwise the latch is stored (replacing an earlier
 * payload unless `ifAbsent`, ?5) and, when stored, the job is woken as `wake.ts` says.
 */
export function emitEvent(db: Database, p: EventEmitParams<unknown>): EventEmitResult {
  const state = ((db.query("SELECT state FROM jobs WHERE id = ?").get(p.jobId) as Row | null)?.state as JobState | undefined) ?? null;
  if (state === null || isTerminal(state)) return { state, stored: false, woke: false };
  const stored =
    db
      .query(
        `INSERT INTO job_events (job_id, name, payload, emitted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (job_id, name) DO UPDATE SET payload = excluded.payload, emitted_at = excluded.emitted_at WHERE ?5 = 0`,
      )
      .run(p.jobId, p.name, p.payloadJson, p.now.getTime(), p.ifAbsent ? 1 : 0).changes > 0;
  const woke = stored && wakeForEvent(db, { jobId: p.jobId, name: p.name, now: p.now });
  if (stored && p.actor !== undefined) appendHistory(db, [{ jobId: p.jobId, at: p.now, action: "event", actor: p.actor, detail: { name: p.name } }]);
  return { state, stored, woke };
}
