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

/** Paths of the node's OpenAPI document: which optional sections this node's API offers. */
export async function apiPaths(): Promise<ReadonlySet<string>> {
  const response = await fetch("/openapi.json", { headers: { accept: "application/json" } });
  if (!response.ok) return new Set();
  const document: unknown = await response.json();
  if (typeof document !== "object" || document === null || !("paths" in document)) return new Set();
  const paths = (document as { paths: unknown }).paths;
  return new Set(typeof paths === "object" && paths !== null ? Object.keys(paths) : []);
}
