/**
 * Release signatures (SPEC §13): an Ed25519 signature of `checksums.txt`, published as the asset
 * `checksums.txt.sig` holding the raw 64 signature bytes (what `openssl pkeyutl -sign -rawin` writes, so a
 * release can be checked with stock tools). A binary built with `build.ts --signing-public-key` carries the
 * public key and refuses any release whose signature does not verify; the checksums then vouch for the binary.
 * Web Crypto throughout: node:crypto would add startup time to every command of the compiled binary.
 */
import { CHECKSUMS_ASSET, CHECKSUMS_SIGNATURE_ASSET } from "./platform.ts";
import { UpdateError } from "./update-error.ts";

/**
 * Replaced by `build.ts --signing-public-key` through `define` with the base64 of the raw 32-byte Ed25519
 * public key. Undeclared at runtime otherwise, so it is only read behind `typeof` (see src/core/version.ts).
 */
declare const FLYWHEEL_SIGNING_PUBLIC_KEY: string | undefined;

/**
 * The release public key baked into this binary (raw 32 bytes), or `undefined` for a binary built without one
 * and when running from source: such a flywheel trusts `checksums.txt` as served, as before signing existed.
 */
export const RELEASE_PUBLIC_KEY: Uint8Array | undefined =
  typeof FLYWHEEL_SIGNING_PUBLIC_KEY === "string" ? new Uint8Array(Buffer.from(FLYWHEEL_SIGNING_PUBLIC_KEY, "base64")) : undefined;

/** Length of an Ed25519 signature, the exact size `checksums.txt.sig` must have. */
export const SIGNATURE_BYTES = 64;

// DER headers of the two standard Ed25519 key containers (RFC 8410); the key bytes follow them.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const KEY_BYTES = 32;

/**
 * The raw 32-byte Ed25519 public key in `input`, or `undefined` when it holds none. Accepts what people have at
 * hand: raw bytes (a 32-byte file), a PEM `PUBLIC KEY` (as `openssl pkey -pubout` writes), or base64 of either
 * the raw key or its DER SubjectPublicKeyInfo.
 */
export function decodePublicKey(input: string | Uint8Array): Uint8Array | undefined {
  return unwrapKey(input, SPKI_PREFIX, "PUBLIC KEY");
}

/**
 * The 32-byte Ed25519 private seed in `input`, or `undefined` when it holds none: raw 32 bytes, a PEM
 * `PRIVATE KEY` (PKCS#8, as `openssl genpkey -algorithm ed25519` writes), or base64 of the seed or its DER.
 */
export function decodePrivateKey(input: string | Uint8Array): Uint8Array | undefined {
  return unwrapKey(input, PKCS8_PREFIX, "PRIVATE KEY");
}

/**
 * The raw 32-byte public key as base64 of its DER SubjectPublicKeyInfo: the one-line body of its PEM, which is
 * how install.sh carries the release key (`openssl` reads it once wrapped in PEM armour).
 */
export function publicKeySpkiBase64(publicKey: Uint8Array): string {
  return Buffer.concat([SPKI_PREFIX, publicKey]).toString("base64");
}

function unwrapKey(input: string | Uint8Array, prefix: Buffer, pemLabel: string): Uint8Array | undefined {
  if (typeof input !== "string" && input.byteLength === KEY_BYTES) return new Uint8Array(input);
  const text = (typeof input === "string" ? input : new TextDecoder().decode(input)).trim();
  const pem = new RegExp(`^-----BEGIN ${pemLabel}-----([A-Za-z0-9+/=\\s]+)-----END ${pemLabel}-----$`).exec(text);
  const body = pem ? pem[1]!.replace(/\s+/g, "") : text;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined;
  const der = Buffer.from(body, "base64");
  if (!pem && der.byteLength === KEY_BYTES) return new Uint8Array(der);
  if (der.byteLength === prefix.byteLength + KEY_BYTES && der.subarray(0, prefix.byteLength).equals(prefix)) {
    return new Uint8Array(der.subarray(prefix.byteLength));
  }
  return undefined;
}

// Web Crypto's types take only ArrayBuffer-backed views; the inputs here are small, so a copy is the honest fix.
function copy(view: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(view);
}

function importPrivateKey(seed: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("pkcs8", Buffer.concat([PKCS8_PREFIX, seed]), { name: "Ed25519" }, true, ["sign"]);
}

/** Signs `data` with the Ed25519 private key whose 32-byte seed is `seed`; returns the 64 signature bytes. */
export async function signWithPrivateKey(data: Uint8Array, seed: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("Ed25519", await importPrivateKey(seed), copy(data)));
}

/** The raw 32-byte public key that belongs to the private `seed` (so a build can check it signs for the key it embeds). */
export async function publicKeyOf(seed: Uint8Array): Promise<Uint8Array> {
  const jwk = await crypto.subtle.exportKey("jwk", await importPrivateKey(seed));
  return new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"));
}

/** Whether `signature` is a valid Ed25519 signature of `data` by the raw 32-byte `publicKey`. Never throws. */
export async function verifySignature(data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== KEY_BYTES) return false;
  try {
    const key = await crypto.subtle.importKey("raw", copy(publicKey), { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify("Ed25519", key, copy(signature), copy(data));
  } catch {
    return false;
  }
}

/**
 * Throws {@link UpdateError} `checksum` unless `signature` (the bytes of `checksums.txt.sig`) is a valid
 * signature of `checksums` by `publicKey`. This is what stops a source that swaps both the binary and
 * `checksums.txt`: without the private key it cannot produce a signature this check accepts.
 */
export async function assertSignedChecksums(tag: string, checksums: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<void> {
  if (await verifySignature(checksums, signature, publicKey)) return;
  const size = signature.byteLength === SIGNATURE_BYTES ? "" : ` (${signature.byteLength} bytes, expected ${SIGNATURE_BYTES})`;
  throw new UpdateError(
    "checksum",
    `flywheel: ${CHECKSUMS_SIGNATURE_ASSET} of release ${tag} is not a valid signature of its ${CHECKSUMS_ASSET} by this flywheel's release key${size}; nothing was changed (the release may have been tampered with: report it to its publisher)`,
  );
}
