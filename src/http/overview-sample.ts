import { HTTP_API_DEFAULTS } from "../core/defaults.ts";
import { JOB_STATES, type CensusRow, type FailureRecord, type JobState, type QueueHealth } from "../core/types.ts";
import type { ControlPlane } from "./control.ts";

/** A value read from the database and when it was read. */
export interface Sample<T> {
  value: T;
  sampledAt: Date;
}

/** One census of the jobs table and when it was taken. */
export type CensusSample = Sample<CensusRow[]>;

/** How long a sample is served before the next is taken. `{}` means {@link HTTP_API_DEFAULTS}. */
export interface SharedSampleOptions {
  minAgeMs?: number;
  costFactor?: number;
}

/**
 * A read the overview serves from a sample rather than running per request: one sample serves every client
 * until it is older than `max(minAgeMs, costFactor × what it cost)`. Then the next request still gets it at once
 * while a fresh one is taken in the background, so no request waits for the read except the very first, and ten
 * open dashboards cost what one does. A read that fails is logged and the last sample kept; with no sample yet,
 * the request fails with the error.
 */
export class SharedSample<T> {
  readonly #read: () => Promise<T>;
  readonly #control: Pick<ControlPlane, "clock" | "logger">;
  readonly #minAgeMs: number;
  readonly #costFactor: number;
  #sample: Sample<T> | null = null;
  /** When the current sample stops being fresh (clock milliseconds). */
  #freshUntil = 0;
  #taking: Promise<Sample<T>> | null = null;

  constructor(read: () => Promise<T>, control: Pick<ControlPlane, "clock" | "logger">, options: SharedSampleOptions = {}) {
    this.#read = read;
    this.#control = control;
    this.#minAgeMs = options.minAgeMs ?? HTTP_API_DEFAULTS.overviewSampleMinAgeMs;
    this.#costFactor = options.costFactor ?? HTTP_API_DEFAULTS.overviewSampleCostFactor;
  }

  /** The current sample; the first call waits for the first read. */
  async get(): Promise<Sample<T>> {
    if (this.#sample === null) return this.#take();
    if (this.#control.clock.now().getTime() >= this.#freshUntil && this.#taking === null) {
      this.#take().catch((error: unknown) => this.#control.logger.warn("flywheel: overview sample failed; serving the previous one", { error: (error as Error).message }));
    }
    return this.#sample;
  }

  /** Resolves once no read is in flight (a background refresh has landed or failed): for a clean stop, and tests. */
  async settled(): Promise<void> {
    await this.#taking?.catch(() => {});
  }

  #take(): Promise<Sample<T>> {
    this.#taking ??= (async () => {
      const started = this.#control.clock.now();
      const t0 = performance.now();
      try {
        const value = await this.#read();
        const cost = performance.now() - t0;
        this.#sample = { value, sampledAt: started };
        this.#freshUntil = started.getTime() + Math.max(this.#minAgeMs, cost * this.#costFactor);
        return this.#sample;
      } finally {
        this.#taking = null;
      }
    })();
    return this.#taking;
  }
}

/** The overview's samples: the census of the jobs table, and the recent failures (a walk of the newest finished jobs). */
export interface OverviewSamples {
  census: SharedSample<CensusRow[]>;
  failures: SharedSample<FailureRecord[]>;
}

/** {@link OverviewSamples} over `control`, shared by every request of one control plane. */
export function overviewSamples(control: Pick<ControlPlane, "jobCensus" | "recentFailures" | "clock" | "logger">, options: SharedSampleOptions = {}): OverviewSamples {
  return {
    census: new SharedSample(() => control.jobCensus(), control, options),
    failures: new SharedSample(() => control.recentFailures(), control, options),
  };
}

/** Queue health from a census: all queues, or the groups of `queues`; lag as of `now`. */
export function censusHealth(sample: CensusSample, now: Date, queues?: string[]): QueueHealth {
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  let ready = 0;
  let scheduledAhead = 0;
  let oldest: Date | null = null;
  for (const row of sample.value) {
    if (queues && !queues.includes(row.queue)) continue;
    counts[row.state] += row.count;
    ready += row.ready;
    scheduledAhead += row.scheduledAhead;
    if (row.oldestReadyAt && (oldest === null || row.oldestReadyAt < oldest)) oldest = row.oldestReadyAt;
  }
  return {
    counts,
    ready,
    inflight: counts.running,
    scheduledAhead,
    oldestReadyAgeSeconds: oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0,
    sampledAt: sample.sampledAt,
  };
}

/** Counts per kind and state from a census (queues summed), by kind then state in byte order, as `overview()` gives them. */
export function censusByKind(sample: CensusSample): Array<{ kind: string; state: JobState; count: number }> {
  const byKey = new Map<string, { kind: string; state: JobState; count: number }>();
  for (const row of sample.value) {
    const key = `${row.kind}\u0000${row.state}`;
    const seen = byKey.get(key);
    if (seen) seen.count += row.count;
    else byKey.set(key, { kind: row.kind, state: row.state, count: row.count });
  }
  const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...byKey.values()].sort((a, b) => byteOrder(a.kind, b.kind) || byteOrder(a.state, b.state));
}
