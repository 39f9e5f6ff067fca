import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAIN, cli, sandbox, type Sandbox } from "./helpers.ts";

// Help and usage errors in the manner of gh: left-aligned sections, colour only on a terminal, `flywheel help
// <cmd>` equal to `<cmd> --help`, and a guess for a mistyped command or flag.

let box: Sandbox;
beforeAll(async () => {
  box = await sandbox();
});
afterAll(() => box.remove());

const ESC = "\x1b";
/** The environment of a person who has not opted out of colour (the sandbox sets NO_COLOR=1 for every other test). */
const COLOURFUL = { NO_COLOR: "", TERM: "xterm-256color" };

/** The names listed under `title` in a help text (`COMMANDS`, `SUBCOMMANDS`). */
function listed(help: string, title: string): string[] {
  const section = help.split("\n\n").find((block) => block.startsWith(`${title}\n`));
  return (section ?? "").split("\n").slice(1).map((line) => line.trim().split(/\s+/)[0]!);
}

/** Every command line that has help: each command, and each subcommand of a group. */
async function everyCommand(): Promise<string[][]> {
  const top = listed((await cli(box, ["--help"])).stdout, "COMMANDS");
  const paths: string[][] = [];
  for (const name of top) {
    paths.push([name]);
    const subs = listed((await cli(box, [name, "--help"])).stdout, "SUBCOMMANDS");
    for (const sub of subs) paths.push([name, sub]);
  }
  return paths;
}

/** Runs `flywheel <args>` on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
async function onTerminal(args: string[], env: Record<string, string> = {}): Promise<string> {
  const line = [process.execPath, MAIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const proc = Bun.spawn(["script", "-qec", line, "/dev/null"], { cwd: box.dir, env: { ...box.env, ...COLOURFUL, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return out;
}

describe("help", () => {
  test("every command's piped --help has no ESC byte, even with colour allowed; each has USAGE, FLAGS and EXAMPLES", async () => {
    const paths = await everyCommand();
    expect(paths.map((p) => p.join(" "))).toEqual(expect.arrayContaining(["jobs ls", "schedule add", "bindings rm", "status", "version", "help"]));
    for (const path of paths) {
      const r = await cli(box, [...path, "--help"], { env: COLOURFUL });
      expect({ path, code: r.code, stderr: r.stderr }).toEqual({ path, code: 0, stderr: "" });
      expect({ path, esc: r.stdout.includes(ESC) }).toEqual({ path, esc: false });
      expect(r.stdout).toContain(`USAGE\n  flywheel ${path.join(" ")}`);
      expect(r.stdout).toContain("\nFLAGS\n");
      expect({ path, examples: /\nEXAMPLES\n {2}\$ .*\bflywheel /.test(r.stdout) }).toEqual({ path, examples: true });
      // Left-aligned: every line starts at column 0 (a heading or text) or 2 (a section's entries).
      for (const line of r.stdout.split("\n")) expect(line).toMatch(/^(|\S.*| {2}\S.*)$/);
    }
  }, 120_000);

  test("a leaf command lists its arguments and flags with value hints; a group lists its subcommands", async () => {
    const add = (await cli(box, ["schedule", "add", "--help"])).stdout;
    expect(add).toContain("USAGE\n  flywheel schedule add <slug> <kind> [flags]");
    expect(add).toMatch(/\nARGUMENTS\n {2}<slug> +Schedule slug\n/);
    expect(add).toMatch(/\n {2}--every <duration> +Fixed interval/);
    expect(add).toMatch(/\n {2}-h, --help +Show help for this command/);
    const jobs = (await cli(box, ["jobs", "--help"])).stdout;
    expect(listed(jobs, "SUBCOMMANDS")).toEqual(["ls", "inspect", "retry", "cancel"]);
    expect(jobs).toContain("USAGE\n  flywheel jobs <command> [flags]");
    const update = await cli(box, ["update", "--help"]);
    expect(update.stdout).toContain("USAGE\n  flywheel self-update [flags]\n\nALIASES\n  flywheel update, flywheel upgrade\n");
  });

  test("colour on a terminal; none with NO_COLOR (any non-empty value) or --no-color", async () => {
    const [plain, noColorEnv, noColorFlag] = await Promise.all([
      onTerminal(["jobs", "--help"]),
      onTerminal(["jobs", "--help"], { NO_COLOR: "yes" }),
      onTerminal(["--no-color", "jobs", "--help"]),
    ]);
    expect(plain).toContain(`${ESC}[1mUSAGE${ESC}[22m`);
    expect(noColorEnv).toContain("USAGE");
    expect(noColorEnv).not.toContain(ESC);
    expect(noColorFlag).toContain("USAGE");
    expect(noColorFlag).not.toContain(ESC);
    // --no-color is global: it may follow the command too, and never reaches the command as an unknown flag.
    const after = await onTerminal(["jobs", "ls", "--help", "--no-color"]);
    expect(after).toContain("flywheel jobs ls");
    expect(after).not.toContain(ESC);
  });

  test("`flywheel help <cmd> [sub]` prints exactly `flywheel <cmd> [sub] --help`", async () => {
    for (const path of [[], ["jobs"], ["jobs", "ls"], ["schedule", "trigger"], ["help"]]) {
      const [viaHelp, viaFlag] = await Promise.all([cli(box, ["help", ...path]), cli(box, [...path, "--help"])]);
      expect(viaHelp).toEqual(viaFlag);
      expect(viaHelp.code).toBe(0);
    }
  });
});

describe("did you mean", () => {
  test("a mistyped command, subcommand or flag exits 2 with usage and a guess on the last line", async () => {
    const [command, sub, flag, helpTypo, global] = await Promise.all([
      cli(box, ["stauts"]),
      cli(box, ["jobs", "lss"]),
      cli(box, ["jobs", "ls", "--jsn"]),
      cli(box, ["help", "schedul"]),
      cli(box, ["--verison"]),
    ]);
    const last = (r: { stderr: string }) => r.stderr.trim().split("\n").at(-1);
    expect([command.code, sub.code, flag.code, helpTypo.code, global.code]).toEqual([2, 2, 2, 2, 2]);
    expect(last(command)).toBe('flywheel: unknown command "stauts" (did you mean `status`?)');
    expect(command.stderr).toContain("USAGE\n  flywheel <command>");
    expect(last(sub)).toBe('flywheel: unknown command "lss" for `flywheel jobs` (did you mean `ls`?)');
    expect(sub.stderr).toContain("USAGE\n  flywheel jobs <command>");
    expect(last(flag)).toBe("flywheel: unknown flag --jsn for `flywheel jobs ls` (did you mean `--json`?)");
    expect(last(helpTypo)).toBe('flywheel: unknown command "schedul" (did you mean `schedule`?)');
    expect(last(global)).toBe("flywheel: unknown flag --verison (did you mean `--version`?)");
    for (const r of [command, sub, flag]) expect(r.stdout).toBe("");
  });

  test("no guess when nothing is close", async () => {
    const r = await cli(box, ["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n").at(-1)).toBe('flywheel: unknown command "frobnicate"');
  });
});
