/** A bench script's command line: its arguments, a usage exit, and flag values. */
export interface BenchArgs {
  argv: string[];
  /** Prints `<command>: <message>` and the usage line on stderr; exits 2. */
  usage(message: string): never;
  /** The value after `name`, or undefined when the flag is absent; a flag without a value is a usage error. */
  flag(name: string): string | undefined;
}

/**
 * Reads `process.argv` for a bench script named `command` (`bench:idle`): every `--flag` must be one of `known`
 * (or the script exits 2 with `usageLine`), so a misspelt flag never runs a long benchmark with its default.
 * @example const { argv, usage, flag } = benchArgs("bench:idle", "bun bench/idle.ts [--seconds N]", ["--seconds"]);
 */
export function benchArgs(command: string, usageLine: string, known: readonly string[], argv = process.argv.slice(2)): BenchArgs {
  const usage = (message: string): never => {
    console.error(`${command}: ${message}\nusage: ${usageLine}`);
    process.exit(2);
  };
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i === -1) return undefined;
    const value = argv[i + 1];
    if (value === undefined || value.startsWith("--")) usage(`${name} needs a value`);
    return value;
  };
  const allowed = new Set(known);
  for (const a of argv) if (a.startsWith("--") && !allowed.has(a)) usage(`unknown flag ${a}`);
  return { argv, usage, flag };
}
