import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../../src/core/logger.ts";
import { LineSplitter, type OutputLine } from "../../src/workers/output-lines.ts";
import { shellWorker } from "../../src/workers/shell.ts";
import type { CommandOutput } from "../../src/workers/spawn.ts";
import { deferred, tempDir } from "../support/helpers.ts";
import { makeJob } from "./helpers.ts";

const tmp = await tempDir("flywheel-output-lines-");
afterAll(() => tmp.remove());

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `chunks` through a splitter capped at `max` bytes and returns what it emitted. */
function split(chunks: (string | Uint8Array)[], max?: number): OutputLine[] {
  const lines: OutputLine[] = [];
  const splitter = new LineSplitter("stdout", (line) => lines.push(line), max);
  for (const chunk of chunks) splitter.push(typeof chunk === "string" ? bytes(chunk) : chunk);
  splitter.end();
  return lines;
}

const texts = (lines: OutputLine[]) => lines.map((l) => l.text);

describe("LineSplitter", () => {
  test("splits on newlines across chunks, keeps empty lines, drops a CR before LF, flushes the last line", () => {
    expect(texts(split(["one\ntw", "o\r\n\nthr", "ee"]))).toEqual(["one", "two", "", "three"]);
  });

  test("emits a line as soon as its newline arrives, before the stream ends", () => {
    const lines: OutputLine[] = [];
    const splitter = new LineSplitter("stderr", (line) => lines.push(line));
    splitter.push(bytes("first\nsec"));
    expect(lines).toEqual([{ channel: "stderr", text: "first", cutBytes: 0 }]);
    splitter.push(bytes("ond\n"));
    expect(texts(lines)).toEqual(["first", "second"]);
    splitter.end();
    expect(lines).toHaveLength(2);
  });

  test("a line over the cap keeps its start and counts the bytes cut, on a character boundary", () => {
    expect(split(["abcdefgh\nxy\n"], 4)).toEqual([
      { channel: "stdout", text: "abcd", cutBytes: 4 },
      { channel: "stdout", text: "xy", cutBytes: 0 },
    ]);
    // "é" is two bytes; a cap of 4 falls inside the second one, so the line is cut before it.
    expect(split(["abcé€\n"], 4)).toEqual([{ channel: "stdout", text: "abc", cutBytes: 5 }]);
    // An endless line without a newline costs the cap, however long it gets.
    expect(split(["x".repeat(10_000), "y".repeat(10_000)], 16)).toEqual([{ channel: "stdout", text: "x".repeat(16), cutBytes: 19_984 }]);
  });

  test("bytes that are not UTF-8 become U+FFFD; control characters are passed on for the logger to escape", () => {
    expect(texts(split([new Uint8Array([0x41, 0xff, 0xfe, 0x00, 0x1b, 0x42, 0x0a])]))).toEqual(["A\ufffd\ufffd\u0000\u001bB"]);
  });
});

describe("onOutputLine of the command workers", () => {
  test("forwards each line of stdout and stderr while the command still runs; the capture is unchanged", async () => {
    const go = join(tmp.path, "go");
    const first = deferred<void>();
    const seen: { job: string; line: OutputLine }[] = [];
    const shell = shellWorker({
      baseDir: tmp.path,
      onOutputLine: (job, line) => {
        seen.push({ job: job.id, line });
        if (line.text === "one") first.resolve();
      },
    });
    const running = shell.work(makeJob(shell, { inline: `echo one; echo two >&2; while [ ! -e "${go}" ]; do sleep 0.01; done; printf three` }));
    // The command waits for the file, so the first line can only have come while it ran.
    await first.promise;
    expect(existsSync(go)).toBe(false);
    writeFileSync(go, "");
    const output = ((await running) as { output: CommandOutput }).output;
    expect(output).toMatchObject({ exit_code: 0, stdout: "one\nthree", stderr: "two\n" });
    const byChannel = (channel: string) => seen.filter((s) => s.line.channel === channel).map((s) => s.line.text);
    expect(byChannel("stdout")).toEqual(["one", "three"]);
    expect(byChannel("stderr")).toEqual(["two"]);
    expect(new Set(seen.map((s) => s.job))).toEqual(new Set(["job-1"]));
  });

  test("a callback that throws is reported once on the job's logger; the command and its capture go on", async () => {
    const logged: string[] = [];
    let calls = 0;
    const shell = shellWorker({
      baseDir: tmp.path,
      onOutputLine: () => {
        calls++;
        throw new Error("sink broke");
      },
    });
    const job = { ...makeJob(shell, { inline: "seq 1 20000" }), logger: createLogger({ format: "json", write: (l) => logged.push(l) }) };
    const output = ((await shell.work(job)) as { output: CommandOutput }).output;
    expect(output.exit_code).toBe(0);
    expect(output.stdout.endsWith("19999\n20000\n")).toBe(true);
    expect(calls).toBe(1);
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: "warn", error: "sink broke" });
  });
});
