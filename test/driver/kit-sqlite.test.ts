import { Database } from "bun:sqlite";
import { join } from "node:path";
import { SqliteDriver } from "../../src/driver/sqlite/index.ts";
import type { AnyDriver } from "./kit/factory.ts";
import { runDriverKit } from "./kit/harness.ts";
import { tempDir } from "../support/helpers.ts";

/** Thrown inside the application's transaction to roll it back. */
class Rollback extends Error {}


// Each test owns a real file in its own temp directory (WAL needs a file, not :memory:). Peers and the
// application's handle are further connections on the same file, as other processes would have.
runDriverKit("sqlite", async ({ migrate }) => {
  const dir = await tempDir();
  const path = join(dir.path, "flywheel.db");
  const driver = SqliteDriver.open(path);
  if (migrate) await driver.schemaMigrate();
  const peers: AnyDriver[] = [];
  let app: Database | null = null;
  return {
    driver,
    async openPeer() {
      const peer = SqliteDriver.open(path);
      peers.push(peer);
      return peer;
    },
    async transaction(fn, outcome) {
      if (!app) {
        app = new Database(path, { strict: true });
        app.run("PRAGMA busy_timeout = 5000");
      }
      const db = app;
      let result: Promise<any> | undefined;
      try {
        // bun:sqlite transactions are synchronous: `fn` writes before its first await, inside this callback.
        db.transaction(() => {
          result = fn(db);
          if (outcome === "rollback") throw new Rollback();
        })();
      } catch (error) {
        if (!(error instanceof Rollback)) throw error;
      }
      return result!;
    },
    async cleanup() {
      for (const peer of peers) await peer.close();
      await driver.close();
      app?.close(false);
      await dir.remove();
    },
  };
});
