/**
 * Key files on disk: sealed private keys (../crypto/key-sealing.ts) written with mode 0600,
 * atomically (temporary file, fsync, rename), never over an existing key by accident.
 * Loading refuses files that other users can read, as ssh does.
 * @module
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import {
  KeyFileError,
  type OpenedKey,
  openPrivateKey,
  SCRYPT_COST_DEFAULT,
  type SignatureSuite,
  sealPrivateKey,
} from "../crypto/index.ts";

const KEY_FILE_MODE = 0o600;

export interface SaveKeyFileOptions {
  readonly overwrite?: boolean;
  /** Lower scrypt cost, for tests only. */
  readonly cost?: { logN: number; r: number; p: number };
}

export function saveKeyFile(
  path: string,
  suite: SignatureSuite,
  privateKey: Uint8Array,
  passphrase: string,
  options: SaveKeyFileOptions = {},
): void {
  const text = sealPrivateKey({
    suite,
    privateKey,
    passphrase,
    salt: randomBytes(16),
    nonce: randomBytes(12),
    cost: options.cost ?? SCRYPT_COST_DEFAULT,
  });
  if (!options.overwrite) {
    try {
      statSync(path);
      throw new KeyFileError(
        "KEY_FILE_EXISTS",
        `a key file already exists at ${path}; refusing to overwrite it`,
      );
    } catch (error) {
      if (error instanceof KeyFileError) throw error;
    }
  }
  const temporaryPath = join(dirname(path), `.${randomBytes(6).toString("hex")}.key.tmp`);
  const descriptor = openSync(temporaryPath, "wx", KEY_FILE_MODE);
  try {
    writeSync(descriptor, text);
    fsyncSync(descriptor);
  } catch (error) {
    closeSync(descriptor);
    unlinkSync(temporaryPath);
    throw error;
  }
  closeSync(descriptor);
  renameSync(temporaryPath, path);
}

export function loadKeyFile(path: string, passphrase: string, suite: SignatureSuite): OpenedKey {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new KeyFileError("KEY_FILE_NOT_FOUND", `no key file at ${path}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(
      "KEY_FILE_INSECURE_PERMISSIONS",
      `the key file ${path} can be read by other users; run: chmod 600 ${path}`,
    );
  }
  return openPrivateKey(readFileSync(path, "utf8"), passphrase, suite);
}
