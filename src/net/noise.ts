/**
 * Noise_XX_25519_ChaChaPoly_SHA256 (The Noise Protocol Framework, revision 34): cipher state,
 * symmetric state and the XX pattern
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se
 * X25519 and ChaCha20-Poly1305 (IETF, 96-bit nonce: 32 zero bits ‖ 64-bit little-endian
 * counter) come from libsodium (sodium-native), SHA-256 and HMAC-SHA256 from node:crypto.
 * Checked against the Cacophony vectors (noise.test.ts). CityLedger's use of it (prologue,
 * payloads, identity signatures) is in handshake.ts.
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import sodium from "sodium-native";
import { assert } from "../base/assert.ts";
import { concatBytes } from "../base/bytes.ts";
import { NetError, NetErrorCode } from "./errors.ts";
import { NET_TAG_BYTES } from "./limits.ts";

export const NOISE_PROTOCOL_NAME = "Noise_XX_25519_ChaChaPoly_SHA256";
export const NOISE_DH_BYTES = 32;
export const NOISE_HASH_BYTES = 32;
export const NOISE_KEY_BYTES = 32;
export const NOISE_NONCE_BYTES = 12;
/** Noise reserves the last nonce; ours stop far earlier (NET_FRAME_NONCE_MAX). */
const NONCE_COUNTER_MAX = Number.MAX_SAFE_INTEGER;

/** The AEAD calls, which sodium-native has and its type declarations lack. */
interface AeadBinding {
  crypto_aead_chacha20poly1305_ietf_encrypt(
    ciphertext: Uint8Array,
    message: Uint8Array,
    additionalData: Uint8Array | null,
    secretNonce: null,
    publicNonce: Uint8Array,
    key: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(
    message: Uint8Array,
    secretNonce: null,
    ciphertext: Uint8Array,
    additionalData: Uint8Array | null,
    publicNonce: Uint8Array,
    key: Uint8Array,
  ): number;
}
const aead = sodium as unknown as AeadBinding;

export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** The key pair of 32 secret bytes (clamped by X25519 itself, as Noise prescribes). */
export function x25519KeyPairFromSecret(secret: Uint8Array): X25519KeyPair {
  assert(secret.length === NOISE_DH_BYTES, "an X25519 secret is 32 bytes");
  const secretKey = secret.slice();
  const publicKey = new Uint8Array(NOISE_DH_BYTES);
  sodium.crypto_scalarmult_base(publicKey as Buffer, secretKey as Buffer);
  return { publicKey, secretKey };
}

/** X25519, or null when the remote key is of small order (libsodium refuses an all-zero result). */
export function x25519(secretKey: Uint8Array, remotePublicKey: Uint8Array): Uint8Array | null {
  assert(secretKey.length === NOISE_DH_BYTES, "an X25519 secret is 32 bytes");
  assert(remotePublicKey.length === NOISE_DH_BYTES, "an X25519 public key is 32 bytes");
  const shared = new Uint8Array(NOISE_DH_BYTES);
  try {
    sodium.crypto_scalarmult(shared as Buffer, secretKey as Buffer, remotePublicKey as Buffer);
  } catch {
    return null;
  }
  return shared;
}

function nonceBytes(counter: number): Uint8Array {
  assert(Number.isInteger(counter) && counter >= 0, "a nonce counter is a natural number");
  assert(counter <= NONCE_COUNTER_MAX, "a nonce counter is exact");
  const nonce = new Uint8Array(NOISE_NONCE_BYTES);
  const view = new DataView(nonce.buffer);
  view.setUint32(4, counter % 0x1_0000_0000, true);
  view.setUint32(8, Math.floor(counter / 0x1_0000_0000), true);
  return nonce;
}

/** ChaCha20-Poly1305 (IETF) with a Noise nonce: ciphertext ‖ 16-byte tag. */
export function aeadEncrypt(
  key: Uint8Array,
  counter: number,
  additionalData: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  assert(key.length === NOISE_KEY_BYTES, "a cipher key is 32 bytes");
  const ciphertext = new Uint8Array(plaintext.length + NET_TAG_BYTES);
  const written = aead.crypto_aead_chacha20poly1305_ietf_encrypt(
    ciphertext,
    plaintext,
    additionalData,
    null,
    nonceBytes(counter),
    key,
  );
  assert(written === ciphertext.length, "the AEAD wrote the whole ciphertext");
  return ciphertext;
}

/** The plaintext, or null when the tag does not verify. */
export function aeadDecrypt(
  key: Uint8Array,
  counter: number,
  additionalData: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | null {
  assert(key.length === NOISE_KEY_BYTES, "a cipher key is 32 bytes");
  if (ciphertext.length < NET_TAG_BYTES) return null;
  const plaintext = new Uint8Array(ciphertext.length - NET_TAG_BYTES);
  try {
    aead.crypto_aead_chacha20poly1305_ietf_decrypt(
      plaintext,
      null,
      ciphertext,
      additionalData,
      nonceBytes(counter),
      key,
    );
  } catch {
    return null;
  }
  return plaintext;
}

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

/** Noise's HKDF (section 4.3): two outputs from the chaining key and the input key material. */
function hkdf2(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array): [Uint8Array, Uint8Array] {
  const temporaryKey = hmacSha256(chainingKey, inputKeyMaterial);
  const first = hmacSha256(temporaryKey, Uint8Array.of(1));
  const second = hmacSha256(temporaryKey, concatBytes(first, Uint8Array.of(2)));
  return [first, second];
}

/** Noise's CipherState for the handshake: a key (or none) and a nonce counter. */
class CipherState {
  private key: Uint8Array | null = null;
  private nonce = 0;

  initializeKey(key: Uint8Array): void {
    assert(key.length === NOISE_KEY_BYTES, "a cipher key is 32 bytes");
    this.key = key;
    this.nonce = 0;
  }

  hasKey(): boolean {
    return this.key !== null;
  }

  encryptWithAd(additionalData: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.key === null) return plaintext;
    const ciphertext = aeadEncrypt(this.key, this.nonce, additionalData, plaintext);
    this.nonce++;
    return ciphertext;
  }

  decryptWithAd(additionalData: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (this.key === null) return ciphertext;
    const plaintext = aeadDecrypt(this.key, this.nonce, additionalData, ciphertext);
    if (plaintext !== null) this.nonce++;
    return plaintext;
  }
}

/** Noise's SymmetricState: chaining key, handshake hash and the current cipher. */
class SymmetricState {
  private chainingKey: Uint8Array;
  hash: Uint8Array;
  readonly cipher = new CipherState();

  constructor(protocolName: string) {
    const name = new TextEncoder().encode(protocolName);
    // A name of at most HASHLEN bytes is used as is, zero-padded; a longer one is hashed.
    const initial = new Uint8Array(NOISE_HASH_BYTES);
    if (name.length <= NOISE_HASH_BYTES) initial.set(name);
    else initial.set(sha256(name));
    this.hash = initial;
    this.chainingKey = initial.slice();
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, key] = hkdf2(this.chainingKey, inputKeyMaterial);
    this.chainingKey = chainingKey;
    this.cipher.initializeKey(key);
  }

  mixHash(data: Uint8Array): void {
    this.hash = sha256(concatBytes(this.hash, data));
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.hash, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array | null {
    const plaintext = this.cipher.decryptWithAd(this.hash, ciphertext);
    if (plaintext === null) return null;
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** The two transport keys: initiator-to-responder first. */
  split(): [Uint8Array, Uint8Array] {
    return hkdf2(this.chainingKey, new Uint8Array(0));
  }
}

/** What readMessage found: the payload and the handshake hash just before the payload. */
export interface NoiseRead {
  readonly payload: Uint8Array;
  readonly handshakeHashBeforePayload: Uint8Array;
}

export interface NoiseTransportKeys {
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  /** The final handshake hash (channel binding; identical on both sides). */
  readonly handshakeHash: Uint8Array;
}

function handshakeError(code: NetErrorCode, message: string, messageIndex: number): NetError {
  return new NetError(code, message, { messageIndex });
}

/**
 * One XX handshake, from one side. Messages alternate: 0 and 2 are the initiator's, 1 the
 * responder's. The payload of a written message is built by a callback that receives the
 * handshake hash at that point, so an identity signature can cover the transcript.
 */
export class NoiseXXHandshake {
  private readonly symmetric = new SymmetricState(NOISE_PROTOCOL_NAME);
  private readonly initiator: boolean;
  private readonly staticKeyPair: X25519KeyPair;
  private readonly ephemeralKeyPair: X25519KeyPair;
  private remoteEphemeralKey: Uint8Array | null = null;
  private remoteStatic: Uint8Array | null = null;
  private messageIndex = 0;

  constructor(
    initiator: boolean,
    prologue: Uint8Array,
    staticKeyPair: X25519KeyPair,
    ephemeralKeyPair: X25519KeyPair,
  ) {
    assert(staticKeyPair.publicKey.length === NOISE_DH_BYTES, "a static public key is 32 bytes");
    assert(ephemeralKeyPair.publicKey.length === NOISE_DH_BYTES, "an ephemeral public key is 32 bytes");
    this.initiator = initiator;
    this.staticKeyPair = staticKeyPair;
    this.ephemeralKeyPair = ephemeralKeyPair;
    this.symmetric.mixHash(prologue);
  }

  get complete(): boolean {
    return this.messageIndex === 3;
  }

  /** The remote's static X25519 key, once message 1 (initiator) or 2 (responder) was read. */
  get remoteStaticKey(): Uint8Array | null {
    return this.remoteStatic;
  }

  get handshakeHash(): Uint8Array {
    return this.symmetric.hash;
  }

  private ourTurn(): boolean {
    return this.messageIndex % 2 === 0 ? this.initiator : !this.initiator;
  }

  private mixDh(secretKey: Uint8Array, remotePublicKey: Uint8Array | null): void {
    assert(remotePublicKey !== null, "the remote key is known before a DH uses it");
    const shared = x25519(secretKey, remotePublicKey);
    if (shared === null) {
      throw handshakeError(
        NetErrorCode.HANDSHAKE_MALFORMED,
        "handshake refused: the remote sent a public key of small order",
        this.messageIndex,
      );
    }
    this.symmetric.mixKey(shared);
  }

  writeMessage(makePayload: (handshakeHash: Uint8Array) => Uint8Array): Uint8Array {
    assert(this.messageIndex < 3, "an XX handshake has three messages");
    assert(this.ourTurn(), "a side writes only its own messages");
    const parts: Uint8Array[] = [];
    const e = this.ephemeralKeyPair;
    const s = this.staticKeyPair;
    if (this.messageIndex === 0) {
      parts.push(e.publicKey);
      this.symmetric.mixHash(e.publicKey);
    } else if (this.messageIndex === 1) {
      parts.push(e.publicKey);
      this.symmetric.mixHash(e.publicKey);
      this.mixDh(e.secretKey, this.remoteEphemeralKey); // ee
      parts.push(this.symmetric.encryptAndHash(s.publicKey));
      this.mixDh(s.secretKey, this.remoteEphemeralKey); // es (responder's side)
    } else {
      parts.push(this.symmetric.encryptAndHash(s.publicKey));
      this.mixDh(s.secretKey, this.remoteEphemeralKey); // se (initiator's side)
    }
    parts.push(this.symmetric.encryptAndHash(makePayload(this.symmetric.hash)));
    this.messageIndex++;
    return concatBytes(...parts);
  }

  readMessage(message: Uint8Array): NoiseRead {
    assert(this.messageIndex < 3, "an XX handshake has three messages");
    assert(!this.ourTurn(), "a side reads only the remote's messages");
    const encryptedKeyBytes = NOISE_DH_BYTES + NET_TAG_BYTES;
    const fixedBytes = [NOISE_DH_BYTES, NOISE_DH_BYTES + encryptedKeyBytes, encryptedKeyBytes][
      this.messageIndex
    ]!;
    const payloadTagBytes = this.messageIndex === 0 ? 0 : NET_TAG_BYTES;
    if (message.length < fixedBytes + payloadTagBytes) {
      throw handshakeError(
        NetErrorCode.HANDSHAKE_MALFORMED,
        `handshake message ${this.messageIndex + 1} is ${message.length} bytes, shorter than its keys`,
        this.messageIndex,
      );
    }
    let offset = 0;
    if (this.messageIndex <= 1) {
      this.remoteEphemeralKey = message.slice(0, NOISE_DH_BYTES);
      this.symmetric.mixHash(this.remoteEphemeralKey);
      offset = NOISE_DH_BYTES;
    }
    if (this.messageIndex === 1) this.mixDh(this.ephemeralKeyPair.secretKey, this.remoteEphemeralKey); // ee
    if (this.messageIndex >= 1) {
      this.remoteStatic = this.decrypt(message.subarray(offset, offset + encryptedKeyBytes));
      offset += encryptedKeyBytes;
      // es on the initiator's side, se on the responder's: our ephemeral with their static key.
      this.mixDh(this.ephemeralKeyPair.secretKey, this.remoteStatic);
    }
    const handshakeHashBeforePayload = this.symmetric.hash;
    const payload = this.decrypt(message.subarray(offset));
    this.messageIndex++;
    return { payload, handshakeHashBeforePayload };
  }

  private decrypt(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.symmetric.decryptAndHash(ciphertext);
    if (plaintext === null) {
      throw handshakeError(
        NetErrorCode.HANDSHAKE_AUTHENTICATION_FAILED,
        `handshake message ${this.messageIndex + 1} failed authentication (tampered, or another prologue)`,
        this.messageIndex,
      );
    }
    return plaintext;
  }

  /** The transport keys; the handshake's secrets are wiped. */
  split(): NoiseTransportKeys {
    assert(this.complete, "split only after the third message");
    const [initiatorToResponder, responderToInitiator] = this.symmetric.split();
    this.ephemeralKeyPair.secretKey.fill(0);
    return this.initiator
      ? { sendKey: initiatorToResponder, receiveKey: responderToInitiator, handshakeHash: this.handshakeHash }
      : {
          sendKey: responderToInitiator,
          receiveKey: initiatorToResponder,
          handshakeHash: this.handshakeHash,
        };
  }
}
