/**
 * The README's library quick start, runnable as written: `bun examples/library.ts`.
 * Enqueues a typed job, works it, and prints the job and its audit trail.
 */
import * as v from "valibot";
import { connect, defineWorker, PermanentError } from "flywheel";

const fw = await connect(process.env.FLYWHEEL_DB ?? "sqlite:./app.db");
await fw.migrate();

const summarize = defineWorker({
  kind: "summarize_doc",
  args: v.object({ docId: v.string() }),
  timeout: "30s",
  maxAttempts: 5,
  async work(job) {
    if (job.args.docId === "") throw new PermanentError("empty document id");
    job.logger.info("summarizing", { doc: job.args.docId });
    return { output: { summary: `summary of ${job.args.docId}` }, costMicros: 1200 };
  },
});
fw.register(summarize);

const id = await fw.insert(summarize, { docId: "42" }, { uniqueKey: `doc:42:${Date.now()}` });

// A node runs until its signal aborts; here we stop it once the job has finished.
const stop = new AbortController();
const node = fw.node({ runners: [{ queues: ["default"], concurrency: 8 }], scheduler: {} });
const finished = fw.events.once("job:finished", (e) => e.job.id === id);
const running = node.run(stop.signal);
await finished;
stop.abort();
await running;

const [run] = await fw.listRuns(id);
console.log(JSON.stringify({ state: (await fw.findJob(id)).state, outcome: run?.outcome, output: run?.output, costMicros: run?.costMicros }));
await fw.close();
