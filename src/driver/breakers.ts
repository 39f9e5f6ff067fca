import type { RunOutcome } from "../core/types.ts";
import type { BreakerRow, BreakerRule, BreakerTransition } from "./types.ts";

/** A breaker's stored state, without its key and timestamp. */
export type BreakerState = Pick<BreakerRow, "failures" | "openedAt" | "openUntil" | "probeJobId">;

/** What an attempt's outcome does to its kind's breaker: the state to write (null: nothing changes), and the transition. */
export interface BreakerStep {
  write: BreakerState | null;
  transition: BreakerTransition | null;
}

const FAILED: ReadonlySet<RunOutcome> = new Set<RunOutcome>(["error", "timeout", "crashed"]);

/**
 * How one finished attempt moves its kind's breaker (SPEC §18), written once for both dialects; the driver reads
 * the row under a lock, calls this, and writes what it returns, in the finalize's transaction.
 *
 * - Closed (no `openUntil`): a failed attempt (error, timeout, crash) adds to the streak and opens the breaker
 *   once the streak reaches `rule.failures`; a success resets the streak.
 * - Open or half-open: only the probe's outcome counts. Success closes it; failure opens it again for `openFor`
 *   from `now`. Attempts that were already running when it opened (stragglers) change nothing.
 * - Other outcomes (snooze, cancel, suspend) change nothing: a probe that ends so stops running, and the claim
 *   then lets another probe run.
 */
export function breakerStep(current: BreakerState | null, rule: BreakerRule, jobId: string, outcome: RunOutcome, now: Date): BreakerStep {
  const failed = FAILED.has(outcome);
  if (!failed && outcome !== "success") return { write: null, transition: null };
  const s: BreakerState = current ?? { failures: 0, openedAt: null, openUntil: null, probeJobId: null };
  const open = (failures: number): BreakerStep => {
    const openUntil = new Date(now.getTime() + rule.openForMs);
    return { write: { failures, openedAt: now, openUntil, probeJobId: null }, transition: { kind: rule.kind, to: "opened", failures, openUntil } };
  };
  if (s.openUntil !== null) {
    if (s.probeJobId !== jobId) return { write: null, transition: null };
    if (failed) return open(s.failures + 1);
    return { write: { failures: 0, openedAt: null, openUntil: null, probeJobId: null }, transition: { kind: rule.kind, to: "closed" } };
  }
  if (!failed) return s.failures === 0 ? { write: null, transition: null } : { write: { ...s, failures: 0 }, transition: null };
  const failures = s.failures + 1;
  if (failures >= rule.failures) return open(failures);
  return { write: { ...s, failures }, transition: null };
}
