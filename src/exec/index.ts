/**
 * Deterministic execution: `executeBlock` turns a block's validated transactions and the state
 * before it into sorted state updates, receipts and events (or a BlockInvalidError), through
 * system contracts behind one interface. Today one contract runs: `notary`, which anchors
 * document hashes. State keys, values and receipts are specified in docs/PROTOCOL.md
 * ("Execution"); limits in docs/LIMITS.md ("Execution").
 * @module
 */
export {
  type ArgsResult,
  argsMapOf,
  fixedBytesField,
  isValueMap,
  optionalTextField,
  type TextRule,
  textField,
  utf8ByteLength,
} from "./args.ts";
export {
  type ContractContext,
  type ContractRegistry,
  type ContractState,
  createContractRegistry,
  EVENT_TYPE_PATTERN,
  type SystemContract,
} from "./contract.ts";
export {
  BlockInvalidError,
  type BlockInvalidErrorCode,
  ExecutionError,
  type ExecutionErrorCode,
} from "./errors.ts";
export {
  type BlockExecutionContext,
  type ExecutionEvent,
  type ExecutionOutcome,
  executeBlock,
  SYSTEM_CONTRACTS,
} from "./execute-block.ts";
export * from "./limits.ts";
export {
  decodeNonceValue,
  encodeNonceValue,
  NONCE_VALUE_BYTES,
  NONCE_VALUE_VERSION,
  nonceNextOfValue,
  readNonce,
} from "./nonce.ts";
export {
  type AnchorArgs,
  DOCUMENT_HASH_ALGORITHMS,
  DOCUMENT_HASH_BYTES,
  type DocumentHashAlgorithm,
  decodeNotaryRecord,
  encodeNotaryRecord,
  NOTARY_CONTRACT,
  NOTARY_DOCUMENT_TYPE_PATTERN,
  NOTARY_DOCUMENT_TYPES_CONVENTIONAL,
  NOTARY_EVENT_ANCHORED,
  NOTARY_EVENT_REVOKED,
  NOTARY_RECORD_TABLE,
  NOTARY_RECORD_VERSION,
  NOTARY_URI_PATTERN,
  type NotaryProvenance,
  type NotaryProvenanceJson,
  type NotaryRecord,
  type NotaryRecordJson,
  type NotaryRevocation,
  notaryContract,
  notaryRecordJson,
  notaryRecordKeyOf,
  notaryRecordValue,
  parseAnchorArgs,
  parseRevokeArgs,
  type RevokeArgs,
  readNotaryRecord,
} from "./notary.ts";
export {
  decodeReceipt,
  ERROR_CODE_PATTERN,
  encodeReceipt,
  RECEIPT_STATUS_CODES,
  RECEIPT_VERSION,
  type ReceiptEvent,
  type ReceiptStatus,
  receiptHash,
  receiptRoot,
  type TransactionReceipt,
} from "./receipt.ts";
export {
  CONTRACT_TABLE_PATTERN,
  contractNamespaceOf,
  contractStateKeyOf,
  EXEC_DOMAIN_TAGS,
  type ExecDomainTag,
  NONCE_NAMESPACE,
  nonceKeyOf,
  STATE_KEY_BYTES,
  stateKeyOf,
} from "./state-keys.ts";
export { StateOverlay, type StateReader } from "./state-view.ts";
