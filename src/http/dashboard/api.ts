import type { ErrorResponse } from "../wire.ts";
import { askToken, forgetToken, storedToken } from "./token.ts";

/** An error answer of the API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let serverWritable = true;

/**
 * Records whether the server takes writes at all (the overview's `node.writable`): a read-only server is told
 * so by its refusal, without first asking the operator for a token that cannot help.
 */
export function noteServerWritable(writable: boolean): void {
  serverWritable = writable;
}

/** Headers for a request to the API: the stored token when there is one. */
export function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * Calls the API and returns its JSON. A 401 asks for the token once (a read from another host needs it too,
 * and a stored token may be wrong) and tries again; a write without a stored token asks before sending.
 * @throws ApiError with the server's code and message.
 */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? "GET";
  if (method !== "GET" && serverWritable && !storedToken()) await askToken("Changes need the API token (http.api_token or FLYWHEEL_API_TOKEN).");
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { accept: "application/json", ...authHeaders() };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(path, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    const body = (await res.json().catch(() => null)) as (T & Partial<ErrorResponse>) | null;
    if (res.ok) return body as T;
    const error = body?.error ?? { code: "http", message: `${res.status} ${res.statusText}` };
    if (res.status === 401 && attempt === 0 && !error.message.includes("read-only")) {
      if (storedToken()) forgetToken();
      if (await askToken(error.message)) continue;
    }
    throw new ApiError(res.status, error.code, error.message);
  }
}
