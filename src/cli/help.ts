import type { ArgDef, ArgsDef, CommandDef, CommandMeta } from "citty";
import { painter } from "./color.ts";

// Help text in the manner of gh and bun: left-aligned sections (USAGE, COMMANDS, ARGUMENTS, FLAGS, EXAMPLES),
// built from citty's command metadata. citty's own renderer is not used: it centres columns, prints ANSI
// codes whatever the output is, and has no place for examples.

declare module "citty" {
  interface CommandMeta {
    /** Command lines shown under EXAMPLES in `--help`, without the leading `$ `; a `# …` entry is a comment line. */
    examples?: string[];
  }
}

/** A command as help shows it: its definition and the words that run it (`["jobs", "ls"]`; `[]` for flywheel itself). */
export interface HelpTarget {
  cmd: CommandDef<any>;
  path: string[];
}

/** Flags `main.ts` handles for every command; listed under GLOBAL FLAGS of the top-level help. */
const GLOBAL_FLAGS: [string, string][] = [
  ["--no-color", "Print no colour (also: NO_COLOR=1; colour is only ever used on a terminal)"],
  ["--debug", "Print the stack trace of an error"],
  ["-h, --help", "Show help for a command"],
  ["--version", "Print the version"],
];

/**
 * The help of `cmd`, for the stream `fd` (colour only when it is a terminal). A command with subcommands lists
 * them; a runnable command lists its arguments and flags. Both end with the command's `meta.examples`.
 */
export async function renderHelp({ cmd, path }: HelpTarget, fd: 1 | 2 = 1): Promise<string> {
  const paint = painter(fd);
  const meta: CommandMeta = (await resolveValue(cmd.meta)) ?? {};
  const args: ArgsDef = (await resolveValue(cmd.args)) ?? {};
  const subs = await resolveValue(cmd.subCommands);
  const name = ["flywheel", ...path].join(" ");
  const out: string[] = [];
  const section = (title: string, lines: string[]) => {
    if (lines.length > 0) out.push("", paint.bold(title), ...lines.map((l) => `  ${l}`));
  };

  if (meta.description) out.push(meta.description);
  const positionals = Object.entries(args).filter(([, d]) => d.type === "positional");
  const flags = Object.entries(args).filter(([, d]) => d.type !== "positional");
  if (subs && Object.keys(subs).length > 0) {
    section("USAGE", [`${name} <command> [flags]`]);
    const rows: [string, string][] = [];
    for (const [sub, def] of Object.entries(subs)) {
      const subMeta: CommandMeta | undefined = await resolveValue((await resolveValue(def))?.meta);
      if (!subMeta?.hidden) rows.push([sub, summary(subMeta?.description ?? "")]);
    }
    section(path.length === 0 ? "COMMANDS" : "SUBCOMMANDS", columns(rows));
  } else {
    const words = positionals.map(([key, d]) => (isRequired(d) ? `<${key}>` : `[<${key}>]`));
    const required = flags.filter(([, d]) => isRequired(d)).map(([key, d]) => `--${key} ${hint(key, d)}`.trimEnd());
    section("USAGE", [[name, ...words, ...required, "[flags]"].join(" ")]);
    section("ARGUMENTS", columns(positionals.map(([key, d]) => [`<${key}>`, describe(d)])));
  }
  const aliases = meta.alias === undefined ? [] : Array.isArray(meta.alias) ? meta.alias : [meta.alias];
  section("ALIASES", aliases.length > 0 ? [aliases.map((a) => ["flywheel", ...path.slice(0, -1), a].join(" ")).join(", ")] : []);
  const flagRows = flags.map(([key, d]): [string, string] => [flagLabel(key, d), describe(d)]);
  section("FLAGS", columns(path.length === 0 ? GLOBAL_FLAGS : [...flagRows, ["-h, --help", "Show help for this command"]]));
  section("EXAMPLES", (meta.examples ?? []).map((e) => (e.startsWith("#") ? paint.dim(e) : `$ ${e}`)));
  if (subs && Object.keys(subs).length > 0) section("LEARN MORE", [`Run \`${name} <command> --help\` for more about a command.`]);
  return out.join("\n");
}

/** The first sentence of a description, for command lists: up to the first `. ` or `, e.g.`. */
export function summary(description: string): string {
  return description.split(/\.\s|, e\.g\.\s|; /)[0]!.replace(/\.$/, "");
}

function flagLabel(key: string, d: ArgDef): string {
  const alias = "alias" in d && d.alias !== undefined ? (Array.isArray(d.alias) ? d.alias : [d.alias]) : [];
  const names = [...alias.map((a) => (a.length === 1 ? `-${a}` : `--${a}`)), `--${key}`].join(", ");
  return `${names} ${hint(key, d)}`.trimEnd();
}

function hint(key: string, d: ArgDef): string {
  if (d.type === "boolean" || d.type === "positional") return "";
  if (d.type === "enum" && d.options?.length) return `<${d.options.join("|")}>`;
  return `<${d.valueHint ?? key}>`;
}

function describe(d: ArgDef): string {
  const notes = [isRequired(d) && d.type !== "positional" ? "(required)" : "", d.default !== undefined ? `(default ${String(d.default)})` : ""];
  return [d.description ?? "", ...notes].filter(Boolean).join(" ");
}

function isRequired(d: ArgDef): boolean {
  return d.type === "positional" ? d.required !== false && d.default === undefined : d.required === true && d.default === undefined;
}

/** Two columns, the first padded to its widest entry; the second starts in one place. */
function columns(rows: [string, string][]): string[] {
  const w = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => (b ? `${a.padEnd(w)}  ${b}` : a));
}

/** A citty `Resolvable` (value, promise, or function returning either) resolved. */
export async function resolveValue<T>(value: T | Promise<T> | (() => T) | (() => Promise<T>) | undefined): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}
