/**
 * Flow control across OS processes (SPEC §18), written once for both dialects: real child processes
 * (`test/fixtures/flow-control-process.ts`), each a node on the same database, and checks made afterwards from
 * the jobs' runs as stored.
 */
import { expect } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { connect, type Flywheel, type RunRecord } from "../../src/index.ts";
import { eventually } from "../support/helpers.ts";

const NODE = join(import.meta.dir, "../fixtures/flow-control-process.ts");

/** A node process: resolves `ready` once it printed its ready line. */
interface NodeProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  ready: Promise<void>;
}

/** Starts `count` node processes on `url`, named `<prefix>-<n>`; the caller SIGKILLs whatever is left (`kill`). */
export async function spawnNodes(url: string, prefix: string, count: number, env: Record<string, string> = {}): Promise<{ nodes: NodeProcess[]; stop(): Promise<number[]>; kill(): Promise<void> }> {
  const nodes = Array.from({ length: count }, (_, n): NodeProcess => {
    const proc = Bun.spawn([process.execPath, NODE, url, `${prefix}-${n}`], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
    const ready = (async () => {
      let out = "";
      for await (const chunk of proc.stdout) {
        out += new TextDecoder().decode(chunk);
        if (out.includes("ready ")) return;
      }
      throw new Error(`node ${prefix}-${n} exited before it was ready (code ${await proc.exited}): ${await new Response(proc.stderr).text()}`);
    })();
    return { proc, ready };
  });
  await Promise.all(nodes.map((n) => n.ready));
  return {
    nodes,
    async stop() {
      for (const n of nodes) n.proc.kill("SIGTERM");
      return Promise.all(nodes.map((n) => n.proc.exited));
    },
    async kill() {
      for (const n of nodes) n.proc.kill("SIGKILL");
      await Promise.all(nodes.map((n) => n.proc.exited));
    },
  };
}

/** Every run of every job of `kind`. */
async function runsOf(fw: Flywheel, kind: string): Promise<RunRecord[]> {
  const jobs = await fw.listJobs({ kind, limit: 1_000 });
  return (await Promise.all(jobs.map((j) => fw.listRuns(j.id)))).flat();
}

/** The most intervals `[start, end)` that overlap at any instant (an end at t comes before a start at t). */
export function peakOverlap(spans: Array<{ start: number; end: number }>): number {
  const edges = spans.flatMap((s) => [[s.start, 1] as const, [s.end, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, delta] of edges) peak = Math.max(peak, (now += delta));
  return peak;
}

/** The most instants of `starts` inside any window `[t, t + windowMs)`. */
export function peakInWindow(starts: number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[j]! < sorted[i]! - windowMs + 1) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

const CONCURRENCY = 3;
const RATE = 4;
const WINDOW_MS = 1_000;

/**
 * Four processes work a kind limited to 3 at once and a queue limited to 4 starts a second, on one database:
 * the attempts' own spans (measured inside each attempt, which runs strictly between its claim's commit and its
 * finalize) never overlap more than 3 deep, and no second-long window holds more than 4 of the queue's starts
 * (`job_runs.started_at`, the instant the limits counted).
 */
export async function limitsAcrossProcesses(url: string): Promise<void> {
  const fw = await connect(url);
  const cluster = { kill: async () => {} };
  try {
    await fw.migrate();
    await fw.setLimit({ kind: "timed" }, { concurrency: CONCURRENCY });
    await fw.setLimit({ queue: "rated" }, { rate: `${RATE}/${WINDOW_MS / 1_000}s` });
    await fw.insertMany(Array.from({ length: 40 }, (_, n) => ({ kind: "timed", args: { n } })));
    await fw.insertMany(Array.from({ length: 12 }, (_, n) => ({ kind: "noop", args: { n }, options: { queue: "rated" } })));
    // One slot a process: a job past the limit could only come from another process's claim.
    const nodes = await spawnNodes(url, "limits", 4, { CONCURRENCY: "1" });
    Object.assign(cluster, nodes);
    await eventually("every job to succeed", async () => (await fw.listJobs({ state: "succeeded", limit: 100 })).length === 52, 60_000, 50);
    expect(await nodes.stop()).toEqual([0, 0, 0, 0]);

    const timed = await runsOf(fw, "timed");
    expect(timed.map((r) => r.outcome)).toEqual(Array(40).fill("success"));
    const spans = timed.map((r) => r.output as { start: number; end: number });
    const peak = peakOverlap(spans);
    expect(peak).toBeLessThanOrEqual(CONCURRENCY);
    // The limit was really contended: attempts did run side by side, so on more than one process.
    expect(peak).toBeGreaterThan(1);
    expect(new Set(timed.map((r) => r.executorId)).size).toBeGreaterThan(1);

    const rated = await runsOf(fw, "noop");
    expect(rated.map((r) => r.outcome)).toEqual(Array(12).fill("success"));
    const starts = rated.map((r) => r.startedAt.getTime());
    expect(peakInWindow(starts, WINDOW_MS)).toBeLessThanOrEqual(RATE);
    // 12 starts at 4 a second need at least two whole windows after the first start.
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual(2 * WINDOW_MS);
  } finally {
    await cluster.kill();
    await fw.close();
  }
}

const OPEN_FOR_MS = 1_000;

/** A kind's runs split at its breaker's first opening: the streak and its stragglers, then the probes. */
function splitAtOpening(runs: RunRecord[]): { before: RunRecord[]; probes: RunRecord[] } {
  const finished = runs.filter((r) => r.finishedAt !== null).sort((a, b) => a.finishedAt!.getTime() - b.finishedAt!.getTime());
  if (finished.length < 2) return { before: runs, probes: [] };
  // The second failure opened it, at its finalize (at or after its finish); no probe starts before OPEN_FOR later,
  // and every attempt claimed before the opening started before it: half of OPEN_FOR splits them.
  const cut = finished[1]!.finishedAt!.getTime() + OPEN_FOR_MS / 2;
  const sorted = [...runs].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  return { before: sorted.filter((r) => r.startedAt.getTime() < cut), probes: sorted.filter((r) => r.startedAt.getTime() >= cut) };
}

/**
 * Four processes work a failing kind under a breaker { failures: 2, openFor: 1s }: once open, every further
 * attempt is a probe, claimed by one process only, at least `openFor` after the previous probe failed (no two
 * probes in one half-open window, none overlapping), and the jobs left are never claimed in between.
 */
export async function breakerProbesAcrossProcesses(url: string): Promise<void> {
  const fw = await connect(url);
  const cluster = { kill: async () => {} };
  try {
    await fw.migrate();
    await fw.insertMany(Array.from({ length: 30 }, (_, n) => ({ kind: "flaky", args: { n } })));
    const nodes = await spawnNodes(url, "breaker", 4, { CONCURRENCY: "2", OPEN_FOR: `${OPEN_FOR_MS}ms` });
    Object.assign(cluster, nodes);
    await eventually("three probes to have run", async () => splitAtOpening(await runsOf(fw, "flaky")).probes.filter((r) => r.finishedAt !== null).length >= 3, 30_000, 50);
    expect(await nodes.stop()).toEqual([0, 0, 0, 0]);

    const runs = await runsOf(fw, "flaky");
    expect(runs.every((r) => r.outcome === "error")).toBe(true);
    const { before, probes } = splitAtOpening(runs);
    // The streak that opened it, plus at most one straggler per slot claimed before the opening committed.
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(before.length).toBeLessThanOrEqual(2 + 8);
    const opened = [...before].sort((a, b) => a.finishedAt!.getTime() - b.finishedAt!.getTime())[1]!.finishedAt!.getTime();
    expect(probes[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(opened + OPEN_FOR_MS);
    for (let i = 1; i < probes.length; i++) {
      // Each probe starts once the breaker, opened again by the previous probe's failure, half-opens.
      expect(probes[i]!.startedAt.getTime() - probes[i - 1]!.finishedAt!.getTime()).toBeGreaterThanOrEqual(OPEN_FOR_MS);
    }
    // The breaker opened at exactly 2; from then on only the probes counted.
    expect((await fw.listBreakers())[0]).toMatchObject({ kind: "flaky", failures: 2 + probes.length });
  } finally {
    await cluster.kill();
    await fw.close();
  }
}
