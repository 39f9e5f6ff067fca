import { defineCommand } from "citty";
import { openFlywheel } from "../daemon/open.ts";
import { CONFIG_ARG, JSON_ARG, readConfig } from "./context.ts";
import { printJson } from "./render.ts";

/** `flywheel migrate`: create or upgrade the schema; idempotent. `--json` prints `{ applied, version }`. */
export default defineCommand({
  meta: { name: "migrate", description: "Create or upgrade flywheel's tables (idempotent)", examples: ["flywheel migrate", "flywheel migrate --json"] },
  args: { ...CONFIG_ARG, ...JSON_ARG },
  async run({ args }) {
    const fw = await openFlywheel(readConfig(args), { migrate: "never" });
    try {
      const { applied } = await fw.migrate();
      const { current } = await fw.driver.schemaVersion();
      if (args.json) printJson({ applied, version: current });
      else console.log(applied.length > 0 ? `migrated to schema version ${current} (applied ${applied.join(", ")})` : `schema is up to date (version ${current})`);
    } finally {
      await fw.close();
    }
  },
});
