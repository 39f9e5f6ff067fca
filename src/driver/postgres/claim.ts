import { newId } from "../../core/id.ts";
import type { ClaimParams, ClaimedJob } from "../types.ts";
import { claimedJob } from "./codec.ts";
import type { PgContext } from "./context.ts";
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
}

/**
 * The claim as one statement's parts: pick (index walk under `FOR UPDATE SKIP LOCKED`), lease, and write the
 * `started` run stubs, committed together; binds into `s.ps`.
 */
export function claimSql(s: Scope, p: ClaimParams): ClaimParts {
  const { t, ps } = s;
  const limit = literalLimit(p.limit);
  const now = `${ps.add(p.now)}::timestamptz`;
  const filters = [READY_PREDICATE, `scheduled_at <= ${now}`];
  if (p.executorClasses) filters.push(`executor_class = ANY(${ps.add(p.executorClasses)}::text[])`);
  if (p.ids) filters.push(`id = ANY(${ps.add(p.ids)}::text[])`);
  const order = "ORDER BY priority, scheduled_at, id";
  const pick = (extra: string) =>
    `SELECT id, priority, scheduled_at FROM ${t.jobs} WHERE ${[...filters, extra].filter(Boolean).join(" AND ")} ${order} LIMIT ${limit} FOR UPDATE SKIP LOCKED`;

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
      `SELECT c.id FROM ${queues} CROSS JOIN LATERAL (${pick("queue = q.name")}) c ` +
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
  const ctes = `${readyQueues}
    picked AS (${picked}),
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
  return { with: recursive ? "WITH RECURSIVE" : "WITH", ctes, select };
}

/** The whole claim statement for `p`, exactly as {@link jobClaim} runs it (the plan tests EXPLAIN this). */
export function claimStatement(names: SchemaNames, p: ClaimParams): SqlStatement {
  const ps = new Params();
  const claim = claimSql({ ...names, ps }, p);
  return { text: `${claim.with} ${claim.ctes} ${claim.select}`, params: ps.values };
}

/** Claims up to `p.limit` jobs in one statement. */
export async function jobClaim(ctx: PgContext, p: ClaimParams): Promise<ClaimedJob[]> {
  if (p.limit <= 0) return [];
  const { text, params } = claimStatement(ctx, p);
  const rows = await ctx.query(text, params, { growing: true });
  ctx.epoch.runsAdded(rows.length);
  return rows.map((row) => claimedJob(row, p.now));
}
