import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cli, sandbox, type Sandbox } from "./helpers.ts";

// Completion scripts come from the command table: they must load in their shell and offer what the CLI takes.

let box: Sandbox;
const scripts: Record<string, string> = {};
beforeAll(async () => {
  box = await sandbox();
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await cli(box, ["completion", shell]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    scripts[shell] = r.stdout;
  }
});
afterAll(() => box.remove());

/** Runs `argv` in the sandbox to completion. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(argv, { cwd: box.dir, env: box.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Runs `script` in a bash shell. */
function bash(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(["bash", "-c", script]);
}

describe("completion", () => {
  test("bash: the script loads, registers `complete -F _flywheel flywheel`, and completes commands, subcommands and flags", async () => {
    const file = box.write("flywheel.bash", scripts.bash!);
    const complete = (words: string[]) =>
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _flywheel; echo "\${COMPREPLY[*]}"`;
    const r = await bash(
      [
        `source ${file}`,
        "complete -p flywheel",
        complete(["flywheel", "sta"]),
        complete(["flywheel", "jobs", ""]),
        complete(["flywheel", "jobs", "ls", "--st"]),
        complete(["flywheel", "--no-color", "schedule", "add", "--ev"]),
        complete(["flywheel", "jobs", "ls", "--state", ""]),
        complete(["flywheel", "status", "--config", "flywheel.ba"]),
        complete(["flywheel", "help", "sched"]),
        complete(["flywheel", "help", "jobs", ""]),
      ].join("\n"),
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      "complete -F _flywheel flywheel",
      "status",
      "ls inspect retry cancel --help",
      "--state",
      "--every",
      "",
      "flywheel.bash",
      "schedule",
      "ls inspect retry cancel --help",
      "",
    ]);
  });

  test("zsh: where zsh exists, the script syntax-checks and offers subcommands, flags and files; always a #compdef function with a case for every command", async () => {
    const zsh = Bun.which("zsh");
    if (zsh) {
      const file = box.write("_flywheel", scripts.zsh!);
      expect(await run([zsh, "-n", file])).toEqual({ code: 0, stdout: "", stderr: "" });
      // The completion system itself needs a terminal; stubbing its entry points shows what _flywheel offers.
      const offered = (words: string[]) =>
        `words=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}; _flywheel; print -- ---`;
      const r = await run([
        zsh,
        "-c",
        [
          'compdef() { :; }; _describe() { print -l -- "${(@P)${@[-1]}}"; }; _files() { print FILES; }',
          `source ${file}`,
          offered(["flywheel", "jobs", ""]),
          offered(["flywheel", "schedule", "add", "--ev"]),
          offered(["flywheel", "status", "--config", "x"]),
        ].join("\n"),
      ]);
      expect(r.stderr).toBe("");
      const [jobs, add, config] = r.stdout.split("---\n");
      expect(jobs!.trim().split("\n").map((l) => l.split(":")[0])).toEqual(["ls", "inspect", "retry", "cancel", "--help"]);
      expect(add).toContain("--every:Fixed interval\n");
      expect(config).toBe("FILES\n");
    }
    const text = scripts.zsh!;
    expect(text.split("\n")[0]).toBe("#compdef flywheel");
    expect(text).toContain("\ncompdef _flywheel flywheel\n");
    expect(text).toContain("_describe -t commands flywheel cands");
    for (const key of ["serve", "jobs ls", "schedule add", "bindings rm", "completion"]) expect(text).toContain(`\n    ('${key}') cands=(`);
    expect(text).toMatch(/\('jobs ls'\) cands=\('--state:Only this state[^']*' /);
    expect(text.match(/\bcase\b/g)?.length).toBe(text.match(/\besac\b/g)?.length);
  });

  test("fish: where fish exists, the script syntax-checks and completes; always every line a `complete -c flywheel` for a real command or flag", async () => {
    const fish = Bun.which("fish");
    if (fish) {
      const file = box.write("flywheel.fish", scripts.fish!);
      expect(await run([fish, "--no-execute", file])).toEqual({ code: 0, stdout: "", stderr: "" });
      const r = await run([fish, "-c", `source ${file}; complete -C'flywheel jo'; echo ---; complete -C'flywheel jobs '; echo ---; complete -C'flywheel jobs ls --st'`]);
      const [top, jobs, flag] = r.stdout.split("---\n").map((block) => block.trim().split("\n").map((l) => l.split("\t")[0]));
      expect(top).toEqual(["jobs"]);
      expect(jobs!.sort()).toEqual(["cancel", "inspect", "ls", "retry"]);
      expect(flag).toEqual(["--state"]);
    }
    const lines = scripts.fish!.trimEnd().split("\n").filter((l) => !l.startsWith("#"));
    for (const line of lines) expect(line).toStartWith("complete -c flywheel ");
    expect(lines).toContain("complete -c flywheel -n __fish_use_subcommand -a status -d 'Queue health, lag, counts, schedules and the last day\\'s failures'");
    expect(lines).toContain("complete -c flywheel -n '__fish_seen_subcommand_from jobs; and __fish_seen_subcommand_from ls' -l state -r -d 'Only this state: available, scheduled, running, retryable, waiting, succeeded, cancelled, discarded'");
    expect(lines.some((l) => l.includes("'__fish_seen_subcommand_from jobs; and not __fish_seen_subcommand_from ls inspect retry cancel' -a cancel"))).toBe(true);
  });

  test("an unknown shell exits 2 naming the choices", async () => {
    const r = await cli(box, ["completion", "tcsh"]);
    expect(r).toEqual({ code: 2, stdout: "", stderr: 'flywheel: completion: expected one of bash, zsh, fish, got "tcsh"\n' });
  });
});
