import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../../src/update/release.ts";

/** One release the fake server publishes: its version (no `v`) and asset name → content. */
export interface FakeRelease {
  version: string;
  assets: Record<string, Uint8Array | string>;
  /** Asset name → `browser_download_url` to announce instead of the server's own download path. */
  urls?: Record<string, string>;
}

/** A GitHub-Releases-shaped API on 127.0.0.1 (SPEC §13), with a log of the paths it served. */
export interface FakeReleaseServer {
  /** Base URL to put in `FLYWHEEL_UPDATE_URL`. */
  url: string;
  /** Every request path, in order, so tests can assert that nothing (or no download) was fetched. */
  requests: string[];
  /** Replaces the published releases; `latest` defaults to the last one. */
  publish(releases: FakeRelease[], latest?: string): void;
  /** While true, every request hangs until the server stops (for timeout tests). */
  hang: boolean;
  /** A URL on this server that answers `302 Location: <location>`; `/loop` redirects to itself forever. */
  redirectTo(location: string): string;
  stop(): Promise<void>;
}

/** `checksums.txt` content in sha256sum format for the given assets. */
export function checksumsFor(assets: Record<string, Uint8Array | string>): string {
  return Object.entries(assets)
    .map(([name, body]) => `${sha256Hex(typeof body === "string" ? new TextEncoder().encode(body) : body)}  ${name}\n`)
    .join("");
}

/** Starts the fake release server on an ephemeral port. */
export function startReleaseServer(): FakeReleaseServer {
  let releases: FakeRelease[] = [];
  let latest: string | undefined;
  const requests: string[] = [];
  const state = { hang: false };

  const json = (r: FakeRelease, origin: string) => ({
    tag_name: `v${r.version}`,
    name: `flywheel ${r.version}`,
    draft: false,
    assets: Object.keys(r.assets).map((name) => ({
      name,
      size: 0,
      browser_download_url: r.urls?.[name] ?? `${origin}/download/v${r.version}/${encodeURIComponent(name)}`,
    })),
  });

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      requests.push(url.pathname);
      if (state.hang) return new Promise<Response>(() => {});
      const origin = url.origin;
      if (url.pathname === "/redirect") return new Response(null, { status: 302, headers: { location: url.searchParams.get("to") ?? "/" } });
      if (url.pathname === "/loop") return new Response(null, { status: 302, headers: { location: "/loop" } });
      if (url.pathname === "/releases/latest") {
        const r = releases.find((x) => x.version === latest);
        return r ? Response.json(json(r, origin)) : new Response("not found", { status: 404 });
      }
      const tag = /^\/releases\/tags\/v(.+)$/.exec(url.pathname);
      if (tag) {
        const r = releases.find((x) => x.version === tag[1]);
        return r ? Response.json(json(r, origin)) : Response.json({ message: "Not Found" }, { status: 404 });
      }
      const dl = /^\/download\/v([^/]+)\/(.+)$/.exec(url.pathname);
      if (dl) {
        const body = releases.find((x) => x.version === dl[1])?.assets[decodeURIComponent(dl[2]!)];
        return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
      }
      return new Response("not found", { status: 404 });
    },
  });

  const base = `http://127.0.0.1:${server.port}`;
  return {
    url: base,
    redirectTo: (location) => `${base}/redirect?to=${encodeURIComponent(location)}`,
    requests,
    publish(list, newest) {
      releases = list;
      latest = newest ?? list.at(-1)?.version;
    },
    get hang() {
      return state.hang;
    },
    set hang(v: boolean) {
      state.hang = v;
    },
    async stop() {
      await server.stop(true);
    },
  };
}

/**
 * Starts a release server and a temp directory before the file's tests and removes both after; `ready`
 * receives them (the test file keeps them in its own variables).
 */
export function useReleaseServer(prefix: string, ready: (server: FakeReleaseServer, root: string) => void): void {
  let server: FakeReleaseServer;
  let root: string;
  beforeAll(() => {
    server = startReleaseServer();
    root = mkdtempSync(join(tmpdir(), prefix));
    ready(server, root);
  });
  afterAll(async () => {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  });
}
