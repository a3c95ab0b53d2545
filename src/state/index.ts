/**
 * The authenticated state of the chain: a compressed binary sparse Merkle tree over 256-bit keys,
 * its node store contract, and membership / non-membership proofs with a pure verifier.
 * Browser code (sdk, web) imports the verifier from state-proof.ts, which pulls in no native code.
 * @module
 */
export { StateError, StateErrorCode } from "./errors.ts";
export { STATE_TREE_CACHE_NODES_DEFAULT, STATE_TREE_CACHE_NODES_MAX } from "./node-cache.ts";
export {
  MemoryStateNodeStore,
  STATE_NODE_BYTES_MAX,
  STATE_NODE_INTERNAL_BYTES,
  STATE_NODE_LEAF_HEADER_BYTES,
  type StateNodeKind,
  type StateNodeStore,
  stateNodeKindOf,
} from "./node-store.ts";
export {
  SparseMerkleTree,
  type SparseMerkleTreeOptions,
  type StateEntry,
  type StateUpdate,
} from "./sparse-merkle-tree.ts";
export {
  decodeStateProof,
  emptyStateRoot,
  encodeStateProof,
  hashStateInternal,
  hashStateLeaf,
  hashStateValue,
  isEmptyStateHash,
  STATE_HASH_BYTES,
  STATE_INTERNAL_PREFIX,
  STATE_KEY_BYTES,
  STATE_LEAF_PREFIX,
  STATE_PROOF_BYTES_MAX,
  STATE_PROOF_SIBLINGS_MAX,
  STATE_TREE_DEPTH_MAX,
  STATE_VALUE_PREFIX,
  type StateProof,
  StateProofDecodeError,
  StateProofDecodeErrorCode,
  type StateProofLeaf,
  stateKeyBit,
  verifyStateProof,
} from "./state-proof.ts";
