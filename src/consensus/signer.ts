import type { SignatureSuite } from "../crypto/suite.ts";
import type { Signer } from "./types.ts";

/** A Signer over a suite and a private key held in this closure, not in consensus state. */
export function suiteSigner(suite: SignatureSuite, privateKey: Uint8Array): Signer {
  const key = privateKey.slice();
  const publicKey = suite.publicKeyOf(key);
  return {
    publicKey,
    sign: (message: Uint8Array) => suite.sign(key, message),
  };
}
