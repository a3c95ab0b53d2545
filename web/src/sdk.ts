/**
 * The one door from the portal to the CityLedger SDK (src/sdk, browser-safe: no `node:` module,
 * no native addon; test/tidy.test.ts walks its import graph). The portal imports nothing else
 * from src/ but the pure helpers below.
 */

// A sender's next nonce is a state read: its key, and the stored value's decoder. Both modules are
// pure; nonce.ts names the state tree only in an `import type`, which the bundle drops.
export { decodeNonceValue } from "../../src/exec/nonce.ts";
// A receipt's execution receipt (status, error code, gas, events), which verifyReceipt already
// decodes: the portal shows what it proves.
export { decodeReceipt as decodeExecutionReceipt } from "../../src/exec/receipt.ts";
export { nonceKeyOf } from "../../src/exec/state-keys.ts";
// The governance proposal kinds (a list without imports), so the portal names exactly those.
export { PROPOSAL_KINDS } from "../../src/exec/system/proposal-kinds.ts";
// The bytes a precommit signs, so the portal can check certificate signatures ahead with WebCrypto.
export { VOTE_TYPE, voteSigningBytes } from "../../src/ledger/commit.ts";
export * from "../../src/sdk/index.ts";
