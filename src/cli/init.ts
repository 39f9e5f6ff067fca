import { statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { defineCommand } from "citty";
import { COMMAND_WORKER_DEFAULTS, HTTP_DEFAULTS, NODE_DEFAULTS, RUNNER_DEFAULTS } from "../core/defaults.ts";
import { formatDuration } from "../core/duration.ts";
import { FlywheelError } from "../core/errors.ts";

// `flywheel init`: a first config that works as written and teaches the keys people reach for next. The
// defaults it quotes come from core/defaults.ts, so the comments cannot drift from what flywheel does.

/** `yaml` with `# comment` aligned in one column, as a person would lay the file out. */
function note(yaml: string, comment: string): string {
  return `${yaml.padEnd(38)}  # ${comment}`;
}

/** The starter `flywheel.yaml`. Everything below `# schedules:` is one commented example that loads when uncommented. */
export function starterConfig(): string {
  return [
    "# flywheel.yaml, written by `flywheel init`. Check it with `flywheel doctor`; run it with `flywheel serve`.",
    "# Relative paths resolve against this file's directory. Durations take a unit: 250ms, 30s, 5m, 2h, 14d.",
    "",
    "# Where jobs live: exactly one of sqlite (a file, created on first use) or postgres (a URL).",
    "db:",
    "  sqlite: ./flywheel.db",
    "  # postgres: postgres://flywheel@localhost:5432/flywheel",
    "",
    "runtime:",
    note(`  queues: [${NODE_DEFAULTS.queues.join(", ")}]`, 'the queues this node works; schedules use "periodic"'),
    note(`  concurrency: ${RUNNER_DEFAULTS.concurrency}`, "jobs this node runs at once"),
    note("  retention: 14d", 'delete finished jobs (and their runs) after this; "off" keeps them'),
    note(`  http_addr: ${HTTP_DEFAULTS.hostname}:${HTTP_DEFAULTS.port}`, '/healthz /readyz /metrics, API and dashboard; "off" disables'),
    note(`  # lease: ${formatDuration(RUNNER_DEFAULTS.leaseMs)}`, "how long a claim holds without renewal"),
    note(`  # drain_timeout: ${formatDuration(NODE_DEFAULTS.drainTimeoutMs)}`, "on SIGINT/SIGTERM, wait this long for running jobs"),
    note(`  # env_allowlist: [${COMMAND_WORKER_DEFAULTS.envAllowlist.join(", ")}]`, "all a job sees of the daemon's environment"),
    "",
    "log:",
    note("  level: info", "debug | info | warn | error"),
    note("  format: text", "text | json"),
    "",
    "# Schedules replace crontab lines: each fires a job of a worker (exec, shell, python, mage or http).",
    "# Uncomment this example, then `flywheel doctor` and `flywheel schedule ls` show it.",
    "# schedules:",
    "#   - slug: hello",
    note("#     every: 1h", 'or cron: "0 3 * * *" with timezone: Europe/Berlin'),
    "#     worker: shell",
    note("#     max_attempts: 1", "like cron: no retry unless asked"),
    "#     shell:",
    '#       inline: echo "hello from flywheel on $(hostname)"',
    "#       timeout_seconds: 60",
    "",
  ].join("\n");
}

/** The file `init` writes for the `path` argument: `./flywheel.yaml` by default, `<dir>/flywheel.yaml` for a directory. */
function targetOf(path: string | undefined, cwd: string): string {
  const target = resolve(cwd, path ?? "flywheel.yaml");
  return statSync(target, { throwIfNoEntry: false })?.isDirectory() || path?.endsWith("/") ? join(target, "flywheel.yaml") : target;
}

/** `flywheel init [path] [--force]`: writes the starter config; refuses to replace a file unless `--force`. */
export default defineCommand({
  meta: {
    name: "init",
    description: "Write a commented starter flywheel.yaml (./flywheel.yaml, or the path given)",
    examples: ["flywheel init", "flywheel init /etc/flywheel/", "flywheel init ops/flywheel.yaml --force"],
  },
  args: {
    path: { type: "positional", description: "File or directory to write (default ./flywheel.yaml)", required: false },
    force: { type: "boolean", description: "Overwrite an existing file" },
  },
  run({ args }) {
    const file = targetOf(args.path === undefined ? undefined : String(args.path), process.cwd());
    try {
      // `wx` creates or fails in one step, so a file appearing meanwhile is never overwritten without --force.
      writeFileSync(file, starterConfig(), { flag: args.force ? "w" : "wx" });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") throw new FlywheelError("invalid_state", `flywheel: ${file} already exists; use --force to overwrite it`);
      throw new FlywheelError("invalid_state", `flywheel: cannot write ${file}: ${(error as Error).message}`, { cause: error });
    }
    const named = relative(process.cwd(), file) === "flywheel.yaml" ? "" : ` --config ${file}`;
    console.log(`wrote ${file}\nnext: flywheel doctor${named}, then flywheel serve${named}`);
  },
});
