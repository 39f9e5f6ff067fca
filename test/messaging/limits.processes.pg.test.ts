import { afterEach, describe, test } from "bun:test";
import { pgAvailable, throwawaySchema, type ThrowawaySchema } from "../support/postgres.ts";
import { breakerProbesAcrossProcesses, limitsAcrossProcesses } from "./processes.ts";

const missing = !(await pgAvailable());
let schema: ThrowawaySchema | null = null;
afterEach(async () => {
  await schema?.drop();
  schema = null;
});

describe.skipIf(missing)("postgres: limits across processes", () => {
  test("four processes on one schema keep a kind's concurrency limit and a queue's rate limit", async () => {
    schema = throwawaySchema();
    await limitsAcrossProcesses(schema.url);
  }, 90_000);

  test("four processes on one schema run one probe at a time for an open breaker", async () => {
    schema = throwawaySchema();
    await breakerProbesAcrossProcesses(schema.url);
  }, 90_000);
});
