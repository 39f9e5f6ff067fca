/**
 * The floor: a bare Bun process kept alive by a 1 s `setInterval` that does nothing. Whatever a Bun program costs
 * just by being alive (its event loop, JavaScriptCore's GC and JIT threads) shows here; no library can go below it.
 */
import { idleUntilTerminated } from "./child.ts";

const timer = setInterval(() => {}, 1000);

await idleUntilTerminated({ version: "bare Bun", config: "setInterval(() => {}, 1000), nothing else" }, async () => clearInterval(timer));
