import type postgres from "postgres";
import { PostgresDriver } from "../../src/driver/postgres/index.ts";
import type { AnyDriver } from "./kit/factory.ts";
import { runDriverKit } from "./kit/harness.ts";
import { adminSql, pgAvailable, throwawaySchema } from "../support/postgres.ts";

/** Thrown inside the application's transaction to roll it back, carrying what `fn` returned. */
class Rollback extends Error {
  constructor(readonly value: unknown) {
    super("rollback");
  }
}


// Each test owns a throwaway schema, opened through the public URL path (`?schema=`) and dropped afterwards.
// Peers are further pools on the same schema; the application's transactions run on a pool of its own.
if (await pgAvailable()) {
  runDriverKit("postgres", async ({ migrate }) => {
    const schema = throwawaySchema();
    const driver = PostgresDriver.open(schema.url, { max: 4 });
    if (migrate) await driver.schemaMigrate();
    const peers: AnyDriver[] = [];
    let app: postgres.Sql<{}> | null = null;
    return {
      driver,
      async openPeer() {
        const peer = PostgresDriver.open(schema.url, { max: 2 });
        peers.push(peer);
        return peer;
      },
      async transaction(fn, outcome) {
        app ??= adminSql({ max: 2 });
        try {
          return await app.begin(async (tx) => {
            const value = await fn(tx);
            if (outcome === "rollback") throw new Rollback(value);
            return value;
          }) as any;
        } catch (error) {
          if (error instanceof Rollback) return error.value as any;
          throw error;
        }
      },
      async cleanup() {
        for (const peer of peers) await peer.close();
        await driver.close();
        await app?.end({ timeout: 1 });
        await schema.drop();
      },
    };
  });
}
