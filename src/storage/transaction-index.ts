/**
 * The index entries of a block's transactions (hash, sender key id, contract), computed from
 * their encodings, and the check readers apply to rows found through a compact sender index.
 * @module
 */
import { assert } from "../base/assert.ts";
import { equalBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { suiteByName, suiteNameOfCode } from "../crypto/index.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { decodeTransaction, hashEncodedTransaction, keyIdOf } from "../ledger/index.ts";
import { StoreError } from "./errors.ts";
import type { TransactionIndexEntry } from "./store.ts";

/** The key id of an encoded transaction's sender, or undefined when the bytes are not a transaction. */
export function senderKeyIdOfEncoded(encoded: Uint8Array): Uint8Array | undefined {
  try {
    const transaction = decodeTransaction(encoded);
    const suiteName = suiteNameOfCode(transaction.suiteCode);
    if (suiteName === null) return undefined;
    return keyIdOf(suiteByName(suiteName), transaction.senderPublicKey);
  } catch (error) {
    if (error instanceof CityLedgerError) return undefined;
    throw error;
  }
}

/** True when the row's transaction was sent by `senderKeyId` (rules out 8-byte prefix collisions). */
export function senderMatches(encoded: Uint8Array, senderKeyId: Uint8Array): boolean {
  const sender = senderKeyIdOfEncoded(encoded);
  return sender !== undefined && equalBytes(sender, senderKeyId);
}

/** The index entries of encoded transactions (decodes each one; the node has them at hand already). */
export function transactionIndexEntriesOf(
  transactions: readonly Uint8Array[],
  hash: HashFunction,
): TransactionIndexEntry[] {
  const entries: TransactionIndexEntry[] = [];
  for (let index = 0; index < transactions.length; index++) {
    const encoded = transactions[index]!;
    let transaction: ReturnType<typeof decodeTransaction>;
    try {
      transaction = decodeTransaction(encoded);
    } catch (error) {
      if (error instanceof CityLedgerError) {
        throw new StoreError("STORE_BATCH_INVALID", "a block transaction does not decode", { index });
      }
      throw error;
    }
    const suiteName = suiteNameOfCode(transaction.suiteCode);
    if (suiteName === null)
      throw new StoreError("STORE_BATCH_INVALID", "a transaction names no known suite", { index });
    entries.push({
      hash: hashEncodedTransaction(encoded, hash),
      senderKeyId: keyIdOf(suiteByName(suiteName), transaction.senderPublicKey),
      contract: transaction.contract,
    });
  }
  assert(entries.length === transactions.length, "one entry per transaction");
  return entries;
}
