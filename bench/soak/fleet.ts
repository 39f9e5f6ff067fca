/**
 * The soak's node processes: a fixed number of slots, each holding one `node.ts` process at a time. The chaos
 * signals a slot's process and asks for a replacement after a delay; a process that dies on its own is noted
 * (that is a finding) and replaced at once, so the drain always goes on.
 */
import type { Subprocess } from "bun";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";

const NODE_SCRIPT = join(import.meta.dir, "node.ts");

/** How the fleet reaches the database and where its processes write. */
export interface FleetOptions {
  url: string;
  /** The run's directory: attempt logs go to `attempts/`, node stderr to `nodes/`. */
  dir: string;
  leaseMs: number;
  /** Put into every node's environment (and so its watchdog's), to find leftover processes at the end. */
  token: string;
  /** Where the fleet reports what happens to its processes. */
  report: (line: string) => void;
}

/** One node process the fleet started. */
export interface NodeProcess {
  readonly id: string;
  readonly proc: Subprocess<"ignore", "pipe", number>;
  /** The signal the fleet sent it, if any. */
  sent: "SIGKILL" | "SIGTERM" | null;
  /** Its exit code once it exited (null: killed by a signal). */
  exitCode: number | null | undefined;
  /** It printed its ready line: its node runs and its SIGTERM handler is installed. */
  ready: boolean;
  /** What it printed after draining, when it drained: outcome counts, and how long the drain and the close took. */
  drained: { outcomes: Record<string, number>; drainMs: number; closeMs: number } | null;
  readonly stderrPath: string;
}

/** A node that exited without being told to, or failed to drain cleanly after SIGTERM. */
export interface NodeFailure {
  id: string;
  exitCode: number | null;
  signalCode: string | null;
  /** The end of its stderr. */
  stderrTail: string;
}

/** A started process and the promises the fleet waits on. */
interface Tracked {
  node: NodeProcess;
  /** Resolves at its ready line (or at the end of its stdout, if it never printed one). */
  ready: Promise<void>;
  /** Resolves once it exited, its stdout is read to the end and its exit is recorded. */
  done: Promise<void>;
}

interface Slot {
  current: NodeProcess | null;
  /** When to start the next process in this slot (ms since the epoch); null while one runs. */
  restartAt: number | null;
}

/** A fixed set of node slots and every process ever started in them. */
export class Fleet {
  readonly #options: FleetOptions;
  readonly #slots: Slot[];
  readonly #all: Tracked[] = [];
  #generation = 0;
  /** Nodes that exited without a signal from the fleet, or exited non-zero after SIGTERM. */
  readonly failures: NodeFailure[] = [];

  /** Prepares `count` empty slots; {@link Fleet.keepUp} fills them. */
  constructor(options: FleetOptions, count: number) {
    this.#options = options;
    this.#slots = Array.from({ length: count }, () => ({ current: null, restartAt: 0 }));
    mkdirSync(join(options.dir, "attempts"), { recursive: true });
    mkdirSync(join(options.dir, "nodes"), { recursive: true });
  }

  /** Processes started so far (replacements included). */
  get starts(): number {
    return this.#all.length;
  }

  /** Slots whose process is running and not being stopped. */
  get live(): number[] {
    return this.#slots.flatMap((s, i) => (s.current && s.current.sent === null && s.current.exitCode === undefined ? [i] : []));
  }

  /** Starts a process in every empty slot whose restart time has come. */
  keepUp(now = Date.now()): void {
    this.#slots.forEach((slot, index) => {
      if (slot.restartAt !== null && slot.restartAt <= now) this.#start(slot, index);
    });
  }

  /** Resolves once every slot's current process has printed its ready line (or exited). */
  async ready(): Promise<void> {
    this.keepUp();
    await Promise.all(this.#all.filter((t) => this.#slots.some((s) => s.current === t.node)).map((t) => t.ready));
  }

  /**
   * Sends `signal` to the process in `slot` and starts its replacement `restartAfterMs` later (the old one may
   * still be draining then: two generations of a slot may overlap, which is allowed).
   */
  signal(slot: number, signal: "SIGKILL" | "SIGTERM", restartAfterMs: number): NodeProcess | null {
    const s = this.#slots[slot];
    const node = s?.current;
    if (!s || !node) return null;
    node.sent = signal;
    node.proc.kill(signal);
    s.current = null;
    s.restartAt = Date.now() + restartAfterMs;
    return node;
  }

  /**
   * SIGTERMs every running process and waits for each to exit (they drain first). No restarts after this. A
   * process still there `graceMs` later is a failure: it is recorded, then SIGKILLed, so the soak reports it
   * instead of hanging.
   */
  async stopAll(graceMs = 60_000): Promise<void> {
    for (const slot of this.#slots) {
      slot.restartAt = null;
      if (slot.current) {
        slot.current.sent = "SIGTERM";
        slot.current.proc.kill("SIGTERM");
      }
    }
    await Promise.all(
      this.#all.map(async ({ node, done }) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), graceMs)));
        if ((await Promise.race([done, late])) === "late") {
          const stderrTail = tail(node.stderrPath);
          this.failures.push({ id: node.id, exitCode: null, signalCode: `still running ${graceMs / 1000} s after SIGTERM`, stderrTail });
          this.#options.report(`node ${node.id} did not exit ${graceMs / 1000} s after SIGTERM; SIGKILL: ${stderrTail}`);
          node.proc.kill("SIGKILL");
          await done;
        }
        clearTimeout(timer);
      }),
    );
  }

  /** SIGKILLs whatever still runs: the last resort when the soak itself fails. */
  killAll(): void {
    for (const slot of this.#slots) slot.restartAt = null;
    for (const { node } of this.#all) if (node.exitCode === undefined) node.proc.kill("SIGKILL");
  }

  /** Outcome counts summed over the nodes that drained, and their slowest drain and close. */
  drainedTotals(): { outcomes: Record<string, number>; maxDrainMs: number; maxCloseMs: number } {
    const outcomes: Record<string, number> = {};
    let maxDrainMs = 0;
    let maxCloseMs = 0;
    for (const { node: n } of this.#all) {
      if (!n.drained) continue;
      for (const [k, v] of Object.entries(n.drained.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
      maxDrainMs = Math.max(maxDrainMs, n.drained.drainMs);
      maxCloseMs = Math.max(maxCloseMs, n.drained.closeMs);
    }
    return { outcomes, maxDrainMs, maxCloseMs };
  }

  #start(slot: Slot, index: number): void {
    const id = `n${index}-${++this.#generation}`;
    const { dir, url, leaseMs, token } = this.#options;
    const stderrPath = join(dir, "nodes", `${id}.stderr`);
    const stderrFd = openSync(stderrPath, "a");
    const proc = Bun.spawn([process.execPath, NODE_SCRIPT, url, id, join(dir, "attempts", `${id}.log`)], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: stderrFd,
      env: { ...process.env, SOAK_LEASE_MS: String(leaseMs), SOAK_TOKEN: token },
    });
    closeSync(stderrFd);
    const node: NodeProcess = { id, proc, sent: null, exitCode: undefined, ready: false, drained: null, stderrPath };
    slot.current = node;
    slot.restartAt = null;
    let onReady!: () => void;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    const read = this.#readLines(node, onReady);
    const done = Promise.all([read, proc.exited]).then(([, code]) => this.#exited(node, slot, code));
    this.#all.push({ node, ready, done });
  }

  // One reader per process for its whole life: the ready line resolves `ready`, the drained line (printed on
  // the way out after SIGTERM) carries the outcomes that process saw.
  async #readLines(node: NodeProcess, onReady: () => void): Promise<void> {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of node.proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith("ready ")) {
          node.ready = true;
          onReady();
        }
        if (line.startsWith("drained ")) node.drained = JSON.parse(line.slice("drained ".length));
      }
    }
    onReady();
  }

  #exited(node: NodeProcess, slot: Slot, code: number | null): void {
    node.exitCode = code;
    // A SIGTERM that lands before the node installed its handler ends it like a kill: not a failed drain.
    const failed = node.sent === null || (node.sent === "SIGTERM" && node.ready && code !== 0);
    // A node stopAll had to SIGKILL is already recorded.
    if (!failed || this.failures.some((f) => f.id === node.id)) return;
    const failure: NodeFailure = { id: node.id, exitCode: code, signalCode: node.proc.signalCode == null ? null : String(node.proc.signalCode), stderrTail: tail(node.stderrPath) };
    this.failures.push(failure);
    this.#options.report(`node ${node.id} exited on its own (code ${code}, signal ${failure.signalCode}): ${failure.stderrTail}`);
    // Replace a node that died unprompted at once, unless the fleet is stopping.
    if (node.sent === null && slot.current === node) {
      slot.current = null;
      slot.restartAt = Date.now();
    }
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-5).join(" | ");
  } catch {
    return "";
  }
}
