// The daemon for library users: what `flywheel serve` runs, usable without the CLI.
//   import { loadConfig, runDaemon } from "flywheel/daemon";

export * from "./config/index.ts";
export { nodeOptions } from "./node-options.ts";
export { openFlywheel, type OpenOptions } from "./open.ts";
export { configSource, isConfigSource, parseSource } from "../periodic/source.ts";
export { reconcileSchedules } from "./reconcile.ts";
export { reconcileMessaging } from "./reconcile-messaging.ts";
export { needsRestart, reloadConfig, ReloadRequests } from "./reload.ts";
export { runDaemon, type RunDaemonOptions } from "./run.ts";
