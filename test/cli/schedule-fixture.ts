import { connect, FixedClock, type Flywheel } from "../../src/index.ts";
import { commandWorkers } from "../../src/workers/index.ts";

/**
 * A sandbox database written through the library on a fixed clock, as a daemon would have left it: schedules
 * whose runs (real shell commands) ended, so CLI tests can read per-schedule state, stored output and metrics.
 */
export interface ScheduleFixture {
  fw: Flywheel;
  clock: FixedClock;
  /** Triggers `slug` now, works the job to its end, waits until the schedule's state records it; returns the job id. */
  fire(slug: string): Promise<string>;
  close(): Promise<void>;
}

/** Opens (and migrates) the SQLite file at `path` on a clock set to `start`, with the command workers registered. */
export async function scheduleFixture(path: string, start: Date): Promise<ScheduleFixture> {
  const clock = new FixedClock(start);
  const fw = await connect(`sqlite:${path}`, { clock });
  await fw.migrate();
  fw.register(...commandWorkers({ envAllowlist: ["PATH"] }));
  return {
    fw,
    clock,
    async fire(slug) {
      const id = await fw.triggerPeriodic(slug);
      const recorded = fw.events.once("schedule:finished", (e) => e.jobId === id, { timeoutMs: 10_000 });
      // Works retries too: each failed attempt's backoff is skipped by moving the clock.
      for (;;) {
        await fw.runUntilIdle();
        const job = await fw.findJob(id);
        if (["succeeded", "discarded", "cancelled"].includes(job.state)) break;
        clock.advance("1h");
      }
      await recorded;
      // Manual fires are keyed by their millisecond: the next one must come later.
      clock.advance("1s");
      return id;
    },
    close: () => fw.close(),
  };
}
