import type { JobDetailResponse, RunJson } from "../wire.ts";
import { api } from "./api.ts";
import { duration, localTime } from "./format.ts";
import { ActionButton, Badge, Loading, Section, TableHead, useLoad, When } from "./ui.tsx";

const FINISHED = ["succeeded", "cancelled", "discarded"];

/** One job: its fields, every attempt with exit code, duration, stdout, stderr and error, its workflow steps and its history. */
export function JobPage({ id, tick, reload }: { id: string; tick: number; reload: () => void }) {
  const loaded = useLoad(() => api<JobDetailResponse>(`/api/v1/jobs/${encodeURIComponent(id)}`), [id, tick]);
  return (
    <Loading loaded={loaded}>
      {({ job, runs, steps, history }) => (
        <>
          <h2 class="job-title">
            {job.kind} <Badge value={job.state} /> <code>{job.id}</code>
          </h2>
          <div class="actions">
            {!FINISHED.includes(job.state) && <ActionButton label="Cancel" danger run={() => api(`/api/v1/jobs/${job.id}/cancel`, { method: "POST" })} done={reload} />}
            {job.state !== "running" && <ActionButton label="Retry" run={() => api(`/api/v1/jobs/${job.id}/retry`, { method: "POST" })} done={reload} />}
          </div>
          <dl class="fields">
            <Field name="queue" value={job.queue} />
            <Field name="priority" value={job.priority} />
            <Field name="attempt" value={`${job.attempt} of ${job.max_attempts}`} />
            <Field name="created" value={localTime(job.created_at)} />
            <Field name="scheduled" value={localTime(job.scheduled_at)} />
            <Field name="finished" value={localTime(job.finalized_at)} />
            {job.wait_reason && <Field name="waiting for" value={`${job.wait_reason}${job.wake_at ? ` until ${localTime(job.wake_at)}` : ""}`} />}
            {job.unique_key && <Field name="unique key" value={job.unique_key} />}
            {job.parent_job_id && <Field name="parent" value={<a href={`#/jobs/${job.parent_job_id}`}>{job.parent_job_id}</a>} />}
            {job.tags.length > 0 && <Field name="tags" value={job.tags.join(", ")} />}
          </dl>
          <Section title="Args">
            <pre class="json">{JSON.stringify(job.args, null, 2)}</pre>
          </Section>
          <Section title={`Runs (${runs.length})`}>
            {runs.length === 0 ? <p class="muted">Not run yet.</p> : [...runs].reverse().map((run) => <Run key={run.id} run={run} />)}
          </Section>
          {steps.length > 0 && (
            <Section title="Workflow steps">
              <table>
                <TableHead columns={["Step", "Status", "Tries", "Started", "Finished", "Output or error"]} />
                <tbody>
                  {steps.map((s) => (
                    <tr key={s.key}>
                      <td>
                        <code>{s.key}</code>
                      </td>
                      <td>
                        <Badge value={s.status} />
                      </td>
                      <td>{s.attempts}</td>
                      <td>
                        <When at={s.started_at} />
                      </td>
                      <td>
                        <When at={s.finished_at} />
                      </td>
                      <td class="message">{s.error ?? (s.output === null ? "" : JSON.stringify(s.output))}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
          )}
          <Section title="History" aside="what happened besides its attempts">
            <table class="history">
              <TableHead columns={["When", "What", "By", "Detail"]} />
              <tbody>
                {history.map((h, i) => (
                  <tr key={`${h.at}-${i}`} data-action={h.action}>
                    <td>
                      <When at={h.at} />
                    </td>
                    <td>{h.action}</td>
                    <td>{h.actor}</td>
                    <td class="message">{h.detail === null ? "" : JSON.stringify(h.detail)}</td>
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

function Field({ name, value }: { name: string; value: unknown }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{value as string}</dd>
    </>
  );
}

/** What a command worker stores on a run (SPEC §11); null for other workers' output. */
function commandOutput(output: unknown): { exit_code?: number | null; signal?: string | null; stdout?: string; stderr?: string; truncated?: boolean } | null {
  return typeof output === "object" && output !== null && ("stdout" in output || "stderr" in output) ? (output as Record<string, never>) : null;
}

function Run({ run }: { run: RunJson }) {
  const command = commandOutput(run.output);
  return (
    <article class="run" data-attempt={run.attempt}>
      <header>
        <b>Attempt {run.attempt}</b> <Badge value={run.outcome} />
        {command?.exit_code !== undefined && command.exit_code !== null && <span class="exit">exit {command.exit_code}</span>}
        {command?.signal && <span class="exit">signal {command.signal}</span>}
        <span class="muted">
          {duration(run.duration_ms)} · started {localTime(run.started_at)} · {run.executor_id}
        </span>
      </header>
      {run.error_message && (
        <p class="error">
          {run.error_class && <b>{run.error_class}: </b>}
          {run.error_message}
        </p>
      )}
      {command ? (
        <>
          {command.stdout ? <Stream name="stdout" text={command.stdout} /> : null}
          {command.stderr ? <Stream name="stderr" text={command.stderr} /> : null}
        </>
      ) : (
        run.output !== null && run.output !== undefined && <Stream name="output" text={JSON.stringify(run.output, null, 2)} />
      )}
    </article>
  );
}

function Stream({ name, text }: { name: string; text: string }) {
  return (
    <div class={`stream ${name}`}>
      <h4>{name}</h4>
      <pre>{text}</pre>
    </div>
  );
}
