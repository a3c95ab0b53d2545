/**
 * The node's Prometheus metrics, one registry per node (several nodes can share a process in
 * tests). Names carry their unit (`_seconds`, `_bytes`, `_total`); times are in seconds.
 * docs/ARCHITECTURE.md lists them.
 * @module
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export function createNodeMetrics(labels: { readonly node: string; readonly chain: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: "cityledger_process_" });
  const registers = [registry];
  return {
    registry,
    chainHeight: new Gauge({
      name: "cityledger_chain_height",
      help: "Height of the last committed block",
      registers,
    }),
    consensusHeight: new Gauge({
      name: "cityledger_consensus_height",
      help: "Height consensus works on",
      registers,
    }),
    consensusRound: new Gauge({
      name: "cityledger_consensus_round",
      help: "Round consensus is in",
      registers,
    }),
    blocksCommitted: new Counter({
      name: "cityledger_blocks_committed_total",
      help: "Blocks committed since start",
      registers,
    }),
    transactionsCommitted: new Counter({
      name: "cityledger_transactions_committed_total",
      help: "Transactions committed since start (rate = txs/s)",
      registers,
    }),
    transactionsFailed: new Counter({
      name: "cityledger_transactions_failed_total",
      help: "Committed transactions whose execution failed",
      registers,
    }),
    commitLatency: new Histogram({
      name: "cityledger_commit_latency_seconds",
      help: "From a transaction's admission to this node's pool to its block being durable",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
      registers,
    }),
    blockInterval: new Histogram({
      name: "cityledger_block_interval_seconds",
      help: "Time between consecutive commits on this node",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    storeCommit: new Histogram({
      name: "cityledger_store_commit_seconds",
      help: "Durable write of one block (store commit)",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    execution: new Histogram({
      name: "cityledger_execution_seconds",
      help: "Building (proposer) or checking (validator) and executing one proposal",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers,
    }),
    walAppend: new Histogram({
      name: "cityledger_store_wal_append_seconds",
      help: "Durable consensus WAL append",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    }),
    mempoolTransactions: new Gauge({
      name: "cityledger_mempool_transactions",
      help: "Transactions waiting",
      registers,
    }),
    mempoolBytes: new Gauge({
      name: "cityledger_mempool_bytes",
      help: "Bytes of transactions waiting",
      registers,
    }),
    mempoolRefused: new Counter({
      name: "cityledger_mempool_refused_total",
      help: "Submitted transactions refused, by code",
      labelNames: ["code"] as const,
      registers,
    }),
    signatureChecks: new Counter({
      name: "cityledger_signature_checks_total",
      help: "Transaction signatures checked at admission, by thread: verified on a worker, or checked on the main thread (which also re-checks what a worker could not verify)",
      labelNames: ["thread"] as const,
      registers,
    }),
    peers: new Gauge({ name: "cityledger_peers", help: "Connected peers", registers }),
    consensusMessages: new Counter({
      name: "cityledger_consensus_messages_total",
      help: "Consensus messages received from peers",
      registers,
    }),
    consensusRejected: new Counter({
      name: "cityledger_consensus_rejected_total",
      help: "Consensus messages dropped, by reason",
      labelNames: ["code"] as const,
      registers,
    }),
    roundsSkipped: new Counter({
      name: "cityledger_consensus_rounds_total",
      help: "Rounds started (more than one per height means timeouts or faults)",
      registers,
    }),
    snapshotExport: new Histogram({
      name: "cityledger_snapshot_export_seconds",
      help: "Exporting one state snapshot (a walk of the whole state)",
      buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    }),
    snapshotHeight: new Gauge({
      name: "cityledger_snapshot_height",
      help: "Height of the newest snapshot this node serves (0: none)",
      registers,
    }),
    snapshotRequests: new Counter({
      name: "cityledger_snapshot_requests_total",
      help: "Snapshot-sync requests from peers, by kind and outcome",
      labelNames: ["kind", "outcome"] as const,
      registers,
    }),
  };
}

export type NodeMetrics = ReturnType<typeof createNodeMetrics>;
