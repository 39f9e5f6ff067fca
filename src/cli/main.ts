#!/usr/bin/env bun
import { defineCommand, parseArgs, runCommand, type ArgsDef, type CommandDef } from "citty";
import { closest } from "../core/closest.ts";
import { exitStatusOf } from "../core/errors.ts";
import { maybeNotifyUpdate } from "../update/check.ts";
import { VERSION } from "../core/version.ts";
import { disableColor } from "./color.ts";
import { renderHelp, resolveValue } from "./help.ts";
import { UsageError } from "./usage-error.ts";

// The only place that parses argv and exits (STYLE.md). Commands live one per file and throw on failure.
//
// citty's `runMain` is not used on purpose: it prints stack traces, exits 1 on usage errors (§12 wants 2) and
// ignores unknown flags, so a typo like `self-update --chek` would silently perform a real update. This file
// keeps citty's command definitions and parser, adds those three rules, and renders help itself (help.ts).

type Loader = () => Promise<CommandDef<any>>;

/** Every command, by name, imported on first use so `flywheel version` loads no database driver. Add new commands here. */
const commands: Record<string, Loader> = {
  init: () => import("./init.ts").then((m) => m.default),
  serve: () => import("./serve.ts").then((m) => m.default),
  reload: () => import("./reload.ts").then((m) => m.default),
  migrate: () => import("./migrate.ts").then((m) => m.default),
  enqueue: () => import("./enqueue.ts").then((m) => m.default),
  emit: () => import("./emit.ts").then((m) => m.default),
  jobs: () => import("./jobs.ts").then((m) => m.default),
  schedule: () => import("./schedule.ts").then((m) => m.default),
  status: () => import("./status.ts").then((m) => m.default),
  logs: () => import("./logs.ts").then((m) => m.default),
  queues: () => import("./queues.ts").then((m) => m.default),
  limits: () => import("./limits.ts").then((m) => m.default),
  nodes: () => import("./nodes.ts").then((m) => m.default),
  publish: () => import("./topics.ts").then((m) => m.publish),
  bindings: () => import("./topics.ts").then((m) => m.bindings),
  prune: () => import("./prune.ts").then((m) => m.default),
  doctor: () => import("./doctor.ts").then((m) => m.default),
  version: () => import("./version.ts").then((m) => m.default),
  "self-update": () => import("./self-update.ts").then((m) => m.default),
  completion: () => import("./completion.ts").then((m) => m.completionCommand(() => m.commandTree(commands))),
  // `main` answers `flywheel help …` itself; this entry lists it and gives `flywheel help --help` its text.
  help: async () =>
    defineCommand({
      meta: { name: "help", description: "Show help for a command (the same as <command> --help)", examples: ["flywheel help", "flywheel help jobs ls"] },
      args: { command: { type: "positional", description: "A command and its subcommand, e.g. jobs ls", required: false } },
    }),
};

/** Other names for commands. Resolved here rather than through citty's `meta.alias`, which imports every command to search it. */
const aliases: Record<string, string> = {
  update: "self-update",
  upgrade: "self-update",
};

/** Commands that skip the passive update check (§13): self-update does its own. */
const quiet = new Set(["self-update"]);

/** Flags that mean the same to every command; `main` takes them out before a command sees its arguments. */
const GLOBAL = { debug: "--debug", noColor: "--no-color" } as const;

const root = defineCommand({
  meta: {
    name: "flywheel",
    version: VERSION,
    description: "A durable job runtime for Bun, and a cron replacement",
    examples: ["flywheel init", "flywheel doctor", "flywheel serve", "flywheel status --watch", "flywheel jobs ls --state discarded", "flywheel help schedule add"],
  },
  subCommands: commands,
});

async function main(argv: string[]): Promise<number> {
  // Global flags count anywhere before `--`; after it everything belongs to the command.
  const end = argv.includes("--") ? argv.indexOf("--") : argv.length;
  const global = (flag: string) => argv.slice(0, end).includes(flag);
  const debug = global(GLOBAL.debug);
  if (global(GLOBAL.noColor)) disableColor();
  const args = argv.filter((a, i) => i >= end || (a !== GLOBAL.debug && a !== GLOBAL.noColor));
  let [first, ...rest] = args;
  // `flywheel help jobs ls` is `flywheel jobs ls --help`, so both print the same text.
  if (first === "help" && rest.length > 0 && !rest[0]!.startsWith("-")) [first, ...rest] = [...rest, "--help"];
  if (first === undefined || first === "--help" || first === "-h" || (first === "help" && rest.length === 0)) {
    console.log(await renderHelp({ cmd: root, path: [] }));
    return first === undefined ? 2 : 0;
  }
  if (first === "--version") {
    console.log(VERSION);
    return 0;
  }
  try {
    return await dispatch(first, rest);
  } catch (error) {
    if (debug && error instanceof Error && error.stack) console.error(error.stack);
    return fail(oneLine(error), exitStatusOf(error));
  }
}

/** Finds the command, checks its command line, runs it; returns the exit status of a command that did not throw. */
async function dispatch(first: string, rest: string[]): Promise<number> {
  const name = aliases[first] ?? first;
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    console.error(`${await renderHelp({ cmd: root, path: [] }, 2)}\n`);
    const what = first.startsWith("-") ? `unknown flag ${first}` : `unknown command ${JSON.stringify(first)}`;
    const names = first.startsWith("-") ? ["--help", "--version", GLOBAL.debug, GLOBAL.noColor] : [...Object.keys(commands), ...Object.keys(aliases)];
    throw new UsageError(`${what}${didYouMean(first, names)}`);
  }
  const cmd = await load();
  const { leaf, leafArgs } = await resolveLeaf(cmd, rest);
  const path = [name, ...(await commandPath(cmd, rest))];
  if (leafArgs.includes("--help") || leafArgs.includes("-h")) {
    console.log(await renderHelp({ cmd: leaf, path }));
    return 0;
  }
  try {
    await checkCommandLine(leaf, leafArgs, path.join(" "));
  } catch (error) {
    // A command line that does not parse: show what the command takes, then the one-line reason last (§12).
    if (error instanceof UsageError) console.error(`${await renderHelp({ cmd: leaf, path }, 2)}\n`);
    throw error;
  }
  const checked = quiet.has(name) ? undefined : maybeNotifyUpdate();
  await runCommand(cmd, { rawArgs: rest });
  // Bounded by the check's own timeout (~300 ms); it lets the refreshed cache reach disk before exit.
  await checked;
  return typeof process.exitCode === "number" ? process.exitCode : 0;
}

/** ` (did you mean \`status\`?)` when one of `names` is a likely typo of `given`, else nothing. */
function didYouMean(given: string, names: readonly string[]): string {
  const guess = closest(given, names);
  return guess === undefined ? "" : ` (did you mean \`${guess}\`?)`;
}

/**
 * Throws a {@link UsageError} for a command line `leaf` cannot run: a missing or unknown subcommand, an
 * undeclared flag, an extra positional, or what citty's own parser refuses (a missing required argument).
 * Afterwards `runCommand` parses the same arguments again and cannot fail on them.
 */
async function checkCommandLine(leaf: CommandDef<any>, leafArgs: string[], path: string): Promise<void> {
  const subs = await resolveValue(leaf.subCommands);
  if (subs && Object.keys(subs).length > 0) {
    // `flywheel jobs` or `flywheel jobs lss`: citty would say "No command specified"; show what exists instead.
    const given = leafArgs.find((a) => !a.startsWith("-"));
    if (given === undefined) throw new UsageError(`\`flywheel ${path}\` needs a subcommand`);
    throw new UsageError(`unknown command ${JSON.stringify(given)} for \`flywheel ${path}\`${didYouMean(given, Object.keys(subs))}`);
  }
  const unknown = await undeclaredFlag(leaf, leafArgs);
  if (unknown) throw new UsageError(`unknown flag ${unknown.flag} for \`flywheel ${path}\`${didYouMean(unknown.flag, unknown.known)}`);
  const extra = await extraPositional(leaf, leafArgs);
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)} for \`flywheel ${path}\``);
  try {
    parseArgs(leafArgs, (await resolveValue(leaf.args)) ?? {});
  } catch (error) {
    // citty 0.2.2 throws its CLIError here (which it does not export) for a missing required positional or flag
    // and a value outside an enum; nothing else in parseArgs throws.
    throw new UsageError(oneLine(error), { cause: error });
  }
}

/** Follows nested subcommands (`jobs ls`) to the command that will actually run, for help and flag checks. */
async function resolveLeaf(cmd: CommandDef<any>, rawArgs: string[]): Promise<{ leaf: CommandDef<any>; leafArgs: string[] }> {
  const subs = await resolveValue(cmd.subCommands);
  const i = rawArgs.findIndex((a) => !a.startsWith("-"));
  const next = i >= 0 ? rawArgs[i] : undefined;
  if (subs && next !== undefined && Object.hasOwn(subs, next)) {
    const sub = await resolveValue(subs[next]);
    if (sub) return resolveLeaf(sub, rawArgs.slice(i + 1));
  }
  return { leaf: cmd, leafArgs: rawArgs };
}

/** The subcommand names `rawArgs` selects below `cmd` (`["ls"]` for `jobs ls`), for messages. */
async function commandPath(cmd: CommandDef<any>, rawArgs: string[]): Promise<string[]> {
  const subs = await resolveValue(cmd.subCommands);
  const i = rawArgs.findIndex((a) => !a.startsWith("-"));
  const next = i >= 0 ? rawArgs[i] : undefined;
  if (!subs || next === undefined || !Object.hasOwn(subs, next)) return [];
  const sub = await resolveValue(subs[next]);
  return sub ? [next, ...(await commandPath(sub, rawArgs.slice(i + 1)))] : [];
}

/** The first positional argument beyond those `cmd` declares (citty would silently drop it), or `undefined`. */
async function extraPositional(cmd: CommandDef<any>, rawArgs: string[]): Promise<string | undefined> {
  const defs: ArgsDef = (await resolveValue(cmd.args)) ?? {};
  const declared = Object.values(defs).filter((d) => d.type === "positional").length;
  const takesValue = new Set<string>();
  for (const [key, def] of Object.entries(defs)) {
    if (def.type === "positional" || def.type === "boolean") continue;
    const alias = "alias" in def ? def.alias : undefined;
    for (const n of [key, kebab(key), camel(key), ...(Array.isArray(alias) ? alias : alias ? [alias] : [])]) takesValue.add(n);
  }
  const positionals: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i]!;
    if (token === "--") {
      positionals.push(...rawArgs.slice(i + 1));
      break;
    }
    if (token.startsWith("-") && token !== "-" && !/^-\d/.test(token)) {
      if (!token.includes("=") && takesValue.has(token.replace(/^--?/, ""))) i++;
      continue;
    }
    positionals.push(token);
  }
  return positionals[declared];
}

/**
 * The first flag in `rawArgs` that `cmd` does not declare (citty would silently ignore it) with the long flags
 * it does declare (for a guess), or `undefined`.
 */
async function undeclaredFlag(cmd: CommandDef<any>, rawArgs: string[]): Promise<{ flag: string; known: string[] } | undefined> {
  const defs: ArgsDef = (await resolveValue(cmd.args)) ?? {};
  const allowed = new Set(["help", "h"]);
  const takesValue = new Set<string>();
  for (const [key, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    const alias = "alias" in def ? def.alias : undefined;
    const names = [key, kebab(key), camel(key), ...(Array.isArray(alias) ? alias : alias ? [alias] : [])];
    for (const n of names) {
      allowed.add(n);
      if (def.type === "boolean") allowed.add(`no-${n}`);
      else takesValue.add(n);
    }
  }
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i]!;
    if (token === "--") break;
    if (!token.startsWith("-") || token === "-" || /^-\d/.test(token)) continue;
    const flag = token.replace(/^--?/, "");
    const eq = flag.indexOf("=");
    const n = eq >= 0 ? flag.slice(0, eq) : flag;
    if (!allowed.has(n)) return { flag: `--${n}`.replace(/^--(.)$/, "-$1"), known: [...allowed].filter((a) => a.length > 1).map((a) => `--${a}`) };
    // The value of `--version 1.2.3` is the next token even if it starts with "-"; skip it.
    if (eq < 0 && takesValue.has(n)) i++;
  }
  return undefined;
}

function kebab(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** An error as one line that starts `flywheel:` (or `jobs:`), without citty's ANSI colours. */
function oneLine(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const line = (raw.split("\n")[0] ?? "").replace(/\x1b\[[0-9;]*m/g, "").trim();
  return /^(flywheel|jobs):/.test(line) ? line : `flywheel: ${line}`;
}

// console.error rather than process.stderr.write: the Node stream behind process.stderr costs ~6 ms to build.
function fail(line: string, code: 1 | 2): number {
  console.error(line);
  return code;
}

process.exit(await main(process.argv.slice(2)));
