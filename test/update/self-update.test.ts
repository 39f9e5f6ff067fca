import { afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderSelfUpdate } from "../../src/cli/self-update.ts";
import type { ReleasePlatform } from "../../src/update/platform.ts";
import { selfUpdate, type SelfUpdateOptions } from "../../src/update/self-update.ts";
import { exitStatusOf, FlywheelError } from "../../src/core/errors.ts";
import { UpdateError } from "../../src/update/update-error.ts";
import { signWithPrivateKey } from "../../src/update/signature.ts";
import { writeTar } from "../../src/update/tar.ts";
import { checksumsFor, useReleaseServer, type FakeReleaseServer } from "./fake-release-server.ts";
import { throwawayKeyPair, type ThrowawayKeyPair } from "./throwaway-keys.ts";

const PLATFORM: ReleasePlatform = { os: "linux", arch: "arm64" };
const bin = (v: string) => `flywheel-${v}-linux-arm64`;
const tgz = (v: string) => `${bin(v)}.tar.gz`;
/** A release archive as build.ts makes it, holding `flywheel` with `content` (or, with `name`, another file). */
const archiveOf = (content: string, name = "flywheel") =>
  Bun.gzipSync(writeTar([{ name, bytes: new TextEncoder().encode(content), mode: 0o755, mtime: 0 }]));

let server: FakeReleaseServer;
let root: string;
let target: string;
let verified: string[];

useReleaseServer("flywheel-selfupdate-", (s, r) => {
  server = s;
  root = r;
});

let n = 0;
beforeEach(() => {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  target = join(dir, "flywheel");
  writeFileSync(target, "binary 1.0.0");
  verified = [];
  server.requests.length = 0;
  const v11 = { [bin("1.1.0")]: "binary 1.1.0", [bin("1.1.0").replace("arm64", "x64")]: "other platform" };
  const v09 = { [bin("0.9.0")]: "binary 0.9.0" };
  const v10 = { [bin("1.0.0")]: "binary 1.0.0" };
  server.publish([
    { version: "0.9.0", assets: { ...v09, "checksums.txt": checksumsFor(v09) } },
    { version: "1.0.0", assets: { ...v10, "checksums.txt": checksumsFor(v10) } },
    { version: "1.1.0", assets: { ...v11, "checksums.txt": checksumsFor(v11) } },
  ]);
});

function opts(extra: Partial<SelfUpdateOptions> = {}): SelfUpdateOptions {
  return {
    currentVersion: "1.0.0",
    baseUrl: server.url,
    install: { execPath: target, isCompiled: true },
    platform: PLATFORM,
    probe: () => true,
    verifyStaged: async (path, v) => {
      verified.push(`${readFileSync(path, "utf8")}@${v}`);
    },
    ...extra,
  };
}

async function failure(p: Promise<unknown>): Promise<UpdateError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(UpdateError);
  expect(e).toBeInstanceOf(FlywheelError);
  return e as UpdateError;
}

const installed = () => readFileSync(target, "utf8");
const siblings = () => readdirSync(join(target, ".."));

describe("selfUpdate", () => {
  test("installs a newer latest release after verifying it", async () => {
    const result = await selfUpdate(opts());
    expect(result).toEqual({ action: "updated", from: "1.0.0", to: "1.1.0", path: target });
    expect(installed()).toBe("binary 1.1.0");
    expect(verified).toEqual(["binary 1.1.0@1.1.0"]);
    expect(siblings()).toEqual(["flywheel"]);
    expect(renderSelfUpdate(result)).toBe(`updated flywheel 1.0.0 → 1.1.0 (${target})`);
  });

  test("already latest: says so and downloads nothing", async () => {
    server.publish([{ version: "1.0.0", assets: {} }]);
    const result = await selfUpdate(opts());
    expect(result).toEqual({ action: "up-to-date", current: "1.0.0", latest: "1.0.0", url: null });
    expect(renderSelfUpdate(result)).toBe("flywheel 1.0.0 is the latest version");
    expect(server.requests).toEqual(["/releases/latest"]);
  });

  test("a latest release older than the running version is not a downgrade", async () => {
    expect((await selfUpdate(opts({ currentVersion: "2.0.0" }))).action).toBe("up-to-date");
    expect(installed()).toBe("binary 1.0.0");
  });

  test("--check reports and changes nothing, even where installing would be refused", async () => {
    const result = await selfUpdate(opts({ check: true, probe: () => false }));
    expect(result).toEqual({ action: "available", current: "1.0.0", target: "1.1.0", url: `${server.url}/download/v1.1.0/${bin("1.1.0")}` });
    expect(renderSelfUpdate(result)).toBe("flywheel 1.1.0 is available (you have 1.0.0): run `flywheel self-update`");
    expect(server.requests).toEqual(["/releases/latest"]);
    expect(installed()).toBe("binary 1.0.0");
  });

  test("--check --force reports a reinstall", async () => {
    server.publish([{ version: "1.0.0", assets: {} }]);
    const result = await selfUpdate(opts({ check: true, force: true }));
    expect(renderSelfUpdate(result)).toBe("flywheel 1.0.0 would be reinstalled (--force)");
    expect(installed()).toBe("binary 1.0.0");
  });

  test("--force reinstalls the same version", async () => {
    server.publish([{ version: "1.0.0", assets: { [bin("1.0.0")]: "fresh 1.0.0", "checksums.txt": checksumsFor({ [bin("1.0.0")]: "fresh 1.0.0" }) } }]);
    const result = await selfUpdate(opts({ force: true }));
    expect(result.action).toBe("updated");
    expect(installed()).toBe("fresh 1.0.0");
  });

  test("--version pins a release, including an older one", async () => {
    expect(await selfUpdate(opts({ version: "v0.9.0" }))).toMatchObject({ action: "updated", to: "0.9.0" });
    expect(installed()).toBe("binary 0.9.0");
    expect(server.requests[0]).toBe("/releases/tags/v0.9.0");
  });

  test("--version of the running version without --force does nothing", async () => {
    const result = await selfUpdate(opts({ version: "1.0.0" }));
    expect(result.action).toBe("up-to-date");
    expect(renderSelfUpdate(result, "1.0.0")).toContain("already installed (use --force");
  });

  test("--version that does not exist names it", async () => {
    const e = await failure(selfUpdate(opts({ version: "7.7.7" })));
    expect(e.message).toBe(`flywheel: no release v7.7.7 at ${server.url}`);
  });

  test("--version that is not a version is a usage error, before any request", async () => {
    const e = await failure(selfUpdate(opts({ version: "latest" })));
    expect(e.code).toBe("usage");
    expect(exitStatusOf(e)).toBe(2);
    expect(server.requests).toEqual([]);
  });

  test("checksum mismatch: refused, nothing written, old binary untouched", async () => {
    const assets = { [bin("1.1.0")]: "tampered", "checksums.txt": checksumsFor({ [bin("1.1.0")]: "binary 1.1.0" }) };
    server.publish([{ version: "1.1.0", assets }]);
    const e = await failure(selfUpdate(opts()));
    expect(e.code).toBe("update_checksum");
    expect(e.reason).toBe("checksum");
    expect(exitStatusOf(e)).toBe(1);
    expect(e.message).toMatch(/^flywheel: checksum mismatch for flywheel-1\.1\.0-linux-arm64: expected [0-9a-f]{64}, got [0-9a-f]{64}; nothing was changed$/);
    expect(installed()).toBe("binary 1.0.0");
    expect(siblings()).toEqual(["flywheel"]);
    expect(verified).toEqual([]);
  });

  test("missing checksums.txt: refused before downloading the binary", async () => {
    server.publish([{ version: "1.1.0", assets: { [bin("1.1.0")]: "binary 1.1.0" } }]);
    const e = await failure(selfUpdate(opts()));
    expect(e.message).toBe("flywheel: release v1.1.0 has no checksums.txt; refusing to install a binary that cannot be verified");
    expect(server.requests).toEqual(["/releases/latest"]);
    expect(installed()).toBe("binary 1.0.0");
  });

  test("checksums.txt without an entry for our asset: refused", async () => {
    server.publish([{ version: "1.1.0", assets: { [bin("1.1.0")]: "binary 1.1.0", "checksums.txt": checksumsFor({ other: "x" }) } }]);
    const e = await failure(selfUpdate(opts()));
    expect(e.message).toContain("has no entry for flywheel-1.1.0-linux-arm64");
    expect(installed()).toBe("binary 1.0.0");
  });

  test("no asset for this platform: names the platform and the asset looked for", async () => {
    const e = await failure(selfUpdate(opts({ platform: { os: "darwin", arch: "x64" } })));
    expect(e.message).toBe("flywheel: release v1.1.0 has no binary for darwin-x64 (looked for flywheel-1.1.0-darwin-x64.tar.gz)");
  });

  test("a staged binary that fails its smoke run is discarded; old binary untouched", async () => {
    const e = await failure(
      selfUpdate(
        opts({
          verifyStaged: async () => {
            throw new UpdateError("checksum", "flywheel: the downloaded flywheel 1.1.0 does not run on this machine (exit 126)");
          },
        }),
      ),
    );
    expect(e.message).toContain("does not run on this machine");
    expect(installed()).toBe("binary 1.0.0");
    expect(siblings()).toEqual(["flywheel"]);
  });

  test("refusals happen before any network request", async () => {
    const cases: Partial<SelfUpdateOptions>[] = [
      { install: { execPath: "/usr/lib/node_modules/flywheel/flywheel", isCompiled: true } },
      { install: { execPath: "/opt/homebrew/Cellar/flywheel/1.0.0/bin/flywheel", isCompiled: true } },
      { install: { execPath: "/usr/bin/bun", isCompiled: false } },
      { probe: () => false },
    ];
    const messages: string[] = [];
    for (const c of cases) {
      const e = await failure(selfUpdate(opts(c)));
      expect(e.code).toBe("update_refused");
      messages.push(e.message);
    }
    expect(messages[0]).toContain("npm install -g flywheel@latest");
    expect(messages[1]).toContain("brew upgrade flywheel");
    expect(messages[2]).toContain("runs from source");
    expect(messages[3]).toContain("cannot write to");
    expect(server.requests).toEqual([]);
    expect(installed()).toBe("binary 1.0.0");
  });

  test("URL policy: an http source off loopback and a file: asset are refused, nothing changes", async () => {
    const offLoopback = await failure(selfUpdate(opts({ baseUrl: "http://releases.example.com" })));
    expect(offLoopback.code).toBe("update_refused");
    expect(offLoopback.message).toContain("refusing to fetch http://releases.example.com/releases/latest (release source): update URLs must be https");

    const assets = { [bin("1.1.0")]: "binary 1.1.0" };
    server.publish([{ version: "1.1.0", assets: { ...assets, "checksums.txt": checksumsFor(assets) }, urls: { [bin("1.1.0")]: "file:///bin/sh" } }]);
    const fileAsset = await failure(selfUpdate(opts()));
    expect(fileAsset.message).toContain(`refusing to fetch file:///bin/sh (download of ${bin("1.1.0")})`);
    expect(installed()).toBe("binary 1.0.0");
    expect(siblings()).toEqual(["flywheel"]);
  });

  test("a release source that answers with another tag than pinned is refused", async () => {
    const lying = async () => Response.json({ tag_name: "v6.6.6", assets: [] });
    const e = await failure(selfUpdate(opts({ version: "1.1.0", fetch: lying })));
    expect(e.message).toContain("asked");
    expect(e.message).toContain("v6.6.6");
  });
});

describe("release archives (.tar.gz)", () => {
  /** Release 1.1.0 with `assets` and a checksums.txt listing them, or `sums` instead. */
  function publish(assets: Record<string, string | Uint8Array>, sums: Record<string, string | Uint8Array> = assets) {
    server.publish([{ version: "1.1.0", assets: { ...assets, "checksums.txt": checksumsFor(sums) } }]);
  }

  test("the archive is preferred over the bare binary: its checksum verified, the flywheel inside installed", async () => {
    publish({ [bin("1.1.0")]: "bare 1.1.0", [tgz("1.1.0")]: archiveOf("archived 1.1.0") });
    const progress: number[] = [];
    const result = await selfUpdate(opts({ onProgress: (received) => progress.push(received) }));
    expect(result).toEqual({ action: "updated", from: "1.0.0", to: "1.1.0", path: target });
    expect(installed()).toBe("archived 1.1.0");
    expect(verified).toEqual(["archived 1.1.0@1.1.0"]);
    expect(siblings()).toEqual(["flywheel"]);
    expect(server.requests).toEqual(["/releases/latest", "/download/v1.1.0/checksums.txt", `/download/v1.1.0/${tgz("1.1.0")}`]);
    expect(progress.at(-1)).toBe(archiveOf("archived 1.1.0").byteLength);
  });

  test("--check names the archive's URL", async () => {
    publish({ [bin("1.1.0")]: "bare 1.1.0", [tgz("1.1.0")]: archiveOf("archived 1.1.0") });
    expect(await selfUpdate(opts({ check: true }))).toEqual({
      action: "available",
      current: "1.0.0",
      target: "1.1.0",
      url: `${server.url}/download/v1.1.0/${tgz("1.1.0")}`,
    });
  });

  test("a tampered archive: checksum mismatch naming the archive, old binary untouched", async () => {
    publish({ [tgz("1.1.0")]: archiveOf("evil 1.1.0") }, { [tgz("1.1.0")]: archiveOf("archived 1.1.0") });
    const e = await failure(selfUpdate(opts()));
    expect(e.code).toBe("update_checksum");
    expect(e.message).toStartWith(`flywheel: checksum mismatch for ${tgz("1.1.0")}: expected`);
    expect(installed()).toBe("binary 1.0.0");
    expect(siblings()).toEqual(["flywheel"]);
    expect(verified).toEqual([]);
  });

  test("an archive that matches its checksum but holds no flywheel, or is no archive: refused, old binary untouched", async () => {
    publish({ [tgz("1.1.0")]: archiveOf("1.1.0", "bin/flywheel") });
    const empty = await failure(selfUpdate(opts()));
    expect(empty.code).toBe("update_release");
    expect(empty.message).toBe(`flywheel: ${tgz("1.1.0")} of release v1.1.0 holds no file named flywheel; nothing was changed`);

    publish({ [tgz("1.1.0")]: "plain text, not gzip" });
    const garbage = await failure(selfUpdate(opts()));
    expect(garbage.code).toBe("update_release");
    expect(garbage.message).toStartWith(`flywheel: ${tgz("1.1.0")} of release v1.1.0 is not a gzipped tar archive (`);
    expect(installed()).toBe("binary 1.0.0");
    expect(siblings()).toEqual(["flywheel"]);
    expect(verified).toEqual([]);
  });

  test("the archive's checksums.txt entry is what counts: an entry for the bare binary only is refused", async () => {
    publish({ [bin("1.1.0")]: "bare 1.1.0", [tgz("1.1.0")]: archiveOf("archived 1.1.0") }, { [bin("1.1.0")]: "bare 1.1.0" });
    const e = await failure(selfUpdate(opts()));
    expect(e.message).toBe(`flywheel: checksums.txt of v1.1.0 has no entry for ${tgz("1.1.0")}; refusing to install it`);
    expect(installed()).toBe("binary 1.0.0");
  });
});

describe("release signatures", () => {
  let keys: ThrowawayKeyPair;
  let attacker: ThrowawayKeyPair;
  beforeAll(async () => {
    [keys, attacker] = await Promise.all([throwawayKeyPair(), throwawayKeyPair()]);
  });

  /** Release 1.1.0 with `binary` as its asset, a checksums.txt that matches it, and `signature` if given. */
  function publishSigned(binary: string, signature?: Uint8Array): string {
    const assets: Record<string, string | Uint8Array> = { [bin("1.1.0")]: binary };
    const sums = checksumsFor(assets);
    assets["checksums.txt"] = sums;
    if (signature) assets["checksums.txt.sig"] = signature;
    server.publish([{ version: "1.1.0", assets }]);
    return sums;
  }
  const sign = (text: string, seed: Uint8Array) => signWithPrivateKey(new TextEncoder().encode(text), seed);
  const binaryRequest = `/download/v1.1.0/${bin("1.1.0")}`;

  test("a release signed by the release key is installed", async () => {
    const sums = checksumsFor({ [bin("1.1.0")]: "binary 1.1.0" });
    publishSigned("binary 1.1.0", await sign(sums, keys.seed));
    const result = await selfUpdate(opts({ releasePublicKey: keys.publicKey }));
    expect(result).toMatchObject({ action: "updated", to: "1.1.0" });
    expect(installed()).toBe("binary 1.1.0");
    expect(server.requests).toEqual(["/releases/latest", "/download/v1.1.0/checksums.txt", "/download/v1.1.0/checksums.txt.sig", binaryRequest]);
  });

  test("binary and checksums.txt swapped together, signed by another key: refused, binary never fetched, old binary untouched", async () => {
    const sums = checksumsFor({ [bin("1.1.0")]: "evil 1.1.0" });
    publishSigned("evil 1.1.0", await sign(sums, attacker.seed));
    const e = await failure(selfUpdate(opts({ releasePublicKey: keys.publicKey })));
    expect(e.code).toBe("update_checksum");
    expect(e.message).toStartWith("flywheel: checksums.txt.sig of release v1.1.0 is not a valid signature of its checksums.txt by this flywheel's release key;");
    expect(server.requests).not.toContain(binaryRequest);
    expect(installed()).toBe("binary 1.0.0");
    expect(siblings()).toEqual(["flywheel"]);
    expect(verified).toEqual([]);
  });

  test("binary and checksums.txt swapped together, no signature: refused before any download", async () => {
    publishSigned("evil 1.1.0");
    const e = await failure(selfUpdate(opts({ releasePublicKey: keys.publicKey })));
    expect(e.code).toBe("update_checksum");
    expect(e.message).toBe(
      "flywheel: release v1.1.0 has no checksums.txt.sig, and this flywheel only installs releases signed with its release key; nothing was changed (ask the publisher to sign the release, or download and verify it by hand)",
    );
    expect(server.requests).toEqual(["/releases/latest"]);
    expect(installed()).toBe("binary 1.0.0");
  });

  test("a genuine signature of the original checksums does not cover a swapped checksums.txt", async () => {
    const genuine = await sign(checksumsFor({ [bin("1.1.0")]: "binary 1.1.0" }), keys.seed);
    publishSigned("evil 1.1.0", genuine);
    const e = await failure(selfUpdate(opts({ releasePublicKey: keys.publicKey })));
    expect(e.code).toBe("update_checksum");
    expect(installed()).toBe("binary 1.0.0");
  });

  test("without a release key, an unsigned release installs on its checksums as before and no signature is fetched", async () => {
    publishSigned("binary 1.1.0");
    expect(await selfUpdate(opts())).toMatchObject({ action: "updated", to: "1.1.0" });
    expect(installed()).toBe("binary 1.1.0");
    expect(server.requests).toEqual(["/releases/latest", "/download/v1.1.0/checksums.txt", binaryRequest]);
  });
});

describe("the staged binary's test run", () => {
  const planted = { FLYWHEEL_API_TOKEN: "secret-token", FLYWHEEL_DATABASE_URL: "postgres://user:secret@db/prod", GITHUB_TOKEN: "ghp_secret" };
  beforeEach(() => Object.assign(process.env, planted));
  afterEach(() => {
    for (const name of Object.keys(planted)) delete process.env[name];
  });

  test("sees PATH and HOME from our environment and nothing else", async () => {
    const dump = join(target, "..", "env.txt");
    // A stand-in release binary: records the environment it was given and answers `version --json` as 1.1.0.
    const script = `#!/bin/sh\nenv > '${dump}'\nprintf '{"version":"1.1.0"}\\n'\n`;
    const assets = { [bin("1.1.0")]: script };
    server.publish([{ version: "1.1.0", assets: { ...assets, "checksums.txt": checksumsFor(assets) } }]);
    expect(await selfUpdate(opts({ verifyStaged: undefined }))).toMatchObject({ action: "updated", to: "1.1.0" });
    const seen = new Map(
      readFileSync(dump, "utf8")
        .trim()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const),
    );
    // The shell adds its own bookkeeping variables; they are not inherited from us.
    for (const own of ["PWD", "OLDPWD", "SHLVL", "_"]) seen.delete(own);
    expect([...seen.keys()].sort()).toEqual(["FLYWHEEL_NO_UPDATE_CHECK", "HOME", "PATH"]);
    expect(seen.get("PATH")).toBe(process.env.PATH!);
    expect(seen.get("HOME")).toBe(process.env.HOME!);
    expect(seen.get("FLYWHEEL_NO_UPDATE_CHECK")).toBe("1");
  });
});
