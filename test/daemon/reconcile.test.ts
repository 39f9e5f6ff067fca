import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { createLogger } from "../../src/core/logger.ts";
import { parseConfig } from "../../src/daemon/config/index.ts";
import { reconcileSchedules } from "../../src/daemon/reconcile.ts";
import { connect, type Flywheel } from "../../src/index.ts";
import { commandWorkers } from "../../src/workers/index.ts";
import { tempDir } from "../support/helpers.ts";

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

test("an operator's pause survives the config reconcile at the next start, and the log says so", async () => {
  const dir = await tempDir();
  const fw: Flywheel = await connect(`sqlite:${join(dir.path, "fw.db")}`);
  cleanup = async () => (await fw.close(), await dir.remove());
  await fw.migrate();
  fw.register(...commandWorkers());
  const config = parseConfig(
    `db: { sqlite: ./fw.db }\nschedules:\n  - { slug: nightly, cron: "0 3 * * *", worker: shell, shell: { inline: "true" } }\n`,
    { file: join(dir.path, "flywheel.yaml") },
  );
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ format: "json", write: (l) => lines.push(JSON.parse(l)) });
  await reconcileSchedules(fw, config, logger);
  expect((await fw.findPeriodic("nightly")).isActive).toBe(true);
  await fw.setPeriodicActive("nightly", false);
  await reconcileSchedules(fw, config, logger);
  expect(await fw.findPeriodic("nightly")).toMatchObject({ isActive: false, pausedBy: "operator" });
  expect(lines.at(-1)).toMatchObject({ msg: "flywheel: schedules reconciled", paused_by_operator: ["nightly"] });
  await fw.setPeriodicActive("nightly", true);
  await reconcileSchedules(fw, config, logger);
  expect(await fw.findPeriodic("nightly")).toMatchObject({ isActive: true, pausedBy: null });
});
