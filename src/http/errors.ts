import { AlreadyEnqueuedError, FlywheelError, type FlywheelErrorCode } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";

// Every failure of the API leaves as `{ "error": { "code", "message" } }` with a status a client can branch on.
// Library errors keep their FlywheelError code; what the HTTP layer itself refuses (a token, a content type, a
// body) gets a code of its own below.

/** Codes the HTTP layer adds to the library's {@link FlywheelErrorCode}s. */
export type HttpErrorCode =
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "bad_request"
  | "invalid_json"
  | "payload_too_large"
  | "unsupported_media_type"
  | "internal";

/** An error with the status and code the API answers with; `details` are added to the error object. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode | FlywheelErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/**
 * The status of each library error code the API can meet: a miss is 404, input the library refuses is 422, an
 * operation the target's state does not allow (or a unique key held) is 409, a database that cannot answer now
 * is 503. Anything else is the server's fault (500).
 */
const STATUS_BY_CODE: Partial<Record<FlywheelErrorCode, number>> = {
  job_not_found: 404,
  periodic_not_found: 404,
  validation: 422,
  invalid_duration: 422,
  invalid_schedule: 422,
  unknown_kind: 422,
  already_enqueued: 409,
  invalid_state: 409,
  conflict: 409,
  unavailable: 503,
  closed: 503,
  timeout: 504,
};

/** The JSON response for anything a handler threw; unexpected errors are logged and answered without their text. */
export function errorResponse(error: unknown, logger: Logger): Response {
  const { status, code, message, details } = describe(error);
  if (status >= 500) logger.warn("flywheel: http api request failed", { status, code, error: (error as Error)?.message ?? String(error) });
  const headers: Record<string, string> = status === 401 ? { "www-authenticate": 'Bearer realm="flywheel"' } : {};
  return jsonResponse({ error: { code, message, ...details } }, status, headers);
}

function describe(error: unknown): { status: number; code: string; message: string; details: Record<string, unknown> } {
  if (error instanceof HttpError) return { status: error.status, code: error.code, message: error.message, details: error.details };
  if (error instanceof AlreadyEnqueuedError) {
    return { status: 409, code: error.code, message: error.message, details: { existing_id: error.existingId, key: error.key } };
  }
  if (error instanceof FlywheelError) return { status: STATUS_BY_CODE[error.code] ?? 500, code: error.code, message: error.message, details: {} };
  return { status: 500, code: "internal", message: "flywheel: internal error (see the node's log)", details: {} };
}

/** A JSON response that no cache keeps and no browser sniffs into something else. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers },
  });
}
