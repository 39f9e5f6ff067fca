import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { JobPage } from "./job.tsx";
import { Jobs, type JobFilter } from "./jobs.tsx";
import { useLive } from "./live.ts";
import { Overview } from "./overview.tsx";
import { forgetToken, onTokenChange, setTokenAsker, storedToken } from "./token.ts";

// The dashboard (SPEC §19): a single page over /api/v1, routed by the URL's hash so the server serves one file.
//   #/              overview: queues, throughput, schedules, failures, kinds
//   #/jobs?…        jobs, filtered and paged
//   #/jobs/<id>     one job with its runs and steps

type Route = { page: "overview" } | { page: "jobs"; filter: JobFilter } | { page: "job"; id: string };

function parseRoute(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#/, "").split("?");
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job) return { page: "job", id: decodeURIComponent(job[1]!) };
  if (path === "/jobs") {
    const params = new URLSearchParams(query);
    const filter: JobFilter = {};
    for (const key of ["state", "kind", "queue", "before"] as const) {
      const value = params.get(key);
      if (value) filter[key] = value;
    }
    return { page: "jobs", filter };
  }
  return { page: "overview" };
}

function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function App() {
  const route = useHashRoute();
  const { live, tick: liveTick } = useLive();
  const [ownTick, setOwnTick] = useState(0);
  const tick = liveTick + ownTick;
  const reload = () => setOwnTick((t) => t + 1);
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          flywheel
        </a>
        <nav>
          <a href="#/" class={route.page === "overview" ? "current" : ""}>
            Overview
          </a>
          <a href="#/jobs" class={route.page !== "overview" ? "current" : ""}>
            Jobs
          </a>
        </nav>
        <span class={`live ${live ? "on" : "off"}`} title={live ? "live updates on" : "reconnecting to the event stream"}>
          {live ? "● live" : "○ offline"}
        </span>
        <TokenStatus />
      </header>
      <main>
        {route.page === "overview" && <Overview tick={tick} reload={reload} />}
        {route.page === "jobs" && <Jobs filter={route.filter} tick={tick} />}
        {route.page === "job" && <JobPage id={route.id} tick={tick} reload={reload} />}
      </main>
      <TokenDialog />
    </>
  );
}

function TokenStatus() {
  const [held, setHeld] = useState(storedToken() !== null);
  useEffect(() => onTokenChange(() => setHeld(storedToken() !== null)), []);
  if (!held) return null;
  return (
    <button type="button" class="link" title="The API token is kept in this tab only" onClick={forgetToken}>
      forget token
    </button>
  );
}

/** Asks for the API token when a change (or a read from another host) needs it; answers token.ts's askToken. */
function TokenDialog() {
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [reason, setReason] = useState("");
  const pending = useRef<((token: string | null) => void) | null>(null);
  useEffect(() => {
    setTokenAsker((why) => {
      setReason(why.replace(/^flywheel: /, ""));
      pending.current?.(null);
      dialog.current?.showModal();
      return new Promise((resolve) => (pending.current = resolve));
    });
  }, []);
  const finish = (token: string | null) => {
    pending.current?.(token);
    pending.current = null;
    if (input.current) input.current.value = "";
    dialog.current?.close();
  };
  return (
    <dialog ref={dialog} class="token" onCancel={() => finish(null)}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          finish(input.current?.value ?? null);
        }}
      >
        <h3>API token</h3>
        <p>{reason}</p>
        <input ref={input} type="password" name="token" autocomplete="off" placeholder="token" aria-label="API token" />
        <p class="muted">Kept in this tab (sessionStorage) until it closes.</p>
        <div class="buttons">
          <button type="button" onClick={() => finish(null)}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Use token
          </button>
        </div>
      </form>
    </dialog>
  );
}

// Framed by another page, the dashboard's buttons could be clicked through a decoy: it refuses to render there.
if (window.top === window.self) render(<App />, document.getElementById("app")!);
else document.body.textContent = "The flywheel dashboard does not run inside a frame; open it directly.";
