import { isLoopbackHost } from "../core/loopback.ts";
import { UpdateError } from "./update-error.ts";

/** The rule {@link assertUpdateUrl} enforces, as its refusals state it. */
export const UPDATE_URL_RULE = "update URLs must be https (plain http only to a loopback address: 127.0.0.0/8, ::1, localhost)";

/**
 * Returns `url` parsed when self-update may fetch it, else throws {@link UpdateError} `refused` naming the URL,
 * `role` (what the URL is for, e.g. "release source") and the rule (SPEC §13). `https:` is always allowed,
 * `http:` only to a loopback host (the local fake release server in tests); `file:`, `data:` and every other
 * scheme are refused, since any of them would let a release answer point the installer at a local file or an
 * unauthenticated network path. Called before every request and for every redirect hop, so a refusal always
 * comes before any byte is sent to the refused address.
 */
export function assertUpdateUrl(url: string, role: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UpdateError("refused", `flywheel: refusing to fetch ${JSON.stringify(url)} (${role}): not a URL; ${UPDATE_URL_RULE}`);
  }
  if (parsed.protocol === "https:") return parsed;
  if (parsed.protocol === "http:" && isLoopbackHost(parsed.hostname)) return parsed;
  throw new UpdateError("refused", `flywheel: refusing to fetch ${url} (${role}): ${UPDATE_URL_RULE}`);
}
