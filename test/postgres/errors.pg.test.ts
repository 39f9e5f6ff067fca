/** Only FlywheelErrors leave the PostgreSQL driver: each failure below arrives with its code and the original as cause. */
import { afterEach, describe, expect, test } from "bun:test";
import { FlywheelError } from "../../src/core/errors.ts";
import { newId } from "../../src/core/id.ts";
import { PostgresDriver } from "../../src/driver/postgres/index.ts";
import { pgErrorCode } from "../../src/driver/postgres/errors.ts";
import { connect, type Flywheel } from "../../src/index.ts";
import { adminSql, pgAvailable, throwawaySchema, type ThrowawaySchema } from "../support/postgres.ts";

const missing = !(await pgAvailable());

/** The rejection of `promise`, which must be a FlywheelError. */
async function flywheelError(promise: Promise<unknown>): Promise<FlywheelError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FlywheelError);
  return error as FlywheelError;
}

describe("postgres: error codes", () => {
  test.each([
    ["validation", "a data exception (class 22)", Object.assign(new Error("x"), { name: "PostgresError", code: "22P02" })],
    ["conflict", "a constraint violation (class 23)", Object.assign(new Error("x"), { name: "PostgresError", code: "23505" })],
    ["unavailable", "a connection exception (class 08)", Object.assign(new Error("x"), { name: "PostgresError", code: "08006" })],
    ["unavailable", "an administrator shutdown", Object.assign(new Error("x"), { name: "PostgresError", code: "57P01" })],
    ["unavailable", "too many connections", Object.assign(new Error("x"), { name: "PostgresError", code: "53300" })],
    ["unavailable", "a deadlock the server broke (the transaction may run again)", Object.assign(new Error("x"), { name: "PostgresError", code: "40P01" })],
    ["unavailable", "a serialization failure", Object.assign(new Error("x"), { name: "PostgresError", code: "40001" })],
    ["database", "a syntax error", Object.assign(new Error("x"), { name: "PostgresError", code: "42601" })],
    ["unavailable", "a connection postgres.js saw close", Object.assign(new Error("x"), { code: "CONNECTION_CLOSED" })],
    ["unavailable", "a refused socket", Object.assign(new Error("x"), { code: "ECONNREFUSED" })],
    ["closed", "a pool that was ended", Object.assign(new Error("x"), { code: "CONNECTION_ENDED" })],
    ["database", "an error without a code", new Error("x")],
  ] as const)("%s: %s", (code, _, error) => {
    expect(pgErrorCode(error)).toBe(code);
  });
});

describe("postgres: errors at the driver's seam", () => {
  test("a server that refuses the connection is unavailable, with the socket error as cause", async () => {
    const driver = PostgresDriver.open("postgres://postgres@127.0.0.1:1/none?schema=fw_unreachable");
    try {
      const error = await flywheelError(driver.dbCheck({}));
      expect(error.code).toBe("unavailable");
      expect(error.message).toStartWith("flywheel: dbCheck: ");
      expect(error.cause).toBeInstanceOf(Error);
      expect(error.message).toContain((error.cause as Error).message);
    } finally {
      await driver.close();
    }
  });
});

describe.skipIf(missing)("postgres: errors from the database", () => {
  let schema: ThrowawaySchema;
  let fw: Flywheel;
  afterEach(async () => {
    await fw.close();
    await schema.drop();
  });

  async function fresh(): Promise<Flywheel> {
    schema = throwawaySchema();
    fw = await connect(schema.url);
    await fw.migrate();
    return fw;
  }

  test("a unique violation the driver does not expect is a conflict, with the server's error as cause", async () => {
    await fresh();
    const admin = adminSql({ max: 1 });
    try {
      // A constraint of the application's own (here: one run per executor) that a claim of two jobs violates.
      await admin.unsafe(`CREATE UNIQUE INDEX test_one_run_per_executor ON "${schema.name}".job_runs (executor_id)`);
    } finally {
      await admin.end({ timeout: 1 });
    }
    await fw.insertMany([{ kind: "noop" }, { kind: "noop" }]);
    const now = new Date();
    const error = await flywheelError(
      fw.driver.jobClaim({ queues: null, executorClasses: null, limit: 2, now, leasedUntil: new Date(now.getTime() + 30_000), leaseToken: "t", executorId: "x" }),
    );
    expect(error.code).toBe("conflict");
    expect(error.message).toStartWith("jobs: jobClaim: ");
    expect(error.message).toContain("test_one_run_per_executor");
    expect((error.cause as { code?: string }).code).toBe("23505");
    expect((await fw.listJobs()).map((j) => j.state)).toEqual(["available", "available"]);
  });

  test("retrying a job whose unique_active_key another active job now holds leaves it and names the holder", async () => {
    await fresh();
    const first = await fw.insert("noop", {}, { uniqueActiveKey: "nightly" });
    await fw.driver.jobCancel({ id: first, now: new Date() });
    const second = await fw.insert("noop", {}, { uniqueActiveKey: "nightly" });
    expect(await fw.driver.jobRetry({ id: first, now: new Date() })).toMatchObject({ heldBy: second, before: { state: "cancelled" } });
    expect((await fw.findJob(first)).state).toBe("cancelled");
  });

  test("a value the database refuses is validation", async () => {
    await fresh();
    const error = await flywheelError(fw.driver.jobList({ limit: -1 }));
    expect(error.code).toBe("validation");
    expect((error.cause as { code?: string }).code).toStartWith("22");
  });

  test("dbCheck answers for a schema not migrated yet (as SQLite does), and reads the tables once they exist", async () => {
    await fresh();
    const other = PostgresDriver.open(throwawaySchema().url);
    try {
      await other.dbCheck({ integrity: true });
      expect(await other.schemaVersion()).toMatchObject({ current: 0 });
      await fw.driver.dbCheck({ integrity: true });
    } finally {
      await other.close();
    }
  });

  test("after close, and on a pool the app ended, methods fail closed", async () => {
    await fresh();
    const app = adminSql({ max: 1 });
    const driver = new PostgresDriver(app, { schema: schema.name });
    await app.end({ timeout: 1 });
    expect((await flywheelError(driver.jobGet({ id: newId() }))).code).toBe("closed");
    await driver.close();
    expect((await flywheelError(driver.jobGet({ id: newId() }))).code).toBe("closed");
  });
});
