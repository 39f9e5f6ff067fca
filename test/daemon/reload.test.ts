import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Flywheel } from "../../src/flywheel.ts";
import { eventually, processGone } from "../support/helpers.ts";
import { cli, openDb, sandbox, serve, type Sandbox, type Serve } from "../cli/helpers.ts";

// SPEC §20 Reload, black-box through a real `flywheel serve`: SIGHUP and `flywheel reload` re-read the config,
// schedule changes apply, a running job carries on untouched, and an invalid config keeps the running one with
// one error line. The tests share one daemon and run in order: each leaves the config the next starts from.

let box: Sandbox;
let daemon: Serve;
let fw: Flywheel;
let configFile: string;

const HEAD = `db: { sqlite: ./fw.db }
runtime: { http_addr: off, poll_interval: 50ms, concurrency: 4 }
log: { format: json }
schedules:
`;
const stays = `  - { slug: stays, every: 1h, worker: shell, shell: { inline: "echo stays" } }\n`;
const goes = `  - { slug: goes, every: 1h, worker: shell, shell: { inline: "echo goes" } }\n`;
const added = `  - { slug: added, every: 1s, worker: shell, shell: { inline: "echo added" } }\n`;

/** The log lines since `from` (an index into `daemon.logs`). */
const since = (from: number) => daemon.logs.slice(from);

/** Sends SIGHUP and waits for the reload to end (applied or refused); returns the lines it logged. */
async function hangup(): Promise<Record<string, any>[]> {
  const from = daemon.logs.length;
  daemon.proc.kill("SIGHUP");
  return reloaded(from);
}

async function reloaded(from: number): Promise<Record<string, any>[]> {
  await daemon.waitForLog("the reload to end", (l) => daemon.logs.indexOf(l) >= from && /^flywheel: (config reloaded|reload refused)/.test(l.msg), 15_000);
  return since(from);
}

/** Succeeded jobs fired by `slug`. */
async function firedJobs(slug: string): Promise<number> {
  return (await fw.listJobs({ state: "succeeded", kind: "shell", limit: 1000 })).filter((j) => j.metadata.periodic === slug).length;
}

beforeAll(async () => {
  box = await sandbox();
  configFile = box.write("flywheel.yaml", HEAD + stays + goes);
  daemon = serve(box, []);
  await daemon.waitForLog("node started", (l) => l.msg === "flywheel: node started", 20_000);
  fw = await openDb(join(box.dir, "fw.db"));
}, 30_000);

afterAll(async () => {
  await daemon?.stop("SIGKILL");
  await fw?.close();
  await box?.remove();
});

test("SIGHUP applies schedule changes while a long job runs: the added schedule fires, the removed one is deactivated, the job finishes untouched", async () => {
  const work = join(box.dir, "long");
  box.write("long/.keep", "");
  const enqueued = await cli(box, ["enqueue", "shell", JSON.stringify({ inline: "echo $$ > pid; while [ ! -e release ]; do sleep 0.02; done; echo finished", dir: work })]);
  expect(enqueued.code).toBe(0);
  const id = enqueued.stdout.trim();
  const pid = Number(await eventually("the long job to start", () => (existsSync(join(work, "pid")) ? readFileSync(join(work, "pid"), "utf8").trim() : undefined)));
  expect((await fw.findPeriodic("goes")).isActive).toBe(true);

  box.write("flywheel.yaml", HEAD + stays + added);
  const lines = await hangup();
  expect(lines.find((l) => l.msg === "flywheel: schedules reconciled")).toMatchObject({ upserted: 2, deactivated: ["goes"] });
  expect(lines.find((l) => l.msg === "flywheel: config reloaded")).toMatchObject({ level: "info", config: configFile, schedules: 2 });
  expect(lines.some((l) => l.level === "error" || l.level === "warn")).toBe(false);

  expect(await fw.findPeriodic("goes")).toMatchObject({ isActive: false });
  expect(await fw.findPeriodic("added")).toMatchObject({ isActive: true, maxAttempts: 1, catchUp: "latest" });
  await eventually("the added schedule to fire and succeed", async () => (await firedJobs("added")) >= 1 || undefined, 10_000);

  // The long job's process lived through the reload: same pid, same attempt, still running.
  expect(processGone(pid)).toBe(false);
  expect(await fw.findJob(id)).toMatchObject({ state: "running", attempt: 1 });
  box.write("long/release", "");
  await eventually("the long job to succeed", async () => ((await fw.findJob(id)).state === "succeeded" ? true : undefined));
  const runs = await fw.listRuns(id);
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ outcome: "success", output: { stdout: "finished\n", exit_code: 0 } });
  expect(daemon.logs.some((l) => l.msg === "flywheel: draining")).toBe(false);
});

test("an invalid config on SIGHUP: one error line naming file, key and what was expected; the running schedules stay and fire", async () => {
  box.write("flywheel.yaml", HEAD + stays + added + `  - { slug: broken, every: soon, worker: shell, shell: { inline: "echo" } }\n`);
  const lines = await hangup();
  const errors = lines.filter((l) => l.level === "error");
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({
    msg: "flywheel: reload refused, the running config stays",
    error: `${configFile}:7: schedules[2].every: expected a duration with a unit (ms, s, m, h, d), e.g. "30s"`,
  });
  expect(lines.some((l) => l.msg === "flywheel: schedules reconciled")).toBe(false);
  expect(await fw.findPeriodic("added")).toMatchObject({ isActive: true });
  expect(await fw.findPeriodic("stays")).toMatchObject({ isActive: true });
  await expect(fw.findPeriodic("broken")).rejects.toThrow();
  const before = await firedJobs("added");
  await eventually("the added schedule to keep firing", async () => (await firedJobs("added")) > before || undefined, 10_000);
});

test("flywheel reload checks the config first: an invalid one exits 2 with one line and the daemon is not signalled", async () => {
  const from = daemon.logs.length;
  const result = await cli(box, ["reload"]);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr).toContain(`${configFile}:7: schedules[2].every: expected a duration`);
  // A reload of our own, after the command has exited: had the command signalled the daemon, its reload would
  // have started first and the log would hold two.
  daemon.proc.kill("SIGHUP");
  await reloaded(from);
  expect(since(from).filter((l) => l.msg === "flywheel: reloading config")).toHaveLength(1);
});

test("flywheel reload signals the daemon: a changed schedule applies, an operator's disable survives, a runtime change is reported as needing a restart", async () => {
  box.write("flywheel.yaml", HEAD.replace("concurrency: 4", "concurrency: 2") + stays.replace("every: 1h", 'cron: "17 4 * * *"') + added);
  const disabled = await cli(box, ["schedule", "disable", "added"]);
  expect(disabled.code).toBe(0);
  const from = daemon.logs.length;
  const result = await cli(box, ["reload"]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(result.stdout).toBe(`reload requested: flywheel serve pid ${daemon.proc.pid} (its log says whether the config applied)\n`);
  const lines = await reloaded(from);
  expect(lines.find((l) => l.msg === "flywheel: schedules reconciled")).toMatchObject({ paused_by_operator: ["added"] });
  const warns = lines.filter((l) => l.level === "warn");
  expect(warns).toHaveLength(1);
  expect(warns[0]).toMatchObject({ msg: "flywheel: reload: these settings need a restart to apply; the running values stay until then", needs_restart: ["runtime.concurrency"] });

  expect(await fw.findPeriodic("added")).toMatchObject({ isActive: false, pausedBy: "operator" });
  const stay = await fw.findPeriodic("stays");
  expect(stay).toMatchObject({ cron: "17 4 * * *", intervalSeconds: null, isActive: true });
  expect([stay.nextRunAt.getUTCHours(), stay.nextRunAt.getUTCMinutes()]).toEqual([4, 17]);
});

test("flywheel reload with no daemon running exits 1 with one line", async () => {
  expect(await daemon.stop("SIGTERM")).toBe(0);
  const result = await cli(box, ["reload"]);
  expect(result.code).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toBe(`flywheel: no flywheel serve is running on this host for ${join(box.dir, "fw.db")}\n`);
});

test("an operator's disable survives a restart too: the new daemon's reconcile leaves it paused and says so", async () => {
  daemon = serve(box, []);
  const line = await daemon.waitForLog("the start's reconcile", (l) => l.msg === "flywheel: schedules reconciled", 20_000);
  expect(line).toMatchObject({ paused_by_operator: ["added"] });
  expect(await fw.findPeriodic("added")).toMatchObject({ isActive: false, pausedBy: "operator" });
  expect(await daemon.stop("SIGTERM")).toBe(0);
});
