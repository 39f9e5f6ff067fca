/**
 * The soak's printed summary: the run's figures and the verdict of every invariant, in a fixed layout that
 * docs/SOAK-RESULTS.md quotes as is.
 */
import { cpus, release, totalmem } from "node:os";
import type { ChaosStats } from "./chaos.ts";
import type { SoakAudit } from "./invariants.ts";
import { commandLine, type SoakOptions } from "./options.ts";

/** What the run measured besides the audit. */
export interface RunFigures {
  insertMs: number;
  drainMs: number;
  totalMs: number;
  nodeStarts: number;
  chaos: ChaosStats;
  /** What the nodes that drained reported (the killed ones took their counts with them). */
  drained: { outcomes: Record<string, number>; maxDrainMs: number; maxCloseMs: number };
}

/** The machine, as one line: cores, memory, kernel, runtime. */
export function machineLine(): string {
  const gib = (totalmem() / 2 ** 30).toFixed(1);
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "?"}), ${gib} GiB, Linux ${release()}, bun ${Bun.version}`;
}

/** The summary's lines. */
export function summaryLines(o: SoakOptions, f: RunFigures, audit: SoakAudit): string[] {
  const fmt = (n: number) => n.toLocaleString("en-US");
  const { db, noop, shell } = audit;
  const outcomes = Object.entries(db.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(", ");
  const states = Object.entries(db.states)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(", ");
  const runs = Object.values(db.outcomes).reduce((a, b) => a + b, 0);
  const violations = audit.checks.reduce((a, c) => a + c.violations, 0);
  const lines = [
    `flywheel soak: ${o.driver}, ${fmt(o.jobs)} jobs (${fmt(shell.logs)} shell), ${o.nodes} nodes, ${o.chaos ? "chaos" : "no chaos"}, seed ${o.seed}`,
    `command     ${commandLine(o)}`,
    `machine     ${machineLine()}`,
    `wall        ${seconds(f.totalMs)} in all: insert ${seconds(f.insertMs)}, drain ${seconds(f.drainMs)}`,
    `throughput  ${fmt(Math.round(o.jobs / (f.drainMs / 1000)))} jobs/s over the drain (${o.nodes} node processes × 2 runners × 8 slots, lease ${o.leaseMs} ms)`,
    `chaos       ${fmt(f.chaos.sigkills)} SIGKILLs, ${fmt(f.chaos.sigterms)} SIGTERM restarts, ${fmt(f.nodeStarts)} node processes started (${fmt(f.nodeStarts - o.nodes)} replacements), ` +
      `${f.chaos.dbRestarts} database restarts${f.chaos.dbRestartLog.length > 0 ? ` (${f.chaos.dbRestartLog.join("; ")})` : ""}`,
    `jobs        ${states}`,
    `runs        ${fmt(runs)}: ${outcomes}`,
    `            crashed attempts swept ${fmt(db.outcomes.crashed ?? 0)}, superseded runs ${fmt(db.outcomes.superseded ?? 0)}, ` +
      `max attempts per job ${db.maxAttempt}, jobs retried ${fmt(db.retriedJobs)}, executors ${db.executors}`,
    ...(db.supersededExamples.length > 0 ? ["            superseded runs, for example (the attempt finished after its lease had expired and been swept):"] : []),
    ...db.supersededExamples.map((line) => `              ${line}`),
    `node view   outcomes counted by the nodes that drained (killed ones took theirs along): ` +
      `${Object.entries(f.drained.outcomes).map(([k, v]) => `${k} ${fmt(v)}`).join(", ") || "none"}; ` +
      `slowest SIGTERM drain ${seconds(f.drained.maxDrainMs)}, slowest close after it ${seconds(f.drained.maxCloseMs)}`,
    `job logs    ${fmt(noop.attempts)} noop attempt lines, ${fmt(shell.starts)} shell attempts started, ${fmt(shell.ends)} ended; ` +
      `closest two attempts of one noop job: ${noop.closestGapNs === null ? "none ran twice" : `${(noop.closestGapNs / 1e6).toFixed(1)} ms apart (end to start)`}`,
    "invariants",
  ];
  for (const check of audit.checks) {
    lines.push(`  ${check.title.padEnd(62, ".")} ${check.violations === 0 ? "0 violations" : `${fmt(check.violations)} VIOLATIONS`}`);
    lines.push(`      ${check.detail}`);
    for (const e of check.evidence) lines.push(`      ! ${e}`);
  }
  lines.push(violations === 0 ? "result      PASS" : `result      FAIL (${fmt(violations)} violations)`);
  return lines;
}

/** `m:ss.s` style seconds for durations. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${(s % 60).toFixed(1)} s`;
}
