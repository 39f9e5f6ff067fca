import { describe, expect, test } from "bun:test";
import { createLogger, type LogFormat, type LogLevel, silentLogger } from "../../src/core/logger.ts";
import type { Job } from "../../src/core/types.ts";
import { loggerObserver } from "../../src/observe/job-log.ts";
import { jobOutputLogger } from "../../src/observe/job-output.ts";
import type { FinishEvent } from "../../src/observe/observer.ts";
import type { JobRef } from "../../src/runtime/events.ts";

const scheduled: JobRef = { id: "j1", kind: "shell", queue: "periodic", attempt: 2, runId: "r2", periodic: "nightly-backup" };
const adHoc: JobRef = { id: "j2", kind: "shell", queue: "default", attempt: 1, runId: "r3" };

/** A logger whose lines are kept, parsed when JSON. */
function capture(format: LogFormat = "json", level: LogLevel = "debug") {
  const lines: string[] = [];
  const logger = createLogger({ format, level, write: (l) => lines.push(l) });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

function finish(job: JobRef, over: Partial<FinishEvent>): FinishEvent {
  return { job, outcome: "success", applied: true, state: "succeeded", errorClass: null, errorMessage: null, durationMs: 7, output: { exit_code: 0 }, retryDelayMs: null, ...over };
}

const failure = { outcome: "error", errorClass: "transient", errorMessage: "exit 3: disk full", output: { exit_code: 3 } } as const;

describe("loggerObserver", () => {
  test("a success is an info line carrying the schedule; a job no schedule fired has no schedule field", () => {
    const { logger, parsed } = capture();
    const obs = loggerObserver(logger);
    obs.onFinish!(finish(scheduled, {}));
    obs.onFinish!(finish(adHoc, {}));
    const [a, b] = parsed();
    expect(a).toMatchObject({ level: "info", msg: "jobs: job succeeded", job_id: "j1", kind: "shell", schedule: "nightly-backup", run_id: "r2", attempt: 2, exit_code: 0 });
    expect(b).toMatchObject({ level: "info", msg: "jobs: job succeeded", job_id: "j2" });
    expect(b).not.toHaveProperty("schedule");
  });

  test("the failure that ends the job is one error line saying discarded, with class, message, attempts and exit code", () => {
    const { logger, parsed } = capture();
    loggerObserver(logger).onFinish!(finish(scheduled, { ...failure, state: "discarded" }));
    expect(parsed()).toEqual([
      expect.objectContaining({
        level: "error",
        msg: "jobs: job discarded",
        schedule: "nightly-backup",
        attempts: 2,
        error_class: "transient",
        error: "exit 3: disk full",
        exit_code: 3,
      }),
    ]);
  });

  test("a failure that will be retried is one warn line saying when", () => {
    const { logger, parsed } = capture();
    loggerObserver(logger).onFinish!(finish(scheduled, { ...failure, state: "retryable", retryDelayMs: 2_500 }));
    expect(parsed()).toEqual([
      expect.objectContaining({
        level: "warn",
        msg: "jobs: attempt failed, retrying in 2s500ms",
        schedule: "nightly-backup",
        error_class: "transient",
        error: "exit 3: disk full",
        next_attempt: 3,
        retry_in_ms: 2_500,
      }),
    ]);
  });

  test("cancelled, superseded, snoozed and started attempts are said as such", () => {
    const { logger, parsed } = capture();
    const obs = loggerObserver(logger);
    obs.onStart!({ job: scheduled });
    obs.onFinish!(finish(scheduled, { outcome: "cancelled", state: "cancelled", errorMessage: "jobs: cancelled by operator" }));
    obs.onFinish!(finish(scheduled, { outcome: "superseded", applied: false, state: null }));
    obs.onFinish!(finish(scheduled, { outcome: "snooze", state: "scheduled" }));
    expect(parsed().map((l) => [l.level, l.msg.replace(/:.*/, ""), l.schedule])).toEqual([
      ["debug", "jobs", "nightly-backup"],
      ["info", "jobs", "nightly-backup"],
      ["warn", "jobs", "nightly-backup"],
      ["info", "jobs", "nightly-backup"],
    ]);
    expect(parsed().map((l) => l.msg)).toEqual([
      "jobs: attempt started",
      "jobs: job cancelled",
      "jobs: attempt superseded: its lease was lost, its outcome is recorded but not applied",
      "jobs: job snoozed",
    ]);
    expect(parsed()[1]).toMatchObject({ reason: "jobs: cancelled by operator" });
  });

  test("in text format a multi-line error stays one line per event", () => {
    const { logger, lines } = capture("text");
    loggerObserver(logger).onFinish!(finish(scheduled, { ...failure, state: "discarded", errorMessage: "exit 1: line one\nline two\r\u001b[31m" }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\n\r\u001b]/);
    expect(lines[0]).toMatch(/^\S+ ERROR jobs: job discarded job_id=j1 kind=shell schedule=nightly-backup run_id=r2 attempt=2 attempts=2 /);
    expect(lines[0]).toContain(' error="exit 1: line one\\nline two\\r\\u001b[31m"');
  });
});

describe("jobOutputLogger", () => {
  const job = (metadata: Record<string, unknown>): Job<unknown> => ({
    id: "j1",
    kind: "shell",
    queue: "periodic",
    args: {},
    attempt: 1,
    maxAttempts: 1,
    runId: "r1",
    parentId: null,
    tags: [],
    metadata,
    enqueuedAt: new Date(0),
    logger: silentLogger,
    signal: new AbortController().signal,
  });

  test("each line is an info line whose message is the line, tagged with its channel, the job and its schedule", () => {
    const { logger, parsed } = capture();
    const forward = jobOutputLogger(logger);
    forward(job({ periodic: "nightly-backup" }), { channel: "stdout", text: "copied 3 files", cutBytes: 0 });
    forward(job({ periodic: "nightly-backup" }), { channel: "stderr", text: "copied 3 files", cutBytes: 0 });
    forward(job({}), { channel: "stdout", text: "x".repeat(10), cutBytes: 90 });
    const [out, err, cut] = parsed();
    expect(out).toMatchObject({ level: "info", msg: "copied 3 files", channel: "stdout", job_id: "j1", kind: "shell", schedule: "nightly-backup", run_id: "r1" });
    expect(out).not.toHaveProperty("cut_bytes");
    // Repeated lines are all kept.
    expect(err).toMatchObject({ level: "info", msg: "copied 3 files", channel: "stderr", schedule: "nightly-backup" });
    expect(cut).toMatchObject({ msg: "xxxxxxxxxx", cut_bytes: 90 });
    expect(cut).not.toHaveProperty("schedule");
  });

  test("in text format a line with control characters stays one line", () => {
    const { logger, lines } = capture("text");
    jobOutputLogger(logger)(job({ periodic: "p" }), { channel: "stdout", text: "progress\r50%\u001b[0m\u0000", cutBytes: 0 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+ INFO  progress\\r50%\\u001b\[0m\\u0000 channel=stdout job_id=j1 kind=shell schedule=p run_id=r1 attempt=1$/);
  });
});
