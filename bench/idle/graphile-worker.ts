/**
 * graphile-worker, idle: `run()` with one task and its defaults (checked in its dist/config.js): concurrency 1,
 * `pollInterval` 2000 ms, LISTEN/NOTIFY for wake-ups, prepared statements on. Its schema is migrated by `run()`.
 */
import { loadPeer, peerVersion } from "../lib/harness.ts";
import { idleParams, idleUntilTerminated } from "./child.ts";

interface Graphile {
  run(options: Record<string, unknown>): Promise<{ stop(): Promise<void> }>;
}

const { pgUrl, schema } = idleParams();
const gw = await loadPeer<Graphile>("graphile-worker");
const runner = await gw.run({ connectionString: pgUrl, schema, noHandleSignals: true, taskList: { noop: async () => {} } });

await idleUntilTerminated(
  { version: `graphile-worker ${peerVersion("graphile-worker")}`, config: "run({ taskList: { noop } }) defaults: concurrency 1, pollInterval 2 s, LISTEN/NOTIFY" },
  () => runner.stop(),
);
