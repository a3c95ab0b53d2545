/**
 * The benchmark's record: a notary anchor (a document hash with a title, a type and the
 * signer's identity), the same bytes for CityLedger and for the baselines, so every system
 * stores the same payload. Encoded it is ≈ 290 bytes.
 * @module
 */
import { bytesToHex } from "../src/base/bytes.ts";
import { ed25519Suite, type KeyPair } from "../src/crypto/index.ts";
import {
  encodeTransaction,
  hashEncodedTransaction,
  type TransactionBody,
  transactionSigningBytes,
} from "../src/ledger/index.ts";

export const RECORD_SUITE = ed25519Suite;
const encoder = new TextEncoder();

/** The unsigned body of notary record number `serial` from `senderPublicKey` at `nonce`. */
export function notaryRecordBody(
  chainId: string,
  senderPublicKey: Uint8Array,
  nonce: bigint,
  serial: string,
): TransactionBody {
  return {
    suiteCode: RECORD_SUITE.code,
    chainId,
    senderPublicKey,
    nonce,
    expiryHeight: 1_000_000_000n,
    contract: "notary",
    method: "anchor",
    args: {
      algorithm: "sha256",
      documentHash: RECORD_SUITE.hash(encoder.encode(`bench/${serial}`)),
      title: `benchmark document ${serial}`,
      documentType: "report",
    },
    privateReferences: [],
  };
}

export interface SignedRecord {
  readonly encoded: Uint8Array;
  readonly hashHex: string;
}

/** Signs one record and encodes it as the wire transaction. */
export function signNotaryRecord(body: TransactionBody, key: KeyPair): SignedRecord {
  const encoded = encodeTransaction({
    ...body,
    signature: RECORD_SUITE.sign(key.privateKey, transactionSigningBytes(body)),
  });
  return { encoded, hashHex: bytesToHex(hashEncodedTransaction(encoded, RECORD_SUITE.hash)) };
}

/** A fresh random sender key. */
export function freshSender(): KeyPair {
  const seed = new Uint8Array(32);
  crypto.getRandomValues(seed);
  return RECORD_SUITE.keyPairFromSeed(seed);
}
