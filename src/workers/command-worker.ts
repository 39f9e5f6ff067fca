import type { GenericSchema } from "valibot";
import type { WorkerDefinition } from "../core/types.ts";
import { defineWorker } from "../runtime/define-worker.ts";
import { type CommandWorkerOptions, type ResolvedCommandOptions, resolveCommandOptions } from "./env.ts";
import { type CommonArgs, runCommandJob } from "./spawn.ts";

/**
 * A process-running worker of `kind`: its args are checked by `schema`, `argv` turns a job's parsed args into
 * the command line, and {@link runCommandJob} does the rest (dir, env, spawn, outcome). `options` are resolved
 * once, when the worker is defined, so a bad option fails at registration rather than on the first job.
 * `argv` may throw a `WorkerError` (e.g. a missing script) to fail the attempt before anything is spawned.
 */
export function commandWorker<A extends CommonArgs, In>(
  kind: string,
  schema: GenericSchema<In, A>,
  options: CommandWorkerOptions,
  argv: (args: A, options: ResolvedCommandOptions) => readonly string[],
): WorkerDefinition<A, In> {
  const resolved = resolveCommandOptions(options);
  return defineWorker({
    kind,
    args: schema,
    work: (job) => runCommandJob(job, argv(job.args, resolved), job.args, resolved),
  });
}
