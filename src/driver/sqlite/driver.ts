// Temporary: src/flywheel.ts still imports the driver from here; the driver lives in ./index.ts.
export { SqliteDriver, type SqliteDriverOptions } from "./index.ts";
