import { defineCommand } from "citty";
import { VERSION } from "../core/version.ts";

/** What `flywheel version --json` prints; the key names are a stable contract for scripts. */
export interface VersionInfo {
  version: string;
  os: string;
  arch: string;
  bun: string;
}

/** The running flywheel's version, platform (`process.platform`/`process.arch`) and embedded Bun version. */
function versionInfo(): VersionInfo {
  return { version: VERSION, os: process.platform, arch: process.arch, bun: Bun.version };
}

/**
 * `flywheel version [--json]`: `flywheel 1.2.3 (linux-x64, bun 1.4.5)`, or `{"version","os","arch","bun"}`.
 * Self-update runs the freshly downloaded binary with `version --json` before trusting it, so this command
 * must stay cheap and must not touch config or the database.
 */
export default defineCommand({
  meta: { name: "version", description: "Print flywheel's version, platform and Bun version", examples: ["flywheel version", "flywheel version --json"] },
  args: {
    json: { type: "boolean", description: "Print {version, os, arch, bun} as JSON" },
  },
  run({ args }) {
    const info = versionInfo();
    // console.log, not process.stdout.write: touching process.stdout builds a Node stream, ~6 ms of startup.
    console.log(args.json ? JSON.stringify(info) : `flywheel ${info.version} (${info.os}-${info.arch}, bun ${info.bun})`);
  },
});
