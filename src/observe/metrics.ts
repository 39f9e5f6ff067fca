import type { QueueHealth } from "../core/types.ts";
import type { Observer } from "./observer.ts";

/** Upper bounds (seconds) of the job duration histogram. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * Prometheus metrics fed by observer events, plus queue gauges sampled at render time. Counter and histogram
 * names follow `flywheel_<noun>_<unit|total>`.
 */
export class Metrics implements Observer {
  #claimed = 0;
  #retried = 0;
  readonly #finished = new Map<string, number>();
  readonly #durations = new Map<string, Histogram>();
  readonly #labelCache = new Map<string, Map<string, string>>();

  onClaim(): void {
    this.#claimed++;
  }

  onRetry(): void {
    this.#retried++;
  }

  onFinish(e: { job: { kind: string; queue: string }; outcome: string; durationMs: number }): void {
    const key = this.#labels(e.job.kind, e.job.queue);
    const labels = `${key},outcome="${e.outcome}"`;
    this.#finished.set(labels, (this.#finished.get(labels) ?? 0) + 1);
    let h = this.#durations.get(key);
    if (!h) this.#durations.set(key, (h = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const seconds = e.durationMs / 1000;
    for (let i = 0; i < DURATION_BUCKETS.length; i++) if (seconds <= DURATION_BUCKETS[i]!) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** Escaped `kind="…",queue="…"`, built once per pair: this runs for every finished attempt. */
  #labels(kind: string, queue: string): string {
    let byQueue = this.#labelCache.get(kind);
    if (!byQueue) this.#labelCache.set(kind, (byQueue = new Map()));
    let labels = byQueue.get(queue);
    if (labels === undefined) byQueue.set(queue, (labels = `kind="${escape(kind)}",queue="${escape(queue)}"`));
    return labels;
  }

  /** Renders the Prometheus text exposition format (version 0.0.4). */
  render(health: QueueHealth): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("flywheel_jobs_claimed_total", "counter", "Jobs claimed by this process's runners.");
    out.push(`flywheel_jobs_claimed_total ${this.#claimed}`);
    family("flywheel_jobs_finished_total", "counter", "Attempts finished, by kind, queue and outcome.");
    for (const [labels, n] of this.#finished) out.push(`flywheel_jobs_finished_total{${labels}} ${n}`);
    family("flywheel_jobs_retried_total", "counter", "Failed attempts scheduled for retry.");
    out.push(`flywheel_jobs_retried_total ${this.#retried}`);
    family("flywheel_job_duration_seconds", "histogram", "Worker run time per attempt.");
    for (const [labels, h] of this.#durations) {
      DURATION_BUCKETS.forEach((le, i) => out.push(`flywheel_job_duration_seconds_bucket{${labels},le="${le}"} ${h.buckets[i]}`));
      out.push(`flywheel_job_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      out.push(`flywheel_job_duration_seconds_sum{${labels}} ${h.sum}`);
      out.push(`flywheel_job_duration_seconds_count{${labels}} ${h.count}`);
    }
    family("flywheel_queue_jobs", "gauge", "Jobs by state, sampled at scrape time.");
    for (const [state, n] of Object.entries(health.counts)) out.push(`flywheel_queue_jobs{state="${state}"} ${n}`);
    family("flywheel_queue_ready", "gauge", "Jobs claimable now.");
    out.push(`flywheel_queue_ready ${health.ready}`);
    family("flywheel_queue_inflight", "gauge", "Jobs running.");
    out.push(`flywheel_queue_inflight ${health.inflight}`);
    family("flywheel_queue_oldest_ready_age_seconds", "gauge", "How long the oldest ready job has waited: the queue's lag.");
    out.push(`flywheel_queue_oldest_ready_age_seconds ${health.oldestReadyAgeSeconds}`);
    return `${out.join("\n")}\n`;
  }
}

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
