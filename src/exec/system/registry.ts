/**
 * The `registry` system contract: code of deployed (sandboxed) contracts, and the names that
 * run it. Code is uploaded by anyone in good standing (a permission rule `registry.upload`
 * narrows it) and stored by its hash; a name is bound to code only by an accepted governance
 * proposal, and every version stays stored and queryable.
 *
 * Methods:
 *
 *   upload    {code: bytes 1..CONTRACT_CODE_BYTES_MAX}
 *             Stores the code under HASH(code) (the chain suite's hash) with the uploader's key
 *             id, height, time and transaction hash; returns {codeHash}. The same code twice
 *             fails with REGISTRY_CODE_EXISTS. Checks `require("upload")`.
 *   deploy    {name, codeHash: bytes 32, proposalId, deployer: key id}      governance only
 *   upgrade   {name, codeHash: bytes 32, proposalId, deployer: key id}      governance only
 *   freeze    {name, proposalId}                                            governance only
 *   unfreeze  {name, proposalId}                                            governance only
 *             `caller.contract` must be "governance", else PERMISSION_DENIED: an upgrade without
 *             an accepted proposal cannot happen. `deployer` is the key that proposed it.
 *             deploy: REGISTRY_NAME_RESERVED (a native contract's name), REGISTRY_NAME_TAKEN,
 *             REGISTRY_CODE_MISSING (never uploaded). upgrade: REGISTRY_NOT_FOUND,
 *             REGISTRY_FROZEN (unfreeze first), REGISTRY_CODE_MISSING, REGISTRY_CODE_UNCHANGED
 *             (already the active code; an older version's code is allowed: a rollback is a
 *             new version). freeze/unfreeze: REGISTRY_NOT_FOUND, REGISTRY_FROZEN /
 *             REGISTRY_NOT_FROZEN. A frozen contract keeps its versions; the executor refuses
 *             calls to it (EXEC_CONTRACT_FROZEN).
 *   get       {name} → the active contract {name, version, codeHash, frozen} or null; read-only.
 *
 * Genesis section (`initialState.registry`): `{suite: "ed25519" | "sm2-sm3"}`, the chain's
 * suite, whose hash names code (a native contract sees no suite otherwise). Without it `upload`
 * fails with REGISTRY_NOT_CONFIGURED.
 *
 * Tables (docs/PROTOCOL.md, "Execution", governance and registry): `config` ("config"),
 * `code` (code hash), `contract` (UTF-8 name), `version` (UTF-8 name ‖ 0x00 ‖ u32 version),
 * `list` (u64 position, in deployment order), `meta` ("count"). Values are canonical maps with
 * `version: 1`.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { bytesToHex, equalBytes } from "../../base/bytes.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import { sha256, sm3 } from "../../crypto/portable.ts";
import type { HashFunction, SuiteName } from "../../crypto/suite.ts";
import { decodeValue, encodeValue, type Value, type ValueMap } from "../../encoding/value.ts";
import { KEY_ID_BYTES } from "../../ledger/key-id.ts";
import { CONTRACT_NAME_PATTERN } from "../../ledger/validate-transaction.ts";
import { argsMapOf, fixedBytesField, textField } from "../args.ts";
import type { ContractContext, NativeContract } from "../contract.ts";
import { ExecutionError } from "../errors.ts";
import {
  CONTRACT_CODE_BYTES_MAX,
  CONTRACT_CODE_RECORD_BYTES_MAX,
  REGISTRY_CONTRACTS_PAGE_MAX,
} from "../limits.ts";
import { contractStateKeyOf } from "../state-keys.ts";
import type { StateReader } from "../state-view.ts";
import { I64_MAX, integerField, RecordReader, refuse, UTF8, u64IdOf } from "./record-fields.ts";

export const REGISTRY_CONTRACT = "registry";
export const GOVERNANCE_CALLER = "governance";
export const REGISTRY_RECORD_VERSION = 1n;
export const CODE_HASH_BYTES = 32;
export const REGISTRY_TABLES = {
  config: "config",
  code: "code",
  contract: "contract",
  version: "version",
  list: "list",
  meta: "meta",
} as const;
/** Names a deployed contract may not take: the natives, and the executor's genesis caller. */
export const RESERVED_CONTRACT_NAMES: readonly string[] = [
  "genesis",
  "governance",
  "member",
  "notary",
  "org",
  "permission",
  "registry",
];
export const REGISTRY_EVENTS = {
  uploaded: "uploaded",
  deployed: "deployed",
  upgraded: "upgraded",
  frozen: "frozen",
  unfrozen: "unfrozen",
} as const;

const CONFIG_ID = UTF8.encode("config");
const COUNT_ID = UTF8.encode("count");
const SUITE_NAMES: readonly SuiteName[] = ["ed25519", "sm2-sm3"];
/** Bytes of any small registry record (everything but code). */
const REGISTRY_RECORD_BYTES_MAX = 1024;

/** The hash that names code on a chain of this suite (the suite's hash). */
export function codeHashFunctionOf(suite: SuiteName): HashFunction {
  switch (suite) {
    case "ed25519":
      return sha256;
    case "sm2-sm3":
      return sm3;
  }
}

// ---- Records ---------------------------------------------------------------------------------

export interface CodeRecord {
  readonly codeHash: Uint8Array;
  readonly code: Uint8Array;
  readonly uploader: Uint8Array;
  readonly height: bigint;
  readonly timeMs: bigint;
  readonly txHash: Uint8Array;
}

export interface ContractVersion {
  readonly name: string;
  /** 1, 2, ... in order of deployment and upgrades. */
  readonly version: bigint;
  readonly codeHash: Uint8Array;
  /** Key id of the proposer of the approving proposal. */
  readonly deployer: Uint8Array;
  readonly proposalId: bigint;
  readonly height: bigint;
  readonly timeMs: bigint;
  readonly txHash: Uint8Array;
}

/** A name's current state: the version that runs, and whether calls are refused. */
export interface ActiveContract {
  readonly name: string;
  readonly version: bigint;
  readonly codeHash: Uint8Array;
  readonly frozen: boolean;
}

interface ContractHead extends ActiveContract {
  /** Position in deployment order (the `list` table). */
  readonly position: bigint;
  readonly versionCount: bigint;
}

function codeRecordValue(record: CodeRecord): ValueMap {
  return {
    version: REGISTRY_RECORD_VERSION,
    codeHash: record.codeHash,
    code: record.code,
    uploader: record.uploader,
    height: record.height,
    timeMs: record.timeMs,
    txHash: record.txHash,
  };
}

export function decodeCodeRecord(bytes: Uint8Array): CodeRecord {
  const reader = new RecordReader("code record", decodeValue(bytes, CONTRACT_CODE_RECORD_BYTES_MAX), [
    "version",
    "codeHash",
    "code",
    "uploader",
    "height",
    "timeMs",
    "txHash",
  ]);
  if (reader.natural("version") !== REGISTRY_RECORD_VERSION) throw reader.invalid("unknown version");
  return {
    codeHash: reader.bytes("codeHash", CODE_HASH_BYTES),
    code: reader.bytes("code"),
    uploader: reader.bytes("uploader", KEY_ID_BYTES),
    height: reader.natural("height"),
    timeMs: reader.natural("timeMs"),
    txHash: reader.bytes("txHash", 32),
  };
}

function headValue(head: ContractHead): ValueMap {
  return {
    version: REGISTRY_RECORD_VERSION,
    name: head.name,
    activeVersion: head.version,
    codeHash: head.codeHash,
    frozen: head.frozen,
    position: head.position,
    versionCount: head.versionCount,
  };
}

function decodeHead(bytes: Uint8Array): ContractHead {
  const reader = new RecordReader("contract record", decodeValue(bytes, REGISTRY_RECORD_BYTES_MAX), [
    "version",
    "name",
    "activeVersion",
    "codeHash",
    "frozen",
    "position",
    "versionCount",
  ]);
  if (reader.natural("version") !== REGISTRY_RECORD_VERSION) throw reader.invalid("unknown version");
  const head: ContractHead = {
    name: reader.text("name"),
    version: reader.natural("activeVersion"),
    codeHash: reader.bytes("codeHash", CODE_HASH_BYTES),
    frozen: reader.boolean("frozen"),
    position: reader.natural("position"),
    versionCount: reader.natural("versionCount"),
  };
  if (head.version < 1n || head.version > head.versionCount)
    throw reader.invalid("active version out of range");
  return head;
}

export function contractVersionValue(version: ContractVersion): ValueMap {
  return {
    version: REGISTRY_RECORD_VERSION,
    name: version.name,
    number: version.version,
    codeHash: version.codeHash,
    deployer: version.deployer,
    proposalId: version.proposalId,
    height: version.height,
    timeMs: version.timeMs,
    txHash: version.txHash,
  };
}

function decodeVersion(bytes: Uint8Array): ContractVersion {
  const reader = new RecordReader("contract version", decodeValue(bytes, REGISTRY_RECORD_BYTES_MAX), [
    "version",
    "name",
    "number",
    "codeHash",
    "deployer",
    "proposalId",
    "height",
    "timeMs",
    "txHash",
  ]);
  if (reader.natural("version") !== REGISTRY_RECORD_VERSION) throw reader.invalid("unknown version");
  return {
    name: reader.text("name"),
    version: reader.natural("number"),
    codeHash: reader.bytes("codeHash", CODE_HASH_BYTES),
    deployer: reader.bytes("deployer", KEY_ID_BYTES),
    proposalId: reader.natural("proposalId"),
    height: reader.natural("height"),
    timeMs: reader.natural("timeMs"),
    txHash: reader.bytes("txHash", 32),
  };
}

function encodeCount(count: bigint): Uint8Array {
  return encodeValue({ version: REGISTRY_RECORD_VERSION, count });
}

function decodeCount(bytes: Uint8Array | undefined): bigint {
  if (bytes === undefined) return 0n;
  const reader = new RecordReader("registry count", decodeValue(bytes, REGISTRY_RECORD_BYTES_MAX), [
    "version",
    "count",
  ]);
  if (reader.natural("version") !== REGISTRY_RECORD_VERSION) throw reader.invalid("unknown version");
  return reader.natural("count");
}

function decodeListEntry(bytes: Uint8Array): string {
  const reader = new RecordReader("registry list entry", decodeValue(bytes, REGISTRY_RECORD_BYTES_MAX), [
    "version",
    "name",
  ]);
  if (reader.natural("version") !== REGISTRY_RECORD_VERSION) throw reader.invalid("unknown version");
  return reader.text("name");
}

function decodeConfig(bytes: Uint8Array): SuiteName {
  const reader = new RecordReader("registry config", decodeValue(bytes, REGISTRY_RECORD_BYTES_MAX), [
    "version",
    "suite",
  ]);
  if (reader.natural("version") !== REGISTRY_RECORD_VERSION) throw reader.invalid("unknown version");
  return reader.choice("suite", SUITE_NAMES);
}

// ---- Ids -------------------------------------------------------------------------------------

function nameIdOf(name: string): Uint8Array {
  assert(CONTRACT_NAME_PATTERN.test(name), "contract names are checked before use");
  return UTF8.encode(name);
}

function versionIdOf(name: string, version: bigint): Uint8Array {
  assert(version >= 1n && version <= 0xffff_ffffn, "versions are u32");
  const nameBytes = nameIdOf(name);
  const id = new Uint8Array(nameBytes.length + 5);
  id.set(nameBytes);
  new DataView(id.buffer).setUint32(nameBytes.length + 1, Number(version));
  return id;
}

// ---- Readers ---------------------------------------------------------------------------------

function readTable(
  state: StateReader,
  hash: HashFunction,
  table: string,
  id: Uint8Array,
): Uint8Array | undefined {
  return state.get(contractStateKeyOf(hash, REGISTRY_CONTRACT, table, id));
}

function readHead(state: StateReader, hash: HashFunction, name: string): ContractHead | undefined {
  if (!CONTRACT_NAME_PATTERN.test(name)) return undefined;
  const bytes = readTable(state, hash, REGISTRY_TABLES.contract, nameIdOf(name));
  if (bytes === undefined) return undefined;
  const head = decodeHead(bytes);
  assert(head.name === name, "a contract record sits under its own name");
  return head;
}

function activeOf(head: ContractHead): ActiveContract {
  return { name: head.name, version: head.version, codeHash: head.codeHash, frozen: head.frozen };
}

/** The version of `name` that runs, or undefined when no contract has that name. */
export function readActiveContract(
  state: StateReader,
  hash: HashFunction,
  name: string,
): ActiveContract | undefined {
  const head = readHead(state, hash, name);
  return head === undefined ? undefined : activeOf(head);
}

/** Every version of `name`, oldest first ([] when none). */
export function readContractVersions(
  state: StateReader,
  hash: HashFunction,
  name: string,
): ContractVersion[] {
  const head = readHead(state, hash, name);
  if (head === undefined) return [];
  const versions: ContractVersion[] = [];
  for (let version = 1n; version <= head.versionCount; version++) {
    const bytes = readTable(state, hash, REGISTRY_TABLES.version, versionIdOf(name, version));
    assert(bytes !== undefined, "every version of a contract is kept");
    const record = decodeVersion(bytes);
    assert(record.version === version, "a version sits under its own number");
    versions.push(record);
  }
  return versions;
}

/** The uploaded code record of a code hash, or undefined. */
export function readCodeRecord(
  state: StateReader,
  hash: HashFunction,
  codeHash: Uint8Array,
): CodeRecord | undefined {
  if (codeHash.length !== CODE_HASH_BYTES) return undefined;
  const bytes = readTable(state, hash, REGISTRY_TABLES.code, codeHash);
  if (bytes === undefined) return undefined;
  const record = decodeCodeRecord(bytes);
  assert(equalBytes(record.codeHash, codeHash), "code sits under its own hash");
  return record;
}

/** The code of a code hash (for the sandbox), or undefined when never uploaded. */
export function readContractCode(
  state: StateReader,
  hash: HashFunction,
  codeHash: Uint8Array,
): Uint8Array | undefined {
  return readCodeRecord(state, hash, codeHash)?.code;
}

export interface ContractPage {
  readonly contracts: readonly ActiveContract[];
  /** Deployed contracts in all. */
  readonly total: bigint;
  /** The `fromPosition` of the next page, or null at the end. */
  readonly nextPosition: bigint | null;
}

/** Deployed contracts in deployment order, from position `fromPosition` (0-based). */
export function listContracts(
  state: StateReader,
  hash: HashFunction,
  fromPosition = 0n,
  limit = REGISTRY_CONTRACTS_PAGE_MAX,
): ContractPage {
  assert(fromPosition >= 0n);
  assert(limit >= 1 && limit <= REGISTRY_CONTRACTS_PAGE_MAX, "pages are bounded");
  const total = decodeCount(readTable(state, hash, REGISTRY_TABLES.meta, COUNT_ID));
  const contracts: ActiveContract[] = [];
  let position = fromPosition;
  for (; position < total && contracts.length < limit; position++) {
    const entry = readTable(state, hash, REGISTRY_TABLES.list, u64IdOf(position));
    assert(entry !== undefined, "every position below the count holds a name");
    const head = readHead(state, hash, decodeListEntry(entry));
    assert(head !== undefined, "listed contracts exist");
    contracts.push(activeOf(head));
  }
  return { contracts, total, nextPosition: position < total ? position : null };
}

export interface ActiveContractJson {
  readonly name: string;
  readonly version: string;
  readonly codeHash: string;
  readonly frozen: boolean;
}

export interface ContractVersionJson {
  readonly name: string;
  readonly version: string;
  readonly codeHash: string;
  readonly deployer: string;
  readonly proposalId: string;
  readonly height: string;
  readonly timeMs: string;
  readonly txHash: string;
}

export function activeContractJson(contract: ActiveContract): ActiveContractJson {
  return {
    name: contract.name,
    version: contract.version.toString(),
    codeHash: bytesToHex(contract.codeHash),
    frozen: contract.frozen,
  };
}

export function contractVersionJson(version: ContractVersion): ContractVersionJson {
  return {
    name: version.name,
    version: version.version.toString(),
    codeHash: bytesToHex(version.codeHash),
    deployer: bytesToHex(version.deployer),
    proposalId: version.proposalId.toString(),
    height: version.height.toString(),
    timeMs: version.timeMs.toString(),
    txHash: bytesToHex(version.txHash),
  };
}

// ---- The contract ----------------------------------------------------------------------------

type RegistryResult = Result<Value, ExecutionError>;

function parseName(map: ValueMap): Result<string, ExecutionError> {
  return textField(map, "name", { bytesMax: 64, pattern: CONTRACT_NAME_PATTERN });
}

function requireGovernance(context: ContractContext, method: string): Result<void, ExecutionError> {
  if (context.caller.contract === GOVERNANCE_CALLER) return ok(undefined);
  return refuse("PERMISSION_DENIED", `registry.${method} runs only on an accepted governance proposal`, {
    method,
    callerContract: context.caller.contract ?? "",
  });
}

function contextHead(context: ContractContext, name: string): ContractHead | undefined {
  const bytes = context.state.get(REGISTRY_TABLES.contract, nameIdOf(name));
  return bytes === undefined ? undefined : decodeHead(bytes);
}

function notFound(name: string): { ok: false; error: ExecutionError } {
  return fail(new ExecutionError("REGISTRY_NOT_FOUND", "no deployed contract has this name", { name }));
}

function codeMissing(codeHash: Uint8Array): { ok: false; error: ExecutionError } {
  return fail(
    new ExecutionError("REGISTRY_CODE_MISSING", "no code with this hash was uploaded to the registry", {
      codeHash: bytesToHex(codeHash),
    }),
  );
}

function upload(context: ContractContext, args: Value): RegistryResult {
  const map = argsMapOf(args, ["code"]);
  if (!map.ok) return map;
  const code = map.value.code;
  if (!(code instanceof Uint8Array)) {
    return code === undefined
      ? refuse("EXEC_ARGS_FIELD_MISSING", 'the field "code" is required', { field: "code" })
      : refuse("EXEC_ARGS_FIELD_WRONG_TYPE", 'the field "code" must be bytes', { field: "code" });
  }
  if (code.length === 0) return refuse("EXEC_ARGS_FIELD_INVALID", "the code is empty", { field: "code" });
  if (code.length > CONTRACT_CODE_BYTES_MAX) {
    return refuse("REGISTRY_CODE_TOO_LARGE", `contract code is at most ${CONTRACT_CODE_BYTES_MAX} bytes`, {
      sizeBytes: code.length,
      sizeBytesMax: CONTRACT_CODE_BYTES_MAX,
    });
  }
  const allowed = context.require("upload");
  if (!allowed.ok) return allowed;
  const config = context.state.get(REGISTRY_TABLES.config, CONFIG_ID);
  if (config === undefined) {
    return refuse(
      "REGISTRY_NOT_CONFIGURED",
      "the registry has no suite (genesis initialState.registry.suite)",
    );
  }
  const codeHash = codeHashFunctionOf(decodeConfig(config))(code);
  assert(codeHash.length === CODE_HASH_BYTES, "suite hashes are 32 bytes");
  if (context.state.get(REGISTRY_TABLES.code, codeHash) !== undefined) {
    return refuse("REGISTRY_CODE_EXISTS", "this code is already uploaded", {
      codeHash: bytesToHex(codeHash),
    });
  }
  const record: CodeRecord = {
    codeHash,
    code: code.slice(),
    uploader: context.caller.keyId,
    height: context.height,
    timeMs: context.timeMs,
    txHash: context.txHash,
  };
  const encoded = encodeValue(codeRecordValue(record));
  assert(encoded.length <= CONTRACT_CODE_RECORD_BYTES_MAX, "the code limit bounds a code record");
  context.state.set(REGISTRY_TABLES.code, codeHash, encoded);
  context.emit(REGISTRY_EVENTS.uploaded, {
    codeHash,
    sizeBytes: BigInt(code.length),
    uploader: context.caller.keyId,
  });
  return ok({ codeHash });
}

interface BindArgs {
  readonly name: string;
  readonly codeHash: Uint8Array;
  readonly proposalId: bigint;
  readonly deployer: Uint8Array;
}

function parseBindArgs(args: Value): Result<BindArgs, ExecutionError> {
  const map = argsMapOf(args, ["name", "codeHash", "proposalId", "deployer"]);
  if (!map.ok) return map;
  const name = parseName(map.value);
  if (!name.ok) return name;
  const codeHash = fixedBytesField(map.value, "codeHash", CODE_HASH_BYTES);
  if (!codeHash.ok) return codeHash;
  const proposalId = integerField(map.value, "proposalId", 1n, I64_MAX);
  if (!proposalId.ok) return proposalId;
  const deployer = fixedBytesField(map.value, "deployer", KEY_ID_BYTES);
  if (!deployer.ok) return deployer;
  return ok({
    name: name.value,
    codeHash: codeHash.value,
    proposalId: proposalId.value,
    deployer: deployer.value,
  });
}

function writeVersion(context: ContractContext, bind: BindArgs, version: bigint): ContractVersion {
  const record: ContractVersion = {
    name: bind.name,
    version,
    codeHash: bind.codeHash,
    deployer: bind.deployer,
    proposalId: bind.proposalId,
    height: context.height,
    timeMs: context.timeMs,
    txHash: context.txHash,
  };
  context.state.set(
    REGISTRY_TABLES.version,
    versionIdOf(bind.name, version),
    encodeValue(contractVersionValue(record)),
  );
  return record;
}

function versionEvent(record: ContractVersion): ValueMap {
  return {
    name: record.name,
    version: record.version,
    codeHash: record.codeHash,
    deployer: record.deployer,
    proposalId: record.proposalId,
  };
}

function deploy(context: ContractContext, args: Value): RegistryResult {
  const allowed = requireGovernance(context, "deploy");
  if (!allowed.ok) return allowed;
  const parsed = parseBindArgs(args);
  if (!parsed.ok) return parsed;
  const bind = parsed.value;
  if (RESERVED_CONTRACT_NAMES.includes(bind.name)) {
    return refuse("REGISTRY_NAME_RESERVED", "this name belongs to a native contract", { name: bind.name });
  }
  if (contextHead(context, bind.name) !== undefined) {
    return refuse("REGISTRY_NAME_TAKEN", "a contract of this name is deployed (upgrade it instead)", {
      name: bind.name,
    });
  }
  if (context.state.get(REGISTRY_TABLES.code, bind.codeHash) === undefined) return codeMissing(bind.codeHash);
  const position = decodeCount(context.state.get(REGISTRY_TABLES.meta, COUNT_ID));
  const record = writeVersion(context, bind, 1n);
  const head: ContractHead = {
    name: bind.name,
    version: 1n,
    codeHash: bind.codeHash,
    frozen: false,
    position,
    versionCount: 1n,
  };
  context.state.set(REGISTRY_TABLES.contract, nameIdOf(bind.name), encodeValue(headValue(head)));
  context.state.set(
    REGISTRY_TABLES.list,
    u64IdOf(position),
    encodeValue({ version: REGISTRY_RECORD_VERSION, name: bind.name }),
  );
  context.state.set(REGISTRY_TABLES.meta, COUNT_ID, encodeCount(position + 1n));
  context.emit(REGISTRY_EVENTS.deployed, versionEvent(record));
  return ok({ name: bind.name, version: 1n, codeHash: bind.codeHash });
}

function upgrade(context: ContractContext, args: Value): RegistryResult {
  const allowed = requireGovernance(context, "upgrade");
  if (!allowed.ok) return allowed;
  const parsed = parseBindArgs(args);
  if (!parsed.ok) return parsed;
  const bind = parsed.value;
  const head = contextHead(context, bind.name);
  if (head === undefined) return notFound(bind.name);
  if (head.frozen) {
    return refuse("REGISTRY_FROZEN", "a frozen contract cannot be upgraded (unfreeze it first)", {
      name: bind.name,
    });
  }
  if (context.state.get(REGISTRY_TABLES.code, bind.codeHash) === undefined) return codeMissing(bind.codeHash);
  if (equalBytes(head.codeHash, bind.codeHash)) {
    return refuse("REGISTRY_CODE_UNCHANGED", "this code is already the contract's active version", {
      name: bind.name,
      version: head.version,
    });
  }
  const version = head.versionCount + 1n;
  const record = writeVersion(context, bind, version);
  const next: ContractHead = { ...head, version, codeHash: bind.codeHash, versionCount: version };
  context.state.set(REGISTRY_TABLES.contract, nameIdOf(bind.name), encodeValue(headValue(next)));
  context.emit(REGISTRY_EVENTS.upgraded, { ...versionEvent(record), previousVersion: head.version });
  return ok({ name: bind.name, version, codeHash: bind.codeHash });
}

function setFrozen(context: ContractContext, args: Value, frozen: boolean): RegistryResult {
  const method = frozen ? "freeze" : "unfreeze";
  const allowed = requireGovernance(context, method);
  if (!allowed.ok) return allowed;
  const map = argsMapOf(args, ["name", "proposalId"]);
  if (!map.ok) return map;
  const name = parseName(map.value);
  if (!name.ok) return name;
  const proposalId = integerField(map.value, "proposalId", 1n, I64_MAX);
  if (!proposalId.ok) return proposalId;
  const head = contextHead(context, name.value);
  if (head === undefined) return notFound(name.value);
  if (head.frozen === frozen) {
    return frozen
      ? refuse("REGISTRY_FROZEN", "the contract is already frozen", { name: name.value })
      : refuse("REGISTRY_NOT_FROZEN", "the contract is not frozen", { name: name.value });
  }
  context.state.set(
    REGISTRY_TABLES.contract,
    nameIdOf(name.value),
    encodeValue(headValue({ ...head, frozen })),
  );
  context.emit(frozen ? REGISTRY_EVENTS.frozen : REGISTRY_EVENTS.unfrozen, {
    name: name.value,
    version: head.version,
    proposalId: proposalId.value,
  });
  return ok({ name: name.value, frozen });
}

function get(context: ContractContext, args: Value): RegistryResult {
  const map = argsMapOf(args, ["name"]);
  if (!map.ok) return map;
  const name = parseName(map.value);
  if (!name.ok) return name;
  const head = contextHead(context, name.value);
  if (head === undefined) return ok(null);
  return ok({ name: head.name, version: head.version, codeHash: head.codeHash, frozen: head.frozen });
}

/** `initialState.registry`: `{suite}`. */
function initialize(context: ContractContext, section: Value): RegistryResult {
  const map = argsMapOf(section, ["suite"]);
  if (!map.ok) return map;
  const suite = map.value.suite;
  const suiteName = SUITE_NAMES.find((name) => name === suite);
  if (suiteName === undefined) {
    return refuse("EXEC_ARGS_FIELD_INVALID", "initialState.registry.suite must name the chain's suite", {
      field: "suite",
    });
  }
  if (context.state.get(REGISTRY_TABLES.config, CONFIG_ID) !== undefined) {
    return refuse("REGISTRY_ALREADY_INITIALIZED", "the registry is already configured");
  }
  context.state.set(
    REGISTRY_TABLES.config,
    CONFIG_ID,
    encodeValue({ version: REGISTRY_RECORD_VERSION, suite: suiteName }),
  );
  return ok(null);
}

/** The registry section of a genesis `initialState` for a chain of `suite`. */
export function registryInitialSection(suite: SuiteName): ValueMap {
  return { suite };
}

export const registryContract: NativeContract = {
  name: REGISTRY_CONTRACT,
  execute(context, method, args) {
    switch (method) {
      case "upload":
        return upload(context, args);
      case "deploy":
        return deploy(context, args);
      case "upgrade":
        return upgrade(context, args);
      case "freeze":
        return setFrozen(context, args, true);
      case "unfreeze":
        return setFrozen(context, args, false);
      case "get":
        return get(context, args);
      default:
        return refuse("EXEC_METHOD_UNKNOWN", "the registry has no such method", {
          method: method.slice(0, 64),
        });
    }
  },
  initialize,
};
