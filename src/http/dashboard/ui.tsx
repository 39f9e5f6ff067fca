import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { ThroughputJson } from "../wire.ts";
import { ApiError } from "./api.ts";
import { localTime, relative } from "./format.ts";

/** What a view loads: the data (kept while a reload runs), or the error of the last load. */
export interface Loaded<T> {
  data: T | null;
  error: string | null;
}

/** Loads `load()` now and whenever one of `deps` changes (the live tick among them). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null });
  useEffect(() => {
    let current = true;
    load().then(
      (data) => current && setState({ data, error: null }),
      (error: unknown) => current && setState((s) => ({ data: s.data, error: (error as Error).message })),
    );
    return () => {
      current = false;
    };
  }, deps);
  return state;
}

/** A view's frame: its data, or what went wrong, or a loading line. */
export function Loading<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  return (
    <>
      {loaded.error && <p class="error" role="alert">{loaded.error}</p>}
      {loaded.data === null ? !loaded.error && <p class="muted">Loading…</p> : children(loaded.data)}
    </>
  );
}

/** A job state or run outcome, coloured by what it means. */
export function Badge({ value }: { value: string | null }) {
  if (value === null) return <span class="muted">–</span>;
  return <span class={`badge ${value}`}>{value}</span>;
}

/** A time shown relative to now, exact on hover. */
export function When({ at }: { at: string | null }) {
  return <time title={localTime(at)}>{relative(at)}</time>;
}

/** A table's header row; `""` for a column without a heading (the row's buttons). */
export function TableHead({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) => (
          <th key={i}>{c}</th>
        ))}
      </tr>
    </thead>
  );
}

/** A section with a heading. */
export function Section({ title, children, aside }: { title: string; children: ComponentChildren; aside?: ComponentChildren }) {
  return (
    <section>
      <h2>
        {title}
        {aside && <span class="aside">{aside}</span>}
      </h2>
      {children}
    </section>
  );
}

/**
 * A button that makes a change through the API: disabled while it runs, the server's refusal shown next to it,
 * `done` called after it worked (views reload then).
 */
export function ActionButton({ label, run, done, danger }: { label: string; run: () => Promise<unknown>; done?: () => void; danger?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const click = async () => {
    setBusy(true);
    setError(null);
    try {
      await run();
      done?.();
    } catch (e) {
      setError(e instanceof ApiError ? e.message.replace(/^flywheel: /, "") : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={danger ? "danger" : ""} disabled={busy} onClick={click}>
        {label}
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

/** Attempts finished per minute over the last hour: succeeded as a line, failed as red bars. */
export function Sparkline({ throughput }: { throughput: ThroughputJson }) {
  const { buckets } = throughput;
  const width = 300;
  const height = 40;
  const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed));
  const x = (i: number) => (i / Math.max(1, buckets.length - 1)) * width;
  const y = (n: number) => height - (n / max) * (height - 2) - 1;
  const line = buckets.map((b, i) => `${x(i).toFixed(1)},${y(b.succeeded).toFixed(1)}`).join(" ");
  const total = buckets.reduce((sum, b) => ({ ok: sum.ok + b.succeeded, failed: sum.failed + b.failed }), { ok: 0, failed: 0 });
  return (
    <figure class="sparkline">
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label="attempts per minute, last hour">
        {buckets.map((b, i) => b.failed > 0 && <rect key={b.start} class="failed" x={x(i) - 1.5} y={y(b.failed)} width={3} height={height - y(b.failed)} />)}
        <polyline class="succeeded" points={line} />
      </svg>
      <figcaption>
        last hour on this node: <b>{total.ok}</b> succeeded, <b class={total.failed ? "bad" : ""}>{total.failed}</b> failed attempts
      </figcaption>
    </figure>
  );
}
