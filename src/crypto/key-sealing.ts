/**
 * Private keys at rest: sealed with a passphrase (scrypt, then AES-256-GCM). The sealed form is
 * a small JSON document (docs/PROTOCOL.md, "Key files"); its metadata (format, suite, public
 * key, KDF parameters) is bound to the ciphertext as GCM additional data, so editing any of it
 * makes opening fail. Randomness (salt, nonce) comes from the caller: this module is pure.
 * @module
 */
import { createCipheriv, createDecipheriv, scryptSync } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { Value as SchemaValue } from "@sinclair/typebox/value";
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes, hexToBytesOrNull, utf8 } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import type { SignatureSuite, SuiteName } from "./suite.ts";

export const KEY_FILE_FORMAT = "cityledger-key/v1";
export const KEY_FILE_SALT_BYTES = 16;
export const KEY_FILE_NONCE_BYTES = 12;
export const KEY_FILE_TAG_BYTES = 16;
export const KEY_FILE_SIZE_BYTES_MAX = 4096;
export const PASSPHRASE_BYTES_MIN = 8;
export const PASSPHRASE_BYTES_MAX = 1024;

/** scrypt cost: 2^15 × 8 × 128 bytes = 32 MiB and ≈ 0.1 s per open on this machine class. */
export const SCRYPT_COST_DEFAULT = { logN: 15, r: 8, p: 1 } as const;
const SCRYPT_LOG_N_MAX = 20;

export type KeyFileErrorCode =
  | "KEY_FILE_WRONG_PASSPHRASE"
  | "KEY_FILE_DAMAGED"
  | "KEY_FILE_UNSUPPORTED"
  | "KEY_FILE_SUITE_MISMATCH"
  | "KEY_FILE_PASSPHRASE_INVALID"
  | "KEY_FILE_NOT_FOUND"
  | "KEY_FILE_INSECURE_PERMISSIONS"
  | "KEY_FILE_EXISTS";

export class KeyFileError extends CityLedgerError<KeyFileErrorCode> {
  override name = "KeyFileError";
}

const KeyFileSchema = Type.Object(
  {
    format: Type.Literal(KEY_FILE_FORMAT),
    suite: Type.Union([Type.Literal("ed25519"), Type.Literal("sm2-sm3")]),
    publicKey: Type.String({ pattern: "^[0-9a-f]{2,260}$" }),
    kdf: Type.Object(
      {
        name: Type.Literal("scrypt"),
        logN: Type.Integer({ minimum: 10, maximum: SCRYPT_LOG_N_MAX }),
        r: Type.Integer({ minimum: 1, maximum: 32 }),
        p: Type.Integer({ minimum: 1, maximum: 16 }),
        salt: Type.String({ pattern: `^[0-9a-f]{${KEY_FILE_SALT_BYTES * 2}}$` }),
      },
      { additionalProperties: false },
    ),
    cipher: Type.Object(
      {
        name: Type.Literal("aes-256-gcm"),
        nonce: Type.String({ pattern: `^[0-9a-f]{${KEY_FILE_NONCE_BYTES * 2}}$` }),
        ciphertext: Type.String({ pattern: "^[0-9a-f]{2,256}$" }),
        tag: Type.String({ pattern: `^[0-9a-f]{${KEY_FILE_TAG_BYTES * 2}}$` }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

interface ScryptCost {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

function checkPassphrase(passphrase: string): Uint8Array {
  const bytes = utf8(passphrase.normalize("NFC"));
  if (bytes.length < PASSPHRASE_BYTES_MIN || bytes.length > PASSPHRASE_BYTES_MAX) {
    throw new KeyFileError(
      "KEY_FILE_PASSPHRASE_INVALID",
      `a passphrase must be ${PASSPHRASE_BYTES_MIN} to ${PASSPHRASE_BYTES_MAX} bytes long`,
    );
  }
  return bytes;
}

function deriveKey(passphrase: Uint8Array, salt: Uint8Array, cost: ScryptCost): Buffer {
  const costN = 2 ** cost.logN;
  return scryptSync(passphrase, salt, 32, {
    N: costN,
    r: cost.r,
    p: cost.p,
    maxmem: 128 * costN * cost.r * 2 + 1024 * 1024,
  });
}

function additionalData(
  suite: SuiteName,
  publicKeyHex: string,
  cost: ScryptCost,
  saltHex: string,
): Uint8Array {
  return utf8(
    `${KEY_FILE_FORMAT}|${suite}|${publicKeyHex}|scrypt:${cost.logN}:${cost.r}:${cost.p}:${saltHex}`,
  );
}

export interface SealInput {
  readonly suite: SignatureSuite;
  readonly privateKey: Uint8Array;
  readonly passphrase: string;
  /** KEY_FILE_SALT_BYTES random bytes. */
  readonly salt: Uint8Array;
  /** KEY_FILE_NONCE_BYTES random bytes, never reused with the same derived key. */
  readonly nonce: Uint8Array;
  readonly cost?: ScryptCost;
}

/** Returns the key file's text (JSON). */
export function sealPrivateKey(input: SealInput): string {
  assert(input.salt.length === KEY_FILE_SALT_BYTES, "salt length");
  assert(input.nonce.length === KEY_FILE_NONCE_BYTES, "nonce length");
  assert(input.privateKey.length === input.suite.privateKeyBytes, "private key length");
  const cost = input.cost ?? SCRYPT_COST_DEFAULT;
  const passphrase = checkPassphrase(input.passphrase);
  const publicKeyHex = bytesToHex(input.suite.publicKeyOf(input.privateKey));
  const saltHex = bytesToHex(input.salt);
  const key = deriveKey(passphrase, input.salt, cost);
  const cipher = createCipheriv("aes-256-gcm", key, input.nonce);
  cipher.setAAD(additionalData(input.suite.name, publicKeyHex, cost, saltHex));
  const ciphertext = Buffer.concat([cipher.update(input.privateKey), cipher.final()]);
  const document = {
    format: KEY_FILE_FORMAT,
    suite: input.suite.name,
    publicKey: publicKeyHex,
    kdf: { name: "scrypt", logN: cost.logN, r: cost.r, p: cost.p, salt: saltHex },
    cipher: {
      name: "aes-256-gcm",
      nonce: bytesToHex(input.nonce),
      ciphertext: bytesToHex(ciphertext),
      tag: bytesToHex(cipher.getAuthTag()),
    },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

export interface OpenedKey {
  readonly suiteName: SuiteName;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** Reads the public metadata without the passphrase (to show which key a file holds). */
export function readKeyFilePublicKey(text: string): { suiteName: SuiteName; publicKey: Uint8Array } {
  const document = parseKeyFile(text);
  return { suiteName: document.suite, publicKey: hexToBytesOrNull(document.publicKey)! };
}

function parseKeyFile(text: string) {
  if (text.length > KEY_FILE_SIZE_BYTES_MAX) {
    throw new KeyFileError("KEY_FILE_DAMAGED", "the key file is larger than any key file we write");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeyFileError(
      "KEY_FILE_DAMAGED",
      "the key file is not valid JSON: it is damaged or not a key file",
    );
  }
  if (
    typeof parsed === "object" &&
    parsed !== null &&
    "format" in parsed &&
    parsed.format !== KEY_FILE_FORMAT
  ) {
    throw new KeyFileError("KEY_FILE_UNSUPPORTED", "the key file has a format this version does not read");
  }
  if (!SchemaValue.Check(KeyFileSchema, parsed)) {
    const first = SchemaValue.Errors(KeyFileSchema, parsed).First();
    throw new KeyFileError(
      "KEY_FILE_DAMAGED",
      `the key file is damaged: ${first?.path ?? "/"} ${first?.message ?? ""}`,
    );
  }
  return parsed;
}

/** Opens a key file with its passphrase, for the given suite (the chain's). */
export function openPrivateKey(text: string, passphrase: string, suite: SignatureSuite): OpenedKey {
  const document = parseKeyFile(text);
  if (document.suite !== suite.name) {
    throw new KeyFileError(
      "KEY_FILE_SUITE_MISMATCH",
      `the key file holds a ${document.suite} key, but this chain uses ${suite.name}`,
    );
  }
  const passphraseBytes = checkPassphrase(passphrase);
  const cost: ScryptCost = { logN: document.kdf.logN, r: document.kdf.r, p: document.kdf.p };
  const salt = hexToBytesOrNull(document.kdf.salt)!;
  const decipher = createDecipheriv(
    "aes-256-gcm",
    deriveKey(passphraseBytes, salt, cost),
    hexToBytesOrNull(document.cipher.nonce)!,
  );
  decipher.setAAD(additionalData(document.suite, document.publicKey, cost, document.kdf.salt));
  decipher.setAuthTag(hexToBytesOrNull(document.cipher.tag)!);
  let privateKey: Uint8Array;
  try {
    const ciphertext = hexToBytesOrNull(document.cipher.ciphertext)!;
    privateKey = new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    // GCM cannot tell a wrong passphrase from edited bytes; both fail authentication.
    throw new KeyFileError(
      "KEY_FILE_WRONG_PASSPHRASE",
      "the passphrase is wrong, or the key file was altered",
    );
  }
  if (privateKey.length !== suite.privateKeyBytes) {
    throw new KeyFileError("KEY_FILE_DAMAGED", "the key file holds a key of the wrong length");
  }
  const publicKey = hexToBytesOrNull(document.publicKey)!;
  if (!equalBytes(suite.publicKeyOf(privateKey), publicKey)) {
    throw new KeyFileError("KEY_FILE_DAMAGED", "the key file's private and public keys do not match");
  }
  return { suiteName: document.suite, publicKey, privateKey };
}
