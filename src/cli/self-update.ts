import { defineCommand } from "citty";
import { isStderrTerminal } from "../update/check.ts";
import { progressBar } from "../update/progress.ts";
import { selfUpdate, type SelfUpdateResult } from "../update/self-update.ts";
import { UpdateError } from "../update/update-error.ts";

/**
 * Exit status of `flywheel self-update --check` when an update is available (0 means up to date, 1 that the
 * check failed, 2 a usage error), so scripts can branch without parsing output.
 */
export const UPDATE_AVAILABLE_STATUS = 10;

/** The line `flywheel self-update` prints for each outcome; `pinned` is the `--version` value, if any. */
export function renderSelfUpdate(result: SelfUpdateResult, pinned?: string): string {
  switch (result.action) {
    case "up-to-date":
      return pinned !== undefined
        ? `flywheel ${result.current} is already installed (use --force to reinstall it)`
        : `flywheel ${result.current} is the latest version`;
    case "available":
      if (result.target === result.current) return `flywheel ${result.current} would be reinstalled (--force)`;
      return pinned !== undefined
        ? `flywheel ${result.target} is available (you have ${result.current}): run \`flywheel self-update --version ${result.target}\``
        : `flywheel ${result.target} is available (you have ${result.current}): run \`flywheel self-update\``;
    case "updated":
      return `updated flywheel ${result.from} → ${result.to} (${result.path})`;
  }
}

/** What `--check --json` prints (snake_case: other tools read it). */
export interface SelfUpdateCheckJson {
  current: string;
  /** The release compared against: the latest, or the `--version` pin. */
  latest: string;
  update_available: boolean;
  /** Download URL of this platform's asset in that release; `null` when it has none. */
  url: string | null;
}

/** The `--check --json` object for a check's result; `undefined` for an `updated` result, which a check never gives. */
export function checkJson(result: SelfUpdateResult): SelfUpdateCheckJson | undefined {
  if (result.action === "updated") return undefined;
  const latest = result.action === "available" ? result.target : result.latest;
  return { current: result.current, latest, update_available: result.action === "available", url: result.url };
}

/**
 * `flywheel self-update [--check [--json]] [--force] [--version <v>]` (aliases `update`, `upgrade`): replace
 * this binary with a verified release (SPEC §13). `--check` exits {@link UPDATE_AVAILABLE_STATUS} when an
 * update is available. Failures throw {@link UpdateError}, whose one-line message `main.ts` prints; progress
 * goes to stderr (a bar only when stderr is a terminal) and the outcome to stdout.
 */
export default defineCommand({
  meta: {
    name: "self-update",
    alias: ["update", "upgrade"],
    description: `Replace this binary with the latest (or a pinned) release. Verified by SHA-256 (and by Ed25519 signature in signed builds). --check exits 0 when up to date, ${UPDATE_AVAILABLE_STATUS} when an update is available, 1 when the check failed`,
    examples: ["flywheel self-update", "flywheel self-update --check", "flywheel self-update --version 1.2.3"],
  },
  args: {
    check: {
      type: "boolean",
      description: `Only report whether an update is available; change nothing (exit 0 up to date, ${UPDATE_AVAILABLE_STATUS} update available, 1 check failed)`,
    },
    json: { type: "boolean", description: "With --check: print {current, latest, update_available, url} as JSON" },
    force: { type: "boolean", description: "Reinstall even if this version is already installed" },
    version: { type: "string", valueHint: "1.2.3", description: "Install this version instead of the latest" },
  },
  async run({ args }) {
    // citty turns a bare `--version` (no value) into "" and never rejects it; an empty pin is a usage error.
    const pinned = args.version === undefined ? undefined : String(args.version);
    if (pinned !== undefined && pinned.trim() === "") {
      throw new UpdateError("usage", "flywheel: --version needs a value, e.g. --version 1.2.3");
    }
    const check = args.check === true;
    if (args.json === true && !check) {
      throw new UpdateError("usage", "flywheel: --json goes with --check (flywheel self-update --check --json)");
    }
    const bar = !check && isStderrTerminal() ? progressBar((text) => process.stderr.write(text), "downloading") : undefined;
    let result: SelfUpdateResult;
    try {
      result = await selfUpdate({
        check,
        force: args.force === true,
        ...(pinned !== undefined ? { version: pinned } : {}),
        // A line during a download would land on the bar's line: end the bar first.
        log: (line) => {
          bar?.done();
          console.error(line);
        },
        ...(bar ? { onProgress: bar.update } : {}),
      });
    } finally {
      bar?.done();
    }
    const json = args.json === true ? checkJson(result) : undefined;
    console.log(json ? JSON.stringify(json) : renderSelfUpdate(result, pinned));
    if (check && result.action === "available") process.exitCode = UPDATE_AVAILABLE_STATUS;
  },
});
