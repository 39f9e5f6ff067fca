import { JOB_DEFAULTS } from "../../core/defaults.ts";
import type { OverviewResponse } from "../wire.ts";
import { api, noteServerWritable } from "./api.ts";
import { duration, shortId } from "./format.ts";
import { NodeTable } from "./nodes.tsx";
import { QueueTable } from "./queues.tsx";
import { ScheduleTable } from "./schedules.tsx";
import { Loading, Section, Sparkline, TableHead, useLoad, When } from "./ui.tsx";

/** The first screen: queues, throughput, schedules, recent failures, nodes and kinds. */
export function Overview({ tick, reload }: { tick: number; reload: () => void }) {
  const loaded = useLoad(async () => {
    const overview = await api<OverviewResponse>("/api/v1/overview");
    noteServerWritable(overview.node.writable);
    return overview;
  }, [tick]);
  return (
    <Loading loaded={loaded}>
      {(o) => (
        <>
          <div class="cards">
            <Card label="ready" value={o.health.ready} />
            <Card label="running" value={o.health.inflight} />
            <Card label="scheduled ahead" value={o.health.scheduled_ahead} />
            <Card label="lag" value={duration(o.health.lag_seconds * 1000)} bad={o.health.lag_seconds > 60} />
            <Card label="failed (24h)" value={o.failures.length} bad={o.failures.length > 0} />
            <Sparkline throughput={o.throughput} />
          </div>
          <Section title="Queues" aside="a paused queue is skipped by every node's claim">
            <QueueTable rows={o.queues} changed={reload} />
          </Section>
          <Section title="Schedules">
            <ScheduleTable schedules={o.schedules} changed={reload} />
          </Section>
          <Section title="Recent failures" aside="discarded in the last 24 h">
            {o.failures.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <table class="failures">
                <TableHead columns={["Job", "Kind", "Queue", "Attempts", "Error", "When"]} />
                <tbody>
                  {o.failures.map((f) => (
                    <tr key={f.job_id}>
                      <td>
                        <a href={`#/jobs/${f.job_id}`}>{shortId(f.job_id)}</a>
                      </td>
                      <td>{f.kind}</td>
                      <td>{f.queue}</td>
                      <td>{f.attempt}</td>
                      <td class="message">{f.error_message ?? f.error_class}</td>
                      <td>
                        <When at={f.finalized_at} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          <Section title="Nodes" aside="live nodes, from their heartbeats">
            <NodeTable nodes={o.nodes} />
          </Section>
          <Section title="Kinds" aside="registered on this node, with their defaults">
            <table>
              <TableHead columns={["Kind", "Queue", "Priority", "Max attempts", "Timeout", "Jobs"]} />
              <tbody>
                {o.kinds.map((k) => (
                  <tr key={k.kind}>
                    <td>
                      <a href={`#/jobs?kind=${encodeURIComponent(k.kind)}`}>{k.kind}</a>
                    </td>
                    <td>{k.queue ?? <span class="muted">{JOB_DEFAULTS.queue}</span>}</td>
                    <td>{k.priority ?? <span class="muted">{JOB_DEFAULTS.priority}</span>}</td>
                    <td>{k.max_attempts ?? <span class="muted">{JOB_DEFAULTS.maxAttempts}</span>}</td>
                    <td>{k.timeout_ms === null ? <span class="muted">–</span> : duration(k.timeout_ms)}</td>
                    <td class="counts">
                      {o.counts
                        .filter((c) => c.kind === k.kind)
                        .map((c) => (
                          <a key={c.state} href={`#/jobs?kind=${encodeURIComponent(k.kind)}&state=${c.state}`} class={`count ${c.state}`}>
                            {c.count} {c.state}
                          </a>
                        ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        </>
      )}
    </Loading>
  );
}

function Card({ label, value, bad }: { label: string; value: string | number; bad?: boolean }) {
  return (
    <div class={`card${bad ? " bad" : ""}`}>
      <div class="value">{value}</div>
      <div class="label">{label}</div>
    </div>
  );
}
