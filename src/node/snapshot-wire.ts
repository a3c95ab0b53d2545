/**
 * Messages of the snapshot-sync channel (channel 4; docs/PROTOCOL.md, "Snapshot sync messages"):
 * a joining node asks peers which snapshots they offer, then for a manifest, the log frontier and
 * chunks; a serving node answers or refuses. Every decoder is bounded before it allocates and
 * throws only DecodeError; the storage layer decodes the manifest and chunk bytes themselves.
 *
 *   u8 version (1) | u8 kind | body
 *   kind 1 offers request:   (empty)
 *   kind 2 offers:           u32 count (≤ SNAPSHOT_OFFERS_MAX) × offer
 *            offer = u64 height | bytes≤1024 header | commit certificate | bytes<32> manifestHash | u32 chunkCount
 *   kind 3 manifest request: u64 height | bytes<32> manifestHash
 *   kind 4 manifest:         u64 height | bytes<32> manifestHash | bytes≤SNAPSHOT_MANIFEST_BYTES_MAX manifest
 *   kind 5 chunk request:    u64 height | bytes<32> manifestHash | u32 chunkIndex
 *   kind 6 chunk:            u64 height | bytes<32> manifestHash | u32 chunkIndex | bytes≤SNAPSHOT_CHUNK_BYTES_MAX chunk
 *   kind 7 frontier request: u64 height | bytes<32> blockHash
 *   kind 8 frontier:         u64 height | bytes<32> blockHash | u64 logSize | u32 count (≤ 53) × bytes<32>
 *   kind 9 refused:          u8 request kind | u64 height | u32 chunkIndex | u8 reason
 * @module
 */
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { readCommitCertificate, writeCommitCertificate } from "../ledger/commit.ts";
import {
  type BlockHeader,
  type CommitCertificate,
  decodeBlockHeader,
  encodeBlockHeader,
} from "../ledger/index.ts";
import { SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_MANIFEST_BYTES_MAX } from "../storage/index.ts";
import {
  SNAPSHOT_FRONTIER_HASHES_MAX,
  SNAPSHOT_HEADER_BYTES_MAX,
  SNAPSHOT_OFFERS_MAX,
} from "./snapshot-limits.ts";

export const SNAPSHOT_WIRE_VERSION = 1;
const HASH_BYTES = 32;

export const SNAPSHOT_MESSAGE_KIND = {
  offersRequest: 1,
  offers: 2,
  manifestRequest: 3,
  manifest: 4,
  chunkRequest: 5,
  chunk: 6,
  frontierRequest: 7,
  frontier: 8,
  refused: 9,
} as const;

/** Kinds a joining node sends (and a serving node answers). */
export type SnapshotRequestKind = "offersRequest" | "manifestRequest" | "chunkRequest" | "frontierRequest";

/** Why a server refused a request: it holds no such snapshot, it is busy, or the peer asks too fast. */
export const SNAPSHOT_REFUSAL = { unknown: 1, busy: 2, rateLimited: 3 } as const;
export type SnapshotRefusal = keyof typeof SNAPSHOT_REFUSAL;

/** A snapshot a peer serves, named by its manifest's hash, with the certified header it belongs to. */
export interface SnapshotOffer {
  readonly height: bigint;
  readonly header: BlockHeader;
  readonly certificate: CommitCertificate;
  readonly manifestHash: Uint8Array;
  readonly chunkCount: number;
}

export type SnapshotWireMessage =
  | { readonly kind: "offersRequest" }
  | { readonly kind: "offers"; readonly offers: readonly SnapshotOffer[] }
  | { readonly kind: "manifestRequest"; readonly height: bigint; readonly manifestHash: Uint8Array }
  | {
      readonly kind: "manifest";
      readonly height: bigint;
      readonly manifestHash: Uint8Array;
      readonly manifest: Uint8Array;
    }
  | {
      readonly kind: "chunkRequest";
      readonly height: bigint;
      readonly manifestHash: Uint8Array;
      readonly chunkIndex: number;
    }
  | {
      readonly kind: "chunk";
      readonly height: bigint;
      readonly manifestHash: Uint8Array;
      readonly chunkIndex: number;
      readonly chunk: Uint8Array;
    }
  | { readonly kind: "frontierRequest"; readonly height: bigint; readonly blockHash: Uint8Array }
  | {
      readonly kind: "frontier";
      readonly height: bigint;
      readonly blockHash: Uint8Array;
      readonly logSize: bigint;
      readonly hashes: readonly Uint8Array[];
    }
  | {
      readonly kind: "refused";
      readonly request: SnapshotRequestKind;
      readonly height: bigint;
      readonly chunkIndex: number;
      readonly reason: SnapshotRefusal;
    };

const REQUEST_KINDS: readonly SnapshotRequestKind[] = [
  "offersRequest",
  "manifestRequest",
  "chunkRequest",
  "frontierRequest",
];

export function encodeSnapshotMessage(message: SnapshotWireMessage): Uint8Array {
  const writer = new Writer(sizeHintOf(message))
    .u8(SNAPSHOT_WIRE_VERSION)
    .u8(SNAPSHOT_MESSAGE_KIND[message.kind]);
  switch (message.kind) {
    case "offersRequest":
      break;
    case "offers":
      writer.u32(message.offers.length);
      for (const offer of message.offers) {
        writer.u64(offer.height).bytes(encodeBlockHeader(offer.header), SNAPSHOT_HEADER_BYTES_MAX);
        writeCommitCertificate(writer, offer.certificate);
        writer.fixedBytes(offer.manifestHash, HASH_BYTES).u32(offer.chunkCount);
      }
      break;
    case "manifestRequest":
      writer.u64(message.height).fixedBytes(message.manifestHash, HASH_BYTES);
      break;
    case "manifest":
      writer.u64(message.height).fixedBytes(message.manifestHash, HASH_BYTES);
      writer.bytes(message.manifest, SNAPSHOT_MANIFEST_BYTES_MAX);
      break;
    case "chunkRequest":
      writer.u64(message.height).fixedBytes(message.manifestHash, HASH_BYTES).u32(message.chunkIndex);
      break;
    case "chunk":
      writer.u64(message.height).fixedBytes(message.manifestHash, HASH_BYTES).u32(message.chunkIndex);
      writer.bytes(message.chunk, SNAPSHOT_CHUNK_BYTES_MAX);
      break;
    case "frontierRequest":
      writer.u64(message.height).fixedBytes(message.blockHash, HASH_BYTES);
      break;
    case "frontier":
      writer.u64(message.height).fixedBytes(message.blockHash, HASH_BYTES).u64(message.logSize);
      writer.u32(message.hashes.length);
      for (const hash of message.hashes) writer.fixedBytes(hash, HASH_BYTES);
      break;
    case "refused":
      writer.u8(SNAPSHOT_MESSAGE_KIND[message.request]).u64(message.height).u32(message.chunkIndex);
      writer.u8(SNAPSHOT_REFUSAL[message.reason]);
      break;
  }
  return writer.finish();
}

function sizeHintOf(message: SnapshotWireMessage): number {
  if (message.kind === "manifest") return message.manifest.length + 128;
  if (message.kind === "chunk") return message.chunk.length + 128;
  if (message.kind === "offers") return 256 + message.offers.length * 10_000;
  return 256;
}

export function decodeSnapshotMessage(bytes: Uint8Array): SnapshotWireMessage {
  const reader = new Reader(bytes);
  const version = reader.u8("snapshot message version");
  if (version !== SNAPSHOT_WIRE_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown snapshot message version", { version });
  }
  const kind = reader.u8("snapshot message kind");
  const message = decodeBody(reader, kind);
  reader.end("snapshot message");
  return message;
}

function decodeBody(reader: Reader, kind: number): SnapshotWireMessage {
  switch (kind) {
    case SNAPSHOT_MESSAGE_KIND.offersRequest:
      return { kind: "offersRequest" };
    case SNAPSHOT_MESSAGE_KIND.offers: {
      const count = reader.u32("offer count");
      if (count > SNAPSHOT_OFFERS_MAX) {
        throw new DecodeError(
          "DECODE_TOO_LONG",
          "an offers message holds at most SNAPSHOT_OFFERS_MAX offers",
        );
      }
      const offers: SnapshotOffer[] = [];
      for (let index = 0; index < count; index++) {
        const height = reader.u64("offer height");
        const header = decodeBlockHeader(reader.bytesField(SNAPSHOT_HEADER_BYTES_MAX, "offer header"));
        const certificate = readCommitCertificate(reader);
        const manifestHash = reader.fixedBytes(HASH_BYTES, "manifest hash");
        const chunkCount = reader.u32("chunk count");
        offers.push({ height, header, certificate, manifestHash, chunkCount });
      }
      return { kind: "offers", offers };
    }
    case SNAPSHOT_MESSAGE_KIND.manifestRequest:
      return {
        kind: "manifestRequest",
        height: reader.u64("height"),
        manifestHash: reader.fixedBytes(HASH_BYTES, "manifest hash"),
      };
    case SNAPSHOT_MESSAGE_KIND.manifest:
      return {
        kind: "manifest",
        height: reader.u64("height"),
        manifestHash: reader.fixedBytes(HASH_BYTES, "manifest hash"),
        manifest: reader.bytesField(SNAPSHOT_MANIFEST_BYTES_MAX, "manifest"),
      };
    case SNAPSHOT_MESSAGE_KIND.chunkRequest:
      return {
        kind: "chunkRequest",
        height: reader.u64("height"),
        manifestHash: reader.fixedBytes(HASH_BYTES, "manifest hash"),
        chunkIndex: reader.u32("chunk index"),
      };
    case SNAPSHOT_MESSAGE_KIND.chunk:
      return {
        kind: "chunk",
        height: reader.u64("height"),
        manifestHash: reader.fixedBytes(HASH_BYTES, "manifest hash"),
        chunkIndex: reader.u32("chunk index"),
        chunk: reader.bytesField(SNAPSHOT_CHUNK_BYTES_MAX, "chunk"),
      };
    case SNAPSHOT_MESSAGE_KIND.frontierRequest:
      return {
        kind: "frontierRequest",
        height: reader.u64("height"),
        blockHash: reader.fixedBytes(HASH_BYTES, "block hash"),
      };
    case SNAPSHOT_MESSAGE_KIND.frontier: {
      const height = reader.u64("height");
      const blockHash = reader.fixedBytes(HASH_BYTES, "block hash");
      const logSize = reader.u64("log size");
      const count = reader.u32("frontier count");
      if (count > SNAPSHOT_FRONTIER_HASHES_MAX) {
        throw new DecodeError("DECODE_TOO_LONG", "a frontier holds at most one hash per log level");
      }
      const hashes: Uint8Array[] = [];
      for (let index = 0; index < count; index++) hashes.push(reader.fixedBytes(HASH_BYTES, "frontier hash"));
      return { kind: "frontier", height, blockHash, logSize, hashes };
    }
    case SNAPSHOT_MESSAGE_KIND.refused: {
      const requestKind = reader.u8("refused request kind");
      const request = REQUEST_KINDS.find((name) => SNAPSHOT_MESSAGE_KIND[name] === requestKind);
      if (request === undefined) {
        throw new DecodeError("DECODE_UNKNOWN_TAG", "a refusal names no request kind", { requestKind });
      }
      const height = reader.u64("height");
      const chunkIndex = reader.u32("chunk index");
      const reasonCode = reader.u8("refusal reason");
      const reason = (Object.keys(SNAPSHOT_REFUSAL) as SnapshotRefusal[]).find(
        (name) => SNAPSHOT_REFUSAL[name] === reasonCode,
      );
      if (reason === undefined) {
        throw new DecodeError("DECODE_UNKNOWN_TAG", "unknown refusal reason", { reason: reasonCode });
      }
      return { kind: "refused", request, height, chunkIndex, reason };
    }
    default:
      throw new DecodeError("DECODE_UNKNOWN_TAG", "unknown snapshot message kind", { kind });
  }
}
