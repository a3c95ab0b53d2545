/**
 * Crypto for the node: native-speed hashes and suites. Browser code (the SDK, the portal) uses
 * ./portable.ts instead, which has the same API on pure-JS implementations.
 * @module
 */
import { ed25519Suite } from "./ed25519.ts";
import { sm2Sm3Suite } from "./sm2-sm3.ts";
import type { SignatureSuite, SuiteName } from "./suite.ts";

export { ed25519Suite } from "./ed25519.ts";
export {
  KEY_FILE_FORMAT,
  KeyFileError,
  type KeyFileErrorCode,
  type OpenedKey,
  openPrivateKey,
  readKeyFilePublicKey,
  SCRYPT_COST_DEFAULT,
  sealPrivateKey,
} from "./key-sealing.ts";
export { sha256 } from "./sha256.ts";
export { sm2Sm3Suite } from "./sm2-sm3.ts";
export { sm3 } from "./sm3.ts";
export {
  type HashFunction,
  type HashIntoFunction,
  hashIntoOf,
  type KeyPair,
  type SignatureSuite,
  SUITE_CODES,
  type SuiteName,
  suiteNameOfCode,
} from "./suite.ts";

const SUITES: Readonly<Record<SuiteName, SignatureSuite>> = { ed25519: ed25519Suite, "sm2-sm3": sm2Sm3Suite };

export function suiteByName(name: SuiteName): SignatureSuite {
  return SUITES[name];
}
