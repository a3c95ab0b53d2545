/**
 * Live chain updates over the node's WebSocket (/v1/ws, docs/API.md): one socket for the whole
 * portal, subscribed to blocks and events, reconnecting with a growing delay. Pages read it with
 * useLiveChain(); it keeps the last LIVE_BLOCKS_MAX block notices and LIVE_EVENTS_MAX events.
 */
import { useSyncExternalStore } from "react";
import { webSocketUrl } from "./api.ts";
import type { BlockNoticeJson, EventJson, WsServerMessageJson } from "./sdk.ts";

export const LIVE_BLOCKS_MAX = 50;
export const LIVE_EVENTS_MAX = 50;
const RECONNECT_DELAY_MS_MIN = 1_000;
const RECONNECT_DELAY_MS_MAX = 30_000;

export type LiveConnection = "connecting" | "live" | "offline";

export interface LiveChain {
  readonly connection: LiveConnection;
  /** Newest first. */
  readonly blocks: readonly BlockNoticeJson[];
  /** Newest first. */
  readonly events: readonly EventJson[];
}

let state: LiveChain = { connection: "connecting", blocks: [], events: [] };
const listeners = new Set<() => void>();
let socket: WebSocket | null = null;
let reconnectDelayMs = RECONNECT_DELAY_MS_MIN;

function update(next: Partial<LiveChain>): void {
  state = { ...state, ...next };
  for (const listener of listeners) listener();
}

function onMessage(text: string): void {
  let message: WsServerMessageJson;
  try {
    message = JSON.parse(text) as WsServerMessageJson;
  } catch {
    return; // The node sends JSON only; anything else is ignored rather than trusted.
  }
  if (message.type === "block") {
    if (state.blocks[0] !== undefined && BigInt(message.block.height) <= BigInt(state.blocks[0].height))
      return;
    update({ blocks: [message.block, ...state.blocks].slice(0, LIVE_BLOCKS_MAX) });
  } else if (message.type === "events") {
    update({ events: [...[...message.events].reverse(), ...state.events].slice(0, LIVE_EVENTS_MAX) });
  }
}

function connect(): void {
  update({ connection: "connecting" });
  const opened = new WebSocket(webSocketUrl());
  socket = opened;
  opened.addEventListener("open", () => {
    reconnectDelayMs = RECONNECT_DELAY_MS_MIN;
    opened.send(JSON.stringify({ subscribe: "blocks" }));
    opened.send(JSON.stringify({ subscribe: "events" }));
    update({ connection: "live" });
  });
  opened.addEventListener("message", (event) => {
    if (typeof event.data === "string") onMessage(event.data);
  });
  opened.addEventListener("close", () => {
    if (socket !== opened) return;
    socket = null;
    update({ connection: "offline" });
    window.setTimeout(connect, reconnectDelayMs);
    reconnectDelayMs = Math.min(reconnectDelayMs * 2, RECONNECT_DELAY_MS_MAX);
  });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (socket === null && state.connection !== "offline") connect();
  return () => listeners.delete(listener);
}

export function useLiveChain(): LiveChain {
  return useSyncExternalStore(subscribe, () => state);
}
