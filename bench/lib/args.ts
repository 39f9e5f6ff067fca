/** A bench script's command line: its arguments, a usage exit, and flag values. */
export interface BenchArgs {
  argv: string[];
  /** Prints `<command>: <message>` and the usage line on stderr; exits 2. */
  usage(message: string): never;
  /** The value after `name`, or undefined when the flag is absent; a flag without a value is a usage error. */
  flag(name: string): string | undefined;
  /** The integer after `name` (`fallback` when absent); one below `min` or not an integer is a usage error. */
  integer(name: string, fallback: number, min: number): number;
  /** The comma-separated integers after `name` (`fallback` when absent), each at least `min`. */
  integers(name: string, fallback: readonly number[], min: number): number[];
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
  const checked = (name: string, text: string, min: number): number => {
    const n = Number(text.trim());
    if (text.trim() === "" || !Number.isInteger(n) || n < min) usage(`${name} must be an integer ≥ ${min}, not ${JSON.stringify(text)}`);
    return n;
  };
  const integer = (name: string, fallback: number, min: number): number => {
    const value = flag(name);
    return value === undefined ? fallback : checked(name, value, min);
  };
  const integers = (name: string, fallback: readonly number[], min: number): number[] => {
    const value = flag(name);
    return value === undefined ? [...fallback] : value.split(",").map((part) => checked(name, part, min));
  };
  const allowed = new Set(known);
  for (const a of argv) if (a.startsWith("--") && !allowed.has(a)) usage(`unknown flag ${a}`);
  return { argv, usage, flag, integer, integers };
}
