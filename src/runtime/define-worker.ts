import type { GenericSchema, InferInput, InferOutput } from "valibot";
import { parseDuration } from "../core/duration.ts";
import { ValidationError } from "../core/errors.ts";
import type { WorkerDefinition } from "../core/types.ts";

/**
 * Declares a worker for one kind. With an `args` valibot schema, `job.args` is typed by it, inserts are
 * validated against it, and args that fail it at run time discard the job with the reason recorded. Every
 * option is checked here, when the worker is defined, so a bad one fails at startup, never inside an attempt.
 * @throws ValidationError naming the option.
 * @example
 * const summarize = defineWorker({
 *   kind: "summarize_doc",
 *   args: v.object({ docId: v.string() }),
 *   timeout: "30s",
 *   async work(job) { return { output: await summarizeDoc(job.args.docId) }; },
 * });
 */
export function defineWorker<const S extends GenericSchema>(
  definition: WorkerDefinition<InferOutput<S>, InferInput<S>> & { args: S },
): WorkerDefinition<InferOutput<S>, InferInput<S>>;
export function defineWorker<A = unknown>(definition: WorkerDefinition<A>): WorkerDefinition<A>;
export function defineWorker(definition: WorkerDefinition<any, any>): WorkerDefinition<any, any> {
  validateWorker(definition);
  return Object.freeze({ ...definition });
}

/**
 * Checks a worker definition's options: a kind, a work function, a valibot schema for args, a queue name,
 * whole numbers in range for priority and maxAttempts, a usable timeout, functions for the hooks.
 * @throws ValidationError naming the first bad option.
 */
export function validateWorker(w: WorkerDefinition<any, any>): void {
  const kind = typeof w?.kind === "string" ? w.kind : "";
  const bad = (key: string, expected: string, got: unknown) =>
    new ValidationError(`flywheel: worker ${kind ? `${JSON.stringify(kind)} ` : ""}${key}: expected ${expected}, got ${describe(got)}`, key);
  if (!kind || kind.includes("\u0000")) throw bad("kind", "a non-empty string without NUL", w?.kind);
  if (typeof w.work !== "function") throw bad("work", "a function", w.work);
  if (w.args !== undefined && (typeof w.args !== "object" || w.args === null || !("~run" in w.args))) throw bad("args", "a valibot schema", w.args);
  if (w.queue !== undefined && (typeof w.queue !== "string" || w.queue === "" || w.queue.includes("\u0000"))) throw bad("queue", "a queue name", w.queue);
  if (w.priority !== undefined && !isInt32(w.priority)) throw bad("priority", "a whole number", w.priority);
  if (w.maxAttempts !== undefined && (!isInt32(w.maxAttempts) || w.maxAttempts < 1)) throw bad("maxAttempts", "a whole number ≥ 1", w.maxAttempts);
  if (w.timeout !== undefined && !isPositiveDuration(w.timeout)) throw bad("timeout", 'a duration longer than 0 such as "30s"', w.timeout);
  if (w.breaker !== undefined) {
    const b = w.breaker as { failures?: unknown; openFor?: unknown } | null;
    if (typeof b !== "object" || b === null) throw bad("breaker", '{ failures, openFor } such as { failures: 5, openFor: "30s" }', b);
    if (!isInt32(b.failures) || b.failures < 1) throw bad("breaker.failures", "a whole number ≥ 1", b.failures);
    if (!isPositiveDuration(b.openFor)) throw bad("breaker.openFor", 'a duration longer than 0 such as "30s"', b.openFor);
  }
  for (const hook of ["classify", "retryDelay"] as const) {
    if (w[hook] !== undefined && typeof w[hook] !== "function") throw bad(hook, "a function", w[hook]);
  }
}

function isInt32(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31;
}

function isPositiveDuration(value: unknown): boolean {
  try {
    return parseDuration(value as never) > 0;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
