// install.sh end to end (issue #15): `sh install.sh` against a local release server holding what build.ts wrote,
// with the release key build.ts filled into the script. It must install only what checksums.txt (and, with a
// key and OpenSSL, checksums.txt.sig) vouch for, leave nothing behind when it refuses, and say what to do next.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sha256Hex } from "../../src/update/release.ts";
import { signWithPrivateKey } from "../../src/update/signature.ts";
import { checksumsFor, startReleaseServer, type FakeReleaseServer } from "../update/fake-release-server.ts";
import { throwawayKeyPair } from "../update/throwaway-keys.ts";
import { buildRelease, HOST, names, releaseOf, tampered, type BuiltRelease } from "./build-release.ts";

const VERSION = "0.0.5";
const REPO_SCRIPT = resolve(import.meta.dir, "..", "..", "install.sh");

let root: string;
let server: FakeReleaseServer;
let signed: BuiltRelease;
/** install.sh as build.ts wrote it for the signed build: it carries the throwaway release key. */
let keyedScript: string;
let attackerSeed: Uint8Array;
let home: string;
let scratch: string;
let n = 0;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "flywheel-install-sh-"));
  server = startReleaseServer();
  const [keys, attacker] = await Promise.all([throwawayKeyPair(), throwawayKeyPair()]);
  attackerSeed = attacker.seed;
  writeFileSync(join(root, "release.key"), keys.privatePem, { mode: 0o600 });
  writeFileSync(join(root, "release.pub"), keys.publicPem);
  signed = await buildRelease(join(root, "dist"), VERSION, ["--signing-public-key", join(root, "release.pub"), "--sign-with", join(root, "release.key")]);
  keyedScript = join(signed.outdir, "install.sh");
}, 120_000);
afterAll(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  home = join(root, `home-${n}`);
  scratch = join(root, `tmp-${n++}`);
  mkdirSync(home);
  mkdirSync(scratch);
  server.requests.length = 0;
  server.publish([releaseOf(signed, { signature: signed.signature! })]);
});

const base = () => `${server.url}/download/v${VERSION}`;
const request = (name: string) => `/download/v${VERSION}/${name}`;
const stableArchive = names(VERSION).latestArchive;
const binary = () => signed.files[names(VERSION).binary]!;

/** Runs `sh <script>` with a bare environment: HOME and TMPDIR of this test, the base URL, and `env`. */
async function install(script: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn(["/bin/sh", script], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TMPDIR: scratch, FLYWHEEL_INSTALL_BASE: base(), ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** A PATH of symlinks to the tools install.sh may use, minus `without`. */
function toolPath(without: string[]): string {
  const dir = join(root, `path-${n}`);
  mkdirSync(dir);
  const tools = ["awk", "cat", "chmod", "cp", "curl", "cut", "env", "grep", "gzip", "head", "mkdir", "mktemp", "mv", "openssl", "rm", "sha256sum", "shasum", "tar", "uname"];
  for (const tool of tools.filter((t) => !without.includes(t))) {
    const found = Bun.which(tool);
    if (found) symlinkSync(found, join(dir, tool));
  }
  return dir;
}

const installedAt = (dir: string) => join(dir, "flywheel");
const sameAsBinary = (path: string) => sha256Hex(new Uint8Array(readFileSync(path))) === sha256Hex(binary());
/** install.sh's temp directory is gone and no staged file is left beside the target. */
function leftNothingBehind(dir: string): void {
  expect(readdirSync(scratch)).toEqual([]);
  if (existsSync(dir)) expect(readdirSync(dir).filter((f) => f.startsWith("."))).toEqual([]);
}

describe("install.sh", () => {
  test("installs the verified archive into ~/.local/bin and says what to do next", async () => {
    const r = await install(keyedScript);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const dir = join(home, ".local", "bin");
    expect(r.stdout).toContain(`installing flywheel for ${HOST.os}-${HOST.arch} from ${base()}\n`);
    expect(r.stdout).toContain("verified the Ed25519 signature of checksums.txt\n");
    expect(r.stdout).toContain(`verified sha256 ${sha256Hex(signed.files[stableArchive]!)}\n`);
    expect(r.stdout).toContain(`installed flywheel ${VERSION} (${HOST.os}-${HOST.arch}, bun ${Bun.version}) to ${installedAt(dir)}\n`);
    expect(r.stdout).toContain(`export PATH="${dir}:$PATH"`);
    expect(r.stdout).toContain("flywheel self-update");
    expect(r.stdout).not.toMatch(/[\r\x1b]/);
    expect(server.requests).toEqual([request("checksums.txt"), request("checksums.txt.sig"), request(stableArchive)]);
    expect(sameAsBinary(installedAt(dir))).toBe(true);
    expect(statSync(installedAt(dir)).mode & 0o777).toBe(0o755);
    leftNothingBehind(dir);
  });

  test("FLYWHEEL_INSTALL_DIR: replaces the flywheel there; no PATH advice when it is on PATH", async () => {
    const dir = join(home, "tools");
    mkdirSync(dir);
    writeFileSync(installedAt(dir), "old flywheel");
    const r = await install(keyedScript, { FLYWHEEL_INSTALL_DIR: dir, PATH: `${dir}:${process.env.PATH}` });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("export PATH");
    expect(sameAsBinary(installedAt(dir))).toBe(true);
    expect(readdirSync(dir)).toEqual(["flywheel"]);
  });

  test("a tampered archive is refused: nothing installed, the old flywheel untouched, nothing left behind", async () => {
    const dir = join(home, "tools");
    mkdirSync(dir);
    writeFileSync(installedAt(dir), "old flywheel");
    server.publish([releaseOf(signed, { signature: signed.signature!, replace: { [stableArchive]: tampered(signed.files[stableArchive]!) } })]);
    const r = await install(keyedScript, { FLYWHEEL_INSTALL_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^flywheel install: checksum mismatch for ${stableArchive.replaceAll(".", "\\.")}: expected [0-9a-f]{64}, got [0-9a-f]{64}; nothing was installed\\n$`));
    expect(readFileSync(installedAt(dir), "utf8")).toBe("old flywheel");
    leftNothingBehind(dir);
  });

  test("archive and checksums.txt swapped together and signed by another key: refused before the archive is fetched", async () => {
    const evil = tampered(signed.files[stableArchive]!);
    const checksums = checksumsFor({ [stableArchive]: evil });
    const signature = await signWithPrivateKey(new TextEncoder().encode(checksums), attackerSeed);
    server.publish([releaseOf(signed, { replace: { [stableArchive]: evil }, checksums, signature })]);
    const r = await install(keyedScript);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("flywheel install: checksums.txt.sig is not a valid signature of checksums.txt by flywheel's release key; nothing was installed");
    expect(server.requests).not.toContain(request(stableArchive));
    expect(existsSync(join(home, ".local"))).toBe(false);
    leftNothingBehind(join(home, ".local", "bin"));
  });

  test("a script with the release key refuses a release without checksums.txt.sig", async () => {
    server.publish([releaseOf(signed)]);
    const r = await install(keyedScript);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`could not download ${base()}/checksums.txt.sig; this installer only installs releases signed with flywheel's release key, so nothing was installed`);
    expect(existsSync(join(home, ".local"))).toBe(false);
  });

  test("without openssl and sha256sum: shasum checks the archive (a tampered one is still refused), the signature is skipped with a warning", async () => {
    const PATH = toolPath(["openssl", "sha256sum"]);
    server.publish([releaseOf(signed, { signature: signed.signature!, replace: { [stableArchive]: tampered(signed.files[stableArchive]!) } })]);
    const refused = await install(keyedScript, { PATH });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`checksum mismatch for ${stableArchive}`);

    server.publish([releaseOf(signed, { signature: signed.signature! })]);
    const r = await install(keyedScript, { PATH });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("flywheel install: warning: openssl not found: checksums.txt.sig not checked (SHA-256 only)\n");
    expect(sameAsBinary(installedAt(join(home, ".local", "bin")))).toBe(true);
  });

  test("the repository's copy carries no key: SHA-256 only, and says so", async () => {
    expect(readFileSync(REPO_SCRIPT, "utf8")).toMatch(/^RELEASE_PUBLIC_KEY=''$/m);
    expect(readFileSync(keyedScript, "utf8")).toMatch(/^RELEASE_PUBLIC_KEY='MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}='$/m);
    const r = await install(REPO_SCRIPT);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("note: this copy of install.sh carries no release key: checked SHA-256 only\n");
    expect(server.requests).not.toContain(request("checksums.txt.sig"));
    expect(sameAsBinary(installedAt(join(home, ".local", "bin")))).toBe(true);
  });

  test("a base URL that is not https (plain http only to loopback) is refused before any download", async () => {
    for (const url of ["http://releases.example.com/dl", "http://127.0.0.1.example.com/dl", "ftp://127.0.0.1/dl"]) {
      const r = await install(keyedScript, { FLYWHEEL_INSTALL_BASE: url });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `flywheel install: refusing to download from ${url}: release URLs must be https (plain http only to a loopback address: 127.0.0.0/8, ::1, localhost)\n`,
      );
    }
    expect(server.requests).toEqual([]);
  });

  test("an archive without flywheel in it is refused", async () => {
    const tar = Bun.spawnSync(["tar", "-czf", "-", "-C", root, "release.pub"], { stdout: "pipe" }).stdout;
    const wrong = new Uint8Array(tar);
    const files = { ...signed.files, [stableArchive]: wrong };
    server.publish([{ version: VERSION, assets: { ...files, "checksums.txt": checksumsFor(files) } }]);
    const r = await install(REPO_SCRIPT);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`flywheel install: ${stableArchive} holds no file named flywheel; nothing was installed\n`);
    expect(existsSync(join(home, ".local"))).toBe(false);
    leftNothingBehind(join(home, ".local", "bin"));
  });
});
