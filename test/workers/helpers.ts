import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import * as v from "valibot";
import { WorkerError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import type { Job, WorkerDefinition, WorkResult } from "../../src/core/types.ts";
import { eventually } from "../support/helpers.ts";

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

/** Writes an executable `#!/bin/sh` script. */
export function writeExecutable(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

/** Reads a pid a test script wrote to `path`, waiting (bounded) for it to appear. */
export function readPid(path: string): Promise<number> {
  return eventually(`a pid in ${path}`, () => {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isInteger(pid) ? pid : undefined;
  }, 3_000);
}
