/**
 * An Ed25519 Signer on a node:crypto KeyObject made once per key. The simulator and the
 * benchmark sign hundreds of thousands of votes in one process; `ed25519Suite.sign` derives
 * the key into a fresh sodium_malloc buffer on every call, which exhausts locked memory (the
 * process aborts after some 10^4 signatures; reported to the crypto owner). Signatures are
 * identical: Ed25519 is deterministic.
 */
import { createPrivateKey, sign } from "node:crypto";
import { concatBytes, hexToBytes } from "../src/base/bytes.ts";
import type { Signer } from "../src/consensus/index.ts";
import { ed25519Suite } from "../src/crypto/ed25519.ts";

/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410), followed by the 32-byte seed. */
const PKCS8_ED25519_PREFIX = hexToBytes("302e020100300506032b657004220420");

export function keyObjectSigner(seed: Uint8Array): Signer {
  const key = createPrivateKey({
    key: Buffer.from(concatBytes(PKCS8_ED25519_PREFIX, seed)),
    format: "der",
    type: "pkcs8",
  });
  return {
    publicKey: ed25519Suite.publicKeyOf(seed),
    sign: (message: Uint8Array) => new Uint8Array(sign(null, message, key)),
  };
}
