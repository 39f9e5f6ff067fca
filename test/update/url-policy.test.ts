import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { downloadAsset, fetchRelease, findAsset, type FetchLike } from "../../src/update/release.ts";
import { UpdateError } from "../../src/update/update-error.ts";
import { assertUpdateUrl, UPDATE_URL_RULE } from "../../src/update/url-policy.ts";
import { isLoopbackHost } from "../../src/core/loopback.ts";
import { startReleaseServer, type FakeReleaseServer } from "./fake-release-server.ts";

describe("assertUpdateUrl", () => {
  test.each([
    "https://api.github.com/repos/flywheel-dev/flywheel/releases/latest",
    "https://example.com:8443/x",
    "http://127.0.0.1:8080/releases/latest",
    "http://127.255.0.9/x",
    "http://127.1/x",
    "http://[::1]:9/x",
    "http://localhost:9/x",
    "HTTP://LOCALHOST/x",
  ])("allows %s", (url) => {
    expect(assertUpdateUrl(url, "test").href).toBe(new URL(url).href);
  });

  test.each([
    "http://example.com/releases/latest",
    "http://10.0.0.1/x",
    "http://128.0.0.1/x",
    "http://127.0.0.1.example.com/x",
    "http://localhost.example.com/x",
    "http://[::ffff:127.0.0.1]/x",
    "file:///etc/passwd",
    "ftp://example.com/flywheel",
    "data:application/octet-stream;base64,AAAA",
  ])("refuses %s, naming it and the rule", (url) => {
    const e = (() => {
      try {
        assertUpdateUrl(url, "download of flywheel-1.0.0-linux-x64");
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(UpdateError);
    expect((e as UpdateError).code).toBe("update_refused");
    expect((e as Error).message).toBe(`flywheel: refusing to fetch ${url} (download of flywheel-1.0.0-linux-x64): ${UPDATE_URL_RULE}`);
  });

  test("something that is not a URL is refused as such", () => {
    expect(() => assertUpdateUrl("releases.example.com", "release source")).toThrow(
      `flywheel: refusing to fetch "releases.example.com" (release source): not a URL; ${UPDATE_URL_RULE}`,
    );
  });

  test("loopback is only the literal names", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("[::1]")).toBe(true);
    expect(isLoopbackHost("localhost")).toBe(true);
    expect(isLoopbackHost("127.0.0.256")).toBe(false);
    expect(isLoopbackHost("0.0.0.0")).toBe(false);
    expect(isLoopbackHost("localhost.")).toBe(false);
  });
});

describe("against the fake release server", () => {
  let server: FakeReleaseServer;
  /** Every URL handed to fetch, so a test can prove a refused address was never contacted. */
  let seen: string[];
  const spy: FetchLike = (input, init) => {
    seen.push(input);
    return fetch(input, init);
  };
  const binary = "flywheel-1.1.0-linux-x64";
  beforeAll(() => {
    server = startReleaseServer();
  });
  afterAll(() => server.stop());
  const publishWithUrl = (url?: string) => {
    seen = [];
    server.requests.length = 0;
    server.publish([{ version: "1.1.0", assets: { [binary]: "binary 1.1.0" }, ...(url ? { urls: { [binary]: url } } : {}) }]);
  };

  async function refusal(p: Promise<unknown>): Promise<UpdateError> {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(UpdateError);
    return e as UpdateError;
  }

  test("plain http to the loopback server is allowed, for metadata and downloads", async () => {
    publishWithUrl();
    const release = await fetchRelease(server.url, undefined, { fetch: spy });
    expect(new TextDecoder().decode(await downloadAsset(findAsset(release, binary)!, { fetch: spy }))).toBe("binary 1.1.0");
    expect(server.requests).toEqual(["/releases/latest", `/download/v1.1.0/${binary}`]);
  });

  test("plain http to a non-loopback release source is refused before any request", async () => {
    publishWithUrl();
    const e = await refusal(fetchRelease("http://releases.example.com/api", undefined, { fetch: spy }));
    expect(e.code).toBe("update_refused");
    expect(e.message).toBe(`flywheel: refusing to fetch http://releases.example.com/api/releases/latest (release source): ${UPDATE_URL_RULE}`);
    expect(seen).toEqual([]);
  });

  test("a file: browser_download_url in the release answer is refused, naming it", async () => {
    publishWithUrl("file:///etc/passwd");
    const release = await fetchRelease(server.url, undefined, { fetch: spy });
    const e = await refusal(downloadAsset(findAsset(release, binary)!, { fetch: spy }));
    expect(e.message).toBe(`flywheel: refusing to fetch file:///etc/passwd (download of ${binary}): ${UPDATE_URL_RULE}`);
    expect(seen).toEqual([`${server.url}/releases/latest`]);
  });

  test("a redirect to plain http on a non-loopback host is refused before it is followed", async () => {
    const start = server.redirectTo("http://mirror.example.com/flywheel");
    publishWithUrl(start);
    const release = await fetchRelease(server.url, undefined, { fetch: spy });
    const e = await refusal(downloadAsset(findAsset(release, binary)!, { fetch: spy }));
    expect(e.code).toBe("update_refused");
    expect(e.message).toBe(
      `flywheel: refusing to fetch http://mirror.example.com/flywheel (download of ${binary}, redirected from ${start}): ${UPDATE_URL_RULE}`,
    );
    expect(seen).toEqual([`${server.url}/releases/latest`, start]);
  });

  test("a redirect to file: is refused; one that stays on loopback is followed", async () => {
    publishWithUrl(server.redirectTo("file:///etc/passwd"));
    let release = await fetchRelease(server.url, undefined, { fetch: spy });
    expect((await refusal(downloadAsset(findAsset(release, binary)!, { fetch: spy }))).message).toContain("refusing to fetch file:///etc/passwd");

    publishWithUrl(server.redirectTo(`/download/v1.1.0/${binary}`));
    release = await fetchRelease(server.url, undefined, { fetch: spy });
    expect(new TextDecoder().decode(await downloadAsset(findAsset(release, binary)!, { fetch: spy }))).toBe("binary 1.1.0");
    expect(server.requests).toEqual(["/releases/latest", "/redirect", `/download/v1.1.0/${binary}`]);
  });

  test("endless redirects stop with a network error", async () => {
    publishWithUrl(`${server.url}/loop`);
    const release = await fetchRelease(server.url, undefined, { fetch: spy });
    const e = await refusal(downloadAsset(findAsset(release, binary)!, { fetch: spy }));
    expect(e.code).toBe("update_network");
    expect(e.message).toBe(`flywheel: ${server.url}/loop redirected more than 5 times; last to /loop`);
  });
});
