import type { SQLQueryBindings } from "bun:sqlite";
import { rowDecoders, type ColumnCodec } from "../decode.ts";

// How values cross the bun:sqlite boundary: timestamps are integer milliseconds, JSON is text, booleans are 0/1.

/** A nullable millisecond timestamp column as a Date. */
export function toDate(ms: unknown): Date | null {
  return ms === null || ms === undefined ? null : new Date(ms as number);
}

/** A value for a JSON text column; `undefined` (no output) is stored as NULL. */
export function toJsonText(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** A statement and its bound values, built apart from running it so tests can EXPLAIN it. */
export interface Statement {
  sql: string;
  params: SQLQueryBindings[];
}

/** `?,?,…` for an `IN (…)` list of `n` bound values. */
export function placeholders(n: number): string {
  return Array(n).fill("?").join(",");
}

/** How bun:sqlite hands back column values, for decoders beyond the shared {@link decode}. */
export const columns: ColumnCodec = {
  date: toDate,
  json: (text) => (text === null || text === undefined ? null : JSON.parse(text as string)),
  int: (value) => (value as number | null | undefined) ?? null,
  bool: (value) => value === 1,
};

/** The record decoders for rows bun:sqlite hands back. */
export const decode = rowDecoders(columns);
