import { VERSION } from "../core/version.ts";
import { CHECKSUMS_ASSET } from "./platform.ts";
import { parseVersion, stripV } from "./semver.ts";
import { UpdateError } from "./update-error.ts";
import { assertUpdateUrl } from "./url-policy.ts";

/** Where releases come from when `FLYWHEEL_UPDATE_URL` is not set: the GitHub Releases API of the project. */
export const DEFAULT_UPDATE_URL = "https://api.github.com/repos/flywheel-dev/flywheel";

/** One downloadable file of a release, as the GitHub Releases API describes it (the fields flywheel reads). */
export interface ReleaseAsset {
  name: string;
  browser_download_url: string;
}

/** A release, reduced to what self-update needs. */
export interface Release {
  /** The tag as published, e.g. `v1.2.3`. */
  tag: string;
  /** The tag without its `v`, e.g. `1.2.3`; this is the version inside asset names. */
  version: string;
  assets: ReleaseAsset[];
}

/** The `fetch` flywheel calls; a parameter so tests can count or fail requests without a server. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * The base of the GitHub-Releases-compatible API to ask: `FLYWHEEL_UPDATE_URL` when set and non-empty, else
 * {@link DEFAULT_UPDATE_URL}. A trailing slash is dropped so paths join cleanly.
 */
export function updateBaseUrl(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.FLYWHEEL_UPDATE_URL?.trim();
  return (fromEnv ? fromEnv : DEFAULT_UPDATE_URL).replace(/\/+$/, "");
}

/**
 * The URL of the release metadata: `<base>/releases/latest`, or `<base>/releases/tags/v<version>` when a
 * version is pinned (given with or without its `v`).
 */
export function releaseUrl(base: string, version?: string): string {
  return version === undefined ? `${base}/releases/latest` : `${base}/releases/tags/v${stripV(version)}`;
}

/**
 * Validates a release JSON object (`{ tag_name, assets: [{ name, browser_download_url }] }`); extra fields are
 * ignored, as the real API sends dozens. Throws {@link UpdateError} `release` naming the field that is wrong,
 * because a release we cannot read must never be half-used.
 */
export function parseRelease(json: unknown, source = "release"): Release {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new UpdateError("release", `flywheel: ${source} is not a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  const tag = obj.tag_name;
  if (typeof tag !== "string" || !parseVersion(tag)) {
    throw new UpdateError("release", `flywheel: ${source} has tag_name ${JSON.stringify(tag)}, expected vMAJOR.MINOR.PATCH`);
  }
  if (!Array.isArray(obj.assets)) {
    throw new UpdateError("release", `flywheel: ${source} has no assets array`);
  }
  const assets: ReleaseAsset[] = obj.assets.map((raw: unknown, i: number) => {
    const a = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof a.name !== "string" || typeof a.browser_download_url !== "string") {
      throw new UpdateError("release", `flywheel: ${source} assets[${i}] needs string name and browser_download_url`);
    }
    return { name: a.name, browser_download_url: a.browser_download_url };
  });
  return { tag, version: stripV(tag), assets };
}

/** The asset called `name`, or `undefined`. Names are matched exactly: GitHub keeps them case-sensitive. */
export function findAsset(release: Release, name: string): ReleaseAsset | undefined {
  return release.assets.find((a) => a.name === name);
}

/**
 * Parses `checksums.txt` in sha256sum format: `<64 hex>  <name>` per line, or `<64 hex> *<name>` (binary mode
 * marker). Blank lines are skipped; any other line throws {@link UpdateError} `release`, since a checksum file
 * we only half understand cannot vouch for anything. Hashes are returned lowercase.
 */
export function parseChecksums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new UpdateError("release", `flywheel: ${CHECKSUMS_ASSET} line ${i + 1} is not "<sha256>  <name>"`);
    sums.set(m[2]!, m[1]!.toLowerCase());
  }
  return sums;
}

/** SHA-256 of `bytes` as lowercase hex, the form `checksums.txt` uses. */
export function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/**
 * Throws {@link UpdateError} `checksum` unless `bytes` hash to `expected`. The message shows both hashes so a
 * bug report carries what was seen.
 */
export function verifyChecksum(name: string, bytes: Uint8Array, expected: string): void {
  const actual = sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) {
    throw new UpdateError(
      "checksum",
      `flywheel: checksum mismatch for ${name}: expected ${expected.toLowerCase()}, got ${actual}; nothing was changed`,
    );
  }
}

/** Options shared by the HTTP helpers below. `{}` means: global `fetch`, 30 s metadata / 10 min download timeouts. */
export interface HttpOptions {
  fetch?: FetchLike;
  /** Aborts the request; replaces the default timeout when given. */
  signal?: AbortSignal;
}

function headers(accept: string): Record<string, string> {
  // GitHub's API rejects requests without a User-Agent; naming ourselves also helps mirror operators.
  return { Accept: accept, "User-Agent": `flywheel/${VERSION}` };
}

/** Redirect hops one request may take; GitHub uses one (API rename, or asset → storage host). */
const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `url`, following redirects by hand so that every hop passes {@link assertUpdateUrl} before it is
 * requested: with `redirect: "follow"` a release host could bounce the download to plain http, or anywhere,
 * and the check would only see the final answer. `role` names the request in refusals.
 */
async function get(url: string, role: string, accept: string, signal: AbortSignal, fetchFn: FetchLike): Promise<Response> {
  let current = url;
  for (let hop = 0; ; hop++) {
    assertUpdateUrl(current, hop === 0 ? role : `${role}, redirected from ${url}`);
    let res: Response;
    try {
      res = await fetchFn(current, { headers: headers(accept), signal, redirect: "manual" });
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new UpdateError("network", `flywheel: could not reach ${current}: ${why}`, { cause });
    }
    const location = REDIRECT_STATUSES.has(res.status) ? res.headers.get("location") : null;
    if (location === null) return res;
    await res.body?.cancel();
    if (hop === MAX_REDIRECTS) {
      throw new UpdateError("network", `flywheel: ${url} redirected more than ${MAX_REDIRECTS} times; last to ${location}`);
    }
    // An unparseable Location is kept as written, so the check above refuses it by name on the next turn.
    current = URL.canParse(location, current) ? new URL(location, current).href : location;
  }
}

/**
 * Fetches and parses the latest release, or the release tagged `v<version>` when `version` is given.
 * A 404 on a pinned version becomes "no release v… at <base>"; other HTTP errors name status and URL.
 */
export async function fetchRelease(base: string, version?: string, options: HttpOptions = {}): Promise<Release> {
  const url = releaseUrl(base, version);
  const res = await get(url, "release source", "application/vnd.github+json", options.signal ?? AbortSignal.timeout(30_000), options.fetch ?? fetch);
  if (res.status === 404) {
    await res.body?.cancel();
    throw new UpdateError(
      "release",
      version === undefined ? `flywheel: no release found at ${url}` : `flywheel: no release v${stripV(version)} at ${base}`,
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new UpdateError("network", `flywheel: ${url} answered HTTP ${res.status}`);
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch (cause) {
    throw new UpdateError("release", `flywheel: ${url} did not return JSON`, { cause });
  }
  return parseRelease(json, url);
}

/** Called as a download's body arrives: bytes so far, and the total when the server declared one. */
export type DownloadProgress = (received: number, total: number | undefined) => void;

/** {@link HttpOptions} plus a progress callback for the body. */
export interface DownloadOptions extends HttpOptions {
  onProgress?: DownloadProgress;
}

/**
 * Downloads an asset completely into memory and returns its bytes. The whole body is read before anything is
 * written anywhere (a half-downloaded binary must never reach disk beside the real one), and a body shorter or
 * longer than `Content-Length` is rejected. `onProgress` sees every chunk as it arrives.
 */
export async function downloadAsset(asset: ReleaseAsset, options: DownloadOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const url = asset.browser_download_url;
  const res = await get(url, `download of ${asset.name}`, "application/octet-stream", options.signal ?? AbortSignal.timeout(600_000), options.fetch ?? fetch);
  if (!res.ok) {
    await res.body?.cancel();
    throw new UpdateError("network", `flywheel: download of ${asset.name} failed: HTTP ${res.status} from ${url}`);
  }
  // Content-Length describes the encoded body; only compare (and show progress against it) when the transfer was not compressed.
  const declaredHeader = res.headers.get("content-encoding") ? null : res.headers.get("content-length");
  const declared = declaredHeader === null || !/^\d+$/.test(declaredHeader) ? undefined : Number(declaredHeader);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readBody(res, declared, options.onProgress);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new UpdateError("network", `flywheel: download of ${asset.name} was interrupted: ${why}`, { cause });
  }
  if (declared !== undefined && declared !== bytes.byteLength) {
    throw new UpdateError(
      "network",
      `flywheel: download of ${asset.name} was truncated: got ${bytes.byteLength} of ${declared} bytes`,
    );
  }
  return bytes;
}

/** Reads a response body chunk by chunk, reporting progress, into one buffer. */
async function readBody(res: Response, total: number | undefined, onProgress: DownloadProgress | undefined): Promise<Uint8Array<ArrayBuffer>> {
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    received += chunk.byteLength;
    onProgress?.(received, total);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}
