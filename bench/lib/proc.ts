/**
 * What a process costs while it sits idle, read from Linux `/proc` by another process (so measuring costs the
 * measured process nothing): CPU time, context switches and resident memory, per thread, plus the TCP ports it
 * holds towards a server (to find the PostgreSQL backends that serve it).
 *
 * CPU time comes from `/proc/<pid>/task/<tid>/schedstat` (nanoseconds the scheduler actually ran the thread),
 * not from the `utime`/`stime` of `/proc/<pid>/stat`: those count 10 ms clock ticks, sampled, so a process that
 * wakes for 50 µs a few times a second is charged either nothing or a whole tick; at ~0.1 % of a core over 20 s
 * that is ±30 %. Both are kept; the ticks are the cross-check that includes threads which exited.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

/** One thread's cumulative counters. */
export interface TaskCounters {
  /** Time on a CPU, nanoseconds (schedstat). */
  runNs: number;
  /** Times it blocked (waited for a timer, a socket, a futex): each is one wake-up later. */
  voluntary: number;
  /** Times the scheduler took the CPU away from it (depends on the machine's load, not on the process). */
  involuntary: number;
  /** The thread's name (`comm`): `bun`'s main thread carries the executable's name, runtime threads their own. */
  name?: string;
}

/** True where this module can work: Linux with per-thread schedstat. */
export function procAvailable(): boolean {
  return process.platform === "linux" && existsSync(`/proc/${process.pid}/task/${process.pid}/schedstat`);
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    // The process or thread ended between listing and reading it.
    return null;
  }
}

/** The fields of `/proc/<pid>/stat` after the command name (which may itself hold spaces and parentheses). */
function statFields(pid: number): string[] | null {
  const text = read(`/proc/${pid}/stat`);
  if (text === null) return null;
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** `pid` and every process descended from it (a daemon's job processes, a library's helper processes). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    if (!Number.isFinite(ppid)) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  if (existsSync(`/proc/${pid}`)) walk(pid);
  return out;
}

/** Counters of every live thread of `pid`, keyed `<pid>/<tid>`. */
export function threadCounters(pid: number): Map<string, TaskCounters> {
  const out = new Map<string, TaskCounters>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const sched = read(`/proc/${pid}/task/${tid}/schedstat`);
    const status = read(`/proc/${pid}/task/${tid}/status`);
    if (sched === null || status === null) continue;
    out.set(`${pid}/${tid}`, {
      name: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "?",
      runNs: Number(sched.split(" ")[0]),
      voluntary: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0),
      involuntary: Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    });
  }
  return out;
}

/** `utime + stime` of the whole thread group, exited threads included, in clock ticks. */
export function groupTicks(pid: number): number {
  const f = statFields(pid);
  return f ? Number(f[11]) + Number(f[12]) : Number.NaN;
}

/**
 * `utime + stime` ticks of every `postgres` process on this machine now, by pid: the server's whole cost when it
 * runs here (backends, the WAL writer, the checkpointer), whoever's connections they serve.
 */
export function serverTicks(): Map<number, number> {
  const out = new Map<number, number>();
  if (process.platform !== "linux") return out;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    if (read(`/proc/${entry}/comm`)?.trim() !== "postgres") continue;
    const ticks = groupTicks(Number(entry));
    if (Number.isFinite(ticks)) out.set(Number(entry), ticks);
  }
  return out;
}

/** Ticks spent between two {@link serverTicks} samples; a process first seen in `after` started in between. */
export function ticksSpent(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ticks] of after) sum += ticks - (before.get(pid) ?? 0);
  return sum;
}

/** Clock ticks per second (`getconf CLK_TCK`), 100 on every Linux this runs on; asked once per process. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe", stderr: "ignore" });
    const n = Number(out.stdout.toString().trim());
    ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}
let ticksPerSecond: number | undefined;

/** Resident memory of `pid` now (`VmRSS`), KiB; 0 once it is gone. */
export function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(read(`/proc/${pid}/status`) ?? "")?.[1] ?? 0);
}

/**
 * The local ports of `pids`' TCP connections to `remotePort` (its PostgreSQL connections, say). A connection is
 * theirs when one of their file descriptors is its socket inode; `/proc/<pid>/net/tcp{,6}` lists every socket of
 * the network namespace.
 */
export function tcpPortsTo(pids: number[], remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      } catch {
        // Closed while listing.
      }
    }
  }
  if (inodes.size === 0 || pids.length === 0) return [];
  const ports: number[] = [];
  for (const table of ["tcp", "tcp6"]) {
    const text = read(`/proc/${pids[0]}/net/${table}`) ?? "";
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || !inodes.has(cols[9]!)) continue;
      const local = parseInt(cols[1]!.slice(cols[1]!.lastIndexOf(":") + 1), 16);
      const remote = parseInt(cols[2]!.slice(cols[2]!.lastIndexOf(":") + 1), 16);
      if (remote === remotePort) ports.push(local);
    }
  }
  return ports;
}

/**
 * Sums counters over a measurement window. Counters seen at {@link begin} are the baseline; a thread or process
 * first seen later started inside the window, so it counts from zero; one that ends keeps its last sample (lost:
 * at most one sampling interval of its work).
 */
export class Meter {
  readonly #first = new Map<string, TaskCounters>();
  readonly #last = new Map<string, TaskCounters>();
  #begun = false;

  /** Records the current counters of `key`s (prefix them to keep groups apart: `proc/…`, `db/…`). */
  observe(counters: Map<string, TaskCounters>): void {
    for (const [key, value] of counters) {
      if (!this.#begun) this.#first.set(key, value);
      else if (!this.#first.has(key)) this.#first.set(key, { runNs: 0, voluntary: 0, involuntary: 0 });
      this.#last.set(key, value);
    }
  }

  /** Ends the warm-up: the counters last observed before this call are the baseline. */
  begin(): void {
    this.#begun = true;
  }

  /** The counters' growth since {@link begin}, over keys starting with `prefix` (or those `which` accepts). */
  total(which: string | ((key: string, name: string) => boolean)): TaskCounters & { keys: number } {
    const accept = typeof which === "string" ? (key: string) => key.startsWith(which) : which;
    const sum = { runNs: 0, voluntary: 0, involuntary: 0, keys: 0 };
    for (const [key, last] of this.#last) {
      if (!accept(key, last.name ?? "")) continue;
      const first = this.#first.get(key)!;
      sum.runNs += last.runNs - first.runNs;
      sum.voluntary += last.voluntary - first.voluntary;
      sum.involuntary += last.involuntary - first.involuntary;
      sum.keys++;
    }
    return sum;
  }

  /** The distinct thread names seen under `prefix`. */
  names(prefix: string): string[] {
    return [...new Set([...this.#last].filter(([key]) => key.startsWith(prefix)).map(([, c]) => c.name ?? "?"))].sort();
  }
}
