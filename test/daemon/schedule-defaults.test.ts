import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { FixedClock } from "../../src/core/clock.ts";
import { createLogger } from "../../src/core/logger.ts";
import { catchUpSkipReason } from "../../src/core/skip-reason.ts";
import { jitterOffsetMs } from "../../src/periodic/jitter.ts";
import { ConfigError, parseConfig } from "../../src/daemon/config/index.ts";
import { reconcileSchedules } from "../../src/daemon/reconcile.ts";
import { connect, type Flywheel } from "../../src/index.ts";
import { commandWorkers } from "../../src/workers/index.ts";
import { eventually, tempDir } from "../support/helpers.ts";
import { cli, openDb, sandbox, serve } from "../cli/helpers.ts";

// Config schedules default to cron's semantics (SPEC §20): one attempt, and after downtime the latest missed
// fire only. The library's own defaults stay as they were.

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

const SHELL = 'worker: shell, shell: { inline: "true" }';

test("a config schedule defaults to max_attempts 1 and catch_up latest; the daemon keeps 30 days of finished jobs", () => {
  const config = parseConfig(`schedules:\n  - { slug: a, every: 1m, ${SHELL} }\n  - { slug: b, every: 1m, max_attempts: 3, catch_up: all, ${SHELL} }\n`, { file: "/etc/fw.yaml", env: {} });
  expect(config.schedules.map((s) => [s.slug, s.maxAttempts, s.catchUp])).toEqual([
    ["a", 1, "latest"],
    ["b", 3, "all"],
  ]);
  expect(config.runtime.retentionMs).toBe(30 * 86_400_000);
  expect(parseConfig("runtime: { retention: off }\n", { file: "/etc/fw.yaml", env: {} }).runtime.retentionMs).toBeNull();
  expect(parseConfig("runtime: { retention: 7d }\n", { file: "/etc/fw.yaml", env: {} }).runtime.retentionMs).toBe(7 * 86_400_000);
});

test("a schedule on a queue no runner serves is a config error naming the file, the key and the queues served", () => {
  const text = `runtime: { queues: [default, periodic] }\nschedules:\n  - slug: report\n    every: 1h\n    queue: reports\n    ${SHELL.replace(", ", "\n    ")}\n`;
  let error: unknown;
  try {
    parseConfig(text, { file: "/etc/fw.yaml", env: {} });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).message).toBe(
    'flywheel: /etc/fw.yaml:5: schedules[0].queue: queue "reports" is not served: expected one of runtime.queues (default, periodic), or add it there',
  );
  // The default queue (periodic) must be served too: a config that serves only `default` names the schedule.
  expect(() => parseConfig(`runtime: { queues: [default] }\nschedules:\n  - { slug: r, every: 1h, ${SHELL} }\n`, { file: "/etc/fw.yaml", env: {} })).toThrow(
    /schedules\[0\]: queue "periodic" is not served/,
  );
});

test("flywheel serve refuses a schedule on an unserved queue: exit 2, one line, no database created", async () => {
  const box = await sandbox();
  cleanup = box.remove;
  box.write("flywheel.yaml", `db: { sqlite: ./fw.db }\nruntime: { queues: [default] }\nschedules:\n  - { slug: r, every: 1h, queue: elsewhere, ${SHELL} }\n`);
  const result = await cli(box, ["serve"]);
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split("\n")).toEqual([
    `flywheel: ${join(box.dir, "flywheel.yaml")}:4: schedules[0].queue: queue "elsewhere" is not served: expected one of runtime.queues (default), or add it there`,
  ]);
  expect(await Bun.file(join(box.dir, "fw.db")).exists()).toBe(false);
});

test("after downtime a config schedule runs its latest missed fire once; the skip reason and log line say what happened", async () => {
  const dir = await tempDir();
  const clock = new FixedClock(new Date("2026-03-08T06:00:00Z"));
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ format: "json", write: (l) => lines.push(JSON.parse(l)) });
  const fw: Flywheel = await connect(`sqlite:${join(dir.path, "fw.db")}`, { clock, logger });
  cleanup = async () => (await fw.close(), await dir.remove());
  await fw.migrate();
  fw.register(...commandWorkers());
  const config = parseConfig(`schedules:\n  - { slug: minutely, every: 1m, ${SHELL} }\n`, { file: join(dir.path, "flywheel.yaml"), env: {} });
  await reconcileSchedules(fw, config, logger);
  // Down for ten and a half minutes: ten fires were missed.
  clock.advance("10m30s");
  expect(await fw.tick()).toBe(1);
  const [job] = await fw.listJobs({ kind: "shell" });
  expect(job).toMatchObject({ maxAttempts: 1, metadata: { periodic: "minutely", fire_at: "2026-03-08T06:10:00.000Z" } });
  const periodic = await fw.findPeriodic("minutely");
  expect(periodic).toMatchObject({ skippedCount: 9, lastSkipReason: "catch_up=latest: missed fires before the latest were dropped" });
  expect(lines.find((l) => l.msg === "flywheel: periodic fires skipped by catch-up policy")).toMatchObject({
    level: "warn",
    schedule: "minutely",
    skipped: 9,
    reason: catchUpSkipReason("latest", 10),
  });
  expect(lines.some((l) => "slug" in l && String(l.msg).includes("periodic"))).toBe(false);
});

test("the library's periodics keep their own defaults: catch_up all, the job default attempts", async () => {
  const dir = await tempDir();
  const clock = new FixedClock(new Date("2026-03-08T06:00:00Z"));
  const fw: Flywheel = await connect(`sqlite:${join(dir.path, "fw.db")}`, { clock });
  cleanup = async () => (await fw.close(), await dir.remove());
  await fw.migrate();
  fw.register(...commandWorkers());
  await fw.upsertPeriodic({ slug: "lib", kind: "shell", every: "1m", args: { inline: "true" }, overlap: "allow" });
  clock.advance("3m");
  expect(await fw.tick()).toBe(3);
  const jobs = await fw.listJobs({ kind: "shell" });
  expect(jobs.map((j) => j.maxAttempts)).toEqual([25, 25, 25]);
  expect((await fw.findPeriodic("lib")).catchUp).toBe("all");
});

test("jitter: a config schedule's fires wait the slug's stable offset below jitter; a jitter as long as every is a config error", async () => {
  const dir = await tempDir();
  const clock = new FixedClock(new Date("2026-03-08T02:00:00Z"));
  const fw: Flywheel = await connect(`sqlite:${join(dir.path, "fw.db")}`, { clock });
  cleanup = async () => (await fw.close(), await dir.remove());
  await fw.migrate();
  fw.register(...commandWorkers());
  const yaml = (jitter: string) => `schedules:\n  - { slug: nightly-backup, cron: "0 3 * * *", jitter: ${jitter}, ${SHELL} }\n`;
  const config = parseConfig(yaml("10m"), { file: join(dir.path, "flywheel.yaml"), env: {} });
  expect(config.schedules[0]!.jitterMs).toBe(600_000);
  await reconcileSchedules(fw, config, createLogger({ format: "json", write: () => {} }));
  const offset = jitterOffsetMs("nightly-backup", 600_000);
  expect(offset).toBeGreaterThanOrEqual(0);
  expect(offset).toBeLessThan(600_000);
  for (const day of ["08", "09"]) {
    clock.set(new Date(`2026-03-${day}T03:00:00Z`));
    expect(await fw.tick()).toBe(1);
    const job = (await fw.listJobs({ kind: "shell" })).find((j) => j.metadata.fire_at === `2026-03-${day}T03:00:00.000Z`);
    // The same offset every night: a stable start time, not a random one.
    expect(job?.scheduledAt).toEqual(new Date(Date.parse(`2026-03-${day}T03:00:00Z`) + offset));
    expect(job?.state).toBe("scheduled");
    clock.set(job!.scheduledAt);
    expect(await fw.runUntilIdle()).toBe(1);
  }
  expect(() => parseConfig(`schedules:\n  - { slug: s, every: 5m, jitter: 5m, ${SHELL} }\n`, { file: "/etc/fw.yaml", env: {} })).toThrow(
    "flywheel: /etc/fw.yaml:2: schedules[0].jitter: expected a duration shorter than every",
  );
  expect(() => parseConfig(yaml("soon"), { file: "/etc/fw.yaml", env: {} })).toThrow(/schedules\[0\]\.jitter: expected a duration with a unit/);
});

test("through the daemon: a failing config schedule is not retried (one run, one discarded line with schedule=), a jittered one starts its offset late", async () => {
  const box = await sandbox();
  let fwDb: Flywheel | undefined;
  box.write(
    "flywheel.yaml",
    `db: { sqlite: ./fw.db }
runtime: { http_addr: off, poll_interval: 50ms, retry_backoff: { base: 10ms, cap: 50ms } }
log: { format: json }
schedules:
  - { slug: fails, every: 1s, worker: shell, shell: { inline: "echo no >&2; exit 3" } }
  - { slug: jittered, every: 2s, jitter: 1500ms, worker: shell, shell: { inline: "echo ok" } }
`,
  );
  const daemon = serve(box, []);
  cleanup = async () => {
    await daemon.stop("SIGKILL");
    await fwDb?.close();
    await box.remove();
  };
  const discarded = await daemon.waitForLog("the discarded line", (l) => l.msg === "jobs: job discarded" && l.schedule === "fails", 20_000);
  expect(discarded).toMatchObject({ level: "error", attempts: 1 });
  fwDb = await openDb(join(box.dir, "fw.db"));
  const failed = await fwDb.findJob(discarded.job_id);
  expect(failed).toMatchObject({ state: "discarded", attempt: 1, maxAttempts: 1 });
  expect(await fwDb.listRuns(failed.id)).toHaveLength(1);

  const offset = jitterOffsetMs("jittered", 1500);
  const job = await eventually(
    "a jittered fire to succeed",
    async () => (await fwDb!.listJobs({ kind: "shell", state: "succeeded", limit: 100 })).find((j) => j.metadata.periodic === "jittered"),
    20_000,
  );
  const fireAt = Date.parse(String(job.metadata.fire_at));
  expect(job.scheduledAt.getTime() - fireAt).toBe(offset);
  const [run] = await fwDb.listRuns(job.id);
  expect(run!.startedAt.getTime()).toBeGreaterThanOrEqual(job.scheduledAt.getTime());
  expect(await daemon.stop("SIGTERM")).toBe(0);
}, 40_000);
