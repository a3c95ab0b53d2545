/**
 * Connects a node to its peers: the authenticated transport of src/net carries the node's wire
 * messages (src/node/wire.ts) on their channels, admits only the genesis document's nodes, and
 * penalises a peer whose messages do not decode or that consensus rejects. The snapshot-sync
 * channel goes to the node's snapshot server (snapshot-serve.ts), which decodes its own messages.
 * @module
 */
import type { Logger } from "pino";
import { Counter, Gauge } from "prom-client";
import { bytesToHex, hexToBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import type { Genesis } from "../ledger/genesis.ts";
import {
  type ApplicationChannelId,
  Channel,
  createNetMetrics,
  type MetricsRegister,
  type NetLogger,
  nodeIdentityFromSeed,
  type PeerKeyHex,
  PeerManager,
} from "../net/index.ts";
import type { NodeConfig } from "./config.ts";
import type { ConsensusTransport } from "./consensus-driver.ts";
import type { CityLedgerNode } from "./node.ts";
import { encodeSnapshotMessage } from "./snapshot-wire.ts";
import { decodePeerMessage, encodePeerMessage, type PeerWireMessage } from "./wire.ts";

/** Points for a message that does not decode, and for one consensus rejects (a bad signature). */
export const PENALTY_POINTS_MALFORMED = 50;
export const PENALTY_POINTS_INVALID = 20;

export interface PeerNetworkHandle {
  readonly manager: PeerManager;
  readonly address: { host: string; port: number };
  stop(): Promise<void>;
}

/** The channel a wire message travels on. */
function channelOf(message: PeerWireMessage): ApplicationChannelId {
  switch (message.kind) {
    case "transactions":
      return Channel.transactions;
    case "commit":
      return Channel.blockSync;
    default:
      return Channel.consensus;
  }
}

function registerOf(node: CityLedgerNode): MetricsRegister {
  const registers = [node.metrics.registry];
  return {
    counter: (config) => {
      const counter = new Counter<string>({
        name: config.name,
        help: config.help,
        labelNames: [...config.labelNames],
        registers,
      });
      return {
        inc: (labels, value) => counter.inc(labels as Partial<Record<string, string | number>>, value ?? 1),
      };
    },
    gauge: (config) => {
      const gauge = new Gauge<string>({
        name: config.name,
        help: config.help,
        labelNames: [...config.labelNames],
        registers,
      });
      return { set: (labels, value) => gauge.set(labels as Partial<Record<string, string | number>>, value) };
    },
  };
}

function loggerOf(parent: Logger): NetLogger {
  const logger = parent.child({ component: "net" });
  return {
    debug: (message, context) => logger.debug(context ?? {}, message),
    info: (message, context) => logger.info(context ?? {}, message),
    warn: (message, context) => logger.warn(context ?? {}, message),
  };
}

export interface PeerManagerParts {
  readonly genesis: Genesis;
  readonly config: NodeConfig;
  readonly nodeSeed: Uint8Array;
  readonly logger: Logger;
  /** Where the transport's metrics go; null for a short-lived manager (snapshot sync before start). */
  readonly register: MetricsRegister | null;
  /** Node keys (hex) admitted since genesis, by governance (`validator.set` with a node). */
  readonly admittedByGovernance?: ReadonlySet<string>;
}

/** A peer manager on the config's address that admits the genesis document's nodes and those governance admitted. */
export function createPeerManager(parts: PeerManagerParts): PeerManager {
  const { genesis, config } = parts;
  const admitted = new Set(genesis.nodes.map((entry) => bytesToHex(entry.nodeKey)));
  const governed = parts.admittedByGovernance;
  return new PeerManager(
    {
      chainId: genesis.chainId,
      listenHost: config.p2p.host,
      listenPort: config.p2p.port,
      seeds: config.p2p.peers.map((peer) => ({
        publicKey: hexToBytes(peer.nodeKey),
        host: peer.host,
        port: peer.port,
      })),
    },
    {
      identity: nodeIdentityFromSeed(parts.nodeSeed),
      isAdmitted: (publicKey) => {
        const hex = bytesToHex(publicKey);
        return admitted.has(hex) || (governed?.has(hex) ?? false);
      },
      metrics: parts.register === null ? null : createNetMetrics(parts.register),
      logger: loggerOf(parts.logger),
    },
  );
}

export async function startPeerNetwork(
  node: CityLedgerNode,
  config: NodeConfig,
  nodeSeed: Uint8Array,
): Promise<PeerNetworkHandle> {
  const manager = createPeerManager({
    genesis: node.chain.genesis,
    config,
    nodeSeed,
    logger: node.logger,
    register: registerOf(node),
    admittedByGovernance: node.admittedByGovernance,
  });
  const transport: ConsensusTransport = {
    broadcast: (message) => {
      manager.broadcast(channelOf(message), encodePeerMessage(message));
    },
    sendTo: (peer, message) => {
      manager.send(peer as PeerKeyHex, channelOf(message), encodePeerMessage(message));
    },
    penalize: (peer, reason) => {
      node.logger.debug({ peer, reason }, "peer penalised");
      manager.penalize(peer as PeerKeyHex, "message_invalid", PENALTY_POINTS_INVALID);
    },
  };
  manager.onMessage((peer, channel, bytes) => {
    if (channel === Channel.snapshotSync) {
      node.snapshots.receive(peer, bytes);
      return;
    }
    let message: PeerWireMessage;
    try {
      message = decodePeerMessage(bytes);
    } catch (error) {
      if (!(error instanceof CityLedgerError)) throw error;
      manager.penalize(peer, "message_malformed", PENALTY_POINTS_MALFORMED);
      return;
    }
    node.receiveFromPeer(peer, message);
  });
  const updatePeers = () => node.metrics.peers.set(manager.peers().length);
  manager.onPeerConnected(updatePeers);
  manager.onPeerDisconnected(updatePeers);
  node.attachTransport(transport, () => manager.peers().length);
  node.snapshots.attach({
    send: (peer, message) => {
      manager.send(peer as PeerKeyHex, Channel.snapshotSync, encodeSnapshotMessage(message));
    },
    penalize: (peer, reason, points) => {
      node.logger.debug({ peer, reason }, "peer penalised (snapshot sync)");
      manager.penalize(peer as PeerKeyHex, reason, points);
    },
  });
  const address = await manager.start();
  node.logger.info(
    { host: address.host, port: address.port, peers: config.p2p.peers.length },
    "peer network listening",
  );
  return {
    manager,
    address,
    stop: async () => {
      node.detachTransport();
      node.snapshots.detach();
      await manager.stop();
    },
  };
}
