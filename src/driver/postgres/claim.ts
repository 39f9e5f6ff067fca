import { newId } from "../../core/id.ts";
import type { Row } from "../decode.ts";
import { LimitedClaimPlan, type LimitCandidate, type LimitExclusions } from "../limits.ts";
import type { ClaimParams, ClaimedJob } from "../types.ts";
import { claimedJob } from "./codec.ts";
import { inTransaction, type PgContext } from "./context.ts";
import { breakerGates, recordProbes } from "./breakers.ts";
import { limitUsage, recordLimitStarts } from "./limits.ts";
import { Params, literalLimit, type SqlStatement } from "./params.ts";
import { READY_PREDICATE, type SchemaNames, type Scope } from "./tables.ts";

/**
 * The claim's parts: `with` (`WITH` or `WITH RECURSIVE`), its CTEs, and the `SELECT` of the claimed rows (each
 * job's columns, `run_id`, and `rn`, the claim order), so another statement can embed them.
 */
export interface ClaimParts {
  with: "WITH" | "WITH RECURSIVE";
  ctes: string;
  select: string;
  /**
   * A boolean expression, true when limits or open breakers exist: then a gated claim picked nothing, and the caller must claim
   * again through {@link claimWithinLimits}.
   */
  gated: string;
}

/**
 * How a claim statement is built. `gate`: pick nothing while any limit exists (the plain claim: limits need the
 * serialised path). `exclude`: kinds and queues whose limits are spent (the limited path's walks).
 */
export interface ClaimShape {
  gate: boolean;
  exclude?: LimitExclusions;
}

/** The pick's CTEs (`ready_queues` when walking every queue, then `picked`), and the `now` placeholder they bound. */
interface PickParts {
  with: "WITH" | "WITH RECURSIVE";
  ctes: string;
  now: string;
  gated: string;
}

/**
 * The claim as one statement's parts: pick (index walk under `FOR UPDATE SKIP LOCKED`), lease, and write the
 * `started` run stubs, committed together; binds into `s.ps`.
 */
export function claimSql(s: Scope, p: ClaimParams, shape: ClaimShape = { gate: true }): ClaimParts {
  const { t, ps } = s;
  const limit = literalLimit(p.limit);
  const pick = pickSql(s, p, shape);
  const now = pick.now;
  const ctes = `${pick.ctes},
    claimed AS (
      UPDATE ${t.jobs} j SET state = 'running', attempt = j.attempt + 1, leased_until = ${ps.add(p.leasedUntil)}::timestamptz,
        lease_token = ${ps.add(p.leaseToken)}::text, wait_reason = NULL, wake_at = NULL, updated_at = ${now}
      FROM picked WHERE j.id = picked.id
      RETURNING j.*
    ),
    numbered AS (SELECT c.*, (row_number() OVER (ORDER BY c.priority, c.scheduled_at, c.id))::int AS rn FROM claimed c),
    stubs AS (
      INSERT INTO ${t.runs} (id, job_id, attempt, executor_class, executor_id, started_at, outcome, created_at)
      SELECT (${ps.add(Array.from({ length: limit }, newId))}::text[])[n.rn], n.id, n.attempt, n.executor_class,
        ${ps.add(p.executorId)}::text, ${now}, 'started', ${now} FROM numbered n
      RETURNING id, job_id
    )`;
  const select = "SELECT n.*, stubs.id AS run_id FROM numbered n JOIN stubs ON stubs.job_id = n.id ORDER BY n.rn";
  return { with: pick.with, ctes, select, gated: pick.gated };
}

/** The pick: the walk of `jobs_ready` that chooses (and locks) up to `p.limit` claimable jobs. */
function pickSql(s: Scope, p: ClaimParams, shape: ClaimShape): PickParts {
  const { t, ps } = s;
  const limit = literalLimit(p.limit);
  const now = `${ps.add(p.now)}::timestamptz`;
  const filters = [READY_PREDICATE, `scheduled_at <= ${now}`];
  if (p.executorClasses) filters.push(`executor_class = ANY(${ps.add(p.executorClasses)}::text[])`);
  if (p.ids) filters.push(`id = ANY(${ps.add(p.ids)}::text[])`);
  const gated = `(EXISTS (SELECT 1 FROM ${t.limits}) OR EXISTS (SELECT 1 FROM ${t.breakers} WHERE open_until IS NOT NULL))`;
  // Uncorrelated, so planned once per statement (an InitPlan): while no limit or open breaker exists it costs
  // two probes of (near) empty tables.
  if (shape.gate) filters.push(`NOT ${gated}`);
  if (shape.exclude?.kinds.length) filters.push(`NOT (kind = ANY(${ps.add(shape.exclude.kinds)}::text[]))`);
  if (shape.exclude?.queues.length) filters.push(`NOT (queue = ANY(${ps.add(shape.exclude.queues)}::text[]))`);
  const order = "ORDER BY priority, scheduled_at, id";
  const pick = (extra: string) =>
    `SELECT id, kind, queue, priority, scheduled_at FROM ${t.jobs} WHERE ${[...filters, extra].filter(Boolean).join(" AND ")} ${order} LIMIT ${limit} FOR UPDATE SKIP LOCKED`;

  let recursive = false;
  let picked: string;
  // A paused queue is left out before its walk starts: a paused backlog is never read.
  const notPaused = (name: string) => `NOT EXISTS (SELECT 1 FROM ${t.queues} pq WHERE pq.name = ${name} AND pq.paused_at IS NOT NULL)`;
  if (p.ids || (p.queues && p.queues.length === 1)) {
    // One queue is a straight walk of jobs_ready. With explicit ids the primary key finds them; order is moot.
    const queue = p.queues ? (p.queues.length === 1 ? `queue = ${ps.add(p.queues[0])}::text` : `queue = ANY(${ps.add(p.queues)}::text[])`) : "";
    picked = pick([queue, notPaused(p.queues?.length === 1 ? `${ps.add(p.queues[0])}::text` : `${t.jobs}.queue`)].filter(Boolean).join(" AND "));
  } else {
    // Several queues: walk jobs_ready once per queue (each walk already ordered and limited), then merge the
    // few candidates. `queue = ANY(...)` instead would read every ready row of those queues and sort them.
    // The candidates the merge drops stay locked until this statement commits; other claimers skip them.
    let queues: string;
    if (p.queues) {
      queues = `(SELECT name FROM unnest(${ps.add(p.queues)}::text[]) AS u(name) WHERE ${notPaused("u.name")}) AS q`;
    } else {
      // Every queue: a loose index scan lists the distinct queues that have ready rows, one index probe each.
      recursive = true;
      queues = `(SELECT name FROM ready_queues r WHERE r.name IS NOT NULL AND ${notPaused("r.name")}) AS q`;
    }
    picked =
      `SELECT c.id, c.kind, c.queue, c.priority, c.scheduled_at FROM ${queues} CROSS JOIN LATERAL (${pick("queue = q.name")}) c ` +
      `ORDER BY c.priority, c.scheduled_at, c.id LIMIT ${limit}`;
  }
  // Unqualified columns in the recursive step resolve to `j`, the innermost FROM.
  const readyQueues = recursive
    ? `ready_queues(name) AS (
         (SELECT queue FROM ${t.jobs} WHERE ${READY_PREDICATE} ORDER BY queue LIMIT 1)
         UNION ALL
         SELECT (SELECT queue FROM ${t.jobs} j WHERE ${READY_PREDICATE} AND queue > r.name ORDER BY queue LIMIT 1)
         FROM ready_queues r WHERE r.name IS NOT NULL
       ),`
    : "";
  return { with: recursive ? "WITH RECURSIVE" : "WITH", ctes: `${readyQueues} picked AS (${picked})`, now, gated };
}

/**
 * The whole claim statement for `p`, exactly as {@link jobClaim} runs it (the plan tests EXPLAIN this): one row
 * per claimed job, or one row of NULLs when none was, each with `gated`.
 */
export function claimStatement(names: SchemaNames, p: ClaimParams, shape: ClaimShape = { gate: true }): SqlStatement {
  const ps = new Params();
  const claim = claimSql({ ...names, ps }, p, shape);
  return {
    text: `${claim.with} ${claim.ctes} SELECT c.*, ${claim.gated} AS gated FROM (SELECT 1) one LEFT JOIN (${claim.select}) c ON true ORDER BY c.rn`,
    params: ps.values,
  };
}

/**
 * The limited path's walk (the plan tests EXPLAIN this): up to `p.limit` candidates in claim order, locked
 * (`FOR UPDATE SKIP LOCKED`) until the claim's transaction ends, with their kind and queue, leaving out `exclude`.
 */
export function limitCandidatesStatement(names: SchemaNames, p: ClaimParams, exclude: LimitExclusions): SqlStatement {
  const ps = new Params();
  const pick = pickSql({ ...names, ps }, p, { gate: false, exclude });
  return { text: `${pick.with} ${pick.ctes} SELECT id, kind, queue FROM picked ORDER BY priority, scheduled_at, id`, params: ps.values };
}

/** Claims up to `p.limit` jobs: one statement while no limit exists, else {@link claimWithinLimits}. */
export async function jobClaim(ctx: PgContext, p: ClaimParams): Promise<ClaimedJob[]> {
  if (p.limit <= 0) return [];
  if (ctx.gates.limited) return claimWithinLimits(ctx, p);
  const { text, params } = claimStatement(ctx, p);
  const rows = await ctx.query(text, params, { jobPath: true });
  if (rows[0]?.gated) {
    ctx.gates.limited = true;
    return claimWithinLimits(ctx, p);
  }
  return claimedRows(ctx, rows, p.now);
}

/** The claimed jobs among a claim statement's rows (a row of NULLs stands for none). */
function claimedRows(ctx: PgContext, rows: Row[], now: Date): ClaimedJob[] {
  const jobs = rows.filter((row) => row.id !== null).map((row) => claimedJob(row, now));
  ctx.epoch.runsAdded(jobs.length);
  return jobs;
}

/**
 * The claim under limits and breakers (SPEC §18), in one transaction on a reserved connection: an advisory lock
 * serialises it with every other such claim of this schema, on every node, so the usage and breakers it reads (a
 * fresh snapshot, taken after the lock) stay true until it commits. Then it walks candidates leaving out spent
 * kinds and queues, claims those that fit (`src/driver/limits.ts` decides: an open breaker's kind has no budget,
 * a half-open one a single probe), logs the starts of rate-limited ones and records the probes it took. When
 * neither limits nor open breakers exist any more it claims as the plain claim does, and the driver goes back to
 * the plain claim.
 */
export async function claimWithinLimits(ctx: PgContext, p: ClaimParams): Promise<ClaimedJob[]> {
  // The lock in the BEGIN's round trip (a simple query: no parameters; the schema is a validated plain
  // identifier). Every claim holds it in turn while limits exist: the fewer trips under it, the more claims a second.
  const begin = `BEGIN; SELECT pg_advisory_xact_lock(hashtext('flywheel.limits:${ctx.schema}'))`;
  const claimed = await inTransaction(
    ctx,
    async (tx, db) => {
      const usage = await limitUsage(tx, p.now, db);
      const breakers = await breakerGates(tx, db);
      const claimed: ClaimedJob[] = [];
      const claim = async (q: ClaimParams) => {
        const { text, params } = claimStatement(tx, q, { gate: false });
        claimed.push(...claimedRows(tx, await tx.query(text, params, { jobPath: true }), p.now));
      };
      if (usage.length === 0 && breakers.length === 0) {
        ctx.gates.limited = false;
        await claim(p);
        return claimed;
      }
      const plan = new LimitedClaimPlan(usage, breakers, p.now);
      do {
        const left = p.limit - claimed.length;
        const walk = limitCandidatesStatement(tx, { ...p, limit: left }, plan.exclusions());
        const ids = plan.take((await tx.query(walk.text, walk.params, { jobPath: true })) as unknown as LimitCandidate[], left);
        if (ids.length > 0) await claim({ ...p, ids, limit: ids.length });
      } while (plan.more(p.limit - claimed.length));
      await recordLimitStarts(tx, plan.starts(claimed), p.now, db);
      await recordProbes(tx, plan.probes(claimed), p.now, db);
      return claimed;
    },
    begin,
  );
  return claimed.sort((a, b) => a.priority - b.priority || a.scheduledAt.getTime() - b.scheduledAt.getTime() || (a.id < b.id ? -1 : 1));
}
