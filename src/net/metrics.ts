/**
 * Metrics of the peer transport, passed in as a typed interface (Lodestar style): this module
 * names the metrics and their closed label sets; the node builds them on its registry through
 * `createNetMetrics(register)` with an adapter over prom-client. No prom-client import here.
 * Label values come only from closed sets (channels, directions, codes, reasons), never from
 * peer keys or addresses.
 * @module
 */
import type { ChannelLabel } from "./channels.ts";
import type { NetErrorCode, PenaltyReason } from "./errors.ts";
import type { DropReason } from "./send-queue.ts";

export type LabelValues = Readonly<Record<string, string>>;
export type NoLabels = Readonly<Record<never, string>>;

export interface Counter<Labels extends LabelValues = NoLabels> {
  inc(labels: Labels, value?: number): void;
}

export interface Gauge<Labels extends LabelValues = NoLabels> {
  set(labels: Labels, value: number): void;
}

export interface MetricConfig<Labels extends LabelValues> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly (keyof Labels & string)[];
}

/** What a metrics registry offers (an adapter over prom-client's Registry in the node). */
export interface MetricsRegister {
  counter<Labels extends LabelValues = NoLabels>(config: MetricConfig<Labels>): Counter<Labels>;
  gauge<Labels extends LabelValues = NoLabels>(config: MetricConfig<Labels>): Gauge<Labels>;
}

export type PeerDirection = "inbound" | "outbound";

export function createNetMetrics(register: MetricsRegister) {
  return {
    /** Authenticated peers now, by who dialled. */
    peers: register.gauge<{ direction: PeerDirection }>({
      name: "cityledger_net_peers",
      help: "Connected, authenticated peers",
      labelNames: ["direction"],
    }),
    /** Connections that completed the handshake and were kept. */
    connections: register.counter<{ direction: PeerDirection }>({
      name: "cityledger_net_connections_total",
      help: "Connections established",
      labelNames: ["direction"],
    }),
    /** Handshakes that failed or were refused, by code. */
    handshakeFailures: register.counter<{ code: NetErrorCode }>({
      name: "cityledger_net_handshake_failures_total",
      help: "Handshakes failed or refused",
      labelNames: ["code"],
    }),
    /** Established connections that closed, by code. */
    disconnections: register.counter<{ code: NetErrorCode }>({
      name: "cityledger_net_disconnections_total",
      help: "Established connections closed",
      labelNames: ["code"],
    }),
    /** Application payload bytes sent (frames' payloads), by channel. */
    sentBytes: register.counter<{ channel: ChannelLabel }>({
      name: "cityledger_net_sent_bytes_total",
      help: "Payload bytes sent",
      labelNames: ["channel"],
    }),
    receivedBytes: register.counter<{ channel: ChannelLabel }>({
      name: "cityledger_net_received_bytes_total",
      help: "Payload bytes received",
      labelNames: ["channel"],
    }),
    sentMessages: register.counter<{ channel: ChannelLabel }>({
      name: "cityledger_net_sent_messages_total",
      help: "Messages fully sent",
      labelNames: ["channel"],
    }),
    receivedMessages: register.counter<{ channel: ChannelLabel }>({
      name: "cityledger_net_received_messages_total",
      help: "Messages received whole",
      labelNames: ["channel"],
    }),
    /** Messages never sent: a full queue, a peer that left or was never there, over the channel's limit. */
    droppedMessages: register.counter<{
      channel: ChannelLabel;
      reason: DropReason | "not_connected" | "oversized";
    }>({
      name: "cityledger_net_dropped_messages_total",
      help: "Messages dropped before sending",
      labelNames: ["channel", "reason"],
    }),
    penalties: register.counter<{ reason: PenaltyReason }>({
      name: "cityledger_net_penalties_total",
      help: "Penalties given to peers",
      labelNames: ["reason"],
    }),
    bans: register.counter({ name: "cityledger_net_bans_total", help: "Peers banned", labelNames: [] }),
    /** Bytes waiting in every peer's send queue (sampled each tick). */
    sendQueueBytes: register.gauge({
      name: "cityledger_net_send_queue_bytes",
      help: "Bytes queued to peers",
      labelNames: [],
    }),
  };
}

export type NetMetrics = ReturnType<typeof createNetMetrics>;

/** A structured logger (Lodestar's shape): a fixed message, context as data. */
export interface NetLogger {
  debug(message: string, context?: Readonly<Record<string, unknown>>): void;
  info(message: string, context?: Readonly<Record<string, unknown>>): void;
  warn(message: string, context?: Readonly<Record<string, unknown>>): void;
}

export const silentLogger: NetLogger = { debug() {}, info() {}, warn() {} };
