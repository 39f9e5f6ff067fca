// The control plane's defaults (SPEC §19), in one place like core/defaults.ts holds the runtime's: request and
// page sizes, the event stream's cadence and its per-client bound, the throughput window.

/** What the HTTP API and its event stream use when nothing says otherwise. */
export const HTTP_API_DEFAULTS = {
  /** Largest request body accepted, in bytes; larger ones are refused with 413 before they are read whole. */
  maxBodyBytes: 1_048_576,
  /** Jobs per `GET /api/v1/jobs` page when `limit` is not given, and the most one page may ask for. */
  listLimit: 50,
  maxListLimit: 500,
  /** Shortest API token accepted: a token guards every write, and reads from other hosts. */
  minTokenLength: 16,
  /**
   * A comment line on every open event stream this often, so proxies and the browser keep an idle stream open
   * (Bun's own idle timeout is switched off for event streams).
   */
  sseKeepAliveMs: 15_000,
  /** How long a browser waits before reconnecting a dropped stream (the `retry:` field). */
  sseRetryMs: 3_000,
  /**
   * Bytes an event stream may hold for a client that does not read. Past it the stream is closed: the client
   * reconnects and reloads, and the node's memory stays bounded whatever the client does.
   */
  sseClientBufferBytes: 1_048_576,
  /** The throughput sparkline: finished attempts counted per bucket, over this many buckets. */
  throughputBucketMs: 60_000,
  throughputBuckets: 60,
  /** Newest jobs of a schedule's kind and queue read to find each schedule's last fire. */
  scheduleScanJobs: 200,
} as const;
