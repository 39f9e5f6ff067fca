import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A promise with its resolve exposed: lets a test hold a worker mid-flight and release it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). For waiting
 * on another process or an async database round trip; never a substitute for an assertion.
 */
export async function eventually<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 5): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await Bun.sleep(intervalMs);
  }
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(prefix = "flywheel-test-"): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Whether process `pid` is gone. A zombie counts as gone: it has exited, and under a PID 1 that never reaps
 * orphans (common in containers) it keeps answering kill(pid, 0) forever.
 */
export function processGone(pid: number): boolean {
  const signalable = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!signalable()) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // The state letter follows the command name, which is in parentheses and may itself contain ")".
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    // No /proc (macOS), or the process was reaped between the two looks: the signal has the last word.
    return !signalable();
  }
}
