import { Cron } from "croner";
import { FlywheelError } from "../core/errors.ts";

/** When a periodic fires: a cron expression in an IANA timezone, or a fixed interval. */
export type ScheduleSpec = { cron: string; timezone: string } | { intervalSeconds: number };

/** Parsed crons by expression and timezone: planning a catch-up or the next fire must not re-parse per fire. */
const parsed = new Map<string, Cron>();
const PARSED_MAX = 1_000;

/**
 * Validates a cron expression and timezone; returns the croner instance used as a pure calculator. Accepts the
 * standard 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, and `@hourly`-style
 * nicknames; a 7th (year) field is refused, since a schedule with a last year stops firing for good.
 * @throws FlywheelError `invalid_schedule` naming the expression.
 */
export function parseCron(expr: string, timezone: string): Cron {
  const key = `${timezone}\u0000${expr}`;
  const cached = parsed.get(key);
  if (cached) return cached;
  const fields = expr.trim().split(/\s+/);
  if (!expr.trim().startsWith("@") && fields.length !== 5 && fields.length !== 6) {
    throw new FlywheelError(
      "invalid_schedule",
      `flywheel: invalid cron ${JSON.stringify(expr)}: expected 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields.length}`,
    );
  }
  let cron: Cron;
  try {
    // paused: croner is only a calculator here; schedule state lives in the database, not in a timer.
    cron = new Cron(expr, { timezone, paused: true, mode: "auto" });
  } catch (error) {
    throw new FlywheelError("invalid_schedule", `flywheel: invalid cron ${JSON.stringify(expr)} (timezone ${timezone}): ${(error as Error).message}`);
  }
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(key, cron);
  return cron;
}

/**
 * Refuses a schedule that will not fire after `now` (a cron such as `0 0 30 2 *` never fires at all): storing
 * it would leave a periodic that is due never, or an error on every tick.
 * @throws FlywheelError `invalid_schedule`.
 */
export function assertFiresAfter(spec: ScheduleSpec, now: Date): void {
  if ("intervalSeconds" in spec) return;
  if (!parseCron(spec.cron, spec.timezone).nextRun(now)) {
    throw new FlywheelError("invalid_schedule", `flywheel: cron ${JSON.stringify(spec.cron)} never fires after ${now.toISOString()}`);
  }
}

/** Throws unless `timezone` is an IANA zone this runtime knows. */
export function assertTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new FlywheelError("invalid_schedule", `flywheel: unknown timezone ${JSON.stringify(timezone)}: expected an IANA name such as "Europe/Berlin"`);
  }
}

/**
 * The first fire strictly after `after`.
 * @throws FlywheelError `invalid_schedule` when a cron never fires again.
 */
export function nextFire(spec: ScheduleSpec, after: Date): Date {
  if ("intervalSeconds" in spec) {
    const step = spec.intervalSeconds * 1000;
    // Interval fires sit on multiples of the interval since the epoch, so restarts never drift the grid.
    return new Date((Math.floor(after.getTime() / step) + 1) * step);
  }
  const next = parseCron(spec.cron, spec.timezone).nextRun(after);
  if (!next) throw new FlywheelError("invalid_schedule", `flywheel: cron ${JSON.stringify(spec.cron)} never fires again`);
  return next;
}

/** Up to `n` fires at or before `at`, newest first. */
export function firesUpTo(spec: ScheduleSpec, at: Date, n: number): Date[] {
  if (n <= 0) return [];
  if ("intervalSeconds" in spec) {
    const step = spec.intervalSeconds * 1000;
    const last = Math.floor(at.getTime() / step) * step;
    return Array.from({ length: n }, (_, i) => new Date(last - i * step));
  }
  // previousRuns excludes its reference instant; a fire exactly at `at` counts.
  return parseCron(spec.cron, spec.timezone).previousRuns(n, new Date(at.getTime() + 1));
}
