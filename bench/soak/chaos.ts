/**
 * What goes wrong during a soak, on purpose: every few seconds one node process is killed (mostly SIGKILL, now
 * and then a SIGTERM that lets it drain) and replaced, sometimes at once and sometimes after a pause; on
 * PostgreSQL the server itself is restarted a few times, alternately with a fast shutdown and an immediate one
 * (a crash, followed by WAL recovery). Every choice comes from a seeded generator, so a run's sequence of
 * decisions can be replayed with `--seed` (their timing still depends on the machine).
 */
import type { Fleet } from "./fleet.ts";
import type { ShutdownMode } from "./postgres-server.ts";

/** A seeded uniform generator in [0, 1) (mulberry32: small, fast, good enough to pick nodes and delays). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** What the chaos did, for the summary. */
export interface ChaosStats {
  sigkills: number;
  sigterms: number;
  dbRestarts: number;
  /** Each database restart: its mode and how long the server was away. */
  dbRestartLog: string[];
}

/** How the chaos may act. */
export interface ChaosOptions {
  random: () => number;
  fleet: Fleet;
  /** Restarts the database; absent on SQLite (there is no server to restart). */
  restartDatabase?: (mode: ShutdownMode) => Promise<void>;
  /** How many database restarts to spread over the drain. */
  dbRestarts: number;
  report: (line: string) => void;
}

/** Seconds between two node kills: uniform in this range. */
const KILL_GAP_S = [1.5, 5] as const;
/** A replacement starts at once with this probability, else after a pause uniform in REPLACE_DELAY_S. */
const REPLACE_AT_ONCE = 0.5;
const REPLACE_DELAY_S = [0.5, 4] as const;
/** Share of kills that are SIGTERM (a graceful drain and restart) rather than SIGKILL. */
const SIGTERM_SHARE = 0.15;

/**
 * Drives the chaos from the soak's monitoring loop: call {@link Chaos.step} often (every ~250 ms) with the
 * share of jobs done; it acts when its next moment has come.
 */
export class Chaos {
  readonly #o: ChaosOptions;
  #nextKillAt: number;
  /** Done-fractions at which the database is restarted, ascending; consumed as they pass. */
  readonly #restartAt: number[];
  #restartModes: ShutdownMode[];
  #restarting: Promise<void> | null = null;
  readonly stats: ChaosStats = { sigkills: 0, sigterms: 0, dbRestarts: 0, dbRestartLog: [] };

  constructor(options: ChaosOptions) {
    this.#o = options;
    const r = options.random;
    // The first kill comes early, so even a short run sees one.
    this.#nextKillAt = Date.now() + between(r, 0.5, 2) * 1_000;
    const k = options.restartDatabase ? options.dbRestarts : 0;
    // Spread evenly with some jitter, never in the first or last tenth of the drain.
    this.#restartAt = Array.from({ length: k }, (_, i) => Math.min(0.9, Math.max(0.1, (i + 1) / (k + 1) + between(r, -0.08, 0.08))));
    const first: ShutdownMode = r() < 0.5 ? "fast" : "immediate";
    this.#restartModes = Array.from({ length: k }, (_, i) => (i % 2 === 0 ? first : first === "fast" ? "immediate" : "fast"));
  }

  /** Acts if it is time: kills a node, or starts a database restart once the drain passes the next mark. */
  step(doneFraction: number): void {
    const now = Date.now();
    if (now >= this.#nextKillAt) {
      this.#killOne();
      this.#nextKillAt = now + between(this.#o.random, KILL_GAP_S[0], KILL_GAP_S[1]) * 1_000;
    }
    if (this.#restarting === null && this.#restartAt.length > 0 && doneFraction >= this.#restartAt[0]!) {
      this.#restartAt.shift();
      this.#restarting = this.#restartDatabase(this.#restartModes.shift()!).finally(() => (this.#restarting = null));
    }
  }

  /** Waits for a database restart in progress (the soak must not check anything while the server is away). */
  async settle(): Promise<void> {
    await this.#restarting;
  }

  #killOne(): void {
    const { fleet, random, report } = this.#o;
    const live = fleet.live;
    if (live.length === 0) return;
    const slot = live[Math.floor(random() * live.length)]!;
    const signal = random() < SIGTERM_SHARE ? "SIGTERM" : "SIGKILL";
    const delayMs = random() < REPLACE_AT_ONCE ? 0 : Math.round(between(random, REPLACE_DELAY_S[0], REPLACE_DELAY_S[1]) * 1_000);
    const node = fleet.signal(slot, signal, delayMs);
    if (!node) return;
    if (signal === "SIGKILL") this.stats.sigkills++;
    else this.stats.sigterms++;
    report(`chaos: ${signal} ${node.id} (pid ${node.proc.pid}); replacement ${delayMs === 0 ? "now" : `in ${(delayMs / 1000).toFixed(1)} s`}`);
  }

  async #restartDatabase(mode: ShutdownMode): Promise<void> {
    const { restartDatabase, report } = this.#o;
    if (!restartDatabase) return;
    report(`chaos: restarting PostgreSQL (-m ${mode})`);
    const started = performance.now();
    try {
      await restartDatabase(mode);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      this.stats.dbRestarts++;
      this.stats.dbRestartLog.push(`-m ${mode}: back after ${seconds} s`);
      report(`chaos: PostgreSQL back after ${seconds} s`);
    } catch (error) {
      this.stats.dbRestartLog.push(`-m ${mode}: FAILED: ${(error as Error).message}`);
      report(`chaos: PostgreSQL restart failed: ${(error as Error).message}`);
    }
  }
}

function between(random: () => number, low: number, high: number): number {
  return low + random() * (high - low);
}
