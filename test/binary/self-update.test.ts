// Black-box tests of the compiled binary (SPEC §13): build.ts output, self-update replacing itself for real from
// the release archives, `--check` for scripts, release signatures, and immunity to a hostile working directory.
// Three host binaries are built once: 0.0.1, 0.0.2 (its checksums signed with a throwaway key) and 0.0.1 with
// that key's public half embedded.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseChecksums, sha256Hex } from "../../src/update/release.ts";
import { publicKeySpkiBase64, signWithPrivateKey, verifySignature } from "../../src/update/signature.ts";
import { readTarFile } from "../../src/update/tar.ts";
import { checksumsFor, startReleaseServer, type FakeReleaseServer } from "../update/fake-release-server.ts";
import { throwawayKeyPair, type ThrowawayKeyPair } from "../update/throwaway-keys.ts";
import { buildRelease, HOST, names, releaseOf, tampered, type BuiltRelease } from "./build-release.ts";

const OLD = "0.0.1";
const NEW = "0.0.2";
/** Label of the 0.0.1 build that carries the release public key. */
const KEYED = "0.0.1-keyed";

let root: string;
let server: FakeReleaseServer;
let keys: ThrowawayKeyPair;
const built: Record<string, BuiltRelease> = {};

/** Builds one version into its own directory, recorded under `label`. */
async function build(version: string, extraArgs: string[] = [], label = version): Promise<void> {
  built[label] = await buildRelease(join(root, `dist-${label}`), version, extraArgs);
}

/** Environment for the binary: nothing inherited that could change its behaviour (CI, FLYWHEEL_*, XDG). */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== "CI" && !k.startsWith("FLYWHEEL_") && !k.startsWith("XDG_")) env[k] = v;
  }
  return { ...env, XDG_CACHE_HOME: join(root, "xdg-cache-unused"), ...extra };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(bin: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const proc = Bun.spawn([bin, ...args], {
    cwd: opts.cwd ?? root,
    env: opts.env ?? cleanEnv({ FLYWHEEL_UPDATE_URL: server.url }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** The release of `label`'s build as published, with optional changes (see {@link releaseOf}). */
const publish = (label: string, opts: Parameters<typeof releaseOf>[1] = {}) => releaseOf(built[label]!, opts);

let dir: string;
let bin: string;
let n = 0;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "flywheel-binary-"));
  server = startReleaseServer();
  keys = await throwawayKeyPair();
  const privatePem = join(root, "release-signing.key");
  const publicPem = join(root, "release-signing.pub");
  writeFileSync(privatePem, keys.privatePem, { mode: 0o600 });
  writeFileSync(publicPem, keys.publicPem);
  await Promise.all([build(OLD), build(NEW, ["--sign-with", privatePem]), build(OLD, ["--signing-public-key", publicPem], KEYED)]);
}, 120_000);
afterAll(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  // A real install: a copy of the 0.0.1 binary alone in its own directory.
  dir = join(root, `install-${n++}`);
  mkdirSync(dir);
  bin = join(dir, "flywheel");
  copyFileSync(built[OLD]!.binary, bin);
  chmodSync(bin, 0o755);
  server.requests.length = 0;
  server.publish([publish(OLD), publish(NEW)]);
});

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && sha256Hex(a) === sha256Hex(b);
const binaryOf = (label: string) => built[label]!.files[names(built[label]!.version).binary]!;
const archiveOf = (label: string) => built[label]!.files[names(built[label]!.version).archive]!;
const archiveRequest = `/download/v${NEW}/${names(NEW).archive}`;

describe("build.ts", () => {
  test("writes the executable, its archive under a versioned and a stable name, install.sh, and checksums.txt of all four", () => {
    for (const v of [OLD, NEW]) {
      const { files, checksums } = built[v]!;
      const { binary, archive, latestArchive } = names(v);
      expect(Object.keys(files).sort()).toEqual([binary, archive, "install.sh", latestArchive].sort());
      expect(same(files[archive]!, files[latestArchive]!)).toBe(true);
      const sums = parseChecksums(checksums);
      expect([...sums.keys()]).toEqual([binary, archive, latestArchive, "install.sh"]);
      for (const [name, bytes] of Object.entries(files)) expect(sums.get(name)).toBe(sha256Hex(bytes));
      expect(statSync(built[v]!.binary).mode & 0o777).toBe(0o755);
    }
  });

  test("the archive holds exactly the executable as `flywheel`, mode 0755, as GNU tar unpacks it", () => {
    const { outdir } = built[NEW]!;
    const listing = Bun.spawnSync(["tar", "-tvzf", join(outdir, names(NEW).latestArchive)], { stdout: "pipe" });
    const lines = listing.stdout.toString().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^-rwxr-xr-x root\/root +\d+ \S+ \S+ flywheel$/);
    const out = join(root, "unpacked");
    mkdirSync(out);
    expect(Bun.spawnSync(["tar", "-xzf", join(outdir, names(NEW).archive), "-C", out]).exitCode).toBe(0);
    expect(same(readFileSync(join(out, "flywheel")), binaryOf(NEW))).toBe(true);
    expect(statSync(join(out, "flywheel")).mode & 0o777).toBe(0o755);
    expect(same(readTarFile(Bun.gunzipSync(archiveOf(NEW)), "flywheel")!.bytes, binaryOf(NEW))).toBe(true);
  });

  test("install.sh carries the key that signs the release (embedded or signing), and none for an unsigned build", () => {
    const keyLine = (label: string) => new TextDecoder().decode(built[label]!.files["install.sh"]).match(/^RELEASE_PUBLIC_KEY=.*$/gm);
    const signedLine = `RELEASE_PUBLIC_KEY='${publicKeySpkiBase64(keys.publicKey)}'`;
    expect(keyLine(OLD)).toEqual(["RELEASE_PUBLIC_KEY=''"]);
    expect(keyLine(NEW)).toEqual([signedLine]);
    expect(keyLine(KEYED)).toEqual([signedLine]);
  });

  test("the version is baked in; version and version --json agree", async () => {
    const human = await run(built[NEW]!.binary, ["version"]);
    expect(human).toEqual({ code: 0, stdout: `flywheel ${NEW} (${HOST.os}-${HOST.arch}, bun ${Bun.version})\n`, stderr: "" });
    const json = await run(built[NEW]!.binary, ["version", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ version: NEW, os: HOST.os, arch: HOST.arch, bun: Bun.version });
  });
});

describe("self-update of the real binary", () => {
  test("installs the newer release from its archive, atomically; the new file runs and reports its version", async () => {
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`updated flywheel ${OLD} → ${NEW} (${bin})\n`);
    expect(r.stderr).toStartWith(`downloading ${names(NEW).archive} from ${server.url}${archiveRequest}\nverified sha256 `);
    expect(server.requests).toEqual(["/releases/latest", `/download/v${NEW}/checksums.txt`, archiveRequest]);
    expect(same(readFileSync(bin), binaryOf(NEW))).toBe(true);
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    expect(readdirSync(dir)).toEqual(["flywheel"]);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${NEW} `);
    // Now it is the latest.
    const again = await run(bin, ["upgrade"]);
    expect(again).toEqual({ code: 0, stdout: `flywheel ${NEW} is the latest version\n`, stderr: "" });
  });

  test("a progress bar only when stderr is a terminal: none in piped output, drawn with FLYWHEEL_FORCE_TTY=1", async () => {
    const piped = await run(bin, ["self-update", "--force"]);
    expect(piped.code).toBe(0);
    expect(piped.stderr).not.toMatch(/[\r\x1b]/);
    expect(piped.stderr).not.toContain("[#");

    const terminal = await run(bin, ["self-update", "--force"], { env: cleanEnv({ FLYWHEEL_UPDATE_URL: server.url, FLYWHEEL_FORCE_TTY: "1" }) });
    expect(terminal.code).toBe(0);
    expect(terminal.stderr).toMatch(/\rdownloading \[#{30}\] 100% +[\d.]+\/[\d.]+ MiB\nverified sha256 /);
    expect(terminal.stderr).not.toContain("\x1b");
  });

  test("checksum mismatch of the archive: refused with one line, exit 1, old binary byte-identical and still runs", async () => {
    server.publish([publish(OLD), publish(NEW, { replace: { [names(NEW).archive]: tampered(archiveOf(NEW)) } })]);
    const r = await run(bin, ["update"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(
      /^flywheel: checksum mismatch for flywheel-0\.0\.2-\S+\.tar\.gz: expected [0-9a-f]{64}, got [0-9a-f]{64}; nothing was changed$/,
    );
    expect(r.stdout).toBe("");
    expect(same(readFileSync(bin), binaryOf(OLD))).toBe(true);
    expect(readdirSync(dir)).toEqual(["flywheel"]);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${OLD} `);
  });

  test("a release from before archives (bare executable only) still installs", async () => {
    const { archive, latestArchive, binary } = names(NEW);
    const files = Object.fromEntries(Object.entries(built[NEW]!.files).filter(([name]) => name !== archive && name !== latestArchive));
    server.publish([publish(OLD), { version: NEW, assets: { ...files, "checksums.txt": checksumsFor(files) } }]);
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(0);
    expect(server.requests).toContain(`/download/v${NEW}/${binary}`);
    expect(same(readFileSync(bin), binaryOf(NEW))).toBe(true);
  });

  test("missing checksums.txt: refused, nothing downloaded, old binary byte-identical and still runs", async () => {
    server.publish([publish(OLD), publish(NEW, { checksums: null })]);
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("flywheel: release v0.0.2 has no checksums.txt; refusing to install a binary that cannot be verified\n");
    expect(server.requests).toEqual(["/releases/latest"]);
    expect(same(readFileSync(bin), binaryOf(OLD))).toBe(true);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${OLD} `);
  });

  test("--version pins a release that is not the latest", async () => {
    server.publish([publish(OLD), publish(NEW)], OLD);
    expect((await run(bin, ["self-update"])).stdout).toBe(`flywheel ${OLD} is the latest version\n`);
    const r = await run(bin, ["self-update", "--version", NEW]);
    expect(r.code).toBe(0);
    expect(server.requests).toContain(`/releases/tags/v${NEW}`);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${NEW} `);
  });

  test("through a symlink: the real file is replaced and the link stays a link", async () => {
    const linkDir = join(dir, "bin");
    mkdirSync(linkDir);
    const link = join(linkDir, "flywheel");
    symlinkSync(bin, link);
    const r = await run(link, ["self-update"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`(${bin})`);
    expect(same(readFileSync(bin), binaryOf(NEW))).toBe(true);
    expect((await run(link, ["version"])).stdout).toStartWith(`flywheel ${NEW} `);
  });

  test("a plain-http update source off loopback is refused before any request", async () => {
    const r = await run(bin, ["self-update"], { env: cleanEnv({ FLYWHEEL_UPDATE_URL: "http://releases.example.com" }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "flywheel: refusing to fetch http://releases.example.com/releases/latest (release source): update URLs must be https (plain http only to a loopback address: 127.0.0.0/8, ::1, localhost)\n",
    );
    expect(same(readFileSync(bin), binaryOf(OLD))).toBe(true);
  });

  test("an unknown flag is a usage error (exit 2), not a silent real update", async () => {
    const r = await run(bin, ["self-update", "--chek"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag --chek");
    expect(server.requests).toEqual([]);
    expect(same(readFileSync(bin), binaryOf(OLD))).toBe(true);
  });
});

describe("self-update --check (for scripts)", () => {
  test("an update exists: exit 10, the line on stdout, nothing changed", async () => {
    const before = statSync(bin);
    const r = await run(bin, ["self-update", "--check"]);
    expect(r).toEqual({ code: 10, stdout: `flywheel ${NEW} is available (you have ${OLD}): run \`flywheel self-update\`\n`, stderr: "" });
    expect(server.requests).toEqual(["/releases/latest"]);
    const after = statSync(bin);
    expect([after.ino, after.mtimeMs, after.size]).toEqual([before.ino, before.mtimeMs, before.size]);
  });

  test("--json: {current, latest, update_available, url}, exit 10 or 0", async () => {
    const available = await run(bin, ["self-update", "--check", "--json"]);
    expect(available.code).toBe(10);
    expect(available.stderr).toBe("");
    expect(JSON.parse(available.stdout)).toEqual({ current: OLD, latest: NEW, update_available: true, url: `${server.url}${archiveRequest}` });

    server.publish([publish(OLD)]);
    const current = await run(bin, ["self-update", "--check", "--json"]);
    expect(current.code).toBe(0);
    expect(JSON.parse(current.stdout)).toEqual({
      current: OLD,
      latest: OLD,
      update_available: false,
      url: `${server.url}/download/v${OLD}/${names(OLD).archive}`,
    });
    expect(same(readFileSync(bin), binaryOf(OLD))).toBe(true);
  });

  test("a failed check exits 1; --json without --check is a usage error (exit 2) before any request", async () => {
    const offline = await run(bin, ["self-update", "--check", "--json"], { env: cleanEnv({ FLYWHEEL_UPDATE_URL: "http://127.0.0.1:1" }) });
    expect(offline.code).toBe(1);
    expect(offline.stdout).toBe("");
    expect(offline.stderr).toStartWith("flywheel: could not reach http://127.0.0.1:1/releases/latest");
    const misuse = await run(bin, ["self-update", "--json"]);
    expect(misuse).toEqual({ code: 2, stdout: "", stderr: "flywheel: --json goes with --check (flywheel self-update --check --json)\n" });
    expect(server.requests).toEqual([]);
  });

  test("--help states the exit statuses", async () => {
    const r = await run(bin, ["self-update", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("exit 0 up to date, 10 update available, 1 check failed");
  });
});

describe("signed releases (a binary built with --signing-public-key)", () => {
  beforeEach(() => {
    copyFileSync(built[KEYED]!.binary, bin);
  });

  test("build.ts --sign-with wrote a 64-byte Ed25519 signature of checksums.txt by that key", async () => {
    const { checksums, signature } = built[NEW]!;
    expect(signature?.byteLength).toBe(64);
    expect(await verifySignature(new TextEncoder().encode(checksums), signature!, keys.publicKey)).toBe(true);
    expect(built[OLD]!.signature).toBeUndefined();
  });

  test("refuses an unsigned release: one line, exit 1, nothing downloaded, old binary byte-identical", async () => {
    server.publish([publish(OLD), publish(NEW)]);
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `flywheel: release v${NEW} has no checksums.txt.sig, and this flywheel only installs releases signed with its release key; nothing was changed (ask the publisher to sign the release, or download and verify it by hand)\n`,
    );
    expect(server.requests).toEqual(["/releases/latest"]);
    expect(same(readFileSync(bin), binaryOf(KEYED))).toBe(true);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${OLD} `);
  });

  test("refuses a release whose archive and checksums.txt were swapped and re-signed by another key", async () => {
    const attacker = await throwawayKeyPair();
    const evil = tampered(archiveOf(NEW));
    const checksums = checksumsFor({ [names(NEW).archive]: evil });
    const signature = await signWithPrivateKey(new TextEncoder().encode(checksums), attacker.seed);
    server.publish([publish(OLD), publish(NEW, { replace: { [names(NEW).archive]: evil }, checksums, signature })]);
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`flywheel: checksums.txt.sig of release v${NEW} is not a valid signature of its checksums.txt by this flywheel's release key;`);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(server.requests).not.toContain(archiveRequest);
    expect(same(readFileSync(bin), binaryOf(KEYED))).toBe(true);
    expect(readdirSync(dir)).toEqual(["flywheel"]);
  });

  test("installs a release signed by build.ts --sign-with", async () => {
    server.publish([publish(OLD), publish(NEW, { signature: built[NEW]!.signature! })]);
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`updated flywheel ${OLD} → ${NEW} (${bin})\n`);
    expect(server.requests).toContain(`/download/v${NEW}/checksums.txt.sig`);
    expect(same(readFileSync(bin), binaryOf(NEW))).toBe(true);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${NEW} `);
  });
});

describe("hostile working directory", () => {
  test("a stranger's bunfig.toml preload and .env do not touch the binary", async () => {
    const hostile = join(root, "hostile");
    mkdirSync(hostile);
    const marker = join(root, "evil-ran");
    writeFileSync(join(hostile, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
    writeFileSync(join(hostile, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "pwned");\n`);
    // FLYWHEEL_FORCE_TTY=1 would make the binary print the update notice from the cache below, so any line on
    // stderr proves the .env was read.
    writeFileSync(join(hostile, ".env"), "FLYWHEEL_EVIL=1\nFLYWHEEL_FORCE_TTY=1\n");
    writeFileSync(join(hostile, "noop.ts"), "");
    const cache = join(root, "hostile-cache");
    mkdirSync(join(cache, "flywheel"), { recursive: true });
    writeFileSync(
      join(cache, "flywheel", "update-check.json"),
      JSON.stringify({ checked_at: new Date().toISOString(), latest: "9.9.9", source: server.url }),
    );
    const env = (extra: Record<string, string> = {}) =>
      cleanEnv({ FLYWHEEL_UPDATE_URL: server.url, XDG_CACHE_HOME: cache, ...extra });

    // The fixture is live: plain `bun` in that directory does run the preload.
    const control = Bun.spawnSync([process.execPath, "noop.ts"], { cwd: hostile, env: env(), stdout: "pipe", stderr: "pipe" });
    expect(control.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
    // The probe is live: with FLYWHEEL_FORCE_TTY=1 really set, the binary prints the notice.
    const probe = await run(bin, ["version"], { cwd: root, env: env({ FLYWHEEL_FORCE_TTY: "1" }) });
    expect(probe.stderr).toBe(`flywheel 9.9.9 is available (you have ${OLD}): run \`flywheel self-update\`\n`);

    const clean = await run(bin, ["version"], { cwd: root, env: env() });
    for (const args of [["version"], ["version", "--json"], ["self-update", "--check"]]) {
      const inHostile = await run(bin, args, { cwd: hostile, env: env() });
      const inClean = await run(bin, args, { cwd: root, env: env() });
      expect(inHostile).toEqual(inClean);
    }
    expect(clean).toEqual({ code: 0, stdout: `flywheel ${OLD} (${HOST.os}-${HOST.arch}, bun ${Bun.version})\n`, stderr: "" });
    expect(existsSync(marker)).toBe(false);
  });
});
