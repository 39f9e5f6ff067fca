import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { FlywheelError } from "../../src/core/errors.ts";
import { flywheelCodeOf } from "../../src/driver/sqlite/errors.ts";
import { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import { connect } from "../../src/index.ts";
import { T0, at, jobRow, openTestDriver, sqlitePath } from "../support/sqlite.ts";

// Only FlywheelErrors leave the driver; SQLite's result codes are mapped once, at the seam.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function driverOnFile() {
  const opened = await openTestDriver();
  cleanups.push(opened.cleanup);
  return opened;
}

async function rejection(promise: Promise<unknown>): Promise<FlywheelError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FlywheelError);
  return error as FlywheelError;
}

test.each([
  ["SQLITE_CONSTRAINT_UNIQUE", "conflict"],
  ["SQLITE_CONSTRAINT_PRIMARYKEY", "conflict"],
  ["SQLITE_CONSTRAINT_FOREIGNKEY", "conflict"],
  ["SQLITE_CONSTRAINT_NOTNULL", "validation"],
  ["SQLITE_CONSTRAINT_CHECK", "validation"],
  ["SQLITE_MISMATCH", "validation"],
  ["SQLITE_TOOBIG", "validation"],
  ["SQLITE_RANGE", "validation"],
  ["SQLITE_BUSY", "unavailable"],
  ["SQLITE_BUSY_SNAPSHOT", "unavailable"],
  ["SQLITE_LOCKED", "unavailable"],
  ["SQLITE_CANTOPEN", "unavailable"],
  ["SQLITE_IOERR_SHORT_READ", "unavailable"],
  ["SQLITE_FULL", "unavailable"],
  ["SQLITE_READONLY_DBMOVED", "unavailable"],
  ["SQLITE_CORRUPT", "corrupt"],
  ["SQLITE_CORRUPT_INDEX", "corrupt"],
  ["SQLITE_NOTADB", "corrupt"],
  ["SQLITE_ERROR", "database"],
  ["SQLITE_INTERRUPT", "database"],
] as const)("%s is %s", (sqlite, flywheel) => {
  expect(flywheelCodeOf(sqlite)).toBe(flywheel);
});

test("a unique violation the driver does not expect is a conflict, with SQLite's error as cause", async () => {
  const { driver } = await driverOnFile();
  // A constraint of the application's own (here: one run per executor) that a claim of two jobs violates.
  driver.db.run("CREATE UNIQUE INDEX test_one_run_per_executor ON job_runs (executor_id)");
  await driver.jobInsert({ jobs: [jobRow(), jobRow()] });
  const error = await rejection(
    driver.jobClaim({ queues: null, executorClasses: null, limit: 2, now: T0, leasedUntil: at(30_000), leaseToken: "t", executorId: "x" }),
  );
  expect(error.code).toBe("conflict");
  expect(error.message).toStartWith("jobs: ");
  expect(error.message).toContain("UNIQUE constraint failed: job_runs.executor_id");
  expect((error.cause as { code: string }).code).toBe("SQLITE_CONSTRAINT_UNIQUE");
  // The claim's transaction rolled back whole: no job is left running without its stub.
  expect((await driver.jobList({ limit: 10 })).map((j) => j.state)).toEqual(["available", "available"]);
});

test("jobRetry of a job whose unique_active_key another active job now holds leaves it and names the holder", async () => {
  const { driver } = await driverOnFile();
  const [first] = await driver.jobInsert({ jobs: [jobRow({ uniqueActiveKey: "nightly" })] });
  await driver.jobCancel({ id: first!.id, now: at(1_000) });
  const [second] = await driver.jobInsert({ jobs: [jobRow({ uniqueActiveKey: "nightly" })] });
  const retried = await driver.jobRetry({ id: first!.id, now: at(2_000) });
  expect(retried).toMatchObject({ heldBy: second!.id, before: { state: "cancelled" } });
  expect(await driver.jobGet({ id: first!.id })).toMatchObject({ state: "cancelled" });
});

test("a value the table refuses is validation, on the job path with a jobs: message", async () => {
  const { driver } = await driverOnFile();
  const error = await rejection(driver.jobInsert({ jobs: [jobRow({ state: "bogus" as "available" })] }));
  expect(error.code).toBe("validation");
  expect(error.message).toContain("CHECK constraint failed");
  // The claim path prefixes its messages `jobs:`.
  driver.db.run("CREATE TRIGGER refuse BEFORE UPDATE ON jobs BEGIN SELECT RAISE(ABORT, 'no claims today'); END");
  await driver.jobInsert({ jobs: [jobRow()] });
  const claimError = await rejection(
    driver.jobClaim({ queues: null, executorClasses: null, limit: 1, now: T0, leasedUntil: at(30_000), leaseToken: "t", executorId: "x" }),
  );
  expect(claimError.message).toStartWith("jobs: ");
  expect(claimError.message).toContain("no claims today");
});

test("jobInsertSync throws normalised errors inside the caller's transaction, which rolls back", async () => {
  const { driver, path } = await driverOnFile();
  const app = new Database(path, { strict: true });
  cleanups.push(async () => app.close(false));
  const good = jobRow();
  let thrown: unknown;
  try {
    app.transaction(() => {
      driver.jobInsertSync({ jobs: [good], tx: app });
      driver.jobInsertSync({ jobs: [jobRow({ state: "bogus" as "available" })], tx: app });
    })();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(FlywheelError);
  expect((thrown as FlywheelError).code).toBe("validation");
  expect(await driver.jobGet({ id: good.id })).toBeNull();
  // Collisions are outcomes, not errors.
  app.transaction(() => {
    expect(driver.jobInsertSync({ jobs: [jobRow({ uniqueKey: "once" })], tx: app })[0]!.inserted).toBe(true);
    expect(driver.jobInsertSync({ jobs: [jobRow({ uniqueKey: "once" })], tx: app })[0]).toMatchObject({ inserted: false, key: "unique_key" });
  })();
});

test("opening a file that is not a database is corrupt, through the driver and through connect", async () => {
  const file = await sqlitePath("garbled.db");
  cleanups.push(file.remove);
  writeFileSync(file.path, Buffer.alloc(16_384, 0x41));
  let error: unknown;
  try {
    SqliteDriver.open(file.path);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(FlywheelError);
  expect((error as FlywheelError).code).toBe("corrupt");
  expect((error as FlywheelError).message).toContain(file.path);
  expect((error as FlywheelError).message).toContain("file is not a database");
  expect((await rejection(connect(`sqlite:${file.path}`))).code).toBe("corrupt");
  const app = new Database(file.path);
  cleanups.push(async () => app.close(false));
  expect((await rejection(connect({ sqlite: app }))).code).toBe("corrupt");
});

test("dbCheck reads flywheel's tables; with integrity it finds damage and names the file and the first problem", async () => {
  const file = await sqlitePath();
  cleanups.push(file.remove);
  const unmigrated = SqliteDriver.open(file.path);
  await unmigrated.dbCheck({ integrity: true });
  await unmigrated.schemaMigrate();
  await unmigrated.jobInsert({ jobs: Array.from({ length: 50 }, () => jobRow()) });
  await unmigrated.dbCheck({});
  await unmigrated.dbCheck({ integrity: true });
  // Closing the last connection checkpoints the WAL into the file, so the damage below is what SQLite reads.
  await unmigrated.close();

  // The header's freelist page count (bytes 36–39) says 7 pages where there are none.
  const fd = openSync(file.path, "r+");
  const count = Buffer.alloc(4);
  count.writeUInt32BE(7);
  writeSync(fd, count, 0, 4, 36);
  closeSync(fd);

  const damaged = SqliteDriver.open(file.path);
  cleanups.push(() => damaged.close());
  await damaged.dbCheck({});
  const error = await rejection(damaged.dbCheck({ integrity: true }));
  expect(error.code).toBe("corrupt");
  expect(error.message).toBe(`flywheel: the SQLite file ${file.path} is damaged: quick_check reports "Freelist: size is 0 but should be 7"`);
});

test("a table page SQLite cannot read is corrupt from dbCheck and from the statements that touch it", async () => {
  const file = await sqlitePath();
  cleanups.push(file.remove);
  const driver = SqliteDriver.open(file.path);
  await driver.schemaMigrate();
  await driver.jobInsert({ jobs: Array.from({ length: 2_000 }, () => jobRow({ argsJson: JSON.stringify({ pad: "x".repeat(200) }) })) });
  await driver.close();
  const fd = openSync(file.path, "r+");
  writeSync(fd, Buffer.alloc(4096 * 8, 0), 0, 4096 * 8, 4096 * 40);
  closeSync(fd);

  const damaged = SqliteDriver.open(file.path);
  cleanups.push(() => damaged.close());
  const error = await rejection(damaged.dbCheck({ integrity: true }));
  expect(error.code).toBe("corrupt");
  expect(error.message).toContain(`the SQLite file ${file.path} is damaged`);
  expect((await rejection(damaged.jobList({ limit: 5_000 }))).code).toBe("corrupt");
});
