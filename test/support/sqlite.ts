import { join } from "node:path";
import { newId } from "../../src/core/id.ts";
import { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import type { ClaimParams, ClaimedJob, FinalizeItem, JobInsertRow } from "../../src/driver/types.ts";
import { tempDir } from "./helpers.ts";

/** The instant SQLite driver tests start at; every time is passed to the driver explicitly. */
export const T0 = new Date("2026-03-08T06:00:00Z");

/** `ms` milliseconds after {@link T0}. */
export function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

/** A fresh temporary directory and a database path in it; `remove` deletes both. */
export async function sqlitePath(name = "flywheel.db"): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await tempDir();
  return { path: join(dir.path, name), remove: () => dir.remove() };
}

/** A migrated driver on a fresh file; `cleanup` closes it and deletes the file. */
export async function openTestDriver(): Promise<{ driver: SqliteDriver; path: string; cleanup(): Promise<void> }> {
  const file = await sqlitePath();
  const driver = SqliteDriver.open(file.path);
  await driver.schemaMigrate();
  return {
    driver,
    path: file.path,
    async cleanup() {
      await driver.close();
      await file.remove();
    },
  };
}

/** A `jobs` row to insert, available at {@link T0} on queue `default`, with `over` applied. */
export function jobRow(over: Partial<JobInsertRow> = {}): JobInsertRow {
  return {
    id: newId(),
    kind: "noop",
    queue: "default",
    argsJson: "{}",
    priority: 100,
    state: "available",
    maxAttempts: 25,
    timeoutMs: null,
    scheduledAt: T0,
    uniqueKey: null,
    uniqueActiveKey: null,
    parentJobId: null,
    rootJobId: null,
    executorClass: "",
    tags: [],
    metadata: {},
    createdAt: T0,
    ...over,
  };
}

/** A claim of every queue and class at `now`, leased for 30 s, with `over` applied. */
export function claimAt(now: Date, over: Partial<ClaimParams> = {}): ClaimParams {
  return {
    queues: null,
    executorClasses: null,
    limit: 10,
    now,
    leasedUntil: new Date(now.getTime() + 30_000),
    leaseToken: newId(),
    executorId: "test-node",
    ...over,
  };
}

/** The finalize item of a claimed job's attempt that succeeded at `finishedAt`, with `run` details applied. */
export function successItem(job: ClaimedJob, finishedAt: Date, run: Partial<FinalizeItem["run"]> = {}): FinalizeItem {
  return {
    jobId: job.id,
    runId: job.runId,
    leaseToken: job.leaseToken!,
    run: {
      outcome: "success",
      errorClass: null,
      errorMessage: null,
      output: null,
      finishedAt,
      durationMs: finishedAt.getTime() - job.startedAt.getTime(),
      costMicros: null,
      ...run,
    },
    job: { state: "succeeded", scheduledAt: null, maxAttemptsDelta: 0 },
    followUps: [],
  };
}
