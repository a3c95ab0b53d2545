/**
 * The body of one signature worker thread (src/node/signature-pool.ts starts it). It answers
 * each batch of encoded transactions with one byte per transaction: 1 when the transaction
 * decodes and its signature verifies under the chain's suite, 0 otherwise. A 0 is not a verdict:
 * the main thread validates that transaction in full and gives the refusal its code.
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { assert } from "../base/assert.ts";
import { suiteByName } from "../crypto/index.ts";
import type { SuiteName } from "../crypto/suite.ts";
import { decodeTransaction, signingBytesOfEncoded } from "../ledger/transaction.ts";
import type { SignatureBatchReply, SignatureBatchRequest } from "./signature-pool.ts";

const port = parentPort;
assert(port !== null, "the signature worker runs in a worker thread");
const suite = suiteByName((workerData as { suite: SuiteName }).suite);
// An unknown suite ends the worker at once: the pool hears its exit and verifies on the main thread.
assert(suite !== undefined, "the signature worker knows the chain's suite");

function verifiedOne(encoded: Uint8Array): boolean {
  try {
    const transaction = decodeTransaction(encoded);
    if (transaction.suiteCode !== suite.code) return false;
    if (transaction.senderPublicKey.length !== suite.publicKeyBytes) return false;
    if (transaction.signature.length !== suite.signatureBytes) return false;
    return suite.verify(
      transaction.senderPublicKey,
      signingBytesOfEncoded(encoded, transaction.signature.length),
      transaction.signature,
    );
  } catch {
    // Undecodable: the main thread's validation names the reason.
    return false;
  }
}

port.on("message", (request: SignatureBatchRequest) => {
  const bytes = new Uint8Array(request.buffer);
  const count = request.offsets.length - 1;
  const verified = new Uint8Array(count);
  for (let index = 0; index < count; index++) {
    const start = request.offsets[index]!;
    const end = request.offsets[index + 1]!;
    verified[index] = verifiedOne(bytes.subarray(start, end)) ? 1 : 0;
  }
  const reply: SignatureBatchReply = { id: request.id, verified };
  port.postMessage(reply, [verified.buffer]);
});
