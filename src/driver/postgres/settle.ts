import { FlywheelError } from "../../core/errors.ts";
import type { JobState, RunOutcome } from "../../core/types.ts";
import { settleRun, type RunFacts, type RunSettlement } from "../rules.ts";
import type { FinalizeItem } from "../types.ts";
import type { PgContext } from "./context.ts";
import type { Params } from "./params.ts";
import { storableJson, storableText } from "./storable.ts";

// The rare side of a finalize: items whose job did not advance (the fence was lost to an operator's cancel or
// the sweep, the reply of an earlier try was lost, or a sweep item met a renewed lease). Their facts are read in
// a fresh statement, so a cancel that committed while the finalize waited on the job's row lock is seen;
// `settleRun` decides, and the runs it says to write are written in one more statement.

/** Rounds of read, decide, write before giving up on a run that keeps changing under the finalize. */
const SETTLE_ROUNDS = 3;

/** The run columns a finalize writes from its item, in the order {@link bindRunDetails} binds them. */
export const RUN_DETAIL_COLUMNS = "error_class, error_message, output, finished_at, duration_ms, cost_micros";

/**
 * Binds the run details of `items` (one array per column of {@link RUN_DETAIL_COLUMNS}) into `ps` and returns
 * their placeholders, cast, for an `unnest(...)`. What PostgreSQL cannot store in them is replaced with U+FFFD:
 * refusing an outcome would fail its batch on every retry.
 */
export function bindRunDetails(ps: Params, items: Pick<FinalizeItem, "run">[]): string[] {
  const arr = (values: unknown[], type: string) => `${ps.add(values)}::${type}[]`;
  return [
    arr(items.map((i) => storableText(i.run.errorClass)), "text"),
    arr(items.map((i) => storableText(i.run.errorMessage)), "text"),
    arr(items.map((i) => (i.run.output === undefined ? null : storableJson(JSON.stringify(i.run.output)))), "text"),
    arr(items.map((i) => i.run.finishedAt.toISOString()), "timestamptz"),
    arr(items.map((i) => Math.round(i.run.durationMs)), "bigint"),
    arr(items.map((i) => (i.run.costMicros === null ? null : Math.round(i.run.costMicros))), "bigint"),
  ];
}

/** Reads, decides and writes the runs of items whose job did not advance; returns each item's settlement. */
export async function settleUnadvanced(ctx: PgContext, items: FinalizeItem[]): Promise<Map<FinalizeItem, RunSettlement>> {
  const settled = new Map<FinalizeItem, RunSettlement>();
  let pending = items;
  for (let round = 1; pending.length > 0; round++) {
    if (round > SETTLE_ROUNDS) {
      throw new FlywheelError("database", `jobs: finalize of run ${pending[0]!.runId} kept changing under it; try again`);
    }
    const facts = await readFacts(ctx, pending);
    const decided = pending.map((item) => {
      const read = facts.get(item.runId)!;
      return { item, facts: read, settlement: settleRun(item, read) };
    });
    const writes = decided.filter((d) => d.settlement.write);
    const written = writes.length > 0 ? await writeRuns(ctx, writes) : new Set<string>();
    pending = [];
    for (const d of decided) {
      // A write that matched no row means the run changed after it was read (a cancel closed it): decide again.
      if (d.settlement.write && !written.has(d.item.runId)) pending.push(d.item);
      else settled.set(d.item, d.settlement);
    }
  }
  return settled;
}

/** Each item's job state and recorded run outcome (the fence result is known: it did not advance). */
async function readFacts(ctx: PgContext, items: FinalizeItem[]): Promise<Map<string, RunFacts>> {
  const rows = await ctx.query(
    `SELECT i.run_id, j.state AS job_state, r.outcome AS recorded
     FROM unnest($1::text[], $2::text[]) AS i(run_id, job_id)
     LEFT JOIN ${ctx.t.jobs} j ON j.id = i.job_id LEFT JOIN ${ctx.t.runs} r ON r.id = i.run_id`,
    [items.map((i) => i.runId), items.map((i) => i.jobId)],
  );
  return new Map(
    rows.map((r) => [
      r.run_id as string,
      { advanced: false, jobState: (r.job_state as JobState | null) ?? null, recorded: (r.recorded as RunOutcome | null) ?? null },
    ]),
  );
}

/**
 * Writes the decided outcome and the item's details over each run, only while the run still holds the outcome
 * the decision read (`expected`), and only over what a finalize may overwrite: the claim's stub, the sweep's
 * `crashed`, or the `cancelled` an operator's cancel recorded on a job that is still cancelled. Returns the ids
 * of the runs written.
 */
async function writeRuns(ctx: PgContext, writes: Array<{ item: FinalizeItem; facts: RunFacts; settlement: RunSettlement }>): Promise<Set<string>> {
  const s = ctx.scope();
  const runIds = s.ps.add(writes.map((w) => w.item.runId));
  const expected = s.ps.add(writes.map((w) => w.facts.recorded));
  const outcomes = s.ps.add(writes.map((w) => w.settlement.outcome));
  const details = bindRunDetails(s.ps, writes.map((w) => w.item));
  const rows = await ctx.query(
    `UPDATE ${s.t.runs} r SET outcome = w.outcome, error_class = w.error_class, error_message = w.error_message,
       output = w.output::jsonb, finished_at = w.finished_at, duration_ms = w.duration_ms, cost_micros = w.cost_micros,
       enqueued_children = 0
     FROM unnest(${runIds}::text[], ${expected}::text[], ${outcomes}::text[], ${details.join(", ")})
       AS w(run_id, expected, outcome, ${RUN_DETAIL_COLUMNS})
     WHERE r.id = w.run_id AND r.outcome = w.expected
       AND (r.outcome IN ('started', 'crashed')
            OR (r.outcome = 'cancelled' AND (SELECT j.state FROM ${s.t.jobs} j WHERE j.id = r.job_id) = 'cancelled'))
     RETURNING r.id`,
    s.ps.values,
  );
  return new Set(rows.map((r) => r.id as string));
}
