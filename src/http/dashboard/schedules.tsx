import type { ScheduleJson } from "../wire.ts";
import { api } from "./api.ts";
import { duration, shortId, zonedTime } from "./format.ts";
import { ActionButton, Badge, TableHead, When } from "./ui.tsx";

/** How a schedule fires: its cron, or `every 5m`. */
function cadence(s: ScheduleJson): string {
  return s.cron ?? `every ${duration((s.interval_seconds ?? 0) * 1000)}`;
}

/** The last fire's result: its outcome (or state while it runs), exit code and duration, linked to the job. */
function LastResult({ s }: { s: ScheduleJson }) {
  const last = s.last_fire;
  if (!last) return <span class="muted">never fired</span>;
  const result = last.state === "succeeded" || last.state === "discarded" || last.state === "cancelled" ? last.state : (last.outcome ?? last.state);
  return (
    <a href={`#/jobs/${last.job_id}`} title={last.error_message ?? `job ${last.job_id}`}>
      <Badge value={result} />
      {last.exit_code !== null && <span class="exit"> exit {last.exit_code}</span>}
      {last.duration_ms !== null && <span class="muted"> {duration(last.duration_ms)}</span>}
      <span class="muted"> · {shortId(last.job_id)}</span>
    </a>
  );
}

/** Every schedule: cadence, next fire in its timezone, last fire and result, skips, and pause/resume/trigger. */
export function ScheduleTable({ schedules, changed }: { schedules: ScheduleJson[]; changed: () => void }) {
  if (schedules.length === 0) return <p class="muted">No schedules.</p>;
  const act = (slug: string, action: "pause" | "resume" | "trigger") => () => api(`/api/v1/schedules/${encodeURIComponent(slug)}/${action}`, { method: "POST" });
  return (
    <table class="schedules">
      <TableHead columns={["Slug", "Kind", "Schedule", "Next fire", "Last fire", "Last result", "Skipped", "Status", ""]} />
      <tbody>
        {schedules.map((s) => (
          <tr key={s.slug} data-slug={s.slug}>
            <td class="slug">{s.slug}</td>
            <td>{s.kind}</td>
            <td>
              <code>{cadence(s)}</code>
            </td>
            <td title={s.next_run_at ?? ""}>{s.active ? zonedTime(s.next_run_at, s.timezone) : <span class="muted">paused</span>}</td>
            <td>
              <When at={s.last_fire?.enqueued_at ?? s.last_enqueued_at} />
            </td>
            <td class="last-result">
              <LastResult s={s} />
              {s.last_error && (
                <div class="error" title={s.last_error}>
                  cannot fire: {s.last_error}
                </div>
              )}
            </td>
            <td title={s.last_skip_reason ?? ""}>{s.skipped_count > 0 ? s.skipped_count : <span class="muted">0</span>}</td>
            <td class="status">{s.active ? <Badge value="active" /> : <Badge value="paused" />}</td>
            <td>
              <div class="actions">
                {s.active ? <ActionButton label="Pause" run={act(s.slug, "pause")} done={changed} /> : <ActionButton label="Resume" run={act(s.slug, "resume")} done={changed} />}
                <ActionButton label="Trigger" run={act(s.slug, "trigger")} done={changed} />
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
