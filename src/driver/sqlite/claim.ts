import type { Database, SQLQueryBindings } from "bun:sqlite";
import { newId } from "../../core/id.ts";
import type { Row } from "../decode.ts";
import { CLAIMABLE_SQL } from "../sql.ts";
import type { BreakerGate, ClaimParams, ClaimedJob, LimitUsage } from "../types.ts";
import { breakerGates, recordProbes } from "./breakers.ts";
import { decode, placeholders, type Statement } from "./codec.ts";
import { LimitedClaimPlan, type LimitCandidate, type LimitExclusions } from "../limits.ts";
import { limitUsage, recordLimitStarts } from "./limits.ts";
import { pausedQueues } from "./queues.ts";

/**
 * Claims up to `p.limit` claimable jobs and inserts a `started` run stub for each, inside the caller's
 * `BEGIN IMMEDIATE` transaction (so the stubs commit with the claim). Returns them in claim order. A waiting
 * workflow whose wake time came is claimed like any other job and stops waiting.
 */
export function claimJobs(db: Database, p: ClaimParams): ClaimedJob[] {
  if (p.limit <= 0) return [];
  // One probe of two (near) empty tables is all an unlimited claim pays; the limited path reads them in full.
  const gated = (db.query(GATED_SQL).get() as Row).gated === 1;
  const claimed = gated ? claimWithinLimits(db, p, limitUsage(db, p.now), breakerGates(db)) : claimScoped(db, p, {});
  // RETURNING hands rows back in the order the UPDATE visited them, not the candidates' order.
  return claimed.sort((a, b) => a.priority - b.priority || a.scheduledAt.getTime() - b.scheduledAt.getTime() || (a.id < b.id ? -1 : 1));
}

/** Whether any limit or open breaker exists: then the claim takes {@link claimWithinLimits}. */
const GATED_SQL = "SELECT EXISTS (SELECT 1 FROM job_limits) OR EXISTS (SELECT 1 FROM job_breakers WHERE open_until IS NOT NULL) AS gated";

/**
 * The claim under limits and breakers (SPEC §18): walks candidates leaving out the kinds and queues whose budget
 * is spent (an open breaker's kind has none, a half-open one a single probe), claims those that fit, logs the
 * starts of rate-limited ones and records the probes taken, all inside the claim's `BEGIN IMMEDIATE`
 * transaction, which already serialises every claim on the file: the usage read here stays true until commit.
 */
function claimWithinLimits(db: Database, p: ClaimParams, usage: LimitUsage[], breakers: BreakerGate[]): ClaimedJob[] {
  const plan = new LimitedClaimPlan(usage, breakers, p.now);
  const claimed: ClaimedJob[] = [];
  do {
    const left = p.limit - claimed.length;
    const walk = scope(db, { ...p, limit: left }, plan.exclusions());
    if (walk.queues?.length === 0) break;
    const { sql, params } = claimCandidates(walk, "id, kind, queue");
    const ids = plan.take(db.query(sql).all(...params) as LimitCandidate[], left);
    if (ids.length > 0) claimed.push(...claimScoped(db, { ...p, ids, limit: ids.length }, {}));
  } while (plan.more(p.limit - claimed.length));
  recordLimitStarts(db, plan.starts(claimed), p.now);
  recordProbes(db, plan.probes(claimed), p.now);
  return claimed;
}

/** Claims what the candidates query picks for `p`, leaving out paused queues and `exclude`, with a run stub each. */
function claimScoped(db: Database, p: ClaimParams, exclude: Partial<LimitExclusions>): ClaimedJob[] {
  const scoped = scope(db, p, exclude);
  if (scoped.queues?.length === 0) return [];
  const now = p.now.getTime();
  const candidates = claimCandidates(scoped);
  const params: SQLQueryBindings[] = [p.leasedUntil.getTime(), p.leaseToken, now, ...candidates.params];
  const sql =
    `UPDATE jobs SET state = 'running', attempt = attempt + 1, leased_until = ?, lease_token = ?, updated_at = ?, ` +
    `wait_reason = NULL, wake_at = NULL ` +
    `WHERE id IN (${candidates.sql}) RETURNING *`;
  const rows = db.query(sql).all(...params) as Row[];
  if (rows.length === 0) return [];
  const claimed = rows.map((row) => ({ ...decode.job(row), runId: newId(), startedAt: p.now }));
  const stubs: SQLQueryBindings[] = [];
  for (const job of claimed) stubs.push(job.runId, job.id, job.attempt, job.executorClass, p.executorId, now, now);
  const values = Array(claimed.length).fill("(?, ?, ?, ?, ?, ?, 'started', ?)").join(",");
  db.query(`INSERT INTO job_runs (id, job_id, attempt, executor_class, executor_id, started_at, outcome, created_at) VALUES ${values}`).run(...stubs);
  return claimed;
}

/** `p` scoped to the queues with ready jobs, without the paused queues and the kinds and queues of `exclude`. */
function scope(db: Database, p: ClaimParams, exclude: Partial<LimitExclusions>): ScopedClaim {
  const scoped = withoutPausedQueues(db, scopeToReadyQueues(db, p));
  const queues = exclude.queues ?? [];
  const kinds = exclude.kinds ?? [];
  if (queues.length === 0 && kinds.length === 0) return scoped;
  const out: ScopedClaim = { ...scoped, excludeKinds: kinds.length > 0 ? kinds : undefined };
  if (queues.length === 0) return out;
  if (out.queues) return { ...out, queues: out.queues.filter((q) => !queues.includes(q)) };
  return { ...out, excludeQueues: [...(out.excludeQueues ?? []), ...queues] };
}

/** A claim as the candidates query takes it: the caller's, plus queues (of a claim by ids) and kinds (spent limits) to leave out. */
type ScopedClaim = ClaimParams & { excludeQueues?: string[]; excludeKinds?: string[] };

/**
 * The claim without the paused queues, read in the claim's own transaction: a paused queue is never walked (its
 * backlog may be large), and a claim by ids alone is scoped to the queues that are not paused.
 */
function withoutPausedQueues(db: Database, p: ClaimParams): ScopedClaim {
  const paused = pausedQueues(db);
  if (paused.size === 0) return p;
  if (p.queues) return { ...p, queues: p.queues.filter((q) => !paused.has(q)) };
  return { ...p, excludeQueues: [...paused] };
}

/**
 * A claim over every queue, scoped to the queues that have claimable jobs, so it walks `jobs_ready` per queue
 * like any other claim. Ordering every ready row by priority instead reads and sorts the whole backlog: 2k
 * jobs/s at 25k rows in `runUntilIdle`. The queues come from a loose index scan, one probe per queue.
 * Claims that name their queues or ids are returned as they are.
 */
export function scopeToReadyQueues(db: Database, p: ClaimParams): ClaimParams {
  if (p.queues || p.ids) return p;
  const next = `SELECT queue FROM jobs INDEXED BY jobs_ready WHERE state IN (${CLAIMABLE_SQL}) AND deleted_at IS NULL`;
  const rows = db
    .query(
      `WITH RECURSIVE q(name) AS (
         SELECT (${next} ORDER BY queue LIMIT 1)
         UNION ALL
         SELECT (${next} AND queue > q.name ORDER BY queue LIMIT 1) FROM q WHERE q.name IS NOT NULL
       ) SELECT name FROM q WHERE name IS NOT NULL`,
    )
    .all() as Row[];
  return { ...p, queues: rows.map((r) => r.name as string) };
}

/**
 * The ids a claim takes (a `SELECT id …` to nest in the claim's UPDATE). With queues, each queue is one
 * ordered walk of `jobs_ready`, pinned with INDEXED BY: after ANALYZE the planner otherwise prefers other
 * indexes and sorts the backlog (15 ms a claim at 100k rows). Several queues merge their walks' first `limit`
 * rows, so the sort is over at most queues × limit rows. Pass a claim through {@link scopeToReadyQueues} first.
 */
export function claimCandidates(p: ScopedClaim, columns: "id" | "id, kind, queue" = "id"): Statement {
  const filters: string[] = [`state IN (${CLAIMABLE_SQL})`, "deleted_at IS NULL", "scheduled_at <= ?"];
  const filterParams: SQLQueryBindings[] = [p.now.getTime()];
  if (p.executorClasses) {
    filters.push(`executor_class IN (${placeholders(p.executorClasses.length)})`);
    filterParams.push(...p.executorClasses);
  }
  if (p.excludeKinds) {
    filters.push(`kind NOT IN (${placeholders(p.excludeKinds.length)})`);
    filterParams.push(...p.excludeKinds);
  }
  if (p.ids || !p.queues) {
    if (p.ids) {
      filters.push(`id IN (${placeholders(p.ids.length)})`);
      filterParams.push(...p.ids);
    }
    if (p.queues) {
      filters.push(`queue IN (${placeholders(p.queues.length)})`);
      filterParams.push(...p.queues);
    }
    if (p.excludeQueues) {
      filters.push(`queue NOT IN (${placeholders(p.excludeQueues.length)})`);
      filterParams.push(...p.excludeQueues);
    }
    return { sql: `SELECT ${columns} FROM jobs WHERE ${filters.join(" AND ")} ORDER BY priority, scheduled_at, id LIMIT ?`, params: [...filterParams, p.limit] };
  }
  const walk = (select: string) =>
    `SELECT ${select} FROM jobs INDEXED BY jobs_ready WHERE queue = ? AND ${filters.join(" AND ")} ORDER BY priority, scheduled_at, id LIMIT ?`;
  if (p.queues.length === 1) return { sql: walk(columns), params: [p.queues[0]!, ...filterParams, p.limit] };
  const params: SQLQueryBindings[] = [];
  for (const queue of p.queues) params.push(queue, ...filterParams, p.limit);
  const union = p.queues.map(() => `SELECT * FROM (${walk(`${columns}, priority, scheduled_at`)})`).join(" UNION ALL ");
  return { sql: `SELECT ${columns} FROM (${union}) ORDER BY priority, scheduled_at, id LIMIT ?`, params: [...params, p.limit] };
}
