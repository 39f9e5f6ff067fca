import { FlywheelError } from "./errors.ts";

/** A span of time: milliseconds as a number, or a string such as `"250ms"`, `"30s"`, `"5m"`, `"1h30m"`, `"14d"`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Converts a {@link Duration} to whole milliseconds.
 * @throws FlywheelError (`code: "invalid_duration"`) for negative numbers or strings that are not a sequence of `<number><unit>` parts.
 * @example parseDuration("1h30m") // 5_400_000
 */
export function parseDuration(value: Duration): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw invalid(value);
    return Math.round(value);
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(text); m; m = PART.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = PART.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) throw invalid(value);
  return Math.round(total);
}

/** Renders milliseconds in the largest units that divide them, e.g. `90000` → `"1m30s"`; the inverse of {@link parseDuration}. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000], ["ms", 1]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

function invalid(value: unknown): FlywheelError {
  return new FlywheelError("invalid_duration", `flywheel: invalid duration ${JSON.stringify(value)}: expected milliseconds or a string like "250ms", "30s", "5m", "1h", "14d"`);
}
