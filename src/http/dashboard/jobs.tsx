import { JOB_STATES } from "../../core/types.ts";
import type { JobListResponse } from "../wire.ts";
import { api } from "./api.ts";
import { shortId } from "./format.ts";
import { Badge, Loading, TableHead, useLoad, When } from "./ui.tsx";

/** The jobs page's filters and cursor, as they appear in its URL (`#/jobs?state=…&kind=…&queue=…&before=…`). */
export type JobFilter = Partial<Record<"state" | "kind" | "queue" | "before", string>>;

/** The URL of the jobs page showing `filter`. */
export function jobsHref(filter: JobFilter): string {
  const query = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => Boolean(e[1]))).toString();
  return `#/jobs${query ? `?${query}` : ""}`;
}

/** Jobs newest first, filtered by state, kind and queue, a page at a time. */
export function Jobs({ filter, tick }: { filter: JobFilter; tick: number }) {
  const query = new URLSearchParams({ limit: "50", ...filter }).toString();
  const loaded = useLoad(() => api<JobListResponse>(`/api/v1/jobs?${query}`), [query, tick]);
  const set = (key: keyof JobFilter, value: string) => {
    location.hash = jobsHref({ ...filter, [key]: value || undefined, before: undefined });
  };
  return (
    <>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State{" "}
          <select name="state" value={filter.state ?? ""} onChange={(e) => set("state", e.currentTarget.value)}>
            <option value="">any</option>
            {JOB_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind <input name="kind" value={filter.kind ?? ""} placeholder="any" onChange={(e) => set("kind", e.currentTarget.value.trim())} />
        </label>
        <label>
          Queue <input name="queue" value={filter.queue ?? ""} placeholder="any" onChange={(e) => set("queue", e.currentTarget.value.trim())} />
        </label>
        {(filter.state || filter.kind || filter.queue) && <a href="#/jobs">clear</a>}
      </form>
      <Loading loaded={loaded}>
        {(page) => (
          <>
            {page.jobs.length === 0 ? (
              <p class="muted">No jobs{filter.before ? " older than these" : ""}.</p>
            ) : (
              <table class="jobs">
                <TableHead columns={["Job", "Kind", "Queue", "State", "Attempt", "Created", "Scheduled", "Finished"]} />
                <tbody>
                  {page.jobs.map((j) => (
                    <tr key={j.id}>
                      <td>
                        <a href={`#/jobs/${j.id}`}>{shortId(j.id)}</a>
                      </td>
                      <td>{j.kind}</td>
                      <td>{j.queue}</td>
                      <td>
                        <Badge value={j.state} />
                      </td>
                      <td>
                        {j.attempt}/{j.max_attempts}
                      </td>
                      <td>
                        <When at={j.created_at} />
                      </td>
                      <td>
                        <When at={j.scheduled_at} />
                      </td>
                      <td>
                        <When at={j.finalized_at} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <nav class="pager">
              {filter.before && <a href={jobsHref({ ...filter, before: undefined })}>← newest</a>}
              {page.next_before && <a href={jobsHref({ ...filter, before: page.next_before })}>older →</a>}
            </nav>
          </>
        )}
      </Loading>
    </>
  );
}
