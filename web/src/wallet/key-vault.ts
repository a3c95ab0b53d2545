/**
 * Keys kept in this browser: the private key sealed with AES-256-GCM under a key derived from
 * the holder's passphrase (PBKDF2-SHA-256, KEY_DERIVATION_ITERATIONS), stored in IndexedDB. The
 * passphrase and the open private key never leave memory; the sealed record is bound to its
 * public key and suite (GCM additional data), so records cannot be swapped between keys.
 */
import { bytesToHex, hexToBytesOrNull, keyIdOf, portableSuiteByName, type SuiteName } from "../sdk.ts";

/** OWASP's 2023 figure for PBKDF2-SHA-256; about half a second in a current browser. */
export const KEY_DERIVATION_ITERATIONS = 600_000;
export const PASSPHRASE_LENGTH_MIN = 8;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const DATABASE_NAME = "cityledger-portal";
const DATABASE_VERSION = 1;
const STORE_NAME = "keys";

export interface StoredKey {
  /** Key id (hex): the hash of the suite and public key, as the chain names senders. */
  readonly id: string;
  readonly label: string;
  readonly suite: SuiteName;
  readonly publicKey: string;
  readonly salt: Uint8Array;
  readonly iv: Uint8Array;
  readonly sealedPrivateKey: Uint8Array;
  readonly iterations: number;
  readonly createdAtMs: number;
}

export type WalletErrorCode =
  | "WALLET_UNAVAILABLE"
  | "WALLET_PASSPHRASE_SHORT"
  | "WALLET_PASSPHRASE_WRONG"
  | "WALLET_KEY_INVALID"
  | "WALLET_KEY_FILE_INVALID"
  | "WALLET_STORAGE_FAILED";

export class WalletError extends Error {
  override name = "WalletError";
  constructor(
    readonly code: WalletErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function subtle(): SubtleCrypto {
  // WebCrypto exists only in secure contexts (https, or http on localhost).
  if (globalThis.crypto?.subtle === undefined) {
    throw new WalletError("WALLET_UNAVAILABLE", "WebCrypto needs a secure context (https or localhost)");
  }
  return globalThis.crypto.subtle;
}

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE_NAME, DATABASE_VERSION);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE_NAME, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new WalletError("WALLET_STORAGE_FAILED", String(request.error)));
  });
}

async function withStore<Result>(
  mode: IDBTransactionMode,
  action: (store: IDBObjectStore) => IDBRequest<Result>,
): Promise<Result> {
  const database = await openDatabase();
  try {
    return await new Promise<Result>((resolve, reject) => {
      const request = action(database.transaction(STORE_NAME, mode).objectStore(STORE_NAME));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new WalletError("WALLET_STORAGE_FAILED", String(request.error)));
    });
  } finally {
    database.close();
  }
}

export async function listKeys(): Promise<StoredKey[]> {
  const keys = await withStore("readonly", (store) => store.getAll() as IDBRequest<StoredKey[]>);
  return keys.sort((left, right) => left.createdAtMs - right.createdAtMs);
}

export async function deleteKey(id: string): Promise<void> {
  await withStore("readwrite", (store) => store.delete(id));
}

function additionalDataOf(suite: SuiteName, publicKeyHex: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`cityledger/portal-key/v1|${suite}|${publicKeyHex}`);
}

async function wrappingKeyOf(passphrase: string, salt: Uint8Array<ArrayBuffer>, iterations: number) {
  const material = await subtle().importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, [
    "deriveKey",
  ]);
  return subtle().deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** Seals a private key with the passphrase and stores it; returns the stored record. */
export async function saveKey(
  suiteName: SuiteName,
  privateKey: Uint8Array,
  passphrase: string,
  label: string,
  nowMs: number,
): Promise<StoredKey> {
  if (passphrase.length < PASSPHRASE_LENGTH_MIN) {
    throw new WalletError("WALLET_PASSPHRASE_SHORT", `at least ${PASSPHRASE_LENGTH_MIN} characters`);
  }
  const suite = portableSuiteByName(suiteName);
  if (privateKey.length !== suite.privateKeyBytes) {
    throw new WalletError(
      "WALLET_KEY_INVALID",
      `a ${suiteName} private key is ${suite.privateKeyBytes} bytes`,
    );
  }
  let publicKey: Uint8Array;
  try {
    publicKey = suite.publicKeyOf(privateKey);
  } catch {
    throw new WalletError("WALLET_KEY_INVALID", "not a private key of this suite");
  }
  const publicKeyHex = bytesToHex(publicKey);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const wrappingKey = await wrappingKeyOf(passphrase, salt, KEY_DERIVATION_ITERATIONS);
  const sealed = await subtle().encrypt(
    { name: "AES-GCM", iv, additionalData: additionalDataOf(suiteName, publicKeyHex) },
    wrappingKey,
    copy(privateKey),
  );
  const stored: StoredKey = {
    id: bytesToHex(keyIdOf(suite, publicKey)),
    label,
    suite: suiteName,
    publicKey: publicKeyHex,
    salt,
    iv,
    sealedPrivateKey: new Uint8Array(sealed),
    iterations: KEY_DERIVATION_ITERATIONS,
    createdAtMs: nowMs,
  };
  await withStore("readwrite", (store) => store.put(stored));
  return stored;
}

/** A new key from the browser's random source. */
export function newPrivateKey(suiteName: SuiteName): Uint8Array {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  return portableSuiteByName(suiteName).keyPairFromSeed(seed).privateKey;
}

export function privateKeyOfHex(hex: string): Uint8Array {
  const bytes = hexToBytesOrNull(hex.trim().toLowerCase());
  if (bytes === null) throw new WalletError("WALLET_KEY_INVALID", "the private key is not hex");
  return bytes;
}

/** Opens a stored key with its passphrase; a wrong passphrase is WALLET_PASSPHRASE_WRONG. */
export async function openKey(stored: StoredKey, passphrase: string): Promise<Uint8Array> {
  const wrappingKey = await wrappingKeyOf(passphrase, copy(stored.salt), stored.iterations);
  let opened: ArrayBuffer;
  try {
    opened = await subtle().decrypt(
      {
        name: "AES-GCM",
        iv: copy(stored.iv),
        additionalData: additionalDataOf(stored.suite, stored.publicKey),
      },
      wrappingKey,
      copy(stored.sealedPrivateKey),
    );
  } catch {
    throw new WalletError("WALLET_PASSPHRASE_WRONG", "the passphrase does not open this key");
  }
  const privateKey = new Uint8Array(opened);
  const publicKey = portableSuiteByName(stored.suite).publicKeyOf(privateKey);
  if (bytesToHex(publicKey) !== stored.publicKey) {
    throw new WalletError("WALLET_KEY_INVALID", "the stored key does not match its public key");
  }
  return privateKey;
}
