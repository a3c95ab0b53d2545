/**
 * One CityLedger node: opens the store and the chain, admits transactions to the pool, runs
 * consensus (a driver around the pure state machine) and, with peers, the authenticated peer
 * network; exposes all of it to the API through NodeService. Lifecycle: `startNode` opens and
 * starts everything; `stop` stops consensus, closes peers and closes the store, in that order.
 * With `sync.snapshot` and a data directory that holds no block, `start` first joins from a
 * peer's state snapshot (snapshot-sync.ts), so consensus starts at the snapshot height + 1; every
 * node serves snapshots of its own state (snapshot-serve.ts).
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import pino, { type Logger } from "pino";
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes } from "../base/bytes.ts";
import { CityLedgerError, type Result } from "../base/errors.ts";
import { BLOCK_EVIDENCE_MAX, BLOCK_SIZE_BYTES_MAX } from "../base/limits.ts";
import { type ConsensusValue, suiteSigner } from "../consensus/index.ts";
import { ed25519Suite, type SignatureSuite } from "../crypto/index.ts";
import { SHA256_IMPLEMENTATION } from "../crypto/sha256.ts";
import {
  checkInitialState,
  checkTransactionAdmission,
  decodeNotaryRecord,
  type ExecutionError,
  notaryRecordJson,
  notaryRecordKeyOf,
  readNonce,
  receiptHashOfEncoded,
  type SandboxEngine,
  TX_EVENTS_MAX,
} from "../exec/index.ts";
import { loadSandboxEngine } from "../exec/sandbox/index.ts";
import { readAdmittedNodes } from "../exec/system/governance.ts";
import { loadKeyFile } from "../keystore/index.ts";
import { type Genesis, genesisHash } from "../ledger/genesis.ts";
import {
  type Block,
  blockHash,
  decodeTransaction,
  encodeBlock,
  encodeBlockHeader,
  encodeCommitCertificate,
  hashEncodedTransaction,
  MerkleLog,
  type Transaction,
  type ValidatorSet,
  validateTransaction,
} from "../ledger/index.ts";
import type { ValidTransaction } from "../ledger/validate-transaction.ts";
import { MEMPOOL_FULL_RETRY_AFTER_MS, Mempool } from "../mempool/index.ts";
import { NET_TRANSACTIONS_MESSAGE_BYTES_MAX } from "../net/index.ts";
import type { ExecutionProof } from "../sdk/receipt.ts";
import { encodeStateProof } from "../state/state-proof.ts";
import {
  METADATA_KEYS,
  type MetadataEntry,
  openStore,
  QUERY_RESULTS_MAX,
  type Store,
} from "../storage/index.ts";
import {
  CHECKPOINT_METADATA_KEY,
  Chain,
  type DecidedBlock,
  decodeFailure,
  encodeCheckpointMetadata,
  TRANSACTION_FAILED_EVENT,
} from "./chain.ts";
import type { NodeConfig } from "./config.ts";
import { ConsensusDriver, type ConsensusTransport } from "./consensus-driver.ts";
import { NodeError } from "./errors.ts";
import { loadGenesisFile } from "./genesis-file.ts";
import { GovernanceReads } from "./governance-reads.ts";
import { createNodeMetrics, type NodeMetrics } from "./metrics.ts";
import { type PeerNetworkHandle, startPeerNetwork } from "./peer-network.ts";
import { proposerPrioritiesAt } from "./proposer-priorities.ts";
import type {
  BlockSummary,
  ChainEvent,
  CommittedBlock,
  EventFilter,
  ExecutionResult,
  NodeService,
  NodeStatus,
  StateRead,
  SubmitRefusalCode,
  SubmitResult,
  TransactionReceipt,
  TransactionStatus,
  Unsubscribe,
} from "./service.ts";
import { SignaturePool, signatureWorkersDefault } from "./signature-pool.ts";
import { SnapshotServer } from "./snapshot-serve.ts";
import { joinFromSnapshot } from "./snapshot-sync.ts";
import { PEER_TRANSACTIONS_MAX, type PeerWireMessage } from "./wire.ts";

/** Bytes a gossip message of transactions may carry (the transport's limit, less the header). */
const GOSSIP_MESSAGE_BYTES_MAX = NET_TRANSACTIONS_MESSAGE_BYTES_MAX - 64;
/** Each transaction's length prefix in a gossip message. */
const GOSSIP_TRANSACTION_OVERHEAD_BYTES = 4;
/** Committed nonces cached between blocks (cleared when full). */
const COMMITTED_NONCES_CACHED_MAX = 100_000;
/** Events one transaction may have: its contract's, plus a failure record. */
const EVENTS_PER_TRANSACTION_MAX = TX_EVENTS_MAX + 1;
/** Admission times kept for the commit-latency histogram (oldest forgotten first). */
const ADMISSION_TIMES_MAX = 200_000;
/** Block listeners (API WebSocket fan-out registers one per server, not per socket). */
const BLOCK_LISTENERS_MAX = 64;
const OK_RESULT: ExecutionResult = { ok: true, errorCode: null, errorMessage: null };

export interface StartNodeOptions {
  readonly config: NodeConfig;
  /** Default: pino to stdout at the configured level. */
  readonly logger?: Logger;
  /** The key files' passphrase; default: read as the config says (env variable or file). */
  readonly passphrase?: string;
}

/** Reads the passphrase as the config says; a file must not be readable by others. */
export function passphraseOf(config: NodeConfig): string {
  if ("env" in config.passphrase) {
    const value = process.env[config.passphrase.env];
    if (value === undefined || value.length === 0) {
      throw new NodeError(
        "NODE_KEY_INVALID",
        `set the key passphrase in the environment variable ${config.passphrase.env}`,
      );
    }
    return value;
  }
  const file = config.passphrase.file;
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      throw new NodeError(
        "NODE_KEY_INVALID",
        `the passphrase file ${file} can be read by other users; run: chmod 600 ${file}`,
      );
    }
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof NodeError) throw error;
    throw new NodeError("NODE_KEY_INVALID", `cannot read the passphrase file ${file}`);
  }
  return text.replace(/\r?\n$/, "");
}

export class CityLedgerNode implements NodeService {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  readonly chain: Chain;
  readonly store: Store;
  readonly suite: SignatureSuite;
  readonly mempool: Mempool;
  readonly nodePublicKey: Uint8Array;
  readonly validatorPublicKey: Uint8Array;
  readonly metricsContentType: string;
  readonly driver: ConsensusDriver;
  /** Exports snapshots of this node's state and serves them to joining nodes. */
  readonly snapshots: SnapshotServer;
  readonly startedAtMs = Date.now();
  #transport: ConsensusTransport | null = null;
  #peersCountFn: () => number = () => 0;
  #ready = false;
  /** The Ed25519 seed of the node key: the peer transport signs its handshakes with it. */
  readonly #nodeSeed: Uint8Array;
  #stopping: Promise<void> | null = null;
  /** Verifies batches of submitted and gossiped transactions off the main thread. */
  readonly #signatures: SignaturePool;
  readonly #listeners = new Set<(block: CommittedBlock) => void>();
  readonly #admittedAtMs = new Map<string, number>();
  readonly governance: GovernanceReads;
  /** Peers' node keys (hex) governance admitted with their validators; refreshed after its decisions. */
  readonly admittedByGovernance = new Set<string>();
  readonly #waiters = new Set<() => void>();
  #lastCommitMs = 0;

  private constructor(parts: {
    config: NodeConfig;
    logger: Logger;
    metrics: NodeMetrics;
    chain: Chain;
    store: Store;
    nodePublicKey: Uint8Array;
    nodeSeed: Uint8Array;
    validatorPrivateKey: Uint8Array;
    querySandbox: SandboxEngine;
  }) {
    this.#nodeSeed = parts.nodeSeed;
    this.#signatures = SignaturePool.start(
      parts.chain.suite.name,
      parts.config.mempool.signatureWorkers ?? signatureWorkersDefault(),
      {
        onWorkerLost: (reason) =>
          this.logger.error(
            { reason },
            "a signature worker was lost; its batches are checked on the main thread",
          ),
      },
    );
    this.governance = new GovernanceReads(parts.chain, parts.querySandbox);
    this.config = parts.config;
    this.logger = parts.logger;
    this.metrics = parts.metrics;
    this.chain = parts.chain;
    this.store = parts.store;
    this.suite = parts.chain.suite;
    this.mempool = new Mempool({
      nonceNextOf: (senderKeyId) => this.#committedNonce(senderKeyId),
      txsMax: parts.config.mempool.txsMax,
    });
    this.nodePublicKey = parts.nodePublicKey;
    this.metricsContentType = parts.metrics.registry.contentType;
    const signer = suiteSigner(this.suite, parts.validatorPrivateKey);
    this.validatorPublicKey = signer.publicKey;
    this.driver = new ConsensusDriver({
      config: {
        chainId: this.chain.genesis.chainId,
        suite: this.suite,
        // Always the signer: consensus signs only at heights whose set holds its key, so a node
        // that governance makes a validator starts voting at the height its set takes effect.
        signer,
        timeouts: this.config.consensus.timeouts,
      },
      chain: this.chain,
      wal: this.store,
      transport: {
        broadcast: (message) => this.#transport?.broadcast(message),
        sendTo: (peer, message) => this.#transport?.sendTo(peer, message),
        penalize: (peer, reason) => this.#transport?.penalize(peer, reason),
      },
      logger: this.logger.child({ component: "consensus" }),
      metrics: this.metrics,
      proposeValue: (height, round) => this.#proposeValue(height, round),
      onCommitted: (decided) => this.#onCommitted(decided),
      onFatal: (error) => this.#onFatal(error),
    });
    this.snapshots = new SnapshotServer({
      store: this.store,
      logger: this.logger.child({ component: "snapshot-serve" }),
      metrics: this.metrics,
      intervalHeights: this.config.sync.snapshotIntervalHeights,
      keptMax: this.config.sync.snapshotsKept,
    });
  }

  /** Opens the data directory and starts consensus. The API is started by the caller (src/cli). */
  static async start(options: StartNodeOptions): Promise<CityLedgerNode> {
    const { config } = options;
    const logger = options.logger ?? pino({ level: config.logLevel, base: { node: config.name } });
    const { genesis, suite } = loadGenesisFile(config.genesisFile);
    const passphrase = options.passphrase ?? passphraseOf(config);
    const nodeKey = loadKeyFile(config.keyFile, passphrase, ed25519Suite);
    const validatorKey =
      config.validatorKeyFile === config.keyFile && suite.name === "ed25519"
        ? nodeKey
        : loadKeyFile(config.validatorKeyFile, passphrase, suite);
    const initialStateCheck = checkInitialState(genesis.initialState, suite, { chainId: genesis.chainId });
    if (!initialStateCheck.ok) {
      throw new NodeError(
        "NODE_GENESIS_INVALID",
        `the genesis initial state is not valid: ${initialStateCheck.error.message}`,
        plainDetails(initialStateCheck.error.details),
      );
    }
    // One QuickJS engine executes blocks, another answers read-only queries (an engine runs one
    // block at a time); both load the same pinned wasm build.
    // CITYLEDGER_WASM_INLINING=off: QuickJS compiled without V8's wasm inlining (an operator's
    // switch should a V8 build misbehave with it; results are the same either way).
    const sandboxOptions = { wasmInlining: process.env.CITYLEDGER_WASM_INLINING !== "off" };
    const [sandbox, querySandbox] = await Promise.all([
      loadSandboxEngine(sandboxOptions),
      loadSandboxEngine(sandboxOptions),
    ]);
    const store = await openStore(config.store, { hash: suite.hash });
    let chain: Chain;
    try {
      if (config.sync.snapshot && config.p2p.peers.length > 0 && (await store.head()) === null) {
        await joinFromSnapshot({
          store,
          genesis,
          suite,
          config,
          logger,
          nodeSeed: nodeKey.privateKey,
          baseMetadata: (height) => snapshotBaseMetadata(genesis, suite, height),
        });
      }
      chain = await Chain.open({ store, genesis, suite, sandbox });
    } catch (error) {
      await store.close();
      throw error;
    }
    const metrics = createNodeMetrics({ node: config.name, chain: genesis.chainId });
    const node = new CityLedgerNode({
      config,
      logger,
      metrics,
      chain,
      store,
      nodePublicKey: nodeKey.publicKey,
      nodeSeed: nodeKey.privateKey,
      validatorPrivateKey: validatorKey.privateKey,
      querySandbox,
    });
    metrics.chainHeight.set(Number(chain.height));
    await node.refreshAdmittedNodes();
    await node.driver.start();
    node.snapshots.start(chain.height);
    node.#ready = true;
    logger.info(
      {
        chainId: genesis.chainId,
        height: chain.height.toString(),
        validator: node.status().validator,
        nodeKey: bytesToHex(nodeKey.publicKey),
        sha256: SHA256_IMPLEMENTATION,
        wasmInlining: sandboxOptions.wasmInlining,
      },
      "node started",
    );
    return node;
  }

  /** Starts the peer network of the config's p2p section and connects consensus and gossip to it. */
  startPeerNetwork(): Promise<PeerNetworkHandle> {
    return startPeerNetwork(this, this.config, this.#nodeSeed);
  }

  detachTransport(): void {
    this.#transport = null;
    this.#peersCountFn = () => 0;
  }

  /** Connects the consensus driver and transaction gossip to a peer network (src/net). */
  attachTransport(transport: ConsensusTransport, peersCount: () => number): void {
    this.#transport = transport;
    this.#peersCountFn = peersCount;
  }

  /** A message from a peer (decoded by src/node/wire.ts). */
  receiveFromPeer(peer: string, message: PeerWireMessage): void {
    if (message.kind === "transactions") {
      void this.submitTransactions(message.transactions, { gossip: false });
      return;
    }
    this.driver.receive(peer, message);
  }

  async stop(): Promise<void> {
    if (this.#stopping !== null) return this.#stopping;
    this.#stopping = (async () => {
      this.#ready = false;
      for (const wake of this.#waiters) wake();
      await this.driver.stop();
      // Wait for chain work in flight (a commit) and a snapshot export before closing the store.
      await this.chain.lock.run(() => undefined);
      await this.snapshots.stop();
      await this.#signatures.close();
      await this.store.close();
      this.logger.info("node stopped");
    })();
    return this.#stopping;
  }

  ready(): boolean {
    return this.#ready;
  }

  status(): NodeStatus {
    const head = this.chain.head;
    return {
      chainId: this.chain.genesis.chainId,
      suite: this.suite.name,
      nodePublicKey: this.nodePublicKey,
      validator: this.chain
        .validatorSetAt(this.chain.height + 1n)
        .validators.some((validator) => equalBytes(validator.publicKey, this.validatorPublicKey)),
      height: this.chain.height,
      headHash: head?.blockHash ?? null,
      headTimeMs: head === null ? null : this.chain.headTimeMs,
      logSize: BigInt(head?.logSize ?? 0),
      stateRoot: this.chain.stateRoot,
      consensus: { height: this.driver.height, round: this.driver.round, step: this.driver.step },
      mempool: { count: this.mempool.size, sizeBytes: this.mempool.sizeBytes },
      peers: this.#peersCountFn(),
      syncing: false,
      startedAtMs: this.startedAtMs,
    };
  }

  submitTransaction(encoded: Uint8Array, options: { gossip?: boolean } = {}): Promise<SubmitResult> {
    return Promise.resolve(this.#submit(encoded, options.gossip ?? true, false));
  }

  /**
   * Submits transactions in order, each with the result a single submit would give. A batch's
   * signatures are checked on the signature workers while the main thread does other work; the
   * batches are then admitted one after another in the order they arrived, so one sender's
   * nonces across consecutive batches stay in order.
   */
  submitTransactions(
    encodedList: readonly Uint8Array[],
    options: { gossip?: boolean } = {},
  ): Promise<SubmitResult[]> {
    const gossip = options.gossip ?? true;
    // A full pool refuses before any signature check, as a single submit does; a batch too small
    // for the workers is checked on the main thread. Either goes at once unless a batch is still
    // on the workers: then it waits its turn, so no batch overtakes one that arrived before it.
    const onWorkers =
      this.#signatures.accepts(encodedList.length) && this.mempool.size < this.config.mempool.txsMax;
    if (!onWorkers && this.#admissionsPending === 0) {
      return Promise.resolve(encodedList.map((encoded) => this.#submit(encoded, gossip, false)));
    }
    const verified = onWorkers
      ? this.#signatures.verify(encodedList)
      : Promise.resolve(new Uint8Array(encodedList.length));
    this.#admissionsPending += 1;
    const admitted = this.#admissionTail.then(async () => {
      const flags = await verified;
      // Counted once: a transaction the worker could not verify is checked (and counted) on the main thread.
      let verifiedOnWorkers = 0;
      for (const flag of flags) verifiedOnWorkers += flag;
      this.metrics.signatureChecks.inc({ thread: "worker" }, verifiedOnWorkers);
      return encodedList.map((encoded, index) => this.#submit(encoded, gossip, flags[index] === 1));
    });
    this.#admissionTail = admitted.then(
      () => {
        this.#admissionsPending -= 1;
      },
      () => {
        this.#admissionsPending -= 1;
      },
    );
    return admitted;
  }

  /** The batch admitted last (batches verified on the workers are admitted in arrival order). */
  #admissionTail: Promise<void> = Promise.resolve();
  /** Batches queued on `#admissionTail` and not yet admitted. */
  #admissionsPending = 0;

  /** `signatureVerified`: a signature worker verified these exact bytes under the chain's suite. */
  #submit(encoded: Uint8Array, gossip: boolean, signatureVerified: boolean): SubmitResult {
    if (!this.#ready) {
      return {
        accepted: false,
        hash: null,
        code: "NODE_NOT_READY",
        message: "the node is starting or stopping",
        retryAfterMs: 1000,
      };
    }
    // Shed load before paying for a signature check: an overloaded node that verified every
    // refused transaction would spend its core on admission and starve consensus.
    if (this.mempool.size >= this.config.mempool.txsMax) {
      this.metrics.mempoolRefused.inc({ code: "MEMPOOL_FULL" });
      return {
        accepted: false,
        hash: null,
        code: "MEMPOOL_FULL",
        message: "the node's transaction pool is full; try again shortly",
        retryAfterMs: MEMPOOL_FULL_RETRY_AFTER_MS,
      };
    }
    const result = validateTransaction(encoded, {
      chainId: this.chain.genesis.chainId,
      suite: this.suite,
      height: this.chain.height + 1n,
      nonceNextOf: (senderKeyId) => this.#committedNonce(senderKeyId),
      signatureVerified,
    });
    if (!signatureVerified && (result.ok || result.error.code === "TX_BAD_SIGNATURE")) {
      this.metrics.signatureChecks.inc({ thread: "main" });
    }
    if (!result.ok) {
      this.metrics.mempoolRefused.inc({ code: result.error.code });
      return {
        accepted: false,
        hash:
          encoded instanceof Uint8Array && encoded.length > 0
            ? hashEncodedTransaction(encoded, this.suite.hash)
            : null,
        code: result.error.code,
        message: result.error.message,
        details: plainDetails(result.error.details),
      };
    }
    const valid = result.value;
    // Identity and permission, as the executor will check them: a revoked or expired member, a
    // suspended organization or a missing role is refused here rather than failing in a block.
    const admission = this.#admissionOf(valid);
    if (!admission.ok) {
      const code = admission.error.code;
      assert(code === "PERMISSION_DENIED" || code.startsWith("IDENTITY_"), "admission refuses by identity");
      this.metrics.mempoolRefused.inc({ code });
      return {
        accepted: false,
        hash: valid.hash,
        code: code as SubmitRefusalCode,
        message: admission.error.message,
        details: plainDetails(admission.error.details),
      };
    }
    const added = this.mempool.add(valid, Date.now());
    if (!added.ok) {
      this.metrics.mempoolRefused.inc({ code: added.error.code });
      return {
        accepted: false,
        hash: valid.hash,
        code: added.error.code,
        message: added.error.message,
        ...(added.error.retryAfterMs === null ? {} : { retryAfterMs: added.error.retryAfterMs }),
      };
    }
    this.chain.markVerified(valid.hash);
    this.#rememberAdmission(valid.hash);
    this.metrics.mempoolTransactions.set(this.mempool.size);
    this.metrics.mempoolBytes.set(this.mempool.sizeBytes);
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    if (gossip) this.#gossipTransaction(valid.encoded);
    return { accepted: true, hash: valid.hash };
  }

  /** The sender's next nonce in the committed state (reads at the head's root, beside any speculation). */
  #committedNonce(senderKeyId: Uint8Array): bigint {
    const key = bytesToHex(senderKeyId);
    const cached = this.#committedNonces.get(key);
    if (cached !== undefined) return cached;
    const root = this.chain.stateRoot;
    const tree = this.chain.ledger.tree;
    const nonce = readNonce({ get: (stateKey) => tree.getAt(root, stateKey) }, this.suite.hash, senderKeyId);
    if (this.#committedNonces.size >= COMMITTED_NONCES_CACHED_MAX) this.#committedNonces.clear();
    this.#committedNonces.set(key, nonce);
    return nonce;
  }

  /**
   * The executor's identity and permission check against the committed state at the head's time
   * (the next block's time is later: an expiry in between is caught by execution). Verdicts are
   * cached per sender, contract and method until the next block.
   */
  #admissionOf(valid: ValidTransaction): Result<unknown, ExecutionError> {
    const { contract, method } = valid.transaction;
    const cacheKey = `${bytesToHex(valid.senderKeyId)}/${contract}/${method}`;
    const cached = this.#admissions.get(cacheKey);
    if (cached !== undefined) return cached;
    const root = this.chain.stateRoot;
    const tree = this.chain.ledger.tree;
    const verdict = checkTransactionAdmission(
      { get: (stateKey) => tree.getAt(root, stateKey) },
      this.suite.hash,
      this.chain.headTimeMs,
      valid.senderKeyId,
      contract,
      method,
    );
    if (this.#admissions.size >= COMMITTED_NONCES_CACHED_MAX) this.#admissions.clear();
    this.#admissions.set(cacheKey, verdict);
    return verdict;
  }

  /** Admission verdicts since the last block, by sender/contract/method. */
  readonly #admissions = new Map<string, Result<unknown, ExecutionError>>();

  /**
   * Committed nonces read since the last block, by sender key id (hex): admission reads one per
   * submitted transaction, and a state read costs a store lookup. A block forgets its senders'.
   */
  readonly #committedNonces = new Map<string, bigint>();

  #gossipBatch: Uint8Array[] = [];
  #gossipScheduled = false;

  /** Transactions go to peers in batches, at most one message per tick. */
  #gossipTransaction(encoded: Uint8Array): void {
    if (this.#transport === null) return;
    this.#gossipBatch.push(encoded);
    if (this.#gossipScheduled) return;
    this.#gossipScheduled = true;
    setImmediate(() => {
      this.#gossipScheduled = false;
      const batch = this.#gossipBatch;
      this.#gossipBatch = [];
      // Split by count and by bytes: a peer bans a sender of messages over the channel's limit.
      let message: Uint8Array[] = [];
      let messageBytes = 0;
      for (const transaction of batch) {
        const sizeBytes = transaction.length + GOSSIP_TRANSACTION_OVERHEAD_BYTES;
        if (message.length === PEER_TRANSACTIONS_MAX || messageBytes + sizeBytes > GOSSIP_MESSAGE_BYTES_MAX) {
          this.#transport?.broadcast({ kind: "transactions", transactions: message });
          message = [];
          messageBytes = 0;
        }
        message.push(transaction);
        messageBytes += sizeBytes;
      }
      if (message.length > 0) this.#transport?.broadcast({ kind: "transactions", transactions: message });
    });
  }

  #rememberAdmission(hash: Uint8Array): void {
    if (this.#admittedAtMs.size >= ADMISSION_TIMES_MAX) {
      const oldest = this.#admittedAtMs.keys().next().value;
      if (oldest !== undefined) this.#admittedAtMs.delete(oldest);
    }
    this.#admittedAtMs.set(bytesToHex(hash), performance.now());
  }

  /** Waits for transactions (then a short batching interval) or the empty-block interval, then builds. */
  async #proposeValue(height: bigint, _round: number): Promise<ConsensusValue | null> {
    const { blockIntervalMs, emptyBlockIntervalMs, timeouts } = this.config.consensus;
    // Propose well within the others' propose timeout, or they move on without this block.
    const waitMaxMs = Math.min(emptyBlockIntervalMs, Math.floor(timeouts.proposeBaseMs / 2));
    if (this.mempool.size === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiters.delete(wake);
          resolve();
        }, waitMaxMs);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.#waiters.add(wake);
      });
    }
    if (this.mempool.size > 0 && blockIntervalMs > 0) {
      const sinceCommitMs = performance.now() - this.#lastCommitMs;
      if (sinceCommitMs < blockIntervalMs) await sleep(blockIntervalMs - sinceCommitMs);
    }
    if (!this.#ready) throw new NodeError("NODE_STOPPED", "the node is stopping");
    const candidates = this.mempool.reap(this.config.consensus.blockTxsMax, BLOCK_SIZE_BYTES_MAX);
    // The proposer executes its block while building it: the same histogram as validation.
    const end = this.metrics.execution.startTimer();
    try {
      return await this.chain.buildProposal({
        height,
        candidates,
        timeMs: BigInt(Date.now()),
        proposerPublicKey: this.validatorPublicKey,
        evidence: this.driver.evidencePool.pending(BLOCK_EVIDENCE_MAX, height),
      });
    } finally {
      end();
    }
  }

  /** Reads the nodes governance admitted (with their validators) at the committed state. */
  async refreshAdmittedNodes(): Promise<void> {
    const chain = this.chain;
    const nodes = await chain.readCommittedWith((state) =>
      readAdmittedNodes(state, chain.suite.hash, chain.suite, chain.genesis.validatorSet),
    );
    this.admittedByGovernance.clear();
    for (const node of nodes) this.admittedByGovernance.add(bytesToHex(node.nodeKey));
  }

  #onCommitted(decided: DecidedBlock): void {
    // Only an executed proposal changes who is admitted; most blocks have none.
    if (decided.events.some((event) => event.contract === "governance" && event.type === "executed")) {
      this.refreshAdmittedNodes().catch((error: unknown) =>
        this.logger.error({ err: error }, "reading the nodes governance admitted failed"),
      );
    }
    const nowMs = performance.now();
    if (this.#lastCommitMs > 0) this.metrics.blockInterval.observe((nowMs - this.#lastCommitMs) / 1000);
    this.#lastCommitMs = nowMs;
    const { block } = decided;
    this.mempool.removeCommitted(decided.transactionHashes);
    for (const senderKeyId of decided.senderKeyIds) this.#committedNonces.delete(bytesToHex(senderKeyId));
    // Any block may revoke a member, suspend an organization or change a rule.
    this.#admissions.clear();
    this.mempool.recheck((senderKeyId) => this.#committedNonce(senderKeyId), decided.senderKeyIds);
    this.mempool.evictExpired(Date.now(), block.header.height + 1n);
    this.metrics.chainHeight.set(Number(block.header.height));
    this.metrics.blocksCommitted.inc();
    this.snapshots.onCommitted(block.header.height);
    this.metrics.transactionsCommitted.inc(block.transactions.length);
    this.metrics.mempoolTransactions.set(this.mempool.size);
    this.metrics.mempoolBytes.set(this.mempool.sizeBytes);
    // Failure records by transaction index, found once (not per transaction: blocks hold 10,000).
    const failures = new Map<number, (typeof decided.events)[number]>();
    for (const event of decided.events) {
      if (event.type === TRANSACTION_FAILED_EVENT) failures.set(event.txIndex, event);
    }
    const results: Array<{ hash: Uint8Array; result: ExecutionResult }> = [];
    for (let index = 0; index < decided.transactionHashes.length; index++) {
      const hash = decided.transactionHashes[index]!;
      const receipt = decided.receipts[index]!;
      const key = bytesToHex(hash);
      const admittedAtMs = this.#admittedAtMs.get(key);
      if (admittedAtMs !== undefined) {
        this.metrics.commitLatency.observe((nowMs - admittedAtMs) / 1000);
        this.#admittedAtMs.delete(key);
      }
      if (receipt.status !== "ok") this.metrics.transactionsFailed.inc();
      const failure = receipt.status === "ok" ? undefined : failures.get(index);
      results.push({
        hash,
        result:
          receipt.status === "ok"
            ? OK_RESULT
            : {
                ok: false,
                errorCode: receipt.errorCode,
                errorMessage: failure === undefined ? null : decodeFailure(failure.data).message,
              },
      });
    }
    if (this.#listeners.size === 0) return;
    const summary = summaryOf(block, decided.hash, decided.transactionHashes, this.suite);
    const committed: CommittedBlock = {
      summary,
      transactions: results,
      events: decided.events.map((event) => ({
        height: block.header.height,
        txIndex: event.txIndex,
        eventIndex: event.eventIndex,
        logIndex: decided.firstLogIndex + event.txIndex,
        contract: event.contract,
        type: event.type,
        key: event.key,
        data: event.data,
      })),
    };
    for (const listener of this.#listeners) {
      try {
        listener(committed);
      } catch (error) {
        this.logger.error({ error: (error as Error).message }, "a block listener failed");
      }
    }
  }

  #onFatal(error: unknown): void {
    this.logger.fatal(
      {
        error: error instanceof Error ? error.message : String(error),
        code: error instanceof CityLedgerError ? error.code : undefined,
      },
      "the node cannot continue and stops (restart it: it recovers from its store and write-ahead log)",
    );
    void this.stop().finally(() => {
      process.exitCode = 1;
      this.onFatalStop?.(error);
    });
  }

  /** Set by the process wiring (src/cli) to exit after a fatal error. */
  onFatalStop: ((error: unknown) => void) | null = null;

  /**
   * Transactions below the log size this node joined a snapshot at (those of the snapshot block):
   * their results (events) and inclusion proofs are not held here; a full-history node has them.
   */
  #belowSnapshot(logIndex: number): boolean {
    return logIndex < this.chain.ledger.log.frontierSize;
  }

  async transactionStatus(hash: Uint8Array): Promise<TransactionStatus> {
    const stored = await this.store.transactionByHash(hash);
    if (stored !== undefined && !this.#belowSnapshot(stored.logIndex)) {
      return {
        status: "committed",
        hash,
        height: stored.height,
        indexInBlock: stored.indexInBlock,
        logIndex: stored.logIndex,
        result: await this.#resultOf(stored.logIndex, stored.encoded),
      };
    }
    if (this.mempool.has(hash)) return { status: "pending", hash };
    return { status: "unknown", hash };
  }

  async #resultOf(logIndex: number, encoded: Uint8Array): Promise<ExecutionResult> {
    let contract: string;
    try {
      contract = decodeTransaction(encoded).contract;
    } catch {
      return OK_RESULT;
    }
    const events = await this.store.events({
      type: TRANSACTION_FAILED_EVENT,
      contract,
      afterLogIndex: logIndex - 1,
      limit: 1,
    });
    const event = events[0];
    if (event === undefined || event.logIndex !== logIndex) return OK_RESULT;
    const failure = decodeFailure(event.data);
    return { ok: false, errorCode: failure.code, errorMessage: failure.message };
  }

  async receipt(hash: Uint8Array): Promise<TransactionReceipt | undefined> {
    const stored = await this.store.transactionByHash(hash);
    if (stored === undefined || this.#belowSnapshot(stored.logIndex)) return undefined;
    const block = await this.store.blockByHeight(stored.height);
    assert(block !== undefined, "a stored transaction's block is stored");
    const { header } = block;
    const inclusionProof = await this.chain.lock.run(() =>
      this.chain.ledger.inclusionProof(stored.logIndex, Number(header.logSize)),
    );
    return {
      chainId: header.chainId,
      transaction: stored.encoded,
      hash,
      height: stored.height,
      indexInBlock: stored.indexInBlock,
      logIndex: stored.logIndex,
      logSize: header.logSize,
      inclusionProof,
      header,
      encodedHeader: encodeBlockHeader(header),
      certificate: block.certificate,
      encodedCertificate: encodeCommitCertificate(block.certificate),
      validatorSet: this.chain.validatorSetAt(stored.height),
      result: await this.#resultOf(stored.logIndex, stored.encoded),
      execution: await this.#executionProofOf(stored.height, stored.indexInBlock),
    };
  }

  /** The block's execution receipt of one transaction with its proof in receiptRoot (null if not held). */
  async #executionProofOf(height: bigint, indexInBlock: number): Promise<ExecutionProof | null> {
    const receipts = await this.store.receiptsByHeight(height);
    if (receipts === undefined) return null;
    assert(indexInBlock < receipts.length, "a stored transaction has a stored receipt");
    const tree = new MerkleLog({ hash: this.suite.hash });
    for (const encoded of receipts) tree.append(receiptHashOfEncoded(encoded, this.suite.hash));
    return { receipt: receipts[indexInBlock]!, proof: tree.inclusionProof(indexInBlock, receipts.length) };
  }

  async blockByHeight(height: bigint): Promise<BlockSummary | undefined> {
    if (height < 1n) return undefined;
    const block = await this.store.blockByHeight(height);
    return block === undefined ? undefined : summaryOf(block, block.certificate.blockHash, null, this.suite);
  }

  async blockByHash(hash: Uint8Array): Promise<BlockSummary | undefined> {
    const block = await this.store.blockByHash(hash);
    return block === undefined ? undefined : summaryOf(block, block.certificate.blockHash, null, this.suite);
  }

  async encodedBlock(height: bigint): Promise<Uint8Array | undefined> {
    if (height < 1n) return undefined;
    const block = await this.store.blockByHeight(height);
    return block === undefined ? undefined : encodeBlock(block);
  }

  async decodedTransaction(hash: Uint8Array): Promise<Transaction | undefined> {
    const stored = await this.store.transactionByHash(hash);
    if (stored !== undefined) return decodeTransaction(stored.encoded);
    const pending = this.mempool.get(hash);
    return pending?.transaction;
  }

  async validators(height?: bigint): Promise<ValidatorSet | undefined> {
    const at = height ?? this.chain.height + 1n;
    if (at < 1n || at > this.chain.height + 2n) return undefined;
    return this.chain.validatorSetAt(at);
  }

  readState(key: Uint8Array): Promise<StateRead> {
    return this.chain.lock.run(async () => {
      const root = this.chain.stateRoot;
      const height = this.chain.height;
      const value = await this.chain.ledger.readState(key, root);
      const proof = await this.chain.ledger.proveState(key, root);
      return { key, value, height, stateRoot: root, proof, encodedProof: encodeStateProof(proof) };
    });
  }

  /**
   * Events matching the filter, oldest first, after a log index. A page never splits one transaction's
   * events (paging resumes after the last transaction's log index): it reads a few more rows
   * than asked and drops a trailing transaction whose events did not all fit.
   */
  async events(filter: EventFilter): Promise<ChainEvent[]> {
    const limit = Math.min(filter.limit ?? QUERY_RESULTS_MAX, QUERY_RESULTS_MAX - EVENTS_PER_TRANSACTION_MAX);
    const stored = await this.store.events({
      ...(filter.type === undefined ? {} : { type: filter.type }),
      ...(filter.contract === undefined ? {} : { contract: filter.contract }),
      ...(filter.key === undefined ? {} : { key: filter.key }),
      ...(filter.afterLogIndex === undefined ? {} : { afterLogIndex: filter.afterLogIndex }),
      limit: limit + EVENTS_PER_TRANSACTION_MAX,
    });
    if (stored.length <= limit) return stored;
    // Keep whole transactions only: cut before the first transaction that crosses `limit`.
    const crossing = stored[limit]!.logIndex;
    let end = limit;
    while (end > 0 && stored[end - 1]!.logIndex === crossing) end--;
    // One transaction never has more events than a page holds, so a page is never empty.
    assert(end > 0, "a page holds at least one whole transaction");
    return stored.slice(0, end);
  }

  async notaryRecord(documentHash: Uint8Array) {
    const key = notaryRecordKeyOf(this.suite.hash, documentHash);
    const read = await this.readState(key);
    const record = read.value === undefined ? undefined : notaryRecordJson(decodeNotaryRecord(read.value));
    return { record: record as Readonly<Record<string, unknown>> | undefined, read };
  }

  onBlockCommitted(listener: (block: CommittedBlock) => void): Unsubscribe {
    if (this.#listeners.size >= BLOCK_LISTENERS_MAX) {
      throw new NodeError("NODE_STOPPED", "too many block listeners");
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  metricsText(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/**
 * What a node joining from a snapshot at `height` writes besides the snapshot: its chain's own
 * metadata (as Chain.open writes it) and the consensus checkpoint of height + 1, whose proposer
 * priorities are recomputed from the genesis set (proposer-priorities.ts), never taken from a peer.
 */
function snapshotBaseMetadata(genesis: Genesis, suite: SignatureSuite, height: bigint): MetadataEntry[] {
  const text = new TextEncoder();
  return [
    [METADATA_KEYS.chainId, text.encode(genesis.chainId)],
    [METADATA_KEYS.genesisHash, genesisHash(genesis, suite)],
    [METADATA_KEYS.suite, text.encode(suite.name)],
    [
      CHECKPOINT_METADATA_KEY,
      encodeCheckpointMetadata({
        height: height + 1n,
        priorities: proposerPrioritiesAt(genesis.validatorSet, height + 1n),
      }),
    ],
  ];
}

function summaryOf(
  block: Block,
  hash: Uint8Array,
  transactionHashes: readonly Uint8Array[] | null,
  suite: SignatureSuite,
): BlockSummary {
  assert(equalBytes(blockHash(block.header, suite.hash), hash), "a block's hash is its header's");
  let sizeBytes = 0;
  for (const transaction of block.transactions) sizeBytes += transaction.length;
  return {
    height: block.header.height,
    hash,
    header: block.header,
    encodedHeader: encodeBlockHeader(block.header),
    certificate: block.certificate,
    transactionHashes:
      transactionHashes ??
      block.transactions.map((transaction) => hashEncodedTransaction(transaction, suite.hash)),
    evidenceCount: block.evidence.length,
    sizeBytes,
  };
}

function plainDetails(
  details: Readonly<Record<string, string | number | bigint | boolean>>,
): Record<string, string | number | boolean> {
  const plain: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(details))
    plain[key] = typeof value === "bigint" ? value.toString() : value;
  return plain;
}

function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}
