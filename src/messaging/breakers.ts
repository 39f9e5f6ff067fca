import { parseDuration } from "../core/duration.ts";
import type { BreakerRecord, WorkerDefinition } from "../core/types.ts";
import type { BreakerRow, BreakerRule, FinalizeItem, FinalizeOutcome } from "../driver/types.ts";
import type { RuntimeContext } from "../runtime/context.ts";

/**
 * The breaker rule of a kind's worker (its `breaker` option, already validated by `defineWorker`), or
 * undefined when it has none or the kind is not registered here.
 */
export function breakerRule(worker: WorkerDefinition<any, any> | undefined): BreakerRule | undefined {
  if (!worker?.breaker) return undefined;
  return { kind: worker.kind, failures: worker.breaker.failures, openForMs: parseDuration(worker.breaker.openFor) };
}

/** `item` carrying its kind's breaker rule, so the finalize counts its attempt against the breaker. */
export function withBreaker(ctx: RuntimeContext, kind: string, item: FinalizeItem): FinalizeItem {
  const rule = breakerRule(ctx.registry.get(kind));
  return rule ? { ...item, breaker: rule } : item;
}

/** Reports a breaker the finalize opened or closed on the event bus (`breaker:opened`, `breaker:closed`) and in the log. */
export function reportBreaker(ctx: RuntimeContext, outcome: FinalizeOutcome): void {
  const t = outcome.breaker;
  if (!t) return;
  if (t.to === "opened") {
    ctx.logger.warn("jobs: circuit breaker opened", { kind: t.kind, failures: t.failures, open_until: t.openUntil.toISOString() });
    ctx.events.emit("breaker:opened", { kind: t.kind, failures: t.failures, openUntil: t.openUntil });
  } else {
    ctx.logger.info("jobs: circuit breaker closed", { kind: t.kind });
    ctx.events.emit("breaker:closed", { kind: t.kind });
  }
}

/** A stored breaker as the library lists it, its state at `now`. */
export function breakerRecord(row: BreakerRow, now: Date): BreakerRecord {
  const state = row.openUntil === null ? "closed" : now < row.openUntil ? "open" : "half_open";
  return { kind: row.kind, state, failures: row.failures, openedAt: row.openedAt, openUntil: row.openUntil, probeJobId: state === "half_open" ? row.probeJobId : null, updatedAt: row.updatedAt };
}
