import { CityLedgerError } from "../base/errors.ts";

/** Why a transaction was refused. Stable codes: docs/PROTOCOL.md, "Transaction errors". */
export type TransactionErrorCode =
  | "TX_MALFORMED"
  | "TX_OVERSIZED"
  | "TX_WRONG_CHAIN"
  | "TX_UNKNOWN_SUITE"
  | "TX_WRONG_SUITE"
  | "TX_BAD_SIGNATURE"
  | "TX_EXPIRED"
  | "TX_NONCE_TOO_LOW"
  | "TX_NONCE_TOO_FAR_AHEAD";

export class TransactionError extends CityLedgerError<TransactionErrorCode> {
  override name = "TransactionError";
}

export type LedgerErrorCode =
  | "BLOCK_MALFORMED"
  | "BLOCK_TX_ROOT_MISMATCH"
  | "BLOCK_TX_COUNT_MISMATCH"
  | "BLOCK_EVIDENCE_ROOT_MISMATCH"
  | "BLOCK_TOO_LARGE"
  | "VALIDATOR_SET_INVALID"
  | "GENESIS_INVALID";

export class LedgerError extends CityLedgerError<LedgerErrorCode> {
  override name = "LedgerError";
}
