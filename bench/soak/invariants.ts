/**
 * The verdict of a soak: the four invariants of issue #11, plus the audit trail's completeness and the nodes'
 * own health, each as a count of violations (0 expected) with evidence. It joins what the tables say
 * (db-checks.ts), what the jobs themselves logged (log-checks.ts) and what is still running (processes.ts).
 */
import { join } from "node:path";
import { readAttemptLogs } from "./attempt-log.ts";
import type { AuditDb } from "./audit-db.ts";
import { checkTables, describeJobs, type DbFindings } from "./db-checks.ts";
import type { NodeFailure } from "./fleet.ts";
import { attemptLogged, checkNoopLogs, checkShellLogs, EVIDENCE_LIMIT, type NoopLogFindings, type ShellLogFindings } from "./log-checks.ts";
import { envHolds, processesWithEnv, describeProcess } from "./processes.ts";
import type { Workload } from "./workload.ts";

/** One invariant's result. */
export interface Check {
  title: string;
  violations: number;
  /** What was looked at, in figures. */
  detail: string;
  evidence: string[];
}

/** Everything the audit found: the checks, and the figures they came from. */
export interface SoakAudit {
  checks: Check[];
  db: DbFindings;
  noop: NoopLogFindings;
  shell: ShellLogFindings;
}

/** What the audit needs to know about the run. */
export interface AuditInput {
  db: AuditDb;
  dir: string;
  expectedJobs: number;
  workload: Workload;
  token: string;
  nodeFailures: readonly NodeFailure[];
  /** CLOCK_MONOTONIC nanoseconds before the first node started and after the last one stopped. */
  window: { startNs: number; endNs: number };
}

/** How long processes of a killed node may take to go: the watchdog's grace (≥ 1 s) plus margin. */
const ORPHAN_GRACE_MS = 5_000;

/** Runs every check. Call it after the fleet has stopped and a final sweep ran. */
export async function auditSoak(input: AuditInput): Promise<SoakAudit> {
  const { db, workload } = input;
  const tables = await checkTables(db);
  const columns = readAttemptLogs(join(input.dir, "attempts"));
  const noop = checkNoopLogs(columns, input.window);
  const shell = checkShellLogs(workload.shellDir, workload.shellIndexes);
  const unlogged = await successesWithoutTheirAttempt(db, noop, shell, workload);
  const orphans = await strayProcesses(shell, input.token);
  const fmt = (n: number) => n.toLocaleString("en-US");

  const missing = Math.abs(input.expectedJobs - tables.jobs);
  const checks: Check[] = [
    {
      title: "1. every job exactly one success",
      violations: missing + tables.notExactlyOneSuccess + tables.orphanRuns + unlogged.count,
      detail:
        `${fmt(tables.jobs)} of ${fmt(input.expectedJobs)} jobs in the table; ${fmt(tables.notExactlyOneSuccess)} not succeeded with exactly one success run; ` +
        `${fmt(tables.orphanRuns)} runs without a job; ${fmt(unlogged.count)} success runs whose attempt is missing from the job's own log`,
      evidence: [...tables.evidence.exactlyOnce, ...unlogged.evidence],
    },
    {
      title: "2. no overlapping attempts",
      violations: noop.overlaps + noop.duplicates + noop.outsideWindow + shell.overlaps + shell.alive + tables.overlappingRuns,
      detail:
        `job logs: ${fmt(noop.attempts)} noop attempts, ${fmt(noop.overlaps)} overlapping, ${fmt(noop.duplicates)} executed twice, ` +
        `${fmt(noop.outsideWindow)} timed outside the run; ` +
        `${fmt(shell.starts)} shell attempts started, ${fmt(shell.overlaps)} overlapping, ${fmt(shell.alive)} found an earlier attempt's process alive; ` +
        `job_runs: ${fmt(tables.overlappingRuns)} overlapping pairs`,
      evidence: [...noop.evidence, ...shell.evidence, ...tables.evidence.overlaps],
    },
    {
      title: "3. no started run for a non-running job",
      violations: tables.openRunsOfIdleJobs,
      detail: `${fmt(tables.openRuns)} runs still 'started' after the final sweep, ${fmt(tables.openRunsOfIdleJobs)} of them on a job that is not running`,
      evidence: tables.evidence.openRuns,
    },
    {
      title: "4. no orphan process",
      violations: orphans.recordedAlive + orphans.marked.length,
      detail:
        `${fmt(shell.pids.length)} pids recorded by shell attempts, ${fmt(orphans.recordedAlive)} alive; ` +
        `${fmt(orphans.marked.length)} processes still carrying the run's token (job processes, nodes, watchdogs)`,
      evidence: orphans.evidence,
    },
    {
      title: "+ every attempt left its run row",
      violations: tables.auditHoles,
      detail: `${fmt(tables.auditHoles)} jobs whose runs are not exactly attempts 1…attempt`,
      evidence: tables.evidence.auditHoles,
    },
    {
      title: "+ nodes ended only when told, and drained cleanly on SIGTERM",
      violations: input.nodeFailures.length + columns.malformed.length,
      detail: `${input.nodeFailures.length} node failures; ${columns.malformed.length} malformed attempt-log lines`,
      evidence: [
        ...input.nodeFailures.slice(0, EVIDENCE_LIMIT).map((f) => `${f.id}: exit ${f.exitCode} signal ${f.signalCode}: ${f.stderrTail}`),
        ...columns.malformed.slice(0, EVIDENCE_LIMIT),
      ],
    },
  ];
  return { checks, db: tables, noop, shell };
}

/**
 * Success runs whose attempt did not run, by the jobs' own logs: a noop success whose (job, attempt) has no
 * attempt line, or a shell success whose recorded pid never logged both its start and its end.
 */
async function successesWithoutTheirAttempt(
  db: AuditDb,
  noop: NoopLogFindings,
  shell: ShellLogFindings,
  workload: Workload,
): Promise<{ count: number; evidence: string[] }> {
  const offenders: string[] = [];
  let count = 0;
  await db.each<{ n: number; attempt: number }>(
    `SELECT ${db.argN("j.args")} AS n, r.attempt AS attempt FROM ${db.runs} r JOIN ${db.jobs} j ON j.id = r.job_id
     WHERE r.outcome = 'success' AND j.kind = 'noop'`,
    (row) => {
      if (attemptLogged(noop, Number(row.n), Number(row.attempt))) return;
      count++;
      if (offenders.length < EVIDENCE_LIMIT) offenders.push(workload.ids[Number(row.n)]!);
    },
  );
  await db.each<{ log: string; pid: number; id: string }>(
    `SELECT j.id AS id, ${db.shellLog("j.args")} AS log, ${db.outputPid("r.output")} AS pid FROM ${db.runs} r JOIN ${db.jobs} j ON j.id = r.job_id
     WHERE r.outcome = 'success' AND j.kind = 'shell'`,
    (row) => {
      const n = Number(/(\d+)\.log$/.exec(row.log)?.[1]);
      if (shell.completed.get(n)?.has(Number(row.pid))) return;
      count++;
      if (offenders.length < EVIDENCE_LIMIT) offenders.push(row.id);
    },
  );
  const evidence = offenders.length > 0 ? ["success runs without their attempt in the job's log:", ...(await describeJobs(db, offenders))] : [];
  return { count, evidence };
}

/**
 * Processes that outlived the run: a pid a shell attempt recorded that is alive with that job's log in its
 * environment, or any process carrying the run's token. Killed nodes' watchdogs end their jobs' groups after
 * a grace, so this waits that long before it counts.
 */
async function strayProcesses(shell: ShellLogFindings, token: string): Promise<{ recordedAlive: number; marked: number[]; evidence: string[] }> {
  const deadline = Date.now() + ORPHAN_GRACE_MS;
  for (;;) {
    const recorded = shell.pids.filter(({ pid, log }) => envHolds(pid, `LOG=${log}`));
    const marked = processesWithEnv(`SOAK_TOKEN=${token}`);
    if ((recorded.length === 0 && marked.length === 0) || Date.now() > deadline) {
      const evidence = [
        ...recorded.slice(0, EVIDENCE_LIMIT).map(({ pid, log }) => `pid ${pid} of ${log} alive: ${JSON.stringify(describeProcess(pid))}`),
        ...marked.slice(0, EVIDENCE_LIMIT).map((p) => `token process alive: ${JSON.stringify(p)}`),
      ];
      return { recordedAlive: recorded.length, marked: marked.map((p) => p.pid), evidence };
    }
    await Bun.sleep(100);
  }
}
