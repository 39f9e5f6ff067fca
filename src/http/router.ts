import type { Server } from "bun";
import { HttpError } from "./errors.ts";

/** One API request as a handler sees it: path parameters decoded, the body read on demand. */
export interface ApiRequest {
  request: Request;
  url: URL;
  server: Server<unknown>;
  params: Record<string, string>;
  /** The JSON body (`undefined` when empty), read once, size-capped. */
  body(): Promise<unknown>;
}

/** Answers one route. */
export type Handler = (req: ApiRequest) => Promise<Response>;

/** A route: a method and a path pattern whose `:name` segments become params. */
export interface Route {
  method: "GET" | "POST" | "DELETE";
  pattern: string;
  handler: Handler;
}

/** The route matching a request, and its params; a path that exists under another method is a 405. */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): { route: Route; params: Record<string, string> } {
  const segments = pathname.split("/");
  let pathExists = false;
  for (const route of routes) {
    const params = matchPattern(route.pattern.split("/"), segments);
    if (params === null) continue;
    pathExists = true;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, params };
  }
  if (pathExists) throw new HttpError(405, "method_not_allowed", `flywheel: ${method} is not allowed on ${pathname}`);
  throw new HttpError(404, "not_found", `flywheel: no API endpoint ${pathname}`);
}

function matchPattern(pattern: string[], segments: string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = segments[i]!;
    if (want.startsWith(":")) {
      if (got === "") return null;
      params[want.slice(1)] = decodeSegment(got);
    } else if (want !== got) {
      return null;
    }
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "bad_request", `flywheel: malformed path segment ${JSON.stringify(segment)}`);
  }
}
