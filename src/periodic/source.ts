// Which config a periodic came from. A config's schedules are saved with source `config:<instance>`
// (`runtime.instance`), so daemons sharing a database each reconcile only their own (SPEC §21). Periodics
// saved before instances existed carry a bare `config`: their config is unknown.

const CONFIG = "config";
const PREFIX = `${CONFIG}:`;

/** The periodic source for the schedules of the config named `instance`. */
export function configSource(instance: string): string {
  return `${PREFIX}${instance}`;
}

/**
 * Where a periodic's `source` says it came from: `{ origin: "config", instance }` for a config's schedule
 * (`instance` null for a bare legacy `config`), else the source as it is (`api`, `cli`) with no instance.
 */
export function parseSource(source: string): { origin: string; instance: string | null } {
  if (source === CONFIG) return { origin: CONFIG, instance: null };
  if (source.startsWith(PREFIX)) return { origin: CONFIG, instance: source.slice(PREFIX.length) };
  return { origin: source, instance: null };
}

/** Whether `source` is a config's (any instance's, or a legacy bare `config`). */
export function isConfigSource(source: string): boolean {
  return parseSource(source).origin === CONFIG;
}
