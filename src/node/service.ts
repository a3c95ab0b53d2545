/**
 * What a running node offers the layers above it (the API, the CLI's `dev`, the portal): one
 * narrow interface, so the API never reaches into the node's parts. Everything returned is
 * plain data; byte fields are Uint8Array and the API chooses their JSON form (hex).
 * @module
 */
import type { Result } from "../base/errors.ts";
import type { Value } from "../encoding/value.ts";
import type { ExecutionError, PermissionRule } from "../exec/index.ts";
import type { ChainParameters, Committee, Proposal, ProposalPage } from "../exec/system/governance.ts";
import type { ContractPage } from "../exec/system/registry.ts";
import type { BlockHeader } from "../ledger/block.ts";
import type { CommitCertificate } from "../ledger/commit.ts";
import type { Transaction } from "../ledger/transaction.ts";
import type { ValidatorSet } from "../ledger/validator-set.ts";
import type { ExecutionResult } from "../sdk/json-codec.ts";
import type { TransactionReceipt } from "../sdk/receipt.ts";
import type { StateProof } from "../state/state-proof.ts";
import type { StoredEvent as ChainEvent } from "../storage/store.ts";
import type { ContractRecord, MemberRecord, OrganizationRecord, QueryResult } from "./governance-reads.ts";

/** Why a submitted transaction was not admitted; stable codes, mapped to HTTP by the API. */
export type SubmitRefusalCode =
  /** Validation codes from src/ledger/validate-transaction.ts (TX_MALFORMED, TX_BAD_SIGNATURE, ...). */
  | `TX_${string}`
  | "MEMPOOL_DUPLICATE"
  | "MEMPOOL_FULL"
  | "MEMPOOL_SENDER_FULL"
  | "MEMPOOL_NONCE_TOO_LOW"
  /** The signer's membership is revoked or expired, or its organization is not active. */
  | `IDENTITY_${string}`
  /** No role or organization of the signer may call this contract method. */
  | "PERMISSION_DENIED"
  | "NODE_NOT_READY";

export type SubmitResult =
  | { readonly accepted: true; readonly hash: Uint8Array }
  | {
      readonly accepted: false;
      readonly hash: Uint8Array | null;
      readonly code: SubmitRefusalCode;
      readonly message: string;
      /** Set when trying again later may succeed (the pool is full). */
      readonly retryAfterMs?: number;
      readonly details?: Readonly<Record<string, string | number | boolean>>;
    };

/** Where a transaction is: waiting in this node's pool, committed in a block, or not known. */
export type TransactionStatus =
  | { readonly status: "pending"; readonly hash: Uint8Array }
  | {
      readonly status: "committed";
      readonly hash: Uint8Array;
      readonly height: bigint;
      readonly indexInBlock: number;
      readonly logIndex: number;
      /** The execution result: "ok", or "failed" with the contract's error code. */
      readonly result: ExecutionResult;
    }
  | { readonly status: "unknown"; readonly hash: Uint8Array };

/** What executing a transaction gave (one type with the SDK, which sits below the node). */
export type { ExecutionResult } from "../sdk/json-codec.ts";

/**
 * Everything needed to check offline that a transaction is in the ledger: the transaction, its
 * RFC 9162 inclusion proof in the log at the header's size, the header and the certificate
 * that commits it (verifyCommit against the validator set of that height). The SDK owns the
 * type, since browsers verify receipts too.
 */
export type { TransactionReceipt } from "../sdk/receipt.ts";

export interface BlockSummary {
  readonly height: bigint;
  readonly hash: Uint8Array;
  readonly header: BlockHeader;
  readonly encodedHeader: Uint8Array;
  readonly certificate: CommitCertificate;
  readonly transactionHashes: readonly Uint8Array[];
  readonly evidenceCount: number;
  readonly sizeBytes: number;
}

export interface NodeStatus {
  readonly chainId: string;
  readonly suite: string;
  readonly nodePublicKey: Uint8Array;
  readonly validator: boolean;
  readonly height: bigint;
  readonly headHash: Uint8Array | null;
  readonly headTimeMs: bigint | null;
  readonly logSize: bigint;
  readonly stateRoot: Uint8Array;
  readonly consensus: { readonly height: bigint; readonly round: number; readonly step: string };
  readonly mempool: { readonly count: number; readonly sizeBytes: number };
  readonly peers: number;
  readonly syncing: boolean;
  readonly startedAtMs: number;
}

export interface StateRead {
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
  readonly height: bigint;
  readonly stateRoot: Uint8Array;
  readonly proof: StateProof;
  readonly encodedProof: Uint8Array;
}

/** An event as the store indexes it (the API serves it as is). */
export type { StoredEvent as ChainEvent } from "../storage/store.ts";

export interface EventFilter {
  readonly contract?: string;
  readonly type?: string;
  /** The event's indexed key (its data's `key` field). */
  readonly key?: string;
  readonly afterLogIndex?: number;
  readonly limit?: number;
}

/** A committed block, as announced to subscribers. */
export interface CommittedBlock {
  readonly summary: BlockSummary;
  readonly transactions: ReadonlyArray<{ readonly hash: Uint8Array; readonly result: ExecutionResult }>;
  readonly events: readonly ChainEvent[];
}

export type Unsubscribe = () => void;

/** Identity, governance and the contract registry at the committed state (./governance-reads.ts). */
export interface GovernanceService {
  /** The head block's time, at which statuses (member expiry, voting deadlines) are computed. */
  readonly nowMs: bigint;
  organizations(): Promise<OrganizationRecord[]>;
  organization(id: string): Promise<OrganizationRecord | undefined>;
  member(keyId: Uint8Array): Promise<MemberRecord | undefined>;
  committee(): Promise<Committee | undefined>;
  proposals(fromId: bigint, limit: number): Promise<ProposalPage>;
  proposal(id: bigint): Promise<Proposal | undefined>;
  parameters(): Promise<ChainParameters>;
  contracts(fromPosition: bigint, limit: number): Promise<ContractPage>;
  contract(name: string): Promise<ContractRecord | undefined>;
  contractCode(codeHash: Uint8Array): Promise<Uint8Array | undefined>;
  permission(contract: string, name: string): Promise<PermissionRule | undefined>;
  /** A read-only call at the committed state; nothing it writes is kept. */
  query(
    contract: string,
    method: string,
    args: Value,
    callerKeyId: Uint8Array | null,
  ): Promise<Result<QueryResult, ExecutionError>>;
}

export interface NodeService {
  readonly governance: GovernanceService;
  status(): NodeStatus;
  /** Validates (signature, chain, nonce) and admits to the pool; never throws for bad input. */
  submitTransaction(encoded: Uint8Array): Promise<SubmitResult>;
  /** Submits in order; one result per transaction, each as `submitTransaction` would give it. */
  submitTransactions(encodedList: readonly Uint8Array[]): Promise<SubmitResult[]>;
  transactionStatus(hash: Uint8Array): Promise<TransactionStatus>;
  receipt(hash: Uint8Array): Promise<TransactionReceipt | undefined>;
  blockByHeight(height: bigint): Promise<BlockSummary | undefined>;
  blockByHash(hash: Uint8Array): Promise<BlockSummary | undefined>;
  /** The full encoded block (header, transactions, evidence, certificate). */
  encodedBlock(height: bigint): Promise<Uint8Array | undefined>;
  decodedTransaction(hash: Uint8Array): Promise<Transaction | undefined>;
  /** The validator set that signs blocks at `height` (default: the next height). */
  validators(height?: bigint): Promise<ValidatorSet | undefined>;
  /** A raw state value at the current root, with its proof. */
  readState(key: Uint8Array): Promise<StateRead>;
  events(filter: EventFilter): Promise<ChainEvent[]>;
  /**
   * The `notary` system contract's record of a document hash, decoded to JSON-ready fields
   * (src/exec defines them), with the state proof of its raw value.
   */
  notaryRecord(
    documentHash: Uint8Array,
  ): Promise<{ readonly record: Readonly<Record<string, unknown>> | undefined; readonly read: StateRead }>;
  /** Called after each block is durable; the listener must not throw. */
  onBlockCommitted(listener: (block: CommittedBlock) => void): Unsubscribe;
  /** True once storage is open and consensus runs; the API answers /health from this. */
  ready(): boolean;
  /** Prometheus text exposition of every layer's metrics. */
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
}
