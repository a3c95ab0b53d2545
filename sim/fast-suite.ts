/**
 * A test double of the Ed25519 suite for the simulator: keys and signatures are SHA-256
 * keyed hashes, so a simulated run verifies thousands of signatures in microseconds each.
 * It keeps the suite name "ed25519" so ledger code (validator sets, verifyCommit) accepts it.
 *
 * NOT SECURE: anyone who knows a public key can forge. The simulator's adversary never
 * forges by construction (Byzantine nodes sign only with their own keys); what the double
 * checks is that every signature is bound to its exact signing bytes and signer, which is
 * what consensus bugs break. `--suite ed25519` runs the simulator with real signatures.
 */
import { concatBytes, equalBytes, utf8 } from "../src/base/bytes.ts";
import { sha256 } from "../src/crypto/sha256.ts";
import { type KeyPair, type SignatureSuite, SUITE_CODES } from "../src/crypto/suite.ts";

const PUBLIC_KEY_TAG = utf8("sim-public-key");
/** Public keys of private keys already seen (the simulator has a handful). */
const publicKeys = new WeakMap<Uint8Array, Uint8Array>();

function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  let publicKey = publicKeys.get(privateKey);
  if (publicKey === undefined) {
    publicKey = sha256(concatBytes(PUBLIC_KEY_TAG, privateKey));
    publicKeys.set(privateKey, publicKey);
  }
  return publicKey;
}

/** 64 bytes: SHA-256(publicKey ‖ message), twice (the length of an Ed25519 signature). */
function signatureFor(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  const digest = sha256(concatBytes(publicKey, message));
  return concatBytes(digest, digest);
}

export const fastSimSuite: SignatureSuite = {
  name: "ed25519",
  code: SUITE_CODES.ed25519,
  publicKeyBytes: 32,
  privateKeyBytes: 32,
  signatureBytes: 64,
  hash: sha256,
  keyPairFromSeed(seed: Uint8Array): KeyPair {
    return { privateKey: seed.slice(), publicKey: publicKeyOf(seed) };
  },
  publicKeyOf,
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
    return signatureFor(publicKeyOf(privateKey), message);
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    return equalBytes(signatureFor(publicKey, message), signature);
  },
  isPublicKey(publicKey: Uint8Array): boolean {
    return publicKey instanceof Uint8Array && publicKey.length === 32;
  },
};
