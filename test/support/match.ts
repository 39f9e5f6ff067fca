// Assertion helpers the tests share.

import { expect } from "bun:test";

/**
 * Asserts that `actual` has the fields of `expected` with equal values, as `toMatchObject` promises: nested
 * plain objects and arrays are compared on `expected`'s keys only, every other value (Dates included) with
 * `toEqual`. Tests do not compare Dates with `toMatchObject` because Bun 1.4.5's passes for any Date against any other
 * Date (`expect({ a: new Date(1) }).toMatchObject({ a: new Date(2) })` passes), which would leave every time
 * a test pins unchecked. Asymmetric matchers (`expect.any(String)`) work as with `toEqual`.
 */
export function expectFields(actual: unknown, expected: unknown): void {
  expect(project(actual, expected)).toEqual(expected);
}

/** `actual` cut down to the keys `shape` names, recursively through plain objects and same-length arrays. */
function project(actual: unknown, shape: unknown): unknown {
  if (Array.isArray(shape) && Array.isArray(actual) && actual.length === shape.length) return actual.map((a, i) => project(a, shape[i]));
  if (isPlainObject(shape) && isPlainObject(actual)) {
    return Object.fromEntries(Object.keys(shape).map((key) => [key, project(actual[key], shape[key])]));
  }
  return actual;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** What `promise` rejected with; fails the test when it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}
