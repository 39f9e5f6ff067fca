import type { Subprocess } from "bun";
import { readdirSync, readFileSync } from "node:fs";
import { COMMAND_WORKER_DEFAULTS } from "../core/defaults.ts";

// Job processes run in process groups of their own (their own sessions), so a job's grandchildren can be ended
// with it. This module owns those groups: ending one (SIGTERM, then SIGKILL after a grace), and making sure none
// outlives the process that started it, however that process ends.

/** How long SIGKILLed processes get to disappear before we stop watching. */
const KILL_SETTLE_MS = 1_000;

/**
 * The watchdog: one `/bin/sh` per process, in a session of its own, started with the first job. It reads
 * `+<pgid> <grace seconds>` and `-<pgid>` lines on a pipe whose only writer is this process. When this process
 * exits, however it exits (SIGKILL, the OOM killer, a crash, a second SIGTERM), the kernel closes that pipe, the
 * watchdog reads end-of-file, and it ends every group still registered: SIGTERM, then SIGKILL after the longest
 * grace. Hang-ups and interrupts do not touch it: only the pipe tells it to act. POSIX sh, so Linux and macOS alike.
 */
const WATCHDOG_SCRIPT = `
trap '' HUP INT TERM QUIT PIPE
groups=" "
grace=0
while IFS= read -r line; do
  case "$line" in
    +*) set -- \${line#+}; groups="$groups$1 "; [ "\${2:-0}" -gt "$grace" ] && grace=$2 ;;
    -*) id=\${line#-}; case "$groups" in *" $id "*) groups="\${groups%% $id *} \${groups#* $id }" ;; esac ;;
  esac
done
[ "$groups" = " " ] && exit 0
for g in $groups; do kill -s TERM -- "-$g" 2>/dev/null; done
alive=
for g in $groups; do kill -s 0 -- "-$g" 2>/dev/null && alive=1; done
[ -n "$alive" ] && sleep "$grace"
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0
`;

/** Groups this process started and has not seen end, with their SIGTERM → SIGKILL grace. */
const live = new Map<number, number>();
let watchdog: Subprocess<"pipe", "ignore", "ignore"> | null | undefined;

/**
 * Registers a job's process group for the whole life of this process: the watchdog ends it if this process
 * dies first, and a normal exit (even without draining) kills it on the way out. The registration is written
 * right after the spawn; a process killed in between (microseconds) can leave that one group behind.
 */
export function guardGroup(pgid: number, graceMs: number = COMMAND_WORKER_DEFAULTS.killGraceMs): void {
  live.set(pgid, graceMs);
  installExitHook();
  tell(`+${pgid} ${Math.max(1, Math.ceil(graceMs / 1000))}`);
}

/** Forgets a group that has ended. */
export function releaseGroup(pgid: number): void {
  if (!live.delete(pgid)) return;
  tell(`-${pgid}`);
}

/** The watchdog's pid while one runs (for tests), else null. */
export function watchdogPid(): number | null {
  return watchdog ? watchdog.pid : null;
}

function tell(line: string): void {
  const dog = startWatchdog();
  if (!dog) return;
  try {
    dog.stdin.write(`${line}\n`);
    void dog.stdin.flush();
  } catch {
    // The watchdog died (someone killed it); the next registration starts another.
    watchdog = undefined;
  }
}

function startWatchdog(): Subprocess<"pipe", "ignore", "ignore"> | null {
  if (watchdog !== undefined && (watchdog === null || watchdog.exitCode === null)) return watchdog;
  try {
    // `detached`: its own session, so a signal to this process's group (a terminal's Ctrl-C or hang-up) spares it.
    watchdog = Bun.spawn(["/bin/sh", "-c", WATCHDOG_SCRIPT], { stdin: "pipe", stdout: "ignore", stderr: "ignore", detached: true });
    // Neither the watchdog nor its pipe may keep this process alive; it is there for when this process is gone.
    watchdog.unref();
    // Groups registered before a watchdog restart are told again.
    for (const [pgid, grace] of live) watchdog.stdin.write(`+${pgid} ${Math.max(1, Math.ceil(grace / 1000))}\n`);
  } catch {
    // No /bin/sh: the exit hook still covers every exit but SIGKILL.
    watchdog = null;
  }
  return watchdog;
}

let exitHookInstalled = false;

// A process that exits on its own (a second SIGTERM, an uncaught error) kills its jobs' groups at once on the
// way out, rather than leaving them the watchdog's grace.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pgid of live.keys()) signalGroup(pgid, "SIGKILL");
  });
}

/** Ends a group: SIGTERM, then SIGKILL after `graceMs` if anything of it is still alive. */
export async function endGroup(pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, "SIGTERM");
  if (await waitGroupGone(pgid, graceMs)) return;
  signalGroup(pgid, "SIGKILL");
  await waitGroupGone(pgid, KILL_SETTLE_MS);
}

/** Sends `signal` to every process of the group; a group already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

// Non-children cannot be awaited, so poll, backing off to keep /proc scans cheap during long graces.
async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  let pause = 5;
  for (;;) {
    if (!groupAlive(pgid)) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await Bun.sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, 100);
  }
}

/** Whether any live (non-zombie) process remains in the group. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    // ESRCH: gone. EPERM: the id now belongs to someone else's group, so nothing of ours is left to signal.
    return false;
  }
  return process.platform === "linux" ? hasLiveMember(pgid) : true;
}

// Orphans are reparented to PID 1, and in containers PID 1 often never reaps them: zombies keep the group id
// alive for kill(-pgid, 0) although nothing runs. /proc tells the living from the dead.
function hasLiveMember(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return true;
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp …"; comm may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}
