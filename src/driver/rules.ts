import { FlywheelError } from "../core/errors.ts";
import type { JobState, RunOutcome } from "../core/types.ts";
import type { FinalizeItem } from "./types.ts";

// What a finalize records, decided once for both dialects. The drivers read the facts (did the fenced update
// advance the job, what state is the job in, what does its run row already say) and write what these rules say.

/** What the database holds for a finalize item, read in the finalize's transaction. */
export interface RunFacts {
  /** The fenced job update advanced the job. */
  advanced: boolean;
  /** The job's state now; null when the job is gone. */
  jobState: JobState | null;
  /** The run row's outcome now; null when there is no such run. */
  recorded: RunOutcome | null;
}

/** What to do with an item's run row, and what to report. */
export interface RunSettlement {
  /** Write the item's run details with `outcome`; false leaves the row as it is. */
  write: boolean;
  /** The outcome recorded (written now, or found). */
  outcome: RunOutcome;
  /** Whether the item's requested outcome is what the job went through. */
  applied: boolean;
}

/** Run outcomes a finalize may still overwrite: the claim's stub, and the sweep's verdict on it. */
const OPEN: ReadonlySet<RunOutcome | null> = new Set<RunOutcome | null>(["started", "crashed"]);

/**
 * Decides how a finalize item's run is recorded:
 * - the job advanced: the requested outcome;
 * - a sweep item (`crashed`) whose job did not advance (its lease was renewed, or the attempt finalized or
 *   another node swept it first): nothing, the run stays as it is;
 * - the run was already finalized (a retried finalize whose reply was lost): nothing; report what is recorded;
 *   a run an operator's cancel closed is the exception: the attempt's own details fill it in, still `cancelled`;
 * - otherwise the fence was lost: `cancelled` when an operator cancelled the job, else `superseded`.
 * @throws FlywheelError `database` when a finalize names a run that does not exist.
 */
export function settleRun(item: Pick<FinalizeItem, "jobId" | "runId" | "run">, facts: RunFacts): RunSettlement {
  const requested = item.run.outcome;
  if (facts.advanced) return { write: true, outcome: requested, applied: true };
  if (requested === "crashed") return { write: false, outcome: facts.recorded ?? "crashed", applied: false };
  if (facts.recorded === null) throw new FlywheelError("database", `jobs: finalize found no run ${item.runId} for job ${item.jobId}`);
  if (facts.recorded === "cancelled" && facts.jobState === "cancelled") {
    return { write: true, outcome: "cancelled", applied: requested === "cancelled" };
  }
  if (!OPEN.has(facts.recorded)) return { write: false, outcome: facts.recorded, applied: facts.recorded === requested };
  return { write: true, outcome: facts.jobState === "cancelled" ? "cancelled" : "superseded", applied: false };
}

/** The message recorded on a run the sweep ends. */
export const CRASHED_MESSAGE = "jobs: lease expired: the runner stopped renewing it";

/** The message recorded on a run an operator's cancel closes. */
export const CANCELLED_MESSAGE = "jobs: cancelled by operator";
