// How times and durations read on the dashboard.

/** `1.2s`, `850ms`, `3m 4s`, `15m`, `2h 5m`: the two largest units, a zero second one left out. */
export function duration(ms: number | null): string {
  if (ms === null) return "–";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const s = Math.round(ms / 1000);
  const pair = (big: number, bigUnit: string, small: number, smallUnit: string) => `${big}${bigUnit}${small ? ` ${small}${smallUnit}` : ""}`;
  if (s < 3600) return pair(Math.floor(s / 60), "m", s % 60, "s");
  const m = Math.round(s / 60);
  if (m < 1440) return pair(Math.floor(m / 60), "h", m % 60, "m");
  return pair(Math.floor(m / 1440), "d", Math.floor((m % 1440) / 60), "h");
}

/** `5m ago`, `in 2h 3m`, `now`. */
export function relative(iso: string | null, now = Date.now()): string {
  if (!iso) return "–";
  const ms = new Date(iso).getTime() - now;
  if (Math.abs(ms) < 1000) return "now";
  const text = duration(Math.abs(ms)).replace(/ \d+(s|m|h)$/, "");
  return ms > 0 ? `in ${text}` : `${text} ago`;
}

/** `2026-03-08 06:00:00` in the browser's timezone, for exact times in titles and detail pages. */
export function localTime(iso: string | null): string {
  if (!iso) return "–";
  return new Date(iso).toLocaleString("sv-SE");
}

/** `2026-03-09 03:00 CET`: a schedule's next fire on its own wall clock. */
export function zonedTime(iso: string | null, timezone: string): string {
  if (!iso) return "–";
  const parts = new Intl.DateTimeFormat("sv-SE", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  }).formatToParts(new Date(iso));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")} ${part("timeZoneName")}`;
}

/**
 * `01a222ec…f617`: an id's head (ids are UUIDv7, so jobs made in the same minute share it) and its random tail,
 * which tells them apart at a glance.
 */
export function shortId(id: string): string {
  return `${id.slice(0, 8)}…${id.slice(-4)}`;
}
