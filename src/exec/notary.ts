/**
 * The `notary` system contract: anchors the hash of an official document (a policy, a permit,
 * meeting minutes) so that anyone holding the document can later prove it existed, unchanged,
 * at a block height and time, signed by a known key. The document itself stays off chain.
 *
 * Methods (docs/PROTOCOL.md, "Execution", has the byte layouts and a vector):
 *
 *   anchor  {algorithm: "sha256" | "sm3", documentHash: bytes 32, title: text,
 *            documentType: text, description?: text, uri?: text}
 *           Records the document with the signer's key id, the height, the block time and the
 *           transaction hash. A document hash already anchored (revoked or not) fails with
 *           NOTARY_ALREADY_ANCHORED: one hash, one record, forever.
 *   revoke  {documentHash: bytes 32, reason?: text}
 *           Only the original signer may revoke; the record keeps its anchor and gains a
 *           revocation (signer, height, time, transaction hash, reason). History is never lost.
 *
 * Lookup is a state read: `readNotaryRecord(state, hash, documentHash)`, or the raw value at
 * `notaryRecordKeyOf(hash, documentHash)` with its state proof. Records are keyed by the 32-byte
 * document hash alone (the algorithm is a field of the record), so one lookup answers "was this
 * document anchored?"; two documents whose SHA-256 and SM3 digests coincide cannot exist in
 * practice.
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes } from "../base/bytes.ts";
import { fail, ok, type Result } from "../base/errors.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { DecodeError } from "../encoding/errors.ts";
import { decodeValue, encodeValue, type Value, type ValueMap } from "../encoding/value.ts";
import { KEY_ID_BYTES } from "../ledger/key-id.ts";
import { argsMapOf, fixedBytesField, isValueMap, optionalTextField, textField } from "./args.ts";
import type { ContractContext, SystemContract } from "./contract.ts";
import { ExecutionError } from "./errors.ts";
import {
  NOTARY_DESCRIPTION_BYTES_MAX,
  NOTARY_DOCUMENT_TYPE_BYTES_MAX,
  NOTARY_REASON_BYTES_MAX,
  NOTARY_RECORD_BYTES_MAX,
  NOTARY_TITLE_BYTES_MAX,
  NOTARY_URI_BYTES_MAX,
} from "./limits.ts";
import { contractStateKeyOf } from "./state-keys.ts";
import type { StateReader } from "./state-view.ts";

export const NOTARY_CONTRACT = "notary";
export const NOTARY_RECORD_TABLE = "record";
export const NOTARY_RECORD_VERSION = 1n;
export const DOCUMENT_HASH_BYTES = 32;
export const TX_HASH_BYTES = 32;
/** Digest algorithms a document hash may come from. */
export const DOCUMENT_HASH_ALGORITHMS = ["sha256", "sm3"] as const;
export type DocumentHashAlgorithm = (typeof DOCUMENT_HASH_ALGORITHMS)[number];
/** Document types: any short lower-case name; the portal offers the conventional ones. */
export const NOTARY_DOCUMENT_TYPE_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export const NOTARY_DOCUMENT_TYPES_CONVENTIONAL = [
  "policy",
  "permit",
  "certificate",
  "minutes",
  "report",
  "other",
] as const;
/** A URI with a scheme, printable ASCII without spaces (`https://…`, `urn:…`, `ipfs://…`). */
export const NOTARY_URI_PATTERN = /^[A-Za-z][A-Za-z0-9+.-]*:[!-~]+$/;
export const NOTARY_EVENT_ANCHORED = "anchored";
export const NOTARY_EVENT_REVOKED = "revoked";

const I64_MAX = (1n << 63n) - 1n;

/** Who did something to a record, when, and in which transaction. */
export interface NotaryProvenance {
  /** Key id of the signer. */
  readonly signer: Uint8Array;
  readonly height: bigint;
  /** Block time, ms since the Unix epoch. */
  readonly timeMs: bigint;
  readonly txHash: Uint8Array;
}

export interface NotaryRevocation extends NotaryProvenance {
  readonly reason: string | null;
}

export interface NotaryRecord {
  readonly algorithm: DocumentHashAlgorithm;
  readonly documentHash: Uint8Array;
  readonly title: string;
  readonly documentType: string;
  readonly description: string | null;
  readonly uri: string | null;
  readonly anchor: NotaryProvenance;
  readonly revocation: NotaryRevocation | null;
}

export interface AnchorArgs {
  readonly algorithm: DocumentHashAlgorithm;
  readonly documentHash: Uint8Array;
  readonly title: string;
  readonly documentType: string;
  readonly description: string | null;
  readonly uri: string | null;
}

export interface RevokeArgs {
  readonly documentHash: Uint8Array;
  readonly reason: string | null;
}

const ANCHOR_FIELDS = ["algorithm", "documentHash", "title", "documentType", "description", "uri"];
const REVOKE_FIELDS = ["documentHash", "reason"];

function isAlgorithm(text: string): text is DocumentHashAlgorithm {
  return (DOCUMENT_HASH_ALGORITHMS as readonly string[]).includes(text);
}

export function parseAnchorArgs(args: Value): Result<AnchorArgs, ExecutionError> {
  const map = argsMapOf(args, ANCHOR_FIELDS);
  if (!map.ok) return map;
  const algorithm = textField(map.value, "algorithm", { bytesMax: 16 });
  if (!algorithm.ok) return algorithm;
  if (!isAlgorithm(algorithm.value)) {
    return fail(
      new ExecutionError(
        "NOTARY_ALGORITHM_UNSUPPORTED",
        "the document hash algorithm must be sha256 or sm3",
        {
          field: "algorithm",
          algorithmsSupported: DOCUMENT_HASH_ALGORITHMS.join(","),
        },
      ),
    );
  }
  const documentHash = fixedBytesField(map.value, "documentHash", DOCUMENT_HASH_BYTES);
  if (!documentHash.ok) return documentHash;
  const title = textField(map.value, "title", { bytesMax: NOTARY_TITLE_BYTES_MAX });
  if (!title.ok) return title;
  const documentType = textField(map.value, "documentType", {
    bytesMax: NOTARY_DOCUMENT_TYPE_BYTES_MAX,
    pattern: NOTARY_DOCUMENT_TYPE_PATTERN,
  });
  if (!documentType.ok) return documentType;
  const description = optionalTextField(map.value, "description", {
    bytesMax: NOTARY_DESCRIPTION_BYTES_MAX,
    newlinesAllowed: true,
  });
  if (!description.ok) return description;
  const uri = optionalTextField(map.value, "uri", {
    bytesMax: NOTARY_URI_BYTES_MAX,
    pattern: NOTARY_URI_PATTERN,
  });
  if (!uri.ok) return uri;
  return ok({
    algorithm: algorithm.value,
    documentHash: documentHash.value,
    title: title.value,
    documentType: documentType.value,
    description: description.value,
    uri: uri.value,
  });
}

export function parseRevokeArgs(args: Value): Result<RevokeArgs, ExecutionError> {
  const map = argsMapOf(args, REVOKE_FIELDS);
  if (!map.ok) return map;
  const documentHash = fixedBytesField(map.value, "documentHash", DOCUMENT_HASH_BYTES);
  if (!documentHash.ok) return documentHash;
  const reason = optionalTextField(map.value, "reason", {
    bytesMax: NOTARY_REASON_BYTES_MAX,
    newlinesAllowed: true,
  });
  if (!reason.ok) return reason;
  return ok({ documentHash: documentHash.value, reason: reason.value });
}

// ---- Record encoding -------------------------------------------------------------------------

function provenanceValue(provenance: NotaryProvenance): Record<string, Value> {
  assert(provenance.signer.length === KEY_ID_BYTES, "signers are key ids");
  assert(provenance.txHash.length === TX_HASH_BYTES, "transaction hashes are 32 bytes");
  assert(provenance.height >= 0n, "heights fit a canonical integer");
  assert(provenance.height <= I64_MAX, "heights fit a canonical integer");
  assert(provenance.timeMs >= 0n, "times fit a canonical integer");
  assert(provenance.timeMs <= I64_MAX, "times fit a canonical integer");
  return {
    signer: provenance.signer,
    height: provenance.height,
    timeMs: provenance.timeMs,
    txHash: provenance.txHash,
  };
}

/** The record as a canonical value: optional fields are omitted when absent. */
export function notaryRecordValue(record: NotaryRecord): ValueMap {
  assert(record.documentHash.length === DOCUMENT_HASH_BYTES);
  const value: Record<string, Value> = {
    version: NOTARY_RECORD_VERSION,
    algorithm: record.algorithm,
    documentHash: record.documentHash,
    title: record.title,
    documentType: record.documentType,
    anchor: provenanceValue(record.anchor),
  };
  if (record.description !== null) value.description = record.description;
  if (record.uri !== null) value.uri = record.uri;
  if (record.revocation !== null) {
    const revocation = provenanceValue(record.revocation);
    if (record.revocation.reason !== null) revocation.reason = record.revocation.reason;
    value.revocation = revocation;
  }
  return value;
}

export function encodeNotaryRecord(record: NotaryRecord): Uint8Array {
  const encoded = encodeValue(notaryRecordValue(record));
  assert(encoded.length <= NOTARY_RECORD_BYTES_MAX, "field limits bound a notary record");
  return encoded;
}

function invalid(message: string): DecodeError {
  return new DecodeError("DECODE_INVALID_VALUE", `notary record: ${message}`);
}

function expectKeys(map: ValueMap, required: readonly string[], optional: readonly string[]): void {
  for (const key of required) if (!Object.hasOwn(map, key)) throw invalid(`${key} is missing`);
  for (const key of Object.keys(map)) {
    if (!required.includes(key) && !optional.includes(key))
      throw invalid(`unknown field ${key.slice(0, 64)}`);
  }
}

function expectBytes(map: ValueMap, key: string, sizeBytes: number): Uint8Array {
  const value = map[key];
  if (!(value instanceof Uint8Array) || value.length !== sizeBytes)
    throw invalid(`${key} is not ${sizeBytes} bytes`);
  return value;
}

function expectText(map: ValueMap, key: string): string {
  const value = map[key];
  if (typeof value !== "string") throw invalid(`${key} is not text`);
  return value;
}

function expectOptionalText(map: ValueMap, key: string): string | null {
  return Object.hasOwn(map, key) ? expectText(map, key) : null;
}

function expectNatural(map: ValueMap, key: string): bigint {
  const value = map[key];
  if (typeof value !== "bigint" || value < 0n) throw invalid(`${key} is not a natural number`);
  return value;
}

function expectMap(map: ValueMap, key: string): ValueMap {
  const value = map[key];
  if (value === undefined || !isValueMap(value)) throw invalid(`${key} is not a map`);
  return value;
}

const PROVENANCE_FIELDS = ["signer", "height", "timeMs", "txHash"];

function readProvenance(map: ValueMap): NotaryProvenance {
  return {
    signer: expectBytes(map, "signer", KEY_ID_BYTES),
    height: expectNatural(map, "height"),
    timeMs: expectNatural(map, "timeMs"),
    txHash: expectBytes(map, "txHash", TX_HASH_BYTES),
  };
}

/** Decodes a stored record; any other bytes throw DecodeError. */
export function decodeNotaryRecord(bytes: Uint8Array): NotaryRecord {
  const value = decodeValue(bytes, NOTARY_RECORD_BYTES_MAX);
  if (!isValueMap(value)) throw invalid("not a map");
  expectKeys(
    value,
    ["version", "algorithm", "documentHash", "title", "documentType", "anchor"],
    ["description", "uri", "revocation"],
  );
  if (value.version !== NOTARY_RECORD_VERSION) throw invalid("unknown version");
  const algorithm = expectText(value, "algorithm");
  if (!isAlgorithm(algorithm)) throw invalid("unknown algorithm");
  const anchor = expectMap(value, "anchor");
  expectKeys(anchor, PROVENANCE_FIELDS, []);
  let revocation: NotaryRevocation | null = null;
  if (Object.hasOwn(value, "revocation")) {
    const revocationMap = expectMap(value, "revocation");
    expectKeys(revocationMap, PROVENANCE_FIELDS, ["reason"]);
    revocation = { ...readProvenance(revocationMap), reason: expectOptionalText(revocationMap, "reason") };
  }
  return {
    algorithm,
    documentHash: expectBytes(value, "documentHash", DOCUMENT_HASH_BYTES),
    title: expectText(value, "title"),
    documentType: expectText(value, "documentType"),
    description: expectOptionalText(value, "description"),
    uri: expectOptionalText(value, "uri"),
    anchor: readProvenance(anchor),
    revocation,
  };
}

// ---- Lookup ----------------------------------------------------------------------------------

/** The state key of a document's record. */
export function notaryRecordKeyOf(hash: HashFunction, documentHash: Uint8Array): Uint8Array {
  assert(documentHash.length === DOCUMENT_HASH_BYTES, "document hashes are 32 bytes");
  return contractStateKeyOf(hash, NOTARY_CONTRACT, NOTARY_RECORD_TABLE, documentHash);
}

/** The record of a document hash in `state`, or undefined when it was never anchored. */
export function readNotaryRecord(
  state: StateReader,
  hash: HashFunction,
  documentHash: Uint8Array,
): NotaryRecord | undefined {
  const value = state.get(notaryRecordKeyOf(hash, documentHash));
  if (value === undefined) return undefined;
  const record = decodeNotaryRecord(value);
  assert(equalBytes(record.documentHash, documentHash), "a record sits under its own document hash");
  return record;
}

export interface NotaryProvenanceJson {
  readonly signer: string;
  readonly height: string;
  readonly timeMs: string;
  readonly txHash: string;
}

/** A record in JSON-ready form: bytes as lower-case hex, integers as decimal strings. */
export interface NotaryRecordJson {
  readonly algorithm: DocumentHashAlgorithm;
  readonly documentHash: string;
  readonly title: string;
  readonly documentType: string;
  readonly description: string | null;
  readonly uri: string | null;
  readonly anchor: NotaryProvenanceJson;
  readonly revocation: (NotaryProvenanceJson & { readonly reason: string | null }) | null;
}

function provenanceJson(provenance: NotaryProvenance): NotaryProvenanceJson {
  return {
    signer: bytesToHex(provenance.signer),
    height: provenance.height.toString(),
    timeMs: provenance.timeMs.toString(),
    txHash: bytesToHex(provenance.txHash),
  };
}

export function notaryRecordJson(record: NotaryRecord): NotaryRecordJson {
  return {
    algorithm: record.algorithm,
    documentHash: bytesToHex(record.documentHash),
    title: record.title,
    documentType: record.documentType,
    description: record.description,
    uri: record.uri,
    anchor: provenanceJson(record.anchor),
    revocation:
      record.revocation === null
        ? null
        : { ...provenanceJson(record.revocation), reason: record.revocation.reason },
  };
}

// ---- The contract ----------------------------------------------------------------------------

function provenanceOf(context: ContractContext): NotaryProvenance {
  return {
    signer: context.senderKeyId,
    height: context.height,
    timeMs: context.timeMs,
    txHash: context.txHash,
  };
}

function anchor(context: ContractContext, args: Value): Result<Value, ExecutionError> {
  const parsed = parseAnchorArgs(args);
  if (!parsed.ok) return parsed;
  const existing = context.state.get(NOTARY_RECORD_TABLE, parsed.value.documentHash);
  if (existing !== undefined) {
    const record = decodeNotaryRecord(existing);
    return fail(
      new ExecutionError("NOTARY_ALREADY_ANCHORED", "this document hash is already anchored", {
        documentHash: bytesToHex(parsed.value.documentHash),
        anchoredAtHeight: record.anchor.height,
      }),
    );
  }
  const record: NotaryRecord = { ...parsed.value, anchor: provenanceOf(context), revocation: null };
  context.state.set(NOTARY_RECORD_TABLE, record.documentHash, encodeNotaryRecord(record));
  // `key` (the document hash) is the event's indexed key: ?key=<hash> finds its history.
  context.emit(NOTARY_EVENT_ANCHORED, { ...notaryRecordValue(record), key: record.documentHash });
  return ok(null);
}

function revoke(context: ContractContext, args: Value): Result<Value, ExecutionError> {
  const parsed = parseRevokeArgs(args);
  if (!parsed.ok) return parsed;
  const documentHash = parsed.value.documentHash;
  const existing = context.state.get(NOTARY_RECORD_TABLE, documentHash);
  if (existing === undefined) {
    return fail(
      new ExecutionError("NOTARY_NOT_FOUND", "no record of this document hash exists", {
        documentHash: bytesToHex(documentHash),
      }),
    );
  }
  const record = decodeNotaryRecord(existing);
  if (!equalBytes(record.anchor.signer, context.senderKeyId)) {
    return fail(
      new ExecutionError("NOTARY_NOT_SIGNER", "only the key that anchored a document may revoke it", {
        documentHash: bytesToHex(documentHash),
      }),
    );
  }
  if (record.revocation !== null) {
    return fail(
      new ExecutionError("NOTARY_ALREADY_REVOKED", "this document was already revoked", {
        documentHash: bytesToHex(documentHash),
        revokedAtHeight: record.revocation.height,
      }),
    );
  }
  const revoked: NotaryRecord = {
    ...record,
    revocation: { ...provenanceOf(context), reason: parsed.value.reason },
  };
  context.state.set(NOTARY_RECORD_TABLE, documentHash, encodeNotaryRecord(revoked));
  context.emit(NOTARY_EVENT_REVOKED, { ...notaryRecordValue(revoked), key: revoked.documentHash });
  return ok(null);
}

export const notaryContract: SystemContract = {
  name: NOTARY_CONTRACT,
  execute(context, method, args) {
    switch (method) {
      case "anchor":
        return anchor(context, args);
      case "revoke":
        return revoke(context, args);
      default:
        return fail(
          new ExecutionError("EXEC_METHOD_UNKNOWN", "the notary contract has no such method", {
            contract: NOTARY_CONTRACT,
            method: method.slice(0, 64),
            methods: "anchor,revoke",
          }),
        );
    }
  },
};
