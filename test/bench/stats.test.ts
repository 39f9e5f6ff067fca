// The noise test the benchmarks use to say whether two variants differ (bench/lib/stats.ts), against values
// from scipy.stats.wilcoxon (exact, two-sided).
import { expect, test } from "bun:test";
import { pairedVerdict, signedRankP } from "../../bench/lib/stats.ts";

/** Pairs whose log-ratios are `diffs / 100`: the test ranks the differences, so these behave as `diffs`. */
const pairsOf = (diffs: number[]) => diffs.map((d) => [1, Math.exp(d / 100)] as const);

test("exact p-values match scipy's: all one way, one against, and a mixed set", () => {
  expect(signedRankP(pairsOf([-1, -2, -3]))).toBe(0.25);
  expect(signedRankP(pairsOf([-1, -2, -3, -4, -5, -6, -7, -8, -9, -10]))).toBeCloseTo(2 / 1024, 12);
  expect(signedRankP(pairsOf([1, 2, 3, 4, 5, 6, 7, 8, 9, -10]))).toBeCloseTo(0.083984375, 12);
  expect(signedRankP(pairsOf([1, -2, 3, -4, 5, -6, 7, -8, 9, -10]))).toBeCloseTo(0.845703125, 12);
});

test("equal pairs carry no sign; tied magnitudes share a rank; nothing to compare is NaN", () => {
  expect(signedRankP([[5, 5], ...pairsOf([-1, -2, -3])])).toBe(0.25);
  // Halved, doubled and quartered: magnitudes log 2, log 2, log 4, ranked 1.5, 1.5, 3.
  expect(signedRankP([[2, 1], [1, 2], [4, 1]])).toBeCloseTo(0.75, 12);
  expect(signedRankP([[5, 5]])).toBeNaN();
});

test("the report's reading: the median ratio, and a word only where the pairs can tell", () => {
  expect(pairedVerdict([[100, 90], [100, 80], [100, 95], [100, 85], [100, 70], [100, 99]])).toEqual({ ratio: 0.875, p: 2 / 64, text: "0.03 (slower)" });
  expect(pairedVerdict([[100, 90], [100, 80], [100, 95], [100, 85], [100, 70]]).text).toBe("0.06 (too few pairs to tell)");
  expect(pairedVerdict([[100, 110], [100, 90], [100, 105], [100, 95], [100, 101], [100, 99]]).text).toMatch(/ \(noise\)$/);
  expect(pairedVerdict([]).text).toBe("-");
});
