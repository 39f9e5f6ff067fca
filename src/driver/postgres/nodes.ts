import type { NodeRecord } from "../../core/types.ts";
import type { NodeRow } from "../types.ts";
import { decode } from "./codec.ts";
import type { PgContext } from "./context.ts";

// A row is stale once it has missed five of its own heartbeats: the node is gone (or cut off), whichever it is.
const STALE = "heartbeat_at + (5 * heartbeat_ms) * interval '1 millisecond'";

/** Upserts the node's row and removes stale ones in one statement; returns the removed ids. */
export async function nodeHeartbeat(ctx: PgContext, p: { node: NodeRow; now: Date }): Promise<{ removed: string[] }> {
  const n = p.node;
  const rows = await ctx.query(
    `WITH beat AS (
       INSERT INTO ${ctx.t.nodes} (id, executor_id, host, pid, version, queues, kinds, heartbeat_ms, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, $5, $6::text[], $7::text[], $8, $9, $10)
       ON CONFLICT (id) DO UPDATE SET queues = excluded.queues, kinds = excluded.kinds, heartbeat_ms = excluded.heartbeat_ms,
         heartbeat_at = excluded.heartbeat_at
       RETURNING id
     )
     DELETE FROM ${ctx.t.nodes} WHERE ${STALE} < $10 AND id <> $1 RETURNING id`,
    [n.id, n.executorId, n.host, n.pid, n.version, n.queues, n.kinds, n.heartbeatMs, n.startedAt, p.now],
  );
  return { removed: rows.map((r) => r.id as string).sort() };
}

/** Deletes a node's row; true when it existed. */
export async function nodeRemove(ctx: PgContext, p: { id: string }): Promise<boolean> {
  return (await ctx.query(`DELETE FROM ${ctx.t.nodes} WHERE id = $1 RETURNING id`, [p.id])).length > 0;
}

/** The nodes whose heartbeat is fresh at `now`, oldest start first. */
export async function nodeList(ctx: PgContext, p: { now: Date }): Promise<NodeRecord[]> {
  const rows = await ctx.query(`SELECT * FROM ${ctx.t.nodes} WHERE ${STALE} >= $1 ORDER BY started_at, id COLLATE "C"`, [p.now]);
  return rows.map(decode.node);
}
