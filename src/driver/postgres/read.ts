import { JOB_STATES, type CensusRow, type FailureRecord, type JobRecord, type JobState, type RunRecord } from "../../core/types.ts";
import { failedIndexHint } from "../sql.ts";
import type { JobListParams, QueueStats } from "../types.ts";
import { decode } from "./codec.ts";
import type { PgContext } from "./context.ts";
import { READY_PREDICATE } from "./tables.ts";

/** The job with this id, or null. */
export async function jobGet(ctx: PgContext, p: { id: string }): Promise<JobRecord | null> {
  const [row] = await ctx.query(`SELECT * FROM ${ctx.t.jobs} WHERE id = $1`, [p.id]);
  return row ? decode.job(row) : null;
}

/**
 * Ids starting with `prefix`. `starts_with` cannot use the primary key under a linguistic collation (which may
 * order `-` anywhere), so this reads the table: fine for what it serves, people typing abbreviated ids.
 */
export async function jobIdsByPrefix(ctx: PgContext, p: { prefix: string; limit: number }): Promise<string[]> {
  const rows = await ctx.query(`SELECT id FROM ${ctx.t.jobs} WHERE starts_with(id, $1) ORDER BY id LIMIT $2`, [p.prefix, p.limit]);
  return rows.map((r) => r.id as string);
}

/** Jobs newest first, filtered; `before` is an id cursor. */
export async function jobList(ctx: PgContext, p: JobListParams): Promise<JobRecord[]> {
  const where: string[] = ["deleted_at IS NULL"];
  const params: any[] = [];
  const filter = (condition: (placeholder: string) => string, value: unknown) => {
    if (value !== undefined) where.push(condition(`$${params.push(value)}`));
  };
  filter((x) => `state = ${x}`, p.state);
  filter((x) => `kind = ${x}`, p.kind);
  filter((x) => `queue = ${x}`, p.queue);
  filter((x) => `id < ${x}`, p.before);
  where.push(...failedIndexHint(p.state));
  const rows = await ctx.query(
    `SELECT * FROM ${ctx.t.jobs} WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT $${params.push(p.limit)}`,
    params,
  );
  return rows.map(decode.job);
}

/**
 * Live jobs whose unique key starts with `prefix`, newest first, newer than `after` when given. `starts_with`
 * rather than a range: under a linguistic collation a range would not be a prefix. With `after`, the primary key
 * bounds the read to the newest jobs, which is what a follower polls for.
 */
export async function jobListByKeyPrefix(ctx: PgContext, p: { prefix: string; limit: number; after?: string }): Promise<JobRecord[]> {
  const params: unknown[] = [p.prefix];
  const after = p.after !== undefined ? ` AND id > $${params.push(p.after)}` : "";
  const rows = await ctx.query(
    `SELECT * FROM ${ctx.t.jobs} WHERE starts_with(unique_key, $1) AND deleted_at IS NULL${after} ORDER BY id DESC LIMIT $${params.push(p.limit)}`,
    params as any[],
  );
  return rows.map(decode.job);
}

/** Every run of a job, oldest attempt first. */
export async function runList(ctx: PgContext, p: { jobId: string }): Promise<RunRecord[]> {
  const rows = await ctx.query(`SELECT * FROM ${ctx.t.runs} WHERE job_id = $1 ORDER BY attempt`, [p.jobId]);
  return rows.map(decode.run);
}

/** Counts per (kind, state), optionally for one kind, in byte order as SQLite sorts them. */
export async function jobCountByKind(ctx: PgContext, p: { kind?: string }): Promise<Array<{ kind: string; state: JobState; count: number }>> {
  const rows = await ctx.query(
    `SELECT kind, state, count(*)::int AS count FROM ${ctx.t.jobs}
     WHERE deleted_at IS NULL ${p.kind !== undefined ? "AND kind = $1" : ""}
     GROUP BY kind, state ORDER BY kind COLLATE "C", state COLLATE "C"`,
    p.kind !== undefined ? [p.kind] : [],
  );
  return rows.map((r) => ({ kind: r.kind, state: r.state, count: r.count }));
}

/** Counts by state, plus ready/scheduled-ahead and the oldest ready `scheduled_at`. */
export async function queueStatsGet(ctx: PgContext, p: { now: Date; queues?: string[] }): Promise<QueueStats> {
  // One statement, so the counts and the ready figures come from one snapshot. A waiting job is not scheduled
  // ahead: it waits for something, often with no deadline; it is ready once its wake time is due.
  const rows = await ctx.query(
    `SELECT state, count(*)::int AS n,
       count(*) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at <= $1)::int AS ready,
       min(scheduled_at) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at <= $1) AS oldest,
       count(*) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at > $1 AND state <> 'waiting')::int AS ahead
     FROM ${ctx.t.jobs} WHERE deleted_at IS NULL${p.queues ? " AND queue = ANY($2::text[])" : ""} GROUP BY state`,
    p.queues ? [p.now, p.queues] : [p.now],
  );
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  let ready = 0;
  let scheduledAhead = 0;
  let oldestReadyAt: Date | null = null;
  for (const row of rows) {
    counts[row.state as JobState] = row.n;
    ready += row.ready;
    scheduledAhead += row.ahead;
    if (row.oldest && (oldestReadyAt === null || row.oldest < oldestReadyAt)) oldestReadyAt = row.oldest;
  }
  return { counts, ready, scheduledAhead, oldestReadyAt };
}

/** Live jobs per (kind, queue, state) with their ready figures, from one snapshot (see `Driver.jobCensus`). */
export async function jobCensus(ctx: PgContext, p: { now: Date }): Promise<CensusRow[]> {
  const rows = await ctx.query(
    `SELECT kind, queue, state, count(*)::int AS n,
       count(*) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at <= $1)::int AS ready,
       min(scheduled_at) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at <= $1) AS oldest,
       count(*) FILTER (WHERE ${READY_PREDICATE} AND scheduled_at > $1 AND state <> 'waiting')::int AS ahead
     FROM ${ctx.t.jobs} WHERE deleted_at IS NULL GROUP BY kind, queue, state`,
    [p.now],
  );
  return rows.map((r) => ({ kind: r.kind, queue: r.queue, state: r.state, count: r.n, ready: r.ready, scheduledAhead: r.ahead, oldestReadyAt: r.oldest ?? null }));
}

/** Discarded jobs finalized since `since`, newest first, with their last attempt's error. */
export async function jobListFailures(ctx: PgContext, p: { since: Date; limit: number }): Promise<FailureRecord[]> {
  const rows = await ctx.query(
    `SELECT j.id AS job_id, j.kind, j.queue, j.attempt, j.finalized_at, r.error_class, r.error_message
     FROM ${ctx.t.jobs} j LEFT JOIN ${ctx.t.runs} r ON r.job_id = j.id AND r.attempt = j.attempt
     WHERE j.state = 'discarded' AND j.finalized_at >= $1 ORDER BY j.finalized_at DESC LIMIT $2`,
    [p.since, p.limit],
  );
  return rows.map(decode.failure);
}
