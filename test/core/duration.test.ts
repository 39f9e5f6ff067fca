import { expect, test } from "bun:test";
import { formatDuration, parseDuration } from "../../src/core/duration.ts";

test.each([
  [250, 250],
  ["250ms", 250],
  ["30s", 30_000],
  ["5m", 300_000],
  ["1h30m", 5_400_000],
  ["14d", 1_209_600_000],
  ["1.5s", 1_500],
  ["42", 42],
  [" 2m ", 120_000],
] as const)("parseDuration(%p) = %p ms", (input, ms) => {
  expect(parseDuration(input)).toBe(ms);
});

test.each(["", "5x", "m5", "1h 30m", "-1s", "1.2.3s"])("parseDuration rejects %p with a message naming the value", (input) => {
  expect(() => parseDuration(input)).toThrow(`invalid duration ${JSON.stringify(input)}`);
});

test("parseDuration rejects negative and non-finite numbers", () => {
  expect(() => parseDuration(-1)).toThrow("invalid duration");
  expect(() => parseDuration(Number.NaN)).toThrow("invalid duration");
});

test("formatDuration is the inverse of parseDuration on whole units", () => {
  for (const text of ["1d", "2h", "1m30s", "250ms", "1d2h3m4s5ms"]) expect(formatDuration(parseDuration(text))).toBe(text);
  expect(formatDuration(0)).toBe("0s");
});
