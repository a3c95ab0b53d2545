/**
 * A NodeService for the API's and the SDK's tests: an in-memory chain built from the real
 * structures, so whatever it hands out verifies like the node's own. Transactions are checked
 * with the real validateTransaction, appended to a real RFC 9162 MerkleLog (leaf data: the
 * transaction hash), executed into a real sparse Merkle state tree, and sealed in headers whose
 * commit certificates carry Ed25519 precommits of 3 of 4 validators.
 *
 * Execution is a stand-in: every transaction succeeds, except method `fail`; contract `notary`
 * with method `record` and args `{document: <32 bytes>}` writes a notary record. Blocks are
 * committed only when a test calls `commitBlock()`.
 * @module
 */

import { assert } from "../../base/assert.ts";
import { bytesToHex, concatBytes, equalBytes, utf8 } from "../../base/bytes.ts";
import { ed25519Suite, type KeyPair, sha256 } from "../../crypto/index.ts";
import { encodeValue, type Value } from "../../encoding/index.ts";
import {
  type Block,
  type BlockHeader,
  blockHash,
  type CommitCertificate,
  canonicalValidatorSet,
  commitCertificateHash,
  decodeTransaction,
  encodeBlock,
  encodeBlockHeader,
  encodeCommitCertificate,
  encodeTransaction,
  evidenceRoot,
  hashEncodedTransaction,
  keyIdOf,
  MerkleLog,
  signTransaction,
  type Transaction,
  transactionRoot,
  type ValidatorSet,
  VOTE_TYPE,
  validateTransaction,
  validatorSetHash,
  voteSigningBytes,
} from "../../ledger/index.ts";
import { GovernanceReads } from "../../node/governance-reads.ts";
import type {
  BlockSummary,
  ChainEvent,
  CommittedBlock,
  EventFilter,
  ExecutionResult,
  NodeService,
  NodeStatus,
  StateRead,
  SubmitResult,
  TransactionReceipt,
  TransactionStatus,
  Unsubscribe,
} from "../../node/service.ts";
import { encodeStateProof, SparseMerkleTree } from "../../state/index.ts";

export const FAKE_CHAIN_ID = "test-city-1";
const SUITE = ed25519Suite;
const VALIDATOR_COUNT = 4;
/** Validators that sign each certificate: 3 of 4 equal powers is more than 2/3. */
const SIGNERS = 3;
const GENESIS_TIME_MS = 1_800_000_000_000n;

export interface FakeServiceOptions {
  /** Transactions the pool holds; past it, submits get MEMPOOL_FULL. Default: unbounded. */
  readonly poolCapacity?: number;
  /** The retryAfterMs of MEMPOOL_FULL (undefined: the refusal names no wait). */
  readonly poolFullRetryAfterMs?: number;
}

interface CommittedTransaction {
  readonly height: bigint;
  readonly indexInBlock: number;
  readonly logIndex: number;
  readonly encoded: Uint8Array;
  readonly result: ExecutionResult;
}

interface StoredBlock {
  readonly summary: BlockSummary;
  readonly block: Block;
}

/** The state key of the notary record of a document hash. */
export function notaryKeyOf(documentHash: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8("notary/"), documentHash));
}

export class FakeNodeService implements NodeService {
  readonly chainId = FAKE_CHAIN_ID;
  readonly validatorKeys: readonly KeyPair[];
  readonly validatorSet: ValidatorSet;
  /** Keys of some senders tests sign with. */
  readonly senders: readonly KeyPair[];
  readonly metricsContentType = "text/plain; version=0.0.4; charset=utf-8";
  isReady = true;
  /** Makes every read throw (to test that a broken node gives 500, never a leak). */
  broken = false;

  /** Transactions the pool holds (tests change it to fill or drain the pool). */
  poolCapacity: number;
  readonly #poolFullRetryAfterMs: number | undefined;
  readonly #log = new MerkleLog({ hash: SUITE.hash });
  readonly #tree = new SparseMerkleTree({ hash: SUITE.hash });
  readonly #genesisHash = sha256(utf8("genesis/test-city-1"));
  readonly #pool = new Map<string, { encoded: Uint8Array; transaction: Transaction }>();
  readonly #committed = new Map<string, CommittedTransaction>();
  readonly #blocks: StoredBlock[] = [];
  readonly #blocksByHash = new Map<string, StoredBlock>();
  readonly #events: ChainEvent[] = [];
  readonly #nonces = new Map<string, bigint>();
  readonly #notaryRecords = new Map<string, Readonly<Record<string, unknown>>>();
  readonly #listeners = new Set<(block: CommittedBlock) => void>();
  /** The real readers over this service's state tree (no contract ran here: empty, unless a test writes). */
  readonly governance = new GovernanceReads({
    chainId: FAKE_CHAIN_ID,
    suite: SUITE,
    get height() {
      return 0n;
    },
    headTimeMs: 0n,
    readCommittedWith: (reader) => Promise.resolve(reader(this.#tree)),
  });

  constructor(options: FakeServiceOptions = {}) {
    this.poolCapacity = options.poolCapacity ?? Number.MAX_SAFE_INTEGER;
    this.#poolFullRetryAfterMs = options.poolFullRetryAfterMs;
    const keys = Array.from({ length: VALIDATOR_COUNT }, (_, index) =>
      SUITE.keyPairFromSeed(sha256(utf8(`fake-validator/${index}`))),
    );
    this.validatorSet = canonicalValidatorSet(
      "ed25519",
      keys.map((key) => ({ publicKey: key.publicKey, power: 10n })),
    );
    // Keys in the set's canonical order, so validator index i signs with validatorKeys[i].
    this.validatorKeys = this.validatorSet.validators.map(
      (validator) => keys.find((key) => equalBytes(key.publicKey, validator.publicKey))!,
    );
    this.senders = Array.from({ length: 3 }, (_, index) =>
      SUITE.keyPairFromSeed(sha256(utf8(`fake-sender/${index}`))),
    );
  }

  get height(): bigint {
    return BigInt(this.#blocks.length);
  }

  /** A signed, encoded transaction of `sender` with the next free nonce (pool included). */
  signedTransaction(
    senderIndex = 0,
    call: { contract?: string; method?: string; args?: Value; nonce?: bigint; chainId?: string } = {},
  ): Uint8Array {
    const sender = this.senders[senderIndex];
    assert(sender !== undefined, "signedTransaction: a known sender");
    const transaction = signTransaction(SUITE, sender.privateKey, {
      chainId: call.chainId ?? this.chainId,
      nonce: call.nonce ?? this.#nonceNextIncludingPool(keyIdOf(SUITE, sender.publicKey)),
      expiryHeight: this.height + 1000n,
      contract: call.contract ?? "permits",
      method: call.method ?? "apply",
      args: call.args ?? { note: "hello" },
    });
    return encodeTransaction(transaction);
  }

  #nonceNextIncludingPool(senderKeyId: Uint8Array): bigint {
    let next = this.#nonces.get(bytesToHex(senderKeyId)) ?? 0n;
    for (const { transaction } of this.#pool.values()) {
      if (equalBytes(keyIdOf(SUITE, transaction.senderPublicKey), senderKeyId) && transaction.nonce >= next) {
        next = transaction.nonce + 1n;
      }
    }
    return next;
  }

  status(): NodeStatus {
    this.#checkWorking();
    const head = this.#blocks[this.#blocks.length - 1];
    return {
      chainId: this.chainId,
      suite: SUITE.name,
      nodePublicKey: this.validatorKeys[0]!.publicKey,
      validator: true,
      height: this.height,
      headHash: head === undefined ? null : head.summary.hash,
      headTimeMs: head === undefined ? null : head.summary.header.timeMs,
      logSize: BigInt(this.#log.size),
      stateRoot: this.#tree.root,
      consensus: { height: this.height + 1n, round: 0, step: "propose" },
      mempool: {
        count: this.#pool.size,
        sizeBytes: [...this.#pool.values()].reduce((sum, entry) => sum + entry.encoded.length, 0),
      },
      peers: 3,
      syncing: false,
      startedAtMs: 1_700_000_000_000,
    };
  }

  async submitTransactions(encodedList: readonly Uint8Array[]): Promise<SubmitResult[]> {
    const results: SubmitResult[] = [];
    for (const encoded of encodedList) results.push(await this.submitTransaction(encoded));
    return results;
  }

  async submitTransaction(encoded: Uint8Array): Promise<SubmitResult> {
    if (!this.isReady) {
      return {
        accepted: false,
        hash: null,
        code: "NODE_NOT_READY",
        message: "the node is starting",
        retryAfterMs: 500,
      };
    }
    const validated = validateTransaction(encoded, {
      chainId: this.chainId,
      suite: SUITE,
      height: this.height + 1n,
      nonceNextOf: (senderKeyId) => this.#nonces.get(bytesToHex(senderKeyId)) ?? 0n,
    });
    if (!validated.ok) {
      const details: Record<string, string | number | boolean> = {};
      for (const [key, value] of Object.entries(validated.error.details)) {
        details[key] = typeof value === "bigint" ? value.toString() : value;
      }
      return {
        accepted: false,
        hash: null,
        code: validated.error.code,
        message: validated.error.message,
        details,
      };
    }
    const { hash, transaction } = validated.value;
    const hashHex = bytesToHex(hash);
    if (this.#pool.has(hashHex) || this.#committed.has(hashHex)) {
      return {
        accepted: false,
        hash,
        code: "MEMPOOL_DUPLICATE",
        message: "the transaction is already known",
      };
    }
    if (this.#pool.size >= this.poolCapacity) {
      return {
        accepted: false,
        hash,
        code: "MEMPOOL_FULL",
        message: "the pool is full",
        ...(this.#poolFullRetryAfterMs === undefined ? {} : { retryAfterMs: this.#poolFullRetryAfterMs }),
      };
    }
    this.#pool.set(hashHex, { encoded: new Uint8Array(encoded), transaction });
    return { accepted: true, hash };
  }

  async transactionStatus(hash: Uint8Array): Promise<TransactionStatus> {
    this.#checkWorking();
    const hashHex = bytesToHex(hash);
    const committed = this.#committed.get(hashHex);
    if (committed !== undefined) {
      return {
        status: "committed",
        hash,
        height: committed.height,
        indexInBlock: committed.indexInBlock,
        logIndex: committed.logIndex,
        result: committed.result,
      };
    }
    return this.#pool.has(hashHex) ? { status: "pending", hash } : { status: "unknown", hash };
  }

  async receipt(hash: Uint8Array): Promise<TransactionReceipt | undefined> {
    this.#checkWorking();
    const committed = this.#committed.get(bytesToHex(hash));
    if (committed === undefined) return undefined;
    const stored = this.#blocks[Number(committed.height) - 1]!;
    const { header, certificate } = stored.block;
    return {
      chainId: this.chainId,
      transaction: committed.encoded,
      hash,
      height: committed.height,
      indexInBlock: committed.indexInBlock,
      logIndex: committed.logIndex,
      logSize: header.logSize,
      inclusionProof: this.#log.inclusionProof(committed.logIndex, Number(header.logSize)),
      header,
      encodedHeader: encodeBlockHeader(header),
      certificate,
      encodedCertificate: encodeCommitCertificate(certificate),
      validatorSet: this.validatorSet,
      result: committed.result,
      // This service runs no executor, so it holds no execution receipts (inclusion only).
      execution: null,
    };
  }

  async blockByHeight(height: bigint): Promise<BlockSummary | undefined> {
    this.#checkWorking();
    if (height < 1n || height > this.height) return undefined;
    return this.#blocks[Number(height) - 1]!.summary;
  }

  async blockByHash(hash: Uint8Array): Promise<BlockSummary | undefined> {
    this.#checkWorking();
    return this.#blocksByHash.get(bytesToHex(hash))?.summary;
  }

  async encodedBlock(height: bigint): Promise<Uint8Array | undefined> {
    if (height < 1n || height > this.height) return undefined;
    return encodeBlock(this.#blocks[Number(height) - 1]!.block);
  }

  async decodedTransaction(hash: Uint8Array): Promise<Transaction | undefined> {
    const hashHex = bytesToHex(hash);
    const encoded = this.#committed.get(hashHex)?.encoded ?? this.#pool.get(hashHex)?.encoded;
    return encoded === undefined ? undefined : decodeTransaction(encoded);
  }

  async validators(height?: bigint): Promise<ValidatorSet | undefined> {
    this.#checkWorking();
    if (height !== undefined && (height < 1n || height > this.height + 1n)) return undefined;
    return this.validatorSet;
  }

  async readState(key: Uint8Array): Promise<StateRead> {
    this.#checkWorking();
    const proof = this.#tree.prove(key);
    return {
      key,
      value: this.#tree.get(key),
      height: this.height,
      stateRoot: this.#tree.root,
      proof,
      encodedProof: encodeStateProof(proof),
    };
  }

  async events(filter: EventFilter): Promise<ChainEvent[]> {
    this.#checkWorking();
    const limit = filter.limit ?? 100;
    const out: ChainEvent[] = [];
    for (const event of this.#events) {
      if (out.length >= limit) break;
      if (filter.contract !== undefined && event.contract !== filter.contract) continue;
      if (filter.type !== undefined && event.type !== filter.type) continue;
      if (filter.afterLogIndex !== undefined && event.logIndex <= filter.afterLogIndex) continue;
      out.push(event);
    }
    return out;
  }

  async notaryRecord(documentHash: Uint8Array) {
    this.#checkWorking();
    return {
      record: this.#notaryRecords.get(bytesToHex(documentHash)),
      read: await this.readState(notaryKeyOf(documentHash)),
    };
  }

  onBlockCommitted(listener: (block: CommittedBlock) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  ready(): boolean {
    return this.isReady;
  }

  async metricsText(): Promise<string> {
    return (
      "# HELP cityledger_fake_blocks_total Blocks committed.\n# TYPE cityledger_fake_blocks_total counter\n" +
      `cityledger_fake_blocks_total ${this.#blocks.length}\n`
    );
  }

  /** Commits the pool (in admission order) as the next block and announces it. */
  commitBlock(): CommittedBlock {
    const height = this.height + 1n;
    const entries = [...this.#pool.values()];
    this.#pool.clear();
    const transactions = entries.map((entry) => entry.encoded);
    const results: { hash: Uint8Array; result: ExecutionResult }[] = [];
    const events: ChainEvent[] = [];
    const updates: { key: Uint8Array; value: Uint8Array | null }[] = [];
    const firstLogIndex = this.#log.size;
    for (let index = 0; index < entries.length; index++) {
      const { encoded, transaction } = entries[index]!;
      const hash = hashEncodedTransaction(encoded, SUITE.hash);
      const logIndex = this.#log.append(hash);
      assert(logIndex === firstLogIndex + index, "the log appends in block order");
      const senderKeyId = bytesToHex(keyIdOf(SUITE, transaction.senderPublicKey));
      this.#nonces.set(senderKeyId, transaction.nonce + 1n);
      const result = this.#execute(transaction, height, updates);
      results.push({ hash, result });
      events.push({
        height,
        txIndex: index,
        eventIndex: 0,
        logIndex,
        contract: transaction.contract,
        type: `${transaction.contract}.${transaction.method}`,
        data: encodeValue({ sender: senderKeyId }),
        key: null,
      });
      this.#committed.set(bytesToHex(hash), { height, indexInBlock: index, logIndex, encoded, result });
    }
    if (updates.length > 0) this.#tree.applyBatch(updates);
    const block = this.#seal(height, transactions);
    const summary: BlockSummary = {
      height,
      hash: block.certificate.blockHash,
      header: block.header,
      encodedHeader: encodeBlockHeader(block.header),
      certificate: block.certificate,
      transactionHashes: results.map((entry) => entry.hash),
      evidenceCount: 0,
      sizeBytes: encodeBlock(block).length,
    };
    const stored = { summary, block };
    this.#blocks.push(stored);
    this.#blocksByHash.set(bytesToHex(summary.hash), stored);
    this.#events.push(...events);
    const committed: CommittedBlock = { summary, transactions: results, events };
    this.announce(committed);
    return committed;
  }

  /** Announces a block to the listeners again (tests of the WebSocket fan-out under load). */
  announce(block: CommittedBlock): void {
    for (const listener of this.#listeners) listener(block);
  }

  #execute(
    transaction: Transaction,
    height: bigint,
    updates: { key: Uint8Array; value: Uint8Array | null }[],
  ): ExecutionResult {
    if (transaction.method === "fail") {
      return { ok: false, errorCode: "FAKE_FAILED", errorMessage: "the fake contract failed on purpose" };
    }
    const args = transaction.args;
    if (transaction.contract === "notary" && transaction.method === "record" && isDocumentArgs(args)) {
      const owner = keyIdOf(SUITE, transaction.senderPublicKey);
      this.#notaryRecords.set(bytesToHex(args.document), { owner, height, label: "recorded" });
      updates.push({ key: notaryKeyOf(args.document), value: encodeValue({ owner, height }) });
    }
    updates.push({ key: sha256(utf8(`last/${transaction.contract}`)), value: encodeValue({ height }) });
    return { ok: true, errorCode: null, errorMessage: null };
  }

  #seal(height: bigint, transactions: readonly Uint8Array[]): Block {
    const previous = this.#blocks[this.#blocks.length - 1];
    const setHash = validatorSetHash(this.validatorSet, SUITE);
    const header: BlockHeader = {
      chainId: this.chainId,
      height,
      timeMs: GENESIS_TIME_MS + height * 1000n,
      previousBlockHash: previous === undefined ? this.#genesisHash : previous.summary.hash,
      previousCommitHash:
        previous === undefined
          ? new Uint8Array(32)
          : commitCertificateHash(previous.block.certificate, SUITE.hash),
      txRoot: transactionRoot(transactions, SUITE.hash),
      txCount: transactions.length,
      logRoot: this.#log.root(),
      logSize: BigInt(this.#log.size),
      stateRoot: this.#tree.root,
      receiptRoot: new Uint8Array(32),
      validatorSetHash: setHash,
      nextValidatorSetHash: setHash,
      evidenceRoot: evidenceRoot([], SUITE.hash),
      proposer: keyIdOf(SUITE, this.validatorKeys[0]!.publicKey),
    };
    return { header, transactions, evidence: [], certificate: this.#certify(header) };
  }

  #certify(header: BlockHeader): CommitCertificate {
    const hashOfBlock = blockHash(header, SUITE.hash);
    const vote = voteSigningBytes({
      chainId: header.chainId,
      type: VOTE_TYPE.precommit,
      height: header.height,
      round: 0,
      blockHash: hashOfBlock,
    });
    const signatures = this.validatorKeys
      .slice(0, SIGNERS)
      .map((key, validatorIndex) => ({ validatorIndex, signature: SUITE.sign(key.privateKey, vote) }));
    return { height: header.height, round: 0, blockHash: hashOfBlock, signatures };
  }

  #checkWorking(): void {
    if (this.broken) throw new Error("fake failure: storage unreadable at /secret/path");
  }
}

function isDocumentArgs(args: Value): args is { document: Uint8Array } {
  if (typeof args !== "object" || args === null || Array.isArray(args) || args instanceof Uint8Array)
    return false;
  const document = (args as { document?: Value }).document;
  return document instanceof Uint8Array && document.length === 32;
}
