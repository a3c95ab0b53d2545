/**
 * State keys: every key of the state tree is 32 bytes, the hash of what it names.
 *
 *   key = HASH(u8 tagLength ‖ "cityledger/state-key/v1" ‖ string≤128 namespace ‖ bytes≤256 id)
 *
 * HASH is the chain suite's hash. The prefix is the same construction as every domain tag of
 * src/encoding/domain.ts; the tags of this module are listed in docs/PROTOCOL.md ("Execution").
 * Namespaces keep owners apart and cannot collide by construction:
 *
 *   account/nonce                   the executor's own: next nonce per sender key id
 *   contract/<contract>/<table>     a contract's tables; a contract reaches only its own
 *
 * Contract names never contain "/" (CONTRACT_NAME_PATTERN), so no contract namespace equals
 * another's or the executor's.
 * @module
 */
import { assert } from "../base/assert.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { Writer } from "../encoding/writer.ts";
import { KEY_ID_BYTES } from "../ledger/key-id.ts";
import { CONTRACT_NAME_PATTERN } from "../ledger/validate-transaction.ts";
import { CONTRACT_TABLE_BYTES_MAX, STATE_KEY_ID_BYTES_MAX, STATE_NAMESPACE_BYTES_MAX } from "./limits.ts";

export const STATE_KEY_BYTES = 32;

/** Domain tags of execution (same construction as src/encoding/domain.ts). */
export const EXEC_DOMAIN_TAGS = {
  /** State keys. */
  stateKey: "cityledger/state-key/v1",
  /** Hash of one transaction receipt. */
  receipt: "cityledger/receipt/v1",
} as const;

export type ExecDomainTag = (typeof EXEC_DOMAIN_TAGS)[keyof typeof EXEC_DOMAIN_TAGS];

/** Namespace of the executor's account nonces. */
export const NONCE_NAMESPACE = "account/nonce";
/**
 * Contract table names: lower-case identifiers. A leading "_" marks a table the executor or the
 * sandbox keeps for a contract (the ordered index of src/exec/table-index.ts), which a deployed
 * contract cannot name itself.
 */
export const CONTRACT_TABLE_PATTERN = /^(?:_[a-z][a-z0-9_-]{0,30}|[a-z][a-z0-9_-]{0,31})$/;

/** Writes `u8 tag length ‖ tag` into a new writer, ready for the body. */
export function execDomainWriter(tag: ExecDomainTag, capacityBytes = 256): Writer {
  assert(/^[a-z0-9/-]+$/.test(tag), "domain tags are lower-case ASCII");
  assert(tag.length < 256, "domain tags fit a one-byte length");
  const writer = new Writer(capacityBytes).u8(tag.length);
  for (let index = 0; index < tag.length; index++) writer.u8(tag.charCodeAt(index));
  return writer;
}

export function stateKeyOf(hash: HashFunction, namespace: string, id: Uint8Array): Uint8Array {
  assert(namespace.length > 0, "a state key has a namespace");
  assert(id.length <= STATE_KEY_ID_BYTES_MAX, "state key ids are bounded");
  const message = execDomainWriter(EXEC_DOMAIN_TAGS.stateKey)
    .string(namespace, STATE_NAMESPACE_BYTES_MAX)
    .bytes(id, STATE_KEY_ID_BYTES_MAX)
    .finish();
  const key = hash(message);
  assert(key.length === STATE_KEY_BYTES, "state keys are 32 bytes");
  return key;
}

/** The namespace of a contract's table: `contract/<contract>/<table>`. */
export function contractNamespaceOf(contract: string, table: string): string {
  assert(CONTRACT_NAME_PATTERN.test(contract), "contract names are checked before execution");
  assert(CONTRACT_TABLE_PATTERN.test(table), "contract table names are identifiers");
  assert(table.length <= CONTRACT_TABLE_BYTES_MAX);
  return `contract/${contract}/${table}`;
}

export function contractStateKeyOf(
  hash: HashFunction,
  contract: string,
  table: string,
  id: Uint8Array,
): Uint8Array {
  return stateKeyOf(hash, contractNamespaceOf(contract, table), id);
}

/** The key of a sender's next nonce: id = the sender's 32-byte key id. */
export function nonceKeyOf(hash: HashFunction, senderKeyId: Uint8Array): Uint8Array {
  assert(senderKeyId.length === KEY_ID_BYTES, "key ids are 32 bytes");
  return stateKeyOf(hash, NONCE_NAMESPACE, senderKeyId);
}
