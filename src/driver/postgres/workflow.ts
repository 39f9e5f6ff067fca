import { ValidationError } from "../../core/errors.ts";
import type { EventRecord, JobState, StepRecord } from "../../core/types.ts";
import type { Row } from "../decode.ts";
import { TERMINAL_SQL } from "../sql.ts";
import type { EventEmitParams, EventEmitResult, StepWrite } from "../types.ts";
import type { PgContext, PostgresExecutor } from "./context.ts";
import { asExecutor } from "./insert.ts";
import { historyInsertSql } from "./topics.ts";
import { canStoreJson, storableText } from "./storable.ts";
import { notifyQueues, unchanged, wakeAssignments } from "./wake.ts";

// A workflow's own rows (SPEC §17): the steps an attempt memoizes, and the events emitted to it.

/**
 * A workflow attempt's replay state: every step stored for the job and every event emitted to it, as two JSON
 * aggregates of one statement (one round trip, one snapshot).
 */
export async function workflowLoad(ctx: PgContext, p: { jobId: string }): Promise<{ steps: StepRecord[]; events: EventRecord[] }> {
  const [row] = await ctx.query(
    `SELECT (SELECT coalesce(json_agg(s), '[]') FROM ${ctx.t.steps} s WHERE s.job_id = $1) AS steps,
       (SELECT coalesce(json_agg(e), '[]') FROM ${ctx.t.events} e WHERE e.job_id = $1) AS events`,
    [p.jobId],
  );
  return { steps: (row!.steps as Row[]).map(stepRecord), events: (row!.events as Row[]).map(eventRecord) };
}

/**
 * Inserts or replaces one step, only while the job still holds `leaseToken`; returns whether it was written.
 * A step output PostgreSQL cannot store is refused (`validation`, naming the key): replacing its characters
 * would replay a value the step never returned. Its error text is data after the fact and is repaired instead.
 */
export async function stepSave(ctx: PgContext, p: { jobId: string; leaseToken: string; step: StepWrite }): Promise<boolean> {
  const { step } = p;
  if (step.outputJson !== null && !canStoreJson(step.outputJson)) {
    throw new ValidationError(`jobs: the output of step ${step.key} contains a NUL character or an unpaired surrogate, which PostgreSQL cannot store`, step.key);
  }
  const rows = await ctx.query(
    `INSERT INTO ${ctx.t.steps} (job_id, step_key, status, output, error, attempts, run_id, wake_at, started_at, finished_at)
     SELECT $1::text, $2::text, $3::text, $4::text::jsonb, $5::text, $6::int, $7::text, $8::timestamptz, $9::timestamptz, $10::timestamptz
     WHERE EXISTS (SELECT 1 FROM ${ctx.t.jobs} WHERE id = $1::text AND lease_token = $11::text)
     ON CONFLICT (job_id, step_key) DO UPDATE SET status = excluded.status, output = excluded.output, error = excluded.error,
       attempts = excluded.attempts, run_id = excluded.run_id, wake_at = excluded.wake_at, started_at = excluded.started_at,
       finished_at = excluded.finished_at
     RETURNING 1`,
    [
      p.jobId,
      step.key,
      step.status,
      step.outputJson,
      storableText(step.error),
      step.attempts,
      step.runId,
      step.wakeAt,
      step.startedAt,
      step.finishedAt,
      p.leaseToken,
    ],
  );
  return rows.length > 0;
}

/**
 * Emits an event in one statement: lock the job (so the emit serialises with a finalize suspending it), store
 * the latch unless the job finished, move `wake_seq`, and wake the job when it waits for this name in its
 * current attempt, notifying its queue. `tx` runs it on the caller's open transaction (the outbox).
 */
export async function eventEmit(ctx: PgContext, p: EventEmitParams<PostgresExecutor>): Promise<EventEmitResult> {
  if (p.payloadJson !== null && !canStoreJson(p.payloadJson)) {
    throw new ValidationError(`flywheel: the payload of event ${p.name} contains a NUL character or an unpaired surrogate, which PostgreSQL cannot store`, p.name);
  }
  const s = ctx.scope();
  const [id, name, now] = [s.ps.add(p.jobId), `${s.ps.add(p.name)}::text`, `${s.ps.add(p.now)}::timestamptz`];
  const waitsOfAttempt = `FROM ${s.t.waits} w WHERE w.job_id = j.id AND w.attempt = j.attempt`;
  const history =
    p.actor === undefined
      ? ""
      : `, hist AS (${historyInsertSql(s.t.history, "SELECT job_id AS id FROM stored", "'event'", `${s.ps.add(p.actor)}::text`, now, `jsonb_build_object('name', ${name})`)})`;
  // `wakes` is decided on the locked row's latest version. The waits a suspending finalize wrote in the same
  // commit may still be invisible to this statement's snapshot (it was taken before that finalize committed,
  // and this statement then waited for the row's lock): a job waiting for events with no wait of its attempt
  // in sight is woken too, at worst one replay that waits again.
  const [row] = await ctx.query(
    `WITH job AS (
       SELECT j.id, j.state, coalesce(j.state = 'waiting' AND j.wait_reason = 'event'
         AND (EXISTS (SELECT 1 ${waitsOfAttempt} AND w.name = ${name}) OR NOT EXISTS (SELECT 1 ${waitsOfAttempt})), false) AS wakes
       FROM ${s.t.jobs} j WHERE j.id = ${id} FOR UPDATE OF j
     ),
     stored AS (
       INSERT INTO ${s.t.events} (job_id, name, payload, emitted_at)
       SELECT job.id, ${name}, ${s.ps.add(p.payloadJson)}::text::jsonb, ${now} FROM job WHERE job.state NOT IN (${TERMINAL_SQL})
       ON CONFLICT (job_id, name) DO ${p.ifAbsent ? "NOTHING" : "UPDATE SET payload = excluded.payload, emitted_at = excluded.emitted_at"}
       RETURNING job_id
     ),
     bumped AS (
       UPDATE ${s.t.jobs} j SET wake_seq = j.wake_seq + 1, updated_at = ${now}, ${wakeAssignments("job.wakes", now, unchanged("j"))}
       FROM job WHERE j.id = job.id AND j.id IN (SELECT job_id FROM stored)
       RETURNING j.queue
     ),
     woke AS (${notifyQueues(s, "SELECT b.queue FROM bumped b, job WHERE job.wakes")})${history}
     SELECT job.state, EXISTS (SELECT 1 FROM stored) AS stored, job.wakes AND EXISTS (SELECT 1 FROM bumped) AS woke,
       (SELECT n FROM woke) AS notified
     FROM job`,
    s.ps.values,
    { db: p.tx === undefined ? ctx.sql : asExecutor(p.tx) },
  );
  if (!row) return { state: null, stored: false, woke: false };
  return { state: row.state as JobState, stored: row.stored as boolean, woke: row.woke as boolean };
}

/** A `job_steps` row as `json_agg` renders it (timestamps as ISO text). */
function stepRecord(r: Row): StepRecord {
  return {
    key: r.step_key,
    status: r.status,
    output: r.output ?? null,
    error: r.error ?? null,
    attempts: r.attempts,
    runId: r.run_id ?? null,
    wakeAt: jsonDate(r.wake_at),
    startedAt: jsonDate(r.started_at),
    finishedAt: jsonDate(r.finished_at),
  };
}

/** A `job_events` row as `json_agg` renders it. */
function eventRecord(r: Row): EventRecord {
  return { name: r.name, payload: r.payload ?? null, emittedAt: jsonDate(r.emitted_at)! };
}

/** A timestamptz inside JSON: ISO 8601 text with its offset. */
function jsonDate(value: unknown): Date | null {
  return typeof value === "string" ? new Date(value) : null;
}
