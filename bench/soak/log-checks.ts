/**
 * Checks on the jobs' own logs (not flywheel's audit trail): the noop attempt files (attempt-log.ts) and the
 * shell jobs' logs (workload.ts). These are the ground truth of what ran when: a second attempt running while
 * another was still at work shows here even if every database row looked right.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AttemptColumns } from "./attempt-log.ts";

/** Evidence lists are cut to this many entries; counts are always complete. */
export const EVIDENCE_LIMIT = 5;

/** What the noop attempt logs show. */
export interface NoopLogFindings {
  attempts: number;
  /** Attempts that began before an earlier-starting attempt of the same job had ended. */
  overlaps: number;
  /** The same (job, attempt) executed more than once. */
  duplicates: number;
  /**
   * Attempts whose times are not inside the run's window on the same clock (or end before they start): a
   * broken clock would make the overlap check meaningless, so it is checked too.
   */
  outsideWindow: number;
  /** The smallest gap between one attempt's end and the next attempt's start of the same job (ns); null if no job ran twice. */
  closestGapNs: number | null;
  evidence: string[];
  /** Sorted keys `n * ATTEMPT_SPAN + attempt` of every logged attempt, for {@link attemptLogged}. */
  keys: Float64Array;
}

/** Attempts per job are far below this (max_attempts is 25), so a key packs the pair into one exact number. */
const ATTEMPT_SPAN = 4_096;

/**
 * Sorts the attempts by job and start, then walks each job's attempts keeping the latest end seen: an attempt
 * starting before it is an overlap (strictly: two attempts cannot share a nanosecond).
 */
export function checkNoopLogs(c: AttemptColumns, window: { startNs: number; endNs: number }): NoopLogFindings {
  const order = new Uint32Array(c.count);
  for (let i = 0; i < c.count; i++) order[i] = i;
  order.sort((a, b) => c.n[a]! - c.n[b]! || c.start[a]! - c.start[b]!);
  const evidence: string[] = [];
  const line = (i: number) =>
    `attempt ${c.attempt[i]} on ${c.files[c.file[i]!]!.replace(/\.log$/, "")} [${c.start[i]} → ${c.end[i]} ns]`;
  let overlaps = 0;
  let closestGapNs: number | null = null;
  let latestEnd = -Infinity;
  let latestIndex = -1;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const sameJob = k > 0 && c.n[order[k - 1]!] === c.n[i];
    if (sameJob) closestGapNs = Math.min(closestGapNs ?? Infinity, c.start[i]! - latestEnd);
    if (sameJob && c.start[i]! < latestEnd) {
      overlaps++;
      if (evidence.length < EVIDENCE_LIMIT) {
        evidence.push(`job n=${c.n[i]}: ${line(i)} began ${((latestEnd - c.start[i]!) / 1e6).toFixed(3)} ms before ${line(latestIndex)} ended`);
      }
    }
    if (!sameJob || c.end[i]! > latestEnd) {
      latestEnd = c.end[i]!;
      latestIndex = i;
    }
  }
  let outsideWindow = 0;
  for (let i = 0; i < c.count; i++) {
    if (c.start[i]! >= window.startNs && c.start[i]! <= c.end[i]! && c.end[i]! <= window.endNs) continue;
    outsideWindow++;
    if (evidence.length < EVIDENCE_LIMIT) evidence.push(`job n=${c.n[i]}: ${line(i)} lies outside the run's window [${window.startNs} → ${window.endNs} ns]`);
  }
  const keys = new Float64Array(c.count);
  for (let i = 0; i < c.count; i++) keys[i] = c.n[i]! * ATTEMPT_SPAN + c.attempt[i]!;
  keys.sort();
  let duplicates = 0;
  for (let k = 1; k < keys.length; k++) {
    if (keys[k] !== keys[k - 1]) continue;
    duplicates++;
    if (evidence.length < EVIDENCE_LIMIT * 2) {
      const n = Math.floor(keys[k]! / ATTEMPT_SPAN);
      evidence.push(`job n=${n}: attempt ${keys[k]! - n * ATTEMPT_SPAN} logged twice`);
    }
  }
  return { attempts: c.count, overlaps, duplicates, outsideWindow, closestGapNs, evidence, keys };
}

/** Whether attempt `attempt` of job `n` left a line in the attempt logs. */
export function attemptLogged(findings: NoopLogFindings, n: number, attempt: number): boolean {
  const key = n * ATTEMPT_SPAN + attempt;
  const keys = findings.keys;
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (keys[mid]! < key) low = mid + 1;
    else high = mid;
  }
  return low < keys.length && keys[low] === key;
}

/** What the shell jobs' logs show. */
export interface ShellLogFindings {
  /** Shell jobs with a log (each must have one: it must have run). */
  logs: number;
  starts: number;
  ends: number;
  /** Processes of an earlier attempt that an attempt found alive when it started. */
  alive: number;
  /** Completed attempts of one job whose [start, end] intervals overlap. */
  overlaps: number;
  evidence: string[];
  /** Every pid a shell attempt recorded (the shell and its child), with the log naming it. */
  pids: Array<{ pid: number; log: string }>;
  /** Per job `n`, the pids of attempts that logged both their start and their end. */
  completed: Map<number, Set<number>>;
}

/** Reads `shell/<n>.log` of every shell job. */
export function checkShellLogs(shellDir: string, indexes: readonly number[]): ShellLogFindings {
  const f: ShellLogFindings = { logs: 0, starts: 0, ends: 0, alive: 0, overlaps: 0, evidence: [], pids: [], completed: new Map() };
  for (const n of indexes) {
    const log = join(shellDir, `${n}.log`);
    if (!existsSync(log)) continue;
    f.logs++;
    // `date +%s%N` nanoseconds exceed 2^53, so they stay bigints.
    const starts = new Map<number, bigint>();
    const intervals: Array<{ pid: number; start: bigint; end: bigint }> = [];
    for (const line of readFileSync(log, "utf8").split("\n")) {
      const [word, a, b] = line.split(" ");
      if (word === "start") {
        f.starts++;
        starts.set(Number(b), BigInt(a ?? 0));
      } else if (word === "end") {
        f.ends++;
        const start = starts.get(Number(b));
        if (start !== undefined) intervals.push({ pid: Number(b), start, end: BigInt(a ?? 0) });
      } else if (word === "pids") {
        f.pids.push({ pid: Number(a), log }, { pid: Number(b), log });
      } else if (word === "alive") {
        f.alive++;
        if (f.evidence.length < EVIDENCE_LIMIT) f.evidence.push(`shell job n=${n}: an attempt found pid ${a} of an earlier attempt alive (${log})`);
      }
    }
    intervals.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
    for (let k = 1; k < intervals.length; k++) {
      if (intervals[k]!.start < intervals[k - 1]!.end) {
        f.overlaps++;
        if (f.evidence.length < EVIDENCE_LIMIT) f.evidence.push(`shell job n=${n}: attempt pid ${intervals[k]!.pid} started before pid ${intervals[k - 1]!.pid} ended (${log})`);
      }
    }
    f.completed.set(n, new Set(intervals.map((i) => i.pid)));
  }
  return f;
}
