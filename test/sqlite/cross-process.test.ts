import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { connect, type Flywheel } from "../../src/index.ts";
import { eventually, tempDir } from "../support/helpers.ts";

const NODE = join(import.meta.dir, "../fixtures/node-process.ts");
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function freshDb(): Promise<{ url: string; path: string; fw: Flywheel }> {
  const dir = await tempDir();
  const path = join(dir.path, "shared.db");
  const fw = await connect(`sqlite:${path}`);
  await fw.migrate();
  cleanups.push(async () => {
    await fw.close();
    await dir.remove();
  });
  return { url: `sqlite:${path}`, path, fw };
}

function spawnNode(mode: string, url: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, NODE, mode, url], { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, ...env } });
  cleanups.push(async () => {
    proc.kill("SIGKILL");
    await proc.exited;
  });
  return proc;
}

test("two OS processes drain one SQLite file: every job exactly one success, no overlapping attempts, none lost", async () => {
  const { url, path, fw } = await freshDb();
  const ids = await fw.insertMany(Array.from({ length: 10_000 }, (_, n) => ({ kind: "noop", args: { n } })));
  expect(ids.skipped).toEqual([]);
  const procs = [spawnNode("drain", url), spawnNode("drain", url)];
  const codes = await Promise.all(procs.map((p) => p.exited));
  expect(codes).toEqual([0, 0]);

  const db = new Database(path, { readonly: true });
  const jobs = db.query("SELECT state, count(*) AS n FROM jobs GROUP BY state").all();
  expect(jobs).toEqual([{ state: "succeeded", n: 10_000 }]);
  const runs = db.query("SELECT job_id, count(*) AS n, sum(outcome = 'success') AS ok FROM job_runs GROUP BY job_id HAVING n != 1 OR ok != 1").all();
  expect(runs).toEqual([]);
  expect((db.query("SELECT count(*) AS n FROM job_runs").get() as { n: number }).n).toBe(10_000);
  // Both processes took part: the work was really shared, not drained by one while the other idled.
  const executors = db.query("SELECT executor_id, count(*) AS n FROM job_runs GROUP BY executor_id").all() as Array<{ n: number }>;
  expect(executors.length).toBe(2);
  const overlaps = db
    .query(
      `SELECT count(*) AS n FROM job_runs a JOIN job_runs b ON a.job_id = b.job_id AND a.id < b.id
       WHERE a.started_at < b.finished_at AND b.started_at < a.finished_at`,
    )
    .get() as { n: number };
  expect(overlaps.n).toBe(0);
  db.close();
}, 60_000);

test("a process killed with SIGKILL mid-job: another process completes the job and the killed attempt is crashed", async () => {
  const { url, fw } = await freshDb();
  const id = await fw.insert("hang", {});
  const hanger = spawnNode("hang", url);
  await eventually("the hanging process to claim the job", async () => (await fw.findJob(id)).state === "running");
  const holder = (await fw.listRuns(id))[0]!.executorId;
  hanger.kill("SIGKILL");
  expect(await hanger.exited).not.toBe(0);
  const rescuer = spawnNode("serve", url);
  const done = await eventually("another process to complete the job", async () => {
    const job = await fw.findJob(id);
    return job.state === "succeeded" ? job : null;
  }, 20_000);
  expect(done.attempt).toBe(2);
  const runs = await fw.listRuns(id);
  expect(runs.map((r) => r.outcome)).toEqual(["crashed", "success"]);
  expect(runs[0]!.executorId).toBe(holder);
  expect(runs[1]!.executorId).not.toBe(holder);
  expect((runs[1]!.output as { completed_by: number }).completed_by).toBe(rescuer.pid);
  rescuer.kill("SIGTERM");
  expect(await rescuer.exited).toBe(0);
}, 60_000);

test("an insert from another process wakes an idle runner within its data_version poll, not its idle poll", async () => {
  const { url, fw } = await freshDb();
  const node = spawnNode("serve", url, { POLL: "1h" });
  // The node prints "idle" once its runner has made its first (empty) claim and settled into its hour-long wait.
  await untilLine(node.stdout, "idle");
  const id = await fw.insert("hang", {});
  // The runner's idle poll is an hour: only the cross-process wake-up can start the job within this wait.
  await eventually("the idle runner to complete the job", async () => (await fw.findJob(id)).state === "succeeded", 5_000);
  node.kill("SIGTERM");
  expect(await node.exited).toBe(0);
}, 30_000);

/** Reads `stream` until a line equal to `line` arrives. */
async function untilLine(stream: ReadableStream<Uint8Array>, line: string): Promise<void> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    if (text.split("\n").includes(line)) return;
  }
  throw new Error(`the stream ended before a line ${JSON.stringify(line)}; it said: ${text}`);
}
