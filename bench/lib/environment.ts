/**
 * What every benchmark report states about where it ran: the machine, the runtimes, the servers it talked to.
 * Shared by `bench/run.ts` and `bench/idle.ts` so their headers read the same.
 */
import { connect as netConnect } from "node:net";
import { cpus, release, totalmem } from "node:os";
import postgres from "postgres";

/**
 * The machine and the software under test, as `key: value` lines for the report: CPU model and cores, RAM, kernel,
 * Bun, Node, SQLite, and flywheel's commit (flagged when `src/` has uncommitted changes, since then the commit
 * alone does not say what ran).
 */
export async function describeMachine(root: string): Promise<Record<string, string>> {
  const cpu = cpus();
  const out: Record<string, string> = {};
  out.machine = `${cpu[0]?.model ?? "?"}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}`;
  out.bun = Bun.version;
  const node = Bun.spawnSync(["node", "--version"], { stdout: "pipe", stderr: "ignore" });
  out.node = node.success ? node.stdout.toString().trim() : "absent";
  const { Database } = await import("bun:sqlite");
  out.sqlite = (new Database(":memory:").query("select sqlite_version() AS v").get() as { v: string }).v;
  const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: root, stdout: "pipe", stderr: "ignore" });
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--", "src"], { cwd: root, stdout: "pipe", stderr: "ignore" });
  out.flywheel = `${git.stdout.toString().trim() || "?"}${dirty.stdout.toString().trim() ? " + uncommitted src/ changes" : ""}`;
  return out;
}

/** The PostgreSQL server at `url` and the settings that decide durability, or null when it does not answer. */
export async function pgReachable(url: string): Promise<string | null> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    const [row] = await sql<Array<{ v: string; fsync: string; sc: string; sb: string }>>`
      SELECT current_setting('server_version') AS v, current_setting('fsync') AS fsync,
             current_setting('synchronous_commit') AS sc, current_setting('shared_buffers') AS sb`;
    return `PostgreSQL ${row!.v} (fsync=${row!.fsync}, synchronous_commit=${row!.sc}, shared_buffers=${row!.sb})`;
  } catch {
    return null;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/**
 * The Redis version on 127.0.0.1:`port`, or null when nothing answers within 1.5 s. Raw RESP over a socket, so
 * asking costs no client library.
 */
export function redisPing(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port });
    let data = "";
    const done = (value: string | null) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1500, () => done(null));
    socket.on("error", () => done(null));
    socket.on("connect", () => socket.write("INFO server\r\n"));
    socket.on("data", (chunk) => {
      data += chunk.toString();
      const match = /redis_version:([^\r\n]+)/.exec(data);
      if (match) done(match[1]!);
    });
  });
}
