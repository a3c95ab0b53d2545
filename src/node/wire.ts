/**
 * What nodes say to each other inside the peer transport's frames (docs/PROTOCOL.md, "Peer
 * messages"): consensus messages, height announcements, decided blocks for a node that lags,
 * and gossiped transactions. Every decoder is bounded and throws only DecodeError.
 *
 *   u8 version (1) | u8 kind | body
 *   kind 1 consensus:    bytes consensus message (src/consensus/messages.ts)
 *   kind 2 status:       u64 height the sender works on
 *   kind 3 commit:       u64 height | 32-byte value hash | bytes proposed block | commit certificate
 *   kind 4 transactions: u32 count (1..PEER_TRANSACTIONS_MAX) | bytes transaction, each
 * @module
 */
import { TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import {
  type ConsensusMessage,
  type ConsensusValue,
  decodeConsensusMessage,
  encodeConsensusMessage,
  VALUE_BYTES_MAX,
} from "../consensus/index.ts";
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { type CommitCertificate, readCommitCertificate, writeCommitCertificate } from "../ledger/commit.ts";

export const PEER_WIRE_VERSION = 1;
/** Transactions in one gossip message. */
export const PEER_TRANSACTIONS_MAX = 1_000;
const KIND = { consensus: 1, status: 2, commit: 3, transactions: 4 } as const;

export type PeerWireMessage =
  | { readonly kind: "consensus"; readonly message: ConsensusMessage }
  | { readonly kind: "status"; readonly height: bigint }
  | {
      readonly kind: "commit";
      readonly height: bigint;
      readonly value: ConsensusValue;
      readonly certificate: CommitCertificate;
    }
  | { readonly kind: "transactions"; readonly transactions: readonly Uint8Array[] };

export function encodePeerMessage(message: PeerWireMessage): Uint8Array {
  switch (message.kind) {
    case "consensus": {
      const inner = encodeConsensusMessage(message.message);
      return new Writer(inner.length + 16)
        .u8(PEER_WIRE_VERSION)
        .u8(KIND.consensus)
        .bytes(inner, VALUE_BYTES_MAX + 256)
        .finish();
    }
    case "status":
      return new Writer(16).u8(PEER_WIRE_VERSION).u8(KIND.status).u64(message.height).finish();
    case "commit": {
      const writer = new Writer(message.value.bytes.length + 4096)
        .u8(PEER_WIRE_VERSION)
        .u8(KIND.commit)
        .u64(message.height)
        .fixedBytes(message.value.hash, 32)
        .bytes(message.value.bytes, VALUE_BYTES_MAX);
      writeCommitCertificate(writer, message.certificate);
      return writer.finish();
    }
    case "transactions": {
      let sizeBytes = 16;
      for (const transaction of message.transactions) sizeBytes += transaction.length + 4;
      const writer = new Writer(sizeBytes).u8(PEER_WIRE_VERSION).u8(KIND.transactions);
      writer.u32(message.transactions.length);
      for (const transaction of message.transactions) writer.bytes(transaction, TX_SIZE_BYTES_MAX);
      return writer.finish();
    }
  }
}

export function decodePeerMessage(bytes: Uint8Array): PeerWireMessage {
  const reader = new Reader(bytes);
  const version = reader.u8("peer message version");
  if (version !== PEER_WIRE_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown peer message version", { version });
  }
  const kind = reader.u8("peer message kind");
  let message: PeerWireMessage;
  if (kind === KIND.consensus) {
    message = {
      kind: "consensus",
      message: decodeConsensusMessage(reader.bytesField(VALUE_BYTES_MAX + 256)),
    };
  } else if (kind === KIND.status) {
    message = { kind: "status", height: reader.u64("height") };
  } else if (kind === KIND.commit) {
    const height = reader.u64("height");
    const hash = reader.fixedBytes(32, "value hash");
    const valueBytes = reader.bytesField(VALUE_BYTES_MAX, "proposed block");
    const certificate = readCommitCertificate(reader);
    message = { kind: "commit", height, value: { hash, bytes: valueBytes }, certificate };
  } else if (kind === KIND.transactions) {
    const count = reader.u32("transaction count");
    if (count === 0 || count > PEER_TRANSACTIONS_MAX) {
      throw new DecodeError(
        "DECODE_TOO_LONG",
        "a gossip message holds 1 to PEER_TRANSACTIONS_MAX transactions",
      );
    }
    const transactions: Uint8Array[] = [];
    for (let index = 0; index < count; index++)
      transactions.push(reader.bytesField(TX_SIZE_BYTES_MAX, "transaction"));
    message = { kind: "transactions", transactions };
  } else {
    throw new DecodeError("DECODE_UNKNOWN_TAG", "unknown peer message kind", { kind });
  }
  reader.end("peer message");
  return message;
}
