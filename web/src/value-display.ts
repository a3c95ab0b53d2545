/** Canonical values (src/encoding) as readable JSON: integers as digits, bytes as hex. */
import { bytesToHex, type Value } from "./sdk.ts";

function plain(value: Value): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `0x${bytesToHex(value)}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = plain(item as Value);
    return out;
  }
  return value;
}

export function valueToDisplay(value: Value): string {
  return JSON.stringify(plain(value), null, 2);
}
