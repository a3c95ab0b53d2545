/**
 * The contract API, as contracts import it: `import { state, emit } from "@cityledger/contract"`.
 * esbuild bundles this file into each contract; at run time it only reads the sandbox's one
 * global, `CityLedger` (src/exec/sandbox/prelude.ts). See contracts/README.md.
 * @module
 */

/** A canonical value: what arguments, results, rows and event data are made of. */
export type Value = null | boolean | bigint | string | Uint8Array | readonly Value[] | ValueMap;
export interface ValueMap {
  readonly [key: string]: Value;
}
/** What a contract may hand over: like Value, but safe-integer numbers and undefined map entries are accepted. */
export type ValueInput =
  | null
  | boolean
  | bigint
  | number
  | string
  | Uint8Array
  | readonly ValueInput[]
  | { readonly [key: string]: ValueInput | undefined };

/** A row id: text (UTF-8) or bytes, 1 to 64 bytes. */
export type RowId = string | Uint8Array;

export interface Member {
  readonly organization: string;
  readonly department: string;
  /** Sorted. */
  readonly roles: readonly string[];
}

/** The second argument of every method. */
export interface Context {
  readonly chainId: string;
  /** True in a read-only call or a query: writes and events fail the call. */
  readonly readOnly: boolean;
  readonly block: { readonly height: bigint; readonly timeMs: bigint };
  readonly tx: { readonly hash: Uint8Array; readonly index: bigint };
  readonly caller: {
    /** The transaction signer's key id (32 bytes), also as hex. */
    readonly keyId: Uint8Array;
    readonly keyIdHex: string;
    /** The contract that called this one, or null for a transaction's own call. */
    readonly contract: string | null;
    /** The signer's active membership, or null. */
    readonly member: Member | null;
  };
}

export interface ScanOptions {
  /** Only ids starting with this. */
  readonly prefix?: RowId;
  /** Only ids after this one (the last id of the previous page). */
  readonly after?: RowId;
  /** At most this many rows, 1 to 100 (default 100). */
  readonly limit?: bigint | number;
}

export interface ScanRow<Row extends Value = Value> {
  readonly id: Uint8Array;
  /** The id as text, or null when it is not UTF-8. */
  readonly text: string | null;
  readonly value: Row;
}

export interface ScanPage<Row extends Value = Value> {
  readonly rows: readonly ScanRow<Row>[];
  /** More rows follow: continue with `after` = the last row's id. */
  readonly more: boolean;
}

export interface StateApi {
  get<Row extends Value = Value>(table: string, id: RowId): Row | undefined;
  has(table: string, id: RowId): boolean;
  set(table: string, id: RowId, value: ValueInput): void;
  delete(table: string, id: RowId): void;
  scan<Row extends Value = Value>(table: string, options?: ScanOptions): ScanPage<Row>;
}

export interface CallOptions {
  readonly readOnly?: boolean;
}

/** Fails the call with receipt code `CONTRACT_<code>`; code matches [A-Z][A-Z0-9_]{0,54}. */
export interface ContractErrorClass {
  new (code: string, message?: string): Error & { readonly code: string };
}

interface CityLedgerApi {
  readonly state: StateApi;
  emit(type: string, data: { readonly [key: string]: ValueInput | undefined }): void;
  call(contract: string, method: string, args?: ValueInput, options?: CallOptions): Value;
  require(permission: string): void;
  readonly ContractError: ContractErrorClass;
  hex(bytes: Uint8Array): string;
}

declare const CityLedger: CityLedgerApi;

/** This contract's own tables (names `[a-z][a-z0-9_-]{0,23}`). */
export const state: StateApi = CityLedger.state;
/** Emits an event (type `[a-z][a-z0-9_.-]{0,63}`); kept only when the transaction succeeds. */
export const emit: CityLedgerApi["emit"] = CityLedger.emit;
/** Calls another contract; throws an error with `.code` when it fails (catch it to go on). */
export const call: CityLedgerApi["call"] = CityLedger.call;
/** Fails with PERMISSION_DENIED unless the caller holds `permission` (set by governance). */
export const requirePermission: CityLedgerApi["require"] = CityLedger.require;
export const ContractError: ContractErrorClass = CityLedger.ContractError;
/** Lower-case hex of bytes. */
export const hex: CityLedgerApi["hex"] = CityLedger.hex;
