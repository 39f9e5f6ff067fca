import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { WorkerError } from "../../src/errors.ts";
import { silentLogger } from "../../src/logger.ts";
import type { Job, WorkerDefinition, WorkResult } from "../../src/types.ts";

/** A job as the runner would hand it over: args parsed by the worker's schema. */
export function makeJob<A, In>(worker: WorkerDefinition<A, In>, args: In, signal: AbortSignal = new AbortController().signal): Job<A> {
  const parsed = worker.args ? v.parse(worker.args, args) : (args as unknown as A);
  return {
    id: "job-1",
    kind: worker.kind,
    queue: "default",
    args: parsed,
    attempt: 1,
    maxAttempts: 3,
    runId: "run-1",
    parentId: null,
    tags: [],
    metadata: {},
    enqueuedAt: new Date(),
    logger: silentLogger,
    signal,
  };
}

/** Runs the worker and returns its result. */
export async function work<A, In>(worker: WorkerDefinition<A, In>, args: In, signal?: AbortSignal): Promise<WorkResult> {
  return (await worker.work(makeJob(worker, args, signal))) ?? {};
}

/** Runs the worker, expecting it to throw a WorkerError, and returns that error. */
export async function workError<A, In>(worker: WorkerDefinition<A, In>, args: In, signal?: AbortSignal): Promise<WorkerError> {
  try {
    await worker.work(makeJob(worker, args, signal));
  } catch (error) {
    if (error instanceof WorkerError) return error;
    throw error;
  }
  throw new Error("expected the worker to throw a WorkerError");
}

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "flywheel-workers-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes an executable `#!/bin/sh` script. */
export function writeExecutable(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

/**
 * Whether `pid` is gone. A zombie counts as gone: it has exited, and under a PID 1 that never reaps orphans
 * (common in containers) it keeps answering kill(pid, 0) forever.
 */
export function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Polls `predicate` until it holds or `ms` pass; returns whether it held. */
export async function until(predicate: () => boolean, ms = 3_000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) return false;
    await Bun.sleep(10);
  }
  return true;
}

/** Reads a pid a test script wrote to `path`, waiting (bounded) for it to appear. */
export async function readPid(path: string): Promise<number> {
  let pid = Number.NaN;
  await until(() => {
    try {
      pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    } catch {
      return false;
    }
    return Number.isInteger(pid);
  });
  if (!Number.isInteger(pid)) throw new Error(`no pid in ${path}`);
  return pid;
}
