import { getDotPath, safeParse } from "valibot";
import { JOB_DEFAULTS } from "../core/defaults.ts";
import { parseDuration } from "../core/duration.ts";
import { ValidationError } from "../core/errors.ts";
import { newId } from "../core/id.ts";
import type { InsertOptions, WorkerDefinition } from "../core/types.ts";
import type { JobInsertRow } from "../driver/types.ts";
import type { WorkerRegistry } from "./registry.ts";

/** Both dialects store these as 32-bit integers. */
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Turns `(kind, args, options)` into a validated `jobs` row with every default applied (options, then the
 * worker's, then {@link JOB_DEFAULTS}) and the args serialised once. Insert, follow-ups and periodic fires all
 * build their rows here, so a job is refused for the same reasons whichever way it arrives, and nothing is
 * stored for a refused one.
 */
export class JobBuilder {
  readonly #registry: WorkerRegistry;

  constructor(registry: WorkerRegistry) {
    this.#registry = registry;
  }

  /**
   * A row for one job at `now`.
   * @throws ValidationError naming what is wrong: args failing the worker's schema (with the field), args that
   * are not JSON, an option out of range (maxAttempts < 1, numbers outside 32 bits, an invalid Date), a name
   * holding a NUL character.
   */
  build(kind: string | WorkerDefinition<any, any>, args: unknown, options: InsertOptions<unknown>, now: Date): JobInsertRow {
    const worker = typeof kind === "string" ? this.#registry.get(kind) : kind;
    const kindName = typeof kind === "string" ? kind : kind.kind;
    assertName(kindName, "kind", { required: true });
    if (worker) validateArgs(worker, args, "flywheel");
    // The args as given are stored, not the schema's output: a runner parses them again at run time.
    const argsJson = serializeArgs(kindName, args ?? {});
    const o = options;
    assertName(o.queue, "queue");
    assertName(o.uniqueKey, "uniqueKey");
    assertName(o.uniqueActiveKey, "uniqueActiveKey");
    assertName(o.executorClass, "executorClass");
    assertName(o.parentId, "parentId");
    assertName(o.rootId, "rootId");
    assertName(o.requestId, "requestId");
    assertName(o.actor, "actor");
    if (o.tags !== undefined) {
      if (!Array.isArray(o.tags)) throw new ValidationError(`flywheel: tags must be an array of strings`, "tags");
      o.tags.forEach((tag, i) => assertName(tag, `tags[${i}]`, { required: true }));
    }
    const priority = int32(o.priority ?? worker?.priority ?? JOB_DEFAULTS.priority, "priority");
    const maxAttempts = int32(o.maxAttempts ?? worker?.maxAttempts ?? JOB_DEFAULTS.maxAttempts, "maxAttempts");
    if (maxAttempts < 1) throw new ValidationError(`flywheel: maxAttempts must be at least 1, got ${maxAttempts}`, "maxAttempts");
    const scheduledAt = scheduleOf(o, now);
    const timeout = o.timeout ?? worker?.timeout;
    const timeoutMs = timeout === undefined ? null : positiveDuration(timeout, "timeout");
    return {
      id: newId(),
      kind: kindName,
      queue: o.queue ?? worker?.queue ?? JOB_DEFAULTS.queue,
      argsJson,
      priority,
      state: scheduledAt.getTime() > now.getTime() ? "scheduled" : "available",
      maxAttempts,
      timeoutMs,
      scheduledAt,
      uniqueKey: o.uniqueKey ?? null,
      uniqueActiveKey: o.uniqueActiveKey ?? null,
      parentJobId: o.parentId ?? null,
      rootJobId: o.rootId ?? null,
      executorClass: o.executorClass ?? JOB_DEFAULTS.executorClass,
      tags: o.tags ?? [],
      metadata: metadataOf(o),
      createdAt: now,
    };
  }
}

/** What a job row's metadata starts with: the request id and who enqueued it, when given. */
function metadataOf(o: InsertOptions<unknown>): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  if (o.requestId) metadata.request_id = o.requestId;
  if (o.actor) metadata.enqueued_by = o.actor;
  return metadata;
}

/**
 * Args parsed by the worker's valibot schema (its output, with transforms applied), or the args as given when
 * it has none. `prefix` starts the message: `flywheel` at insert, `jobs` when a runner re-validates.
 * @throws ValidationError naming the failing field.
 */
export function validateArgs(worker: WorkerDefinition<any, any>, args: unknown, prefix: "flywheel" | "jobs"): unknown {
  if (!worker.args) return args ?? {};
  const parsed = safeParse(worker.args, args);
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  const path = getDotPath(issue) ?? "args";
  throw new ValidationError(`${prefix}: invalid args for ${worker.kind} at ${path}: ${issue.message}`, path);
}

/** Args as JSON text, once per job: the enqueue path validates and stores the same string. */
function serializeArgs(kind: string, args: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(args);
  } catch (error) {
    throw new ValidationError(`flywheel: args for ${kind} are not JSON-serialisable: ${(error as Error).message}`, "args");
  }
  if (json === undefined) throw new ValidationError(`flywheel: args for ${kind} are not JSON-serialisable: ${typeof args}`, "args");
  return json;
}

/** When the job becomes claimable: `scheduleAt`, else now + `delay`, else now. */
function scheduleOf(o: InsertOptions<unknown>, now: Date): Date {
  if (o.scheduleAt !== undefined) {
    if (!(o.scheduleAt instanceof Date) || Number.isNaN(o.scheduleAt.getTime())) {
      throw new ValidationError(`flywheel: scheduleAt must be a valid Date, got ${String(o.scheduleAt)}`, "scheduleAt");
    }
    return o.scheduleAt;
  }
  if (o.delay === undefined) return now;
  return new Date(now.getTime() + duration(o.delay, "delay"));
}

function duration(value: unknown, key: string): number {
  try {
    return parseDuration(value as never);
  } catch (error) {
    throw new ValidationError(`flywheel: ${key}: ${(error as Error).message.replace(/^flywheel: /, "")}`, key);
  }
}

function positiveDuration(value: unknown, key: string): number {
  const ms = duration(value, key);
  if (ms <= 0) throw new ValidationError(`flywheel: ${key} must be longer than 0, got ${JSON.stringify(value)}`, key);
  return ms;
}

function int32(value: unknown, key: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new ValidationError(`flywheel: ${key} must be a whole number between ${INT32_MIN} and ${INT32_MAX}, got ${String(value)}`, key);
  }
  return value;
}

/**
 * Names (kinds, queues, keys, tags) are strings without NUL, which neither database stores faithfully.
 * @throws ValidationError naming `key`.
 */
export function assertName(value: unknown, key: string, options: { required?: boolean } = {}): void {
  if (value === undefined && !options.required) return;
  if (typeof value !== "string" || (options.required && value === "")) {
    throw new ValidationError(`flywheel: ${key} must be a non-empty string, got ${JSON.stringify(value) ?? String(value)}`, key);
  }
  if (value.includes("\u0000")) throw new ValidationError(`flywheel: ${key} must not contain a NUL character`, key);
}
