/**
 * The soak's command line: `bun bench/soak.ts --driver sqlite|postgres [--jobs N] [--nodes K] [--chaos]
 * [--seed S] [--keep] …`. Parsing is strict (an unknown flag is an error), and {@link commandLine} prints the
 * options back with the seed filled in, so every printed result says exactly how to run it again.
 */
import { parseArgs } from "node:util";

/** Everything one soak run is configured by. */
export interface SoakOptions {
  driver: "sqlite" | "postgres";
  /** Jobs inserted, shell jobs included. */
  jobs: number;
  /** Node processes kept running (each killed one is replaced). */
  nodes: number;
  /** Kill and restart nodes (and restart PostgreSQL) while jobs remain; without it, a plain multi-process drain. */
  chaos: boolean;
  /** Seed of every random choice the driver makes (which node, when, which signal, restart delays). */
  seed: number;
  /** Keep the temporary directory (database, logs) for inspection. */
  keep: boolean;
  /** One job in this many is a `shell` job; 0 for none. */
  shellEvery: number;
  /** PostgreSQL restarts spread over the run when `chaos` is on. */
  dbRestarts: number;
  /** The nodes' lease, in milliseconds: short, so the sweep brings back a killed node's jobs quickly. */
  leaseMs: number;
  /** Give up (and report what is left) after this many seconds of draining. */
  timeoutSeconds: number;
}

const USAGE = `usage: bun bench/soak.ts --driver sqlite|postgres [--jobs N] [--nodes K] [--chaos] [--seed S] [--keep]
                          [--shell-every N] [--db-restarts N] [--lease-ms MS] [--timeout SECONDS]`;

/**
 * Parses argv (without the runtime and script). Defaults: 100,000 jobs, 3 nodes, no chaos, a random seed, one
 * shell job in 2,000, 2 PostgreSQL restarts under chaos, a 2 s lease, a one-hour timeout.
 * @throws Error with the usage text when a flag is unknown or a value is out of range.
 */
export function parseSoakOptions(argv: string[]): SoakOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        driver: { type: "string" },
        jobs: { type: "string" },
        nodes: { type: "string" },
        chaos: { type: "boolean" },
        seed: { type: "string" },
        keep: { type: "boolean" },
        "shell-every": { type: "string" },
        "db-restarts": { type: "string" },
        "lease-ms": { type: "string" },
        timeout: { type: "string" },
      },
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  const driver = values.driver;
  if (driver !== "sqlite" && driver !== "postgres") throw new Error(`--driver must be sqlite or postgres\n${USAGE}`);
  return {
    driver,
    jobs: integer(values.jobs, 100_000, 1, "--jobs"),
    nodes: integer(values.nodes, 3, 1, "--nodes"),
    chaos: values.chaos ?? false,
    seed: integer(values.seed, Math.floor(Math.random() * 2 ** 31), 0, "--seed"),
    keep: values.keep ?? false,
    shellEvery: integer(values["shell-every"], 2_000, 0, "--shell-every"),
    dbRestarts: integer(values["db-restarts"], 2, 0, "--db-restarts"),
    leaseMs: integer(values["lease-ms"], 2_000, 300, "--lease-ms"),
    timeoutSeconds: integer(values.timeout, 3_600, 1, "--timeout"),
  };
}

/** The command that repeats this run's choices (the seed included). */
export function commandLine(o: SoakOptions): string {
  const parts = ["bun bench/soak.ts", `--driver ${o.driver}`, `--jobs ${o.jobs}`, `--nodes ${o.nodes}`];
  if (o.chaos) parts.push("--chaos");
  parts.push(`--seed ${o.seed}`, `--shell-every ${o.shellEvery}`, `--lease-ms ${o.leaseMs}`);
  if (o.driver === "postgres" && o.chaos) parts.push(`--db-restarts ${o.dbRestarts}`);
  if (o.keep) parts.push("--keep");
  return parts.join(" ");
}

function integer(text: string | undefined, fallback: number, min: number, flag: string): number {
  if (text === undefined) return fallback;
  const value = Number(text.replaceAll("_", ""));
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${flag} must be a whole number ≥ ${min}, got ${JSON.stringify(text)}\n${USAGE}`);
  return value;
}
