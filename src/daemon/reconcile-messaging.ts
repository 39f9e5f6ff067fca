import type { Logger } from "../core/logger.ts";
import type { Flywheel } from "../flywheel.ts";
import type { FlywheelConfig } from "./config/index.ts";
import { configSource } from "../periodic/source.ts";

/**
 * Makes the database hold what the config's `bindings:` and `queues:` say, as {@link reconcileSchedules} does for
 * `schedules:`, and with the same ownership rule: everything the config writes carries `config:<instance>`, and
 * only that is ever undone. So a binding made with `flywheel bindings add` or `fw.bind` (source `cli`/`api`) or by
 * another daemon's config stays; a queue an operator paused stays paused whatever the config says, and a queue this
 * config paused is resumed once the config stops saying `paused: true`. A config binding of a pattern and worker
 * that an operator had bound takes it over (there is one binding per pattern and kind). Logs one `info` line when
 * anything changed.
 * @example await reconcileMessaging(fw, loadConfig());
 */
export async function reconcileMessaging(
  fw: Flywheel,
  config: FlywheelConfig,
  logger: Logger = fw.logger,
): Promise<{ bound: string[]; unbound: string[]; paused: string[]; resumed: string[] }> {
  const source = configSource(config.runtime.instance);
  const bound: string[] = [];
  for (const b of config.bindings) {
    await fw.bind(b.pattern, { kind: b.kind, args: b.args, ...(b.queue !== undefined ? { queue: b.queue } : {}) }, { source });
    bound.push(`${b.pattern}>${b.kind}`);
  }
  const wanted = new Set(bound);
  const unbound: string[] = [];
  for (const b of await fw.listBindings()) {
    const key = `${b.pattern}>${b.kind}`;
    if (b.source !== source || wanted.has(key)) continue;
    if (await fw.unbind(b.pattern, b.kind)) unbound.push(key);
  }

  const paused: string[] = [];
  const resumed: string[] = [];
  const pausing = new Set(config.queues.filter((q) => q.paused).map((q) => q.name));
  for (const name of pausing) if (await fw.pauseQueue(name, { by: source })) paused.push(name);
  for (const q of await fw.listQueues()) {
    // Only this config's own pause is undone here; an operator's (or another config's) is theirs to lift.
    if (q.paused && q.pausedBy === source && !pausing.has(q.name) && (await fw.resumeQueue(q.name))) resumed.push(q.name);
  }
  if (bound.length + unbound.length + paused.length + resumed.length > 0) {
    logger.info("flywheel: bindings and queues reconciled", {
      instance: config.runtime.instance,
      bindings: bound.length,
      unbound: unbound.length > 0 ? unbound : undefined,
      paused: paused.length > 0 ? paused : undefined,
      resumed: resumed.length > 0 ? resumed : undefined,
    });
  }
  return { bound, unbound, paused, resumed };
}
