import type { BreakerGate, LimitScope, LimitUsage } from "./types.ts";

/** A claim candidate as the limits see it: its id, kind and queue. */
export interface LimitCandidate {
  id: string;
  kind: string;
  queue: string;
}

/** The kinds and queues a limited claim leaves out of its walk: their budget is spent. */
export interface LimitExclusions {
  kinds: string[];
  queues: string[];
}

/** A start to log for a rate-limited kind or queue. */
export interface LimitStart {
  scope: LimitScope;
  name: string;
}

const key = (scope: LimitScope, name: string) => `${scope}\u0000${name}`;

/** The probe a claim took for a half-open breaker's kind. */
export interface BreakerProbe {
  kind: string;
  jobId: string;
}

/**
 * The decisions of a claim under limits and breakers, written once for both dialects (the SQL only reads usage
 * and breakers, walks candidates and claims ids). The claim holds the limits' lock while it runs, so what it was
 * built from stays true: each candidate taken spends one unit of its kind's and its queue's budget. An open
 * breaker's kind has no budget; a half-open one without a running probe has one (its probe), at `now`.
 *
 * The driver's loop: walk up to the free slots' worth of candidates, leaving out {@link exclusions}; claim what
 * {@link take} keeps; stop when {@link more} says so. A candidate skipped here spent a budget to zero, so every
 * further walk excludes one more kind or queue: the loop ends after at most one walk per limit, plus one.
 */
export class LimitedClaimPlan {
  readonly #budget = new Map<string, number>();
  readonly #rated = new Set<string>();
  readonly #probing = new Set<string>();
  #skipped = false;

  constructor(usage: LimitUsage[], breakers: BreakerGate[] = [], now?: Date) {
    for (const u of usage) {
      let left = Number.POSITIVE_INFINITY;
      if (u.concurrency !== null) left = Math.min(left, u.concurrency - u.running);
      if (u.rateCount !== null) {
        left = Math.min(left, u.rateCount - u.started);
        this.#rated.add(key(u.scope, u.name));
      }
      this.#budget.set(key(u.scope, u.name), Math.max(0, left));
    }
    for (const b of breakers) {
      const k = key("kind", b.kind);
      const halfOpen = now !== undefined && b.openUntil.getTime() <= now.getTime();
      const allowed = halfOpen && !b.probing ? 1 : 0;
      if (allowed === 1) this.#probing.add(b.kind);
      this.#budget.set(k, Math.min(this.#budget.get(k) ?? Number.POSITIVE_INFINITY, allowed));
    }
  }

  /** The kinds and queues whose budget is spent: the next walk leaves them out. */
  exclusions(): LimitExclusions {
    const out: LimitExclusions = { kinds: [], queues: [] };
    for (const [k, left] of this.#budget) {
      if (left > 0) continue;
      const [scope, name] = k.split("\u0000") as [LimitScope, string];
      (scope === "kind" ? out.kinds : out.queues).push(name);
    }
    return out;
  }

  /** The candidates (in claim order) that fit every budget, at most `limit`; spends their budgets. */
  take(candidates: LimitCandidate[], limit: number): string[] {
    this.#skipped = false;
    const ids: string[] = [];
    for (const c of candidates) {
      if (ids.length >= limit) break;
      const keys = [key("kind", c.kind), key("queue", c.queue)].filter((k) => this.#budget.has(k));
      if (keys.some((k) => this.#budget.get(k)! <= 0)) {
        this.#skipped = true;
        continue;
      }
      for (const k of keys) this.#budget.set(k, this.#budget.get(k)! - 1);
      ids.push(c.id);
    }
    return ids;
  }

  /** Whether another walk may find more: slots are left and the last walk skipped a candidate over a budget. */
  more(slotsLeft: number): boolean {
    return slotsLeft > 0 && this.#skipped;
  }

  /** The probes taken: the claimed jobs of half-open kinds (one each at most, their budget being one). */
  probes(claimed: LimitCandidate[]): BreakerProbe[] {
    return claimed.filter((c) => this.#probing.has(c.kind)).map((c) => ({ kind: c.kind, jobId: c.id }));
  }

  /** The rate-limited kinds and queues of the claimed jobs, one entry per job and key, for the starts log. */
  starts(claimed: LimitCandidate[]): LimitStart[] {
    const out: LimitStart[] = [];
    for (const c of claimed) {
      if (this.#rated.has(key("kind", c.kind))) out.push({ scope: "kind", name: c.kind });
      if (this.#rated.has(key("queue", c.queue))) out.push({ scope: "queue", name: c.queue });
    }
    return out;
  }
}

/**
 * How long the starts log keeps an entry: two windows. One window is what the rate counts; the second covers
 * nodes whose clocks (or whose claims' `now`, taken before they waited for the lock) lag the pruning node's.
 */
export const STARTS_KEPT_WINDOWS = 2;
