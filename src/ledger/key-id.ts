import { PUBLIC_KEY_BYTES_MAX } from "../base/limits.ts";
import type { SignatureSuite } from "../crypto/suite.ts";
import { DOMAIN_TAGS, domainSeparated } from "../encoding/domain.ts";
import { Writer } from "../encoding/writer.ts";

export const KEY_ID_BYTES = 32;

/**
 * The 32-byte identifier of a public key: senders, validators and proposers are named by it.
 *   keyId = HASH(domain "cityledger/key-id/v1" || u8 suite code || u32 length || public key)
 */
export function keyIdOf(suite: SignatureSuite, publicKey: Uint8Array): Uint8Array {
  const body = new Writer(8 + publicKey.length)
    .u8(suite.code)
    .bytes(publicKey, PUBLIC_KEY_BYTES_MAX)
    .finish();
  return suite.hash(domainSeparated(DOMAIN_TAGS.keyId, body));
}
