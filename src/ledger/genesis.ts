/**
 * The genesis document: what every node of a chain agrees on before block 1 (docs/PROTOCOL.md,
 * "Genesis"). Its hash is block 1's previousBlockHash, so a chain is anchored to one document.
 *
 * Encoding: u8 version (2) | string chainId | u8 suite code | u64 genesisTimeMs |
 *   validator set encoding (unprefixed) | u32 node count | per node: string name, 32-byte Ed25519 node key |
 *   bytes≤1 MiB initialState (a canonical value: a map keyed by native contract name)
 * genesisHash = HASH(domain("cityledger/genesis/v1") || encoding)
 *
 * Nodes are the peers admitted to the network (their transport keys, always Ed25519); the
 * validators sign blocks with the chain's suite. A node that validates appears in both.
 * @module
 */
import { assert } from "../base/assert.ts";
import { compareBytes } from "../base/bytes.ts";
import { CHAIN_ID_BYTES_MAX } from "../base/limits.ts";
import { type SignatureSuite, SUITE_CODES } from "../crypto/suite.ts";
import { DOMAIN_TAGS, domainSeparated } from "../encoding/domain.ts";
import { encodeValue, type ValueMap } from "../encoding/value.ts";
import { Writer } from "../encoding/writer.ts";
import { LedgerError } from "./errors.ts";
import { CHAIN_ID_PATTERN } from "./validate-transaction.ts";
import { checkValidatorSet, encodeValidatorSet, type ValidatorSet } from "./validator-set.ts";

export const GENESIS_VERSION = 2;
/** The encoded initial state (organizations, members, committee, permissions, parameters). */
export const GENESIS_INITIAL_STATE_BYTES_MAX = 1024 * 1024;
/** Peers a genesis document admits (a city's departments, districts and agencies). */
export const GENESIS_NODES_MAX = 256;
export const NODE_NAME_BYTES_MAX = 64;
export const NODE_KEY_BYTES = 32;

export interface GenesisNode {
  readonly name: string;
  /** Ed25519 public key that authenticates the node on the peer network. */
  readonly nodeKey: Uint8Array;
}

export interface Genesis {
  readonly chainId: string;
  readonly validatorSet: ValidatorSet;
  readonly genesisTimeMs: bigint;
  readonly nodes: readonly GenesisNode[];
  /**
   * The state block 1 starts from, by native contract name (`org`, `member`, `permission`,
   * `governance`, `registry`); each contract's `initialize` reads its own section. {} for none.
   */
  readonly initialState: ValueMap;
}

/** Checks a genesis document; throws LedgerError naming what is wrong. */
export function checkGenesis(genesis: Genesis, suite: SignatureSuite): void {
  if (!CHAIN_ID_PATTERN.test(genesis.chainId)) {
    throw new LedgerError("GENESIS_INVALID", "the chain id must be lower-case letters, digits and dashes");
  }
  checkValidatorSet(genesis.validatorSet, suite);
  if (genesis.genesisTimeMs < 0n) throw new LedgerError("GENESIS_INVALID", "the genesis time is negative");
  if (genesis.nodes.length === 0 || genesis.nodes.length > GENESIS_NODES_MAX) {
    throw new LedgerError("GENESIS_INVALID", `a genesis admits 1 to ${GENESIS_NODES_MAX} nodes`);
  }
  if (encodeValue(genesis.initialState).length > GENESIS_INITIAL_STATE_BYTES_MAX) {
    throw new LedgerError("GENESIS_INVALID", "the initial state is larger than 1 MiB");
  }
  const names = new Set<string>();
  for (let index = 0; index < genesis.nodes.length; index++) {
    const node = genesis.nodes[index]!;
    if (node.nodeKey.length !== NODE_KEY_BYTES) {
      throw new LedgerError("GENESIS_INVALID", "a node key is not 32 bytes", { index });
    }
    if (node.name.length === 0 || new TextEncoder().encode(node.name).length > NODE_NAME_BYTES_MAX) {
      throw new LedgerError("GENESIS_INVALID", `a node name has 1 to ${NODE_NAME_BYTES_MAX} bytes`, {
        index,
      });
    }
    if (names.has(node.name)) throw new LedgerError("GENESIS_INVALID", "two nodes share a name", { index });
    names.add(node.name);
    if (index > 0 && compareBytes(genesis.nodes[index - 1]!.nodeKey, node.nodeKey) >= 0) {
      throw new LedgerError("GENESIS_INVALID", "nodes must be sorted by key, without duplicates", { index });
    }
  }
}

export function encodeGenesis(genesis: Genesis): Uint8Array {
  assert(genesis.nodes.length <= GENESIS_NODES_MAX, "genesis nodes are bounded");
  const writer = new Writer(1024 + genesis.nodes.length * 128);
  writer.u8(GENESIS_VERSION);
  writer.string(genesis.chainId, CHAIN_ID_BYTES_MAX);
  writer.u8(SUITE_CODES[genesis.validatorSet.suite]);
  writer.u64(genesis.genesisTimeMs);
  const validatorSet = encodeValidatorSet(genesis.validatorSet);
  writer.fixedBytes(validatorSet, validatorSet.length);
  writer.u32(genesis.nodes.length);
  for (const node of genesis.nodes) {
    writer.string(node.name, NODE_NAME_BYTES_MAX);
    writer.fixedBytes(node.nodeKey, NODE_KEY_BYTES);
  }
  writer.bytes(encodeValue(genesis.initialState), GENESIS_INITIAL_STATE_BYTES_MAX);
  return writer.finish();
}

export function genesisHash(genesis: Genesis, suite: SignatureSuite): Uint8Array {
  assert(genesis.validatorSet.suite === suite.name, "the genesis is hashed with its own suite");
  return suite.hash(domainSeparated(DOMAIN_TAGS.genesis, encodeGenesis(genesis)));
}
