import { expect, test } from "bun:test";
import { join } from "node:path";
import { connect, defineWorker, FlywheelError } from "../../src/index.ts";
import { deferred, tempDir } from "../support/helpers.ts";

// Outcomes normally ride with the runner's next claim. While claims fail and the runner backs off (an outage that
// spares finalizes, or a claim-specific error), they must not wait the backoff out.
test("while claims fail and back off, outcomes of jobs that finish are committed at once, not after the backoff", async () => {
  const dir = await tempDir();
  const fw = await connect(`sqlite:${join(dir.path, "runner.db")}`);
  try {
    await fw.migrate();
    const gates = { a: deferred(), b: deferred() };
    const started = { a: deferred(), b: deferred() };
    fw.register(
      defineWorker({
        kind: "gated",
        async work(job) {
          const key = (job.args as { key: "a" | "b" }).key;
          started[key].resolve();
          await gates[key].promise;
        },
      }),
    );
    const [a, b] = (await fw.insertMany([{ kind: "gated", args: { key: "a" } }, { kind: "gated", args: { key: "b" } }])) as string[];
    const controller = new AbortController();
    const running = fw.node({ runners: [{ concurrency: 2 }], scheduler: false, http: false }).run(controller.signal);
    await Promise.all([started.a.promise, started.b.promise]);

    // From here on every claim fails as a dropped connection would; finalizes still reach the database.
    let claims = 0;
    const driver = fw.driver as unknown as Record<string, unknown>;
    const refuse = async () => {
      claims++;
      throw new FlywheelError("unavailable", "connection lost (injected)");
    };
    driver.jobClaim = refuse;
    driver.jobFinalizeAndClaim = refuse;
    const aFinished = fw.events.once("job:finished", (e) => e.job.id === a);
    gates.a.resolve();
    expect((await aFinished).outcome).toBe("success");

    // Once the runner has just begun a 1.6 s backoff, release b: its outcome must land before the next claim try.
    await fw.events.once("runner:backoff", (e) => e.delayMs >= 1_600);
    const claimsAtRelease = claims;
    const bFinished = fw.events.once("job:finished", (e) => e.job.id === b);
    gates.b.resolve();
    expect((await bFinished).outcome).toBe("success");
    expect(claims).toBe(claimsAtRelease);
    expect((await fw.findJob(b!)).state).toBe("succeeded");
    controller.abort();
    await running;
  } finally {
    await fw.close();
    await dir.remove();
  }
});

test("a damaged database stops the node: it drains what runs, then run() rejects with the corrupt error", async () => {
  const dir = await tempDir();
  const fw = await connect(`sqlite:${join(dir.path, "runner.db")}`);
  try {
    await fw.migrate();
    const gate = deferred();
    const started = deferred();
    fw.register(defineWorker({ kind: "held", work: async () => (started.resolve(), await gate.promise) }));
    const id = await fw.insert("held", {});
    const running = fw.node({ runners: [{ concurrency: 2 }], scheduler: false }).run(new AbortController().signal);
    await started.promise;
    const driver = fw.driver as unknown as Record<string, unknown>;
    const corrupt = async () => {
      throw new FlywheelError("corrupt", "flywheel: the database file is damaged (injected)");
    };
    driver.jobClaim = corrupt;
    driver.jobFinalizeAndClaim = corrupt;
    const draining = fw.events.once("runner:draining");
    fw.wake();
    expect((await draining).inflight).toBe(1);
    gate.resolve();
    const error = await running.catch((e) => e);
    expect(error).toMatchObject({ code: "corrupt" });
    // The attempt that was running when the claim failed still had its outcome recorded.
    expect((await fw.findJob(id)).state).toBe("succeeded");
  } finally {
    await fw.close();
    await dir.remove();
  }
});

test("a claim that takes back the job whose outcome it commits (a snooze due at once) keeps the new attempt's lease", async () => {
  const dir = await tempDir();
  const fw = await connect(`sqlite:${join(dir.path, "runner.db")}`);
  try {
    await fw.migrate();
    let runs = 0;
    fw.register(defineWorker({ kind: "again", work: () => (++runs === 1 ? { snooze: 0 } : { output: "second" }) }));
    const id = await fw.insert("again", {});
    // On SQLite the claim that commits the snooze sees the job available again and claims it in the same
    // transaction; the first attempt's bookkeeping must not forget the second attempt's lease.
    expect(await fw.runUntilIdle()).toBe(2);
    expect((await fw.findJob(id)).state).toBe("succeeded");
    expect((await fw.listRuns(id)).map((r) => r.outcome)).toEqual(["snooze", "success"]);
  } finally {
    await fw.close();
    await dir.remove();
  }
});
