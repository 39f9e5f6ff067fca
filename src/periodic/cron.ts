import { Cron } from "croner";
import { FlywheelError } from "../core/errors.ts";

/** When a periodic fires: a cron expression in an IANA timezone, or a fixed interval. */
export type ScheduleSpec = { cron: string; timezone: string } | { intervalSeconds: number };

/** Validates a cron expression and timezone; returns the croner instance used as a pure calculator. */
export function parseCron(expr: string, timezone: string): Cron {
  try {
    // paused: croner is only a calculator here; schedule state lives in the database, not in a timer.
    return new Cron(expr, { timezone, paused: true, mode: "auto" });
  } catch (error) {
    throw new FlywheelError("invalid_schedule", `flywheel: invalid cron ${JSON.stringify(expr)} (timezone ${timezone}): ${(error as Error).message}`);
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

/** The first fire strictly after `after`. */
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
