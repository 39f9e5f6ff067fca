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

/** Runs `script` in a bash shell. */
async function bash(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["bash", "-c", script], { cwd: box.dir, env: box.env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
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
      "",
    ]);
  });

  test("zsh: syntax-checks when zsh exists; otherwise a #compdef function with a case for every command", async () => {
    const zsh = Bun.which("zsh");
    if (zsh) {
      const file = box.write("_flywheel", scripts.zsh!);
      const proc = Bun.spawn([zsh, "-n", file], { stderr: "pipe" });
      expect(await proc.exited).toBe(0);
    }
    const text = scripts.zsh!;
    expect(text.split("\n")[0]).toBe("#compdef flywheel");
    expect(text).toContain("\ncompdef _flywheel flywheel\n");
    expect(text).toContain("_describe -t commands flywheel cands");
    for (const key of ["serve", "jobs ls", "schedule add", "bindings rm", "completion"]) expect(text).toContain(`\n    ('${key}') cands=(`);
    expect(text).toMatch(/\('jobs ls'\) cands=\('--state:Only this state[^']*' /);
    expect(text.match(/\bcase\b/g)?.length).toBe(text.match(/\besac\b/g)?.length);
  });

  test("fish: syntax-checks when fish exists; otherwise every line is a `complete -c flywheel` for a real command or flag", async () => {
    const fish = Bun.which("fish");
    if (fish) {
      const proc = Bun.spawn([fish, "--no-execute", box.write("flywheel.fish", scripts.fish!)], { stderr: "pipe" });
      expect(await proc.exited).toBe(0);
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
