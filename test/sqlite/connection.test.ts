import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { chmodSync, statSync, writeFileSync } from "node:fs";
import { FlywheelError } from "../../src/core/errors.ts";
import { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import { connect } from "../../src/index.ts";
import { claimAt, jobRow, sqlitePath, successItem, T0, at } from "../support/sqlite.ts";

// How the driver holds its connections: its own beside an application's handle, and files private to the user.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test("on an application's file handle the runtime commits on its own connection: an application rollback undoes none of it", async () => {
  const file = await sqlitePath();
  cleanups.push(file.remove);
  const app = new Database(file.path, { create: true, strict: true });
  cleanups.push(async () => app.close(false));
  const driver = new SqliteDriver(app, { ownsDatabase: false });
  cleanups.push(() => driver.close());
  await driver.schemaMigrate();
  expect(driver.db).not.toBe(app);
  await driver.jobInsert({ jobs: [jobRow(), jobRow()] });

  // The application holds a transaction open across awaits while the runtime claims and finalizes.
  app.run("BEGIN");
  expect((app.query("SELECT count(*) AS n FROM jobs").get() as { n: number }).n).toBe(2);
  const claimed = await driver.jobClaim(claimAt(T0, { limit: 2 }));
  expect(claimed).toHaveLength(2);
  const [outcome] = await driver.jobFinalize({ items: [successItem(claimed[0]!, at(1_000))], now: at(1_000) });
  expect(outcome!.applied).toBe(true);
  expect(app.inTransaction).toBe(true);
  app.run("ROLLBACK");

  expect(await driver.jobGet({ id: claimed[0]!.id })).toMatchObject({ state: "succeeded" });
  expect(await driver.jobGet({ id: claimed[1]!.id })).toMatchObject({ state: "running" });
  expect((await driver.runList({ jobId: claimed[0]!.id })).map((r) => r.outcome)).toEqual(["success"]);
  // A fresh connection sees the same: it was committed, not left in a transaction of the runtime's.
  const reader = new Database(file.path, { readonly: true });
  expect(reader.query("SELECT state FROM jobs ORDER BY state").all()).toEqual([{ state: "running" }, { state: "succeeded" }]);
  reader.close();
});

test("on an application's file handle, tx inserts still ride the application's transaction", async () => {
  const file = await sqlitePath();
  cleanups.push(file.remove);
  const app = new Database(file.path, { create: true, strict: true });
  cleanups.push(async () => app.close(false));
  const fw = await connect({ sqlite: app });
  cleanups.push(() => fw.close());
  await fw.migrate();
  const kept = jobRow();
  const dropped = jobRow();
  app.transaction(() => void fw.driver.jobInsertSync!({ jobs: [kept], tx: app }))();
  try {
    app.transaction(() => {
      fw.driver.jobInsertSync!({ jobs: [dropped], tx: app });
      throw new Error("application rollback");
    })();
  } catch {
    // The rollback is the point.
  }
  expect(await fw.driver.jobGet({ id: kept.id })).not.toBeNull();
  expect(await fw.driver.jobGet({ id: dropped.id })).toBeNull();
});

test("on an in-memory application handle, runtime statements refuse while the application holds a transaction, and work after", async () => {
  const app = new Database(":memory:", { strict: true });
  cleanups.push(async () => app.close(false));
  const driver = new SqliteDriver(app, { ownsDatabase: false });
  cleanups.push(() => driver.close());
  expect(driver.db).toBe(app);
  await driver.schemaMigrate();
  await driver.jobInsert({ jobs: [jobRow()] });

  app.run("BEGIN");
  for (const call of [driver.jobClaim(claimAt(T0)), driver.jobInsert({ jobs: [jobRow()] }), driver.jobList({ limit: 10 })]) {
    const error = await call.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FlywheelError);
    expect(error).toMatchObject({ code: "unavailable", message: expect.stringContaining("the application holds a transaction open on the shared SQLite handle") });
  }
  // The outbox path is the one that belongs in the application's transaction.
  expect(driver.jobInsertSync({ jobs: [jobRow()], tx: app })[0]!.inserted).toBe(true);
  app.run("ROLLBACK");

  const claimed = await driver.jobClaim(claimAt(T0));
  expect(claimed).toHaveLength(1);
  expect(await driver.jobGet({ id: claimed[0]!.id })).toMatchObject({ state: "running" });
});

test("under umask 022 a database file flywheel creates, its -wal and its -shm are mode 0600", async () => {
  const file = await sqlitePath("private.db");
  cleanups.push(file.remove);
  const previous = process.umask(0o022);
  try {
    const driver = SqliteDriver.open(file.path);
    await driver.schemaMigrate();
    await driver.jobInsert({ jobs: [jobRow()] });
    for (const suffix of ["", "-wal", "-shm"]) {
      expect({ file: suffix, mode: statSync(file.path + suffix).mode & 0o777 }).toEqual({ file: suffix, mode: 0o600 });
    }
    await driver.close();
  } finally {
    process.umask(previous);
  }
});

test("a database file the user made keeps its mode", async () => {
  const file = await sqlitePath("theirs.db");
  cleanups.push(file.remove);
  writeFileSync(file.path, "");
  chmodSync(file.path, 0o640);
  const driver = SqliteDriver.open(file.path);
  await driver.schemaMigrate();
  await driver.close();
  expect(statSync(file.path).mode & 0o777).toBe(0o640);
});

test("while the application holds a write transaction across an await, runtime writes refuse at once instead of blocking the event loop", async () => {
  const file = await sqlitePath();
  cleanups.push(file.remove);
  const app = new Database(file.path, { create: true, strict: true });
  cleanups.push(async () => app.close(false));
  const driver = new SqliteDriver(app, { ownsDatabase: false, busyTimeoutMs: 60_000 });
  cleanups.push(() => driver.close());
  await driver.schemaMigrate();
  await driver.jobInsert({ jobs: [jobRow()] });
  app.run("BEGIN IMMEDIATE");
  // With a 60 s busy timeout, waiting for the lock would hang this test; the refusal comes back at once.
  const error = await driver.jobClaim(claimAt(T0)).catch((e) => e);
  expect(error).toBeInstanceOf(FlywheelError);
  expect(error.code).toBe("unavailable");
  app.run("ROLLBACK");
  expect(await driver.jobClaim(claimAt(T0))).toHaveLength(1);
});
