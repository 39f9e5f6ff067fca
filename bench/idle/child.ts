/**
 * The contract between `bench/idle.ts` and each idle system under `bench/idle/`: the system is started as
 * `bun bench/idle/<system>.ts '<json params>'`, sets itself up, prints one `@@IDLE@@ {info}` line once it is idle
 * (so warm-up is counted from there, not from a guess), and sits until SIGTERM, when it shuts down and exits.
 * The orchestrator owns the stores (it creates and drops them), so a child that has to be SIGKILLed leaks nothing.
 */

/** The line prefix the orchestrator waits for. */
export const IDLE_MARK = "@@IDLE@@";

/** What an idle system says about itself: printed in the report beside its figures. */
export interface IdleInfo {
  /** Library and exact version, e.g. `pg-boss 12.38.0`. */
  version: string;
  /** What it runs and with which poll settings (the library's defaults, stated from its source). */
  config: string;
}

/** Where a child's store is: whichever the orchestrator prepared for it. */
export interface IdleParams {
  pgUrl?: string;
  schema?: string;
  file?: string;
  redisUrl?: string;
  queue?: string;
}

/** The params the orchestrator passed (argv[2], JSON). */
export function idleParams(): IdleParams {
  return JSON.parse(process.argv[2] ?? "{}") as IdleParams;
}

/**
 * Announces the system idle and waits for SIGTERM or SIGINT, then runs `stop` and exits 0 (1 if `stop` throws).
 * Nothing else runs in the meantime: what the process does while waiting is the library's own cost.
 */
export async function idleUntilTerminated(info: IdleInfo, stop: () => Promise<void>): Promise<never> {
  const signalled = new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  process.stdout.write(`${IDLE_MARK} ${JSON.stringify(info)}\n`);
  await signalled;
  let code = 0;
  try {
    await stop();
  } catch (error) {
    console.error(`stop failed: ${(error as Error).message}`);
    code = 1;
  }
  process.exit(code);
}
