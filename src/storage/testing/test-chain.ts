/**
 * A deterministic test chain: real signed transactions, headers with correct tx, log and state
 * roots, and commit certificates signed by a one-validator set. Block `h` depends only on the
 * seed and `h`, so a crashed writer resumes from the stored head and a replay from genesis in
 * memory must reach the very same block hashes, log root and state root. Receipts are opaque
 * deterministic bytes (the store does not decode them); the header's receiptRoot is their RFC
 * 9162 root over `receiptHashOfEncoded`, what `receiptsByHeight` and `verifyStore` check.
 * Used by the compliance suite, the crash tests, the soak run and the storage benchmark.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { concatBytes, utf8 } from "../../base/bytes.ts";
import { ed25519Suite, type KeyPair, sha256 } from "../../crypto/index.ts";
import { receiptHashOfEncoded } from "../../exec/receipt.ts";
import {
  type Block,
  type BlockHeader,
  blockHash,
  type CommitCertificate,
  commitCertificateHash,
  encodeTransaction,
  evidenceRoot,
  hashEncodedTransaction,
  keyIdOf,
  MerkleLog,
  merkleRoot,
  signTransaction,
  transactionRoot,
  type ValidatorSet,
  VOTE_TYPE,
  validatorSetHash,
  voteSigningBytes,
} from "../../ledger/index.ts";
import { SparseMerkleTree, type StateUpdate } from "../../state/index.ts";
import type { PersistentLedger } from "../persistent-ledger.ts";
import type { BlockEvent, TransactionIndexEntry } from "../store.ts";
import { transactionIndexEntriesOf } from "../transaction-index.ts";

export interface TestChainOptions {
  readonly seed?: number;
  readonly chainId?: string;
  readonly txsPerBlock?: number;
  readonly senders?: number;
  /** State updates per transaction (nonce of the sender, plus a record key every other tx). */
  readonly stateWrites?: boolean;
  /** Padding bytes in each transaction's arguments (the benchmark uses ~300-byte transactions). */
  readonly argumentBytes?: number;
}

const CONTRACTS = ["permits", "registry", "notary"] as const;
const SUITE = ed25519Suite;

export interface BuiltBlock {
  readonly block: Block;
  readonly transactions: readonly TransactionIndexEntry[];
  /** The encoded receipts committed with the block, one per transaction. */
  readonly receipts: readonly Uint8Array[];
  readonly events: readonly BlockEvent[];
  readonly stateUpdates: readonly StateUpdate[];
}

export class TestChain {
  readonly chainId: string;
  readonly txsPerBlock: number;
  readonly genesisHash: Uint8Array;
  readonly validator: KeyPair;
  readonly validatorSet: ValidatorSet;
  readonly senders: readonly KeyPair[];
  readonly #seed: number;
  readonly #stateWrites: boolean;
  readonly #argumentPadding: Uint8Array;

  constructor(options: TestChainOptions = {}) {
    this.#seed = options.seed ?? 1;
    this.chainId = options.chainId ?? "test-city-1";
    this.txsPerBlock = options.txsPerBlock ?? 8;
    this.#stateWrites = options.stateWrites ?? true;
    this.#argumentPadding = new Uint8Array(options.argumentBytes ?? 0).fill(7);
    assert(this.txsPerBlock >= 0, "a block holds zero or more transactions");
    this.validator = SUITE.keyPairFromSeed(sha256(utf8(`validator/${this.#seed}`)));
    this.validatorSet = {
      suite: "ed25519",
      validators: [{ publicKey: this.validator.publicKey, power: 10n }],
    };
    const senderCount = options.senders ?? 5;
    assert(senderCount > 0, "a chain has senders");
    this.senders = Array.from({ length: senderCount }, (_, index) =>
      SUITE.keyPairFromSeed(sha256(utf8(`sender/${this.#seed}/${index}`))),
    );
    this.genesisHash = sha256(utf8(`genesis/${this.chainId}/${this.#seed}`));
  }

  /** The encoded transactions of block `height`. */
  transactionsOf(height: bigint): Uint8Array[] {
    const transactions: Uint8Array[] = [];
    for (let index = 0; index < this.txsPerBlock; index++) {
      const global = (Number(height) - 1) * this.txsPerBlock + index;
      const sender = this.senders[global % this.senders.length]!;
      const transaction = signTransaction(SUITE, sender.privateKey, {
        chainId: this.chainId,
        nonce: BigInt(Math.floor(global / this.senders.length)),
        expiryHeight: 1n << 40n,
        contract: CONTRACTS[global % CONTRACTS.length]!,
        method: "record",
        args: { height, index: BigInt(index), padding: this.#argumentPadding },
      });
      transactions.push(encodeTransaction(transaction));
    }
    return transactions;
  }

  /** State updates of block `height`: sender nonces, record keys, and some deletions. */
  stateUpdatesOf(height: bigint): StateUpdate[] {
    if (!this.#stateWrites) return [];
    const updates: StateUpdate[] = [];
    for (let index = 0; index < this.txsPerBlock; index++) {
      const global = (Number(height) - 1) * this.txsPerBlock + index;
      const sender = global % this.senders.length;
      const nonce = new Uint8Array(8);
      new DataView(nonce.buffer).setBigUint64(0, BigInt(Math.floor(global / this.senders.length)) + 1n);
      updates.push({ key: sha256(utf8(`nonce/${sender}`)), value: nonce });
      if (global % 2 === 0)
        updates.push({ key: sha256(utf8(`record/${global}`)), value: utf8(`r${global}@${height}`) });
      const deleted = global - 4 * this.txsPerBlock;
      if (deleted >= 0 && deleted % 2 === 0 && deleted % 3 === 0) {
        updates.push({ key: sha256(utf8(`record/${deleted}`)), value: null });
      }
    }
    return updates;
  }

  /**
   * Events of block `height`: one `<contract>.recorded` per transaction (keyed `subject/<n>` for
   * three transactions of four, else no key), and an `audit.flagged` (keyed) every fifth.
   */
  eventsOf(height: bigint): BlockEvent[] {
    const events: BlockEvent[] = [];
    for (let index = 0; index < this.txsPerBlock; index++) {
      const global = (Number(height) - 1) * this.txsPerBlock + index;
      const contract = CONTRACTS[global % CONTRACTS.length]!;
      events.push({
        txIndex: index,
        eventIndex: 0,
        contract,
        type: `${contract}.recorded`,
        key: global % 4 === 3 ? null : `subject/${global % 5}`,
        data: utf8(`${global}`),
      });
      if (global % 5 === 0) {
        events.push({
          txIndex: index,
          eventIndex: 1,
          contract,
          type: "audit.flagged",
          key: `subject/${global % 5}`,
          data: utf8("x"),
        });
      }
    }
    return events;
  }

  /** Opaque encoded receipts of block `height`'s transactions (deterministic, distinct). */
  receiptsOf(height: bigint, transactions: readonly Uint8Array[]): Uint8Array[] {
    return transactions.map((transaction, index) =>
      concatBytes(utf8(`receipt/${height}/${index}/`), hashEncodedTransaction(transaction, SUITE.hash)),
    );
  }

  /** A header for `height` with the given roots, and its certificate signed by the validator. */
  seal(
    height: bigint,
    transactions: readonly Uint8Array[],
    roots: { logRoot: Uint8Array; logSize: number; stateRoot: Uint8Array },
    previous: { blockHash: Uint8Array; certificate: CommitCertificate } | null,
  ): Block {
    const hash = SUITE.hash;
    const setHash = validatorSetHash(this.validatorSet, SUITE);
    const header: BlockHeader = {
      chainId: this.chainId,
      height,
      timeMs: 1_800_000_000_000n + height * 1000n,
      previousBlockHash: previous === null ? this.genesisHash : previous.blockHash,
      previousCommitHash:
        previous === null ? new Uint8Array(32) : commitCertificateHash(previous.certificate, hash),
      txRoot: transactionRoot(transactions, hash),
      txCount: transactions.length,
      logRoot: roots.logRoot,
      logSize: BigInt(roots.logSize),
      stateRoot: roots.stateRoot,
      receiptRoot: receiptRootOf(this.receiptsOf(height, transactions)),
      validatorSetHash: setHash,
      nextValidatorSetHash: setHash,
      evidenceRoot: evidenceRoot([], hash),
      proposer: keyIdOf(SUITE, this.validator.publicKey),
    };
    const hashOfBlock = blockHash(header, hash);
    const vote = voteSigningBytes({
      chainId: this.chainId,
      type: VOTE_TYPE.precommit,
      height,
      round: 0,
      blockHash: hashOfBlock,
    });
    const certificate: CommitCertificate = {
      height,
      round: 0,
      blockHash: hashOfBlock,
      signatures: [{ validatorIndex: 0, signature: SUITE.sign(this.validator.privateKey, vote) }],
    };
    return { header, transactions, evidence: [], certificate };
  }

  /**
   * Builds the next block over a persistent ledger and commits it; returns what it committed.
   * `events` replaces the block's events (`eventsOf`), e.g. with random ones in property tests.
   */
  async commitNext(
    ledger: PersistentLedger,
    options: { readonly events?: readonly BlockEvent[] } = {},
  ): Promise<BuiltBlock> {
    const head = ledger.head;
    const height = (head?.height ?? 0n) + 1n;
    const previous =
      head === null
        ? null
        : { blockHash: head.blockHash, certificate: (await ledger.store.certificateByHeight(head.height))! };
    assert(previous === null || previous.certificate !== undefined, "the head has its certificate");
    const transactions = this.transactionsOf(height);
    const entries = transactionIndexEntriesOf(transactions, SUITE.hash);
    for (const entry of entries) ledger.log.append(entry.hash);
    const stateUpdates = this.stateUpdatesOf(height);
    const stateRoot = await ledger.applyState(stateUpdates);
    const block = this.seal(
      height,
      transactions,
      { logRoot: ledger.log.root(), logSize: ledger.log.size, stateRoot },
      previous,
    );
    const events = options.events ?? this.eventsOf(height);
    const receipts = this.receiptsOf(height, transactions);
    await ledger.commit(block, { transactions: entries, receipts, events });
    return { block, transactions: entries, receipts, events, stateUpdates };
  }
}

/** The root `verifyStore` checks a block's stored receipts against (the header's receiptRoot). */
export function receiptRootOf(receipts: readonly Uint8Array[]): Uint8Array {
  return merkleRoot(
    receipts.map((receipt) => receiptHashOfEncoded(receipt, SUITE.hash)),
    SUITE.hash,
  );
}

/** The chain replayed from genesis in memory: block hashes and roots after each height. */
export interface Replay {
  readonly blockHashes: Uint8Array[];
  readonly logRoot: Uint8Array;
  readonly logSize: number;
  readonly stateRoot: Uint8Array;
  readonly log: MerkleLog;
  readonly tree: SparseMerkleTree;
}

export function replayInMemory(chain: TestChain, heightMax: bigint): Replay {
  const log = new MerkleLog();
  const tree = new SparseMerkleTree();
  const blockHashes: Uint8Array[] = [];
  let previous: { blockHash: Uint8Array; certificate: CommitCertificate } | null = null;
  for (let height = 1n; height <= heightMax; height++) {
    const transactions = chain.transactionsOf(height);
    for (const entry of transactionIndexEntriesOf(transactions, SUITE.hash)) log.append(entry.hash);
    const stateRoot = tree.applyBatch(chain.stateUpdatesOf(height));
    const block: Block = chain.seal(
      height,
      transactions,
      { logRoot: log.root(), logSize: log.size, stateRoot },
      previous,
    );
    previous = { blockHash: block.certificate.blockHash, certificate: block.certificate };
    blockHashes.push(block.certificate.blockHash);
  }
  return { blockHashes, logRoot: log.root(), logSize: log.size, stateRoot: tree.root, log, tree };
}
