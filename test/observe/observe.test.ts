import { expect, test } from "bun:test";
import { createLogger } from "../../src/core/logger.ts";
import { Metrics } from "../../src/observe/metrics.ts";
import { EventBus } from "../../src/runtime/events.ts";
import { multiObserver } from "../../src/observe/observer.ts";

const health = {
  counts: { available: 3, scheduled: 1, running: 2, retryable: 0, waiting: 0, succeeded: 10, cancelled: 0, discarded: 1 },
  ready: 3,
  inflight: 2,
  scheduledAhead: 1,
  oldestReadyAgeSeconds: 4.5,
  sampledAt: new Date(0),
};
const job = { id: "j1", kind: 'we"ird', queue: "default", attempt: 1, runId: "r1" };

test("metrics render the SPEC names in Prometheus text format with escaped labels", () => {
  const m = new Metrics();
  m.onClaim();
  m.onRetry();
  m.onFinish({ job, outcome: "success", durationMs: 30 });
  m.onFinish({ job, outcome: "error", durationMs: 3000 });
  const text = m.render(health);
  expect(text).toContain("flywheel_jobs_claimed_total 1\n");
  expect(text).toContain("flywheel_jobs_retried_total 1\n");
  expect(text).toContain('flywheel_jobs_finished_total{kind="we\\"ird",queue="default",outcome="success"} 1\n');
  expect(text).toContain('flywheel_job_duration_seconds_bucket{kind="we\\"ird",queue="default",le="0.05"} 1\n');
  expect(text).toContain('flywheel_job_duration_seconds_bucket{kind="we\\"ird",queue="default",le="+Inf"} 2\n');
  expect(text).toContain('flywheel_job_duration_seconds_count{kind="we\\"ird",queue="default"} 2\n');
  expect(text).toContain('flywheel_queue_jobs{state="running"} 2\n');
  expect(text).toContain("flywheel_queue_ready 3\n");
  expect(text).toContain("flywheel_queue_inflight 2\n");
  expect(text).toContain("flywheel_queue_oldest_ready_age_seconds 4.5\n");
  for (const line of text.trimEnd().split("\n")) {
    expect(line).toMatch(/^(# (HELP|TYPE) flywheel_\w+ .+|flywheel_\w+(\{[^}]*\})? [0-9.e+-]+)$/);
  }
});

test("schedule metrics: runs by final state and skips by reason from the event bus, last success per schedule, build info", () => {
  const m = new Metrics();
  const events = new EventBus(createLogger({ write: () => {} }));
  const off = m.watchSchedules(events);
  const finished = (slug: string, state: "succeeded" | "discarded") =>
    events.emit("schedule:finished", { slug, jobId: "j", state, succeeded: state === "succeeded", exitCode: null, durationMs: 1, failuresBefore: 0, failuresAfter: 0 });
  finished('ba"ck', "succeeded");
  finished('ba"ck', "succeeded");
  finished('ba"ck', "discarded");
  events.emit("periodic:fired", { slug: "tidy", enqueued: 1, skipped: 5, reason: "overlap", skips: { "catch_up=latest": 3, overlap: 2 } });
  events.emit("periodic:fired", { slug: "tidy", enqueued: 1, skipped: 1, reason: "overlap", skips: { overlap: 1 } });
  off();
  finished('ba"ck', "succeeded");
  const text = m.render(health, [{ slug: 'ba"ck', lastSuccessAt: new Date(1_700_000_000_500) }, { slug: "never", lastSuccessAt: null }]);
  expect(text).toContain('flywheel_schedule_runs_total{slug="ba\\"ck",outcome="succeeded"} 2\n');
  expect(text).toContain('flywheel_schedule_runs_total{slug="ba\\"ck",outcome="discarded"} 1\n');
  expect(text).toContain('flywheel_schedule_skipped_total{slug="tidy",reason="catch_up=latest"} 3\n');
  expect(text).toContain('flywheel_schedule_skipped_total{slug="tidy",reason="overlap"} 3\n');
  expect(text).toContain('flywheel_schedule_last_success_timestamp_seconds{slug="ba\\"ck"} 1700000000.5\n');
  expect(text).not.toContain('slug="never"');
  expect(text).toMatch(/^flywheel_build_info\{version="[^"]+",bun="\d+\.\d+\.\d+"\} 1$/m);
});

test("multiObserver isolates a throwing observer and logs it", () => {
  const lines: string[] = [];
  const seen: string[] = [];
  const o = multiObserver(
    [{ onStart: () => { throw new Error("bad hook"); } }, { onStart: (e) => void seen.push(e.job.id) }],
    createLogger({ write: (l) => lines.push(l) }),
  );
  o.onStart({ job });
  expect(seen).toEqual(["j1"]);
  expect(lines.join("\n")).toContain("observer hook threw");
  o.onClaim({ job, executorId: "x" });
});

test("logger: levels filter, json lines parse, child fields bind", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", format: "json", write: (l) => lines.push(l) }).child({ node: "n1" });
  log.debug("hidden");
  log.warn("visible", { n: 2 });
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", msg: "visible", node: "n1", n: 2 });
  const text: string[] = [];
  createLogger({ write: (l) => text.push(l) }).info("hello world", { reason: "two words", n: 1 });
  expect(text[0]).toMatch(/ INFO  hello world reason="two words" n=1$/);
});
