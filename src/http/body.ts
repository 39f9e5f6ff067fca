import * as v from "valibot";
import { HttpError } from "./errors.ts";

/**
 * Reads a request's JSON body, at most `maxBytes` of it: a declared length over the cap is refused before
 * reading, a chunked body as soon as it passes the cap. Returns `undefined` for an empty body.
 * @throws HttpError 413 (too large) or 400 (not JSON).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return undefined;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks));
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, "invalid_json", `flywheel: the request body is not valid JSON: ${(error as Error).message}`);
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "payload_too_large", `flywheel: the request body is larger than ${maxBytes} bytes`);
}

/**
 * `value` checked against `schema`, or a 422 naming the first field that fails (`body.options.priority: …`).
 * `where` says which part of the request it is: `body`, `query` or `path`.
 */
export function validate<S extends v.GenericSchema>(schema: S, value: unknown, where: "body" | "query" | "path"): v.InferOutput<S> {
  const result = v.safeParse(schema, value, { abortPipeEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = v.getDotPath(issue);
  throw new HttpError(422, "validation", `flywheel: ${path ? `${where}.${path}` : where}: ${issue.message}`, { field: path ? `${where}.${path}` : where });
}
