import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { assetName, hostPlatform } from "../../src/update/platform.ts";
import {
  DEFAULT_UPDATE_URL,
  downloadAsset,
  fetchRelease,
  findAsset,
  parseChecksums,
  parseRelease,
  releaseUrl,
  sha256Hex,
  updateBaseUrl,
  verifyChecksum,
} from "../../src/update/release.ts";
import { UpdateError } from "../../src/update/update-error.ts";
import { startReleaseServer, type FakeReleaseServer } from "./fake-release-server.ts";

const HASH_A = "a".repeat(64);

describe("release source", () => {
  test("FLYWHEEL_UPDATE_URL overrides GitHub; trailing slashes dropped; empty ignored", () => {
    expect(updateBaseUrl({})).toBe(DEFAULT_UPDATE_URL);
    expect(updateBaseUrl({ FLYWHEEL_UPDATE_URL: "" })).toBe(DEFAULT_UPDATE_URL);
    expect(updateBaseUrl({ FLYWHEEL_UPDATE_URL: "http://127.0.0.1:9/api/" })).toBe("http://127.0.0.1:9/api");
  });

  test("latest and pinned release URLs", () => {
    expect(releaseUrl("http://x")).toBe("http://x/releases/latest");
    expect(releaseUrl("http://x", "1.2.3")).toBe("http://x/releases/tags/v1.2.3");
    expect(releaseUrl("http://x", "v1.2.3")).toBe("http://x/releases/tags/v1.2.3");
  });
});

describe("parseRelease", () => {
  test("reads tag_name and assets, ignores the rest of GitHub's fields", () => {
    const r = parseRelease({
      tag_name: "v1.2.3",
      draft: false,
      assets: [{ name: "checksums.txt", browser_download_url: "http://x/c", size: 90, id: 1 }],
    });
    expect(r).toEqual({
      tag: "v1.2.3",
      version: "1.2.3",
      assets: [{ name: "checksums.txt", browser_download_url: "http://x/c" }],
    });
  });

  test.each([
    [null, /not a JSON object/],
    [[], /not a JSON object/],
    [{ assets: [] }, /tag_name undefined/],
    [{ tag_name: "nightly", assets: [] }, /tag_name "nightly"/],
    [{ tag_name: "v1.0.0" }, /no assets array/],
    [{ tag_name: "v1.0.0", assets: [{ name: "x" }] }, /assets\[0\]/],
  ])("rejects %j", (json, message) => {
    expect(() => parseRelease(json)).toThrow(message);
    try {
      parseRelease(json);
    } catch (e) {
      expect(e).toBeInstanceOf(UpdateError);
      expect((e as UpdateError).code).toBe("update_release");
    }
  });
});

describe("asset selection", () => {
  const release = parseRelease({
    tag_name: "v2.0.0",
    assets: ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"]
      .map((p) => ({ name: `flywheel-2.0.0-${p}`, browser_download_url: `http://x/${p}` }))
      .concat([{ name: "flywheel-2.0.0-linux-x64.tar.gz", browser_download_url: "http://x/tgz" }]),
  });

  test("picks the exact platform binary, not the tarball", () => {
    expect(assetName("2.0.0", { os: "linux", arch: "x64" })).toBe("flywheel-2.0.0-linux-x64");
    expect(findAsset(release, assetName(release.version, { os: "darwin", arch: "arm64" }))?.browser_download_url).toBe(
      "http://x/darwin-arm64",
    );
    expect(findAsset(release, "flywheel-2.0.0-linux-x64")?.browser_download_url).toBe("http://x/linux-x64");
    expect(findAsset(release, "flywheel-2.0.0-windows-x64")).toBeUndefined();
  });

  test("hostPlatform knows only the four published platforms", () => {
    expect(hostPlatform("linux", "arm64")).toEqual({ os: "linux", arch: "arm64" });
    expect(hostPlatform("darwin", "x64")).toEqual({ os: "darwin", arch: "x64" });
    expect(hostPlatform("win32", "x64")).toBeUndefined();
    expect(hostPlatform("linux", "ia32")).toBeUndefined();
  });
});

describe("checksums", () => {
  test("parses sha256sum text and binary-mode lines, lowercases hashes, skips blanks", () => {
    const sums = parseChecksums(`${HASH_A}  flywheel-1.0.0-linux-x64\n\n${"B".repeat(64)} *flywheel-1.0.0-darwin-arm64\r\n`);
    expect(sums.get("flywheel-1.0.0-linux-x64")).toBe(HASH_A);
    expect(sums.get("flywheel-1.0.0-darwin-arm64")).toBe("b".repeat(64));
    expect(sums.size).toBe(2);
  });

  test("rejects a line it does not understand, naming the line", () => {
    expect(() => parseChecksums(`${HASH_A}  ok\nnot a checksum line\n`)).toThrow(/line 2/);
    expect(() => parseChecksums(`${"a".repeat(63)}  short\n`)).toThrow(/line 1/);
  });

  test("verifyChecksum accepts the right hash in any case and refuses another", () => {
    const bytes = new TextEncoder().encode("hello");
    const good = sha256Hex(bytes);
    expect(good).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(() => verifyChecksum("x", bytes, good.toUpperCase())).not.toThrow();
    expect(() => verifyChecksum("x", bytes, HASH_A)).toThrow(/checksum mismatch for x: expected a{64}, got 2cf24d/);
  });
});

describe("HTTP", () => {
  let server: FakeReleaseServer;
  beforeAll(() => {
    server = startReleaseServer();
    server.publish([
      { version: "1.0.0", assets: { "checksums.txt": "" } },
      { version: "1.1.0", assets: { "flywheel-1.1.0-linux-x64": "binary" } },
    ]);
  });
  afterAll(() => server.stop());

  test("fetches latest and pinned releases", async () => {
    expect((await fetchRelease(server.url)).version).toBe("1.1.0");
    expect((await fetchRelease(server.url, "1.0.0")).tag).toBe("v1.0.0");
  });

  test("a missing pinned version names the version and the source", async () => {
    await expect(fetchRelease(server.url, "9.9.9")).rejects.toThrow(`flywheel: no release v9.9.9 at ${server.url}`);
  });

  test("unreachable source is a network error naming the URL", async () => {
    const e = await fetchRelease("http://127.0.0.1:1").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UpdateError);
    expect((e as UpdateError).code).toBe("update_network");
    expect((e as Error).message).toStartWith("flywheel: could not reach http://127.0.0.1:1/releases/latest");
  });

  test("HTTP errors and non-JSON bodies are reported, not parsed", async () => {
    const fake = (status: number, body: string) => async () => new Response(body, { status });
    await expect(fetchRelease("https://x", undefined, { fetch: fake(500, "oops") })).rejects.toThrow("answered HTTP 500");
    await expect(fetchRelease("https://x", undefined, { fetch: fake(200, "<html>") })).rejects.toThrow("did not return JSON");
  });

  test("downloads whole assets and refuses HTTP errors", async () => {
    const release = await fetchRelease(server.url);
    const asset = findAsset(release, "flywheel-1.1.0-linux-x64")!;
    expect(new TextDecoder().decode(await downloadAsset(asset))).toBe("binary");
    await expect(downloadAsset({ name: "gone", browser_download_url: `${server.url}/nope` })).rejects.toThrow(
      "download of gone failed: HTTP 404",
    );
  });

  test("onProgress sees every chunk with the declared total, ending at the whole size", async () => {
    const chunks = ["aaaa", "bb", "cccccc"].map((c) => new TextEncoder().encode(c));
    const body = () => new ReadableStream({ start: (c) => (chunks.forEach((x) => c.enqueue(x)), c.close()) });
    const seen: [number, number | undefined][] = [];
    const onProgress = (received: number, total: number | undefined) => seen.push([received, total]);
    const sized = async () => new Response(body(), { headers: { "content-length": "12" } });
    const bytes = await downloadAsset({ name: "x", browser_download_url: "https://x/x" }, { fetch: sized, onProgress });
    expect(new TextDecoder().decode(bytes)).toBe("aaaabbcccccc");
    expect(seen).toEqual([[4, 12], [6, 12], [12, 12]]);

    seen.length = 0;
    const unsized = async () => new Response(body());
    await downloadAsset({ name: "x", browser_download_url: "https://x/x" }, { fetch: unsized, onProgress });
    expect(seen.at(-1)).toEqual([12, undefined]);
  });

  test("a body shorter than Content-Length is refused as truncated", async () => {
    const fetchShort = async () => new Response("abc", { headers: { "content-length": "10" } });
    const e = await downloadAsset({ name: "x", browser_download_url: "https://x/x" }, { fetch: fetchShort }).catch(
      (x: unknown) => x,
    );
    // Bun may itself reject the mismatched body; either way it must be a network error, never bytes.
    expect(e).toBeInstanceOf(UpdateError);
    expect((e as UpdateError).code).toBe("update_network");
  });
});
