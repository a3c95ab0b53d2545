/**
 * Opens a CityLedger key file (the `cityledger-key/v1` JSON the CLI and `cityledger dev` write;
 * src/crypto/key-sealing.ts) in the browser: scrypt from the passphrase (@noble/hashes, loaded
 * only when a file is imported), then AES-256-GCM with the file's metadata as additional data
 * (WebCrypto). The private key is then sealed again under the wallet's own passphrase.
 */
import { bytesToHex, hexToBytesOrNull, portableSuiteByName, type SuiteName } from "../sdk.ts";
import { WalletError } from "./key-vault.ts";

const KEY_FILE_FORMAT = "cityledger-key/v1";
/** Bounds the CLI accepts too (src/crypto/key-sealing.ts), so a file cannot ask for gigabytes. */
const SCRYPT_LOG_N_MIN = 10;
const SCRYPT_LOG_N_MAX = 20;
const KEY_FILE_CHARS_MAX = 4096;

export interface OpenedKeyFile {
  readonly suite: SuiteName;
  readonly privateKey: Uint8Array;
}

interface KeyFileFields {
  readonly suite: SuiteName;
  readonly publicKeyHex: string;
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  readonly saltHex: string;
  readonly nonce: Uint8Array<ArrayBuffer>;
  readonly sealed: Uint8Array<ArrayBuffer>;
}

function damaged(reason: string): WalletError {
  return new WalletError("WALLET_KEY_FILE_INVALID", `not a CityLedger key file: ${reason}`);
}

function bytesOf(value: unknown, field: string, length?: number): Uint8Array<ArrayBuffer> {
  const bytes = typeof value === "string" ? hexToBytesOrNull(value) : null;
  if (bytes === null || (length !== undefined && bytes.length !== length)) throw damaged(field);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw damaged(field);
  return value;
}

function fieldsOf(text: string): KeyFileFields {
  if (text.length > KEY_FILE_CHARS_MAX) throw damaged("too large");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw damaged("not JSON");
  }
  const file = json as {
    format?: unknown;
    suite?: unknown;
    publicKey?: unknown;
    kdf?: unknown;
    cipher?: unknown;
  };
  if (file.format !== KEY_FILE_FORMAT) throw damaged("format");
  if (file.suite !== "ed25519" && file.suite !== "sm2-sm3") throw damaged("suite");
  const kdf = (file.kdf ?? {}) as {
    name?: unknown;
    logN?: unknown;
    r?: unknown;
    p?: unknown;
    salt?: unknown;
  };
  const cipher = (file.cipher ?? {}) as {
    name?: unknown;
    nonce?: unknown;
    ciphertext?: unknown;
    tag?: unknown;
  };
  if (kdf.name !== "scrypt" || cipher.name !== "aes-256-gcm") throw damaged("kdf or cipher");
  const ciphertext = bytesOf(cipher.ciphertext, "ciphertext");
  const tag = bytesOf(cipher.tag, "tag", 16);
  // WebCrypto takes the GCM tag appended to the ciphertext.
  const sealed = new Uint8Array(ciphertext.length + tag.length);
  sealed.set(ciphertext);
  sealed.set(tag, ciphertext.length);
  return {
    suite: file.suite,
    publicKeyHex: bytesToHex(bytesOf(file.publicKey, "publicKey")),
    logN: integerIn(kdf.logN, "logN", SCRYPT_LOG_N_MIN, SCRYPT_LOG_N_MAX),
    r: integerIn(kdf.r, "r", 1, 32),
    p: integerIn(kdf.p, "p", 1, 16),
    saltHex: bytesToHex(bytesOf(kdf.salt, "salt", 16)),
    nonce: bytesOf(cipher.nonce, "nonce", 12),
    sealed,
  };
}

/** The key file's suite and public key, read without the passphrase. */
export function keyFilePublicKey(text: string): { suite: SuiteName; publicKeyHex: string } {
  const fields = fieldsOf(text);
  return { suite: fields.suite, publicKeyHex: fields.publicKeyHex };
}

/** Opens the key file with its passphrase; a wrong passphrase is WALLET_PASSPHRASE_WRONG. */
export async function openKeyFile(text: string, passphrase: string): Promise<OpenedKeyFile> {
  const fields = fieldsOf(text);
  const { scryptAsync } = await import("@noble/hashes/scrypt.js");
  const salt = hexToBytesOrNull(fields.saltHex) ?? new Uint8Array();
  const derived = await scryptAsync(new TextEncoder().encode(passphrase.normalize("NFC")), salt, {
    N: 2 ** fields.logN,
    r: fields.r,
    p: fields.p,
    dkLen: 32,
  });
  const keyBytes = new Uint8Array(derived.length);
  keyBytes.set(derived);
  const key = await crypto.subtle.importKey("raw", keyBytes, "AES-GCM", false, ["decrypt"]);
  const additionalData = new TextEncoder().encode(
    `${KEY_FILE_FORMAT}|${fields.suite}|${fields.publicKeyHex}|scrypt:${fields.logN}:${fields.r}:${fields.p}:${fields.saltHex}`,
  );
  let opened: ArrayBuffer;
  try {
    opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fields.nonce, additionalData },
      key,
      fields.sealed,
    );
  } catch {
    throw new WalletError("WALLET_PASSPHRASE_WRONG", "the passphrase does not open this key file");
  }
  const privateKey = new Uint8Array(opened);
  if (bytesToHex(portableSuiteByName(fields.suite).publicKeyOf(privateKey)) !== fields.publicKeyHex) {
    throw damaged("the private key does not match the public key");
  }
  return { suite: fields.suite, privateKey };
}
