import type { Clock } from "../core/clock.ts";
import type { EventBus } from "../runtime/events.ts";
import { HTTP_API_DEFAULTS } from "../core/defaults.ts";
import type { ThroughputJson } from "./wire.ts";

/** Outcomes counted as failed attempts; the rest that are not `success` (snooze, suspended, cancelled…) are not counted. */
const FAILED = new Set(["error", "timeout", "crashed"]);

/**
 * Attempts this node finished per minute over the last hour, succeeded and failed, for the dashboard's
 * sparkline. Counted from the event bus as attempts finish, in memory, so a dashboard costs no query for it;
 * it starts empty when the node starts and counts this node's runners only.
 */
export class Throughput {
  readonly #clock: Clock;
  readonly #bucketMs = HTTP_API_DEFAULTS.throughputBucketMs;
  readonly #buckets = new Map<number, { succeeded: number; failed: number }>();
  readonly #unsubscribe: () => void;

  constructor(events: EventBus, clock: Clock) {
    this.#clock = clock;
    this.#unsubscribe = events.on("job:finished", (e) => {
      if (e.outcome !== "success" && !FAILED.has(e.outcome)) return;
      const start = this.#bucketOf(this.#clock.now());
      let bucket = this.#buckets.get(start);
      if (!bucket) {
        this.#buckets.set(start, (bucket = { succeeded: 0, failed: 0 }));
        this.#prune(start);
      }
      if (e.outcome === "success") bucket.succeeded++;
      else bucket.failed++;
    });
  }

  /** The last hour, oldest bucket first, the current (partial) minute last; empty minutes are zeros. */
  snapshot(): ThroughputJson {
    const last = this.#bucketOf(this.#clock.now());
    const count = HTTP_API_DEFAULTS.throughputBuckets;
    const buckets = Array.from({ length: count }, (_, i) => {
      const start = last - (count - 1 - i) * this.#bucketMs;
      const b = this.#buckets.get(start);
      return { start: new Date(start).toISOString(), succeeded: b?.succeeded ?? 0, failed: b?.failed ?? 0 };
    });
    return { bucket_seconds: this.#bucketMs / 1000, buckets };
  }

  /** Stops counting. */
  close(): void {
    this.#unsubscribe();
  }

  #bucketOf(now: Date): number {
    return Math.floor(now.getTime() / this.#bucketMs) * this.#bucketMs;
  }

  #prune(latest: number): void {
    const oldest = latest - (HTTP_API_DEFAULTS.throughputBuckets - 1) * this.#bucketMs;
    for (const start of this.#buckets.keys()) if (start < oldest) this.#buckets.delete(start);
  }
}
