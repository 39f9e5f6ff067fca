import type { OverviewResponse } from "../wire.ts";
import { api } from "./api.ts";
import { duration } from "./format.ts";
import { ActionButton, Badge, TableHead } from "./ui.tsx";

const QUEUE_STATES = ["available", "scheduled", "running", "retryable", "waiting", "succeeded", "discarded", "cancelled"] as const;

/** Every queue: ready, lag, counts by state (each a link to those jobs), and pause/resume on every node. */
export function QueueTable({ rows, changed }: { rows: OverviewResponse["queues"]; changed: () => void }) {
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
            <td class="status" title={q.paused_by ? `paused by ${q.paused_by}` : ""}>
              <Badge value={q.paused ? "paused" : "active"} />
            </td>
            <td>{q.ready}</td>
            <td class={q.lag_seconds > 60 ? "bad" : ""}>{duration(q.lag_seconds * 1000)}</td>
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
