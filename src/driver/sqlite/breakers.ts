import type { Database } from "bun:sqlite";
import type { Row } from "../decode.ts";
import { breakerStep } from "../breakers.ts";
import type { BreakerProbe } from "../limits.ts";
import type { BreakerGate, BreakerRow, BreakerRule, BreakerTransition } from "../types.ts";
import type { RunOutcome } from "../../core/types.ts";
import { decode, toDate } from "./codec.ts";

/** Every breaker row, by kind. */
export function listBreakers(db: Database): BreakerRow[] {
  return (db.query("SELECT * FROM job_breakers ORDER BY kind").all() as Row[]).map(decode.breaker);
}

/** The open and half-open breakers, for the claim; `probing` while the probe job it recorded still runs. */
export function breakerGates(db: Database): BreakerGate[] {
  const rows = db
    .query(
      `SELECT b.kind, b.open_until,
         (b.probe_job_id IS NOT NULL AND EXISTS (SELECT 1 FROM jobs j WHERE j.id = b.probe_job_id AND j.state = 'running')) AS probing
       FROM job_breakers b WHERE b.open_until IS NOT NULL`,
    )
    .all() as Row[];
  return rows.map((r) => ({ kind: r.kind, openUntil: toDate(r.open_until)!, probing: r.probing === 1 }));
}

/** Records the probes a claim took, in the claim's transaction. */
export function recordProbes(db: Database, probes: BreakerProbe[], now: Date): void {
  const update = db.query("UPDATE job_breakers SET probe_job_id = ?, updated_at = ? WHERE kind = ?");
  for (const p of probes) update.run(p.jobId, now.getTime(), p.kind);
}

/** Counts one finished attempt against its kind's breaker (see `breakerStep`), in the finalize's transaction. */
export function applyBreaker(db: Database, rule: BreakerRule, jobId: string, outcome: RunOutcome, now: Date): BreakerTransition | null {
  const row = db.query("SELECT * FROM job_breakers WHERE kind = ?").get(rule.kind) as Row | null;
  const step = breakerStep(row ? decode.breaker(row) : null, rule, jobId, outcome, now);
  if (step.write) {
    const w = step.write;
    db.query(
      `INSERT INTO job_breakers (kind, failures, opened_at, open_until, probe_job_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (kind) DO UPDATE SET failures = excluded.failures, opened_at = excluded.opened_at, open_until = excluded.open_until,
         probe_job_id = excluded.probe_job_id, updated_at = excluded.updated_at`,
    ).run(rule.kind, w.failures, w.openedAt?.getTime() ?? null, w.openUntil?.getTime() ?? null, w.probeJobId, now.getTime());
  }
  return step.transition;
}
