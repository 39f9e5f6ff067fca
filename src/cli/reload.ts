import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { FlywheelError } from "../core/errors.ts";
import { runningDaemons } from "../daemon/find-daemons.ts";
import { openFlywheel } from "../daemon/open.ts";
import { CONFIG_ARG, readConfig } from "./context.ts";

/**
 * `flywheel reload`: makes the running `flywheel serve` re-read its config (as SIGHUP does), so schedule changes
 * apply without a restart. The config is checked here first: an invalid one exits 2 with its one line and
 * nothing is signalled. The daemon is found in the config's database's node registry (`runningDaemons`): each
 * `serve` on this host gets SIGHUP. No daemon exits 1 with one line.
 */
export default defineCommand({
  meta: {
    name: "reload",
    description: "Make the running daemon re-read its config (same as SIGHUP)",
    examples: ["flywheel reload", "flywheel reload --config /etc/flywheel/flywheel.yaml"],
  },
  args: { ...CONFIG_ARG },
  async run({ args }) {
    const config = readConfig(args);
    const where = config.db.kind === "sqlite" ? config.db.path : "the postgres database";
    const none = new FlywheelError("unavailable", `flywheel: no flywheel serve is running on this host for ${where}`);
    // Opening a SQLite file that is not there would create it: no file, no daemon.
    if (config.db.kind === "sqlite" && !existsSync(config.db.path)) throw none;
    const fw = await openFlywheel(config, { migrate: "never" });
    let daemons;
    try {
      const { current } = await fw.driver.schemaVersion();
      daemons = current === 0 ? [] : await runningDaemons(fw);
    } finally {
      await fw.close();
    }
    if (daemons.length === 0) throw none;
    for (const d of daemons) {
      try {
        process.kill(d.pid, "SIGHUP");
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === "EPERM" ? "not permitted (run as the daemon's user, or `systemctl reload flywheel`)" : (error as Error).message;
        throw new FlywheelError("unavailable", `flywheel: cannot signal flywheel serve pid ${d.pid}: ${why}`);
      }
      console.log(`reload requested: flywheel serve pid ${d.pid} (its log says whether the config applied)`);
    }
  },
});
