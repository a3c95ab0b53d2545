/**
 * The node's chain: the persistent ledger (log, state tree, blocks) plus execution, behind the
 * three calls consensus needs: build a proposal, validate a proposal, commit a decision.
 *
 * A header commits to the state after its own block, so building or validating a proposal
 * executes it. The result is kept as a speculation (the ledger's log and tree advanced, their
 * new nodes pending, nothing written); the decision commits it when it is the decided block,
 * and otherwise the ledger is reopened from the store (which drops the pending nodes) and the
 * decided block is executed afresh. Every call runs under one lock, in order.
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { BLOCK_EVIDENCE_MAX, BLOCK_SIZE_BYTES_MAX, BLOCK_TXS_MAX } from "../base/limits.ts";
import type { ConsensusCheckpoint, ConsensusValue, ValueVerdict } from "../consensus/index.ts";
import {
  decodeEvidence,
  EVIDENCE_AGE_HEIGHTS_MAX,
  initialProposerPriorities,
  verifyEvidence,
} from "../consensus/index.ts";
import type { SignatureSuite } from "../crypto/suite.ts";
import { Reader } from "../encoding/reader.ts";
import { decodeValue, type Value, type ValueMap } from "../encoding/value.ts";
import { Writer } from "../encoding/writer.ts";
import {
  type BlockExecutionContext,
  type ExecutionOutcome,
  type TransactionReceipt as ExecutionReceipt,
  encodeReceipt,
  executeBlock,
  receiptHashOfEncoded,
  type SandboxEngine,
  type StateReader,
} from "../exec/index.ts";
import {
  readValidatorSetChanges,
  type ValidatorSetChange,
  validatorSetAtHeight,
} from "../exec/system/validator-set-changes.ts";
import { type Genesis, genesisHash } from "../ledger/genesis.ts";
import {
  type Block,
  type BlockHeader,
  blockHash,
  type CommitCertificate,
  checkBlockBody,
  commitCertificateHash,
  decodeProposedBlock,
  encodeProposedBlock,
  evidenceRoot,
  hashEncodedTransaction,
  keyIdOf,
  merkleRoot,
  type ProposedBlock,
  transactionRoot,
  type ValidatorSet,
  validateTransaction,
  validatorSetHash,
  verifyCommit,
} from "../ledger/index.ts";
import type { ValidTransaction } from "../ledger/validate-transaction.ts";
import {
  type BlockEvent,
  type ChainHead,
  EVENT_KEY_BYTES_MAX,
  METADATA_KEYS,
  PersistentLedger,
  type Store,
} from "../storage/index.ts";
import { AsyncLock } from "./async-lock.ts";
import { NodeError } from "./errors.ts";

/** Metadata key of the consensus checkpoint saved with each block (proposer priorities). */
export const CHECKPOINT_METADATA_KEY = "consensus_checkpoint";
/** Transactions whose signatures were verified at admission, remembered for block validation. */
export const VERIFIED_SIGNATURES_MAX = 200_000;
/** Event type recording a transaction that was included but failed (contract = its contract). */
export const TRANSACTION_FAILED_EVENT = "tx.failed";
/** State entries one committed read (an API query, a reader) may load. */
export const COMMITTED_READ_KEYS_MAX = 20_000;
const ZERO_HASH = new Uint8Array(32);

export interface ChainOptions {
  readonly store: Store;
  readonly genesis: Genesis;
  readonly suite: SignatureSuite;
  /** Runs deployed contracts; without it, a call of a deployed contract fails its transaction. */
  readonly sandbox?: SandboxEngine;
}

export interface DecidedBlock {
  readonly block: Block;
  readonly hash: Uint8Array;
  readonly transactionHashes: readonly Uint8Array[];
  /** Each transaction's sender key id. */
  readonly senderKeyIds: readonly Uint8Array[];
  readonly receipts: readonly ExecutionReceipt[];
  readonly events: readonly BlockEvent[];
  /** Log index of the block's first transaction. */
  readonly firstLogIndex: number;
}

interface Speculation {
  readonly hash: Uint8Array;
  readonly proposed: ProposedBlock;
  /** The block's transactions, decoded and checked once (hash, sender, contract at hand). */
  readonly transactions: readonly ValidTransaction[];
  readonly outcome: ExecutionOutcome;
  /** The outcome's receipts, encoded once: hashed into the header's receiptRoot, then stored. */
  readonly encodedReceipts: readonly Uint8Array[];
}

export class Chain {
  readonly store: Store;
  readonly genesis: Genesis;
  readonly suite: SignatureSuite;
  readonly genesisHash: Uint8Array;
  readonly lock = new AsyncLock();
  readonly #sandbox: SandboxEngine | undefined;
  #ledger: PersistentLedger;
  #speculation: Speculation | null = null;
  #previousCertificate: CommitCertificate | null;
  #previousHeader: BlockHeader | null;
  #previousTimeMs: bigint;
  #proposerPriorities: readonly bigint[];
  /** Hex hashes of transactions whose signatures this node checked; insertion order for eviction. */
  readonly #verified = new Set<string>();
  /** Validator-set changes recorded in the committed state, oldest first (governance decides them). */
  #validatorSetChanges: ValidatorSetChange[] = [];
  /** Hashes of the sets in use, by hex of their encoding's identity (the set objects themselves). */
  readonly #validatorSetHashes = new WeakMap<ValidatorSet, Uint8Array>();

  private constructor(
    options: ChainOptions,
    ledger: PersistentLedger,
    previous: {
      certificate: CommitCertificate | null;
      header: BlockHeader | null;
      timeMs: bigint;
      priorities: readonly bigint[];
    },
  ) {
    this.store = options.store;
    this.genesis = options.genesis;
    this.suite = options.suite;
    this.#sandbox = options.sandbox;
    this.genesisHash = genesisHash(options.genesis, options.suite);
    this.#ledger = ledger;
    this.#previousCertificate = previous.certificate;
    this.#previousHeader = previous.header;
    this.#previousTimeMs = previous.timeMs;
    this.#proposerPriorities = previous.priorities;
    this.#refreshValidatorSetChanges();
  }

  /** Opens the chain in `store`, initialising a fresh store for this genesis or checking it matches. */
  static async open(options: ChainOptions): Promise<Chain> {
    const { store, genesis, suite } = options;
    const expectedGenesis = genesisHash(genesis, suite);
    const storedGenesis = await store.readMetadata(METADATA_KEYS.genesisHash);
    if (storedGenesis === undefined) {
      const head = await store.head();
      if (head !== null) {
        throw new NodeError("NODE_STORE_FOREIGN", "the data directory holds blocks but no genesis hash");
      }
      await store.writeMetadata([
        [METADATA_KEYS.chainId, new TextEncoder().encode(genesis.chainId)],
        [METADATA_KEYS.genesisHash, expectedGenesis],
        [METADATA_KEYS.suite, new TextEncoder().encode(suite.name)],
      ]);
    } else if (!equalBytes(storedGenesis, expectedGenesis)) {
      throw new NodeError(
        "NODE_GENESIS_MISMATCH",
        "the data directory belongs to another chain (its genesis hash differs from the genesis file's)",
        { storedGenesisHash: bytesToHex(storedGenesis), genesisHash: bytesToHex(expectedGenesis) },
      );
    }
    const ledger = await PersistentLedger.open(store);
    const head = ledger.head;
    if (head === null) {
      return new Chain(options, ledger, {
        certificate: null,
        header: null,
        timeMs: genesis.genesisTimeMs,
        priorities: initialProposerPriorities(genesis.validatorSet),
      });
    }
    const block = await store.blockByHeight(head.height);
    if (block === undefined) throw new NodeError("NODE_STORE_CORRUPT", "the head block is missing");
    const checkpointBytes = await store.readMetadata(CHECKPOINT_METADATA_KEY);
    if (checkpointBytes === undefined) {
      throw new NodeError("NODE_STORE_CORRUPT", "the consensus checkpoint of the head block is missing");
    }
    const checkpoint = decodeCheckpointMetadata(checkpointBytes);
    if (checkpoint.height !== head.height + 1n) {
      throw new NodeError("NODE_STORE_CORRUPT", "the consensus checkpoint does not follow the head block");
    }
    return new Chain(options, ledger, {
      certificate: block.certificate,
      header: block.header,
      timeMs: block.header.timeMs,
      priorities: checkpoint.priorities,
    });
  }

  get chainId(): string {
    return this.genesis.chainId;
  }

  get head(): ChainHead | null {
    return this.#ledger.head;
  }

  /** Height of the last committed block (0 before the first). */
  get height(): bigint {
    return this.#ledger.head?.height ?? 0n;
  }

  /** Hash of the last committed block, or the genesis hash before the first. */
  get headHash(): Uint8Array {
    return this.#ledger.head?.blockHash ?? this.genesisHash;
  }

  get headTimeMs(): bigint {
    return this.#previousTimeMs;
  }

  /** The committed state root (not a speculation's). */
  get stateRoot(): Uint8Array {
    return this.#ledger.head?.stateRoot ?? ZERO_HASH;
  }

  get ledger(): PersistentLedger {
    return this.#ledger;
  }

  /**
   * The validator set signing blocks at `height`: the genesis set, changed by governance. A change
   * decided in block H signs from H + 2 (ADR 0007), so the committed state knows the sets of every
   * height up to head + 2; asked beyond, this answers with the set of head + 2.
   */
  validatorSetAt(height: bigint): ValidatorSet {
    return validatorSetAtHeight(this.genesis.validatorSet, this.#validatorSetChanges, height);
  }

  #validatorSetHashAt(height: bigint): Uint8Array {
    const set = this.validatorSetAt(height);
    let hash = this.#validatorSetHashes.get(set);
    if (hash === undefined) {
      hash = validatorSetHash(set, this.suite);
      this.#validatorSetHashes.set(set, hash);
    }
    return hash;
  }

  /** Reads the changes recorded in the committed state (only new ones are decoded). */
  #refreshValidatorSetChanges(): void {
    const tree = this.#ledger.tree;
    assert(equalBytes(tree.root, this.stateRoot), "the changes are read at the committed root");
    const changes = readValidatorSetChanges({ get: (key) => tree.get(key) }, this.suite.hash, this.suite, {
      knownCount: this.#validatorSetChanges.length,
    });
    if (changes.length > 0) this.#validatorSetChanges = [...this.#validatorSetChanges, ...changes];
  }

  /** Where consensus starts: the first undecided height. */
  checkpoint(): ConsensusCheckpoint {
    const height = this.height + 1n;
    return {
      height,
      validatorSet: this.validatorSetAt(height),
      nextValidatorSet: this.validatorSetAt(height + 1n),
      proposerPriorities: this.#proposerPriorities,
    };
  }

  /**
   * The consensus value of a committed block: the block as proposed, without its certificate,
   * with the canonical certificate of the block below (stored in its place when it committed).
   * Null for the first block of a store that joined from a snapshot: the block below is not held.
   */
  async valueOf(block: Block): Promise<ConsensusValue | null> {
    const { header, transactions, evidence } = block;
    let previousCertificate: CommitCertificate | null = null;
    if (header.height > 1n) {
      previousCertificate = (await this.store.certificateByHeight(header.height - 1n)) ?? null;
      if (previousCertificate === null) return null;
    }
    return {
      hash: block.certificate.blockHash,
      bytes: encodeProposedBlock({ header, transactions, evidence, previousCertificate }),
    };
  }

  /** Remembers that a transaction's signature was verified (at admission to the pool). */
  markVerified(hash: Uint8Array): void {
    if (this.#verified.size >= VERIFIED_SIGNATURES_MAX) {
      const oldest = this.#verified.values().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    this.#verified.add(bytesToHex(hash));
  }

  /** A state value at the committed root. */
  readCommitted(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#ledger.readState(key, this.stateRoot);
  }

  /**
   * Runs a synchronous state reader (the system contracts' readers, a read-only query) against the
   * committed state, on any back end and while a speculation is applied: the reader runs on the
   * values loaded so far (a key not loaded yet reads as absent, and is noted); the noted keys are
   * read at the committed root and it runs again, until a run misses nothing. Readers are
   * deterministic, so that last run saw exactly the committed state; earlier runs are discarded.
   * Bounded by COMMITTED_READ_KEYS_MAX keys (NODE_READ_TOO_LARGE beyond).
   */
  async readCommittedWith<Result>(reader: (state: StateReader) => Result): Promise<Result> {
    const root = this.stateRoot;
    if (this.store.syncNodeReader() !== null) {
      // SQLite reads nodes synchronously: one run at the committed root, beside any speculation.
      const tree = this.#ledger.tree;
      return reader({ get: (key) => tree.getAt(root, key) });
    }
    const values = new Map<string, Uint8Array | undefined>();
    for (;;) {
      const missing: Uint8Array[] = [];
      const result = reader({
        get: (key) => {
          const mapKey = bytesToHex(key);
          if (values.has(mapKey)) return values.get(mapKey);
          missing.push(key.slice());
          return undefined;
        },
      });
      if (missing.length === 0) return result;
      if (values.size + missing.length > COMMITTED_READ_KEYS_MAX) {
        throw new NodeError("NODE_READ_TOO_LARGE", "the read needs more state entries than a read may load", {
          keysMax: COMMITTED_READ_KEYS_MAX,
        });
      }
      for (const key of missing) {
        const mapKey = bytesToHex(key);
        if (!values.has(mapKey)) values.set(mapKey, await this.#ledger.readState(key, root));
      }
    }
  }

  /**
   * A synchronous reader of the committed state, for execution (SQLite serves node reads
   * synchronously). Only while no speculation is applied: the tree's current root is the head's.
   */
  #committedStateReader(): StateReader {
    const tree = this.#ledger.tree;
    assert(this.#speculation === null, "execution reads the committed state");
    assert(equalBytes(tree.root, this.stateRoot), "the tree is at the committed root");
    return { get: (key) => tree.get(key) };
  }

  /**
   * Builds the proposal for `height` from candidate transactions (in pool order), executing it.
   * Transactions the executor refuses are left out; the result is the speculation. Null when the
   * height is no longer the next one (the request is stale).
   */
  buildProposal(input: {
    readonly height: bigint;
    readonly candidates: readonly ValidTransaction[];
    readonly timeMs: bigint;
    readonly proposerPublicKey: Uint8Array;
    readonly evidence: readonly Uint8Array[];
  }): Promise<ConsensusValue | null> {
    return this.lock.run(async () => {
      // The chain may have moved past this height while the proposer waited (block sync).
      if (input.height !== this.height + 1n) return null;
      await this.#dropSpeculation();
      const timeMs = input.timeMs > this.#previousTimeMs ? input.timeMs : this.#previousTimeMs + 1n;
      let candidates = input.candidates.slice(0, BLOCK_TXS_MAX);
      let sizeBytes = 0;
      candidates = candidates.filter((candidate) => {
        sizeBytes += candidate.encoded.length;
        return sizeBytes <= BLOCK_SIZE_BYTES_MAX;
      });
      const evidence = input.evidence
        .slice(0, BLOCK_EVIDENCE_MAX)
        .filter((item) => this.#evidenceValid(item, input.height));
      // The executor names the first transaction it refuses; leave it out and run again.
      for (let attempt = 0; ; attempt++) {
        assert(attempt <= candidates.length, "each attempt removes one transaction");
        const outcome = executeBlock(
          this.#blockExecutionContext(input.height, timeMs),
          candidates,
          this.#committedStateReader(),
        );
        if (!outcome.ok) {
          const refused = outcome.error.transactionIndex;
          assert(refused >= 0 && refused < candidates.length, "a refusal names a candidate");
          candidates = candidates.filter((_, index) => index !== refused);
          continue;
        }
        const transactions = candidates.map((candidate) => candidate.encoded);
        const encodedReceipts = outcome.value.receipts.map((receipt) => encodeReceipt(receipt));
        const stateRoot = await this.#applyToLedger(candidates, outcome.value);
        const header: BlockHeader = {
          chainId: this.genesis.chainId,
          height: input.height,
          timeMs,
          previousBlockHash: this.headHash,
          previousCommitHash: this.#previousCommitHash(),
          txRoot: transactionRoot(transactions, this.suite.hash),
          txCount: transactions.length,
          logRoot: this.#ledger.log.root(),
          logSize: BigInt(this.#ledger.log.size),
          stateRoot,
          receiptRoot: this.#receiptRootOf(encodedReceipts),
          validatorSetHash: this.#validatorSetHashAt(input.height),
          nextValidatorSetHash: this.#validatorSetHashAt(input.height + 1n),
          evidenceRoot: evidenceRoot(evidence, this.suite.hash),
          proposer: keyIdOf(this.suite, input.proposerPublicKey),
        };
        const proposed: ProposedBlock = {
          header,
          transactions,
          evidence,
          previousCertificate: this.#previousCertificate,
        };
        const hash = blockHash(header, this.suite.hash);
        this.#speculation = {
          hash,
          proposed,
          transactions: candidates,
          outcome: outcome.value,
          encodedReceipts,
        };
        return { hash, bytes: encodeProposedBlock(proposed) };
      }
    });
  }

  /** valid(v) of Alg. 1: checks a proposal completely, executing it (it becomes the speculation). */
  validateProposal(height: bigint, value: ConsensusValue): Promise<ValueVerdict> {
    return this.lock.run(async () => {
      if (height !== this.height + 1n) return "invalid";
      if (this.#speculation !== null && equalBytes(this.#speculation.hash, value.hash)) return "valid";
      let proposed: ProposedBlock;
      try {
        proposed = decodeProposedBlock(value.bytes);
      } catch (error) {
        if (error instanceof CityLedgerError) return "malformed";
        throw error;
      }
      if (!equalBytes(blockHash(proposed.header, this.suite.hash), value.hash)) return "malformed";
      const transactions = this.#checkProposal(height, proposed);
      if (transactions === null) return "invalid";
      await this.#dropSpeculation();
      const speculation = await this.#execute(value.hash, proposed, transactions);
      return speculation === null ? "invalid" : "valid";
    });
  }

  /**
   * Commits the decided block with its certificate, durably, and returns what it did. The
   * certificate was verified by consensus (or by block sync) against this height's set.
   */
  commitDecided(input: {
    readonly height: bigint;
    readonly value: ConsensusValue;
    readonly certificate: CommitCertificate;
    readonly nextProposerPriorities: readonly bigint[];
  }): Promise<DecidedBlock> {
    return this.lock.run(async () => {
      assert(input.height === this.height + 1n, "decisions are committed in height order");
      assert(equalBytes(input.certificate.blockHash, input.value.hash), "the certificate is the value's");
      let speculation = this.#speculation;
      if (speculation === null || !equalBytes(speculation.hash, input.value.hash)) {
        await this.#dropSpeculation();
        const proposed = decodeProposedBlock(input.value.bytes);
        const transactions = this.#checkProposal(input.height, proposed);
        if (transactions === null) {
          throw new NodeError("NODE_DECIDED_INVALID", "a decided block fails validation on this node", {
            height: input.height,
          });
        }
        speculation = await this.#execute(input.value.hash, proposed, transactions);
        if (speculation === null) {
          throw new NodeError("NODE_DECIDED_INVALID", "a decided block fails execution on this node", {
            height: input.height,
          });
        }
      }
      const { header, transactions, evidence } = speculation.proposed;
      const block: Block = { header, transactions, evidence, certificate: input.certificate };
      const events = blockEventsOf(speculation.outcome, speculation.transactions);
      const firstLogIndex = this.#ledger.log.size - speculation.transactions.length;
      await this.#ledger.commit(block, {
        // From the checked transactions: decoding every one again here would repeat that work.
        transactions: speculation.transactions.map((valid) => ({
          hash: valid.hash,
          senderKeyId: valid.senderKeyId,
          contract: valid.transaction.contract,
        })),
        events,
        receipts: speculation.encodedReceipts,
        ...(speculation.proposed.previousCertificate === null
          ? {}
          : { previousCertificate: speculation.proposed.previousCertificate }),
        metadata: [
          [
            CHECKPOINT_METADATA_KEY,
            encodeCheckpointMetadata({ height: input.height + 1n, priorities: input.nextProposerPriorities }),
          ],
        ],
      });
      this.#speculation = null;
      this.#refreshValidatorSetChanges();
      this.#previousCertificate = input.certificate;
      this.#previousHeader = block.header;
      this.#previousTimeMs = block.header.timeMs;
      this.#proposerPriorities = input.nextProposerPriorities;
      return {
        block,
        hash: input.value.hash,
        transactionHashes: speculation.transactions.map((valid) => valid.hash),
        senderKeyIds: speculation.transactions.map((valid) => valid.senderKeyId),
        receipts: speculation.outcome.receipts,
        events,
        firstLogIndex,
      };
    });
  }

  #previousCommitHash(): Uint8Array {
    return this.#previousCertificate === null
      ? ZERO_HASH
      : commitCertificateHash(this.#previousCertificate, this.suite.hash);
  }

  /** Everything but execution; the checked transactions, or null when the proposal is invalid. */
  #checkProposal(height: bigint, proposed: ProposedBlock): ValidTransaction[] | null {
    const { header } = proposed;
    if (header.chainId !== this.genesis.chainId || header.height !== height) return null;
    if (!equalBytes(header.previousBlockHash, this.headHash)) return null;
    if (!this.#previousCertificateValid(proposed)) return null;
    if (!equalBytes(header.validatorSetHash, this.#validatorSetHashAt(height))) return null;
    if (!equalBytes(header.nextValidatorSetHash, this.#validatorSetHashAt(height + 1n))) return null;
    // BFT time is not attempted: the proposer's clock, moving strictly forward.
    if (header.timeMs <= this.#previousTimeMs && height > 1n) return null;
    if (height === 1n && header.timeMs < this.genesis.genesisTimeMs) return null;
    const set = this.validatorSetAt(height);
    if (
      !set.validators.some((validator) =>
        equalBytes(keyIdOf(this.suite, validator.publicKey), header.proposer),
      )
    ) {
      return null;
    }
    try {
      checkBlockBody(
        {
          header,
          transactions: proposed.transactions,
          evidence: proposed.evidence,
          certificate: EMPTY_CERTIFICATE,
        },
        this.suite.hash,
      );
    } catch (error) {
      if (error instanceof CityLedgerError) return null;
      throw error;
    }
    for (const item of proposed.evidence) if (!this.#evidenceValid(item, height)) return null;
    const transactions: ValidTransaction[] = [];
    for (const encoded of proposed.transactions) {
      const hash = hashEncodedTransaction(encoded, this.suite.hash);
      const result = validateTransaction(encoded, {
        chainId: this.genesis.chainId,
        suite: this.suite,
        height,
        // The executor checks each sender's nonce sequence exactly; here only form and signature.
        nonceNextOf: () => 0n,
        nonceAheadMax: 2n ** 64n,
        signatureVerified: this.#verified.has(bytesToHex(hash)),
      });
      if (!result.ok) return null;
      transactions.push(result.value);
    }
    return transactions;
  }

  /**
   * The proposal's certificate of the block below: a valid commit of that block, the one the
   * header's previousCommitHash names. It may differ from this node's own.
   */
  #previousCertificateValid(proposed: ProposedBlock): boolean {
    const { header, previousCertificate } = proposed;
    if (this.#previousHeader === null) {
      return previousCertificate === null && equalBytes(header.previousCommitHash, ZERO_HASH);
    }
    if (previousCertificate === null) return false;
    if (previousCertificate.height !== this.#previousHeader.height) return false;
    if (!equalBytes(previousCertificate.blockHash, this.headHash)) return false;
    if (!equalBytes(commitCertificateHash(previousCertificate, this.suite.hash), header.previousCommitHash)) {
      return false;
    }
    if (equalBytes(header.previousCommitHash, this.#previousCommitHash())) return true;
    return verifyCommit(
      this.#previousHeader,
      previousCertificate,
      this.validatorSetAt(this.#previousHeader.height),
      this.suite,
    );
  }

  #evidenceValid(encoded: Uint8Array, height: bigint): boolean {
    try {
      const evidence = decodeEvidence(encoded);
      if (evidence.height >= height || evidence.height + EVIDENCE_AGE_HEIGHTS_MAX < height) return false;
      return verifyEvidence(evidence, {
        chainId: this.genesis.chainId,
        validatorSet: this.validatorSetAt(evidence.height),
        suite: this.suite,
      });
    } catch (error) {
      if (error instanceof CityLedgerError) return false;
      throw error;
    }
  }

  /** Executes a checked proposal into the ledger; the new speculation, or null when it is invalid. */
  async #execute(
    hash: Uint8Array,
    proposed: ProposedBlock,
    transactions: readonly ValidTransaction[],
  ): Promise<Speculation | null> {
    assert(this.#speculation === null, "one speculation at a time");
    const { header } = proposed;
    const outcome = executeBlock(
      this.#blockExecutionContext(header.height, header.timeMs),
      transactions,
      this.#committedStateReader(),
    );
    if (!outcome.ok) return null;
    const stateRoot = await this.#applyToLedger(transactions, outcome.value);
    const encodedReceipts = outcome.value.receipts.map((receipt) => encodeReceipt(receipt));
    const speculation: Speculation = {
      hash,
      proposed,
      transactions,
      outcome: outcome.value,
      encodedReceipts,
    };
    this.#speculation = speculation;
    if (
      BigInt(this.#ledger.log.size) !== header.logSize ||
      !equalBytes(this.#ledger.log.root(), header.logRoot) ||
      !equalBytes(stateRoot, header.stateRoot) ||
      !equalBytes(this.#receiptRootOf(encodedReceipts), header.receiptRoot)
    ) {
      await this.#dropSpeculation();
      return null;
    }
    return speculation;
  }

  /** The header's receiptRoot over encoded receipts (the same root as src/exec receiptRoot). */
  #receiptRootOf(encodedReceipts: readonly Uint8Array[]): Uint8Array {
    const hash = this.suite.hash;
    return merkleRoot(
      encodedReceipts.map((encoded) => receiptHashOfEncoded(encoded, hash)),
      hash,
    );
  }

  /** What execution of block `height` needs besides its transactions and the state. */
  #blockExecutionContext(height: bigint, timeMs: bigint): BlockExecutionContext {
    return {
      chainId: this.genesis.chainId,
      height,
      timeMs,
      suite: this.suite,
      // Applied by the executor at height 1 only, before the first transaction.
      initialState: this.genesis.initialState,
      ...(this.#sandbox === undefined ? {} : { sandbox: this.#sandbox }),
    };
  }

  /** Appends the transactions to the log and their state updates to the tree; the new state root. */
  #applyToLedger(transactions: readonly ValidTransaction[], outcome: ExecutionOutcome): Promise<Uint8Array> {
    for (const transaction of transactions) this.#ledger.log.append(transaction.hash);
    return this.#ledger.applyState(outcome.updates);
  }

  /** Forgets the speculation: the ledger is reopened at the committed head. */
  async #dropSpeculation(): Promise<void> {
    const log = this.#ledger.log;
    const committedSize = this.#ledger.head?.logSize ?? 0;
    if (
      this.#speculation === null &&
      log.size === committedSize &&
      equalBytes(this.#ledger.tree.root, this.stateRoot)
    ) {
      return;
    }
    this.#speculation = null;
    this.#ledger = await PersistentLedger.open(this.store);
  }
}

const EMPTY_CERTIFICATE: CommitCertificate = { height: 0n, round: 0, blockHash: ZERO_HASH, signatures: [] };

/** The block's events: the contracts' events, then a failure record for each failed transaction. */
function blockEventsOf(outcome: ExecutionOutcome, transactions: readonly ValidTransaction[]): BlockEvent[] {
  assert(outcome.receipts.length === transactions.length, "one receipt per transaction");
  const events: BlockEvent[] = outcome.events.map((event) => ({
    txIndex: event.txIndex,
    eventIndex: event.eventIndex,
    contract: event.contract,
    type: event.type,
    data: event.data,
    key: eventKeyOf(event.data),
  }));
  for (let txIndex = 0; txIndex < outcome.receipts.length; txIndex++) {
    const receipt = outcome.receipts[txIndex]!;
    if (receipt.status === "ok") continue;
    const error = outcome.errors[txIndex] ?? null;
    events.push({
      txIndex,
      // A failed transaction emits no events of its own, so its failure record is event 0.
      eventIndex: 0,
      contract: transactions[txIndex]!.transaction.contract,
      key: null,
      type: TRANSACTION_FAILED_EVENT,
      data: encodeFailure(receipt.errorCode ?? "FAILED", error?.message ?? ""),
    });
  }
  events.sort((left, right) => left.txIndex - right.txIndex || left.eventIndex - right.eventIndex);
  return events;
}

/**
 * The indexed key of an event: by convention its data's `key` field, the id of what the event is
 * about (a document hash, a request id, a proposal number): text as is, bytes as hex, an integer
 * in decimal; null when there is none or it is longer than EVENT_KEY_BYTES_MAX.
 */
export function eventKeyOf(data: Uint8Array): string | null {
  let value: Value;
  try {
    value = decodeValue(data);
  } catch (error) {
    if (error instanceof CityLedgerError) return null;
    throw error;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return null;
  }
  const field = (value as ValueMap).key;
  let key: string | null = null;
  if (typeof field === "string") key = field;
  else if (field instanceof Uint8Array) key = bytesToHex(field);
  else if (typeof field === "bigint") key = field.toString();
  if (key === null || key.length === 0 || new TextEncoder().encode(key).length > EVENT_KEY_BYTES_MAX)
    return null;
  return key;
}

/** u8 version (1) | string code | string message. */
export function encodeFailure(code: string, message: string): Uint8Array {
  return new Writer(256).u8(1).string(code, 64).string(message.slice(0, 512), 2048).finish();
}

export function decodeFailure(bytes: Uint8Array): { code: string; message: string } {
  const reader = new Reader(bytes);
  const version = reader.u8("failure version");
  assert(version === 1, "failure records are version 1");
  const code = reader.string(64, "failure code");
  const message = reader.string(2048, "failure message");
  reader.end("failure");
  return { code, message };
}

/** u8 version (1) | u64 height | u32 count | i64 priorities. */
export function encodeCheckpointMetadata(checkpoint: {
  height: bigint;
  priorities: readonly bigint[];
}): Uint8Array {
  const writer = new Writer(16 + checkpoint.priorities.length * 8).u8(1).u64(checkpoint.height);
  writer.u32(checkpoint.priorities.length);
  for (const priority of checkpoint.priorities) writer.i64(priority);
  return writer.finish();
}

export function decodeCheckpointMetadata(bytes: Uint8Array): { height: bigint; priorities: bigint[] } {
  const reader = new Reader(bytes);
  if (reader.u8("checkpoint version") !== 1)
    throw new NodeError("NODE_STORE_CORRUPT", "unknown checkpoint version");
  const height = reader.u64("checkpoint height");
  const count = reader.u32("priority count");
  if (count > 1024) throw new NodeError("NODE_STORE_CORRUPT", "too many proposer priorities");
  const priorities: bigint[] = [];
  for (let index = 0; index < count; index++) priorities.push(reader.i64("priority"));
  reader.end("checkpoint");
  return { height, priorities };
}
