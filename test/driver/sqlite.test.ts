import { Database } from "bun:sqlite";
import { join } from "node:path";
import { connect } from "../../src/index.ts";
import { tempDir } from "../support/helpers.ts";
import { runConformance, type OpenConformance } from "./conformance.ts";
import { runMessagingConformance } from "./messaging.ts";
import { runWorkflowConformance } from "./workflows.ts";

class Rollback extends Error {}

// Each test owns a real SQLite file in its own temp directory (WAL needs a file, not :memory:).
const open: OpenConformance = async (options) => {
  const dir = await tempDir();
  const db = new Database(join(dir.path, "flywheel.db"), { create: true, strict: true });
  const fw = await connect({ sqlite: db }, options);
  await fw.migrate();
  return {
    fw,
    async cleanup() {
      await fw.close();
      db.close(false);
      await dir.remove();
    },
    async transaction(body, outcome) {
      let inserted: Promise<string> | undefined;
      try {
        // bun:sqlite transactions are synchronous; fw.insert writes its row before its first await.
        db.transaction(() => {
          inserted = body(db);
          if (outcome === "rollback") throw new Rollback();
        })();
      } catch (error) {
        if (!(error instanceof Rollback)) throw error;
      }
      return inserted!;
    },
  };
};
runConformance("sqlite", open);
runWorkflowConformance("sqlite", open);
runMessagingConformance("sqlite", open);
