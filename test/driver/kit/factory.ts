/**
 * The kit's fixture factory: job rows, claims and finalize items, and {@link jobFixture}, which brings a job to
 * any state through driver methods only (no SQL), so a fixture is valid on every dialect by construction.
 * Every time is an explicit instant: {@link T0} plus an offset ({@link at}).
 */
import { JOB_DEFAULTS, PERIODIC_DEFAULTS } from "../../../src/core/defaults.ts";
import { newId } from "../../../src/core/id.ts";
import type { JobRecord, JobState, RunRecord } from "../../../src/core/types.ts";
import type { ClaimParams, ClaimedJob, Driver, FinalizeItem, JobInsertRow, PeriodicSaveRow } from "../../../src/driver/types.ts";
import { failed, succeeded, type Ended } from "../../../src/jobs/outcome.ts";

/** The instant every kit case starts from. */
export const T0 = new Date("2026-03-08T06:00:00Z");

/** `ms` milliseconds after {@link T0} (before it when negative). */
export function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

/** `ms` milliseconds after `from`. */
export function after(from: Date, ms: number): Date {
  return new Date(from.getTime() + ms);
}

/** A driver of any dialect, as the kit drives it. */
export type AnyDriver = Driver<any>;

/** Fields of a row the kit may set, with `args` as a value rather than JSON text. */
export type RowSpec = Partial<Omit<JobInsertRow, "argsJson">> & { args?: unknown };

/** A `jobs` row to insert: kind `kit`, available at {@link T0} on the default queue, with `spec` applied. */
export function row(spec: RowSpec = {}): JobInsertRow {
  const { args, ...over } = spec;
  return {
    id: newId(),
    kind: "kit",
    queue: JOB_DEFAULTS.queue,
    argsJson: JSON.stringify(args ?? {}),
    priority: JOB_DEFAULTS.priority,
    state: "available",
    maxAttempts: JOB_DEFAULTS.maxAttempts,
    timeoutMs: null,
    scheduledAt: T0,
    uniqueKey: null,
    uniqueActiveKey: null,
    parentJobId: null,
    rootJobId: null,
    executorClass: JOB_DEFAULTS.executorClass,
    tags: [],
    metadata: {},
    createdAt: T0,
    ...over,
  };
}

/** A claim of every queue and class at `now`, leased for 30 s under a fresh token, with `over` applied. */
export function claimParams(now: Date, over: Partial<ClaimParams> = {}): ClaimParams {
  return {
    queues: null,
    executorClasses: null,
    limit: 10,
    now,
    leasedUntil: after(now, 30_000),
    leaseToken: newId(),
    executorId: "kit-node",
    ...over,
  };
}

/** The attempt of `claim` ending at `now`, as the runtime's outcome builders (`src/jobs/outcome.ts`) take it. */
export function ended(claim: ClaimedJob, now: Date): Ended {
  return { job: claim, now, durationMs: now.getTime() - claim.startedAt.getTime() };
}

/** The finalize item of `claim`'s attempt succeeding at `now` with `output`, inserting `followUps`. */
export function successItem(claim: ClaimedJob, now: Date, output: unknown = null, followUps: JobInsertRow[] = []): FinalizeItem {
  return succeeded(ended(claim, now), { output }, followUps).item;
}

/** The finalize item of `claim`'s attempt failing transiently at `now`, retried `delayMs` later. */
export function retryItem(claim: ClaimedJob, now: Date, delayMs: number, message = "kit: transient failure"): FinalizeItem {
  return failed(ended(claim, now), "transient", message, null, delayMs).item;
}

/** The finalize item of `claim`'s attempt failing permanently at `now`: the job is discarded. */
export function discardItem(claim: ClaimedJob, now: Date, message = "kit: permanent failure"): FinalizeItem {
  return failed(ended(claim, now), "permanent", message, null, null).item;
}

/** Claims exactly the job `id` at `now` under `lease`; fails the test when it is not claimable. */
export async function claimJob(driver: AnyDriver, id: string, now: Date, lease: Partial<ClaimParams> = {}): Promise<ClaimedJob> {
  const [claim] = await driver.jobClaim(claimParams(now, { limit: 1, ids: [id], ...lease }));
  if (!claim) throw new Error(`kit fixture: job ${id} was not claimable at ${now.toISOString()}`);
  return claim;
}

/** Reads the job `id`; fails the test when it is missing. */
export async function getJob(driver: AnyDriver, id: string): Promise<JobRecord> {
  const job = await driver.jobGet({ id });
  if (!job) throw new Error(`kit: job ${id} not found`);
  return job;
}

/** A job and its runs as stored: compare two snapshots to prove an operation changed nothing. */
export interface JobSnapshot {
  job: JobRecord | null;
  runs: RunRecord[];
}

/** The job `id` and its runs as stored now. */
export async function snapshot(driver: AnyDriver, id: string): Promise<JobSnapshot> {
  return { job: await driver.jobGet({ id }), runs: await driver.runList({ jobId: id }) };
}

/** What {@link jobFixture} builds: the target state, the instant everything happens at, and the row's fields. */
export interface FixtureSpec extends Omit<RowSpec, "state"> {
  state: JobState;
  /** When every insert, claim and finalize of the fixture happens. */
  now: Date;
  /**
   * Attempts started so far: 0 for available, scheduled and (by default) cancelled jobs, 1 by default for the
   * others. Earlier attempts fail transiently and are retried at once; only the last one ends in `state`.
   */
  attempt?: number;
  /** `running`: the lease's end (in the past for an expired lease); default `now` + 30 s. */
  leasedUntil?: Date;
  /** `running`: the lease token; default a fresh one. */
  leaseToken?: string;
}

/** A built fixture: the job as stored, and the claim of its last attempt (null when it never ran). */
export interface JobFixture {
  job: JobRecord;
  claim: ClaimedJob | null;
}

/**
 * Brings a new job to `spec.state` through driver methods only:
 * - `available`, `scheduled`: inserted (`scheduledAt` default: `now`, and `now` + 1 h when scheduled);
 * - `running`: inserted and claimed with the chosen lease (`leasedUntil` in the past: an expired lease);
 * - `retryable` (`scheduledAt` default `now` + 1 h), `succeeded`, `discarded`: claimed, then finalized so;
 * - `cancelled`: cancelled by an operator, while available, or while running when `attempt` is given.
 */
export async function jobFixture(driver: AnyDriver, spec: FixtureSpec): Promise<JobFixture> {
  const { state, now, attempt, leasedUntil, leaseToken, ...fields } = spec;
  const attempts = attempt ?? (state === "available" || state === "scheduled" || state === "cancelled" ? 0 : 1);
  if ((state === "available" || state === "scheduled") && attempts > 0) {
    throw new Error(`kit fixture: a ${state} job cannot have started attempts here`);
  }
  if (attempts === 0 && (state === "running" || state === "retryable" || state === "succeeded" || state === "discarded")) {
    throw new Error(`kit fixture: a ${state} job has started at least one attempt`);
  }
  const inserted =
    state === "scheduled"
      ? row({ createdAt: now, ...fields, state: "scheduled", scheduledAt: fields.scheduledAt ?? after(now, 3_600_000) })
      : row({ createdAt: now, ...fields, state: "available", scheduledAt: state === "available" ? (fields.scheduledAt ?? now) : now });
  const [outcome] = await driver.jobInsert({ jobs: [inserted] });
  if (!outcome?.inserted) throw new Error(`kit fixture: the insert collided with job ${outcome?.id}`);
  const id = inserted.id;

  let claim: ClaimedJob | null = null;
  for (let n = 1; n <= attempts; n++) {
    const last = n === attempts;
    claim = await claimJob(driver, id, now, last ? { leasedUntil: leasedUntil ?? after(now, 30_000), leaseToken: leaseToken ?? newId() } : {});
    if (!last) await finalizeOne(driver, retryItem(claim, now, 0), now);
  }

  if (claim && state !== "running") {
    if (state === "retryable") await finalizeOne(driver, retryItem(claim, now, (fields.scheduledAt ?? after(now, 3_600_000)).getTime() - now.getTime()), now);
    else if (state === "succeeded") await finalizeOne(driver, successItem(claim, now), now);
    else if (state === "discarded") await finalizeOne(driver, discardItem(claim, now), now);
    else if (state !== "cancelled") throw new Error(`kit fixture: cannot build a ${state} job after an attempt`);
  }
  if (state === "cancelled") await driver.jobCancel({ id, now });
  return { job: await getJob(driver, id), claim };
}

/** A job running under a claim made at `spec.now` ({@link jobFixture} with state `running`); returns the claim. */
export async function runningJob(driver: AnyDriver, spec: Omit<FixtureSpec, "state">): Promise<ClaimedJob> {
  return (await jobFixture(driver, { ...spec, state: "running" })).claim!;
}

/** A periodic to save: kind `tick` every minute, next due at 60 s, saved at {@link T0}, with `over` applied. */
export function periodicRow(slug: string, over: Partial<PeriodicSaveRow> = {}): PeriodicSaveRow {
  return {
    slug,
    kind: "tick",
    queue: PERIODIC_DEFAULTS.queue,
    args: { n: 1 },
    cron: null,
    intervalSeconds: 60,
    timezone: PERIODIC_DEFAULTS.timezone,
    overlap: PERIODIC_DEFAULTS.overlap,
    catchUp: PERIODIC_DEFAULTS.catchUp,
    backfill: PERIODIC_DEFAULTS.backfill,
    maxAttempts: null,
    priority: null,
    timeoutMs: null,
    jitterMs: null,
    source: PERIODIC_DEFAULTS.source,
    isActive: true,
    nextRunAt: at(60_000),
    now: T0,
    ...over,
  };
}

async function finalizeOne(driver: AnyDriver, item: FinalizeItem, now: Date): Promise<void> {
  const [outcome] = await driver.jobFinalize({ items: [item], now });
  if (!outcome?.applied) throw new Error(`kit fixture: finalize of job ${item.jobId} was not applied (${outcome?.outcome})`);
}
