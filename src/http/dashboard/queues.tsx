import type { HealthJson, QueueJson } from "../wire.ts";
import { api } from "./api.ts";
import { duration } from "./format.ts";
import { ActionButton, Badge, TableHead } from "./ui.tsx";

const QUEUE_STATES = ["available", "scheduled", "running", "retryable", "waiting", "succeeded", "discarded", "cancelled"] as const;

/** One row: the overview's health of a queue this node knows, or the queue list's counts for any other. */
interface QueueRow {
  name: string;
  ready: number;
  lagSeconds: number;
  counts: Partial<Record<string, number>>;
  paused: boolean;
  pausedBy: string | null;
}

/**
 * The rows of the queues table: the overview's queues (this node's, its workers' and its schedules', with their
 * health), then any other queue the database holds jobs for or has paused, so a paused queue no one here serves
 * still shows, with its resume button.
 */
export function queueRows(health: Array<{ name: string } & HealthJson>, listed: QueueJson[]): QueueRow[] {
  const byName = new Map(listed.map((q) => [q.name, q]));
  const rows: QueueRow[] = health.map((h) => ({
    name: h.name,
    ready: h.ready,
    lagSeconds: h.lag_seconds,
    counts: h.counts,
    paused: byName.get(h.name)?.paused ?? false,
    pausedBy: byName.get(h.name)?.paused_by ?? null,
  }));
  const shown = new Set(rows.map((r) => r.name));
  for (const q of listed) {
    if (shown.has(q.name)) continue;
    rows.push({ name: q.name, ready: q.counts.available ?? 0, lagSeconds: q.lag_seconds, counts: q.counts, paused: q.paused, pausedBy: q.paused_by });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/** Every queue: ready, lag, counts by state (each a link to those jobs), and pause/resume on every node. */
export function QueueTable({ rows, changed }: { rows: QueueRow[]; changed: () => void }) {
  const act = (name: string, action: "pause" | "resume") => () => api(`/api/v1/queues/${encodeURIComponent(name)}/${action}`, { method: "POST" });
  return (
    <table class="queues">
      <TableHead columns={["Queue", "Status", "Ready", "Lag", ...QUEUE_STATES, ""]} />
      <tbody>
        {rows.map((q) => (
          <tr key={q.name} data-queue={q.name}>
            <td>
              <a href={`#/jobs?queue=${encodeURIComponent(q.name)}`}>{q.name}</a>
            </td>
            <td class="status" title={q.pausedBy ? `paused by ${q.pausedBy}` : ""}>
              <Badge value={q.paused ? "paused" : "active"} />
            </td>
            <td>{q.ready}</td>
            <td class={q.lagSeconds > 60 ? "bad" : ""}>{duration(q.lagSeconds * 1000)}</td>
            {QUEUE_STATES.map((s) => (
              <td key={s} class={q.counts[s] ? "" : "muted"}>
                {q.counts[s] ? <a href={`#/jobs?queue=${encodeURIComponent(q.name)}&state=${s}`}>{q.counts[s]}</a> : 0}
              </td>
            ))}
            <td>
              {q.paused ? <ActionButton label="Resume" run={act(q.name, "resume")} done={changed} /> : <ActionButton label="Pause" run={act(q.name, "pause")} done={changed} />}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
