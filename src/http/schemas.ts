import * as v from "valibot";
import { JOB_STATES, type InsertOptions } from "../core/types.ts";
import type { PeriodicSpec } from "../periodic/spec.ts";
import { HTTP_API_DEFAULTS } from "../core/defaults.ts";

// The shapes of what clients send, as valibot schemas: strict objects, so a misspelt key is a 422 naming it
// rather than an option silently ignored. JSON keys are snake_case, like every response. Checks the library
// makes itself (durations, cron, timezone, args against a worker's schema) are left to it, so the API and the
// library refuse the same things with the same words.

const name = v.pipe(v.string("expected a string"), v.minLength(1, "expected a non-empty string"), v.maxLength(200, "expected at most 200 characters"));
const int = v.pipe(v.number("expected a whole number"), v.integer("expected a whole number"));
const positiveInt = v.pipe(int, v.minValue(1, "expected at least 1"));
const duration = v.union([v.string(), v.number()], 'expected a duration: milliseconds, or a string with a unit such as "30s"');
const isoDate = v.pipe(
  v.string("expected an ISO-8601 time"),
  v.isoTimestamp("expected an ISO-8601 time with a timezone, e.g. 2026-03-08T06:00:00Z"),
  v.transform((s) => new Date(s)),
);

/** A schedule's slug, as the config accepts it; it is also a path segment of the API. */
export const SLUG = v.pipe(name, v.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "expected letters, digits and . _ : - (e.g. nightly-backup)"));

/** `GET /api/v1/jobs` query parameters. */
export const JOB_LIST_QUERY = v.strictObject({
  state: v.optional(v.picklist(JOB_STATES, `expected one of ${JOB_STATES.join(", ")}`)),
  kind: v.optional(name),
  queue: v.optional(name),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, "expected a whole number"),
      v.transform(Number),
      v.minValue(1, "expected at least 1"),
      v.maxValue(HTTP_API_DEFAULTS.maxListLimit, `expected at most ${HTTP_API_DEFAULTS.maxListLimit}`),
    ),
  ),
  before: v.optional(name),
});

/** `POST /api/v1/jobs`: a kind, its args, and insert options. */
export const JOB_INSERT = v.pipe(
  v.strictObject({
    kind: name,
    args: v.optional(v.unknown()),
    options: v.optional(
      v.strictObject({
        queue: v.optional(name),
        priority: v.optional(int),
        schedule_at: v.optional(isoDate),
        delay: v.optional(duration),
        max_attempts: v.optional(positiveInt),
        timeout: v.optional(duration),
        unique_key: v.optional(name),
        unique_active_key: v.optional(name),
        executor_class: v.optional(v.string("expected a string")),
        parent_id: v.optional(name),
        tags: v.optional(v.array(name, "expected a list of strings")),
        request_id: v.optional(name),
      }),
    ),
  }),
  v.transform(({ kind, args, options: o = {} }) => {
    const options: InsertOptions<never> = {
      queue: o.queue,
      priority: o.priority,
      scheduleAt: o.schedule_at,
      delay: o.delay,
      maxAttempts: o.max_attempts,
      timeout: o.timeout,
      uniqueKey: o.unique_key,
      uniqueActiveKey: o.unique_active_key,
      executorClass: o.executor_class,
      parentId: o.parent_id,
      tags: o.tags,
      requestId: o.request_id,
    };
    return { kind, args: args ?? {}, options: withoutUndefined(options) };
  }),
);

/** `POST /api/v1/schedules`: a periodic to create or update; it is stored with source `api`. */
export const SCHEDULE_UPSERT = v.pipe(
  v.strictObject({
    slug: SLUG,
    kind: name,
    cron: v.optional(name),
    every: v.optional(duration),
    timezone: v.optional(name),
    queue: v.optional(name),
    args: v.optional(v.unknown()),
    overlap: v.optional(v.picklist(["skip", "allow"], "expected skip or allow")),
    catch_up: v.optional(v.picklist(["all", "latest", "none"], "expected all, latest or none")),
    backfill: v.optional(positiveInt),
    max_attempts: v.optional(positiveInt),
    priority: v.optional(int),
    timeout: v.optional(duration),
    active: v.optional(v.boolean("expected true or false")),
  }),
  v.transform((s): PeriodicSpec => {
    const { catch_up, max_attempts, ...rest } = s;
    return withoutUndefined({ ...rest, catchUp: catch_up, maxAttempts: max_attempts, source: "api" });
  }),
);

/** `POST /api/v1/jobs/:id/cancel`: an optional body. */
export const JOB_CANCEL = v.optional(v.strictObject({ cascade: v.optional(v.boolean("expected true or false")) }), {});

/** The object without its `undefined` members, so the library's own defaults apply to them. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, x]) => x !== undefined)) as T;
}

/** `POST /api/v1/topics/:topic`: the payload (any JSON) and an optional idempotency key. */
export const TOPIC_PUBLISH = v.optional(
  v.strictObject({
    payload: v.optional(v.unknown()),
    unique_key: v.optional(v.pipe(v.string("expected a string"), v.minLength(1, "expected a non-empty key"), v.maxLength(500, "expected at most 500 characters"))),
  }),
  {},
);
