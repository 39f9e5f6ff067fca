/** Number and table formatting for the printed report. */

/** A whole number with thousands separators; `—` for a missing value. */
export const int = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? "—" : Math.round(v).toLocaleString("en-US"));

/** A figure with `digits` decimals; `—` for a missing value. */
export const ms = (v: number | undefined, digits = 2): string => (v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits));

/** `a ÷ b` as `1.23×` (no decimals from 10 up); `—` when either is missing or `b` is 0. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "—";
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

/** A plain-text table: the first `alignLeft` columns left-aligned, the rest right-aligned. */
export function table(headers: string[], body: string[][], alignLeft = 1): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < alignLeft ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}
