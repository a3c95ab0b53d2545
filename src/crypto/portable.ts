/**
 * Crypto that runs in browsers as well as Node: no `node:` modules, no native addons.
 * Same suites and digests as ./index.ts (tests check they agree), slower.
 * @module
 */
import { ed25519PortableSuite } from "./portable/ed25519-suite.ts";
import { sm2Sm3PortableSuite } from "./portable/sm2-sm3-suite.ts";
import type { SignatureSuite, SuiteName } from "./suite.ts";

export { ed25519PortableSuite } from "./portable/ed25519-suite.ts";
export { sha256 } from "./portable/sha256.ts";
export { sm2Sm3PortableSuite } from "./portable/sm2-sm3-suite.ts";
export { sm3 } from "./portable/sm3.ts";
export {
  type HashFunction,
  type SignatureSuite,
  SUITE_CODES,
  type SuiteName,
  suiteNameOfCode,
} from "./suite.ts";

const PORTABLE_SUITES: Readonly<Record<SuiteName, SignatureSuite>> = {
  ed25519: ed25519PortableSuite,
  "sm2-sm3": sm2Sm3PortableSuite,
};

export function portableSuiteByName(name: SuiteName): SignatureSuite {
  return PORTABLE_SUITES[name];
}
