/**
 * Fixtures for this module's tests (not exported from index.ts): signers, signed and validated
 * transactions, notary arguments, and a helper that executes blocks against a state tree and
 * applies their updates, as the node does.
 * @module
 */
import { assert } from "../base/assert.ts";
import { ed25519Suite } from "../crypto/ed25519.ts";
import type { KeyPair, SignatureSuite } from "../crypto/suite.ts";
import type { Value, ValueMap } from "../encoding/value.ts";
import { keyIdOf } from "../ledger/key-id.ts";
import { encodeTransaction, hashEncodedTransaction, signTransaction } from "../ledger/transaction.ts";
import type { ValidTransaction } from "../ledger/validate-transaction.ts";
import { SparseMerkleTree } from "../state/sparse-merkle-tree.ts";
import type { BlockInvalidError } from "./errors.ts";
import { type BlockExecutionContext, type ExecutionOutcome, executeBlock } from "./execute-block.ts";

export const CHAIN_ID = "test-city-1";
export const suite = ed25519Suite;

export interface Signer {
  readonly keys: KeyPair;
  readonly keyId: Uint8Array;
  readonly suite: SignatureSuite;
}

export function signerOf(seedByte: number, signerSuite: SignatureSuite = suite): Signer {
  const keys = signerSuite.keyPairFromSeed(new Uint8Array(32).fill(seedByte));
  return { keys, keyId: keyIdOf(signerSuite, keys.publicKey), suite: signerSuite };
}

export interface TransactionFields {
  readonly nonce: bigint;
  readonly contract?: string;
  readonly method?: string;
  readonly args?: Value;
  readonly expiryHeight?: bigint;
  readonly chainId?: string;
}

/** A signed transaction in the form validateTransaction returns. */
export function validTransaction(signer: Signer, fields: TransactionFields): ValidTransaction {
  const transaction = signTransaction(signer.suite, signer.keys.privateKey, {
    chainId: fields.chainId ?? CHAIN_ID,
    nonce: fields.nonce,
    expiryHeight: fields.expiryHeight ?? 1_000n,
    contract: fields.contract ?? "notary",
    method: fields.method ?? "anchor",
    args: fields.args ?? null,
  });
  const encoded = encodeTransaction(transaction);
  return {
    transaction,
    encoded,
    hash: hashEncodedTransaction(encoded, signer.suite.hash),
    senderKeyId: signer.keyId,
  };
}

export function documentHashOf(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

export function anchorArgs(documentByte: number, overrides: Record<string, Value> = {}): ValueMap {
  return {
    algorithm: "sha256",
    documentHash: documentHashOf(documentByte),
    title: "Minutes of the Donghu district council, 2026-03-02",
    documentType: "minutes",
    ...overrides,
  };
}

export function blockContext(
  height: bigint,
  overrides: Partial<BlockExecutionContext> = {},
): BlockExecutionContext {
  return {
    chainId: CHAIN_ID,
    height,
    timeMs: 1_767_225_600_000n + height * 1_000n,
    suite,
    // Every remembered lookup is checked against a fresh read in the tests.
    verifyLookups: true,
    ...overrides,
  };
}

/** A chain in memory: executes blocks at increasing heights and applies their updates. */
export class TestChain {
  readonly tree = new SparseMerkleTree({ hash: suite.hash });
  height = 0n;
  /** Fields every block of this chain executes with (contracts, initialState, txGasMax, ...). */
  readonly context: Partial<BlockExecutionContext>;

  constructor(context: Partial<BlockExecutionContext> = {}) {
    this.context = context;
  }

  /** Executes the next block; applies it when valid. */
  execute(transactions: readonly ValidTransaction[]): ExecutionOutcome {
    const outcome = this.tryExecute(transactions);
    assert(outcome.ok, `the block is valid: ${outcome.ok ? "" : outcome.error.message}`);
    return outcome.value;
  }

  tryExecute(
    transactions: readonly ValidTransaction[],
  ): { ok: true; value: ExecutionOutcome } | { ok: false; error: BlockInvalidError } {
    const outcome = executeBlock(blockContext(this.height + 1n, this.context), transactions, this.tree);
    if (outcome.ok) {
      this.height += 1n;
      this.tree.applyBatch(outcome.value.updates);
    }
    return outcome;
  }
}
