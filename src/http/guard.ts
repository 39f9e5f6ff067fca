import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./errors.ts";
import { isLoopbackAddress, isLoopbackHost } from "../core/loopback.ts";

// Who may do what (SPEC §19). Reads are open to this machine only; writes, and reads from anywhere else, need the
// bearer token. A web page must not be able to drive the API from a visitor's browser: a foreign `Origin` is
// refused, bodies must be JSON (which a page cannot send cross-origin without a CORS preflight this server never
// grants), and a token-less read must name a loopback Host, so a DNS-rebound page reads nothing either.

/** What the guard needs to know about one request. */
export interface GuardInput {
  request: Request;
  url: URL;
  /** The peer's IP address, or null when Bun cannot tell (a closed socket). */
  peer: string | null;
  /** Whether the request changes something (anything but GET and HEAD). */
  write: boolean;
}

/** Checks a request to `/api/v1/…`; throws the {@link HttpError} to answer with when it may not go on. */
export class RequestGuard {
  readonly #tokenDigest: Buffer | null;

  constructor(apiToken: string | null) {
    this.#tokenDigest = apiToken === null ? null : digest(apiToken);
  }

  /** Whether writes can be made at all: a token is configured. */
  get writable(): boolean {
    return this.#tokenDigest !== null;
  }

  /** @throws HttpError 403 (foreign origin), 415 (not JSON) or 401 (token missing or wrong). */
  check({ request, url, peer, write }: GuardInput): void {
    const origin = request.headers.get("origin");
    if (origin !== null && originHost(origin) !== url.host) {
      throw new HttpError(403, "forbidden", `flywheel: requests from another origin (${origin}) are refused; call the API from a script or this server's dashboard`);
    }
    checkContentType(request);
    const authorization = request.headers.get("authorization");
    if (authorization !== null) {
      if (!this.#tokenMatches(authorization)) throw new HttpError(401, "unauthorized", this.#tokenDigest === null ? NO_TOKEN : "flywheel: wrong API token");
      return;
    }
    if (write) throw new HttpError(401, "unauthorized", this.#tokenDigest === null ? NO_TOKEN : "flywheel: writes need `Authorization: Bearer <token>`");
    if (peer === null || !isLoopbackAddress(peer) || !isLoopbackHost(url.hostname)) {
      throw new HttpError(401, "unauthorized", "flywheel: reads from another host need `Authorization: Bearer <token>`");
    }
  }

  /** Compares digests of equal length in constant time, so the comparison reveals nothing of the token. */
  #tokenMatches(authorization: string): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match || this.#tokenDigest === null) return false;
    return timingSafeEqual(digest(match[1]!), this.#tokenDigest);
  }
}

const NO_TOKEN = "flywheel: this server has no API token, so the API is read-only; set http.api_token or FLYWHEEL_API_TOKEN to allow writes";

/** The host of an `Origin` header; a TLS-terminating proxy changes the scheme, not the host. `null` and junk match nothing. */
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host || null;
  } catch {
    return null;
  }
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Bodies are JSON or nothing: a form or text body is refused even when empty, before anything reads it. */
function checkContentType(request: Request): void {
  const type = request.headers.get("content-type");
  const hasBody = request.headers.has("transfer-encoding") || Number(request.headers.get("content-length") ?? "0") > 0;
  if (type === null ? !hasBody : mediaType(type) === "application/json") return;
  throw new HttpError(415, "unsupported_media_type", `flywheel: request bodies must be application/json${type === null ? "" : `, not ${mediaType(type)}`}`);
}

function mediaType(contentType: string): string {
  return contentType.split(";")[0]!.trim().toLowerCase();
}
