/**
 * Deterministic execution of one block: `executeBlock(block, transactions, state)` runs the
 * block's transactions in order against the state before the block and returns the state
 * updates, one receipt per transaction and the block's events, or a BlockInvalidError when the
 * block breaks a rule (then nothing of it may be applied and the node rejects the proposal).
 *
 * Per transaction, in block order:
 *   1. block rules: the transaction's chain id and suite are the block's, its expiry height is
 *      not below the block's height, and its nonce is exactly the sender's next nonce (state
 *      before the block plus the block's earlier transactions). Any breach: BlockInvalidError,
 *      naming the transaction (a proposer may leave it out and try again).
 *   2. the sender's next nonce becomes nonce + 1: the nonce is consumed whatever follows.
 *   3. the contract named by the transaction runs on an overlay of its own; on success its
 *      writes and events are kept, on failure (an ExecutionError, an unknown contract, or a
 *      limit exceeded) they are dropped and the receipt says `failed` with the error's code.
 *
 * Pure and deterministic: no clock (the block time is an input), no randomness, no I/O, and no
 * result depends on a Map's iteration order (updates are sorted by key bytes).
 * @module
 */
import { assert } from "../base/assert.ts";
import { fail, ok, type Result } from "../base/errors.ts";
import { BLOCK_TXS_MAX } from "../base/limits.ts";
import type { HashFunction, SignatureSuite } from "../crypto/suite.ts";
import { EncodeError } from "../encoding/errors.ts";
import { encodeValue, type ValueMap } from "../encoding/value.ts";
import { KEY_ID_BYTES } from "../ledger/key-id.ts";
import type { ValidTransaction } from "../ledger/validate-transaction.ts";
import type { StateUpdate } from "../state/sparse-merkle-tree.ts";
import {
  type ContractContext,
  type ContractRegistry,
  type ContractState,
  createContractRegistry,
  EVENT_TYPE_PATTERN,
} from "./contract.ts";
import {
  BlockInvalidError,
  type BlockInvalidErrorCode,
  ExecutionError,
  type ExecutionErrorCode,
} from "./errors.ts";
import {
  STATE_KEY_ID_BYTES_MAX,
  TX_EVENTS_DATA_BYTES_MAX,
  TX_EVENTS_MAX,
  TX_STATE_WRITE_BYTES_MAX,
  TX_STATE_WRITES_MAX,
} from "./limits.ts";
import { encodeNonceValue, nonceNextOfValue } from "./nonce.ts";
import { notaryContract } from "./notary.ts";
import { RECEIPT_TX_HASH_BYTES, type ReceiptEvent, type TransactionReceipt } from "./receipt.ts";
import { contractStateKeyOf, nonceKeyOf } from "./state-keys.ts";
import { StateOverlay, type StateReader } from "./state-view.ts";

/** The contracts every node runs natively. */
export const SYSTEM_CONTRACTS: ContractRegistry = createContractRegistry([notaryContract]);

export interface BlockExecutionContext {
  readonly chainId: string;
  /** Height of the block being executed (the first block is 1). */
  readonly height: bigint;
  /** The block header's time, ms since the Unix epoch. */
  readonly timeMs: bigint;
  /** The chain's suite: transactions must be signed with it, and its hash derives state keys. */
  readonly suite: Pick<SignatureSuite, "code" | "hash">;
  /** Default: SYSTEM_CONTRACTS. */
  readonly contracts?: ContractRegistry;
}

/** An event of the block, in the shape the store indexes (src/storage BlockEvent). */
export interface ExecutionEvent extends ReceiptEvent {
  readonly txIndex: number;
  readonly eventIndex: number;
}

export interface ExecutionOutcome {
  /** One update per written key, sorted by key bytes: the input of `applyBatch`. */
  readonly updates: readonly StateUpdate[];
  /** One receipt per transaction, in block order. */
  readonly receipts: readonly TransactionReceipt[];
  /** Every kept event, ordered by (txIndex, eventIndex). */
  readonly events: readonly ExecutionEvent[];
  /**
   * Parallel to `receipts`: the error of each failed transaction, with its human message and
   * details (for logs and the API; not part of any hashed bytes); null for a successful one.
   */
  readonly errors: ReadonlyArray<ExecutionError | null>;
}

function blockInvalid(
  code: BlockInvalidErrorCode,
  message: string,
  transactionIndex: number,
  details: Record<string, string | number | bigint | boolean> = {},
): { ok: false; error: BlockInvalidError } {
  return fail(new BlockInvalidError(code, message, transactionIndex, details));
}

/**
 * One transaction's run of its contract: the context the contract sees, and the executor's
 * accounting of the limits around it. The first write or emit past a limit is recorded as the
 * transaction's failure and everything after it is ignored.
 */
class TransactionRun implements ContractContext {
  readonly chainId: string;
  readonly height: bigint;
  readonly timeMs: bigint;
  readonly txHash: Uint8Array;
  readonly txIndex: number;
  readonly senderKeyId: Uint8Array;
  readonly state: ContractState;
  readonly overlay: StateOverlay;
  readonly events: ReceiptEvent[] = [];
  violation: ExecutionError | null = null;
  #writeCount = 0;
  #writeBytes = 0;
  #eventBytes = 0;
  readonly #contract: string;
  readonly #hash: HashFunction;

  constructor(
    block: BlockExecutionContext,
    blockState: StateOverlay,
    valid: ValidTransaction,
    txIndex: number,
  ) {
    this.chainId = block.chainId;
    this.height = block.height;
    this.timeMs = block.timeMs;
    this.txHash = valid.hash.slice();
    this.txIndex = txIndex;
    this.senderKeyId = valid.senderKeyId.slice();
    this.overlay = new StateOverlay(blockState);
    this.#contract = valid.transaction.contract;
    this.#hash = block.suite.hash;
    this.state = {
      get: (table, id) => this.overlay.get(this.#keyOf(table, id)),
      set: (table, id, value) => this.#write(table, id, value),
      delete: (table, id) => this.#write(table, id, null),
    };
  }

  #keyOf(table: string, id: Uint8Array): Uint8Array {
    assert(id.length <= STATE_KEY_ID_BYTES_MAX, "contracts keep ids within STATE_KEY_ID_BYTES_MAX");
    return contractStateKeyOf(this.#hash, this.#contract, table, id);
  }

  #violate(code: ExecutionErrorCode, message: string, details: Record<string, number>): void {
    assert(this.violation === null, "only the first violation is recorded");
    this.violation = new ExecutionError(code, message, details);
  }

  #write(table: string, id: Uint8Array, value: Uint8Array | null): void {
    const key = this.#keyOf(table, id);
    if (value !== null) assert(value.length > 0, "contracts write non-empty values (delete removes)");
    if (this.violation !== null) return;
    if (this.#writeCount + 1 > TX_STATE_WRITES_MAX) {
      this.#violate("EXEC_STATE_WRITES_TOO_MANY", "the transaction writes more state entries than allowed", {
        writesMax: TX_STATE_WRITES_MAX,
      });
      return;
    }
    const sizeBytes = value === null ? 0 : value.length;
    if (this.#writeBytes + sizeBytes > TX_STATE_WRITE_BYTES_MAX) {
      this.#violate("EXEC_STATE_WRITES_TOO_LARGE", "the transaction writes more state bytes than allowed", {
        writeBytesMax: TX_STATE_WRITE_BYTES_MAX,
      });
      return;
    }
    this.#writeCount += 1;
    this.#writeBytes += sizeBytes;
    this.overlay.set(key, value);
  }

  emit(type: string, data: ValueMap): void {
    if (this.violation !== null) return;
    if (!EVENT_TYPE_PATTERN.test(type)) {
      this.#violate("EXEC_EVENT_INVALID", "an event type must be a lower-case name", {});
      return;
    }
    if (this.events.length + 1 > TX_EVENTS_MAX) {
      this.#violate("EXEC_EVENTS_TOO_MANY", "the transaction emits more events than allowed", {
        eventsMax: TX_EVENTS_MAX,
      });
      return;
    }
    let encoded: Uint8Array;
    try {
      encoded = encodeValue(data);
    } catch (error) {
      if (!(error instanceof EncodeError)) throw error;
      this.#violate("EXEC_EVENT_INVALID", "an event's data is not a canonical value", {});
      return;
    }
    if (this.#eventBytes + encoded.length > TX_EVENTS_DATA_BYTES_MAX) {
      this.#violate("EXEC_EVENTS_TOO_LARGE", "the transaction emits more event bytes than allowed", {
        eventsDataBytesMax: TX_EVENTS_DATA_BYTES_MAX,
      });
      return;
    }
    this.#eventBytes += encoded.length;
    this.events.push({ contract: this.#contract, type, data: encoded });
  }
}

function failed(txHash: Uint8Array, error: ExecutionError): TransactionReceipt {
  return { txHash: txHash.slice(), status: "failed", errorCode: error.code, events: [] };
}

/** Runs one transaction's contract; returns its receipt and its error (null when ok). */
function runTransaction(
  block: BlockExecutionContext,
  contracts: ContractRegistry,
  blockState: StateOverlay,
  valid: ValidTransaction,
  txIndex: number,
): { receipt: TransactionReceipt; error: ExecutionError | null } {
  const transaction = valid.transaction;
  const contract = contracts.get(transaction.contract);
  if (contract === undefined) {
    const error = new ExecutionError("EXEC_CONTRACT_UNKNOWN", "no contract of this name exists", {
      contract: transaction.contract,
    });
    return { receipt: failed(valid.hash, error), error };
  }
  const run = new TransactionRun(block, blockState, valid, txIndex);
  const outcome = contract.execute(run, transaction.method, transaction.args);
  const error = run.violation ?? (outcome.ok ? null : outcome.error);
  if (error !== null) return { receipt: failed(valid.hash, error), error };
  run.overlay.mergeInto(blockState);
  return {
    receipt: { txHash: valid.hash.slice(), status: "ok", errorCode: null, events: run.events },
    error: null,
  };
}

export function executeBlock(
  block: BlockExecutionContext,
  transactions: readonly ValidTransaction[],
  state: StateReader,
): Result<ExecutionOutcome, BlockInvalidError> {
  assert(block.height >= 1n, "the first block is height 1");
  assert(block.timeMs >= 0n, "block times are u64");
  if (transactions.length > BLOCK_TXS_MAX) {
    return blockInvalid(
      "BLOCK_TOO_MANY_TXS",
      "the block holds more transactions than allowed",
      BLOCK_TXS_MAX,
      {
        txCount: transactions.length,
        txCountMax: BLOCK_TXS_MAX,
      },
    );
  }
  const contracts = block.contracts ?? SYSTEM_CONTRACTS;
  const blockState = new StateOverlay(state);
  const receipts: TransactionReceipt[] = [];
  const events: ExecutionEvent[] = [];
  const errors: Array<ExecutionError | null> = [];
  for (let txIndex = 0; txIndex < transactions.length; txIndex++) {
    const valid = transactions[txIndex]!;
    const transaction = valid.transaction;
    assert(valid.hash.length === RECEIPT_TX_HASH_BYTES, "validated transactions carry their hash");
    assert(valid.senderKeyId.length === KEY_ID_BYTES, "validated transactions carry their sender");
    if (transaction.chainId !== block.chainId) {
      return blockInvalid(
        "BLOCK_TX_WRONG_CHAIN",
        "a transaction of the block is for another chain",
        txIndex,
        {
          chainId: transaction.chainId,
        },
      );
    }
    if (transaction.suiteCode !== block.suite.code) {
      return blockInvalid(
        "BLOCK_TX_WRONG_SUITE",
        "a transaction of the block is signed with another suite",
        txIndex,
        {
          suiteCode: transaction.suiteCode,
        },
      );
    }
    if (transaction.expiryHeight < block.height) {
      return blockInvalid(
        "BLOCK_TX_EXPIRED",
        "a transaction of the block expired before this height",
        txIndex,
        {
          expiryHeight: transaction.expiryHeight,
          height: block.height,
        },
      );
    }
    const nonceKey = nonceKeyOf(block.suite.hash, valid.senderKeyId);
    const nonceExpected = nonceNextOfValue(blockState.get(nonceKey));
    if (transaction.nonce !== nonceExpected) {
      return blockInvalid(
        "BLOCK_NONCE_MISMATCH",
        "a transaction's nonce is not its sender's next nonce",
        txIndex,
        {
          nonce: transaction.nonce,
          nonceExpected,
        },
      );
    }
    blockState.set(nonceKey, encodeNonceValue(nonceExpected + 1n));
    const { receipt, error } = runTransaction(block, contracts, blockState, valid, txIndex);
    receipts.push(receipt);
    errors.push(error);
    receipt.events.forEach((event, eventIndex) => {
      events.push({ txIndex, eventIndex, ...event });
    });
  }
  assert(receipts.length === transactions.length, "one receipt per transaction");
  assert(errors.length === receipts.length);
  return ok({ updates: blockState.updates(), receipts, events, errors });
}
