/**
 * Whether two variants of one benchmark differ by more than the machine's noise: the exact Wilcoxon signed-rank
 * test over paired runs. A pair is two runs taken back to back (a repetition of an alternating benchmark), so
 * a machine getting busier or quieter moves both; the test asks whether the pairs' ratios lean one way more often
 * and by more than chance would make them.
 */
import { median } from "./harness.ts";

/**
 * The two-sided p-value of the exact signed-rank test on `pairs` of `[a, b]` (positive numbers, such as rates),
 * compared as `log(b / a)`: the chance of ranks at least this lopsided if neither variant were faster. Pairs
 * that are equal carry no sign and are left out; tied magnitudes share their mean rank. NaN with no unequal pair.
 * @example signedRankP([[100, 90], [102, 91], [98, 89]]) // 0.25: three of three lower, too few pairs to tell
 */
export function signedRankP(pairs: ReadonlyArray<readonly [number, number]>): number {
  const diffs = pairs.map(([a, b]) => Math.log(b / a)).filter((d) => Number.isFinite(d) && d !== 0);
  const n = diffs.length;
  if (n === 0) return Number.NaN;
  const order = diffs.map((d, i) => ({ magnitude: Math.abs(d), i })).sort((x, y) => x.magnitude - y.magnitude);
  // Ranks doubled, so tied ranks (means of consecutive integers) stay integers.
  const rank2 = new Array<number>(n);
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && order[end + 1]!.magnitude === order[start]!.magnitude) end++;
    for (let k = start; k <= end; k++) rank2[order[k]!.i] = start + 1 + end + 1;
    start = end + 1;
  }
  const total = rank2.reduce((sum, r) => sum + r, 0);
  // ways[s]: sign assignments whose positive ranks sum to s (doubled), all 2^n equally likely under no difference.
  let ways = new Float64Array(total + 1);
  ways[0] = 1;
  for (const r of rank2) {
    const next = Float64Array.from(ways);
    for (let s = 0; s + r <= total; s++) next[s + r] = next[s + r]! + ways[s]!;
    ways = next;
  }
  const observed = diffs.reduce((sum, d, i) => sum + (d > 0 ? rank2[i]! : 0), 0);
  const distance = Math.abs(2 * observed - total);
  let extreme = 0;
  ways.forEach((count, s) => {
    if (Math.abs(2 * s - total) >= distance) extreme += count;
  });
  return Math.min(1, extreme / 2 ** n);
}

/** The fewest pairs that can show a difference: with five, even all five one way gives p = 2 / 2^5 > 0.05. */
export const MIN_PAIRS = 6;

/**
 * The report's reading of paired runs `[a, b]`: the median of `b / a`, the exact p ({@link signedRankP}) and a
 * word for it: `noise` at p ≥ 0.05, else `slower` or `faster` (b against a), or `too few pairs to tell`.
 */
export function pairedVerdict(pairs: ReadonlyArray<readonly [number, number]>): { ratio: number; p: number; text: string } {
  const ratio = median(pairs.map(([a, b]) => b / a));
  const p = signedRankP(pairs);
  if (Number.isNaN(p)) return { ratio, p, text: "-" };
  const word = pairs.length < MIN_PAIRS ? "too few pairs to tell" : p >= 0.05 ? "noise" : ratio < 1 ? "slower" : "faster";
  return { ratio, p, text: `${p.toFixed(2)} (${word})` };
}
