/**
 * A receipt small enough for one QR code. The JSON receipt repeats itself (the header and the
 * certificate appear decoded and encoded, the hash is the transaction's hash, the chain id and
 * log size are in the header), so the QR payload carries each fact once, as base64:
 *
 *   {"f": "cityledger/receipt-qr/v1", "t": transaction, "i": indexInBlock, "l": logIndex,
 *    "p": inclusion proof hashes concatenated, "h": encoded header, "c": encoded certificate,
 *    "v": encoded validator set, "r": [ok, errorCode, errorMessage]}
 *
 * and the scanner rebuilds the full receipt from it. Nothing is trusted: the rebuilt receipt is
 * verified like any other.
 */
import {
  decodeBlockHeader,
  decodeCommitCertificate,
  decodeValidatorSet,
  encodeValidatorSet,
  hashEncodedTransaction,
  portableSuiteByName,
  type ReceiptJson,
  receiptFromJson,
  receiptToJson,
} from "./sdk.ts";

export const RECEIPT_QR_FORMAT = "cityledger/receipt-qr/v1";
/** Bytes one QR code holds at error correction level L (version 40, byte mode). */
export const QR_PAYLOAD_BYTES_MAX = 2_953;
const HASH_BYTES = 32;

interface ReceiptQrPayload {
  readonly f: typeof RECEIPT_QR_FORMAT;
  readonly t: string;
  readonly i: number;
  readonly l: number;
  readonly p: string;
  readonly h: string;
  readonly c: string;
  readonly v: string;
  readonly r: readonly [boolean, string | null, string | null];
}

export class ReceiptQrError extends Error {
  override name = "ReceiptQrError";
  readonly code = "RECEIPT_QR_INVALID";
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: unknown, field: string): Uint8Array {
  if (typeof text !== "string") throw new ReceiptQrError(`${field} is missing`);
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new ReceiptQrError(`${field} is not base64`);
  }
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** The QR payload of a receipt (JSON text). */
export function receiptQrPayloadOf(json: ReceiptJson): string {
  const receipt = receiptFromJson(json);
  const proof = new Uint8Array(receipt.inclusionProof.length * HASH_BYTES);
  for (const [index, hash] of receipt.inclusionProof.entries()) proof.set(hash, index * HASH_BYTES);
  const payload: ReceiptQrPayload = {
    f: RECEIPT_QR_FORMAT,
    t: toBase64(receipt.transaction),
    i: receipt.indexInBlock,
    l: receipt.logIndex,
    p: toBase64(proof),
    h: toBase64(receipt.encodedHeader),
    c: toBase64(receipt.encodedCertificate),
    v: toBase64(encodeValidatorSet(receipt.validatorSet)),
    r: [receipt.result.ok, receipt.result.errorCode, receipt.result.errorMessage],
  };
  return JSON.stringify(payload);
}

export function isReceiptQrPayload(text: string): boolean {
  return text.includes(RECEIPT_QR_FORMAT);
}

/** Rebuilds the receipt's JSON form from a QR payload; throws ReceiptQrError or a decode error. */
export function receiptJsonOfQrPayload(text: string): ReceiptJson {
  let payload: Partial<ReceiptQrPayload>;
  try {
    payload = JSON.parse(text) as Partial<ReceiptQrPayload>;
  } catch {
    throw new ReceiptQrError("the QR payload is not JSON");
  }
  if (payload.f !== RECEIPT_QR_FORMAT) throw new ReceiptQrError("not a CityLedger receipt QR code");
  if (!Number.isSafeInteger(payload.i) || !Number.isSafeInteger(payload.l)) {
    throw new ReceiptQrError("the indexes are missing");
  }
  if (!Array.isArray(payload.r) || payload.r.length !== 3) throw new ReceiptQrError("the result is missing");
  const transaction = fromBase64(payload.t, "t");
  const proofBytes = fromBase64(payload.p, "p");
  if (proofBytes.length % HASH_BYTES !== 0) throw new ReceiptQrError("the proof is not whole hashes");
  const encodedHeader = fromBase64(payload.h, "h");
  const encodedCertificate = fromBase64(payload.c, "c");
  const header = decodeBlockHeader(encodedHeader);
  const certificate = decodeCommitCertificate(encodedCertificate);
  const validatorSet = decodeValidatorSet(fromBase64(payload.v, "v"));
  const suite = portableSuiteByName(validatorSet.suite);
  const inclusionProof: Uint8Array[] = [];
  for (let offset = 0; offset < proofBytes.length; offset += HASH_BYTES) {
    inclusionProof.push(proofBytes.slice(offset, offset + HASH_BYTES));
  }
  const [ok, errorCode, errorMessage] = payload.r;
  return receiptToJson({
    chainId: header.chainId,
    transaction,
    hash: hashEncodedTransaction(transaction, suite.hash),
    height: header.height,
    indexInBlock: payload.i as number,
    logIndex: payload.l as number,
    logSize: header.logSize,
    inclusionProof,
    header,
    encodedHeader,
    certificate,
    encodedCertificate,
    validatorSet,
    result: { ok: ok === true, errorCode: errorCode ?? null, errorMessage: errorMessage ?? null },
    // The compact QR form carries inclusion only; the full JSON receipt also proves the outcome.
    execution: null,
  });
}
