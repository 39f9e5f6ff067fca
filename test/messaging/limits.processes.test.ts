import { afterEach, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../support/helpers.ts";
import { limitsAcrossProcesses } from "./processes.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

test("sqlite: four processes on one file keep a kind's concurrency limit and a queue's rate limit", async () => {
  const dir = await tempDir();
  cleanups.push(() => dir.remove());
  await limitsAcrossProcesses(`sqlite:${join(dir.path, "shared.db")}`);
}, 90_000);
