import { JOB_DEFAULTS } from "../../core/defaults.ts";
import type { CommandKind } from "../../workers/index.ts";
import type { RawConfig } from "./schema.ts";
import type { BindingConfig, QueueConfig } from "./types.ts";
import { type IssueSink, resolveWorkerArgs } from "./worker-args.ts";

// `bindings:` and `queues:` (SPEC §18) → their resolved shapes, with the checks that span keys: a pattern bound
// twice to one worker, a binding whose jobs no runner of this daemon would ever claim.

/**
 * Resolves `bindings:`. A binding is keyed by pattern and worker kind (as `fw.bind` stores it), so a pattern may be
 * bound to one `shell`, one `exec`… but not twice to the same worker. `served` is the daemon's `runtime.queues`.
 */
export function resolveBindings(raw: RawConfig["bindings"], served: readonly string[], baseDir: string, at: IssueSink): BindingConfig[] {
  const seen = new Map<string, number>();
  return (raw ?? []).map((b: Record<string, any>, i: number) => {
    const base: (string | number)[] = ["bindings", i];
    const kind = b.worker as CommandKind;
    const key = `${b.pattern}\0${kind}`;
    if (seen.has(key)) at([...base, "pattern"], `${JSON.stringify(b.pattern)} is already bound to worker ${kind} (bindings[${seen.get(key)}]); give one entry per pattern and worker`);
    seen.set(key, i);
    const queue: string = b.queue ?? JOB_DEFAULTS.queue;
    if (!served.includes(queue)) {
      at(b.queue === undefined ? base : [...base, "queue"], `its jobs go to queue ${JSON.stringify(queue)}, which this daemon does not serve (runtime.queues: ${served.join(", ")})`);
    }
    const args = resolveWorkerArgs(kind, b[kind] as Record<string, unknown>, base, baseDir, at);
    return { pattern: b.pattern, kind, args, ...(b.queue !== undefined ? { queue: b.queue } : {}) };
  });
}

/** Resolves `queues:` into a list, by name as written. */
export function resolveQueues(raw: RawConfig["queues"]): QueueConfig[] {
  return Object.entries(raw ?? {}).map(([name, q]) => ({ name, paused: q.paused ?? false }));
}
