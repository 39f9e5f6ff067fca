/** A fresh Ed25519 key pair for one test file, in the forms build.ts and selfUpdate take. */
export interface ThrowawayKeyPair {
  /** Raw 32-byte private seed (what `signWithPrivateKey` and `BuildOptions.signingKey` take). */
  seed: Uint8Array;
  /** Raw 32-byte public key (what `selfUpdate({ releasePublicKey })` takes). */
  publicKey: Uint8Array;
  /** PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it. */
  privatePem: string;
  /** SubjectPublicKeyInfo PEM, as `openssl pkey -pubout` writes it. */
  publicPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Generates a key pair that exists only in this process. */
export async function throwawayKeyPair(): Promise<ThrowawayKeyPair> {
  const pair = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]);
  // The DOM typings cannot tell that an Ed25519 key is always generated as a pair.
  if (!("privateKey" in pair)) throw new Error("Ed25519 generateKey returned a single key");
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", pair.privateKey);
  const spki = await crypto.subtle.exportKey("spki", pair.publicKey);
  return {
    // The seed is the tail of Ed25519 PKCS#8 DER (RFC 8410), just as the public key is the tail of its SPKI.
    seed: new Uint8Array(pkcs8).slice(-32),
    publicKey: new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)),
    privatePem: pem("PRIVATE KEY", pkcs8),
    publicPem: pem("PUBLIC KEY", spki),
  };
}
