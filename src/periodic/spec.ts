import { PERIODIC_DEFAULTS } from "../core/defaults.ts";
import { parseDuration, type Duration } from "../core/duration.ts";
import { ValidationError } from "../core/errors.ts";
import type { CatchUp, InsertOptions, Overlap, PeriodicRecord } from "../core/types.ts";
import type { PeriodicSaveRow } from "../driver/types.ts";
import type { JobBuilder } from "../runtime/job-builder.ts";
import type { WorkerRegistry } from "../runtime/registry.ts";
import { assertFiresAfter, assertTimezone, nextFire, parseCron, type ScheduleSpec } from "./cron.ts";

/**
 * A periodic to create or update (the library's word; the CLI, config and HTTP API call it a schedule).
 * Exactly one of `cron` and `every`. Unset fields take {@link PERIODIC_DEFAULTS} (queue `periodic`, timezone
 * UTC, overlap `skip`, catch-up `all` with a backfill of 10, source `api`, active).
 */
export interface PeriodicSpec {
  slug: string;
  kind: string;
  cron?: string;
  /** Fixed interval, e.g. `"5m"`, at least 1 s. */
  every?: Duration;
  /** IANA timezone for `cron` (default `UTC`). */
  timezone?: string;
  queue?: string;
  args?: unknown;
  overlap?: Overlap;
  catchUp?: CatchUp;
  /** With `catchUp: "all"`, the most missed fires enqueued (default 10). */
  backfill?: number;
  maxAttempts?: number;
  priority?: number;
  timeout?: Duration;
  /**
   * Delay each fire's job by a stable per-slug offset in [0, jitter) (see `jitterOffsetMs`), so schedules that
   * share a fire time do not all start at once. Default none. The fire time (its unique key, `fire_at`) stays.
   */
  jitter?: Duration;
  active?: boolean;
  /** Who manages it (`api`, `config`, `cli`); `flywheel serve` deactivates `config` periodics that left the config. */
  source?: string;
}

/** A periodic row as stored, before its `next_run_at` is decided. */
export type PeriodicRow = Omit<PeriodicSaveRow, "nextRunAt" | "now">;

/** The schedule of a stored periodic. */
export function specOf(p: Pick<PeriodicRecord, "cron" | "timezone" | "intervalSeconds">): ScheduleSpec {
  return p.cron !== null ? { cron: p.cron, timezone: p.timezone } : { intervalSeconds: p.intervalSeconds! };
}

/**
 * Validates a spec and applies the defaults. The args are checked now, against the kind's worker when one is
 * registered, so a schedule that could never build its job is refused at upsert rather than at every fire.
 * @throws ValidationError or FlywheelError `invalid_schedule` naming what is wrong.
 */
export function periodicRow(spec: PeriodicSpec, registry: WorkerRegistry, builder: JobBuilder, now: Date): PeriodicRow {
  if (!spec.slug) throw new ValidationError("flywheel: a periodic needs a slug", "slug");
  if ((spec.cron === undefined) === (spec.every === undefined)) {
    throw new ValidationError(`flywheel: periodic ${spec.slug} needs exactly one of cron and every`, spec.cron ? "every" : "cron");
  }
  const timezone = spec.timezone ?? PERIODIC_DEFAULTS.timezone;
  assertTimezone(timezone);
  if (spec.cron !== undefined) parseCron(spec.cron, timezone);
  let intervalSeconds: number | null = null;
  if (spec.every !== undefined) {
    intervalSeconds = Math.round(parseDuration(spec.every) / 1000);
    if (intervalSeconds < 1) throw new ValidationError(`flywheel: periodic ${spec.slug}: every must be at least 1s`, "every");
  }
  if (spec.cron !== undefined) assertFiresAfter({ cron: spec.cron, timezone }, now);
  const jitterMs = spec.jitter !== undefined ? parseDuration(spec.jitter) : 0;
  if (intervalSeconds !== null && jitterMs >= intervalSeconds * 1000) {
    // A delay as long as the interval would push each fire's job past the next fire.
    throw new ValidationError(`flywheel: periodic ${spec.slug}: jitter must be shorter than every`, "jitter");
  }
  const worker = registry.get(spec.kind);
  const row: PeriodicRow = {
    slug: spec.slug,
    kind: spec.kind,
    queue: spec.queue ?? worker?.queue ?? PERIODIC_DEFAULTS.queue,
    args: spec.args ?? {},
    cron: spec.cron ?? null,
    intervalSeconds,
    timezone,
    overlap: spec.overlap ?? PERIODIC_DEFAULTS.overlap,
    catchUp: spec.catchUp ?? PERIODIC_DEFAULTS.catchUp,
    backfill: spec.backfill ?? PERIODIC_DEFAULTS.backfill,
    maxAttempts: spec.maxAttempts ?? null,
    priority: spec.priority ?? null,
    timeoutMs: spec.timeout !== undefined ? parseDuration(spec.timeout) : null,
    jitterMs: jitterMs > 0 ? jitterMs : null,
    source: spec.source ?? PERIODIC_DEFAULTS.source,
    isActive: spec.active ?? true,
  };
  // Builds (and drops) one fire's job: the same checks every fire will face.
  builder.build(row.kind, row.args, fireOptions(row, now), now);
  return row;
}

/**
 * When an upserted periodic next fires: an unchanged schedule keeps its `next_run_at`; a new or changed one
 * (cron, interval or timezone) fires at its next time after now, never at once.
 */
export function nextRunAtFor(row: PeriodicRow, existing: PeriodicRecord | null, now: Date): Date {
  const sameSchedule =
    existing !== null &&
    existing.cron === row.cron &&
    existing.intervalSeconds === row.intervalSeconds &&
    (row.cron === null || existing.timezone === row.timezone);
  return sameSchedule ? existing.nextRunAt : nextFire(specOf(row), now);
}

/** The start of the unique key of every job periodic `slug` fires, scheduled or triggered: `periodic:<slug>@`. */
export function fireKeyPrefix(slug: string): string {
  return `periodic:${slug}@`;
}

/**
 * The insert options of one fire at `fire` (a scheduled fire time, or the trigger time of a manual one): the
 * periodic's job settings, a unique key per fire so no fire is enqueued twice, and with `overlap: skip` a key
 * held while the previous run is active.
 */
export function fireOptions(
  p: Pick<PeriodicRow, "slug" | "queue" | "priority" | "maxAttempts" | "timeoutMs" | "overlap">,
  fire: Date,
  manual = false,
): InsertOptions<never> {
  const stamp = manual ? `manual:${fire.getTime()}` : String(Math.floor(fire.getTime() / 1000));
  return {
    queue: p.queue,
    priority: p.priority ?? undefined,
    maxAttempts: p.maxAttempts ?? undefined,
    timeout: p.timeoutMs ?? undefined,
    uniqueKey: `${fireKeyPrefix(p.slug)}${stamp}`,
    uniqueActiveKey: p.overlap === "skip" ? `periodic:${p.slug}` : undefined,
  };
}
