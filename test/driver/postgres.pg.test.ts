import { connect } from "../../src/index.ts";
import { adminSql, pgAvailable, throwawaySchema } from "../support/postgres.ts";
import { runConformance, type OpenConformance } from "./conformance.ts";
import { runMessagingConformance } from "./messaging.ts";
import { runWorkflowConformance } from "./workflows.ts";

class Rollback extends Error {
  constructor(readonly id: string) {
    super("rollback");
  }
}

// Each test owns a throwaway schema, opened through the public URL path (`?schema=`), dropped afterwards.
if (await pgAvailable()) {
  const open: OpenConformance = async (options) => {
    const schema = throwawaySchema();
    const fw = await connect(schema.url, options);
    await fw.migrate();
    // The caller's own pool, as an app doing the outbox pattern would have.
    const app = adminSql({ max: 2 });
    return {
      fw,
      async cleanup() {
        await fw.close();
        await app.end({ timeout: 1 });
        await schema.drop();
      },
      async transaction(body, outcome) {
        try {
          return await app.begin(async (tx) => {
            const id = await body(tx);
            if (outcome === "rollback") throw new Rollback(id);
            return id;
          });
        } catch (error) {
          if (error instanceof Rollback) return error.id;
          throw error;
        }
      },
    };
  };

  runConformance("postgres", open);
  runWorkflowConformance("postgres", open);
  runMessagingConformance("postgres", open);
}
