import { defineCommand } from "citty";
import { createLogger } from "../core/logger.ts";
import { parseHttpAddr, type HttpAddress } from "../daemon/config/index.ts";
import { ReloadRequests } from "../daemon/reload.ts";
import { runDaemon } from "../daemon/run.ts";
import { CONFIG_ARG, readConfig } from "./context.ts";
import { UsageError } from "./usage-error.ts";

/** `--http-addr host:port|off` over the config's address; undefined keeps the config's. */
function httpAddrFlag(value: unknown, configured: HttpAddress | null): HttpAddress | null {
  if (value === undefined) return configured;
  const text = String(value);
  if (text === "off" || text === "false") return null;
  const http = parseHttpAddr(text);
  if (http === null) throw new UsageError(`--http-addr: expected host:port or off, got ${JSON.stringify(text)}`);
  return http;
}

/**
 * `flywheel serve`: run the daemon (`runDaemon`: check the database for damage, migrate, register the command
 * workers, reconcile `schedules:`, then runners, scheduler and the HTTP server) until SIGINT/SIGTERM. The first
 * signal drains (in-flight jobs get `runtime.drain_timeout` to finish and their outcomes are recorded) and exits 0;
 * a second signal exits 1 at once. SIGHUP (or `flywheel reload`) re-reads the config and applies its schedules while
 * running jobs carry on; an invalid config is logged and the running one stays. A damaged database exits 1 with
 * one line.
 */
export default defineCommand({
  meta: {
    name: "serve",
    description: "Run the daemon: workers, scheduler and /healthz /readyz /metrics",
    examples: ["flywheel serve", "flywheel serve --config /etc/flywheel/flywheel.yaml", "flywheel serve --http-addr 127.0.0.1:0"],
  },
  args: {
    ...CONFIG_ARG,
    "http-addr": { type: "string", valueHint: "host:port|off", description: "Override runtime.http_addr (port 0 picks a free port)" },
  },
  async run({ args }) {
    const config = readConfig(args);
    const http = httpAddrFlag(args["http-addr"], config.runtime.httpAddr);
    const logger = createLogger({ level: config.log.level, format: config.log.format });

    const stop = new AbortController();
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        logger.info("flywheel: draining", { signal, drain_timeout_ms: config.runtime.drainTimeoutMs });
        stop.abort(new Error(`flywheel: ${signal}`));
        return;
      }
      // A second signal means the operator will not wait for the drain. Exiting here rather than in main.ts is
      // the one exception to "main.ts alone exits": nothing up the stack can run while the drain is awaited.
      logger.warn("flywheel: second signal, exiting without draining", { signal });
      process.exit(1);
    };
    // SIGHUP is the usual reload gesture (`systemctl reload`, `kill -HUP`); handling it also keeps its default
    // action, ending the process without a drain, from ever applying (SPEC §20: no signal may).
    const reloads = new ReloadRequests();
    const onHangup = () => reloads.request();
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onHangup);
    try {
      await runDaemon({ config, signal: stop.signal, logger, http, reloads, readConfig: () => readConfig(args) });
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("SIGHUP", onHangup);
    }
  },
});
