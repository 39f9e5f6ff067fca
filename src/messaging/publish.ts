import type { BindingRecord, InsertOptions } from "../core/types.ts";
import type { JobInsertRow } from "../driver/types.ts";
import type { JobBuilder } from "../runtime/job-builder.ts";
import { topicMatches } from "./topics.ts";

/** What {@link publishRows} takes from `publish`'s options. */
export interface PublishOptions {
  /** Makes the publish idempotent: a binding whose job for this key exists gets no second one. */
  uniqueKey?: string;
  delay?: InsertOptions["delay"];
  actor?: string;
}

/**
 * The jobs a publish of `topic` writes: one per binding whose pattern matches (the candidates came from the
 * prefix index; the wildcards are matched here). Each job's args are `{ topic, payload }` unless its binding gives
 * `args`; a `uniqueKey` becomes one key per binding, so publishing twice is a no-op while every binding still gets
 * its job once.
 */
export function publishRows(builder: JobBuilder, topic: string, payload: unknown, candidates: BindingRecord[], options: PublishOptions, now: Date): JobInsertRow[] {
  return candidates
    .filter((b) => topicMatches(b.pattern, topic))
    .map((b) => {
      const row = builder.build(
        b.kind,
        b.args ?? { topic, payload: payload ?? null },
        {
          queue: b.queue ?? undefined,
          delay: options.delay,
          uniqueKey: options.uniqueKey === undefined ? undefined : `topic:${options.uniqueKey}@${b.pattern}>${b.kind}`,
          actor: options.actor ?? "publish",
        },
        now,
      );
      row.metadata = { ...row.metadata, topic, binding: b.pattern };
      return row;
    });
}
