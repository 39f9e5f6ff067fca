import { pgMissing, throwawaySchema } from "../support/postgres.ts";
import { describeMissedFires } from "./missed-cases.ts";

// The missed-fire cases on PostgreSQL: two pools on one schema stand for two nodes.
describeMissedFires(
  "postgres",
  async () => {
    const schema = throwawaySchema();
    return { url: schema.url, remove: () => schema.drop() };
  },
  await pgMissing(),
);
