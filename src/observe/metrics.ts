import type { PeriodicRecord, QueueHealth } from "../core/types.ts";
import { VERSION } from "../core/version.ts";
import type { EventBus } from "../runtime/events.ts";
import type { Observer } from "./observer.ts";

/** Upper bounds (seconds) of the job duration histogram. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/** What `/metrics` samples of each schedule at scrape time. */
export type ScheduleSample = Pick<PeriodicRecord, "slug" | "lastSuccessAt">;

/**
 * Prometheus metrics fed by observer events, plus queue and schedule gauges sampled at render time. Counter and
 * histogram names follow `flywheel_<noun>_<unit|total>`. Counters count what this process saw; gauges read the
 * database, so every node reports the same value.
 */
export class Metrics implements Observer {
  #claimed = 0;
  #retried = 0;
  readonly #finished = new Map<string, number>();
  readonly #durations = new Map<string, Histogram>();
  readonly #labelCache = new Map<string, Map<string, string>>();
  readonly #scheduleRuns = new Map<string, number>();
  readonly #scheduleSkips = new Map<string, number>();

  /**
   * Counts the runs of schedules that end in this process (`flywheel_schedule_runs_total`, by the job's final
   * state) and the fires its scheduler drops (`flywheel_schedule_skipped_total`, by reason) from `events`.
   * Returns the unsubscribe function.
   */
  watchSchedules(events: EventBus): () => void {
    const offs = [
      events.on("schedule:finished", (e) => bump(this.#scheduleRuns, `slug="${escape(e.slug)}",outcome="${e.state}"`, 1)),
      events.on("periodic:fired", (e) => {
        for (const [reason, n] of Object.entries(e.skips)) bump(this.#scheduleSkips, `slug="${escape(e.slug)}",reason="${escape(reason)}"`, n);
      }),
    ];
    return () => offs.forEach((off) => off());
  }

  onClaim(): void {
    this.#claimed++;
  }

  onRetry(): void {
    this.#retried++;
  }

  onFinish(e: { job: { kind: string; queue: string }; outcome: string; durationMs: number }): void {
    const key = this.#labels(e.job.kind, e.job.queue);
    const labels = `${key},outcome="${e.outcome}"`;
    bump(this.#finished, labels, 1);
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

  /**
   * Renders the Prometheus text exposition format (version 0.0.4). `schedules` gives each schedule's last
   * success (a schedule that never succeeded has no sample).
   */
  render(health: QueueHealth, schedules: ScheduleSample[] = []): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("flywheel_build_info", "gauge", "Always 1; the labels say which flywheel and Bun run this process.");
    out.push(`flywheel_build_info{version="${escape(VERSION)}",bun="${escape(Bun.version)}"} 1`);
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
    family("flywheel_schedule_last_success_timestamp_seconds", "gauge", "When each schedule's last successful run ended (Unix seconds), sampled at scrape time.");
    for (const s of schedules) {
      if (s.lastSuccessAt) out.push(`flywheel_schedule_last_success_timestamp_seconds{slug="${escape(s.slug)}"} ${s.lastSuccessAt.getTime() / 1000}`);
    }
    family("flywheel_schedule_runs_total", "counter", "Runs of schedules ended in this process, by slug and the job's final state (succeeded, discarded, cancelled).");
    for (const [labels, n] of this.#scheduleRuns) out.push(`flywheel_schedule_runs_total{${labels}} ${n}`);
    family("flywheel_schedule_skipped_total", "counter", "Schedule fires this process's scheduler dropped, by slug and reason (overlap, catch_up=<policy>).");
    for (const [labels, n] of this.#scheduleSkips) out.push(`flywheel_schedule_skipped_total{${labels}} ${n}`);
    return `${out.join("\n")}\n`;
  }
}

function bump(counters: Map<string, number>, labels: string, by: number): void {
  counters.set(labels, (counters.get(labels) ?? 0) + by);
}

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
