import { describe, expect, test } from "bun:test";
import { alertEnv, alertJobs, alertPayload, type AlertRule, jobLinks, outputTail, pingJob, pingUrl, ruleId, webhookBody } from "../../src/alerts/index.ts";

const origin = { now: new Date("2026-03-02T03:00:05Z"), host: "web1", baseUrl: new URL("http://127.0.0.1:7741/") };
const failure = alertPayload(
  {
    event: "failure",
    schedule: "nightly",
    jobId: "0190-job",
    state: "discarded",
    exitCode: 3,
    durationMs: 1500,
    attempts: 2,
    error: "exit 3: disk full",
    stderr: "warming up\ndisk full\n\n",
    stdout: "copied 10 files\n",
    consecutiveFailures: 4,
  },
  origin,
);
const webhook = (on: AlertRule["on"], url = "https://hooks.example.com/a"): AlertRule => ({ on, target: { type: "webhook", url, format: "json", headers: {} }, timeoutMs: 10_000 });

describe("the payload", () => {
  test("carries every key, the facts, the tails and the links; what does not apply is null", () => {
    expect(failure).toEqual({
      version: 1,
      event: "failure",
      schedule: "nightly",
      title: "nightly failed",
      text: [
        "flywheel: schedule nightly on web1 failed: discarded, exit 3, after 2 attempts (last attempt 1s500ms)",
        "error: exit 3: disk full",
        "--- stderr (last lines) ---",
        "warming up\ndisk full",
        "--- stdout (last lines) ---",
        "copied 10 files",
        "http://127.0.0.1:7741/jobs/0190-job",
      ].join("\n"),
      time: "2026-03-02T03:00:05.000Z",
      host: "web1",
      job_id: "0190-job",
      state: "discarded",
      exit_code: 3,
      duration_ms: 1500,
      attempts: 2,
      error: "exit 3: disk full",
      stderr_tail: "warming up\ndisk full",
      stdout_tail: "copied 10 files",
      consecutive_failures: 4,
      reason: null,
      fire_at: null,
      started_at: null,
      grace_ms: null,
      skipped: null,
      links: { api: "http://127.0.0.1:7741/api/v1/jobs/0190-job", dashboard: "http://127.0.0.1:7741/jobs/0190-job" },
    });
  });

  test("says why for each event", () => {
    const missed = alertPayload({ event: "missed", schedule: "s", reason: "not_fired", fireAt: new Date("2026-03-02T03:00:00Z"), graceMs: 300_000 }, { ...origin, baseUrl: null });
    expect(missed.title).toBe("s missed a fire");
    expect(missed.text).toBe("flywheel: schedule s on web1 did not start its 2026-03-02T03:00:00.000Z fire within 5m: no scheduler fired it (is a flywheel node running?)");
    expect(missed.links).toBeNull();
    const skipped = alertPayload({ event: "skipped", schedule: "s", skipped: 3, reason: "catch_up=latest" }, origin);
    expect(skipped.text).toBe("flywheel: schedule s on web1 skipped 3 fires: fires missed while no scheduler ran were dropped (catch_up: latest)");
    const recovery = alertPayload({ event: "recovery", schedule: "s", consecutiveFailures: 1 }, { ...origin, baseUrl: null });
    expect(recovery.text).toBe("flywheel: schedule s on web1 succeeded again after 1 failed run");
  });

  test("output tails keep the last lines within a byte budget, without NUL or trailing blank lines", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join("\n");
    expect(outputTail(lines)?.split("\n")).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 11}`));
    expect(outputTail("a\0b\n\n  \n")).toBe("ab");
    expect(outputTail("")).toBeNull();
    expect(outputTail("\n\n")).toBeNull();
    expect(outputTail("x".repeat(100), 20, 10)).toBe(`…${"x".repeat(10)}`);
    // A cut inside a multi-byte character never shows half of it.
    expect(outputTail("ééééé", 20, 3)).toBe("…é");
  });

  test("links name the host, not a wildcard listen address", () => {
    expect(jobLinks(new URL("http://0.0.0.0:7741/"), "j", "web1").api).toBe("http://web1:7741/api/v1/jobs/j");
    expect(jobLinks(new URL("http://[::]:7741/"), "j", "web1").dashboard).toBe("http://web1:7741/jobs/j");
  });
});

describe("delivery", () => {
  test("webhook bodies: flywheel's JSON, Slack-style text with the output fenced, or the text alone", () => {
    expect(webhookBody(failure, "json")).toEqual({ body: JSON.stringify(failure), contentType: "application/json" });
    const slack = webhookBody(failure, "slack");
    expect(slack.contentType).toBe("application/json");
    expect(Object.keys(JSON.parse(slack.body))).toEqual(["text"]);
    expect(JSON.parse(slack.body).text).toContain("stderr (last lines):\n```\nwarming up\ndisk full\n```");
    expect(JSON.parse(slack.body).text).toContain("<http://127.0.0.1:7741/jobs/0190-job|job 0190-job>");
    expect(webhookBody(failure, "text")).toEqual({ body: failure.text, contentType: "text/plain; charset=utf-8" });
  });

  test("a command alert's environment: each fact, empty when it does not apply, and the JSON", () => {
    const env = alertEnv(failure);
    expect(env).toMatchObject({
      FLYWHEEL_ALERT_EVENT: "failure",
      FLYWHEEL_SCHEDULE: "nightly",
      FLYWHEEL_JOB_ID: "0190-job",
      FLYWHEEL_JOB_STATE: "discarded",
      FLYWHEEL_EXIT_CODE: "3",
      FLYWHEEL_DURATION_MS: "1500",
      FLYWHEEL_STDERR_TAIL: "warming up\ndisk full",
      FLYWHEEL_REASON: "",
      FLYWHEEL_FIRE_AT: "",
      FLYWHEEL_JOB_URL: "http://127.0.0.1:7741/jobs/0190-job",
      FLYWHEEL_HOST: "web1",
    });
    expect(JSON.parse(env.FLYWHEEL_ALERT_JSON!)).toEqual(failure);
  });

  test("alert jobs: one per alert that fires on the event, each unique per occurrence and alert", () => {
    const rules = [webhook(["failure"]), webhook(["recovery"], "https://b.example.com"), { on: ["failure"], target: { type: "command", command: ["notify"] }, timeoutMs: 60_000 } as AlertRule];
    const jobs = alertJobs(failure, rules, "0190-job", 5_000);
    expect(jobs.map((j) => j.kind)).toEqual(["alert.webhook", "alert.command"]);
    expect(jobs[0]!.options).toMatchObject({ queue: "alerts", uniqueKey: `alert:nightly:failure@0190-job:${ruleId(rules[0]!)}`, timeout: 15_000 });
    expect(jobs[0]!.args).toMatchObject({ url: "https://hooks.example.com/a", content_type: "application/json", event: "failure", timeout_seconds: 10 });
    expect(jobs[1]!.args).toMatchObject({ command: ["notify"], env: { FLYWHEEL_ALERT_EVENT: "failure" }, timeout_seconds: 60 });
    // The command's deadline leaves room for its own timeout and the kill grace.
    expect(jobs[1]!.options?.timeout).toBe(70_000);
  });

  test("an alert's id is stable and names its target, not its events", () => {
    expect(ruleId(webhook(["failure"]))).toBe(ruleId(webhook(["failure", "missed"])));
    expect(ruleId(webhook(["failure"]))).not.toBe(ruleId(webhook(["failure"], "https://other.example.com")));
    expect(ruleId(webhook(["failure"]))).toMatch(/^[0-9a-f]{12}$/);
  });

  test("pings follow healthchecks.io: /start, the URL, /fail, with the run id; unique per job and phase", () => {
    expect(pingUrl("https://hc-ping.com/abc", "start", "j1")).toBe("https://hc-ping.com/abc/start?rid=j1");
    expect(pingUrl("https://hc-ping.com/abc/", "fail", "j1")).toBe("https://hc-ping.com/abc/fail?rid=j1");
    expect(pingUrl("https://hc-ping.com/abc?create=1", "success", "j1")).toBe("https://hc-ping.com/abc?create=1&rid=j1");
    const end = pingJob({ schedule: "s", base: "https://hc-ping.com/abc", phase: "fail", jobId: "j1", body: "oops", after: "p0" });
    expect(end).toMatchObject({ kind: "alert.ping", args: { body: "oops", after: "p0" }, options: { queue: "alerts", uniqueKey: "ping:s:fail@j1", maxAttempts: 5 } });
  });
});
