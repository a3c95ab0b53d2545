/**
 * A node's identity on the network: its Ed25519 node key. The transport needs only the public
 * key and a signing operation (one signature per handshake), so the secret may live in this
 * process (nodeIdentityFromSecretKey, nodeIdentityFromSeed) or behind a remote signer or HSM
 * that offers the same two members.
 * @module
 */
import sodium from "sodium-native";
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes } from "../base/bytes.ts";
import { ed25519Suite } from "../crypto/ed25519.ts";

export const NODE_PUBLIC_KEY_BYTES = 32;
export const NODE_SECRET_KEY_BYTES = 64;
export const NODE_SEED_BYTES = 32;
export const NODE_SIGNATURE_BYTES = 64;

/** Same shape as consensus's Signer, so one key object can serve both. */
export interface NodeIdentity {
  /** The 32-byte Ed25519 public key: the node's id. */
  readonly publicKey: Uint8Array;
  /** Ed25519 (RFC 8032) signature of the message, 64 bytes. */
  sign(message: Uint8Array): Uint8Array;
}

/** Lower-case hex of a node's public key: how the transport names peers. */
export type PeerKeyHex = string;

const PEER_KEY_HEX_PATTERN = /^[0-9a-f]{64}$/;

export function peerKeyHex(publicKey: Uint8Array): PeerKeyHex {
  assert(publicKey.length === NODE_PUBLIC_KEY_BYTES, "a node key is 32 bytes");
  return bytesToHex(publicKey);
}

export function isPeerKeyHex(text: string): text is PeerKeyHex {
  return PEER_KEY_HEX_PATTERN.test(text);
}

/** An identity over libsodium's 64-byte secret key (seed ‖ public key), kept in guarded memory. */
export function nodeIdentityFromSecretKey(secretKey: Uint8Array): NodeIdentity {
  assert(secretKey.length === NODE_SECRET_KEY_BYTES, "a node secret key is 64 bytes (seed ‖ public key)");
  const publicKey = new Uint8Array(NODE_PUBLIC_KEY_BYTES);
  const guarded = sodium.sodium_malloc(NODE_SECRET_KEY_BYTES);
  sodium.crypto_sign_seed_keypair(
    publicKey as Buffer,
    guarded,
    secretKey.subarray(0, NODE_SEED_BYTES) as Buffer,
  );
  assert(
    equalBytes(publicKey, secretKey.subarray(NODE_SEED_BYTES)),
    "the secret key's public half matches its seed",
  );
  return {
    publicKey,
    sign(message: Uint8Array): Uint8Array {
      const signature = new Uint8Array(NODE_SIGNATURE_BYTES);
      sodium.crypto_sign_detached(signature as Buffer, message as Buffer, guarded);
      return signature;
    },
  };
}

/** An identity over the 32-byte RFC 8032 seed (the form key files hold). */
export function nodeIdentityFromSeed(seed: Uint8Array): NodeIdentity {
  assert(seed.length === NODE_SEED_BYTES, "an Ed25519 seed is 32 bytes");
  const publicKey = ed25519Suite.publicKeyOf(seed);
  const secretKey = new Uint8Array(NODE_SECRET_KEY_BYTES);
  secretKey.set(seed, 0);
  secretKey.set(publicKey, NODE_SEED_BYTES);
  const identity = nodeIdentityFromSecretKey(secretKey);
  secretKey.fill(0);
  return identity;
}

/** True only for a valid Ed25519 signature by the key; never throws. */
export function verifyNodeSignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!ed25519Suite.isPublicKey(publicKey)) return false;
  return ed25519Suite.verify(publicKey, message, signature);
}
