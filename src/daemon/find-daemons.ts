import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { NodeRecord } from "../core/types.ts";
import type { Flywheel } from "../flywheel.ts";

// How `flywheel reload` finds the daemon to signal: the node registry (SPEC §9) of the config's database. Every
// `flywheel serve` keeps a row there with its host and pid, whatever the database (a pid file would serve
// SQLite only) and whether or not HTTP is on (a loopback endpoint would need it, and a token). A row alone is
// not trusted with a signal: SIGHUP ends a process that does not handle it, so the pid must be alive, on this
// host, heartbeating, and running `serve`.

/** A row heartbeating within this many of its own intervals counts as a live node. */
const FRESH_HEARTBEATS = 3;

/**
 * The `flywheel serve` processes on this host that use `fw`'s database, by their node registry rows: rows of
 * this host, heartbeating within three of their intervals, whose pid is alive and whose command line has
 * `serve` (so a library app's node, which may not handle SIGHUP, is never signalled; where neither `/proc` nor
 * `ps` can tell, the fresh heartbeat is trusted).
 */
export async function runningDaemons(fw: Flywheel, host: string = hostname()): Promise<NodeRecord[]> {
  const now = fw.clock.now().getTime();
  const nodes = await fw.listNodes();
  return nodes.filter(
    (n) => n.host === host && now - n.heartbeatAt.getTime() <= FRESH_HEARTBEATS * n.heartbeatMs && alive(n.pid) && commandLine(n.pid)?.includes("serve") !== false,
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, under another user (a system unit); signalling it will say so.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process's arguments, or undefined when this system cannot tell (no /proc, no ps). */
function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    // Not Linux, or no /proc in this container: ask ps (macOS, BSD).
  }
  try {
    const ps = Bun.spawnSync(["ps", "-o", "args=", "-p", String(pid)], { stdout: "pipe", stderr: "ignore" });
    if (ps.exitCode !== 0) return undefined;
    return ps.stdout.toString().trim().split(/\s+/);
  } catch {
    return undefined;
  }
}
