/**
 * Limits of the execution module (TigerBeetle style: `<noun>_<unit>_MAX`), each documented in
 * docs/LIMITS.md ("Execution"). They bound what one transaction may make the executor hold and
 * write, and the fields of the `notary` system contract. Relations between them, and with the
 * core limits, are asserted when this module loads.
 * @module
 */
import { assert } from "../base/assert.ts";
import {
  BLOCK_TXS_MAX,
  NAME_BYTES_MAX,
  STATE_BATCH_UPDATES_MAX,
  STATE_VALUE_BYTES_MAX,
  TX_ARGS_BYTES_MAX,
} from "../base/limits.ts";

/** Events one transaction may emit. */
export const TX_EVENTS_MAX = 8;
/** Bytes of event data one transaction may emit, all its events together. */
export const TX_EVENTS_DATA_BYTES_MAX = 8 * 1024;
/** State writes (set or delete) one transaction may make, its nonce not counted. */
export const TX_STATE_WRITES_MAX = 64;
/** Bytes of state values one transaction may write, all its writes together. */
export const TX_STATE_WRITE_BYTES_MAX = 64 * 1024;
/** A state-key namespace such as `contract/notary/record` (ASCII). */
export const STATE_NAMESPACE_BYTES_MAX = 128;
/** The id part of a state key (a key id, a document hash, ...). */
export const STATE_KEY_ID_BYTES_MAX = 256;
/** A contract's table name, the last part of its namespaces. */
export const CONTRACT_TABLE_BYTES_MAX = 32;
/** An event type name. */
export const EVENT_TYPE_BYTES_MAX = NAME_BYTES_MAX;
/** An execution error code in a receipt (`[A-Z][A-Z0-9_]*`). */
export const ERROR_CODE_BYTES_MAX = 64;

/** Nested contract calls: a transaction's call is depth 1. */
export const CALL_DEPTH_MAX = 8;
/** Default gas limit per transaction (chain parameter `txGasMax`, changed by governance). */
export const TX_GAS_MAX_DEFAULT = 10_000_000n;
/** Upper bound of the `txGasMax` parameter. */
export const TX_GAS_MAX_LIMIT = 1_000_000_000n;
/** Gas of the host operations, the same for native and sandboxed contracts. */
export const GAS_COSTS = {
  /** Every call of a contract, the transaction's own included. */
  callBase: 1_000n,
  stateRead: 100n,
  stateReadPerByte: 1n,
  stateWrite: 500n,
  stateWritePerByte: 10n,
  event: 200n,
  eventPerByte: 5n,
} as const;

// ---- governance and registry (src/exec/system/governance.ts, registry.ts) ----------------------

/** `governance`: seats of the committee. */
export const GOV_COMMITTEE_SEATS_MAX = 32;
/** `governance`: weight of one seat (at least 1). */
export const GOV_SEAT_WEIGHT_MAX = 1_000_000n;
/** `governance`: shortest voting period (one second: a few blocks). */
export const GOV_VOTING_PERIOD_MS_MIN = 1_000n;
/** `governance`: longest voting period (90 days). */
export const GOV_VOTING_PERIOD_MS_MAX = 90n * 24n * 3_600_000n;
/** `governance`: a proposal's title. */
export const GOV_TITLE_BYTES_MAX = 256;
/** `governance`: a proposal's optional description (newlines allowed). */
export const GOV_DESCRIPTION_BYTES_MAX = 2048;
/** `governance`: a proposal's encoded payload. */
export const GOV_PAYLOAD_BYTES_MAX = 12 * 1024;
/**
 * `governance`: one encoded proposal record: payload, title and description at their limits,
 * the seat snapshot and one vote per seat (each under 128 bytes), plus 2 KiB of structure.
 */
export const GOV_PROPOSAL_RECORD_BYTES_MAX =
  GOV_PAYLOAD_BYTES_MAX +
  GOV_TITLE_BYTES_MAX +
  GOV_DESCRIPTION_BYTES_MAX +
  GOV_COMMITTEE_SEATS_MAX * 256 +
  2048;
/** `governance`: proposals one `listProposals` page returns. */
export const GOV_PROPOSALS_PAGE_MAX = 100;
/** `governance`: lowest `txGasMax` a proposal may set (governance itself must stay executable). */
export const GOV_TX_GAS_MAX_MIN = 1_000_000n;
/** `registry`: one uploaded contract's code (its `upload` arguments stay below TX_ARGS_BYTES_MAX). */
export const CONTRACT_CODE_BYTES_MAX = 44 * 1024;
/** `registry`: one encoded code record (the code plus 512 bytes of uploader, height, time). */
export const CONTRACT_CODE_RECORD_BYTES_MAX = CONTRACT_CODE_BYTES_MAX + 512;
/** `registry`: contracts one `listContracts` page returns. */
export const REGISTRY_CONTRACTS_PAGE_MAX = 100;

/** `notary`: a document title (UTF-8, no control characters). */
export const NOTARY_TITLE_BYTES_MAX = 256;
/** `notary`: a document type such as `permit` (`[a-z][a-z0-9-]*`). */
export const NOTARY_DOCUMENT_TYPE_BYTES_MAX = 32;
/** `notary`: an optional description (UTF-8; newlines and tabs allowed). */
export const NOTARY_DESCRIPTION_BYTES_MAX = 2048;
/** `notary`: an optional reference URI where the document can be found (printable ASCII). */
export const NOTARY_URI_BYTES_MAX = 1024;
/** `notary`: an optional reason given when revoking. */
export const NOTARY_REASON_BYTES_MAX = 512;

/**
 * Upper bound of one encoded notary record (and of its event data): the text fields at their
 * limits plus 512 bytes for the map structure, keys, hashes, heights and times.
 */
export const NOTARY_RECORD_BYTES_MAX =
  NOTARY_TITLE_BYTES_MAX +
  NOTARY_DOCUMENT_TYPE_BYTES_MAX +
  NOTARY_DESCRIPTION_BYTES_MAX +
  NOTARY_URI_BYTES_MAX +
  NOTARY_REASON_BYTES_MAX +
  512;

assert(
  BLOCK_TXS_MAX * (TX_STATE_WRITES_MAX + 1) <= STATE_BATCH_UPDATES_MAX,
  "a full block's writes, nonces included, fit one state batch",
);
assert(TX_STATE_WRITE_BYTES_MAX <= STATE_VALUE_BYTES_MAX, "any allowed write is a valid state value");
assert(TX_EVENTS_DATA_BYTES_MAX <= TX_ARGS_BYTES_MAX, "events stay smaller than the arguments bound");
assert(NOTARY_RECORD_BYTES_MAX <= TX_STATE_WRITE_BYTES_MAX, "a notary record fits one transaction's writes");
assert(NOTARY_RECORD_BYTES_MAX <= TX_EVENTS_DATA_BYTES_MAX, "a notary record fits one transaction's events");
assert(CONTRACT_TABLE_BYTES_MAX + NAME_BYTES_MAX + 10 <= STATE_NAMESPACE_BYTES_MAX, "namespaces fit");
assert(CONTRACT_CODE_BYTES_MAX + 64 <= TX_ARGS_BYTES_MAX, "an upload's code fits its arguments");
assert(CONTRACT_CODE_RECORD_BYTES_MAX <= TX_STATE_WRITE_BYTES_MAX, "an upload fits one transaction's writes");
assert(
  GOV_PROPOSAL_RECORD_BYTES_MAX + GOV_PAYLOAD_BYTES_MAX + 8 * 1024 <= TX_STATE_WRITE_BYTES_MAX,
  "a vote rewrites its proposal and leaves room for the execution's writes",
);
assert(GOV_TX_GAS_MAX_MIN <= TX_GAS_MAX_DEFAULT, "the default gas limit is a valid parameter");
assert(TX_GAS_MAX_DEFAULT <= TX_GAS_MAX_LIMIT, "the default gas limit is a valid parameter");

// ---- Identity and genesis (executor+identity: execute-block.ts, system/org, member, permission) ----

/** Writes one native contract's `initialize` may make at block 1 (instead of TX_STATE_WRITES_MAX). */
export const INITIAL_STATE_SECTION_WRITES_MAX = 16_384;
/** Bytes of values one native contract's `initialize` may write at block 1. */
export const INITIAL_STATE_SECTION_WRITE_BYTES_MAX = 16 * 1024 * 1024;
/** Sections of the initial state: org, member, permission, governance, registry. */
export const INITIAL_STATE_SECTIONS_MAX = 5;
/** `org`: organizations ever added (removed ones keep their id, which is never reused). */
export const ORGS_MAX = 256;
/** `org`: admins of one organization (key ids). */
export const ORG_ADMINS_MAX = 16;
/** `org`: departments of one organization. */
export const ORG_DEPARTMENTS_MAX = 256;
/** `org`: an organization's or a department's display name. */
export const ORG_NAME_BYTES_MAX = 128;
/** `org`, `member`: a reason given when suspending, removing or revoking. */
export const IDENTITY_REASON_BYTES_MAX = 512;
/** `member`: roles of one member. */
export const MEMBER_ROLES_MAX = 8;
/** `member`: a display or service name (no personal data beyond it). */
export const MEMBER_LABEL_BYTES_MAX = 64;
/** `permission`: roles one rule allows. */
export const PERMISSION_RULE_ROLES_MAX = 16;
/** `permission`: organizations one rule allows. */
export const PERMISSION_RULE_ORGANIZATIONS_MAX = 64;
/** Ids of organizations, departments and roles (`[a-z][a-z0-9-]{0,47}`). */
export const IDENTITY_SLUG_BYTES_MAX = 48;

assert(
  BLOCK_TXS_MAX * (TX_STATE_WRITES_MAX + 1) + INITIAL_STATE_SECTIONS_MAX * INITIAL_STATE_SECTION_WRITES_MAX <=
    STATE_BATCH_UPDATES_MAX,
  "block 1's writes, its initial state included, fit one state batch",
);
assert(
  ORGS_MAX * (IDENTITY_SLUG_BYTES_MAX + 8) + 64 <= TX_STATE_WRITE_BYTES_MAX,
  "the org list fits a write",
);
assert(
  ORG_DEPARTMENTS_MAX * (IDENTITY_SLUG_BYTES_MAX + 8) + 64 <= TX_STATE_WRITE_BYTES_MAX,
  "a department list fits a write",
);

// ---- Sandbox (src/exec/sandbox, src/exec/table-index.ts): deployed contracts in QuickJS ----------
/**
 * Gas of one sandbox step: one AST node of the contract's code, charged when its region is
 * entered. About 2.5 million steps run per second here, so TX_GAS_MAX_DEFAULT is ≈ 1 s of code.
 */
export const SANDBOX_STEP_GAS = 4n;
/** A contract's bundled code (UTF-8 JavaScript). */
export const SANDBOX_CODE_BYTES_MAX = 512 * 1024;
/** Steps a contract's top-level code may take when it is loaded (not charged to a transaction). */
export const SANDBOX_LOAD_STEPS_MAX = 1_000_000;
/**
 * QuickJS's malloc limit for a block's runtime. This build cannot measure block sizes, so QuickJS
 * checks each allocation against it but does not sum them: it bounds one allocation; the fixed
 * wasm memory below bounds them all (and fails the same way on every node, see engine.ts).
 */
export const SANDBOX_RUNTIME_MEMORY_BYTES_MAX = 24 * 1024 * 1024;
/** The fixed WebAssembly memory of the QuickJS module: the runtime's limit plus room to spare. */
export const SANDBOX_WASM_MEMORY_BYTES = 64 * 1024 * 1024;
/**
 * Contexts with the prelude already run, made once per engine in its one runtime and restored with
 * the wasm memory at every block (engine.ts, docs/adr/0010-sandbox-template.md): a block's first
 * contracts skip compiling the prelude (≈ 3 ms each); the others compile it as before.
 */
export const SANDBOX_TEMPLATE_CONTEXTS = 4;
/**
 * Rows a contract's context keeps in the VM between its calls, so that a read of one is answered
 * there, the host checking it (engine.ts, docs/adr/0011-sandbox-read-cache.md).
 */
export const SANDBOX_READ_CACHE_ROWS = 16;
/** QuickJS stack of one runtime; deeper recursion fails with EXEC_STACK_OVERFLOW. */
export const SANDBOX_STACK_BYTES_MAX = 256 * 1024;
/** Nodes (values, items, entries) of one value crossing the sandbox boundary. */
export const SANDBOX_VALUE_NODES_MAX = 16_384;
/** A contract's table name (`[a-z][a-z0-9_-]*`); the rest of CONTRACT_TABLE_BYTES_MAX is the index's. */
export const SANDBOX_TABLE_BYTES_MAX = 24;
/** The id of a row of a contract's table (text as UTF-8, or bytes). */
export const SANDBOX_STATE_ID_BYTES_MAX = 64;
/** Rows one `state.scan` returns. */
export const SANDBOX_SCAN_ITEMS_MAX = 100;
/** A ContractError's message, in characters (longer ones are cut). */
export const SANDBOX_ERROR_MESSAGE_CHARS_MAX = 256;
/** Ids of one index page (table-index.ts); pages split in two when full. */
export const TABLE_INDEX_PAGE_IDS_MAX = 128;
/** Ids one table's index holds; a set of a new id past it fails with EXEC_TABLE_INDEX_FULL. */
export const TABLE_INDEX_IDS_MAX = 8192;
/**
 * Pages of one table's index. Adjacent pages always hold more than PAGE_IDS_MAX / 2 ids together
 * (deletes merge them otherwise), so `pages <= 2 * ids / (PAGE_IDS_MAX / 2) + 1`.
 */
export const TABLE_INDEX_PAGES_MAX = (2 * TABLE_INDEX_IDS_MAX) / (TABLE_INDEX_PAGE_IDS_MAX / 2) + 1;

assert(SANDBOX_RUNTIME_MEMORY_BYTES_MAX * 2 < SANDBOX_WASM_MEMORY_BYTES, "the runtime's limit hits first");
assert(SANDBOX_WASM_MEMORY_BYTES % 65_536 === 0, "wasm memories are whole 64 KiB pages");
assert(SANDBOX_STACK_BYTES_MAX <= 256 * 1024, "deeper QuickJS stacks escape as host RangeErrors");
assert(SANDBOX_TABLE_BYTES_MAX + 4 <= CONTRACT_TABLE_BYTES_MAX, "an index table name `_ix-<table>` fits");
assert(SANDBOX_STATE_ID_BYTES_MAX <= STATE_KEY_ID_BYTES_MAX, "sandbox ids are valid state key ids");
assert(
  TABLE_INDEX_PAGE_IDS_MAX * (SANDBOX_STATE_ID_BYTES_MAX + 5) + 64 <= TX_STATE_WRITE_BYTES_MAX / 4,
  "an index page is a small write",
);
assert(
  TABLE_INDEX_PAGES_MAX * (SANDBOX_STATE_ID_BYTES_MAX + 16) + 64 <= TX_STATE_WRITE_BYTES_MAX / 2,
  "an index's page list fits half a transaction's writes",
);
