import { useEffect, useState } from "preact/hooks";
import { authHeaders } from "./api.ts";
import { onTokenChange } from "./token.ts";

/** How long after an event the views reload, so a burst of events costs one reload (and a steady stream one per this). */
const SETTLE_MS = 400;
/** Views also reload this often, for what other nodes do (this node's stream carries its own events only). */
const REFRESH_MS = 15_000;
/** Wait before reconnecting a dropped stream. */
const RECONNECT_MS = 3_000;

/**
 * Follows `GET /api/v1/events?summary` (one event per batch saying how many of each: the views reload on any)
 * and returns `{ live, tick }`: whether the stream is open, and a number that
 * changes shortly after anything happens (and every 15 s), for views to reload on. The stream is read with
 * `fetch` rather than EventSource so the token can go in a header when the dashboard is opened from another host.
 */
export function useLive(): { live: boolean; tick: number } {
  const [live, setLive] = useState(false);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let restart = false;
    let controller = new AbortController();
    let settle: ReturnType<typeof setTimeout> | undefined;
    // The first event of a burst schedules the reload and the rest ride on it: pushing the reload back on every
    // event would freeze the views for as long as a busy node keeps sending.
    const bump = () => {
      settle ??= setTimeout(() => {
        settle = undefined;
        setTick((t) => t + 1);
      }, SETTLE_MS);
    };
    const follow = async () => {
      while (!stopped) {
        try {
          const res = await fetch("/api/v1/events?summary", { headers: { accept: "text/event-stream", ...authHeaders() }, signal: controller.signal });
          if (res.ok && res.body) {
            setLive(true);
            // A reader loop rather than for-await: Safari's streams are not async-iterable.
            const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
            for (let next = await reader.read(); !next.done; next = await reader.read()) if (/(^|\n)event: /.test(next.value)) bump();
          }
        } catch {
          // Dropped, refused or aborted: reconnect below unless stopped.
        }
        setLive(false);
        if (stopped) return;
        bump();
        if (restart) restart = false;
        else await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    };
    void follow();
    const refresh = setInterval(() => setTick((t) => t + 1), REFRESH_MS);
    // A token given later may open a stream a 401 closed: start over with it.
    const offToken = onTokenChange(() => {
      restart = true;
      controller.abort();
      controller = new AbortController();
    });
    return () => {
      stopped = true;
      controller.abort();
      clearInterval(refresh);
      clearTimeout(settle);
      offToken();
    };
  }, []);
  return { live, tick };
}
