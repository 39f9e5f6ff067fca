/**
 * One process of `bench/processes.ts`: `bun bench/processes/worker.ts <pg url> <schema>` opens flywheel on the
 * schema, registers the no-op worker, prints `@@READY@@` with its pid, and on a `go` line on stdin runs a node
 * (one runner, concurrency 10, no scheduler) until SIGTERM, when the node drains and the process exits.
 */
import { connect, defineWorker } from "../../src/index.ts";

const [url, schema] = process.argv.slice(2);
if (!url || !schema) {
  process.stderr.write("usage: bun bench/processes/worker.ts <pg url> <schema>\n");
  process.exit(2);
}
const fw = await connect(url, { schema });
fw.register(defineWorker({ kind: "noop", work: () => {} }));
const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());
process.stdout.write(`@@READY@@ ${process.pid}\n`);
for await (const line of console) {
  if (line.trim() === "go") break;
}
await fw.node({ runners: [{ queues: ["default"], concurrency: 10 }], scheduler: false }).run(stop.signal);
await fw.close();
