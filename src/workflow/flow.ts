import type { GenericSchema, InferInput, InferOutput } from "valibot";
import { FlywheelError, PermanentError, ValidationError } from "../core/errors.ts";
import type { Duration } from "../core/duration.ts";
import type { Job, WorkerDefinition } from "../core/types.ts";
import { defineWorker } from "../runtime/define-worker.ts";
import type { WorkflowContext } from "./context.ts";
import { defineWorkflow, type Workflow } from "./define-workflow.ts";

/** What a flow step's `work` receives: the flow's args, its dependencies' outputs, and its signal's payload. */
export interface FlowStepInput<A = unknown> {
  args: A;
  /** Output of each dependency by name; a skipped dependency is `null` and listed in `skipped`. */
  deps: Record<string, unknown>;
  skipped: string[];
  /** The payload of `fw.signal(runId, step, payload)` for a `signal: true` step; else undefined. */
  signal?: unknown;
}

/** One step of a flow. Its options (`maxAttempts`, `timeout`, `queue`, `priority`) apply to the child job it runs as. */
export interface FlowStep<A = unknown> {
  /** Steps whose end this one waits for. */
  dependsOn?: string[];
  /** Run only if this returns true (given the dependencies' outputs); otherwise the step is skipped. */
  when?: (deps: Record<string, unknown>, args: A) => boolean;
  /** Start only once `fw.signal(runId, <this step>, payload)` arrives (the first signal wins). */
  signal?: boolean;
  maxAttempts?: number;
  timeout?: Duration;
  queue?: string;
  priority?: number;
  work(input: FlowStepInput<A>, job: Job<unknown>): unknown;
}

/** A flow: a DAG of steps, each run as a child job (so steps run in parallel across nodes). */
export interface FlowDefinition<A = unknown, In = A> extends Omit<WorkerDefinition<A, In>, "work" | "classify" | "retryDelay"> {
  steps: Record<string, FlowStep<A>>;
}

/** A defined flow: the workflow that orchestrates it, plus the worker its steps run on (registered with it). */
export type Flow<A = unknown, In = A> = Workflow<A, In> & {
  readonly steps: Readonly<Record<string, Pick<FlowStep<A>, "dependsOn" | "signal">>>;
  /** The kind its steps' child jobs run as: `<kind>:step`. */
  readonly stepKind: string;
  /** Registered with the flow by `fw.register`. */
  readonly companions: readonly WorkerDefinition<any, any>[];
};

/**
 * Declares a flow (catbird-style DAG, SPEC §17), sugar over a workflow: each step whose dependencies have ended
 * runs as a child job; a step whose `when` is false is skipped (its dependants still run and see it skipped); a
 * `signal: true` step waits for `fw.signal(runId, step, payload)`; any failed step fails the flow. The flow's
 * output is the outputs by step.
 * @throws ValidationError for an unknown dependency, a cycle, or a step without `work`.
 * @example
 * const checkout = defineFlow({
 *   kind: "checkout",
 *   steps: {
 *     validate: { work: ({ args }) => ({ ok: args.total > 0 }) },
 *     charge: { dependsOn: ["validate"], when: (d) => (d.validate as { ok: boolean }).ok, signal: true, work: chargeCard },
 *     receipt: { dependsOn: ["charge"], work: ({ deps }) => ({ sent: deps.charge !== null }) },
 *   },
 * });
 */
export function defineFlow<const S extends GenericSchema>(definition: FlowDefinition<InferOutput<S>, InferInput<S>> & { args: S }): Flow<InferOutput<S>, InferInput<S>>;
export function defineFlow<A = unknown>(definition: FlowDefinition<A>): Flow<A>;
export function defineFlow(definition: FlowDefinition<any, any>): Flow<any, any> {
  const { steps, ...options } = definition;
  const order = topologicalOrder(definition.kind, steps);
  const stepKind = `${definition.kind}:step`;
  const stepWorker = defineWorker({
    kind: stepKind,
    queue: definition.queue,
    async work(job: Job<unknown>) {
      const { step, input } = job.args as { step: string; input: FlowStepInput };
      const def = steps[step];
      if (!def) throw new PermanentError(`flow ${definition.kind} has no step ${JSON.stringify(step)}`);
      return { output: (await def.work(input, job)) ?? null };
    },
  });
  const workflow = defineWorkflow({
    ...options,
    run: (ctx, args) => runFlow(ctx, definition.kind, stepKind, order, steps, args),
  });
  const shape = Object.fromEntries(order.map((name) => [name, { dependsOn: steps[name]!.dependsOn ?? [], signal: steps[name]!.signal ?? false }]));
  return Object.freeze({ ...workflow, steps: shape, stepKind, companions: [stepWorker] }) as Flow<any, any>;
}

/** Whether a registered worker is a flow. */
export function isFlow(worker: WorkerDefinition<any, any> | undefined): worker is Flow<any, any> {
  return worker !== undefined && typeof (worker as Partial<Flow>).stepKind === "string" && typeof (worker as Partial<Flow>).steps === "object";
}

/** The event a signal step waits for. */
export function signalEvent(step: string): string {
  return `signal:${step}`;
}

/** The step key under which a flow stores the child job of `step`. */
export function flowStepKey(step: string): string {
  return `step:${step}`;
}

async function runFlow(
  ctx: WorkflowContext,
  kind: string,
  stepKind: string,
  order: string[],
  steps: Record<string, FlowStep<any>>,
  args: unknown,
): Promise<{ output: Record<string, unknown> }> {
  const outputs = new Map<string, unknown>();
  const skipped = new Set<string>();
  const running = new Map<string, { id: string }>();
  const ended = (name: string) => outputs.has(name) || skipped.has(name);
  for (;;) {
    // Start every step whose dependencies have all ended, in definition order.
    for (const name of order) {
      if (ended(name) || running.has(name)) continue;
      const def = steps[name]!;
      const deps = def.dependsOn ?? [];
      if (!deps.every(ended)) continue;
      const depOutputs = Object.fromEntries(deps.map((d) => [d, outputs.get(d) ?? null]));
      // The decision is stored like a step, so a `when` that reads the world decides once.
      if (def.when && !(await ctx.step(`when:${name}`, () => Boolean(def.when!(depOutputs, args))))) {
        skipped.add(name);
        continue;
      }
      const signal = def.signal ? await ctx.waitForEvent(signalEvent(name), { key: `signal:${name}` }) : undefined;
      const input: FlowStepInput = { args, deps: depOutputs, skipped: deps.filter((d) => skipped.has(d)), ...(def.signal ? { signal } : {}) };
      const options = { maxAttempts: def.maxAttempts, timeout: def.timeout, queue: def.queue, priority: def.priority };
      running.set(name, await ctx.spawn(flowStepKey(name), stepKind, { step: name, input }, options));
    }
    if (running.size === 0) break;
    // Collect what ended; when nothing has, wait for the next child to end.
    const settled = await ctx.settled([...running.values()]);
    for (const [name, child] of running) {
      const result = settled.get(child.id);
      if (!result) continue;
      running.delete(name);
      if (!result.ok) throw new PermanentError(`flow ${kind}: step ${JSON.stringify(name)} ${result.state}: ${result.error ?? "no error recorded"}`);
      outputs.set(name, result.output);
    }
  }
  return { output: Object.fromEntries(order.map((name) => [name, outputs.get(name) ?? null])) };
}

/** The steps in an order where every step comes after its dependencies. @throws ValidationError for unknown dependencies or a cycle. */
function topologicalOrder(kind: string, steps: Record<string, FlowStep<any>>): string[] {
  const names = Object.keys(steps);
  if (names.length === 0) throw new ValidationError(`flywheel: flow ${kind} needs at least one step`, "steps");
  for (const name of names) {
    if (typeof steps[name]!.work !== "function") throw new ValidationError(`flywheel: flow ${kind}: step ${JSON.stringify(name)} needs a work function`, `steps.${name}`);
    for (const dep of steps[name]!.dependsOn ?? []) {
      if (!(dep in steps)) throw new ValidationError(`flywheel: flow ${kind}: step ${JSON.stringify(name)} depends on unknown step ${JSON.stringify(dep)}`, `steps.${name}.dependsOn`);
    }
  }
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") throw new ValidationError(`flywheel: flow ${kind} has a cycle: ${[...path, name].join(" → ")}`, "steps");
    state.set(name, "visiting");
    for (const dep of steps[name]!.dependsOn ?? []) visit(dep, [...path, name]);
    state.set(name, "done");
    order.push(name);
  };
  for (const name of names) visit(name, []);
  return order;
}

/** Checks a signal against a flow's definition: the step exists and is a signal step. @throws FlywheelError `validation`. */
export function assertSignalStep(flow: Flow<any, any>, kind: string, step: string): void {
  const def = flow.steps[step];
  if (!def) throw new ValidationError(`flywheel: flow ${kind} has no step ${JSON.stringify(step)}`, "step");
  if (!def.signal) throw new FlywheelError("invalid_state", `flywheel: step ${JSON.stringify(step)} of flow ${kind} is not a signal step`);
}
