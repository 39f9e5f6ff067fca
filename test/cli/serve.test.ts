import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Flywheel } from "../../src/flywheel.ts";
import type { JobState } from "../../src/core/types.ts";
import { eventually, processGone } from "../support/helpers.ts";
import { parsePrometheus } from "../support/prometheus.ts";
import { cli, cliJson, openDb, sandbox, serve, type Sandbox, type Serve } from "./helpers.ts";

// One daemon for the whole file: each test enqueues through the CLI, waits on the database, and asserts on
// what the CLI prints. The last two signal it while a job runs: SIGHUP, which reloads the config, then SIGTERM.

let box: Sandbox;
let daemon: Serve;
let base: string;
let fw: Flywheel;
let dbPath: string;
let target: ReturnType<typeof Bun.serve>;
let flakyHits = 0;

beforeAll(async () => {
  box = await sandbox();
  box.write(
    "flywheel.yaml",
    `db: { sqlite: ./data/fw.db }
runtime:
  http_addr: 127.0.0.1:0
  poll_interval: 50ms
  retry_backoff: { base: 10ms, cap: 50ms }
  env_allowlist: [PATH, HOME]
  kill_grace: 200ms
  drain_timeout: 10s
  concurrency: 8
log: { format: json }
`,
  );
  dbPath = join(box.dir, "data", "fw.db");
  target = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/flaky") return new Response("busy", { status: ++flakyHits === 1 ? 503 : 200 });
      if (path === "/missing") return new Response("no such thing", { status: 404 });
      return new Response("fine");
    },
  });
  // FLYWHEEL_SECRET is in the daemon's environment but not in env_allowlist: jobs must not see it.
  daemon = serve(box, [], { env: { FLYWHEEL_SECRET: "hunter2" } });
  base = await daemon.url();
  fw = await openDb(dbPath);
  // Bun's 5 s default (bunfig's `timeout` is not a Bun setting) is too short for a daemon's start on a busy machine.
}, 30_000);

afterAll(async () => {
  await daemon?.stop("SIGKILL");
  await fw?.close();
  target?.stop(true);
  await box?.remove();
});

/** Enqueues through the CLI and returns the new job's id. */
async function enqueue(kind: string, args: unknown, ...flags: string[]): Promise<string> {
  const result = await cli(box, ["enqueue", kind, JSON.stringify(args), ...flags]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const id = result.stdout.trim();
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return id;
}

async function settled(id: string, state: JobState, timeoutMs = 10_000) {
  return eventually(`job ${id} to be ${state}`, async () => ((await fw.findJob(id)).state === state ? true : undefined), timeoutMs);
}

describe("flywheel serve", () => {
  test("a shell job that fails twice then succeeds: inspect shows three runs with exit codes and output", async () => {
    const script = box.write(
      "jobs/flaky.sh",
      `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
echo "attempt $n"
echo "problem $n" >&2
[ "$n" -ge 3 ]
`,
    );
    const id = await enqueue("shell", { script, dir: join(box.dir, "jobs") }, "--max-attempts", "5");
    await settled(id, "succeeded");

    const { job, runs } = await cliJson(box, ["jobs", "inspect", id]);
    expect(job).toMatchObject({ id, kind: "shell", state: "succeeded", attempt: 3, max_attempts: 5 });
    expect(runs.map((r: any) => r.outcome)).toEqual(["error", "error", "success"]);
    expect(runs.map((r: any) => r.output.exit_code)).toEqual([1, 1, 0]);
    expect(runs.map((r: any) => r.output.stdout)).toEqual(["attempt 1\n", "attempt 2\n", "attempt 3\n"]);
    expect(runs.map((r: any) => r.output.stderr)).toEqual(["problem 1\n", "problem 2\n", "problem 3\n"]);
    expect(runs[0]).toMatchObject({ attempt: 1, error_class: "transient", error_message: "exit 1: problem 1" });

    const human = await cli(box, ["jobs", "inspect", id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^run 1 {2}error exit 1 \d+ms/m);
    expect(human.stdout).toMatch(/^run 3 {2}success exit 0 \d+ms/m);
    expect(human.stdout).toContain("  stderr:\n    problem 2\n");
  });

  test("a timed-out job's process group dies with it, grandchild included; the run records timeout", async () => {
    const dir = join(box.dir, "timeout");
    box.write("timeout/.keep", "");
    const id = await enqueue(
      "shell",
      { inline: "echo $$ > sh.pid; sleep 1000 & echo $! > grandchild.pid; echo started; wait", dir, timeout_seconds: 0.5 },
      "--max-attempts",
      "1",
    );
    await settled(id, "discarded");
    const [run] = await fw.listRuns(id);
    expect(run).toMatchObject({ outcome: "timeout", errorClass: "timeout" });
    expect((run!.output as any).stdout).toBe("started\n");
    const pids = ["sh.pid", "grandchild.pid"].map((f) => Number(readFileSync(join(dir, f), "utf8")));
    for (const pid of pids) expect(pid).toBeGreaterThan(1);
    for (const pid of pids) await eventually(`process ${pid} to be gone`, () => processGone(pid), 5_000);
  });

  test("only allow-listed host variables reach a job, plus the job's own env", async () => {
    const id = await enqueue("shell", { inline: 'echo "secret=${FLYWHEEL_SECRET:-absent} given=${GIVEN:-absent} home=$HOME"', env: { GIVEN: "yes" } });
    await settled(id, "succeeded");
    const [run] = await fw.listRuns(id);
    expect((run!.output as any).stdout).toBe(`secret=absent given=yes home=${box.env.HOME}\n`);
  });

  test("http worker: 503 retries, 404 discards, 200 succeeds", async () => {
    const url = `http://127.0.0.1:${target.port}`;
    const [flaky, missing, ok] = await Promise.all([
      enqueue("http", { url: `${url}/flaky` }, "--max-attempts", "3"),
      enqueue("http", { url: `${url}/missing` }, "--max-attempts", "3"),
      enqueue("http", { url: `${url}/ok`, method: "post", body: { hello: 1 } }),
    ]);
    await Promise.all([settled(flaky, "succeeded"), settled(missing, "discarded"), settled(ok, "succeeded")]);
    const runs = async (id: string) => (await fw.listRuns(id)).map((r) => [r.outcome, (r.output as any)?.status, r.errorClass]);
    expect(await runs(flaky)).toEqual([
      ["error", 503, "transient"],
      ["success", 200, null],
    ]);
    expect(await runs(missing)).toEqual([["error", 404, "permanent"]]);
    expect(await runs(ok)).toEqual([["success", 200, null]]);
  });

  test("enqueue --unique twice reports the existing job and creates no second one", async () => {
    const first = await enqueue("shell", { inline: "true" }, "--unique", "report:2026-03", "--in", "1h");
    const again = await cli(box, ["enqueue", "shell", '{"inline":"true"}', "--unique", "report:2026-03", "--in", "1h"]);
    expect(again).toEqual({ code: 0, stdout: `already enqueued: ${first}\n`, stderr: "" });
    expect(await cliJson(box, ["enqueue", "shell", '{"inline":"true"}', "--unique", "report:2026-03"])).toEqual({ id: first, enqueued: false });
    const job = await fw.findJob(first);
    expect(job).toMatchObject({ state: "scheduled", uniqueKey: "report:2026-03" });
    expect(job.scheduledAt.getTime() - job.createdAt.getTime()).toBe(3_600_000);
    expect((await fw.listJobs({ kind: "shell", limit: 1000 })).filter((j) => j.uniqueKey === "report:2026-03")).toHaveLength(1);
  });

  test("jobs cancel and retry; unknown ids exit 1 with one line", async () => {
    const id = await enqueue("shell", { inline: "echo later" }, "--at", new Date(Date.now() + 3_600_000).toISOString());
    const cancelled = await cli(box, ["jobs", "cancel", id]);
    expect(cancelled).toEqual({ code: 0, stdout: `job ${id} is cancelled\n`, stderr: "" });
    const twice = await cli(box, ["jobs", "cancel", id]);
    expect(twice).toEqual({ code: 1, stdout: "", stderr: `flywheel: job ${id} is already cancelled\n` });

    expect((await cliJson(box, ["jobs", "retry", id])).state).toBe("available");
    await settled(id, "succeeded");
    expect(((await fw.listRuns(id))[0]!.output as any).stdout).toBe("later\n");

    for (const sub of ["inspect", "retry", "cancel"]) {
      const missing = await cli(box, ["jobs", sub, "01900000-0000-7000-8000-000000000000"]);
      expect(missing).toEqual({ code: 1, stdout: "", stderr: "flywheel: job 01900000-0000-7000-8000-000000000000 not found\n" });
    }
  });

  test("jobs ls and status work while serve holds the same SQLite file", async () => {
    const id = await enqueue("shell", { inline: "true" }, "--queue", "parked", "--priority", "5");
    const listed = await cliJson(box, ["jobs", "ls", "--queue", "parked"]);
    expect(listed).toEqual([expect.objectContaining({ id, queue: "parked", state: "available", priority: 5 })]);
    const table = await cli(box, ["jobs", "ls", "--state", "succeeded", "--limit", "2"]);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID +KIND +QUEUE +STATE +ATTEMPT +CREATED +SCHEDULED$/);
    expect(table.stdout.trim().split("\n")).toHaveLength(3);

    // The daemon serves default and periodic only: the parked job waits, and lag grows.
    const status = await cliJson(box, ["status"]);
    expect(status.ready).toBeGreaterThanOrEqual(1);
    expect(status.counts.succeeded).toBeGreaterThanOrEqual(4);
    expect(status.counts.discarded).toBeGreaterThanOrEqual(2);
    expect(status.failures.map((f: any) => f.error_class)).toContain("timeout");
    expect(typeof status.lag_seconds).toBe("number");
    const human = await cli(box, ["status"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ready \d+ {2}in-flight \d+ {2}scheduled ahead \d+ {2}lag \S+$/m);
    expect(human.stdout).toContain("failures (last 24h)");
  });

  test("/healthz, /readyz and /metrics (strict Prometheus text)", async () => {
    const health = await fetch(`${base}healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`${base}readyz`)).status).toBe(200);
    const metrics = await fetch(`${base}metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const families = parsePrometheus(await metrics.text());
    for (const name of ["flywheel_jobs_claimed_total", "flywheel_jobs_finished_total", "flywheel_job_duration_seconds", "flywheel_queue_jobs", "flywheel_queue_ready"]) {
      expect(families.has(name)).toBe(true);
    }
    const finished = families.get("flywheel_jobs_finished_total")!.samples;
    expect(finished.some((s) => s.labels.kind === "shell" && s.labels.outcome === "success" && s.value >= 1)).toBe(true);
    expect(finished.some((s) => s.labels.kind === "http" && s.labels.outcome === "error")).toBe(true);
  });

  test("SIGHUP while a job runs reloads the config: the daemon keeps serving and the job completes", async () => {
    const dir = join(box.dir, "hangup");
    box.write("hangup/.keep", "");
    // The job holds its slot until the test releases it, so the signal certainly arrives mid-job.
    const id = await enqueue("shell", { inline: "touch started; while [ ! -e release ]; do sleep 0.02; done; echo finished", dir });
    await eventually("the job to start", () => existsSync(join(dir, "started")));
    daemon.proc.kill("SIGHUP");
    await daemon.waitForLog("the reload line", (l) => l.level === "info" && l.msg === "flywheel: config reloaded");
    box.write("hangup/release", "");
    await settled(id, "succeeded");
    const [run] = await fw.listRuns(id);
    expect(run).toMatchObject({ outcome: "success" });
    expect((run!.output as any).stdout).toBe("finished\n");
    expect(daemon.proc.exitCode).toBeNull();
    expect(daemon.logs.some((l) => l.msg === "flywheel: draining")).toBe(false);
    expect((await fetch(`${base}readyz`)).status).toBe(200);
  });

  test("SIGTERM while a job runs: the daemon drains, records the outcome and exits 0", async () => {
    const dir = join(box.dir, "drain");
    box.write("drain/.keep", "");
    const id = await enqueue("shell", { inline: "touch started; sleep 0.4; echo finished", dir });
    await eventually("the job to start", () => existsSync(join(dir, "started")));
    expect(await daemon.stop("SIGTERM")).toBe(0);
    expect(daemon.logs.some((l) => l.msg === "flywheel: draining" && l.signal === "SIGTERM")).toBe(true);
    const job = await fw.findJob(id);
    expect(job.state).toBe("succeeded");
    const [run] = await fw.listRuns(id);
    expect(run).toMatchObject({ outcome: "success" });
    expect((run!.output as any).stdout).toBe("finished\n");
  });
});
