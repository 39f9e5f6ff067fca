import type { Row } from "../decode.ts";
import { settleRun } from "../rules.ts";
import { isTerminal } from "../../core/types.ts";
import { TERMINAL_SQL } from "../sql.ts";
import type { ClaimParams, ClaimedJob, FinalizeItem, FinalizeOutcome, InsertOutcome } from "../types.ts";
import { applyBreakers } from "./breakers.ts";
import { claimSql, claimWithinLimits, jobClaim } from "./claim.ts";
import { claimedJob } from "./codec.ts";
import { inTransaction, type PgContext } from "./context.ts";
import { insertOutcomes, insertSql } from "./insert.ts";
import { RUN_DETAIL_COLUMNS, bindRunDetails, settleUnadvanced } from "./settle.ts";
import type { Scope } from "./tables.ts";
import { waitSql } from "./finalize-wait.ts";
import { claimableQueues, endedParents, notifyQueues, wakeParentsSql } from "./wake.ts";

/** The finalize's parts: its CTEs and the `SELECT` of its one result row, for {@link jobFinalize} or to embed. */
export interface FinalizeParts {
  ctes: string;
  /** `applied` (ids of the jobs that advanced), `kids` (ids of the follow-ups inserted), `woke`. */
  select: string;
}

/**
 * The finalize's CTEs (`items`, `fenced` when sweeping, `kid_ends`, `adv`, `waits`, `kids`, `parents`, `runs`,
 * `woke`), binding into `s.ps`: advance the jobs whose fence holds, insert the follow-ups of those (and only
 * those), record their runs, tell the parents of jobs that ended, and notify for work that became runnable now.
 * Items that did not advance are left to {@link settleUnadvanced}. `alsoUpdated` lists subqueries of the ids of
 * jobs the enclosing statement updates elsewhere (a claim's picks): a row changes once per statement.
 */
function finalizeSql(s: Scope, items: FinalizeItem[], at: Date, alsoUpdated: string[] = []): FinalizeParts {
  const { t, ps } = s;
  const now = `${ps.add(at)}::timestamptz`;
  const arr = (values: unknown[], type: string) => `${ps.add(values)}::${type}[]`;
  const waits = items.map((i) => i.job.wait ?? null);
  const itemRows = `unnest(
      ${arr(items.map((i) => i.jobId), "text")}, ${arr(items.map((i) => i.leaseToken), "text")},
      ${arr(items.map((i) => i.expiredBefore?.toISOString() ?? null), "timestamptz")},
      ${arr(items.map((i) => i.job.state), "text")}, ${arr(items.map((i) => i.job.scheduledAt?.toISOString() ?? null), "timestamptz")},
      ${arr(items.map((i) => i.job.maxAttemptsDelta), "int")}, ${arr(waits.map((w) => w?.reason ?? null), "text")},
      ${arr(waits.map((w) => w?.wakeAt?.toISOString() ?? null), "timestamptz")}, ${arr(waits.map((w) => w?.seenWakeSeq ?? null), "int")},
      ${arr(items.map((i) => i.runId), "text")}, ${arr(items.map((i) => i.run.outcome), "text")}, ${bindRunDetails(ps, items).join(", ")}
    ) WITH ORDINALITY AS i(job_id, token, expired_before, state, scheduled_at, delta, wait_reason, wake_at, seen_seq, run_id, outcome, ${RUN_DETAIL_COLUMNS}, ord)`;
  const followUps = items.flatMap((i) => i.followUps.map((row) => ({ row, owner: i.runId })));
  let kids = "";
  let childCount = "0";
  if (followUps.length > 0) {
    // A follow-up carries its parent item's run id (`owner`); only the items whose job advanced get theirs.
    const insert = insertSql(s, followUps.map((f) => f.row), {
      owner: followUps.map((f) => f.owner),
      // Refusing a follow-up here would fail the whole batch on every retry; store it with U+FFFD instead.
      unstorable: "replace",
      guard: "v.owner IN (SELECT items.run_id FROM items WHERE items.job_id IN (SELECT id FROM adv))",
    });
    kids = `kids AS (${insert.text}),
      kid_owner AS (SELECT * FROM unnest(${insert.ids}::text[], ${insert.owner}::text[]) AS o(id, owner)),`;
    childCount = "(SELECT count(*) FROM kids JOIN kid_owner o ON o.id = kids.id WHERE o.owner = items.run_id)";
  }
  // A sweep item's fence also needs the lease still expired (not renewed since it was listed). Its job is locked
  // with SKIP LOCKED first: a job being finalized right now is skipped and its own finalize wins, and sweepers
  // on several nodes never wait on (or deadlock over) each other's batches.
  const sweeping = items.some((i) => i.expiredBefore !== undefined);
  const fenced = sweeping
    ? `fenced AS (
        SELECT j.id FROM ${t.jobs} j JOIN items ON j.id = items.job_id
        WHERE items.expired_before IS NOT NULL AND j.lease_token = items.token AND j.state = 'running'
          AND j.leased_until < items.expired_before
        FOR UPDATE OF j SKIP LOCKED
      ),`
    : "";
  const fence = `j.lease_token = items.token${sweeping ? " AND (items.expired_before IS NULL OR j.id IN (SELECT id FROM fenced))" : ""}`;
  const ending = items.some((i) => isTerminal(i.job.state));
  const wait = waitSql(s, items, { ending, now });
  // The parents of jobs that ended learn of it here, an index probe per parent; none for jobs without one.
  // Parents this statement advances itself are left out: a suspending parent sees a child of its batch end
  // through `kid_ends` instead.
  const parents = ending
    ? `parents AS (${wakeParentsSql(s, { parentIds: endedParents("adv"), exclude: ["SELECT id FROM adv", ...alsoUpdated], now })}),`
    : "";
  const runnable = [
    claimableQueues("adv", now),
    ...(followUps.length > 0 ? ["SELECT queue FROM kids WHERE state = 'available'"] : []),
    ...(ending ? [claimableQueues("parents", now)] : []),
  ];
  // Every join here is an index probe per item or a hashed `IN`: joining these CTEs to each other (row estimates
  // of 10 whatever the batch) planned nested loops, quadratic in the batch (110 items took 30 ms).
  const ctes = `items AS (SELECT * FROM ${itemRows}),
    ${fenced}
    ${wait.kidEnds}
    adv AS (
      UPDATE ${t.jobs} j SET ${wait.assignments},
        max_attempts = j.max_attempts + items.delta, leased_until = NULL, lease_token = NULL, updated_at = ${now},
        finalized_at = CASE WHEN items.state IN (${TERMINAL_SQL}) THEN ${now} ELSE NULL END
      FROM items WHERE j.id = items.job_id AND ${fence}
      RETURNING j.id, j.queue, j.state, j.scheduled_at, j.parent_job_id, j.attempt
    ),
    ${wait.waits}
    ${kids}
    ${parents}
    runs AS (
      UPDATE ${t.runs} r SET outcome = items.outcome,
        error_class = items.error_class, error_message = items.error_message, output = items.output::jsonb,
        finished_at = items.finished_at, duration_ms = items.duration_ms, cost_micros = items.cost_micros,
        enqueued_children = ${childCount}
      FROM items WHERE r.id = items.run_id AND items.job_id IN (SELECT id FROM adv)
    ),
    woke AS (${notifyQueues(s, runnable.join(" UNION ALL "))})`;
  const select = `SELECT (SELECT coalesce(array_agg(id), '{}') FROM adv) AS applied,
      ${followUps.length > 0 ? "(SELECT coalesce(array_agg(id), '{}') FROM kids)" : "'{}'::text[]"} AS kids,
      (SELECT n FROM woke) AS woke`;
  return { ctes, select };
}

/**
 * One statement, so one round trip and atomic without an explicit transaction, whenever every item advances.
 * Statements outside a transaction also sidestep a postgres.js defect: when a connection dies inside
 * `sql.begin`, its ROLLBACK is written to the dead socket from a timer and throws an uncaught TypeError (see
 * test/postgres/outage.pg.test.ts).
 */
export async function jobFinalize(ctx: PgContext, p: { items: FinalizeItem[]; now: Date }): Promise<FinalizeOutcome[]> {
  if (p.items.length === 0) return [];
  if (p.items.some((i) => i.breaker)) return finalizeWithBreakers(ctx, p);
  const s = ctx.scope();
  const fin = finalizeSql(s, p.items, p.now);
  const [row] = await ctx.query(`WITH ${fin.ctes} ${fin.select}`, s.ps.values, { jobPath: true });
  return finalizeOutcomes(ctx, p.items, row!);
}

/**
 * {@link jobFinalize} for a batch holding attempts of kinds with a circuit breaker: the finalize statement, then
 * each of those attempts counted against its breaker, in one transaction on a reserved connection, so no claim
 * ever sees a probe ended while its breaker has not moved yet. Batches without breakers never come here.
 */
async function finalizeWithBreakers(ctx: PgContext, p: { items: FinalizeItem[]; now: Date }): Promise<FinalizeOutcome[]> {
  return inTransaction(ctx, async (tx, db) => {
    const s = tx.scope();
    const fin = finalizeSql(s, p.items, p.now);
    const [row] = await tx.query(`WITH ${fin.ctes} ${fin.select}`, s.ps.values, { jobPath: true });
    const outcomes = await finalizeOutcomes(tx, p.items, row!);
    return applyBreakers(tx, { items: p.items, outcomes, advanced: new Set<string>(row!.applied as string[]), now: p.now }, db);
  });
}

/**
 * {@link jobFinalize} then {@link jobClaim} as one statement: one round trip and one commit for the runner's
 * steady state, where the outcomes of the jobs that just finished free the slots the claim fills. The claim
 * reads the snapshot from before the finalize, so a job this finalize makes runnable again waits for the next
 * claim.
 */
export async function jobFinalizeAndClaim(
  ctx: PgContext,
  p: { items: FinalizeItem[]; claim: ClaimParams },
): Promise<{ outcomes: FinalizeOutcome[]; jobs: ClaimedJob[] }> {
  if (p.items.length === 0) return { outcomes: [], jobs: await jobClaim(ctx, p.claim) };
  if (p.claim.limit <= 0) return { outcomes: await jobFinalize(ctx, { items: p.items, now: p.claim.now }), jobs: [] };
  // Under limits (or with breakers to count) the finalize and the claim each need their own transaction; the
  // finalize commits first, so the ends it records count for the claim.
  if (ctx.gates.limited || p.items.some((i) => i.breaker)) {
    const outcomes = await jobFinalize(ctx, { items: p.items, now: p.claim.now });
    return { outcomes, jobs: await jobClaim(ctx, p.claim) };
  }
  const s = ctx.scope();
  const claim = claimSql(s, p.claim);
  // A parent the claim picks is not told of its children's ends: the attempt it starts reads them, committed.
  const fin = finalizeSql(s, p.items, p.claim.now, ["SELECT id FROM picked"]);
  // One row per claimed job, or one row of NULLs when none was; the finalize's result rides on the first.
  const first = (column: string) => `CASE WHEN coalesce(c.rn, 1) = 1 THEN f.${column} END AS ${column}`;
  const rows = await ctx.query(
    `${claim.with} ${claim.ctes}, ${fin.ctes}
     SELECT ${["applied", "kids"].map(first).join(", ")}, c.*, ${claim.gated} AS gated
     FROM (${fin.select}) f LEFT JOIN (${claim.select}) c ON true ORDER BY c.rn`,
    s.ps.values,
    { jobPath: true },
  );
  const outcomes = await finalizeOutcomes(ctx, p.items, rows[0]!);
  if (rows[0]!.gated) {
    // Limits exist: the gated claim picked nothing; claim again under them, after this finalize's commit.
    ctx.gates.limited = true;
    return { outcomes, jobs: await claimWithinLimits(ctx, p.claim) };
  }
  const jobs = rows.filter((row) => row.id !== null).map((row) => claimedJob(row, p.claim.now));
  ctx.epoch.runsAdded(jobs.length);
  return { outcomes, jobs };
}

/**
 * Each item's outcome from the finalize's result row: advanced items report what they requested and their
 * follow-ups (collisions naming the holder, as `jobInsert` does); the others are settled by the shared rules.
 */
async function finalizeOutcomes(ctx: PgContext, items: FinalizeItem[], row: Row): Promise<FinalizeOutcome[]> {
  const advancedJobs = new Set<string>(row.applied as string[]);
  const advanced = items.filter((i) => advancedJobs.has(i.jobId));
  const kids = advanced.flatMap((i) => i.followUps);
  const kidOutcomes = kids.length > 0 ? await insertOutcomes(ctx, kids, new Set<string>(row.kids as string[])) : [];
  const children = new Map<FinalizeItem, InsertOutcome[]>();
  let next = 0;
  for (const item of advanced) children.set(item, kidOutcomes.slice(next, (next += item.followUps.length)));

  const unadvanced = items.filter((i) => !advancedJobs.has(i.jobId));
  const settled = unadvanced.length > 0 ? await settleUnadvanced(ctx, unadvanced) : new Map();
  return items.map((item): FinalizeOutcome => {
    const settlement = children.has(item)
      ? settleRun(item, { advanced: true, jobState: item.job.state, recorded: item.run.outcome })
      : settled.get(item)!;
    return { applied: settlement.applied, outcome: settlement.outcome, children: children.get(item) ?? [] };
  });
}
