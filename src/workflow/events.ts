import { WORKFLOW_DEFAULTS } from "../core/defaults.ts";
import { ValidationError } from "../core/errors.ts";

/**
 * An event's payload as JSON text, once (null for none), refused before anything is stored when JSON cannot hold
 * it or it is over the size limit; `name` must be a non-empty string without NUL.
 * @throws ValidationError naming what is wrong.
 */
export function eventPayload(name: string, payload: unknown): string | null {
  if (typeof name !== "string" || name === "" || name.includes("\u0000")) {
    throw new ValidationError(`flywheel: an event needs a non-empty name without NUL, got ${JSON.stringify(name)}`, "name");
  }
  if (payload === undefined) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (error) {
    throw new ValidationError(`flywheel: event ${JSON.stringify(name)}: payload is not JSON: ${(error as Error).message}`, "payload");
  }
  if (json === undefined) throw new ValidationError(`flywheel: event ${JSON.stringify(name)}: payload is not JSON`, "payload");
  if (Buffer.byteLength(json) > WORKFLOW_DEFAULTS.maxOutputBytes) {
    throw new ValidationError(`flywheel: event ${JSON.stringify(name)}: payload is over ${WORKFLOW_DEFAULTS.maxOutputBytes} bytes`, "payload");
  }
  return json;
}
