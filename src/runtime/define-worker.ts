import type { GenericSchema, InferInput, InferOutput } from "valibot";
import type { WorkerDefinition } from "../core/types.ts";

/**
 * Declares a worker for one kind. With an `args` valibot schema, `job.args` is typed by it, inserts are
 * validated against it, and args that fail it at run time discard the job with the reason recorded.
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
  if (!definition.kind || typeof definition.kind !== "string") throw new TypeError("flywheel: defineWorker needs a non-empty kind");
  if (typeof definition.work !== "function") throw new TypeError(`flywheel: worker ${definition.kind} needs a work function`);
  return Object.freeze({ ...definition });
}
