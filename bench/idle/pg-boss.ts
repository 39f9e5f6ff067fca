/**
 * pg-boss, idle: `start()`, one queue, one `work()` handler, every option at its default (checked in its
 * dist/attorney.js): `work()` polls every 2 s, `useListenNotify` off; `start()` also runs its cron machinery (the
 * internal send-it queue's worker polls every 5 s, the cron pass every 30 s), flows every 5 s, and supervise,
 * monitor and bam passes every 60 s.
 */
import { loadPeer, peerVersion } from "../lib/harness.ts";
import { idleParams, idleUntilTerminated } from "./child.ts";

interface Boss {
  on(event: string, fn: (...args: unknown[]) => void): void;
  start(): Promise<unknown>;
  stop(options?: Record<string, unknown>): Promise<void>;
  createQueue(name: string): Promise<void>;
  work(name: string, handler: (jobs: unknown[]) => Promise<unknown>): Promise<string>;
}

const { pgUrl, schema } = idleParams();
const { PgBoss } = await loadPeer<{ PgBoss: new (options: Record<string, unknown>) => Boss }>("pg-boss");
const boss = new PgBoss({ connectionString: pgUrl, schema });
boss.on("error", (error) => console.error("pg-boss:", (error as Error).message));
await boss.start();
await boss.createQueue("idle");
await boss.work("idle", async () => {});

await idleUntilTerminated(
  {
    version: `pg-boss ${peerVersion("pg-boss")}`,
    config: "start() + createQueue + work(), defaults: work poll 2 s, no LISTEN; cron worker 5 s, cron pass 30 s, flows 5 s, supervise/monitor 60 s",
  },
  () => boss.stop({ graceful: false, timeout: 2000 }),
);
