import { FlywheelError } from "../core/errors.ts";
import { isLoopbackHost } from "../core/loopback.ts";
import { HTTP_API_DEFAULTS } from "../core/defaults.ts";

/**
 * The control plane's switches on a node's HTTP server (SPEC §19). `{}` means: API and dashboard on, no token
 * (reads from loopback only, every write refused).
 */
export interface ControlPlaneOptions {
  /** Serve `/api/v1/…`. Default true. */
  api?: boolean;
  /** Serve the dashboard at `/` (it needs the API). Default true. */
  dashboard?: boolean;
  /**
   * The bearer token writes need, and reads from a non-loopback address (at least 16 characters). Without one
   * the API is read-only, and the server refuses to bind a non-loopback address. The daemon takes it from
   * `http.api_token` or `FLYWHEEL_API_TOKEN`; library users pass it here.
   */
  apiToken?: string;
}

/** {@link ControlPlaneOptions} with its defaults applied and checked. */
export interface ControlPlaneSettings {
  api: boolean;
  dashboard: boolean;
  apiToken: string | null;
}

/**
 * Applies the defaults and checks that `hostname` may be served as asked: a token long enough, the dashboard
 * only with the API, and no API or dashboard on a non-loopback address without a token (anyone who can reach
 * the port could read every job's args and output).
 * @throws FlywheelError `config_invalid` with one line naming the fix.
 */
export function controlPlaneSettings(hostname: string, options: ControlPlaneOptions): ControlPlaneSettings {
  const api = options.api ?? true;
  const dashboard = options.dashboard ?? true;
  const apiToken = options.apiToken === undefined || options.apiToken === "" ? null : options.apiToken;
  if (apiToken !== null && apiToken.length < HTTP_API_DEFAULTS.minTokenLength) {
    throw new FlywheelError("config_invalid", `flywheel: http.api_token is too short: use at least ${HTTP_API_DEFAULTS.minTokenLength} characters (e.g. \`openssl rand -hex 24\`)`);
  }
  if (dashboard && !api) throw new FlywheelError("config_invalid", "flywheel: http.dashboard needs http.api: turn both off, or the API on");
  if ((api || dashboard) && apiToken === null && !isLoopbackHost(hostname)) {
    throw new FlywheelError(
      "config_invalid",
      `flywheel: refusing to serve the HTTP API on ${hostname}, which is not a loopback address, without a token: set http.api_token (or FLYWHEEL_API_TOKEN), or http: { api: false, dashboard: false }`,
    );
  }
  return { api, dashboard, apiToken };
}
