import { expect, test } from "bun:test";
import { join } from "node:path";
import { connect, defineWorker } from "../../src/index.ts";
import { createLogger } from "../../src/core/logger.ts";
import { deferred, eventually, tempDir } from "../support/helpers.ts";

// Outcomes normally ride with the runner's next claim. While claims fail and the runner backs off (an outage that
// spares finalizes, or a claim-specific error), they must not wait the backoff out.
test("while claims fail and back off, outcomes of jobs that finish are committed at once, not after the backoff", async () => {
  const dir = await tempDir();
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: "error", format: "json", write: (line) => lines.push(JSON.parse(line)) });
  const fw = await connect(`sqlite:${join(dir.path, "runner.db")}`, { logger });
  try {
    await fw.migrate();
    const gates = { a: deferred(), b: deferred() };
    const started = new Set<string>();
    fw.register(
      defineWorker({
        kind: "gated",
        async work(job) {
          const key = (job.args as { key: "a" | "b" }).key;
          started.add(key);
          await gates[key].promise;
        },
      }),
    );
    const [a, b] = (await fw.insertMany([{ kind: "gated", args: { key: "a" } }, { kind: "gated", args: { key: "b" } }])) as string[];
    const controller = new AbortController();
    const running = fw.node({ runners: [{ concurrency: 2 }], scheduler: false, http: false }).run(controller.signal);
    await eventually("both jobs to start", () => started.size === 2);

    // From here on every claim fails as a dropped connection would; finalizes still reach the database.
    const driver = fw.driver as unknown as Record<string, unknown>;
    const refuse = async () => {
      throw new Error("connection lost (injected)");
    };
    driver.jobClaim = refuse;
    driver.jobFinalizeAndClaim = refuse;
    gates.a.resolve();
    await eventually("a's outcome", async () => (await fw.findJob(a!)).state === "succeeded");
    // The claim backoff doubles from 100 ms; wait until it sleeps 1.6 s or more.
    await eventually("a long claim backoff", () => lines.some((l) => l.msg === "jobs: claim failed" && Number(l.retry_in_ms) >= 1_600));

    const released = Date.now();
    gates.b.resolve();
    await eventually("b's outcome", async () => (await fw.findJob(b!)).state === "succeeded", 5_000);
    expect(Date.now() - released).toBeLessThan(800);
    controller.abort();
    await running;
  } finally {
    await fw.close();
    await dir.remove();
  }
});
