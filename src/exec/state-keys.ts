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

/**
 * Keys already derived, by hash function, then by namespace and id: execution derives the same
 * few keys over and over (a counter's row, a signer's nonce and membership, a method's permission
 * rule), each a hash. Only speed depends on it; when full it starts over.
 */
const STATE_KEYS_REMEMBERED_MAX = 16_384;
const stateKeysRemembered = new WeakMap<HashFunction, Map<string, Uint8Array>>();

/** An exact Map key for (namespace, id): the id's bytes as code units 0..255 after a separator. */
function rememberedKeyOf(namespace: string, id: Uint8Array): string {
  assert(id.length <= STATE_KEY_ID_BYTES_MAX, "state key ids are bounded");
  return `${namespace}\u0000${String.fromCharCode.apply(null, id as unknown as number[])}`;
}

function rememberedOf(hash: HashFunction): Map<string, Uint8Array> {
  let remembered = stateKeysRemembered.get(hash);
  if (remembered === undefined) {
    remembered = new Map();
    stateKeysRemembered.set(hash, remembered);
  }
  return remembered;
}

export function stateKeyOf(hash: HashFunction, namespace: string, id: Uint8Array): Uint8Array {
  assert(!namespace.includes("\u0000"), "namespaces have no zero character (it separates the id)");
  const remembered = rememberedOf(hash);
  const rememberedKey = rememberedKeyOf(namespace, id);
  const known = remembered.get(rememberedKey);
  // A copy: callers own the key they get.
  if (known !== undefined) return known.slice();
  const key = stateKeyDerived(hash, namespace, id);
  if (remembered.size >= STATE_KEYS_REMEMBERED_MAX) remembered.clear();
  remembered.set(rememberedKey, key.slice());
  return key;
}

function stateKeyDerived(hash: HashFunction, namespace: string, id: Uint8Array): Uint8Array {
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
  // The namespace's checks ran when the key was first derived: a remembered key skips them.
  const remembered = rememberedOf(hash);
  const known = remembered.get(rememberedKeyOf(`contract/${contract}/${table}`, id));
  if (known !== undefined) return known.slice();
  return stateKeyOf(hash, contractNamespaceOf(contract, table), id);
}

/** The key of a sender's next nonce: id = the sender's 32-byte key id. */
export function nonceKeyOf(hash: HashFunction, senderKeyId: Uint8Array): Uint8Array {
  assert(senderKeyId.length === KEY_ID_BYTES, "key ids are 32 bytes");
  return stateKeyOf(hash, NONCE_NAMESPACE, senderKeyId);
}
