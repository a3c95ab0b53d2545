/**
 * Transactions: the one thing a client signs. Layout (docs/PROTOCOL.md, "Transaction"):
 *
 *   u8  version (1)          u8  suite code           string chainId (≤ 64 B)
 *   bytes senderPublicKey (≤ 65 B)                    u64 nonce
 *   u64 expiryHeight         string contract (≤ 64 B)  string method (≤ 64 B)
 *   bytes args (≤ 48 KiB, one canonical value)         u32 count + 32-byte private references
 *   bytes signature (≤ 64 B)
 *
 * The sender signs domain("cityledger/tx-sign/v1") || every field before the signature.
 * The transaction hash is HASH(domain("cityledger/tx-hash/v1") || the whole encoding), the
 * id clients use and the leaf data of the transparency log.
 * @module
 */
import { assert } from "../base/assert.ts";
import {
  CHAIN_ID_BYTES_MAX,
  NAME_BYTES_MAX,
  PUBLIC_KEY_BYTES_MAX,
  SIGNATURE_BYTES_MAX,
  TX_ARGS_BYTES_MAX,
  TX_PRIVATE_REFERENCES_MAX,
  TX_SIZE_BYTES_MAX,
} from "../base/limits.ts";
import type { HashFunction, SignatureSuite } from "../crypto/suite.ts";
import { DOMAIN_TAGS, domainSeparated } from "../encoding/domain.ts";
import { DecodeError, EncodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { decodeValue, type Value, writeValue } from "../encoding/value.ts";
import { Writer } from "../encoding/writer.ts";

export const TRANSACTION_VERSION = 1;
export const PRIVATE_REFERENCE_BYTES = 32;

export interface TransactionBody {
  /** SUITE_CODES of the suite that signed it; must be the chain's. */
  readonly suiteCode: number;
  readonly chainId: string;
  readonly senderPublicKey: Uint8Array;
  /** Per-sender sequence number, starting at 0, strictly increasing by one. */
  readonly nonce: bigint;
  /** The last block height at which this transaction may still be included. */
  readonly expiryHeight: bigint;
  readonly contract: string;
  readonly method: string;
  readonly args: Value;
  /** Salted hash commitments of off-chain private data the transaction refers to. */
  readonly privateReferences: readonly Uint8Array[];
}

export interface Transaction extends TransactionBody {
  readonly signature: Uint8Array;
}

function writeBody(writer: Writer, body: TransactionBody): void {
  writer
    .u8(TRANSACTION_VERSION)
    .u8(body.suiteCode)
    .string(body.chainId, CHAIN_ID_BYTES_MAX)
    .bytes(body.senderPublicKey, PUBLIC_KEY_BYTES_MAX)
    .u64(body.nonce)
    .u64(body.expiryHeight)
    .string(body.contract, NAME_BYTES_MAX)
    .string(body.method, NAME_BYTES_MAX);
  const argsPosition = writer.beginLengthPrefixed();
  writeValue(writer, body.args);
  writer.endLengthPrefixed(argsPosition, TX_ARGS_BYTES_MAX);
  if (body.privateReferences.length > TX_PRIVATE_REFERENCES_MAX) {
    throw new EncodeError("ENCODE_TOO_LONG", "too many private references");
  }
  writer.u32(body.privateReferences.length);
  for (const reference of body.privateReferences) writer.fixedBytes(reference, PRIVATE_REFERENCE_BYTES);
}

/** The exact bytes the sender signs. */
export function transactionSigningBytes(body: TransactionBody): Uint8Array {
  const writer = new Writer(512);
  writeBody(writer, body);
  return domainSeparated(DOMAIN_TAGS.transactionSigning, writer.finish());
}

/**
 * The signing bytes of an already encoded transaction, without re-encoding: the signature is
 * the last field (u32 length + bytes), so the body is everything before it.
 */
export function signingBytesOfEncoded(encoded: Uint8Array, signatureSizeBytes: number): Uint8Array {
  const bodySizeBytes = encoded.length - 4 - signatureSizeBytes;
  assert(bodySizeBytes > 0, "an encoded transaction has a body before its signature");
  return domainSeparated(DOMAIN_TAGS.transactionSigning, encoded.subarray(0, bodySizeBytes));
}

export function encodeTransaction(transaction: Transaction): Uint8Array {
  const writer = new Writer(512);
  writeBody(writer, transaction);
  writer.bytes(transaction.signature, SIGNATURE_BYTES_MAX);
  const encoded = writer.finish();
  assert(encoded.length <= TX_SIZE_BYTES_MAX, "field limits keep a transaction within TX_SIZE_BYTES_MAX");
  return encoded;
}

/** Decodes one canonical transaction; anything else throws DecodeError. */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  if (bytes.length > TX_SIZE_BYTES_MAX) {
    throw new DecodeError("DECODE_TOO_LONG", "transaction exceeds the size limit", {
      sizeBytes: bytes.length,
      sizeBytesMax: TX_SIZE_BYTES_MAX,
    });
  }
  const reader = new Reader(bytes);
  const version = reader.u8("version");
  if (version !== TRANSACTION_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown transaction version", { version });
  }
  const suiteCode = reader.u8("suite");
  const chainId = reader.string(CHAIN_ID_BYTES_MAX, "chainId");
  const senderPublicKey = reader.bytesField(PUBLIC_KEY_BYTES_MAX, "senderPublicKey");
  const nonce = reader.u64("nonce");
  const expiryHeight = reader.u64("expiryHeight");
  const contract = reader.string(NAME_BYTES_MAX, "contract");
  const method = reader.string(NAME_BYTES_MAX, "method");
  const args = decodeValue(reader.bytesField(TX_ARGS_BYTES_MAX, "args"), TX_ARGS_BYTES_MAX);
  const referenceCount = reader.u32("privateReferences count");
  if (referenceCount > TX_PRIVATE_REFERENCES_MAX) {
    throw new DecodeError("DECODE_TOO_LONG", "too many private references", { referenceCount });
  }
  const privateReferences: Uint8Array[] = [];
  for (let index = 0; index < referenceCount; index++) {
    privateReferences.push(reader.fixedBytes(PRIVATE_REFERENCE_BYTES, "privateReference"));
  }
  const signature = reader.bytesField(SIGNATURE_BYTES_MAX, "signature");
  reader.end("transaction");
  return {
    suiteCode,
    chainId,
    senderPublicKey,
    nonce,
    expiryHeight,
    contract,
    method,
    args,
    privateReferences,
    signature,
  };
}

export function hashEncodedTransaction(encoded: Uint8Array, hash: HashFunction): Uint8Array {
  return hash(domainSeparated(DOMAIN_TAGS.transactionHash, encoded));
}

export function transactionHash(transaction: Transaction, hash: HashFunction): Uint8Array {
  return hashEncodedTransaction(encodeTransaction(transaction), hash);
}

export type UnsignedTransaction = Omit<
  TransactionBody,
  "suiteCode" | "senderPublicKey" | "privateReferences"
> & {
  readonly privateReferences?: readonly Uint8Array[];
};

/** Builds and signs a transaction with the sender's private key. */
export function signTransaction(
  suite: SignatureSuite,
  privateKey: Uint8Array,
  unsigned: UnsignedTransaction,
): Transaction {
  const body: TransactionBody = {
    ...unsigned,
    suiteCode: suite.code,
    senderPublicKey: suite.publicKeyOf(privateKey),
    privateReferences: unsigned.privateReferences ?? [],
  };
  const signature = suite.sign(privateKey, transactionSigningBytes(body));
  return { ...body, signature };
}
