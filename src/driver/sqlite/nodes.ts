import type { Database } from "bun:sqlite";
import type { NodeRecord } from "../../core/types.ts";
import type { Row } from "../decode.ts";
import type { NodeRow } from "../types.ts";
import { decode } from "./codec.ts";

// A row is stale once it has missed five of its own heartbeats: the node is gone (or cut off), whichever it is.
const STALE = "heartbeat_at + 5 * heartbeat_ms";

/** Upserts the node's row and removes stale ones, in the caller's write transaction; returns the removed ids. */
export function heartbeatNode(db: Database, p: { node: NodeRow; now: Date }): { removed: string[] } {
  const n = p.node;
  const now = p.now.getTime();
  db.query(
    `INSERT INTO job_nodes (id, executor_id, host, pid, version, queues, kinds, heartbeat_ms, started_at, heartbeat_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET queues = excluded.queues, kinds = excluded.kinds, heartbeat_ms = excluded.heartbeat_ms,
       heartbeat_at = excluded.heartbeat_at`,
  ).run(n.id, n.executorId, n.host, n.pid, n.version, JSON.stringify(n.queues), JSON.stringify(n.kinds), n.heartbeatMs, n.startedAt.getTime(), now);
  const removed = db.query(`DELETE FROM job_nodes WHERE ${STALE} < ? RETURNING id`).all(now) as Row[];
  return { removed: removed.map((r) => r.id as string).sort() };
}

/** Deletes a node's row; true when it existed. */
export function removeNode(db: Database, p: { id: string }): boolean {
  return db.query("DELETE FROM job_nodes WHERE id = ?").run(p.id).changes > 0;
}

/** The nodes whose heartbeat is fresh at `now`, oldest start first. */
export function listNodes(db: Database, p: { now: Date }): NodeRecord[] {
  const rows = db.query(`SELECT * FROM job_nodes WHERE ${STALE} >= ? ORDER BY started_at, id`).all(p.now.getTime()) as Row[];
  return rows.map(decode.node);
}
