/**
 * Errors of execution. Two kinds, kept apart on purpose:
 *
 * - `ExecutionError`: a transaction ran and failed (bad arguments, a document already anchored,
 *   a limit exceeded). The transaction stays in the block, its nonce is consumed, its receipt
 *   says `failed` with the stable code, and none of its contract's writes or events are kept.
 * - `BlockInvalidError`: the block itself breaks a rule every honest proposer follows (a nonce
 *   out of sequence, an expired transaction, another chain's transaction). The node rejects the
 *   proposal; nothing of the block is applied.
 *
 * Codes are stable and documented in docs/PROTOCOL.md ("Execution"); messages are for people.
 * @module
 */
import { CityLedgerError } from "../base/errors.ts";

/** Why a transaction failed during execution; the code goes into its receipt. */
export type ExecutionErrorCode =
  | "EXEC_CONTRACT_UNKNOWN"
  | "EXEC_METHOD_UNKNOWN"
  | "EXEC_ARGS_NOT_A_MAP"
  | "EXEC_ARGS_FIELD_UNKNOWN"
  | "EXEC_ARGS_FIELD_MISSING"
  | "EXEC_ARGS_FIELD_WRONG_TYPE"
  | "EXEC_ARGS_FIELD_TOO_LONG"
  | "EXEC_ARGS_FIELD_INVALID"
  | "EXEC_STATE_WRITES_TOO_MANY"
  | "EXEC_STATE_WRITES_TOO_LARGE"
  | "EXEC_EVENTS_TOO_MANY"
  | "EXEC_EVENTS_TOO_LARGE"
  | "EXEC_EVENT_INVALID"
  | "NOTARY_ALGORITHM_UNSUPPORTED"
  | "NOTARY_ALREADY_ANCHORED"
  | "NOTARY_NOT_FOUND"
  | "NOTARY_NOT_SIGNER"
  | "NOTARY_ALREADY_REVOKED";

export class ExecutionError extends CityLedgerError<ExecutionErrorCode> {
  override name = "ExecutionError";
}

/** Why a block cannot be executed at all; the node rejects the proposal. */
export type BlockInvalidErrorCode =
  | "BLOCK_TOO_MANY_TXS"
  | "BLOCK_TX_WRONG_CHAIN"
  | "BLOCK_TX_WRONG_SUITE"
  | "BLOCK_TX_EXPIRED"
  | "BLOCK_NONCE_MISMATCH";

export class BlockInvalidError extends CityLedgerError<BlockInvalidErrorCode> {
  override name = "BlockInvalidError";
  /**
   * Index of the first transaction that breaks the rule; a proposer may leave it out and try
   * again. For BLOCK_TOO_MANY_TXS it is BLOCK_TXS_MAX, the first transaction over the limit.
   */
  readonly transactionIndex: number;

  constructor(
    code: BlockInvalidErrorCode,
    message: string,
    transactionIndex: number,
    details: Readonly<Record<string, string | number | bigint | boolean>> = {},
  ) {
    super(code, message, { ...details, txIndex: transactionIndex });
    this.transactionIndex = transactionIndex;
  }
}
