import { formatDuration, parseDuration } from "../core/duration.ts";
import { ValidationError } from "../core/errors.ts";
import type { LimitRecord, LimitTarget } from "../core/types.ts";
import type { LimitSaveRow, LimitScope, LimitStored } from "../driver/types.ts";
import { assertName } from "../runtime/job-builder.ts";

/** What a limit allows (SPEC §18); give at least one. */
export interface LimitSettings {
  /** At most this many of the target's jobs run at once, across every node: a positive integer. */
  concurrency?: number;
  /** At most this many attempts start in any window of the duration: `"<count>/<duration>"`, e.g. `"100/1m"`. */
  rate?: string;
}

/** The largest count a limit takes (a 32-bit integer column on both dialects). */
const MAX_COUNT = 2_147_483_647;
const RATE = /^\s*(\d+)\s*\/\s*(\S+)\s*$/;

/**
 * The scope and name of a limit's target: exactly one of `kind` or `queue`, a non-empty string.
 * @throws ValidationError naming the field.
 */
export function limitTarget(target: LimitTarget): { scope: LimitScope; name: string } {
  const t = (target ?? {}) as { kind?: unknown; queue?: unknown };
  const hasKind = t.kind !== undefined;
  const hasQueue = t.queue !== undefined;
  if (hasKind === hasQueue) throw new ValidationError("flywheel: a limit names exactly one of `kind` or `queue`", hasKind ? "queue" : "kind");
  const scope: LimitScope = hasKind ? "kind" : "queue";
  assertName(t[scope], scope, { required: true });
  return { scope, name: t[scope] as string };
}

/**
 * Parses a rate `"<count>/<duration>"` (`"100/1m"`, `"5/30s"`, `"1000/1h"`): a positive integer count and a
 * positive duration with its unit.
 * @throws ValidationError naming `rate`.
 */
export function parseRate(rate: unknown): { count: number; windowMs: number } {
  const bad = (why: string) => new ValidationError(`flywheel: rate ${JSON.stringify(rate)} ${why}; expected "<count>/<duration>" such as "100/1m"`, "rate");
  if (typeof rate !== "string") throw bad("is not a string");
  const m = RATE.exec(rate);
  if (!m) throw bad("is malformed");
  const count = Number(m[1]);
  if (count < 1 || count > MAX_COUNT) throw bad(`has a count outside 1…${MAX_COUNT}`);
  // A bare number would read as milliseconds; a rate says its unit.
  if (/^\d+$/.test(m[2]!)) throw bad("has a duration without a unit");
  let windowMs: number;
  try {
    windowMs = parseDuration(m[2]!);
  } catch {
    throw bad("has an invalid duration");
  }
  if (windowMs <= 0) throw bad("has an empty window");
  return { count, windowMs };
}

/**
 * A limit as the driver stores it, from the caller's target and settings.
 * @throws ValidationError with one line naming the field (`kind`/`queue`, `concurrency`, `rate`).
 */
export function limitRow(target: LimitTarget, settings: LimitSettings, now: Date): LimitSaveRow {
  const { scope, name } = limitTarget(target);
  const s = (settings ?? {}) as { concurrency?: unknown; rate?: unknown };
  if (s.concurrency === undefined && s.rate === undefined) throw new ValidationError("flywheel: a limit needs `concurrency`, `rate`, or both", "concurrency");
  let concurrency: number | null = null;
  if (s.concurrency !== undefined) {
    if (typeof s.concurrency !== "number" || !Number.isInteger(s.concurrency) || s.concurrency < 1 || s.concurrency > MAX_COUNT) {
      throw new ValidationError(`flywheel: concurrency must be an integer from 1 to ${MAX_COUNT}, got ${JSON.stringify(s.concurrency) ?? String(s.concurrency)}`, "concurrency");
    }
    concurrency = s.concurrency;
  }
  const rate = s.rate === undefined ? null : parseRate(s.rate);
  return { scope, name, concurrency, rateCount: rate?.count ?? null, rateWindowMs: rate?.windowMs ?? null, now };
}

/** A stored limit as the library lists it, its rate written back as `"<count>/<duration>"`. */
export function limitRecord(stored: LimitStored): LimitRecord {
  const rate = stored.rateCount === null || stored.rateWindowMs === null ? null : `${stored.rateCount}/${formatDuration(stored.rateWindowMs)}`;
  return { scope: stored.scope, name: stored.name, concurrency: stored.concurrency, rate, createdAt: stored.createdAt, updatedAt: stored.updatedAt };
}
