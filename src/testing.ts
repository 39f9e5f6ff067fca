import type { Flywheel } from "./flywheel.ts";
import type { JobRecord, JobState } from "./core/types.ts";

export { FixedClock } from "./core/clock.ts";

/** Works every due job, then returns how many attempts finished (see `Flywheel.runUntilIdle`). */
export function runUntilIdle(fw: Flywheel): Promise<number> {
  return fw.runUntilIdle();
}

/** Works one job inline, now, and returns it as it ended up. Throws if the job was not due. */
export async function workJob(fw: Flywheel, id: string): Promise<JobRecord> {
  if (!(await fw.workJob(id))) {
    const job = await fw.findJob(id);
    throw new Error(`flywheel/testing: job ${id} was not claimable (state ${job.state}, scheduled at ${job.scheduledAt.toISOString()})`);
  }
  return fw.findJob(id);
}

/**
 * Asserts that a job of `kind` was enqueued whose args contain `args` (a deep partial match), optionally in
 * `state`; returns the newest such job, or throws listing what was enqueued instead.
 * @example const job = await assertEnqueued(fw, "send_email", { to: "a@example.com" });
 */
export async function assertEnqueued(fw: Flywheel, kind: string, args?: unknown, options: { state?: JobState } = {}): Promise<JobRecord> {
  const jobs = await fw.listJobs({ kind, state: options.state, limit: 1000 });
  const match = jobs.find((job) => args === undefined || contains(job.args, args));
  if (match) return match;
  const seen = jobs.slice(0, 5).map((j) => JSON.stringify(j.args)).join(", ") || "none";
  throw new Error(`flywheel/testing: no ${kind} job with args matching ${JSON.stringify(args)}; enqueued ${kind} args: ${seen}`);
}

function contains(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== "object") return Object.is(actual, expected);
  if (actual === null || typeof actual !== "object") return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.length === actual.length && expected.every((e, i) => contains(actual[i], e));
  }
  return Object.entries(expected).every(([key, value]) => contains((actual as Record<string, unknown>)[key], value));
}
