import { hostname } from "node:os";
import { ALERT_DEFAULTS, COMMAND_WORKER_DEFAULTS } from "../core/defaults.ts";
import { PeriodicNotFoundError } from "../core/errors.ts";
import { sleep } from "../core/retry-ladder.ts";
import { isTerminal, type PeriodicRecord } from "../core/types.ts";
import type { Flywheel, InsertManyItem } from "../flywheel.ts";
import type { FlywheelEvents } from "../runtime/events.ts";
import { AlertQueue } from "./alert-queue.ts";
import { alertJobs, firesOn, pingJob } from "./deliveries.ts";
import { findMissedFires, lateStart, type MissedFire } from "./missed.ts";
import { type AlertFacts, alertPayload, type AlertPayload } from "./payload.ts";
import type { AlertPolicy } from "./policy.ts";
import type { AlertEvent, ScheduleAlerts } from "./types.ts";

/** Options of an {@link AlertWatcher}. Besides `policy`, `{}` means: this host's name, no links, the default kill grace. */
export interface AlertWatcherOptions {
  /** Which alerts and pings each periodic has. */
  policy: AlertPolicy;
  /** The node's HTTP server while it serves (for the links in alerts); null when it does not. */
  baseUrl?: () => URL | null;
  /** Named as the host in alerts; default the OS host name. */
  host?: string;
  /** The command workers' SIGTERM → SIGKILL grace, for command alerts' deadlines. */
  killGraceMs?: number;
}

/** Jobs remembered per kind of bookkeeping (start pings, runs being recorded); beyond this the oldest are forgotten. */
const KEPT = 1_000;

/**
 * Raises a node's alerts and pings (SPEC §20) as durable jobs on queue `alerts`:
 * - **failure**: a schedule's job ended without success (its final state, not a retried attempt);
 * - **recovery**: the first success after failures;
 * - **skipped**: fires dropped by overlap or catch-up, once per reason for the run they follow;
 * - **missed**: a fire not started within grace of its time ({@link checkMissed}, and at each late start);
 * - **ping**: `URL/start` when a schedule's job first starts, `URL` or `URL/fail` when it ends.
 * Events are this node's own (the jobs it ran, the fires it made); missed fires are found in the database, by
 * every node that looks. Deliveries run on whichever node serves the `alerts` queue.
 * @example
 * const watcher = new AlertWatcher(fw, { policy });
 * watcher.start();
 * await watcher.checkMissed();
 * await Promise.all([node.run(signal), watcher.watchMissed(signal)]);
 * await watcher.stop();
 */
export class AlertWatcher {
  readonly #fw: Flywheel<any>;
  readonly #policy: AlertPolicy;
  readonly #baseUrl: () => URL | null;
  readonly #host: string;
  readonly #killGraceMs: number;
  readonly #queue: AlertQueue;
  /** Each schedule job's start ping (its job id), until its end ping takes it. */
  readonly #starts = new Map<string, Promise<string | null>>();
  /**
   * Schedule jobs this node ended whose schedule state is still being recorded: `schedule:finished` follows
   * `job:finished` asynchronously, and {@link stop} waits for it so a job ended during the drain still alerts.
   */
  readonly #recording = new Set<string>();
  #recorded: (() => void) | null = null;
  #unsubscribe: Array<() => void> = [];

  constructor(fw: Flywheel<any>, options: AlertWatcherOptions) {
    this.#fw = fw;
    this.#queue = new AlertQueue(fw);
    this.#policy = options.policy;
    this.#baseUrl = options.baseUrl ?? (() => null);
    this.#host = options.host ?? hostname();
    this.#killGraceMs = options.killGraceMs ?? COMMAND_WORKER_DEFAULTS.killGraceMs;
  }

  /** Listens to this client's events; call before the node runs so no job or fire goes unheard. */
  start(): void {
    if (this.#unsubscribe.length > 0) return;
    const events = this.#fw.events;
    this.#unsubscribe = [
      events.on("job:started", (e) => this.#started(e)),
      events.on("job:finished", (e) => {
        if (!e.job.periodic || !e.applied || e.state === null || !isTerminal(e.state) || !this.#policy.mayAlert(e.job.periodic)) return;
        this.#recording.add(e.job.id);
        // A schedule deleted meanwhile never reports its run; keep the set from growing on such jobs.
        if (this.#recording.size > KEPT) this.#recording.delete(this.#recording.values().next().value!);
      }),
      events.on("schedule:finished", (e) => this.#finished(e)),
      events.on("periodic:fired", (e) => this.#fired(e)),
    ];
  }

  /**
   * Waits (at most {@link ALERT_DEFAULTS.stopWaitMs}) for the schedule state of jobs that already ended, stops
   * listening, and waits until every alert already raised is enqueued (or has failed and been logged). Call it
   * after the node has stopped and before the client closes.
   */
  async stop(): Promise<void> {
    if (this.#recording.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ALERT_DEFAULTS.stopWaitMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#recorded = done;
      });
      this.#recorded = null;
    }
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    await this.#queue.drain();
  }

  /**
   * How often {@link watchMissed} looks: half the shortest grace, within 1 s … 30 s, so a fire is reported soon
   * after its grace ends.
   */
  get missedCheckMs(): number {
    const grace = this.#policy.shortestGraceMs() ?? ALERT_DEFAULTS.missedCheckMs;
    return Math.min(ALERT_DEFAULTS.missedCheckMs, Math.max(ALERT_DEFAULTS.missedCheckMinMs, Math.floor(grace / 2)));
  }

  /**
   * Looks for missed fires once and raises an alert for each not alerted before; returns how many alert jobs
   * it enqueued. Safe on any number of nodes at once: each missed fire's alert is unique per fire and alert.
   */
  async checkMissed(): Promise<number> {
    if (!this.#policy.watches("missed")) return 0;
    const now = this.#fw.clock.now();
    const items: InsertManyItem[] = [];
    for (const { missed, alerts } of await findMissedFires(this.#fw, this.#policy, now)) items.push(...this.#missedJobs(missed, alerts, now));
    return (await this.#queue.enqueue(items, "missed")).added;
  }

  /** Runs {@link checkMissed} every {@link missedCheckMs} until `signal` aborts; a failed pass is logged, never fatal. */
  async watchMissed(signal: AbortSignal): Promise<void> {
    if (!this.#policy.watches("missed")) return;
    while (!signal.aborted) {
      await sleep(this.missedCheckMs, signal);
      if (signal.aborted) return;
      await this.checkMissed().catch((error) => this.#queue.failed("missed", null, error));
    }
  }

  #started(e: FlywheelEvents["job:started"]): void {
    const slug = e.job.periodic;
    // Only a job's first attempt starts its run; a retry is the same run going on.
    if (!slug || e.job.attempt !== 1 || !this.#policy.mayAlert(slug)) return;
    if (!this.#policy.mayPing(slug) && !this.#policy.watches("missed")) return;
    const startedAt = this.#fw.clock.now();
    const jobId = e.job.id;
    // Kept before any await, so the end ping finds it however fast the job ends.
    const ping = this.#queue.track("ping", slug, async () => {
      const found = await this.#alertsOf(slug);
      if (!found) return null;
      let pingId: string | null = null;
      if (found.alerts.ping) {
        const { ids } = await this.#queue.enqueue([pingJob({ schedule: slug, base: found.alerts.ping, phase: "start", jobId })], "ping");
        pingId = ids[0] ?? null;
      }
      if (found.alerts.rules.some((r) => firesOn(r, "missed"))) {
        const job = await this.#fw.findJob(jobId);
        const missed = lateStart(job, found.alerts.graceMs, startedAt, startedAt);
        if (missed) await this.#queue.enqueue(this.#missedJobs(missed, found.alerts, startedAt), "missed");
      }
      return pingId;
    });
    this.#starts.set(jobId, ping);
    // A forgotten start ping leaves its end ping unordered, nothing worse.
    if (this.#starts.size > KEPT) this.#starts.delete(this.#starts.keys().next().value!);
  }

  #finished(e: FlywheelEvents["schedule:finished"]): void {
    if (this.#recording.delete(e.jobId) && this.#recording.size === 0) this.#recorded?.();
    if (!this.#policy.mayAlert(e.slug)) return;
    const start = this.#starts.get(e.jobId);
    this.#starts.delete(e.jobId);
    const event: AlertEvent | null = !e.succeeded ? "failure" : e.failuresBefore > 0 ? "recovery" : null;
    if (event === null && start === undefined && !this.#policy.mayPing(e.slug)) return;
    void this.#queue.track(event ?? "ping", e.slug, async () => {
      const found = await this.#alertsOf(e.slug);
      if (!found) return;
      const rules = event ? found.alerts.rules.filter((r) => firesOn(r, event)) : [];
      const ping = found.alerts.ping;
      const payload = rules.length > 0 || (ping && !e.succeeded) ? await this.#runPayload(e, event ?? "failure") : null;
      const items = payload && event ? alertJobs(payload, rules, e.jobId, this.#killGraceMs) : [];
      if (ping) {
        const after = (await start) ?? undefined;
        const phase = e.succeeded ? "success" : "fail";
        items.push(pingJob({ schedule: e.slug, base: ping, phase, jobId: e.jobId, body: e.succeeded ? undefined : payload?.text, after }));
      }
      await this.#queue.enqueue(items, event ?? "ping");
    });
  }

  #fired(e: FlywheelEvents["periodic:fired"]): void {
    if (e.skipped === 0 || !this.#policy.mayAlert(e.slug) || !this.#policy.watches("skipped")) return;
    void this.#queue.track("skipped", e.slug, async () => {
      const found = await this.#alertsOf(e.slug);
      const rules = found?.alerts.rules.filter((r) => firesOn(r, "skipped")) ?? [];
      if (!found || rules.length === 0) return;
      const payload = this.#payload({ event: "skipped", schedule: e.slug, skipped: e.skipped, reason: e.reason });
      // Once per reason for the run the skips follow: a long run overlapped by many fires alerts once.
      const occurrence = `${e.reason ?? "unknown"}@${found.periodic.lastEnqueuedAt?.getTime() ?? 0}`;
      await this.#queue.enqueue(alertJobs(payload, rules, occurrence, this.#killGraceMs), "skipped");
    });
  }

  /** A failure's or recovery's payload, with the last attempt's error and output tails for a failure. */
  async #runPayload(e: FlywheelEvents["schedule:finished"], event: AlertEvent): Promise<AlertPayload> {
    const facts: AlertFacts = { event, schedule: e.slug, jobId: e.jobId, state: e.state, exitCode: e.exitCode, durationMs: e.durationMs };
    if (event === "recovery") return this.#payload({ ...facts, consecutiveFailures: e.failuresBefore });
    const last = (await this.#fw.listRuns(e.jobId)).at(-1);
    const output = (last?.output ?? null) as { stderr?: unknown; stdout?: unknown } | null;
    return this.#payload({
      ...facts,
      attempts: last?.attempt ?? null,
      error: last?.errorMessage ?? null,
      stderr: typeof output?.stderr === "string" ? output.stderr : null,
      stdout: typeof output?.stdout === "string" ? output.stdout : null,
      consecutiveFailures: e.failuresAfter,
    });
  }

  #missedJobs(missed: MissedFire, alerts: ScheduleAlerts, now: Date): InsertManyItem[] {
    const payload = this.#payload(
      {
        event: "missed",
        schedule: missed.slug,
        jobId: missed.job?.id ?? null,
        state: missed.job ? (missed.startedAt ? "running" : missed.job.state) : null,
        reason: missed.reason,
        fireAt: missed.fireAt,
        startedAt: missed.startedAt,
        graceMs: alerts.graceMs,
        error: missed.error,
      },
      now,
    );
    return alertJobs(payload, alerts.rules, String(Math.floor(missed.fireAt.getTime() / 1000)), this.#killGraceMs);
  }

  #payload(facts: AlertFacts, now: Date = this.#fw.clock.now()): AlertPayload {
    return alertPayload(facts, { now, host: this.#host, baseUrl: this.#baseUrl() });
  }

  /** The periodic and its alerts; null when it is gone or has none. */
  async #alertsOf(slug: string): Promise<{ periodic: PeriodicRecord; alerts: ScheduleAlerts } | null> {
    try {
      const periodic = await this.#fw.findPeriodic(slug);
      const alerts = this.#policy.for(periodic);
      return alerts ? { periodic, alerts } : null;
    } catch (error) {
      if (error instanceof PeriodicNotFoundError) return null;
      throw error;
    }
  }
}
