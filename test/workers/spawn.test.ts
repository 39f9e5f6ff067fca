import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { HeadTailBuffer, spawnCapture } from "../../src/workers/spawn.ts";
import { shellWorker } from "../../src/workers/shell.ts";
import { eventually, processGone, tempDir } from "../support/helpers.ts";
import { readPid, work, workError } from "./helpers.ts";

const tmp = await tempDir("flywheel-workers-");
afterAll(() => tmp.remove());
const bytes = (text: string) => new TextEncoder().encode(text);

describe("HeadTailBuffer", () => {
  test("keeps everything within budget, across chunk boundaries", () => {
    const buffer = new HeadTailBuffer(10);
    for (const part of ["abc", "defg", "hij"]) buffer.push(bytes(part));
    expect(buffer.truncated).toBe(false);
    expect(buffer.text()).toBe("abcdefghij");
  });

  test("keeps the head and the tail with a marker counting the dropped bytes", () => {
    const buffer = new HeadTailBuffer(8);
    for (const part of ["0123", "45", "6789ab", "cd", "ef"]) buffer.push(bytes(part));
    expect(buffer.truncated).toBe(true);
    expect(buffer.totalBytes).toBe(16);
    expect(buffer.text()).toBe("0123\n[flywheel: 8 bytes omitted]\ncdef");
  });

  test("a single chunk larger than the budget keeps its own head and tail", () => {
    const buffer = new HeadTailBuffer(4);
    buffer.push(bytes("abcdefghij"));
    expect(buffer.text()).toBe("ab\n[flywheel: 6 bytes omitted]\nij");
  });

  test("does not split a multi-byte character it keeps whole", () => {
    const buffer = new HeadTailBuffer(6);
    const euro = bytes("a€b"); // 5 bytes, the € straddles head (3) and tail
    buffer.push(euro.subarray(0, 2));
    buffer.push(euro.subarray(2));
    expect(buffer.text()).toBe("a€b");
  });
});

describe("process groups", () => {
  const shell = shellWorker({ killGraceMs: 300 });

  test("timeout_seconds kills a background grandchild and reports a timeout with the output so far", async () => {
    const pidfile = join(tmp.path, "timeout.pid");
    const error = await workError(shell, {
      inline: `echo started; sleep 1000 & echo $! > ${pidfile}; wait`,
      timeout_seconds: 0.3,
    });
    expect(error.errorClass).toBe("timeout");
    expect(error.message).toContain("timed out after 0.3s");
    const output = error.output as { exit_code: number | null; signal: string | null; stdout: string };
    expect(output.exit_code).toBeNull();
    expect(output.signal).toBe("SIGTERM");
    expect(output.stdout).toBe("started\n");
    expect(processGone(await readPid(pidfile))).toBe(true);
  });

  test("a grandchild that ignores SIGTERM gets SIGKILL after the grace period", async () => {
    const pidfile = join(tmp.path, "ignore-term.pid");
    const started = performance.now();
    const error = await workError(shell, {
      inline: `trap '' TERM; sleep 1000 & echo $! > ${pidfile}; wait`,
      timeout_seconds: 0.2,
      kill_grace_seconds: 0.2,
    });
    expect(error.errorClass).toBe("timeout");
    expect((error.output as { signal: string }).signal).toBe("SIGKILL");
    expect(processGone(await readPid(pidfile))).toBe(true);
    // Escalation waited for the grace period rather than the sleep.
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  test("aborting job.signal kills the group; a plain abort is transient", async () => {
    const pidfile = join(tmp.path, "abort.pid");
    const controller = new AbortController();
    const pending = workError(shell, { inline: `sleep 1000 & echo $! > ${pidfile}; wait` }, controller.signal);
    const pid = await readPid(pidfile);
    controller.abort(new Error("cancelled by operator"));
    const error = await pending;
    expect(error.errorClass).toBe("transient");
    expect(error.message).toContain("cancelled by operator");
    expect((error.output as { signal: string }).signal).toBe("SIGTERM");
    expect(processGone(pid)).toBe(true);
  });

  test("an abort whose reason is a TimeoutError is classified as a timeout", async () => {
    const pidfile = join(tmp.path, "abort-timeout.pid");
    const controller = new AbortController();
    const pending = workError(shell, { inline: `sleep 1000 & echo $! > ${pidfile}; wait` }, controller.signal);
    const pid = await readPid(pidfile);
    controller.abort(new DOMException("job deadline", "TimeoutError"));
    const error = await pending;
    expect(error.errorClass).toBe("timeout");
    expect(processGone(pid)).toBe(true);
  });

  test("an already-aborted signal starts nothing", async () => {
    const marker = join(tmp.path, "never-created");
    const error = await workError(shell, { inline: `touch ${marker}` }, AbortSignal.abort(new Error("draining")));
    expect(error.errorClass).toBe("transient");
    expect(await Bun.file(marker).exists()).toBe(false);
  });

  test("a background child left behind by a successful command does not outlive the job", async () => {
    const pidfile = join(tmp.path, "leftover.pid");
    // The sleep keeps stdout open: without ending the group, reading the pipe would never finish.
    const result = await work(shell, { inline: `sleep 1000 & echo $! > ${pidfile}; echo done` });
    expect((result.output as { exit_code: number; stdout: string }).stdout).toBe("done\n");
    expect(processGone(await readPid(pidfile))).toBe(true);
  });

  test("spawnCapture reports the argv, duration and resource usage", async () => {
    const { output, stopped } = await spawnCapture({
      command: ["sh", "-c", "echo out; echo err >&2"],
      cwd: tmp.path,
      env: { PATH: process.env.PATH ?? "" },
      maxOutputBytes: 1024,
      killGraceMs: 100,
    });
    expect(stopped).toBeNull();
    expect(output).toMatchObject({ exit_code: 0, signal: null, stdout: "out\n", stderr: "err\n", command: ["sh", "-c", "echo out; echo err >&2"] });
    expect(output.duration_ms).toBeGreaterThanOrEqual(0);
    expect(output.max_rss_kb).toBeGreaterThan(0);
  });
});

test("a process that exits mid-job takes its jobs' process groups with it", async () => {
  const pidfile = join(tmp.path, "exit-mid-job.pid");
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures/exit-mid-job.ts"), "exit", pidfile], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  expect(await proc.exited).toBe(1);
  for (const pid of await readPids(pidfile)) expect(await eventually(`process ${pid} to be gone`, () => processGone(pid), 3_000)).toBe(true);
});

test("a process SIGKILLed mid-job takes its jobs' process groups with it (the watchdog ends them)", async () => {
  const pidfile = join(tmp.path, "killed-mid-job.pid");
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures/exit-mid-job.ts"), "hold", pidfile], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toStartWith("started");
  const [job, grandchild] = await readPids(pidfile);
  expect(processGone(job!)).toBe(false);
  proc.kill("SIGKILL");
  await proc.exited;
  // No exit hook runs on SIGKILL: only the watchdog can end the group. SIGTERM reaches sleep at once.
  for (const pid of [job!, grandchild!]) expect(await eventually(`process ${pid} to be gone`, () => processGone(pid), 5_000)).toBe(true);
});

/** The pids a fixture wrote on one line. */
async function readPids(file: string): Promise<number[]> {
  return (await Bun.file(file).text()).trim().split(/\s+/).map(Number);
}
