/**
 * A private PostgreSQL server for one soak run: its own data directory, port and socket directory, so the soak
 * can restart it (even with `-m immediate`, a crash as far as clients can tell) without disturbing anyone else's
 * database. The machine runs the soak as root and PostgreSQL refuses to run as root, so every server binary runs
 * as the `postgres` OS user through `runuser`.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** How `pg_ctl` stops the server: `fast` ends sessions and checkpoints; `immediate` is a crash (WAL recovery at start). */
export type ShutdownMode = "fast" | "immediate";

/** A started private server. */
export interface PostgresServer {
  /** A `postgres://` URL of its `postgres` database over TCP. */
  readonly url: string;
  /** The server's own log (initdb, start-ups, recoveries, FATALs of killed sessions). */
  readonly logPath: string;
  /** Stops the server with `mode` and starts it again; resolves once it accepts connections. */
  restart(mode: ShutdownMode): Promise<void>;
  /** Stops the server (immediate: nothing of it is worth a checkpoint). Safe to call twice; never throws. */
  stop(): void;
}

/**
 * `initdb`s a cluster in `dir/pg/data` (trust auth; no fsync during initdb only) and starts it on a free
 * loopback port with its socket in `dir/pg/sock`. The server itself runs with PostgreSQL's default durability (fsync on,
 * synchronous_commit on), so an immediate restart loses no committed transaction.
 * @throws Error with the tool's output when initdb or the start fails.
 */
export async function startPostgres(dir: string): Promise<PostgresServer> {
  const bin = postgresBinDir();
  // The run's directory is root's (0700): open it to traversal, and give the postgres user a directory of its
  // own for the cluster, the socket and the server log.
  chmodSync(dir, 0o755);
  const home = join(dir, "pg");
  const data = join(home, "data");
  const sock = join(home, "sock");
  const logPath = join(home, "postgres.log");
  for (const d of [home, sock]) {
    mkdirSync(d, { recursive: true });
    chownSync(d, uid("postgres"), gid("postgres"));
  }
  await asPostgres([join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  // Enough connections for every node's pool and LISTEN connection, plus killed nodes' sessions not yet reaped.
  const settings = [`-p ${port}`, `-k ${sock}`, "-c listen_addresses=127.0.0.1", "-c max_connections=300"].join(" ");
  const pgCtl = (...args: string[]) => asPostgres([join(bin, "pg_ctl"), "-D", data, "-w", "-t", "120", ...args]);
  await pgCtl("-l", logPath, "-o", settings, "start");
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    logPath,
    // `pg_ctl restart` starts the server again with the options it was started with (postmaster.opts), but not
    // with its log file: without -l the new server would write to (and hold open) pg_ctl's stdout, our pipe.
    restart: async (mode) => void (await pgCtl("-l", logPath, "-m", mode, "restart")),
    stop() {
      if (stopped) return;
      stopped = true;
      if (!existsSync(join(data, "postmaster.pid"))) return;
      Bun.spawnSync(["runuser", "-u", "postgres", "--", join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], {
        stdout: "ignore",
        stderr: "ignore",
      });
    },
  };
}

/** The newest installed PostgreSQL's bin directory (Debian layout: /usr/lib/postgresql/<major>/bin). */
function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = majors.map((m) => join(root, m, "bin")).find((b) => existsSync(join(b, "pg_ctl")));
  if (!bin) throw new Error(`soak: no PostgreSQL server binaries under ${root}/*/bin`);
  return bin;
}

async function asPostgres(argv: string[]): Promise<string> {
  const proc = Bun.spawn(["runuser", "-u", "postgres", "--", ...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`soak: ${argv.map((a) => a.split("/").pop()).slice(0, 2).join(" ")} failed (exit ${code}): ${err || out}`);
  return out;
}

// A port the kernel just handed out and took back; another process could take it in between, which would make
// the start fail loudly rather than share a server.
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("soak: no free port"))));
    });
  });
}

function uid(user: string): number {
  return passwdField(user, 2);
}

function gid(user: string): number {
  return passwdField(user, 3);
}

function passwdField(user: string, index: number): number {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${user}:`));
  const value = Number(line?.split(":")[index]);
  if (!line || !Number.isInteger(value)) throw new Error(`soak: no ${user} user in /etc/passwd`);
  return value;
}
