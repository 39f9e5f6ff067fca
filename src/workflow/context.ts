import { WORKFLOW_DEFAULTS } from "../core/defaults.ts";
import { parseDuration, type Duration } from "../core/duration.ts";
import { AlreadyEnqueuedError, ChildFailedError, FlywheelError, ValidationError, toError } from "../core/errors.ts";
import type { EventRecord, InsertOptions, StepRecord, WaitReason, WorkerDefinition } from "../core/types.ts";
import type { ClaimedJob, StepWrite } from "../driver/types.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/** Options of {@link WorkflowContext.step}: in-process retries before the step counts as failed. `{}` means one try, no timeout. */
export interface StepOptions {
  maxAttempts?: number;
  /** Delay between tries: a duration, or a function of the try that failed (1, 2, …). */
  retryDelay?: Duration | ((attempt: number) => Duration);
  /** Each try's deadline; a try that passes it fails. */
  timeout?: Duration;
}

/** A child job a workflow spawned: pass it to {@link WorkflowContext.join}. */
export interface ChildHandle {
  readonly id: string;
}

/** What a suspending attempt waits for; the runner turns it into the job's `waiting` state. */
export interface Suspension {
  reason: WaitReason;
  /** The latest instant to wake (a sleep's end, a wait's deadline); null when only an event or a child wakes it. */
  wakeAt: Date | null;
  /** Event names it waits for. */
  names: string[];
}

/** Thrown by the context's waits to unwind `run`; the runner, not the workflow, handles it. */
class Suspend extends Error {
  constructor() {
    super("jobs: the workflow suspended (do not catch this)");
    this.name = "WorkflowSuspended";
  }
}

/**
 * What a workflow's `run` works through. Every method is keyed: a key names one step of the run, its result is
 * stored once it completes, and a later attempt (after a crash, a sleep, a wait) gets the stored result instead
 * of doing it again. A key may be used once per run.
 */
export class WorkflowContext {
  readonly #env: RuntimeContext;
  readonly #job: ClaimedJob;
  readonly #signal: AbortSignal;
  readonly #steps: Map<string, StepRecord>;
  readonly #events: Map<string, EventRecord>;
  readonly #visited = new Set<string>();
  #suspension: Suspension | null = null;

  /** @internal Built by the runner for one attempt, with the job's stored steps and events. */
  constructor(env: RuntimeContext, job: ClaimedJob, signal: AbortSignal, steps: StepRecord[], events: EventRecord[]) {
    this.#env = env;
    this.#job = job;
    this.#signal = signal;
    this.#steps = new Map(steps.map((s) => [s.key, s]));
    this.#events = new Map(events.map((e) => [e.name, e]));
  }

  /** The workflow run's job id. */
  get jobId(): string {
    return this.#job.id;
  }

  /** Aborted on timeout, cancel, lost lease or shutdown, as a worker's `job.signal`. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** @internal What the attempt suspended on, if it did. */
  get suspension(): Suspension | null {
    return this.#suspension;
  }

  /** @internal Stored completed steps this run never reached: renamed or removed since they ran. */
  get unreplayed(): string[] {
    return [...this.#steps.values()].filter((s) => s.status === "completed" && !this.#visited.has(s.key)).map((s) => s.key);
  }

  /**
   * Runs `fn` once for the whole workflow run: a completed step returns its stored output without running.
   * A failed step runs again on the next attempt; `options` retry it in process first.
   * @throws ValidationError when `key` was used before in this run, or the output is not JSON or over 1 MiB.
   * @example const profile = await ctx.step("load-profile", () => loadProfile(args.userId));
   */
  async step<T>(key: string, fn: () => T | Promise<T>, options: StepOptions = {}): Promise<T> {
    const stored = this.#visit(key);
    if (stored?.status === "completed") return stored.output as T;
    const maxAttempts = options.maxAttempts ?? WORKFLOW_DEFAULTS.stepMaxAttempts;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new ValidationError(`jobs: step ${JSON.stringify(key)}: maxAttempts must be a whole number ≥ 1`, key);
    const startedAt = this.#env.clock.now();
    const before = stored?.attempts ?? 0;
    for (let attempt = 1; ; attempt++) {
      let value: T;
      try {
        value = await this.#withTimeout(key, fn, options.timeout);
      } catch (error) {
        const failure = toError(error);
        if (attempt >= maxAttempts || this.#signal.aborted) {
          await this.#save({ key, status: "failed", outputJson: null, error: failure.message, attempts: before + attempt, wakeAt: null, startedAt, finishedAt: this.#env.clock.now() });
          throw failure;
        }
        await this.#pause(retryDelayMs(options.retryDelay, attempt));
        continue;
      }
      const outputJson = serialise(key, value);
      await this.#save({ key, status: "completed", outputJson, error: null, attempts: before + attempt, wakeAt: null, startedAt, finishedAt: this.#env.clock.now() });
      // What a replay returns is the stored JSON: give the first run the same, so both take the same path.
      return (outputJson === null ? null : JSON.parse(outputJson)) as T;
    }
  }

  /**
   * Pauses the workflow for `duration` without holding a runner slot or spending an attempt; the run resumes
   * (replays) once it has passed, in any process.
   * @example await ctx.sleep("cool-off", "1h");
   */
  async sleep(key: string, duration: Duration): Promise<void> {
    const stored = this.#visit(key);
    if (stored?.status === "completed") return;
    const now = this.#env.clock.now();
    const wakeAt = stored?.wakeAt ?? new Date(now.getTime() + parseDuration(duration));
    if (wakeAt.getTime() <= now.getTime()) {
      await this.#save({ key, status: "completed", outputJson: null, error: null, attempts: 1, wakeAt, startedAt: stored?.startedAt ?? now, finishedAt: now });
      return;
    }
    if (!stored) await this.#save({ key, status: "waiting", outputJson: null, error: null, attempts: 1, wakeAt, startedAt: now, finishedAt: null });
    return this.#suspend({ reason: "sleep", wakeAt, names: [] });
  }

  /**
   * The payload of event `name` (see `fw.emit`), waiting for it without holding a slot; `null` when `timeout`
   * passes first. An event emitted before the wait is consumed at once: events are latches, never lost.
   * `key` (default `event:<name>`) names the wait when one run waits for the same event twice.
   * @example const approval = await ctx.waitForEvent("approval", { timeout: "7d" });
   */
  async waitForEvent<T = unknown>(name: string, options: { timeout?: Duration; key?: string } = {}): Promise<T | null> {
    const got = await this.waitForAny([name], { timeout: options.timeout, key: options.key ?? `event:${name}` });
    return got === null ? null : (got.payload as T);
  }

  /**
   * The first of several events to arrive (by emit time, when several already have), or `null` when `timeout`
   * passes first.
   * @example const decision = await ctx.waitForAny(["approved", "rejected"], { timeout: "2d" });
   */
  async waitForAny(names: string[], options: { timeout?: Duration; key?: string } = {}): Promise<{ name: string; payload: unknown } | null> {
    if (names.length === 0) throw new ValidationError("jobs: waitForAny needs at least one event name", "names");
    const key = options.key ?? `any:${names.join(",")}`;
    const stored = this.#visit(key);
    if (stored?.status === "completed") return stored.output as { name: string; payload: unknown } | null;
    const now = this.#env.clock.now();
    const arrived = names
      .map((n) => this.#events.get(n))
      .filter((e): e is EventRecord => e !== undefined)
      .sort((a, b) => a.emittedAt.getTime() - b.emittedAt.getTime())[0];
    const deadline = stored ? stored.wakeAt : options.timeout !== undefined ? new Date(now.getTime() + parseDuration(options.timeout)) : null;
    if (arrived || (deadline !== null && deadline.getTime() <= now.getTime())) {
      const result = arrived ? { name: arrived.name, payload: arrived.payload } : null;
      await this.#save({ key, status: "completed", outputJson: JSON.stringify(result), error: null, attempts: 1, wakeAt: deadline, startedAt: stored?.startedAt ?? now, finishedAt: now });
      return result;
    }
    if (!stored) await this.#save({ key, status: "waiting", outputJson: null, error: null, attempts: 1, wakeAt: deadline, startedAt: now, finishedAt: null });
    return this.#suspend({ reason: "event", wakeAt: deadline, names });
  }

  /** A random UUID, the same on every replay of this run. */
  uuid(key: string): Promise<string> {
    return this.step(key, () => crypto.randomUUID());
  }

  /** A random number in [0, 1), the same on every replay of this run. */
  random(key: string): Promise<number> {
    return this.step(key, () => Math.random());
  }

  /** The time, read once and the same on every replay of this run. */
  async now(key: string): Promise<Date> {
    return new Date(await this.step(key, () => this.#env.clock.now().toISOString()));
  }

  /**
   * Enqueues a child job once for the whole run (its id is stored under `key`), linked to this run as its parent.
   * @example const charge = await ctx.spawn("charge", chargeWorker, { orderId });
   */
  async spawn<In>(key: string, kind: string | WorkerDefinition<any, In>, args: In, options: Omit<InsertOptions, "tx" | "parentId" | "rootId"> = {}): Promise<ChildHandle> {
    const id = await this.step(key, async () => {
      const row = this.#env.builder.build(kind, args, {
        ...options,
        parentId: this.#job.id,
        rootId: this.#job.rootJobId ?? this.#job.id,
        // A crash between the insert and storing this step must not spawn the child twice.
        uniqueKey: `spawn:${this.#job.id}:${key}`,
      }, this.#env.clock.now());
      const [outcome] = await this.#env.driver.jobInsert({ jobs: [row] });
      if (!outcome!.inserted && outcome!.key !== "unique_key") throw new AlreadyEnqueuedError(outcome!.id, outcome!.key, outcome!.value);
      this.#env.wake.wake();
      return outcome!.id;
    });
    return { id };
  }

  /**
   * Waits for a child job to end: its last run's output when it succeeded.
   * @throws ChildFailedError when it ended discarded or cancelled.
   */
  async join<T = unknown>(child: ChildHandle): Promise<T> {
    const job = await this.#env.driver.jobGet({ id: child.id });
    if (!job) throw new FlywheelError("job_not_found", `jobs: child job ${child.id} not found`);
    if (job.state === "succeeded" || job.state === "discarded" || job.state === "cancelled") {
      const runs = await this.#env.driver.runList({ jobId: child.id });
      const last = runs.at(-1);
      if (job.state === "succeeded") return (last?.output ?? null) as T;
      throw new ChildFailedError(child.id, job.state, last?.errorMessage ?? null);
    }
    return this.#suspend({ reason: "children", wakeAt: null, names: [] });
  }

  /**
   * @internal The children of `children` that have ended, by id (without suspending while at least one has);
   * suspends until one ends when none has. Flows use it to start a step as soon as its dependencies end.
   */
  async settled(children: ChildHandle[]): Promise<Map<string, { ok: true; output: unknown } | { ok: false; state: string; error: string | null }>> {
    const ended = new Map<string, { ok: true; output: unknown } | { ok: false; state: string; error: string | null }>();
    for (const child of children) {
      const job = await this.#env.driver.jobGet({ id: child.id });
      if (!job) throw new FlywheelError("job_not_found", `jobs: child job ${child.id} not found`);
      if (job.state !== "succeeded" && job.state !== "discarded" && job.state !== "cancelled") continue;
      const last = (await this.#env.driver.runList({ jobId: child.id })).at(-1);
      ended.set(child.id, job.state === "succeeded" ? { ok: true, output: last?.output ?? null } : { ok: false, state: job.state, error: last?.errorMessage ?? null });
    }
    if (ended.size === 0 && children.length > 0) return this.#suspend({ reason: "children", wakeAt: null, names: [] });
    return ended;
  }

  /** Marks `key` used in this run; returns its stored step. */
  #visit(key: string): StepRecord | undefined {
    if (typeof key !== "string" || key === "") throw new ValidationError("jobs: a workflow step needs a non-empty key", "key");
    if (this.#visited.has(key)) throw new ValidationError(`jobs: step key ${JSON.stringify(key)} used twice in one run of ${this.#job.kind}`, key);
    this.#visited.add(key);
    return this.#steps.get(key);
  }

  async #save(step: Omit<StepWrite, "runId">): Promise<void> {
    const written = await this.#env.driver.stepSave({ jobId: this.#job.id, leaseToken: this.#job.leaseToken!, step: { ...step, runId: this.#job.runId } });
    if (!written) throw new FlywheelError("invalid_state", `jobs: workflow ${this.#job.id} lost its lease; step ${JSON.stringify(step.key)} not stored`);
  }

  /** Records the wait and unwinds `run`. Several waits in one run (joins in `Promise.all`) merge into one. */
  #suspend(wait: Suspension): never {
    const s = this.#suspension;
    if (!s) this.#suspension = { ...wait, names: [...wait.names] };
    else {
      // The soonest deadline wins; an event wait keeps its names so an emit still wakes the run.
      if (wait.wakeAt && (!s.wakeAt || wait.wakeAt < s.wakeAt)) s.wakeAt = wait.wakeAt;
      for (const name of wait.names) if (!s.names.includes(name)) s.names.push(name);
      if (s.reason !== "event" && wait.reason === "event") s.reason = "event";
    }
    throw new Suspend();
  }

  async #withTimeout<T>(key: string, fn: () => T | Promise<T>, timeout: Duration | undefined): Promise<T> {
    if (timeout === undefined) return fn();
    const ms = parseDuration(timeout);
    let cancel = () => {};
    const expired = new Promise<never>((_, reject) => {
      cancel = this.#env.clock.setTimer(ms, () => reject(new Error(`jobs: step ${JSON.stringify(key)} timed out after ${ms} ms`)));
    });
    try {
      return await Promise.race([Promise.resolve().then(fn), expired]);
    } finally {
      cancel();
    }
  }

  #pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const cancel = this.#env.clock.setTimer(ms, resolve);
      this.#signal.addEventListener("abort", () => (cancel(), resolve()), { once: true });
    });
  }
}

/** Whether `error` is the context's own suspension, which a workflow must let through. */
export function isSuspend(error: unknown): boolean {
  return error instanceof Suspend;
}

/** A step's output as JSON text (undefined stores null), refused when JSON cannot hold it or it is over the limit. */
function serialise(key: string, value: unknown): string | null {
  if (value === undefined) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new ValidationError(`jobs: step ${JSON.stringify(key)} returned an output that is not JSON: ${(error as Error).message}`, key);
  }
  if (json === undefined) throw new ValidationError(`jobs: step ${JSON.stringify(key)} returned an output that is not JSON`, key);
  const bytes = Buffer.byteLength(json);
  if (bytes > WORKFLOW_DEFAULTS.maxOutputBytes) {
    throw new ValidationError(`jobs: step ${JSON.stringify(key)} output is ${bytes} bytes; the limit is ${WORKFLOW_DEFAULTS.maxOutputBytes}`, key);
  }
  return json;
}

function retryDelayMs(delay: StepOptions["retryDelay"], attempt: number): number {
  if (delay === undefined) return 0;
  return parseDuration(typeof delay === "function" ? delay(attempt) : delay);
}
