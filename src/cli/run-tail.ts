import { JobNotFoundError } from "../core/errors.ts";
import { isTerminal, type JobRecord, type RunRecord } from "../core/types.ts";
import type { Flywheel } from "../flywheel.ts";
import type { Interrupt } from "./interrupt.ts";

// `logs -f` and `schedule trigger --wait` follow runs from another process (the daemon), so they read the
// database: a few small reads per poll, only of the jobs that can still change. The CLI has no event bus to
// listen on; polling backs off while nothing happens.

/** One run of a job, as the tail reports it: when it starts (`run.outcome` is `started`) and when it has ended. */
export interface TailEntry {
  job: JobRecord;
  run: RunRecord;
  /** The schedule that fired the job, if one did. */
  slug: string | null;
}

/** What a tail follows: the jobs a schedule fires, or one job. */
export type TailSource = { slug: string } | { jobId: string };

/** Polling starts at this interval, doubles while nothing changes, and drops back when something does. */
const POLL = { minMs: 200, maxMs: 2_000 } as const;

/** How many new jobs of a schedule one poll reads at most; the next poll reads on from the newest. */
const NEW_JOBS_PER_POLL = 100;

/**
 * The runs of a schedule's jobs, or of one job, each reported once when it starts and once when it has ended.
 * Jobs are forgotten once they have ended and their runs have been reported.
 */
export class RunTail {
  readonly #fw: Flywheel;
  readonly #source: TailSource;
  /** Runs reported as ended. */
  readonly #ended = new Set<string>();
  /** Runs reported as started. */
  readonly #started = new Set<string>();
  /** Jobs that may still start or end a run, by id. */
  readonly #open = new Set<string>();
  /** The newest job of the schedule seen so far: new ones are newer. */
  #newest: string | undefined;

  constructor(fw: Flywheel, source: TailSource) {
    this.#fw = fw;
    this.#source = source;
    if ("jobId" in source) this.#open.add(source.jobId);
  }

  /** The schedule followed, else the one that fired `job` (a job followed by id may be a schedule's). */
  #slug(job: JobRecord): string | null {
    if ("slug" in this.#source) return this.#source.slug;
    return typeof job.metadata.periodic === "string" ? job.metadata.periodic : null;
  }

  /** True once the followed job has ended and every run of it has been reported (never for a schedule). */
  get done(): boolean {
    return "jobId" in this.#source && this.#open.size === 0;
  }

  /**
   * The latest `limit` runs so far (ended, and started ones still going), oldest first. Afterwards {@link poll}
   * reports only what is new.
   */
  async backlog(limit: number): Promise<TailEntry[]> {
    let jobs: JobRecord[];
    if ("slug" in this.#source) {
      jobs = await this.#fw.listPeriodicJobs(this.#source.slug, { limit });
      this.#newest = jobs[0]?.id;
      for (const job of jobs) this.#open.add(job.id);
    } else {
      jobs = [await this.#fw.findJob(this.#source.jobId)];
    }
    // Newest first from the database; the backlog reads like a log, oldest first.
    const entries = (await Promise.all(jobs.reverse().map((job) => this.#news(job)))).flat();
    return entries.slice(-limit);
  }

  /** What happened since the last read: runs that started or ended, oldest job first. */
  async poll(): Promise<TailEntry[]> {
    if ("slug" in this.#source) {
      const fresh = await this.#fw.listPeriodicJobs(this.#source.slug, { after: this.#newest, limit: NEW_JOBS_PER_POLL });
      if (fresh.length > 0) this.#newest = fresh[0]!.id;
      for (const job of fresh) this.#open.add(job.id);
    }
    const entries: TailEntry[] = [];
    // Ids are UUIDv7: sorted, they are oldest first.
    for (const id of [...this.#open].sort()) {
      // The job before its runs: a job read as ended has its last run committed with it (one transaction).
      let job: JobRecord;
      try {
        job = await this.#fw.findJob(id);
      } catch (error) {
        // Pruned meanwhile: nothing more to report of it.
        if (!(error instanceof JobNotFoundError)) throw error;
        this.#open.delete(id);
        continue;
      }
      entries.push(...(await this.#news(job)));
    }
    return entries;
  }

  /** The runs of `job` not yet reported as they are now; forgets the job when it can change no more. */
  async #news(job: JobRecord): Promise<TailEntry[]> {
    const runs = await this.#fw.listRuns(job.id);
    const entries: TailEntry[] = [];
    for (const run of runs) {
      const ended = run.outcome !== "started";
      if (ended ? this.#ended.has(run.id) : this.#started.has(run.id)) continue;
      // A run that ended between two polls is reported ended only; its start is implied.
      this.#started.add(run.id);
      if (ended) this.#ended.add(run.id);
      entries.push({ job, run, slug: this.#slug(job) });
    }
    if (isTerminal(job.state) && runs.every((r) => r.outcome !== "started")) this.#open.delete(job.id);
    return entries;
  }
}

/**
 * Polls `tail` until it is done, `stop` fires or `deadline` (epoch ms) passes, handing each entry to `report`.
 * Returns why it stopped.
 */
export async function follow(
  tail: RunTail,
  report: (entry: TailEntry) => void,
  stop: Interrupt,
  deadline = Number.POSITIVE_INFINITY,
): Promise<"done" | "stopped" | "timeout"> {
  let wait: number = POLL.minMs;
  for (;;) {
    if (tail.done) return "done";
    const left = deadline - Date.now();
    if (left <= 0) return "timeout";
    if (!(await stop.sleep(Math.min(wait, left)))) return "stopped";
    const entries = await tail.poll();
    for (const entry of entries) report(entry);
    wait = entries.length > 0 ? POLL.minMs : Math.min(wait * 2, POLL.maxMs);
  }
}
