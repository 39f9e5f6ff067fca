/**
 * flywheel as a library, idle: `connect("sqlite:<file>")`, one registered worker, and a node with one runner on
 * the default queue and the scheduler on (no periodics), no HTTP server — what an application embedding flywheel
 * runs. Defaults throughout (see src/core/defaults.ts): idle poll 250 ms doubling to 2 s, wake-ups from in-process
 * inserts and from a watch on the `-wal` file (1 s fallback look), the periodic tick sleeping until the next fire
 * (at most 60 s, none here), the lease sweep every 30 s.
 */
import { connect, defineWorker } from "../../src/index.ts";
import { VERSION } from "../../src/core/version.ts";
import { idleParams, idleUntilTerminated } from "./child.ts";

const { file } = idleParams();
if (!file) throw new Error("flywheel-library: params.file is required");

const fw = await connect(`sqlite:${file}`);
fw.register(defineWorker({ kind: "noop", async work() {} }));
await fw.migrate();
const controller = new AbortController();
const running = fw.node({ runners: [{ queues: ["default"] }], scheduler: {} }).run(controller.signal);

await idleUntilTerminated(
  {
    version: `flywheel ${VERSION}`,
    config: "connect(sqlite) + 1 worker; node({ runners: [{ queues: [default] }], scheduler: {} }); defaults: idle poll 250 ms → 2 s, WAL watch + 1 s look, sweep 30 s; no HTTP",
  },
  async () => {
    controller.abort();
    await running;
    await fw.close();
  },
);
