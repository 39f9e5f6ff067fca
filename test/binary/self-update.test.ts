// Black-box tests of the compiled binary (SPEC §13): build.ts output, self-update replacing itself for real,
// release signatures, and immunity to a hostile working directory. Three host binaries are built once: 0.0.1,
// 0.0.2 (its checksums signed with a throwaway key) and 0.0.1 with that key's public half embedded.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { assetName, hostPlatform } from "../../src/update/platform.ts";
import { parseChecksums, sha256Hex } from "../../src/update/release.ts";
import { signWithPrivateKey, verifySignature } from "../../src/update/signature.ts";
import { checksumsFor, startReleaseServer, type FakeReleaseServer } from "../update/fake-release-server.ts";
import { throwawayKeyPair, type ThrowawayKeyPair } from "../update/throwaway-keys.ts";

const REPO = resolve(import.meta.dir, "..", "..");
const HOST = hostPlatform()!;
const OLD = "0.0.1";
const NEW = "0.0.2";
/** Label of the 0.0.1 build that carries the release public key. */
const KEYED = "0.0.1-keyed";

let root: string;
let server: FakeReleaseServer;
let keys: ThrowawayKeyPair;
const built: Record<string, { path: string; bytes: Uint8Array; checksums: string; signature?: Uint8Array }> = {};

/** Runs `bun build.ts --target host` for one version into its own directory, recorded under `label`. */
async function build(version: string, extraArgs: string[] = [], label = version): Promise<void> {
  const outdir = join(root, `dist-${label}`);
  const proc = Bun.spawn(
    [process.execPath, "build.ts", "--target", "host", "--outdir", outdir, "--version-override", version, ...extraArgs],
    { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`build.ts ${label} failed (${code}):\n${out}\n${err}`);
  const path = join(outdir, assetName(version, HOST));
  const sigPath = join(outdir, "checksums.txt.sig");
  built[label] = {
    path,
    bytes: readFileSync(path),
    checksums: readFileSync(join(outdir, "checksums.txt"), "utf8"),
    ...(existsSync(sigPath) ? { signature: new Uint8Array(readFileSync(sigPath)) } : {}),
  };
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

/**
 * Publishes a release whose binary asset has the given bytes, whose checksums.txt is `checksums`, and which
 * carries `signature` as checksums.txt.sig when given.
 */
function publish(version: string, opts: { bytes?: Uint8Array; checksums?: string | null; signature?: Uint8Array } = {}) {
  const name = assetName(version, HOST);
  const bytes = opts.bytes ?? built[version]!.bytes;
  const assets: Record<string, Uint8Array | string> = { [name]: bytes };
  if (opts.checksums !== null) assets["checksums.txt"] = opts.checksums ?? checksumsFor({ [name]: bytes });
  if (opts.signature) assets["checksums.txt.sig"] = opts.signature;
  return { version, assets };
}

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
});
afterAll(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  // A real install: a copy of the 0.0.1 binary alone in its own directory.
  dir = join(root, `install-${n++}`);
  mkdirSync(dir);
  bin = join(dir, "flywheel");
  copyFileSync(built[OLD]!.path, bin);
  chmodSync(bin, 0o755);
  server.requests.length = 0;
  server.publish([publish(OLD), publish(NEW)]);
});

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && sha256Hex(a) === sha256Hex(b);

describe("build.ts", () => {
  test("writes flywheel-<version>-<os>-<arch> and a matching sha256sum checksums.txt", () => {
    for (const v of [OLD, NEW]) {
      const { path, bytes, checksums } = built[v]!;
      const name = assetName(v, HOST);
      expect(path.endsWith(name)).toBe(true);
      expect(checksums).toBe(`${sha256Hex(bytes)}  ${name}\n`);
      expect(parseChecksums(checksums).get(name)).toBe(sha256Hex(bytes));
      expect(statSync(path).mode & 0o111).not.toBe(0);
    }
  });

  test("the version is baked in; version and version --json agree", async () => {
    const human = await run(built[NEW]!.path, ["version"]);
    expect(human).toEqual({ code: 0, stdout: `flywheel ${NEW} (${HOST.os}-${HOST.arch}, bun ${Bun.version})\n`, stderr: "" });
    const json = await run(built[NEW]!.path, ["version", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ version: NEW, os: HOST.os, arch: HOST.arch, bun: Bun.version });
  });
});

describe("self-update of the real binary", () => {
  test("installs the newer release atomically; the new file runs and reports its version", async () => {
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`updated flywheel ${OLD} → ${NEW} (${bin})\n`);
    expect(same(readFileSync(bin), built[NEW]!.bytes)).toBe(true);
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    expect(readdirSync(dir)).toEqual(["flywheel"]);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${NEW} `);
    // Now it is the latest.
    const again = await run(bin, ["upgrade"]);
    expect(again).toEqual({ code: 0, stdout: `flywheel ${NEW} is the latest version\n`, stderr: "" });
  });

  test("checksum mismatch: refused with one line, exit 1, old binary byte-identical and still runs", async () => {
    const tampered = new Uint8Array(built[NEW]!.bytes);
    tampered[tampered.length - 1]! ^= 0xff;
    server.publish([publish(OLD), publish(NEW, { bytes: tampered, checksums: built[NEW]!.checksums })]);
    const r = await run(bin, ["update"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^flywheel: checksum mismatch for flywheel-0\.0\.2-\S+: expected [0-9a-f]{64}, got [0-9a-f]{64}; nothing was changed$/);
    expect(r.stdout).toBe("");
    expect(same(readFileSync(bin), built[OLD]!.bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(["flywheel"]);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${OLD} `);
  });

  test("missing checksums.txt: refused, nothing downloaded, old binary byte-identical and still runs", async () => {
    server.publish([publish(OLD), publish(NEW, { checksums: null })]);
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("flywheel: release v0.0.2 has no checksums.txt; refusing to install a binary that cannot be verified\n");
    expect(server.requests).toEqual(["/releases/latest"]);
    expect(same(readFileSync(bin), built[OLD]!.bytes)).toBe(true);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${OLD} `);
  });

  test("--check reports and changes nothing", async () => {
    const before = statSync(bin);
    const r = await run(bin, ["self-update", "--check"]);
    expect(r).toEqual({ code: 0, stdout: `flywheel ${NEW} is available (you have ${OLD}): run \`flywheel self-update\`\n`, stderr: "" });
    expect(server.requests).toEqual(["/releases/latest"]);
    const after = statSync(bin);
    expect([after.ino, after.mtimeMs, after.size]).toEqual([before.ino, before.mtimeMs, before.size]);
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
    expect(same(readFileSync(bin), built[NEW]!.bytes)).toBe(true);
    expect((await run(link, ["version"])).stdout).toStartWith(`flywheel ${NEW} `);
  });

  test("a plain-http update source off loopback is refused before any request", async () => {
    const r = await run(bin, ["self-update"], { env: cleanEnv({ FLYWHEEL_UPDATE_URL: "http://releases.example.com" }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "flywheel: refusing to fetch http://releases.example.com/releases/latest (release source): update URLs must be https (plain http only to a loopback address: 127.0.0.0/8, ::1, localhost)\n",
    );
    expect(same(readFileSync(bin), built[OLD]!.bytes)).toBe(true);
  });

  test("an unknown flag is a usage error (exit 2), not a silent real update", async () => {
    const r = await run(bin, ["self-update", "--chek"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag --chek");
    expect(server.requests).toEqual([]);
    expect(same(readFileSync(bin), built[OLD]!.bytes)).toBe(true);
  });
});

describe("signed releases (a binary built with --signing-public-key)", () => {
  beforeEach(() => {
    copyFileSync(built[KEYED]!.path, bin);
  });
  const binaryRequest = `/download/v${NEW}/${assetName(NEW, HOST)}`;

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
    expect(same(readFileSync(bin), built[KEYED]!.bytes)).toBe(true);
    expect((await run(bin, ["version"])).stdout).toStartWith(`flywheel ${OLD} `);
  });

  test("refuses a release whose binary and checksums.txt were swapped and re-signed by another key", async () => {
    const attacker = await throwawayKeyPair();
    const evil = new Uint8Array(built[NEW]!.bytes);
    evil[evil.length - 1]! ^= 0xff;
    const checksums = checksumsFor({ [assetName(NEW, HOST)]: evil });
    const signature = await signWithPrivateKey(new TextEncoder().encode(checksums), attacker.seed);
    server.publish([publish(OLD), publish(NEW, { bytes: evil, checksums, signature })]);
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`flywheel: checksums.txt.sig of release v${NEW} is not a valid signature of its checksums.txt by this flywheel's release key;`);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(server.requests).not.toContain(binaryRequest);
    expect(same(readFileSync(bin), built[KEYED]!.bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(["flywheel"]);
  });

  test("installs a release signed by build.ts --sign-with", async () => {
    server.publish([publish(OLD), publish(NEW, { signature: built[NEW]!.signature! })]);
    const r = await run(bin, ["self-update"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`updated flywheel ${OLD} → ${NEW} (${bin})\n`);
    expect(server.requests).toContain(`/download/v${NEW}/checksums.txt.sig`);
    expect(same(readFileSync(bin), built[NEW]!.bytes)).toBe(true);
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
