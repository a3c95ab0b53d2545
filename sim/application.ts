/**
 * The simulator's application: the mempool/execution side consensus talks to. Its values are
 * real block headers (so decisions' certificates verify with verifyCommit and the light client
 * can follow the chain) plus a small body:
 *
 *   value.bytes = bytes header ‖ u32 txCount ‖ txs (bytes each) ‖ u32 evidenceCount ‖
 *                 evidence (bytes each)
 *   value.hash  = blockHash(header)
 *
 * A transaction is u8 kind (0 payload, 1 validator-set change) ‖ content; a set change
 * carried by block H is the validator set of height H+2. The header's txRoot and
 * evidenceRoot bind the body to the hash, so "malformed" (these bytes are not the value this
 * hash names) is checked without any state; "invalid" is a pure function of the value and
 * the chain decided so far, identical on every honest node.
 */
import { assert } from "../src/base/assert.ts";
import { concatBytes, equalBytes } from "../src/base/bytes.ts";
import { BLOCK_EVIDENCE_MAX, TX_SIZE_BYTES_MAX } from "../src/base/limits.ts";
import {
  type ConsensusValue,
  decodeEvidence,
  EvidencePool,
  evidenceOffenceKey,
  type ValueVerdict,
  verifyEvidence,
} from "../src/consensus/index.ts";
import type { SignatureSuite } from "../src/crypto/suite.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { Reader } from "../src/encoding/reader.ts";
import { Writer } from "../src/encoding/writer.ts";
import {
  type BlockHeader,
  blockHash,
  decodeBlockHeader,
  EVIDENCE_SIZE_BYTES_MAX,
  encodeBlockHeader,
  evidenceRoot,
  transactionRoot,
} from "../src/ledger/block.ts";
import { type CommitCertificate, commitCertificateHash } from "../src/ledger/commit.ts";
import { keyIdOf } from "../src/ledger/key-id.ts";
import {
  checkValidatorSet,
  decodeValidatorSet,
  encodeValidatorSet,
  type ValidatorSet,
  validatorSetHash,
} from "../src/ledger/validator-set.ts";

export const SIM_CHAIN_ID = "sim-city-1";
const HEADER_BYTES_MAX = 1024;
const ZERO_HASH = new Uint8Array(32);
const GENESIS_TIME_MS = 1_800_000_000_000n;

const TX_KIND_PAYLOAD = 0;
const TX_KIND_SET_CHANGE = 1;

export interface SimBlock {
  readonly header: BlockHeader;
  readonly transactions: readonly Uint8Array[];
  readonly evidence: readonly Uint8Array[];
  /** Decoded from the block's set-change transaction, if it has one. */
  readonly setChange: ValidatorSet | null;
}

export function encodeSimBlock(block: SimBlock): Uint8Array {
  const writer = new Writer(1024 + block.transactions.reduce((sum, tx) => sum + tx.length + 4, 0));
  writer.bytes(encodeBlockHeader(block.header), HEADER_BYTES_MAX).u32(block.transactions.length);
  for (const transaction of block.transactions) writer.bytes(transaction, TX_SIZE_BYTES_MAX);
  writer.u32(block.evidence.length);
  for (const item of block.evidence) writer.bytes(item, EVIDENCE_SIZE_BYTES_MAX);
  return writer.finish();
}

export function decodeSimBlock(bytes: Uint8Array): SimBlock {
  const reader = new Reader(bytes);
  const header = decodeBlockHeader(reader.bytesField(HEADER_BYTES_MAX, "header"));
  const transactionCount = reader.u32("txCount");
  if (transactionCount > 20_000) throw new DecodeError("DECODE_TOO_LONG", "too many transactions");
  const transactions: Uint8Array[] = [];
  for (let index = 0; index < transactionCount; index++) {
    transactions.push(reader.bytesField(TX_SIZE_BYTES_MAX, "tx"));
  }
  const evidenceCount = reader.u32("evidenceCount");
  if (evidenceCount > BLOCK_EVIDENCE_MAX) throw new DecodeError("DECODE_TOO_LONG", "too much evidence");
  const evidence: Uint8Array[] = [];
  for (let index = 0; index < evidenceCount; index++) {
    evidence.push(reader.bytesField(EVIDENCE_SIZE_BYTES_MAX, "evidence"));
  }
  reader.end("sim block");
  let setChange: ValidatorSet | null = null;
  for (const transaction of transactions) {
    if (transaction[0] !== TX_KIND_SET_CHANGE) continue;
    if (setChange !== null) throw new DecodeError("DECODE_INVALID_VALUE", "two set changes in one block");
    setChange = decodeValidatorSet(transaction.subarray(1));
  }
  return { header, transactions, evidence, setChange };
}

/** The governance rule of the simulated chain: which validator sets are acceptable. */
export type SetRule = (set: ValidatorSet) => boolean;

export interface DecidedBlock {
  readonly height: bigint;
  readonly round: number;
  readonly value: ConsensusValue;
  readonly block: SimBlock;
  readonly certificate: CommitCertificate;
}

export interface ProposeOptions {
  readonly timeMs: number;
  readonly proposerPublicKey: Uint8Array;
  readonly transactionCount: number;
  readonly transactionBytes: number;
  /** Distinguishes two valid values a Byzantine proposer equivocates with. */
  readonly salt: number;
  readonly setChange: ValidatorSet | null;
}

/**
 * One node's application: its decided chain (durable: it survives crashes, like the block
 * store), the validator set of every height it knows, and its evidence pool.
 */
export class SimApplication {
  readonly chain: DecidedBlock[] = [];
  readonly evidencePool = new EvidencePool();
  private readonly sets = new Map<bigint, ValidatorSet>();
  private readonly committedOffences = new Set<string>();
  private logRoot: Uint8Array = ZERO_HASH;
  private logSize = 0n;
  private stateRoot: Uint8Array = ZERO_HASH;

  constructor(
    private readonly suite: SignatureSuite,
    readonly genesisSet: ValidatorSet,
    private readonly setRule: SetRule,
  ) {
    this.sets.set(1n, genesisSet);
    this.sets.set(2n, genesisSet);
  }

  /** Blocks dropped from the front of `chain` by `forgetBlocksBelow` (the benchmark's memory). */
  private forgotten = 0n;

  get height(): bigint {
    return this.forgotten + BigInt(this.chain.length);
  }

  /** The decided block of a height still held. */
  decidedAt(height: bigint): DecidedBlock {
    const decided = this.chain[Number(height - this.forgotten) - 1];
    assert(decided !== undefined && decided.height === height, "the block of that height is held");
    return decided;
  }

  /** Drops decided blocks below `height` (their sets stay known). */
  forgetBlocksBelow(height: bigint): void {
    while (this.chain.length > 1 && this.chain[0]!.height < height) {
      this.chain.shift();
      this.forgotten += 1n;
    }
  }

  setAt(height: bigint): ValidatorSet {
    const set = this.sets.get(height);
    assert(set !== undefined, `the set of height ${height} is known`);
    return set;
  }

  hasSetAt(height: bigint): boolean {
    return this.sets.has(height);
  }

  previousBlockHash(height: bigint): Uint8Array {
    if (height === 1n) return genesisHash(this.suite, this.genesisSet);
    return this.decidedAt(height - 1n).value.hash;
  }

  /** getValue(): a block for the next height. */
  proposeValue(height: bigint, options: ProposeOptions): ConsensusValue {
    assert(height === this.height + 1n, "the application proposes on top of its chain");
    const transactions: Uint8Array[] = [];
    for (let index = 0; index < options.transactionCount; index++) {
      const transaction = new Uint8Array(Math.max(17, options.transactionBytes));
      const view = new DataView(transaction.buffer);
      view.setUint8(0, TX_KIND_PAYLOAD);
      view.setBigUint64(1, height);
      view.setUint32(9, index);
      view.setUint32(13, options.salt);
      transactions.push(transaction);
    }
    if (options.setChange !== null) {
      transactions.push(
        concatBytes(new Uint8Array([TX_KIND_SET_CHANGE]), encodeValidatorSet(options.setChange)),
      );
    }
    const evidence = this.evidencePool.pending(Math.min(8, BLOCK_EVIDENCE_MAX), height);
    const header = this.buildHeader(height, options, transactions, evidence);
    const block: SimBlock = { header, transactions, evidence, setChange: options.setChange };
    return { hash: blockHash(header, this.suite.hash), bytes: encodeSimBlock(block) };
  }

  private buildHeader(
    height: bigint,
    options: ProposeOptions,
    transactions: readonly Uint8Array[],
    evidence: readonly Uint8Array[],
  ): BlockHeader {
    const txRoot = transactionRoot(transactions, this.suite.hash);
    const previous = this.chain[this.chain.length - 1];
    return {
      chainId: SIM_CHAIN_ID,
      height,
      timeMs: GENESIS_TIME_MS + BigInt(options.timeMs),
      previousBlockHash: this.previousBlockHash(height),
      previousCommitHash:
        previous === undefined ? ZERO_HASH : commitCertificateHash(previous.certificate, this.suite.hash),
      txRoot,
      txCount: transactions.length,
      logRoot: this.suite.hash(concatBytes(this.logRoot, txRoot)),
      logSize: this.logSize + BigInt(transactions.length),
      stateRoot: this.suite.hash(concatBytes(this.stateRoot, txRoot)),
      receiptRoot: ZERO_HASH,
      validatorSetHash: validatorSetHash(this.setAt(height), this.suite),
      nextValidatorSetHash: validatorSetHash(this.setAt(height + 1n), this.suite),
      evidenceRoot: evidenceRoot(evidence, this.suite.hash),
      proposer: keyIdOf(this.suite, options.proposerPublicKey),
    };
  }

  /** valid(v), with "malformed" when the bytes are not the value the hash names. */
  validateValue(height: bigint, value: ConsensusValue): ValueVerdict {
    let block: SimBlock;
    try {
      block = decodeSimBlock(value.bytes);
    } catch {
      return "malformed";
    }
    const header = block.header;
    if (!equalBytes(blockHash(header, this.suite.hash), value.hash)) return "malformed";
    if (header.txCount !== block.transactions.length) return "malformed";
    if (!equalBytes(header.txRoot, transactionRoot(block.transactions, this.suite.hash))) return "malformed";
    if (!equalBytes(header.evidenceRoot, evidenceRoot(block.evidence, this.suite.hash))) return "malformed";
    return this.isValid(height, block) ? "valid" : "invalid";
  }

  private isValid(height: bigint, block: SimBlock): boolean {
    const header = block.header;
    if (height !== this.height + 1n) return false;
    if (header.chainId !== SIM_CHAIN_ID || header.height !== height) return false;
    if (!equalBytes(header.previousBlockHash, this.previousBlockHash(height))) return false;
    const previous = this.chain[this.chain.length - 1];
    if (previous !== undefined && header.timeMs < previous.block.header.timeMs) return false;
    if (!equalBytes(header.logRoot, this.suite.hash(concatBytes(this.logRoot, header.txRoot)))) return false;
    if (header.logSize !== this.logSize + BigInt(block.transactions.length)) return false;
    if (!equalBytes(header.stateRoot, this.suite.hash(concatBytes(this.stateRoot, header.txRoot))))
      return false;
    if (!equalBytes(header.validatorSetHash, validatorSetHash(this.setAt(height), this.suite))) return false;
    if (!equalBytes(header.nextValidatorSetHash, validatorSetHash(this.setAt(height + 1n), this.suite)))
      return false;
    const set = this.setAt(height);
    if (
      !set.validators.some((validator) =>
        equalBytes(keyIdOf(this.suite, validator.publicKey), header.proposer),
      )
    ) {
      return false;
    }
    if (!this.validateEvidence(height, block.evidence)) return false;
    if (block.setChange !== null && !this.validateSetChange(block.setChange)) return false;
    return true;
  }

  private validateEvidence(height: bigint, items: readonly Uint8Array[]): boolean {
    const seen = new Set<string>();
    for (const item of items) {
      let key: string;
      try {
        const evidence = decodeEvidence(item);
        if (evidence.height >= height || !this.sets.has(evidence.height)) return false;
        const context = {
          chainId: SIM_CHAIN_ID,
          validatorSet: this.setAt(evidence.height),
          suite: this.suite,
        };
        if (!verifyEvidence(evidence, context)) return false;
        key = evidenceOffenceKey(evidence);
      } catch {
        return false;
      }
      if (seen.has(key) || this.committedOffences.has(key)) return false;
      seen.add(key);
    }
    return true;
  }

  private validateSetChange(set: ValidatorSet): boolean {
    try {
      checkValidatorSet(set, this.suite);
    } catch {
      return false;
    }
    return this.setRule(set);
  }

  /** Executes a decided block; returns the validator set of height + 2. */
  commit(height: bigint, round: number, value: ConsensusValue, certificate: CommitCertificate): ValidatorSet {
    assert(height === this.height + 1n, "blocks commit in order");
    const block = decodeSimBlock(value.bytes);
    this.chain.push({ height, round, value, block, certificate });
    this.logRoot = block.header.logRoot;
    this.logSize = block.header.logSize;
    this.stateRoot = block.header.stateRoot;
    for (const item of block.evidence) this.committedOffences.add(evidenceOffenceKey(decodeEvidence(item)));
    this.evidencePool.markCommitted(block.evidence);
    this.evidencePool.prune(height + 1n);
    const nextSet = block.setChange ?? this.setAt(height + 1n);
    this.sets.set(height + 2n, nextSet);
    return nextSet;
  }
}

export function genesisHash(suite: SignatureSuite, genesisSet: ValidatorSet): Uint8Array {
  return suite.hash(concatBytes(new TextEncoder().encode(SIM_CHAIN_ID), validatorSetHash(genesisSet, suite)));
}
