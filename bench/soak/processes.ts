/**
 * Finding processes a soak left behind, from /proc (Linux). A process belongs to the run when its environment
 * carries the run's token: node processes get it from the fleet, their watchdogs inherit it, and shell jobs get
 * it through their args' `env`. Looking at the environment, not at pids alone, makes a reused pid harmless.
 */
import { readdirSync, readFileSync } from "node:fs";

/** A live process that should not be. */
export interface StrayProcess {
  pid: number;
  ppid: number;
  state: string;
  command: string;
}

/** Live (non-zombie) processes whose environment holds `NAME=value` exactly. */
export function processesWithEnv(entry: string): StrayProcess[] {
  const found: StrayProcess[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!envHolds(pid, entry)) continue;
    const stat = statOf(pid);
    if (stat && stat.state !== "Z" && stat.state !== "X") found.push({ pid, ...stat });
  }
  return found;
}

/** Whether process `pid` is alive and its environment holds `NAME=value` exactly (a zombie's environment is empty). */
export function envHolds(pid: number, entry: string): boolean {
  let env: string;
  try {
    env = readFileSync(`/proc/${pid}/environ`, "latin1");
  } catch {
    return false;
  }
  return `\0${env}\0`.includes(`\0${entry}\0`);
}

/** A process's parent, state letter and command line, for evidence. */
export function describeProcess(pid: number): StrayProcess | null {
  const stat = statOf(pid);
  return stat ? { pid, ...stat } : null;
}

function statOf(pid: number): { ppid: number; state: string; command: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // "pid (comm) state ppid …"; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const command = readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ").trim();
    return { state: fields[0] ?? "?", ppid: Number(fields[1]), command };
  } catch {
    return null;
  }
}
