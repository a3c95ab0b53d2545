/**
 * The `sm2-sm3` signature suite for the node: the shared implementation in
 * ./portable/sm2-sm3-suite.ts over the node's SM3 (./sm3.ts, OpenSSL for large messages).
 * Keys, signatures and digests are identical to sm2Sm3PortableSuite's.
 * @module
 */
import { createSm2Sm3Suite } from "./portable/sm2-sm3-suite.ts";
import { sm3 } from "./sm3.ts";
import type { SignatureSuite } from "./suite.ts";

export const sm2Sm3Suite: SignatureSuite = createSm2Sm3Suite(sm3);
