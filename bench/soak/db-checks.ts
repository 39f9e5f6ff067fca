/**
 * Checks on flywheel's tables after the drain, in plain SQL (see audit-db.ts): what the audit trail says about
 * every job and every attempt. Counts are complete; evidence lists show the first few offenders with their runs.
 */
import type { AuditDb } from "./audit-db.ts";
import { EVIDENCE_LIMIT } from "./log-checks.ts";

/** What the tables say. */
export interface DbFindings {
  jobs: number;
  states: Record<string, number>;
  outcomes: Record<string, number>;
  /** Highest attempt number of any job, and how many jobs needed more than one. */
  maxAttempt: number;
  retriedJobs: number;
  /** Distinct executor ids (node processes) with at least one run. */
  executors: number;
  /** Jobs not `succeeded`, or without exactly one `success` run. */
  notExactlyOneSuccess: number;
  /** Runs whose job does not exist. */
  orphanRuns: number;
  /** Pairs of runs of one job whose [started_at, finished_at) intervals overlap. */
  overlappingRuns: number;
  /** `started` runs whose job is not running. */
  openRunsOfIdleJobs: number;
  /** `started` runs in all. */
  openRuns: number;
  /** Jobs whose runs are not exactly attempts 1…attempt. */
  auditHoles: number;
  evidence: { exactlyOnce: string[]; overlaps: string[]; openRuns: string[]; auditHoles: string[] };
  /** Two jobs with a superseded run, with their runs: not a violation, but what a lost lease looked like. */
  supersededExamples: string[];
}

/** Runs every table check. */
export async function checkTables(db: AuditDb): Promise<DbFindings> {
  const { jobs, runs } = db;
  const count = async (sql: string) => Number((await db.rows<{ n: number | string }>(sql))[0]?.n ?? 0);
  const tally = async (sql: string) => Object.fromEntries((await db.rows<{ k: string; n: number | string }>(sql)).map((r) => [r.k, Number(r.n)]));
  const ids = async (sql: string) => (await db.rows<{ id: string }>(`${sql} LIMIT ${EVIDENCE_LIMIT}`)).map((r) => r.id);

  const notOneSuccess = `FROM ${jobs} j LEFT JOIN (SELECT job_id, count(*) AS n FROM ${runs} WHERE outcome = 'success' GROUP BY job_id) s
    ON s.job_id = j.id WHERE j.state <> 'succeeded' OR coalesce(s.n, 0) <> 1`;
  const overlapping = `FROM ${runs} a JOIN ${runs} b ON a.job_id = b.job_id AND a.attempt < b.attempt
    WHERE a.started_at < coalesce(b.finished_at, ${db.infinity}) AND b.started_at < coalesce(a.finished_at, ${db.infinity})`;
  const openIdle = `FROM ${runs} r JOIN ${jobs} j ON j.id = r.job_id WHERE r.outcome = 'started' AND j.state <> 'running'`;
  const holes = `FROM ${jobs} j LEFT JOIN (SELECT job_id, count(*) AS n, max(attempt) AS top FROM ${runs} GROUP BY job_id) r
    ON r.job_id = j.id WHERE j.attempt <> coalesce(r.n, 0) OR j.attempt <> coalesce(r.top, 0)`;

  const [attempts] = await db.rows<{ top: number | null; retried: number | string | null }>(
    `SELECT max(attempt) AS top, sum(CASE WHEN attempt > 1 THEN 1 ELSE 0 END) AS retried FROM ${jobs}`,
  );
  const findings: DbFindings = {
    jobs: await count(`SELECT count(*) AS n FROM ${jobs}`),
    states: await tally(`SELECT state AS k, count(*) AS n FROM ${jobs} GROUP BY state`),
    outcomes: await tally(`SELECT outcome AS k, count(*) AS n FROM ${runs} GROUP BY outcome`),
    maxAttempt: Number(attempts?.top ?? 0),
    retriedJobs: Number(attempts?.retried ?? 0),
    executors: await count(`SELECT count(DISTINCT executor_id) AS n FROM ${runs}`),
    notExactlyOneSuccess: await count(`SELECT count(*) AS n ${notOneSuccess}`),
    orphanRuns: await count(`SELECT count(*) AS n FROM ${runs} r WHERE NOT EXISTS (SELECT 1 FROM ${jobs} j WHERE j.id = r.job_id)`),
    overlappingRuns: await count(`SELECT count(*) AS n ${overlapping}`),
    openRunsOfIdleJobs: await count(`SELECT count(*) AS n ${openIdle}`),
    openRuns: await count(`SELECT count(*) AS n FROM ${runs} WHERE outcome = 'started'`),
    auditHoles: await count(`SELECT count(*) AS n ${holes}`),
    evidence: { exactlyOnce: [], overlaps: [], openRuns: [], auditHoles: [] },
    supersededExamples: [],
  };
  const e = findings.evidence;
  if (findings.notExactlyOneSuccess > 0) e.exactlyOnce = await describeJobs(db, await ids(`SELECT j.id AS id ${notOneSuccess} ORDER BY j.id`));
  if (findings.overlappingRuns > 0) e.overlaps = await describeJobs(db, await ids(`SELECT DISTINCT a.job_id AS id ${overlapping} ORDER BY a.job_id`));
  if (findings.openRunsOfIdleJobs > 0) e.openRuns = await describeJobs(db, await ids(`SELECT DISTINCT j.id AS id ${openIdle} ORDER BY j.id`));
  if (findings.auditHoles > 0) e.auditHoles = await describeJobs(db, await ids(`SELECT j.id AS id ${holes} ORDER BY j.id`));
  if ((findings.outcomes.superseded ?? 0) > 0) {
    const superseded = await db.rows<{ id: string }>(`SELECT DISTINCT job_id AS id FROM ${runs} WHERE outcome = 'superseded' ORDER BY job_id LIMIT 2`);
    findings.supersededExamples = await describeJobs(db, superseded.map((r) => r.id));
  }
  return findings;
}

/** Each job on one line, then one indented line per run: the evidence a finding is judged by. */
export async function describeJobs(db: AuditDb, jobIds: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const id of jobIds) {
    const quoted = `'${id.replaceAll("'", "''")}'`;
    const [job] = await db.rows<{ kind: string; state: string; attempt: number; args: unknown }>(
      `SELECT kind, state, attempt, args FROM ${db.jobs} WHERE id = ${quoted}`,
    );
    lines.push(job ? `job ${id} ${job.kind} ${JSON.stringify(job.args)}: state ${job.state}, attempt ${job.attempt}` : `job ${id}: missing`);
    const runs = await db.rows<{ attempt: number; outcome: string; executor_id: string; started: number; finished: number | null; error: string | null }>(
      `SELECT attempt, outcome, executor_id, ${db.ms("started_at")} AS started, ${db.ms("finished_at")} AS finished, error_message AS error
       FROM ${db.runs} WHERE job_id = ${quoted} ORDER BY attempt`,
    );
    for (const r of runs) {
      const span = `${isoMs(r.started)} → ${r.finished === null ? "open" : isoMs(r.finished)}`;
      lines.push(`    run ${r.attempt} ${r.outcome} on ${r.executor_id} ${span}${r.error ? ` (${r.error})` : ""}`);
    }
  }
  return lines;
}

function isoMs(ms: number | string): string {
  return new Date(Number(ms)).toISOString();
}
