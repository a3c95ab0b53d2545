/**
 * The one door from the portal to the CityLedger SDK (src/sdk, browser-safe: no `node:` module,
 * no native addon; test/tidy.test.ts walks its import graph). The portal imports nothing else
 * from src/ but the two pure helpers below.
 */

// A sender's next nonce is a state read: its key, and the stored value's decoder. Both modules are
// pure; nonce.ts names the state tree only in an `import type`, which the bundle drops.
export { decodeNonceValue } from "../../src/exec/nonce.ts";
export { nonceKeyOf } from "../../src/exec/state-keys.ts";
export * from "../../src/sdk/index.ts";
