import { beforeAll, describe, expect, test } from "bun:test";
import {
  assertSignedChecksums,
  decodePrivateKey,
  decodePublicKey,
  publicKeyOf,
  RELEASE_PUBLIC_KEY,
  signWithPrivateKey,
  verifySignature,
} from "../../src/update/signature.ts";
import { UpdateError } from "../../src/update/update-error.ts";
import { throwawayKeyPair, type ThrowawayKeyPair } from "./throwaway-keys.ts";

const DATA = new TextEncoder().encode(`${"a".repeat(64)}  flywheel-1.1.0-linux-x64\n`);
let keys: ThrowawayKeyPair;
let other: ThrowawayKeyPair;
beforeAll(async () => {
  [keys, other] = await Promise.all([throwawayKeyPair(), throwawayKeyPair()]);
});

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const derBody = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, "");

describe("key decoding", () => {
  test("a public key from PEM, base64 of raw or DER, raw bytes, or a file's text all decode to the same 32 bytes", () => {
    for (const input of [keys.publicPem, b64(keys.publicKey), derBody(keys.publicPem), keys.publicKey, new TextEncoder().encode(keys.publicPem)]) {
      expect(decodePublicKey(input)).toEqual(keys.publicKey);
    }
  });

  test("a private key from PKCS#8 PEM, base64, or raw seed decodes to the seed", () => {
    for (const input of [keys.privatePem, derBody(keys.privatePem), b64(keys.seed), keys.seed]) {
      expect(decodePrivateKey(input)).toEqual(keys.seed);
    }
  });

  test("anything else decodes to nothing, including the other half of a pair", () => {
    for (const input of ["", "not base64!", b64(new Uint8Array(31)), keys.privatePem, new Uint8Array(33)]) {
      expect(decodePublicKey(input)).toBeUndefined();
    }
    expect(decodePrivateKey(keys.publicPem)).toBeUndefined();
  });

  test("running from source there is no baked-in release key", () => {
    expect(RELEASE_PUBLIC_KEY).toBeUndefined();
  });
});

describe("signatures", () => {
  test("a signature verifies with its own public key only, and only for the signed bytes", async () => {
    const sig = await signWithPrivateKey(DATA, keys.seed);
    expect(sig.byteLength).toBe(64);
    expect(await publicKeyOf(keys.seed)).toEqual(keys.publicKey);
    expect(await verifySignature(DATA, sig, keys.publicKey)).toBe(true);
    expect(await verifySignature(DATA, sig, other.publicKey)).toBe(false);
    expect(await verifySignature(new TextEncoder().encode("other checksums"), sig, keys.publicKey)).toBe(false);
    expect(await verifySignature(DATA, sig.subarray(0, 63), keys.publicKey)).toBe(false);
    expect(await verifySignature(DATA, sig, new Uint8Array(32))).toBe(false);
  });

  test("assertSignedChecksums refuses a foreign or malformed signature with an update_checksum error", async () => {
    await assertSignedChecksums("v1.1.0", DATA, await signWithPrivateKey(DATA, keys.seed), keys.publicKey);
    for (const [sig, size] of [
      [await signWithPrivateKey(DATA, other.seed), ""],
      [new TextEncoder().encode(b64(await signWithPrivateKey(DATA, keys.seed))), " (88 bytes, expected 64)"],
    ] as const) {
      const e = await assertSignedChecksums("v1.1.0", DATA, sig, keys.publicKey).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(UpdateError);
      expect((e as UpdateError).code).toBe("update_checksum");
      expect((e as Error).message).toBe(
        `flywheel: checksums.txt.sig of release v1.1.0 is not a valid signature of its checksums.txt by this flywheel's release key${size}; nothing was changed (the release may have been tampered with: report it to its publisher)`,
      );
    }
  });
});
