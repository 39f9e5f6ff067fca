import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/index.ts";
import { eventually, tempDir } from "../support/helpers.ts";
import { pgAvailable, throwawaySchema } from "../support/postgres.ts";

// SPEC §17: replay is safe under crashes. A process SIGKILLed mid-workflow loses no completed step, and the next
// attempt, in another process, does not run that step again. Real processes; the steps write their own evidence.

const FIXTURE = join(import.meta.dir, "../fixtures/workflow-process.ts");
const dir = await tempDir("flywheel-wf-crash-");
afterAll(() => dir.remove());

async function crashAndResume(url: string, env: Record<string, string> = {}): Promise<void> {
  const side = join(dir.path, `side-${crypto.randomUUID()}.log`);
  const fw = await connect(url, { schema: env.SCHEMA });
  await fw.migrate();
  const id = await fw.insert("crashy", {});
  const spawned: Bun.Subprocess[] = [];
  const spawn = (mode: string) => {
    const proc = Bun.spawn([process.execPath, FIXTURE, url, mode, side], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
    spawned.push(proc);
    return proc;
  };
  try {
    const first = spawn("hang");
    await eventually("step two to start in the first process", () => readLines(side).some((l) => l.startsWith("two ")), 15_000);
    first.kill("SIGKILL");
    await first.exited;
    const second = spawn("finish");
    try {
      await eventually("the workflow to succeed in the second process", async () => (await fw.findJob(id)).state === "succeeded", 20_000, 20);
    } finally {
      second.kill("SIGTERM");
      await second.exited;
    }
    const lines = readLines(side);
    // Step one ran once, in the killed process; step two ran in both (it never completed in the first).
    expect(lines.filter((l) => l.startsWith("one ")).map((l) => Number(l.split(" ")[1]))).toEqual([first.pid]);
    expect(lines.filter((l) => l.startsWith("two ")).map((l) => Number(l.split(" ")[1]))).toEqual([first.pid, second.pid]);
    expect(await fw.result(id)).toEqual({ one: { made: "by one" }, two: "two done" });
    expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["crashed", "success"]);
    expect((await fw.listSteps(id)).map((s) => [s.key, s.status, s.attempts])).toEqual([
      ["one", "completed", 1],
      ["two", "completed", 1],
    ]);
  } finally {
    // A failed wait above must not leave a hanging workflow process behind.
    for (const proc of spawned) proc.kill("SIGKILL");
    await Promise.all(spawned.map((p) => p.exited));
    await fw.close();
  }
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

test("sqlite: a SIGKILLed process mid-workflow loses no completed step, and the next attempt does not re-run it", async () => {
  await crashAndResume(`sqlite:${join(dir.path, "wf.db")}`);
}, 60_000);

describe.skipIf(!(await pgAvailable()))("postgres", () => {
  test("a SIGKILLed process mid-workflow loses no completed step, and the next attempt does not re-run it", async () => {
    const schema = throwawaySchema();
    try {
      await crashAndResume(schema.url);
    } finally {
      await schema.drop();
    }
  }, 60_000);
});
