/**
 * Errors of execution. Two kinds, kept apart on purpose:
 *
 * - `ExecutionError`: a transaction ran and failed (bad arguments, a document already anchored,
 *   a limit exceeded). The transaction stays in the block, its nonce is consumed, its receipt
 *   says `failed` with the stable code, and none of its contract's writes or events are kept.
 * - `BlockInvalidError`: the block itself breaks a rule every honest proposer follows (a nonce
 *   out of sequence, an expired transaction, another chain's transaction). The node rejects the
 *   proposal; nothing of the block is applied.
 *
 * Codes are stable and documented in docs/PROTOCOL.md ("Execution"); messages are for people.
 * @module
 */
import { CityLedgerError } from "../base/errors.ts";

/** Why a transaction failed during execution; the code goes into its receipt. */
export type ExecutionErrorCode =
  | "EXEC_CONTRACT_UNKNOWN"
  | "EXEC_METHOD_UNKNOWN"
  | "EXEC_ARGS_NOT_A_MAP"
  | "EXEC_ARGS_FIELD_UNKNOWN"
  | "EXEC_ARGS_FIELD_MISSING"
  | "EXEC_ARGS_FIELD_WRONG_TYPE"
  | "EXEC_ARGS_FIELD_TOO_LONG"
  | "EXEC_ARGS_FIELD_INVALID"
  | "EXEC_STATE_WRITES_TOO_MANY"
  | "EXEC_STATE_WRITES_TOO_LARGE"
  | "EXEC_EVENTS_TOO_MANY"
  | "EXEC_EVENTS_TOO_LARGE"
  | "EXEC_EVENT_INVALID"
  | "EXEC_OUT_OF_GAS"
  | "EXEC_READ_ONLY"
  | "EXEC_CALL_DEPTH_EXCEEDED"
  | "EXEC_CONTRACT_FROZEN"
  | "PERMISSION_DENIED"
  | "IDENTITY_MEMBER_REVOKED"
  | "IDENTITY_MEMBER_EXPIRED"
  | "IDENTITY_ORG_INACTIVE"
  // Sandbox (src/exec/sandbox) codes go here.
  // sandbox (src/exec/sandbox): deployed contracts in QuickJS
  | "EXEC_CONTRACT_INVALID"
  | "EXEC_CONTRACT_THREW"
  | "EXEC_OUT_OF_MEMORY"
  | "EXEC_STACK_OVERFLOW"
  | "EXEC_VALUE_INVALID"
  | "EXEC_STATE_ID_INVALID"
  | "EXEC_TABLE_INDEX_FULL"
  | "EXEC_READ_REFUSED"
  // A deployed contract's own code: `throw new ContractError("SERVICE_CLOSED")` -> CONTRACT_SERVICE_CLOSED.
  | `CONTRACT_${string}`
  // System contract (src/exec/system) codes go here.
  // governance (src/exec/system/governance.ts)
  | "GOV_NOT_INITIALIZED"
  | "GOV_ALREADY_INITIALIZED"
  | "GOV_NOT_COMMITTEE_MEMBER"
  | "GOV_PROPOSAL_KIND_UNKNOWN"
  | "GOV_PROPOSAL_TOO_LARGE"
  | "GOV_PROPOSAL_NOT_FOUND"
  | "GOV_ALREADY_VOTED"
  | "GOV_VOTING_CLOSED"
  | "GOV_VOTING_OPEN"
  | "GOV_COMMITTEE_INVALID"
  | "GOV_VALIDATOR_SET_INVALID"
  | "GOV_NODE_INVALID"
  | "GOV_PARAMETER_UNKNOWN"
  | "GOV_PARAMETER_OUT_OF_RANGE"
  // registry (src/exec/system/registry.ts)
  | "REGISTRY_NOT_CONFIGURED"
  | "REGISTRY_ALREADY_INITIALIZED"
  | "REGISTRY_CODE_TOO_LARGE"
  | "REGISTRY_CODE_EXISTS"
  | "REGISTRY_CODE_MISSING"
  | "REGISTRY_CODE_UNCHANGED"
  | "REGISTRY_NAME_TAKEN"
  | "REGISTRY_NAME_RESERVED"
  | "REGISTRY_NOT_FOUND"
  | "REGISTRY_FROZEN"
  | "REGISTRY_NOT_FROZEN"
  // Executor: a genesis initial state that its contracts refuse (checkInitialState).
  | "EXEC_INITIAL_STATE_INVALID"
  // org (src/exec/system/org.ts)
  | "ORG_NOT_FOUND"
  | "ORG_EXISTS"
  | "ORG_NOT_ACTIVE"
  | "ORG_STATUS_INVALID"
  | "ORG_NOT_ADMIN"
  | "ORG_LIMIT_REACHED"
  | "ORG_DEPARTMENT_NOT_FOUND"
  | "ORG_DEPARTMENT_EXISTS"
  | "ORG_DEPARTMENT_LEVEL_INVALID"
  | "ORG_DEPARTMENT_LIMIT_REACHED"
  // member (src/exec/system/member.ts)
  | "MEMBER_EXISTS"
  | "MEMBER_NOT_FOUND"
  | "MEMBER_NOT_ADMIN"
  | "MEMBER_REVOKED"
  | "MEMBER_EXPIRY_INVALID"
  // permission (src/exec/system/permission.ts)
  | "PERMISSION_RULE_NOT_FOUND"
  | "NOTARY_ALGORITHM_UNSUPPORTED"
  | "NOTARY_ALREADY_ANCHORED"
  | "NOTARY_NOT_FOUND"
  | "NOTARY_NOT_SIGNER"
  | "NOTARY_ALREADY_REVOKED";

export class ExecutionError extends CityLedgerError<ExecutionErrorCode> {
  override name = "ExecutionError";
}

/** Why a block cannot be executed at all; the node rejects the proposal. */
export type BlockInvalidErrorCode =
  | "BLOCK_TOO_MANY_TXS"
  | "BLOCK_TX_WRONG_CHAIN"
  | "BLOCK_TX_WRONG_SUITE"
  | "BLOCK_TX_EXPIRED"
  | "BLOCK_NONCE_MISMATCH";

export class BlockInvalidError extends CityLedgerError<BlockInvalidErrorCode> {
  override name = "BlockInvalidError";
  /**
   * Index of the first transaction that breaks the rule; a proposer may leave it out and try
   * again. For BLOCK_TOO_MANY_TXS it is BLOCK_TXS_MAX, the first transaction over the limit.
   */
  readonly transactionIndex: number;

  constructor(
    code: BlockInvalidErrorCode,
    message: string,
    transactionIndex: number,
    details: Readonly<Record<string, string | number | bigint | boolean>> = {},
  ) {
    super(code, message, { ...details, txIndex: transactionIndex });
    this.transactionIndex = transactionIndex;
  }
}
