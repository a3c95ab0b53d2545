/**
 * Admission checks for a transaction, cheapest first, signature last. Every refusal is a
 * TransactionError with a stable code; nothing here throws anything else on any input.
 * @module
 */
import { fail, ok, type Result } from "../base/errors.ts";
import { TX_NONCE_AHEAD_MAX, TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import { type SignatureSuite, suiteNameOfCode } from "../crypto/suite.ts";
import { DecodeError } from "../encoding/errors.ts";
import { TransactionError } from "./errors.ts";
import { keyIdOf } from "./key-id.ts";
import {
  decodeTransaction,
  hashEncodedTransaction,
  signingBytesOfEncoded,
  type Transaction,
} from "./transaction.ts";

/** Chain ids: lower-case letters, digits and dashes. */
export const CHAIN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Contract names: lower-case, digits, dots, dashes (e.g. `notary`, `city.permits`). */
export const CONTRACT_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Method names: identifiers. */
export const METHOD_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface TransactionContext {
  readonly chainId: string;
  readonly suite: SignatureSuite;
  /** Height of the block the transaction would go into. */
  readonly height: bigint;
  /** The next nonce the chain expects from this sender (0 for a new sender). */
  readonly nonceNextOf: (senderKeyId: Uint8Array) => bigint;
  /** Defaults to TX_NONCE_AHEAD_MAX. */
  readonly nonceAheadMax?: bigint;
  /** True when the signature was already verified for these exact bytes (e.g. at admission). */
  readonly signatureVerified?: boolean;
}

export interface ValidTransaction {
  readonly transaction: Transaction;
  readonly encoded: Uint8Array;
  readonly hash: Uint8Array;
  readonly senderKeyId: Uint8Array;
}

function refuse(
  code: TransactionError["code"],
  message: string,
  details: Record<string, string | number | bigint | boolean> = {},
): { ok: false; error: TransactionError } {
  return fail(new TransactionError(code, message, details));
}

export function validateTransaction(
  encoded: Uint8Array,
  context: TransactionContext,
): Result<ValidTransaction, TransactionError> {
  if (!(encoded instanceof Uint8Array)) return refuse("TX_MALFORMED", "a transaction must be bytes");
  if (encoded.length > TX_SIZE_BYTES_MAX) {
    return refuse("TX_OVERSIZED", `the transaction is larger than ${TX_SIZE_BYTES_MAX} bytes`, {
      sizeBytes: encoded.length,
      sizeBytesMax: TX_SIZE_BYTES_MAX,
    });
  }
  let transaction: Transaction;
  try {
    transaction = decodeTransaction(encoded);
  } catch (error) {
    if (error instanceof DecodeError) {
      return refuse("TX_MALFORMED", `the transaction is malformed: ${error.message}`, {
        decodeCode: error.code,
      });
    }
    throw error;
  }
  if (suiteNameOfCode(transaction.suiteCode) === null) {
    return refuse("TX_UNKNOWN_SUITE", "the transaction names a signature suite this software does not know", {
      suiteCode: transaction.suiteCode,
    });
  }
  if (transaction.suiteCode !== context.suite.code) {
    return refuse("TX_WRONG_SUITE", `this chain signs with ${context.suite.name} only`, {
      suiteCode: transaction.suiteCode,
    });
  }
  if (transaction.chainId !== context.chainId) {
    return refuse("TX_WRONG_CHAIN", "the transaction is for another chain", { chainId: transaction.chainId });
  }
  if (!CONTRACT_NAME_PATTERN.test(transaction.contract)) {
    return refuse("TX_MALFORMED", "the contract name is not valid");
  }
  if (!METHOD_NAME_PATTERN.test(transaction.method)) {
    return refuse("TX_MALFORMED", "the method name is not valid");
  }
  if (
    transaction.senderPublicKey.length !== context.suite.publicKeyBytes ||
    transaction.signature.length !== context.suite.signatureBytes
  ) {
    return refuse("TX_MALFORMED", "the sender key or the signature has the wrong length for this suite");
  }
  if (transaction.expiryHeight < context.height) {
    return refuse("TX_EXPIRED", "the transaction expired before it could be included", {
      expiryHeight: transaction.expiryHeight,
      height: context.height,
    });
  }
  const senderKeyId = keyIdOf(context.suite, transaction.senderPublicKey);
  const nonceNext = context.nonceNextOf(senderKeyId);
  if (transaction.nonce < nonceNext) {
    return refuse("TX_NONCE_TOO_LOW", "the nonce was already used (a replay or a duplicate)", {
      nonce: transaction.nonce,
      nonceNext,
    });
  }
  const nonceAheadMax = context.nonceAheadMax ?? TX_NONCE_AHEAD_MAX;
  if (transaction.nonce > nonceNext + nonceAheadMax) {
    return refuse("TX_NONCE_TOO_FAR_AHEAD", "the nonce is too far ahead of the sender's next nonce", {
      nonce: transaction.nonce,
      nonceNext,
      nonceAheadMax,
    });
  }
  if (
    context.signatureVerified !== true &&
    !context.suite.verify(
      transaction.senderPublicKey,
      signingBytesOfEncoded(encoded, transaction.signature.length),
      transaction.signature,
    )
  ) {
    return refuse("TX_BAD_SIGNATURE", "the signature does not match the transaction and its sender");
  }
  return ok({ transaction, encoded, hash: hashEncodedTransaction(encoded, context.suite.hash), senderKeyId });
}
