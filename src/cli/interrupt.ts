// Commands that wait (status --watch, logs -f, schedule trigger --wait) end cleanly on Ctrl+C or SIGTERM: the
// wait is cut short and the command returns, so `withFlywheel` closes the database before the exit.

/** Ctrl+C (SIGINT) or SIGTERM, once either arrives; and a sleep that either cuts short. */
export interface Interrupt {
  /** Resolves at the first SIGINT or SIGTERM. */
  readonly stopped: Promise<void>;
  /** Whether a signal has arrived. */
  readonly signalled: boolean;
  /** Waits `ms`; resolves early, with `false`, when a signal arrives (else `true`). */
  sleep(ms: number): Promise<boolean>;
  /** Removes the signal handlers (the process's default for a later signal comes back). */
  dispose(): void;
}

/** Starts listening for SIGINT and SIGTERM. Call `dispose` when the wait is over. */
export function interrupt(): Interrupt {
  let signalled = false;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const onSignal = () => {
    signalled = true;
    resolveStopped();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    stopped,
    get signalled() {
      return signalled;
    },
    async sleep(ms) {
      if (signalled) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
      const woke = await Promise.race([tick, stopped.then(() => false)]);
      clearTimeout(timer);
      return woke;
    },
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
