import { defineCommand } from "citty";
import { selfUpdate, type SelfUpdateResult } from "../update/self-update.ts";
import { UpdateError } from "../update/update-error.ts";

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

/**
 * `flywheel self-update [--check] [--force] [--version <v>]` (aliases `update`, `upgrade`): replace this binary
 * with a verified release (SPEC §13). Failures throw {@link UpdateError}, whose one-line message `main.ts`
 * prints; progress goes to stderr and the outcome line to stdout.
 */
export default defineCommand({
  meta: {
    name: "self-update",
    alias: ["update", "upgrade"],
    description: "Replace this binary with the latest (or a pinned) release, verified by SHA-256 (and by Ed25519 signature in signed builds)",
  },
  args: {
    check: { type: "boolean", description: "Only report whether an update is available; change nothing" },
    force: { type: "boolean", description: "Reinstall even if this version is already installed" },
    version: { type: "string", valueHint: "1.2.3", description: "Install this version instead of the latest" },
  },
  async run({ args }) {
    // citty turns a bare `--version` (no value) into "" and never rejects it; an empty pin is a usage error.
    const pinned = args.version === undefined ? undefined : String(args.version);
    if (pinned !== undefined && pinned.trim() === "") {
      throw new UpdateError("usage", "flywheel: --version needs a value, e.g. --version 1.2.3");
    }
    const result = await selfUpdate({
      check: args.check === true,
      force: args.force === true,
      ...(pinned !== undefined ? { version: pinned } : {}),
      log: (line) => console.error(line),
    });
    console.log(renderSelfUpdate(result, pinned));
  },
});
