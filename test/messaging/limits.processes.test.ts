import { afterEach, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../support/helpers.ts";
import { breakerProbesAcrossProcesses, limitsAcrossProcesses } from "./processes.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

test("sqlite: four processes on one file keep a kind's concurrency limit and a queue's rate limit", async () => {
  const dir = await tempDir();
  cleanups.push(() => dir.remove());
  await limitsAcrossProcesses(`sqlite:${join(dir.path, "shared.db")}`);
}, 90_000);

test("sqlite: four processes on one file run one probe at a time for an open breaker", async () => {
  const dir = await tempDir();
  cleanups.push(() => dir.remove());
  await breakerProbesAcrossProcesses(`sqlite:${join(dir.path, "shared.db")}`);
}, 90_000);
