import { expect, test } from "bun:test";
import { backoffDelay } from "../../src/jobs/retry-policy.ts";

test("backoff doubles from the base, caps, and applies jitter in [0.75, 1.25)", () => {
  const at = (random: number) => (attempt: number) => backoffDelay(attempt, { random: () => random });
  expect([1, 2, 3, 4, 5, 6, 7, 8].map(at(0.5))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  expect(at(0)(3)).toBe(3000);
  expect(at(0.999999)(3)).toBe(4999);
  expect(backoffDelay(3, { baseMs: 10, capMs: 25, random: () => 0.5 })).toBe(25);
});

test("jitter spreads retries without leaving the bounds", () => {
  const samples = Array.from({ length: 2000 }, () => backoffDelay(2));
  expect(Math.min(...samples)).toBeGreaterThanOrEqual(1500);
  expect(Math.max(...samples)).toBeLessThan(2500);
  expect(new Set(samples).size).toBeGreaterThan(100);
});
