import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { eventually } from "../support/helpers.ts";
import { parsePrometheus, type Family } from "../support/prometheus.ts";
import { cli, sandbox, serve, type Sandbox, type Serve } from "./helpers.ts";
import { scheduleFixture } from "./schedule-fixture.ts";

// SPEC §20's schedule metrics, read from `/metrics` of a real `flywheel serve`: runs by outcome, skipped fires by
// reason, each schedule's last success, and the build.

let box: Sandbox;
let daemon: Serve;
let base: string;

beforeAll(async () => {
  box = await sandbox();
  box.write(
    "flywheel.yaml",
    "db: { sqlite: ./fw.db }\nruntime: { poll_interval: 50ms }\nlog: { format: json }\nschedules:\n" +
      '  - { slug: ok, every: 1d, worker: shell, max_attempts: 1, shell: { inline: "echo ok" } }\n' +
      '  - { slug: bad, every: 1d, worker: shell, max_attempts: 1, shell: { inline: "exit 2" } }\n',
  );
  // A schedule whose fires were due every minute for the last hour while no daemon ran: at start the daemon
  // runs the latest and drops the others (catch_up: latest).
  const fixture = await scheduleFixture(join(box.dir, "fw.db"), new Date(Date.now() - 3_600_000));
  await fixture.fw.upsertPeriodic({ slug: "lagging", kind: "shell", every: "1m", catchUp: "latest", args: { inline: "true" } });
  await fixture.close();
  daemon = serve(box, ["--http-addr", "127.0.0.1:0"]);
  base = await daemon.url();
});
afterAll(async () => {
  expect(await daemon.stop("SIGTERM")).toBe(0);
  await box.remove();
});

const sample = (families: Map<string, Family>, name: string, labels: Record<string, string>) =>
  families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));

test("/metrics: schedule runs by outcome, skipped fires by reason, last success, build info", async () => {
  expect((await cli(box, ["schedule", "trigger", "ok", "--wait"])).code).toBe(0);
  expect((await cli(box, ["schedule", "trigger", "bad", "--wait"])).code).toBe(2);
  const families = await eventually("every run counted", async () => {
    const parsed = parsePrometheus(await (await fetch(`${base}metrics`)).text());
    const runs = parsed.get("flywheel_schedule_runs_total")?.samples ?? [];
    return runs.length === 3 ? parsed : undefined;
  });
  expect(families.get("flywheel_schedule_runs_total")).toMatchObject({ type: "counter" });
  expect(sample(families, "flywheel_schedule_runs_total", { slug: "ok", outcome: "succeeded" })?.value).toBe(1);
  expect(sample(families, "flywheel_schedule_runs_total", { slug: "bad", outcome: "discarded" })?.value).toBe(1);
  expect(sample(families, "flywheel_schedule_runs_total", { slug: "lagging", outcome: "succeeded" })?.value).toBe(1);

  expect(families.get("flywheel_schedule_skipped_total")).toMatchObject({ type: "counter" });
  // About 60 fires were due; the latest ran, the rest were dropped.
  expect(sample(families, "flywheel_schedule_skipped_total", { slug: "lagging", reason: "catch_up=latest" })?.value).toBeWithin(58, 61);

  expect(families.get("flywheel_schedule_last_success_timestamp_seconds")).toMatchObject({ type: "gauge" });
  const okSuccess = sample(families, "flywheel_schedule_last_success_timestamp_seconds", { slug: "ok" })!.value;
  expect(Date.now() / 1000 - okSuccess).toBeWithin(0, 60);
  // A schedule that never succeeded has no sample (rather than a 1970 timestamp).
  expect(sample(families, "flywheel_schedule_last_success_timestamp_seconds", { slug: "bad" })).toBeUndefined();

  expect(families.get("flywheel_build_info")?.samples).toEqual([{ name: "flywheel_build_info", labels: { version: pkg.version, bun: Bun.version }, value: 1 }]);
});
