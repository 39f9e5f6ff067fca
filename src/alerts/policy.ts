import type { PeriodicRecord } from "../core/types.ts";
import { ALERT_DEFAULTS } from "../core/defaults.ts";
import type { AlertEvent, AlertRule, ScheduleAlerts } from "./types.ts";

/** What an {@link AlertPolicy} is made of. `{ schedules: new Map(), defaults: [] }` alerts nothing. */
export interface AlertPolicyOptions {
  /** The alerts of named schedules (a config's `schedules:`), by slug; these win over `defaults`. */
  schedules: ReadonlyMap<string, ScheduleAlerts>;
  /** The alerts of every other periodic `adopts` accepts (a config's top-level `alerts:`), with the default grace. */
  defaults: readonly AlertRule[];
  /** Whether a periodic not in `schedules` takes the `defaults`, judged by its source; default: every one does. */
  adopts?: (source: string) => boolean;
}

/**
 * Which alerts each periodic has. A daemon builds one from its config: its own schedules have their own alerts
 * (or the top-level ones), and periodics added by the CLI or the library take the top-level ones, while another
 * config's schedules are left to the daemon that runs that config.
 * @example new AlertPolicy({ schedules: new Map([["nightly", { rules, ping: null, graceMs: 60_000 }]]), defaults: [] })
 */
export class AlertPolicy {
  readonly #schedules: ReadonlyMap<string, ScheduleAlerts>;
  readonly #defaults: ScheduleAlerts | null;
  readonly #adopts: (source: string) => boolean;
  readonly #events: ReadonlySet<AlertEvent>;

  constructor(options: AlertPolicyOptions) {
    this.#schedules = options.schedules;
    this.#defaults = options.defaults.length > 0 ? { rules: [...options.defaults], ping: null, graceMs: ALERT_DEFAULTS.graceMs } : null;
    this.#adopts = options.adopts ?? (() => true);
    this.#events = new Set(this.#all().flatMap((a) => a.rules.flatMap((r) => r.on)));
  }

  /** The alerts of `periodic`, or null when it has no alert and no ping. */
  for(periodic: Pick<PeriodicRecord, "slug" | "source">): ScheduleAlerts | null {
    const own = this.#schedules.get(periodic.slug);
    const alerts = own ?? (this.#adopts(periodic.source) ? this.#defaults : null);
    return alerts && (alerts.rules.length > 0 || alerts.ping !== null) ? alerts : null;
  }

  /** Whether a periodic named `slug` may have alerts at all: events of the others are dismissed without a read. */
  mayAlert(slug: string): boolean {
    return this.#defaults !== null || this.#schedules.has(slug);
  }

  /** Whether a periodic named `slug` may ping (only schedules named in the config have pings). */
  mayPing(slug: string): boolean {
    return (this.#schedules.get(slug)?.ping ?? null) !== null;
  }

  /** Whether any periodic may have an alert on `event`. */
  watches(event: AlertEvent): boolean {
    return this.#events.has(event);
  }

  /** The shortest grace of any alert on `missed`; null when none fires on it. */
  shortestGraceMs(): number | null {
    const graces = this.#all()
      .filter((a) => a.rules.some((r) => r.on.includes("missed")))
      .map((a) => a.graceMs);
    return graces.length > 0 ? Math.min(...graces) : null;
  }

  #all(): ScheduleAlerts[] {
    return [...this.#schedules.values(), ...(this.#defaults ? [this.#defaults] : [])];
  }
}
