export { AssertionError, assert, assertNever } from "./assert.ts";
export {
  bytesToHex,
  compareBytes,
  concatBytes,
  equalBytes,
  hexToBytes,
  hexToBytesOrNull,
  utf8,
} from "./bytes.ts";
export { CityLedgerError, fail, ok, type Result } from "./errors.ts";
export * from "./limits.ts";
