import type { Row } from "../decode.ts";
import { breakerStep } from "../breakers.ts";
import type { BreakerProbe } from "../limits.ts";
import type { BreakerGate, BreakerRow, BreakerTransition, FinalizeItem, FinalizeOutcome } from "../types.ts";
import { decode } from "./codec.ts";
import type { PgContext, PostgresExecutor } from "./context.ts";

/** Every breaker row, by kind in byte order (as SQLite sorts). */
export async function breakerList(ctx: PgContext): Promise<BreakerRow[]> {
  return (await ctx.query(`SELECT * FROM ${ctx.t.breakers} ORDER BY kind COLLATE "C"`)).map(decode.breaker);
}

/** The open and half-open breakers, for the claim's transaction; `probing` while the probe job it recorded still runs. */
export async function breakerGates(ctx: PgContext, db: PostgresExecutor): Promise<BreakerGate[]> {
  const rows = await ctx.query(
    `SELECT b.kind, b.open_until,
       (b.probe_job_id IS NOT NULL AND EXISTS (SELECT 1 FROM ${ctx.t.jobs} j WHERE j.id = b.probe_job_id AND j.state = 'running')) AS probing
     FROM ${ctx.t.breakers} b WHERE b.open_until IS NOT NULL`,
    [],
    { db },
  );
  return rows.map((r: Row) => ({ kind: r.kind, openUntil: r.open_until as Date, probing: r.probing === true }));
}

/** Records the probes a claim took, in the claim's transaction. */
export async function recordProbes(ctx: PgContext, probes: BreakerProbe[], now: Date, db: PostgresExecutor): Promise<void> {
  if (probes.length === 0) return;
  await ctx.query(
    `UPDATE ${ctx.t.breakers} b SET probe_job_id = p.job_id, updated_at = $3 FROM unnest($1::text[], $2::text[]) AS p(kind, job_id) WHERE b.kind = p.kind`,
    [probes.map((p) => p.kind), probes.map((p) => p.jobId), now],
    { db },
  );
}

/**
 * Counts the advanced items' attempts against their kinds' breakers (see `breakerStep`), in input order, on the
 * finalize's transaction `db`: each row is locked first, so finalizes of one kind on several nodes take turns.
 * Returns the outcomes with the transitions they caused.
 */
export async function applyBreakers(
  ctx: PgContext,
  p: { items: FinalizeItem[]; outcomes: FinalizeOutcome[]; advanced: Set<string>; now: Date },
  db: PostgresExecutor,
): Promise<FinalizeOutcome[]> {
  const { items, now } = p;
  const out = [...p.outcomes];
  for (const [i, item] of items.entries()) {
    const rule = item.breaker;
    // Only an attempt that advanced its job counts: a replay or a lost fence was counted by the finalize that won.
    if (!rule || !p.advanced.has(item.jobId)) continue;
    await ctx.query(`INSERT INTO ${ctx.t.breakers} (kind, failures, updated_at) VALUES ($1, 0, $2) ON CONFLICT (kind) DO NOTHING`, [rule.kind, now], { db });
    const [row] = await ctx.query(`SELECT * FROM ${ctx.t.breakers} WHERE kind = $1 FOR UPDATE`, [rule.kind], { db });
    const step = breakerStep(decode.breaker(row!), rule, item.jobId, item.run.outcome, now);
    if (step.write) {
      const w = step.write;
      await ctx.query(
        `UPDATE ${ctx.t.breakers} SET failures = $2, opened_at = $3, open_until = $4, probe_job_id = $5, updated_at = $6 WHERE kind = $1`,
        [rule.kind, w.failures, w.openedAt, w.openUntil, w.probeJobId, now],
        { db },
      );
    }
    if (step.transition) out[i] = { ...out[i]!, breaker: step.transition as BreakerTransition };
  }
  return out;
}
