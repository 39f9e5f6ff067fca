import type { Database, SQLQueryBindings } from "bun:sqlite";
import { JOB_STATES, type CensusRow, type FailureRecord, type JobRecord, type JobState, type RunRecord } from "../../core/types.ts";
import type { Row } from "../decode.ts";
import { CLAIMABLE_SQL, failedIndexHint } from "../sql.ts";
import type { JobListParams, QueueStats } from "../types.ts";
import { decode, placeholders, toDate, type Statement } from "./codec.ts";

/** The job with this id, deleted or not; null when there is none. */
export function getJob(db: Database, p: { id: string }): JobRecord | null {
  const row = db.query("SELECT * FROM jobs WHERE id = ?").get(p.id) as Row | null;
  return row ? decode.job(row) : null;
}

/** Ids starting with `prefix`: a GLOB prefix is a range over the primary key (ids are lowercase hex and dashes). */
export function jobIdsByPrefix(db: Database, p: { prefix: string; limit: number }): string[] {
  // GLOB's own characters in the prefix match themselves: each goes in a one-character class.
  const pattern = `${p.prefix.replace(/[*?[]/g, (c) => `[${c}]`)}*`;
  const rows = db.query("SELECT id FROM jobs WHERE id GLOB ? ORDER BY id LIMIT ?").all(pattern, p.limit) as Row[];
  return rows.map((r) => r.id as string);
}

/** Jobs newest first (ids are UUIDv7), filtered and paged by `before`. */
export function listJobs(db: Database, p: JobListParams): JobRecord[] {
  const { sql, params } = jobListStatement(p);
  return (db.query(sql).all(...params) as Row[]).map(decode.job);
}

/**
 * The listing statement. A listing of failed or cancelled jobs repeats `jobs_failed`'s condition, or SQLite
 * would not consider that partial index (see `failedIndexHint`).
 */
export function jobListStatement(p: JobListParams): Statement {
  const where: string[] = ["deleted_at IS NULL"];
  const params: SQLQueryBindings[] = [];
  for (const [column, value] of [["state", p.state], ["kind", p.kind], ["queue", p.queue]] as const) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
  if (p.before) {
    where.push("id < ?");
    params.push(p.before);
  }
  where.push(...failedIndexHint(p.state));
  params.push(p.limit);
  return { sql: `SELECT * FROM jobs WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`, params };
}

/**
 * Live jobs whose unique key starts with `prefix`, newest first, newer than `after` when given. The prefix is a
 * range over `jobs_unique_key` (text compares bytewise): from the prefix to the prefix with its last character
 * raised by one.
 */
export function listJobsByKeyPrefix(db: Database, p: { prefix: string; limit: number; after?: string }): JobRecord[] {
  const upper = p.prefix.slice(0, -1) + String.fromCharCode(p.prefix.charCodeAt(p.prefix.length - 1) + 1);
  const after = p.after !== undefined ? " AND id > ?" : "";
  const params: SQLQueryBindings[] = [p.prefix, upper, ...(p.after !== undefined ? [p.after] : []), p.limit];
  const sql = `SELECT * FROM jobs WHERE unique_key >= ? AND unique_key < ? AND deleted_at IS NULL${after} ORDER BY id DESC LIMIT ?`;
  return (db.query(sql).all(...params) as Row[]).map(decode.job);
}

/** Every run of a job, oldest attempt first. */
export function listRuns(db: Database, p: { jobId: string }): RunRecord[] {
  return (db.query("SELECT * FROM job_runs WHERE job_id = ? ORDER BY attempt").all(p.jobId) as Row[]).map(decode.run);
}

/** Counts of live jobs per (kind, state), optionally for one kind. */
export function countJobsByKind(db: Database, p: { kind?: string }): Array<{ kind: string; state: JobState; count: number }> {
  const sql = `SELECT kind, state, count(*) AS count FROM jobs WHERE deleted_at IS NULL ${p.kind ? "AND kind = ?" : ""} GROUP BY kind, state ORDER BY kind, state`;
  return db.query(sql).all(...(p.kind ? [p.kind] : [])) as Array<{ kind: string; state: JobState; count: number }>;
}

/**
 * Counts by state, ready and scheduled-ahead counts and the oldest ready `scheduled_at`, for all queues or some.
 * A waiting workflow is ready once its wake time comes, but never "scheduled ahead": it waits for something
 * (an event, its children), often with no deadline at all.
 */
export function getQueueStats(db: Database, p: { now: Date; queues?: string[] }): QueueStats {
  const queueFilter = p.queues ? ` AND queue IN (${placeholders(p.queues.length)})` : "";
  const queues = p.queues ?? [];
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  for (const row of db.query(`SELECT state, count(*) AS n FROM jobs WHERE deleted_at IS NULL${queueFilter} GROUP BY state`).all(...queues) as Row[]) {
    counts[row.state as JobState] = row.n;
  }
  const claimable = `state IN (${CLAIMABLE_SQL}) AND deleted_at IS NULL`;
  const ready = db
    .query(`SELECT count(*) AS n, min(scheduled_at) AS oldest FROM jobs WHERE ${claimable} AND scheduled_at <= ?${queueFilter}`)
    .get(p.now.getTime(), ...queues) as Row;
  const ahead = db
    .query(`SELECT count(*) AS n FROM jobs WHERE ${claimable} AND state <> 'waiting' AND scheduled_at > ?${queueFilter}`)
    .get(p.now.getTime(), ...queues) as Row;
  return { counts, ready: ready.n, scheduledAhead: ahead.n, oldestReadyAt: toDate(ready.oldest) };
}

/**
 * Rows per census chunk. A chunk is one short read (tens of milliseconds on a slow machine); between chunks the
 * driver yields to the event loop, so a census of a million jobs never stalls the runners or the HTTP server.
 */
export const CENSUS_CHUNK_ROWS = 5_000;

/** The highest rowid in `jobs` (0 when empty): where a census stops. Jobs inserted after it are the next census's. */
export function lastJobRowid(db: Database): number {
  return ((db.query("SELECT max(rowid) AS last FROM jobs").get() as Row).last as number | null) ?? 0;
}

/**
 * Adds the live jobs with `afterRowid < rowid <= throughRowid` to `into`, keyed by kind, queue and state: one
 * range of the table's own b-tree, read in order. Each job is counted once, in the state its chunk saw.
 */
export function censusChunk(db: Database, p: { now: Date; afterRowid: number; throughRowid: number }, into: Map<string, CensusRow>): void {
  const claimable = `state IN (${CLAIMABLE_SQL})`;
  const rows = db
    .query(
      `SELECT kind, queue, state, count(*) AS n,
         sum(${claimable} AND scheduled_at <= ?1) AS ready,
         min(CASE WHEN ${claimable} AND scheduled_at <= ?1 THEN scheduled_at END) AS oldest,
         sum(${claimable} AND state <> 'waiting' AND scheduled_at > ?1) AS ahead
       FROM jobs WHERE rowid > ?2 AND rowid <= ?3 AND deleted_at IS NULL GROUP BY kind, queue, state`,
    )
    .all(p.now.getTime(), p.afterRowid, p.throughRowid) as Row[];
  for (const r of rows) {
    const key = JSON.stringify([r.kind, r.queue, r.state]);
    const oldest = toDate(r.oldest);
    const seen = into.get(key);
    if (!seen) {
      into.set(key, { kind: r.kind, queue: r.queue, state: r.state, count: r.n, ready: r.ready, scheduledAhead: r.ahead, oldestReadyAt: oldest });
      continue;
    }
    seen.count += r.n;
    seen.ready += r.ready;
    seen.scheduledAhead += r.ahead;
    if (oldest && (seen.oldestReadyAt === null || oldest < seen.oldestReadyAt)) seen.oldestReadyAt = oldest;
  }
}

/** Discarded jobs finalized since `since`, newest first, with their last attempt's error. */
export function listFailures(db: Database, p: { since: Date; limit: number }): FailureRecord[] {
  const rows = db
    .query(
      `SELECT j.id AS job_id, j.kind, j.queue, j.attempt, j.finalized_at, r.error_class, r.error_message
       FROM jobs j LEFT JOIN job_runs r ON r.job_id = j.id AND r.attempt = j.attempt
       WHERE j.state = 'discarded' AND j.finalized_at >= ? ORDER BY j.finalized_at DESC LIMIT ?`,
    )
    .all(p.since.getTime(), p.limit) as Row[];
  return rows.map(decode.failure);
}
