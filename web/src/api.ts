/**
 * The node the portal talks to: its own origin (the node serves the portal), or the Vite dev
 * server's, which forwards the API to a local node.
 */
import { CityLedgerClient } from "./sdk.ts";

export const client = new CityLedgerClient({ baseUrl: window.location.origin, retryAttempts: 2 });

/** ws:// or wss:// URL of the node's WebSocket, on the page's own origin. */
export function webSocketUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/v1/ws`;
}
