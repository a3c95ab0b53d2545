/**
 * The `governance` system contract: the city's committee decides, by weighted vote, what no
 * single key may change alone: organizations, the validator set and the peers it admits,
 * deployed contracts, permissions, chain parameters and the committee itself.
 *
 * Committee: seats (key id, weight 1..GOV_SEAT_WEIGHT_MAX, at most GOV_COMMITTEE_SEATS_MAX),
 * `quorumPercent` and `thresholdPercent` (integers 1..100) and `votingPeriodMs`. Set at genesis
 * by `initialize`, changed only by a `committee.set` proposal. A proposal keeps a snapshot of
 * the committee that was in office when it was made: its seats vote on it, with those weights
 * and percentages, even if the committee changes meanwhile.
 *
 * Methods (all called by a transaction directly: a call from another contract fails with
 * PERMISSION_DENIED, so a deployed contract cannot make a committee member vote unawares):
 *
 *   propose {kind, payload, title, description?}   by a seat holder (GOV_NOT_COMMITTEE_MEMBER)
 *           Records proposal number count + 1 (sequential from 1) with the proposer, the
 *           committee snapshot and `deadlineMs` = block time + votingPeriodMs; returns
 *           {proposalId, deadlineMs}. Kinds and payloads: see PROPOSAL_KINDS and the docs
 *           (docs/PROTOCOL.md, "Execution"); the payload is checked as far as it can be before
 *           the vote (shape, ranges, names), the rest when it executes.
 *   vote    {proposalId, choice: "yes" | "no" | "abstain"}   by a seat of the snapshot
 *           Once per seat (GOV_ALREADY_VOTED), while the proposal is open and the block time is
 *           before its deadline (GOV_VOTING_CLOSED). After the vote, with W the snapshot's total
 *           weight: accepted when yes·100 ≥ thresholdPercent·W and (yes+no+abstain)·100 ≥
 *           quorumPercent·W; rejected when even every missing vote as yes could not reach the
 *           threshold. An accepted proposal executes in the same transaction: through
 *           `context.call` into `org`, `permission` or `registry`, or on governance's own tables
 *           (validator set, admitted nodes, parameters, committee). If that execution fails the
 *           proposal is recorded as `failed` with the error's code, and the vote transaction
 *           still succeeds: the vote counts and the history shows why nothing changed (the
 *           target's writes are dropped). Only an executor-level failure (out of gas, a state
 *           or event limit of the transaction) fails the vote itself.
 *   close   {proposalId}   by anyone
 *           Records `expired` for an open proposal whose deadline has passed (GOV_VOTING_OPEN
 *           before it, GOV_VOTING_CLOSED when already decided). Readers report such a proposal
 *           as expired anyway (`proposalStatusAt`); a late vote fails with GOV_VOTING_CLOSED and,
 *           since a failed transaction keeps no writes, records nothing.
 *
 * History: every proposal is kept forever with its votes (voter, choice, height, time), its
 * status (open, executed, failed, rejected, expired), when it was decided and the error code of
 * a failed execution. Events: `proposed`, `voted`, `accepted`, `rejected`, `executed`,
 * `failed`, `expired` (small maps naming the proposal; the record holds the rest).
 *
 * Genesis section (`initialState.governance`, see `governanceInitialSection`):
 *   {committee: {seats: [{keyId, weight}], quorumPercent, thresholdPercent, votingPeriodMs},
 *    validatorSet?: {suite, validators: [{publicKey, power}]},  // the genesis set: required for
 *                                                             // validator.set proposals
 *    parameters?: {txGasMax?}}
 *
 * Validator set: `validator.set` changes the latest decided set (the genesis set, kept from the
 * section, until the first change) and records the result with recordValidatorSetChange
 * (validator-set-changes.ts): a set decided at height H signs from H + 2.
 *
 * Tables (docs/PROTOCOL.md, "Execution", 13.10): `committee` ("current"), `meta` ("proposals"),
 * `proposal` (u64 BE id), `validators` ("genesis"), `validator-set-change`, `node` (validator
 * public key), `parameter` (UTF-8 name).
 *
 * Readers: readCommittee, readProposal, listProposals, readValidatorSet, readAdmittedNodes,
 * readParameters.
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { assert } from "../../base/assert.ts";
import { bytesToHex, compareBytes, equalBytes } from "../../base/bytes.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import { PUBLIC_KEY_BYTES_MAX, VALIDATORS_MAX, VOTING_POWER_MAX } from "../../base/limits.ts";
import { portableSuiteByName } from "../../crypto/portable.ts";
import type { HashFunction, SignatureSuite, SuiteName } from "../../crypto/suite.ts";
import { DecodeError } from "../../encoding/errors.ts";
import { decodeValue, encodeValue, type Value, type ValueMap } from "../../encoding/value.ts";
import { KEY_ID_BYTES } from "../../ledger/key-id.ts";
import { CONTRACT_NAME_PATTERN } from "../../ledger/validate-transaction.ts";
import {
  decodeValidatorSet,
  encodeValidatorSet,
  type Validator,
  type ValidatorSet,
} from "../../ledger/validator-set.ts";
import { argsMapOf, fixedBytesField, isValueMap, optionalTextField, textField } from "../args.ts";
import type { ContractContext, NativeContract } from "../contract.ts";
import { ExecutionError } from "../errors.ts";
import {
  GOV_COMMITTEE_SEATS_MAX,
  GOV_DESCRIPTION_BYTES_MAX,
  GOV_PAYLOAD_BYTES_MAX,
  GOV_PROPOSAL_RECORD_BYTES_MAX,
  GOV_PROPOSALS_PAGE_MAX,
  GOV_SEAT_WEIGHT_MAX,
  GOV_TITLE_BYTES_MAX,
  GOV_TX_GAS_MAX_MIN,
  GOV_VOTING_PERIOD_MS_MAX,
  GOV_VOTING_PERIOD_MS_MIN,
  TX_GAS_MAX_DEFAULT,
  TX_GAS_MAX_LIMIT,
} from "../limits.ts";
import { contractStateKeyOf } from "../state-keys.ts";
import type { StateReader } from "../state-view.ts";
import { PROPOSAL_KINDS, type ProposalKind } from "./proposal-kinds.ts";
import {
  bytesField,
  choiceField,
  I64_MAX,
  integerField,
  listField,
  mapField,
  RecordReader,
  refuse,
  UTF8,
  u64IdOf,
} from "./record-fields.ts";
import { RESERVED_CONTRACT_NAMES } from "./registry.ts";
import {
  latestValidatorSet,
  readValidatorSetChanges,
  recordValidatorSetChange,
} from "./validator-set-changes.ts";

export const GOVERNANCE_CONTRACT = "governance";
export const GOVERNANCE_RECORD_VERSION = 1n;
export const GOVERNANCE_TABLES = {
  committee: "committee",
  proposal: "proposal",
  meta: "meta",
  validators: "validators",
  node: "node",
  parameter: "parameter",
} as const;

export { PROPOSAL_KINDS, type ProposalKind } from "./proposal-kinds.ts";

export const VOTE_CHOICES = ["yes", "no", "abstain"] as const;
export type VoteChoice = (typeof VOTE_CHOICES)[number];

export const PROPOSAL_STATUSES = ["open", "executed", "failed", "rejected", "expired"] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

export const GOVERNANCE_EVENTS = {
  proposed: "proposed",
  voted: "voted",
  accepted: "accepted",
  rejected: "rejected",
  executed: "executed",
  failed: "failed",
  expired: "expired",
} as const;

/** Chain parameters governance sets (`parameter.set`), with their bounds and defaults. */
export const CHAIN_PARAMETERS = {
  /** Gas limit of one transaction. */
  txGasMax: { min: GOV_TX_GAS_MAX_MIN, max: TX_GAS_MAX_LIMIT, default: TX_GAS_MAX_DEFAULT },
} as const;
export type ChainParameterName = keyof typeof CHAIN_PARAMETERS;
const PARAMETER_NAMES = Object.keys(CHAIN_PARAMETERS).sort() as ChainParameterName[];

export type ChainParameters = { readonly [Name in ChainParameterName]: bigint };

/** Peer names of admitted nodes, as in the genesis document (1..64 bytes). */
export const NODE_NAME_BYTES_MAX = 64;
/** Node keys authenticate peers: Ed25519 public keys on every chain. */
export const NODE_KEY_BYTES = 32;

const COMMITTEE_ID = UTF8.encode("current");
/** The genesis validator set, kept so that `validator.set` knows the set it changes. */
const GENESIS_VALIDATORS_ID = UTF8.encode("genesis");
const PROPOSAL_COUNT_ID = UTF8.encode("proposals");
const SMALL_RECORD_BYTES_MAX = 16 * 1024;
const SUITE_NAMES: readonly SuiteName[] = ["ed25519", "sm2-sm3"];

// ---- Records ---------------------------------------------------------------------------------

export interface Seat {
  readonly keyId: Uint8Array;
  readonly weight: bigint;
}

export interface CommitteeRules {
  /** Sorted by key id, without duplicates. */
  readonly seats: readonly Seat[];
  readonly quorumPercent: bigint;
  readonly thresholdPercent: bigint;
  readonly votingPeriodMs: bigint;
}

export interface Committee extends CommitteeRules {
  /** The proposal that installed it; 0 for the genesis committee. */
  readonly proposalId: bigint;
  readonly height: bigint;
}

export interface Vote {
  readonly voter: Uint8Array;
  readonly choice: VoteChoice;
  readonly height: bigint;
  readonly timeMs: bigint;
}

export interface Proposal {
  readonly id: bigint;
  readonly kind: ProposalKind;
  readonly payload: Value;
  readonly title: string;
  readonly description: string | null;
  readonly proposer: Uint8Array;
  readonly height: bigint;
  readonly timeMs: bigint;
  readonly txHash: Uint8Array;
  readonly deadlineMs: bigint;
  /** The committee in office when it was proposed: who votes, with what weight and rules. */
  readonly seats: readonly Seat[];
  readonly quorumPercent: bigint;
  readonly thresholdPercent: bigint;
  /** In the order cast. */
  readonly votes: readonly Vote[];
  /** As recorded; see `proposalStatusAt` for what it is at a given time. */
  readonly status: ProposalStatus;
  readonly decidedHeight: bigint | null;
  readonly decidedTimeMs: bigint | null;
  /** The error code of a `failed` execution. */
  readonly errorCode: string | null;
}

export interface AdmittedNode {
  readonly name: string;
  readonly nodeKey: Uint8Array;
  /** The validator whose `validator.set` proposal admitted it. */
  readonly validatorPublicKey: Uint8Array;
  readonly proposalId: bigint;
}

function seatsValue(seats: readonly Seat[]): Value[] {
  return seats.map((seat) => ({ keyId: seat.keyId, weight: seat.weight }));
}

function readSeats(reader: RecordReader, key: string): Seat[] {
  return reader.list(key).map((item) => {
    const seat = new RecordReader("seat", item, ["keyId", "weight"]);
    return { keyId: seat.bytes("keyId", KEY_ID_BYTES), weight: seat.natural("weight") };
  });
}

export function committeeValue(committee: Committee): ValueMap {
  return {
    version: GOVERNANCE_RECORD_VERSION,
    seats: seatsValue(committee.seats),
    quorumPercent: committee.quorumPercent,
    thresholdPercent: committee.thresholdPercent,
    votingPeriodMs: committee.votingPeriodMs,
    proposalId: committee.proposalId,
    height: committee.height,
  };
}

function decodeCommittee(bytes: Uint8Array): Committee {
  const reader = new RecordReader("committee", decodeValue(bytes, SMALL_RECORD_BYTES_MAX), [
    "version",
    "seats",
    "quorumPercent",
    "thresholdPercent",
    "votingPeriodMs",
    "proposalId",
    "height",
  ]);
  if (reader.natural("version") !== GOVERNANCE_RECORD_VERSION) throw reader.invalid("unknown version");
  return {
    seats: readSeats(reader, "seats"),
    quorumPercent: reader.natural("quorumPercent"),
    thresholdPercent: reader.natural("thresholdPercent"),
    votingPeriodMs: reader.natural("votingPeriodMs"),
    proposalId: reader.natural("proposalId"),
    height: reader.natural("height"),
  };
}

export function proposalValue(proposal: Proposal): ValueMap {
  const value: Record<string, Value> = {
    version: GOVERNANCE_RECORD_VERSION,
    id: proposal.id,
    kind: proposal.kind,
    payload: proposal.payload,
    title: proposal.title,
    proposer: proposal.proposer,
    height: proposal.height,
    timeMs: proposal.timeMs,
    txHash: proposal.txHash,
    deadlineMs: proposal.deadlineMs,
    seats: seatsValue(proposal.seats),
    quorumPercent: proposal.quorumPercent,
    thresholdPercent: proposal.thresholdPercent,
    votes: proposal.votes.map((vote) => ({
      voter: vote.voter,
      choice: vote.choice,
      height: vote.height,
      timeMs: vote.timeMs,
    })),
    status: proposal.status,
  };
  if (proposal.description !== null) value.description = proposal.description;
  if (proposal.decidedHeight !== null) value.decidedHeight = proposal.decidedHeight;
  if (proposal.decidedTimeMs !== null) value.decidedTimeMs = proposal.decidedTimeMs;
  if (proposal.errorCode !== null) value.errorCode = proposal.errorCode;
  return value;
}

export function encodeProposal(proposal: Proposal): Uint8Array {
  const encoded = encodeValue(proposalValue(proposal));
  assert(encoded.length <= GOV_PROPOSAL_RECORD_BYTES_MAX, "field limits bound a proposal record");
  return encoded;
}

export function decodeProposal(bytes: Uint8Array): Proposal {
  const reader = new RecordReader(
    "proposal",
    decodeValue(bytes, GOV_PROPOSAL_RECORD_BYTES_MAX),
    [
      "version",
      "id",
      "kind",
      "payload",
      "title",
      "proposer",
      "height",
      "timeMs",
      "txHash",
      "deadlineMs",
      "seats",
      "quorumPercent",
      "thresholdPercent",
      "votes",
      "status",
    ],
    ["description", "decidedHeight", "decidedTimeMs", "errorCode"],
  );
  if (reader.natural("version") !== GOVERNANCE_RECORD_VERSION) throw reader.invalid("unknown version");
  const votes = reader.list("votes").map((item): Vote => {
    const vote = new RecordReader("vote", item, ["voter", "choice", "height", "timeMs"]);
    return {
      voter: vote.bytes("voter", KEY_ID_BYTES),
      choice: vote.choice("choice", VOTE_CHOICES),
      height: vote.natural("height"),
      timeMs: vote.natural("timeMs"),
    };
  });
  return {
    id: reader.natural("id"),
    kind: reader.choice("kind", PROPOSAL_KINDS),
    payload: reader.value("payload"),
    title: reader.text("title"),
    description: reader.optionalText("description"),
    proposer: reader.bytes("proposer", KEY_ID_BYTES),
    height: reader.natural("height"),
    timeMs: reader.natural("timeMs"),
    txHash: reader.bytes("txHash", 32),
    deadlineMs: reader.natural("deadlineMs"),
    seats: readSeats(reader, "seats"),
    quorumPercent: reader.natural("quorumPercent"),
    thresholdPercent: reader.natural("thresholdPercent"),
    votes,
    status: reader.choice("status", PROPOSAL_STATUSES),
    decidedHeight: reader.has("decidedHeight") ? reader.natural("decidedHeight") : null,
    decidedTimeMs: reader.has("decidedTimeMs") ? reader.natural("decidedTimeMs") : null,
    errorCode: reader.optionalText("errorCode"),
  };
}

function nodeValue(node: AdmittedNode): ValueMap {
  return {
    version: GOVERNANCE_RECORD_VERSION,
    name: node.name,
    nodeKey: node.nodeKey,
    validatorPublicKey: node.validatorPublicKey,
    proposalId: node.proposalId,
  };
}

function decodeNode(bytes: Uint8Array): AdmittedNode {
  const reader = new RecordReader("admitted node", decodeValue(bytes, SMALL_RECORD_BYTES_MAX), [
    "version",
    "name",
    "nodeKey",
    "validatorPublicKey",
    "proposalId",
  ]);
  if (reader.natural("version") !== GOVERNANCE_RECORD_VERSION) throw reader.invalid("unknown version");
  return {
    name: reader.text("name"),
    nodeKey: reader.bytes("nodeKey", NODE_KEY_BYTES),
    validatorPublicKey: reader.bytes("validatorPublicKey"),
    proposalId: reader.natural("proposalId"),
  };
}

function decodeCount(bytes: Uint8Array | undefined): bigint {
  if (bytes === undefined) return 0n;
  const reader = new RecordReader("proposal count", decodeValue(bytes, SMALL_RECORD_BYTES_MAX), [
    "version",
    "count",
  ]);
  if (reader.natural("version") !== GOVERNANCE_RECORD_VERSION) throw reader.invalid("unknown version");
  return reader.natural("count");
}

function decodeParameter(bytes: Uint8Array, name: ChainParameterName): bigint {
  const reader = new RecordReader("parameter", decodeValue(bytes, SMALL_RECORD_BYTES_MAX), [
    "version",
    "name",
    "value",
    "proposalId",
    "height",
  ]);
  if (reader.natural("version") !== GOVERNANCE_RECORD_VERSION) throw reader.invalid("unknown version");
  if (reader.text("name") !== name) throw reader.invalid("a parameter sits under its own name");
  const value = reader.natural("value");
  const bounds = CHAIN_PARAMETERS[name];
  if (value < bounds.min || value > bounds.max) throw reader.invalid("parameter out of range");
  return value;
}

/** Decodes a stored validator set and checks its canonical form (keys were checked on write). */
function decodeStoredValidatorSet(bytes: Uint8Array): ValidatorSet {
  const set = decodeValidatorSet(bytes);
  const problem = validatorSetProblem(set);
  if (problem !== null) throw new DecodeError("DECODE_INVALID_VALUE", `stored validator set: ${problem}`);
  return set;
}

// ---- Rules -----------------------------------------------------------------------------------

export interface Tally {
  readonly yesWeight: bigint;
  readonly noWeight: bigint;
  readonly abstainWeight: bigint;
  readonly totalWeight: bigint;
}

export function tallyOf(proposal: Pick<Proposal, "seats" | "votes">): Tally {
  let totalWeight = 0n;
  for (const seat of proposal.seats) totalWeight += seat.weight;
  const weights: Record<VoteChoice, bigint> = { yes: 0n, no: 0n, abstain: 0n };
  for (const vote of proposal.votes) {
    const seat = proposal.seats.find((candidate) => equalBytes(candidate.keyId, vote.voter));
    assert(seat !== undefined, "only seats vote");
    weights[vote.choice] += seat.weight;
  }
  assert(weights.yes + weights.no + weights.abstain <= totalWeight, "each seat votes once");
  return { yesWeight: weights.yes, noWeight: weights.no, abstainWeight: weights.abstain, totalWeight };
}

/** "accepted", "rejected" or null (undecided) under the proposal's rules. */
export function decisionOf(
  tally: Tally,
  rules: Pick<Proposal, "quorumPercent" | "thresholdPercent">,
): "accepted" | "rejected" | null {
  const cast = tally.yesWeight + tally.noWeight + tally.abstainWeight;
  const missing = tally.totalWeight - cast;
  const thresholdWeighted = rules.thresholdPercent * tally.totalWeight;
  if (tally.yesWeight * 100n >= thresholdWeighted && cast * 100n >= rules.quorumPercent * tally.totalWeight) {
    return "accepted";
  }
  // Quorum alone can always still be reached (all missing votes make 100%), so acceptance is
  // impossible exactly when yes plus every missing vote stays below the threshold.
  if ((tally.yesWeight + missing) * 100n < thresholdWeighted) return "rejected";
  return null;
}

/** The proposal's status at block time `nowMs`: an open proposal past its deadline is expired. */
export function proposalStatusAt(proposal: Proposal, nowMs: bigint): ProposalStatus {
  if (proposal.status === "open" && nowMs >= proposal.deadlineMs) return "expired";
  return proposal.status;
}

/** Why a validator set is not canonical (keys not checked), or null. */
function validatorSetProblem(set: ValidatorSet): string | null {
  if (set.validators.length === 0) return "a validator set may not be empty";
  if (set.validators.length > VALIDATORS_MAX)
    return `a validator set has at most ${VALIDATORS_MAX} validators`;
  for (let index = 0; index < set.validators.length; index++) {
    const validator = set.validators[index]!;
    if (validator.power < 1n || validator.power > VOTING_POWER_MAX)
      return "a validator's power is out of range";
    if (validator.publicKey.length === 0 || validator.publicKey.length > PUBLIC_KEY_BYTES_MAX) {
      return "a validator key has the wrong length";
    }
    if (index > 0 && compareBytes(set.validators[index - 1]!.publicKey, validator.publicKey) >= 0) {
      return "validators must be sorted by key, without duplicates";
    }
  }
  return null;
}

/**
 * A public key the node accepts for this suite. For Ed25519 this is libsodium's rule (what the
 * node's suite checks): canonical, on the curve, not of small order, in the prime-order
 * subgroup; the portable suite alone accepts small-order and mixed-order points, so governance
 * checks those too and never stores a set the node would refuse.
 */
export function isValidatorPublicKey(suite: SuiteName, publicKey: Uint8Array): boolean {
  if (!portableSuiteByName(suite).isPublicKey(publicKey)) return false;
  if (suite !== "ed25519") return true;
  return isStrictEd25519Key(publicKey);
}

function isStrictEd25519Key(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false;
  try {
    const point = ed25519.Point.fromBytes(publicKey, false);
    return !point.isSmallOrder() && point.isTorsionFree();
  } catch {
    return false;
  }
}

// ---- Readers ---------------------------------------------------------------------------------

function readTable(
  state: StateReader,
  hash: HashFunction,
  table: string,
  id: Uint8Array,
): Uint8Array | undefined {
  return state.get(contractStateKeyOf(hash, GOVERNANCE_CONTRACT, table, id));
}

/** The committee in office, or undefined before genesis set one. */
export function readCommittee(state: StateReader, hash: HashFunction): Committee | undefined {
  const bytes = readTable(state, hash, GOVERNANCE_TABLES.committee, COMMITTEE_ID);
  return bytes === undefined ? undefined : decodeCommittee(bytes);
}

/** Proposal `id` as recorded, or undefined. */
export function readProposal(state: StateReader, hash: HashFunction, id: bigint): Proposal | undefined {
  if (id < 1n || id > I64_MAX) return undefined;
  const bytes = readTable(state, hash, GOVERNANCE_TABLES.proposal, u64IdOf(id));
  if (bytes === undefined) return undefined;
  const proposal = decodeProposal(bytes);
  assert(proposal.id === id, "a proposal sits under its own id");
  return proposal;
}

export interface ProposalPage {
  readonly proposals: readonly Proposal[];
  /** Proposals made so far (ids 1..total). */
  readonly total: bigint;
  /** The `fromId` of the next page, or null at the end. */
  readonly nextId: bigint | null;
}

/** Proposals by id from `fromId` upwards, at most `limit` (≤ GOV_PROPOSALS_PAGE_MAX). */
export function listProposals(
  state: StateReader,
  hash: HashFunction,
  fromId = 1n,
  limit = GOV_PROPOSALS_PAGE_MAX,
): ProposalPage {
  assert(limit >= 1 && limit <= GOV_PROPOSALS_PAGE_MAX, "pages are bounded");
  const total = decodeCount(readTable(state, hash, GOVERNANCE_TABLES.meta, PROPOSAL_COUNT_ID));
  const proposals: Proposal[] = [];
  let id = fromId < 1n ? 1n : fromId;
  for (; id <= total && proposals.length < limit; id++) {
    const proposal = readProposal(state, hash, id);
    assert(proposal !== undefined, "every id up to the count is a proposal");
    proposals.push(proposal);
  }
  return { proposals, total, nextId: id <= total ? id : null };
}

/**
 * The latest validator set governance decided (validator-set-changes.ts: it signs from two
 * heights after the deciding block), or `genesisSet` when governance never changed it.
 */
export function readValidatorSet(
  state: StateReader,
  hash: HashFunction,
  suite: SignatureSuite,
  genesisSet: ValidatorSet,
): ValidatorSet {
  const stored = readTable(state, hash, GOVERNANCE_TABLES.validators, GENESIS_VALIDATORS_ID);
  if (stored !== undefined) {
    assert(
      equalBytes(stored, encodeValidatorSet(genesisSet)),
      "governance's genesis validator set (initialState) is the genesis document's",
    );
  }
  const changes = readValidatorSetChanges(state, hash, suite);
  return changes.length === 0 ? genesisSet : changes[changes.length - 1]!.set;
}

/** Peers admitted with validators by governance (not the genesis nodes), in validator order. */
export function readAdmittedNodes(
  state: StateReader,
  hash: HashFunction,
  suite: SignatureSuite,
  genesisSet: ValidatorSet,
): AdmittedNode[] {
  const nodes: AdmittedNode[] = [];
  for (const validator of readValidatorSet(state, hash, suite, genesisSet).validators) {
    const bytes = readTable(state, hash, GOVERNANCE_TABLES.node, validator.publicKey);
    if (bytes === undefined) continue;
    const node = decodeNode(bytes);
    assert(equalBytes(node.validatorPublicKey, validator.publicKey), "a node sits under its validator's key");
    nodes.push(node);
  }
  return nodes;
}

/** The chain parameters: set by governance, or their defaults. */
export function readParameters(state: StateReader, hash: HashFunction): ChainParameters {
  const bytes = readTable(state, hash, GOVERNANCE_TABLES.parameter, UTF8.encode("txGasMax"));
  return {
    txGasMax: bytes === undefined ? CHAIN_PARAMETERS.txGasMax.default : decodeParameter(bytes, "txGasMax"),
  };
}

// ---- JSON forms ------------------------------------------------------------------------------

export interface ProposalJson {
  readonly id: string;
  readonly kind: ProposalKind;
  readonly title: string;
  readonly description: string | null;
  readonly proposer: string;
  readonly height: string;
  readonly timeMs: string;
  readonly txHash: string;
  readonly deadlineMs: string;
  readonly seats: ReadonlyArray<{ readonly keyId: string; readonly weight: string }>;
  readonly quorumPercent: string;
  readonly thresholdPercent: string;
  readonly votes: ReadonlyArray<{
    readonly voter: string;
    readonly choice: VoteChoice;
    readonly height: string;
    readonly timeMs: string;
  }>;
  readonly tally: {
    readonly yes: string;
    readonly no: string;
    readonly abstain: string;
    readonly total: string;
  };
  /** The recorded status, or `expired` for an open proposal past its deadline at `nowMs`. */
  readonly status: ProposalStatus;
  readonly decidedHeight: string | null;
  readonly decidedTimeMs: string | null;
  readonly errorCode: string | null;
}

/** JSON-ready form (bytes hex, integers decimal strings); the payload is left to the caller. */
export function proposalJson(proposal: Proposal, nowMs: bigint): ProposalJson {
  const tally = tallyOf(proposal);
  return {
    id: proposal.id.toString(),
    kind: proposal.kind,
    title: proposal.title,
    description: proposal.description,
    proposer: bytesToHex(proposal.proposer),
    height: proposal.height.toString(),
    timeMs: proposal.timeMs.toString(),
    txHash: bytesToHex(proposal.txHash),
    deadlineMs: proposal.deadlineMs.toString(),
    seats: proposal.seats.map((seat) => ({ keyId: bytesToHex(seat.keyId), weight: seat.weight.toString() })),
    quorumPercent: proposal.quorumPercent.toString(),
    thresholdPercent: proposal.thresholdPercent.toString(),
    votes: proposal.votes.map((vote) => ({
      voter: bytesToHex(vote.voter),
      choice: vote.choice,
      height: vote.height.toString(),
      timeMs: vote.timeMs.toString(),
    })),
    tally: {
      yes: tally.yesWeight.toString(),
      no: tally.noWeight.toString(),
      abstain: tally.abstainWeight.toString(),
      total: tally.totalWeight.toString(),
    },
    status: proposalStatusAt(proposal, nowMs),
    decidedHeight: proposal.decidedHeight?.toString() ?? null,
    decidedTimeMs: proposal.decidedTimeMs?.toString() ?? null,
    errorCode: proposal.errorCode,
  };
}

// ---- Argument parsing ------------------------------------------------------------------------

type Parsed<T> = Result<T, ExecutionError>;

/** Parses committee rules (`committee.set` payload, genesis section). */
export function parseCommitteeRules(value: Value): Parsed<CommitteeRules> {
  const map = argsMapOf(value, ["seats", "quorumPercent", "thresholdPercent", "votingPeriodMs"]);
  if (!map.ok) return map;
  const list = listField(map.value, "seats", GOV_COMMITTEE_SEATS_MAX);
  if (!list.ok) return list;
  const seats: Seat[] = [];
  for (const item of list.value) {
    const seatMap = argsMapOf(item, ["keyId", "weight"]);
    if (!seatMap.ok) return seatMap;
    const keyId = fixedBytesField(seatMap.value, "keyId", KEY_ID_BYTES);
    if (!keyId.ok) return keyId;
    const weight = integerField(seatMap.value, "weight", 1n, GOV_SEAT_WEIGHT_MAX);
    if (!weight.ok) return weight;
    seats.push({ keyId: keyId.value, weight: weight.value });
  }
  seats.sort((left, right) => compareBytes(left.keyId, right.keyId));
  for (let index = 1; index < seats.length; index++) {
    if (equalBytes(seats[index - 1]!.keyId, seats[index]!.keyId)) {
      return refuse("GOV_COMMITTEE_INVALID", "a key holds two seats", {
        keyId: bytesToHex(seats[index]!.keyId),
      });
    }
  }
  const quorumPercent = integerField(map.value, "quorumPercent", 1n, 100n);
  if (!quorumPercent.ok) return quorumPercent;
  const thresholdPercent = integerField(map.value, "thresholdPercent", 1n, 100n);
  if (!thresholdPercent.ok) return thresholdPercent;
  const votingPeriodMs = integerField(
    map.value,
    "votingPeriodMs",
    GOV_VOTING_PERIOD_MS_MIN,
    GOV_VOTING_PERIOD_MS_MAX,
  );
  if (!votingPeriodMs.ok) return votingPeriodMs;
  return ok({
    seats,
    quorumPercent: quorumPercent.value,
    thresholdPercent: thresholdPercent.value,
    votingPeriodMs: votingPeriodMs.value,
  });
}

interface ValidatorChange {
  readonly publicKey: Uint8Array;
  /** 0 removes the validator. */
  readonly power: bigint;
  readonly node: { readonly name: string; readonly nodeKey: Uint8Array } | null;
}

function parseValidatorChange(payload: Value, suite: SuiteName): Parsed<ValidatorChange> {
  const map = argsMapOf(payload, ["publicKey", "power", "nodeName", "nodeKey"]);
  if (!map.ok) return map;
  const publicKey = bytesField(map.value, "publicKey", 1, PUBLIC_KEY_BYTES_MAX);
  if (!publicKey.ok) return publicKey;
  if (!isValidatorPublicKey(suite, publicKey.value)) {
    return refuse("GOV_VALIDATOR_SET_INVALID", `the validator key is not a valid ${suite} public key`, {
      field: "publicKey",
    });
  }
  const power = integerField(map.value, "power", 0n, VOTING_POWER_MAX);
  if (!power.ok) return power;
  const nodeName = optionalTextField(map.value, "nodeName", { bytesMax: NODE_NAME_BYTES_MAX });
  if (!nodeName.ok) return nodeName;
  const hasNodeKey = Object.hasOwn(map.value, "nodeKey");
  if ((nodeName.value === null) !== !hasNodeKey) {
    return refuse("GOV_NODE_INVALID", "nodeName and nodeKey come together", { field: "nodeKey" });
  }
  if (nodeName.value === null) return ok({ publicKey: publicKey.value, power: power.value, node: null });
  if (power.value === 0n) {
    return refuse("GOV_NODE_INVALID", "a removed validator admits no node", { field: "nodeKey" });
  }
  const nodeKey = fixedBytesField(map.value, "nodeKey", NODE_KEY_BYTES);
  if (!nodeKey.ok) return nodeKey;
  if (!isStrictEd25519Key(nodeKey.value)) {
    return refuse("GOV_NODE_INVALID", "the node key is not a valid Ed25519 public key", { field: "nodeKey" });
  }
  return ok({
    publicKey: publicKey.value,
    power: power.value,
    node: { name: nodeName.value, nodeKey: nodeKey.value },
  });
}

function parseParameter(payload: Value): Parsed<{ name: ChainParameterName; value: bigint }> {
  const map = argsMapOf(payload, ["name", "value"]);
  if (!map.ok) return map;
  const name = textField(map.value, "name", { bytesMax: 64 });
  if (!name.ok) return name;
  const known = PARAMETER_NAMES.find((candidate) => candidate === name.value);
  if (known === undefined) {
    return refuse("GOV_PARAMETER_UNKNOWN", "no chain parameter has this name", {
      name: name.value,
      namesKnown: PARAMETER_NAMES.join(","),
    });
  }
  const value = map.value.value;
  if (typeof value !== "bigint") {
    return refuse("EXEC_ARGS_FIELD_WRONG_TYPE", 'the field "value" must be an integer', { field: "value" });
  }
  const bounds = CHAIN_PARAMETERS[known];
  if (value < bounds.min || value > bounds.max) {
    return refuse("GOV_PARAMETER_OUT_OF_RANGE", `${known} must be between ${bounds.min} and ${bounds.max}`, {
      name: known,
      min: bounds.min,
      max: bounds.max,
    });
  }
  return ok({ name: known, value });
}

function parseContractName(map: ValueMap, forDeploy: boolean): Parsed<string> {
  const name = textField(map, "name", { bytesMax: 64, pattern: CONTRACT_NAME_PATTERN });
  if (!name.ok) return name;
  if (forDeploy && RESERVED_CONTRACT_NAMES.includes(name.value)) {
    return refuse("REGISTRY_NAME_RESERVED", "this name belongs to a native contract", { name: name.value });
  }
  return name;
}

// ---- The contract ----------------------------------------------------------------------------

type GovResult = Result<Value, ExecutionError>;

function requireDirect(context: ContractContext, method: string): Result<void, ExecutionError> {
  if (context.caller.contract === null) return ok(undefined);
  return refuse("PERMISSION_DENIED", `governance.${method} is called by a transaction, not by a contract`, {
    method,
    callerContract: context.caller.contract,
  });
}

function loadCommittee(context: ContractContext): Committee | undefined {
  const bytes = context.state.get(GOVERNANCE_TABLES.committee, COMMITTEE_ID);
  return bytes === undefined ? undefined : decodeCommittee(bytes);
}

/** The latest decided set, or undefined when genesis gave governance no validator set. */
function loadValidatorSet(context: ContractContext): ValidatorSet | undefined {
  const bytes = context.state.get(GOVERNANCE_TABLES.validators, GENESIS_VALIDATORS_ID);
  if (bytes === undefined) return undefined;
  const set = latestValidatorSet(context.state, decodeStoredValidatorSet(bytes));
  assert(validatorSetProblem(set) === null, "recorded validator sets are canonical");
  return set;
}

function loadProposal(context: ContractContext, id: bigint): Proposal | undefined {
  const bytes = context.state.get(GOVERNANCE_TABLES.proposal, u64IdOf(id));
  return bytes === undefined ? undefined : decodeProposal(bytes);
}

function noValidatorSet(): { ok: false; error: ExecutionError } {
  return fail(
    new ExecutionError(
      "GOV_VALIDATOR_SET_INVALID",
      "governance holds no validator set (genesis initialState.governance.validatorSet)",
    ),
  );
}

/** Checks a payload before the vote as far as the state allows; returns what will be stored. */
function checkPayload(context: ContractContext, kind: ProposalKind, payload: Value): Parsed<Value> {
  switch (kind) {
    case "org.add":
    case "org.suspend":
    case "org.reinstate":
    case "org.remove":
    case "org.setAdmins":
    case "permission.set":
    case "permission.clear": {
      // The target contract checks these arguments when the proposal executes.
      if (!isValueMap(payload)) {
        return refuse("EXEC_ARGS_FIELD_WRONG_TYPE", 'the field "payload" must be a map', {
          field: "payload",
        });
      }
      return ok(payload);
    }
    case "contract.deploy":
    case "contract.upgrade": {
      const map = argsMapOf(payload, ["name", "codeHash"]);
      if (!map.ok) return map;
      const name = parseContractName(map.value, kind === "contract.deploy");
      if (!name.ok) return name;
      const codeHash = fixedBytesField(map.value, "codeHash", 32);
      if (!codeHash.ok) return codeHash;
      return ok({ name: name.value, codeHash: codeHash.value });
    }
    case "contract.freeze":
    case "contract.unfreeze": {
      const map = argsMapOf(payload, ["name"]);
      if (!map.ok) return map;
      const name = parseContractName(map.value, false);
      if (!name.ok) return name;
      return ok({ name: name.value });
    }
    case "validator.set": {
      const set = loadValidatorSet(context);
      if (set === undefined) return noValidatorSet();
      const change = parseValidatorChange(payload, set.suite);
      if (!change.ok) return change;
      const value: Record<string, Value> = { publicKey: change.value.publicKey, power: change.value.power };
      if (change.value.node !== null) {
        value.nodeName = change.value.node.name;
        value.nodeKey = change.value.node.nodeKey;
      }
      return ok(value);
    }
    case "parameter.set": {
      const parameter = parseParameter(payload);
      if (!parameter.ok) return parameter;
      return ok({ name: parameter.value.name, value: parameter.value.value });
    }
    case "committee.set": {
      const rules = parseCommitteeRules(payload);
      if (!rules.ok) return rules;
      return ok({
        seats: seatsValue(rules.value.seats),
        quorumPercent: rules.value.quorumPercent,
        thresholdPercent: rules.value.thresholdPercent,
        votingPeriodMs: rules.value.votingPeriodMs,
      });
    }
  }
}

function propose(context: ContractContext, args: Value): GovResult {
  const direct = requireDirect(context, "propose");
  if (!direct.ok) return direct;
  const map = argsMapOf(args, ["kind", "payload", "title", "description"]);
  if (!map.ok) return map;
  const kindText = textField(map.value, "kind", { bytesMax: 64 });
  if (!kindText.ok) return kindText;
  const title = textField(map.value, "title", { bytesMax: GOV_TITLE_BYTES_MAX });
  if (!title.ok) return title;
  const description = optionalTextField(map.value, "description", {
    bytesMax: GOV_DESCRIPTION_BYTES_MAX,
    newlinesAllowed: true,
  });
  if (!description.ok) return description;
  if (!Object.hasOwn(map.value, "payload")) {
    return refuse("EXEC_ARGS_FIELD_MISSING", 'the field "payload" is required', { field: "payload" });
  }
  const committee = loadCommittee(context);
  if (committee === undefined) return refuse("GOV_NOT_INITIALIZED", "the chain has no governance committee");
  const proposer = context.caller.keyId;
  if (!committee.seats.some((seat) => equalBytes(seat.keyId, proposer))) {
    return refuse("GOV_NOT_COMMITTEE_MEMBER", "only a committee seat holder may propose", {
      keyId: bytesToHex(proposer),
    });
  }
  const kind = PROPOSAL_KINDS.find((candidate) => candidate === kindText.value);
  if (kind === undefined) {
    return refuse("GOV_PROPOSAL_KIND_UNKNOWN", "no proposal has this kind", {
      kind: kindText.value,
      kindsKnown: PROPOSAL_KINDS.join(","),
    });
  }
  const payloadSizeBytes = encodeValue(map.value.payload!).length;
  if (payloadSizeBytes > GOV_PAYLOAD_BYTES_MAX) {
    return refuse(
      "GOV_PROPOSAL_TOO_LARGE",
      `a proposal's payload is at most ${GOV_PAYLOAD_BYTES_MAX} bytes`,
      {
        sizeBytes: payloadSizeBytes,
        sizeBytesMax: GOV_PAYLOAD_BYTES_MAX,
      },
    );
  }
  const payload = checkPayload(context, kind, map.value.payload!);
  if (!payload.ok) return payload;
  const id = decodeCount(context.state.get(GOVERNANCE_TABLES.meta, PROPOSAL_COUNT_ID)) + 1n;
  const deadlineMs = context.timeMs + committee.votingPeriodMs;
  const proposal: Proposal = {
    id,
    kind,
    payload: payload.value,
    title: title.value,
    description: description.value,
    proposer,
    height: context.height,
    timeMs: context.timeMs,
    txHash: context.txHash,
    deadlineMs,
    seats: committee.seats,
    quorumPercent: committee.quorumPercent,
    thresholdPercent: committee.thresholdPercent,
    votes: [],
    status: "open",
    decidedHeight: null,
    decidedTimeMs: null,
    errorCode: null,
  };
  context.state.set(GOVERNANCE_TABLES.proposal, u64IdOf(id), encodeProposal(proposal));
  context.state.set(
    GOVERNANCE_TABLES.meta,
    PROPOSAL_COUNT_ID,
    encodeValue({ version: GOVERNANCE_RECORD_VERSION, count: id }),
  );
  context.emit(GOVERNANCE_EVENTS.proposed, { proposalId: id, kind, proposer, deadlineMs });
  return ok({ proposalId: id, deadlineMs });
}

function proposalIdOf(args: Value, fields: readonly string[]): Parsed<{ map: ValueMap; id: bigint }> {
  const map = argsMapOf(args, fields);
  if (!map.ok) return map;
  const id = integerField(map.value, "proposalId", 1n, I64_MAX);
  if (!id.ok) return id;
  return ok({ map: map.value, id: id.value });
}

function notFound(id: bigint): { ok: false; error: ExecutionError } {
  return fail(new ExecutionError("GOV_PROPOSAL_NOT_FOUND", "no proposal has this id", { proposalId: id }));
}

function closed(proposal: Proposal): { ok: false; error: ExecutionError } {
  return fail(
    new ExecutionError("GOV_VOTING_CLOSED", "the proposal is no longer open", {
      proposalId: proposal.id,
      status: proposal.status,
    }),
  );
}

function vote(context: ContractContext, args: Value): GovResult {
  const direct = requireDirect(context, "vote");
  if (!direct.ok) return direct;
  const parsed = proposalIdOf(args, ["proposalId", "choice"]);
  if (!parsed.ok) return parsed;
  const choice = choiceField(parsed.value.map, "choice", VOTE_CHOICES);
  if (!choice.ok) return choice;
  const proposal = loadProposal(context, parsed.value.id);
  if (proposal === undefined) return notFound(parsed.value.id);
  if (proposal.status !== "open") return closed(proposal);
  if (context.timeMs >= proposal.deadlineMs) {
    return refuse("GOV_VOTING_CLOSED", "the voting period of this proposal is over", {
      proposalId: proposal.id,
      deadlineMs: proposal.deadlineMs,
      status: "expired",
    });
  }
  const voter = context.caller.keyId;
  if (!proposal.seats.some((seat) => equalBytes(seat.keyId, voter))) {
    return refuse("GOV_NOT_COMMITTEE_MEMBER", "only the proposal's committee seats vote on it", {
      keyId: bytesToHex(voter),
    });
  }
  if (proposal.votes.some((cast) => equalBytes(cast.voter, voter))) {
    return refuse("GOV_ALREADY_VOTED", "this seat has already voted on the proposal", {
      proposalId: proposal.id,
    });
  }
  const votes = [
    ...proposal.votes,
    { voter, choice: choice.value, height: context.height, timeMs: context.timeMs },
  ];
  const tally = tallyOf({ seats: proposal.seats, votes });
  context.emit(GOVERNANCE_EVENTS.voted, {
    proposalId: proposal.id,
    voter,
    choice: choice.value,
    yesWeight: tally.yesWeight,
    noWeight: tally.noWeight,
    abstainWeight: tally.abstainWeight,
    totalWeight: tally.totalWeight,
  });
  const decision = decisionOf(tally, proposal);
  let next: Proposal = { ...proposal, votes };
  if (decision !== null) {
    next = { ...next, decidedHeight: context.height, decidedTimeMs: context.timeMs };
  }
  if (decision === "rejected") {
    next = { ...next, status: "rejected" };
    context.emit(GOVERNANCE_EVENTS.rejected, { proposalId: proposal.id, kind: proposal.kind });
  } else if (decision === "accepted") {
    context.emit(GOVERNANCE_EVENTS.accepted, { proposalId: proposal.id, kind: proposal.kind });
    const outcome = executeProposal(context, proposal);
    if (outcome.ok) {
      next = { ...next, status: "executed" };
      context.emit(GOVERNANCE_EVENTS.executed, { proposalId: proposal.id, kind: proposal.kind });
    } else {
      next = { ...next, status: "failed", errorCode: outcome.error.code };
      context.emit(GOVERNANCE_EVENTS.failed, {
        proposalId: proposal.id,
        kind: proposal.kind,
        errorCode: outcome.error.code,
      });
    }
  }
  context.state.set(GOVERNANCE_TABLES.proposal, u64IdOf(proposal.id), encodeProposal(next));
  const result: Record<string, Value> = { proposalId: proposal.id, status: next.status };
  if (next.errorCode !== null) result.errorCode = next.errorCode;
  return ok(result);
}

function close(context: ContractContext, args: Value): GovResult {
  const direct = requireDirect(context, "close");
  if (!direct.ok) return direct;
  const parsed = proposalIdOf(args, ["proposalId"]);
  if (!parsed.ok) return parsed;
  const proposal = loadProposal(context, parsed.value.id);
  if (proposal === undefined) return notFound(parsed.value.id);
  if (proposal.status !== "open") return closed(proposal);
  if (context.timeMs < proposal.deadlineMs) {
    return refuse("GOV_VOTING_OPEN", "the proposal is open until its deadline", {
      proposalId: proposal.id,
      deadlineMs: proposal.deadlineMs,
    });
  }
  const next: Proposal = {
    ...proposal,
    status: "expired",
    decidedHeight: context.height,
    decidedTimeMs: context.timeMs,
  };
  context.state.set(GOVERNANCE_TABLES.proposal, u64IdOf(proposal.id), encodeProposal(next));
  context.emit(GOVERNANCE_EVENTS.expired, { proposalId: proposal.id, kind: proposal.kind });
  return ok({ proposalId: proposal.id, status: next.status });
}

// ---- Execution of accepted proposals -----------------------------------------------------------

function payloadMap(proposal: Proposal): ValueMap {
  assert(isValueMap(proposal.payload), "stored payloads are maps (checked when proposed)");
  return proposal.payload;
}

function executeProposal(context: ContractContext, proposal: Proposal): Result<void, ExecutionError> {
  const callTarget = (contract: string, method: string, args: Value): Result<void, ExecutionError> => {
    const result = context.call(contract, method, args, { readOnly: false });
    return result.ok ? ok(undefined) : result;
  };
  switch (proposal.kind) {
    case "org.add":
      return callTarget("org", "add", proposal.payload);
    case "org.suspend":
      return callTarget("org", "suspend", proposal.payload);
    case "org.reinstate":
      return callTarget("org", "reinstate", proposal.payload);
    case "org.remove":
      return callTarget("org", "remove", proposal.payload);
    case "org.setAdmins":
      return callTarget("org", "setAdmins", proposal.payload);
    case "permission.set":
      return callTarget("permission", "set", proposal.payload);
    case "permission.clear":
      return callTarget("permission", "clear", proposal.payload);
    case "contract.deploy":
    case "contract.upgrade":
      return callTarget("registry", proposal.kind === "contract.deploy" ? "deploy" : "upgrade", {
        ...payloadMap(proposal),
        proposalId: proposal.id,
        deployer: proposal.proposer,
      });
    case "contract.freeze":
    case "contract.unfreeze":
      return callTarget("registry", proposal.kind === "contract.freeze" ? "freeze" : "unfreeze", {
        ...payloadMap(proposal),
        proposalId: proposal.id,
      });
    case "validator.set":
      return executeValidatorChange(context, proposal);
    case "parameter.set":
      return executeParameter(context, proposal);
    case "committee.set":
      return executeCommittee(context, proposal);
  }
}

function executeValidatorChange(context: ContractContext, proposal: Proposal): Result<void, ExecutionError> {
  const set = loadValidatorSet(context);
  if (set === undefined) return noValidatorSet();
  const change = parseValidatorChange(proposal.payload, set.suite);
  if (!change.ok) return change;
  const { publicKey, power, node } = change.value;
  const others = set.validators.filter((validator) => !equalBytes(validator.publicKey, publicKey));
  const present = others.length !== set.validators.length;
  if (power === 0n && !present) {
    return refuse("GOV_VALIDATOR_SET_INVALID", "the key to remove is not a validator", {
      publicKey: bytesToHex(publicKey),
    });
  }
  const validators: Validator[] = power === 0n ? others : [...others, { publicKey, power }];
  validators.sort((left, right) => compareBytes(left.publicKey, right.publicKey));
  const next: ValidatorSet = { suite: set.suite, validators };
  const problem = validatorSetProblem(next);
  if (problem !== null)
    return refuse("GOV_VALIDATOR_SET_INVALID", problem, { validatorCount: validators.length });
  if (node !== null) {
    for (const other of others) {
      const bytes = context.state.get(GOVERNANCE_TABLES.node, other.publicKey);
      if (bytes === undefined) continue;
      const existing = decodeNode(bytes);
      if (existing.name === node.name || equalBytes(existing.nodeKey, node.nodeKey)) {
        return refuse("GOV_NODE_INVALID", "another validator's node has this name or key", {
          name: node.name,
        });
      }
    }
  }
  const recorded = recordValidatorSetChange(context.state, context.height, next);
  if (!recorded.ok) return recorded;
  if (power === 0n) {
    if (context.state.get(GOVERNANCE_TABLES.node, publicKey) !== undefined) {
      context.state.delete(GOVERNANCE_TABLES.node, publicKey);
    }
  } else if (node !== null) {
    const admitted: AdmittedNode = {
      name: node.name,
      nodeKey: node.nodeKey,
      validatorPublicKey: publicKey,
      proposalId: proposal.id,
    };
    context.state.set(GOVERNANCE_TABLES.node, publicKey, encodeValue(nodeValue(admitted)));
  }
  return ok(undefined);
}

function executeParameter(context: ContractContext, proposal: Proposal): Result<void, ExecutionError> {
  const parameter = parseParameter(proposal.payload);
  if (!parameter.ok) return parameter;
  context.state.set(
    GOVERNANCE_TABLES.parameter,
    UTF8.encode(parameter.value.name),
    encodeValue({
      version: GOVERNANCE_RECORD_VERSION,
      name: parameter.value.name,
      value: parameter.value.value,
      proposalId: proposal.id,
      height: context.height,
    }),
  );
  return ok(undefined);
}

function executeCommittee(context: ContractContext, proposal: Proposal): Result<void, ExecutionError> {
  const rules = parseCommitteeRules(proposal.payload);
  if (!rules.ok) return rules;
  const committee: Committee = { ...rules.value, proposalId: proposal.id, height: context.height };
  context.state.set(GOVERNANCE_TABLES.committee, COMMITTEE_ID, encodeValue(committeeValue(committee)));
  return ok(undefined);
}

// ---- Genesis -----------------------------------------------------------------------------------

function parseGenesisValidatorSet(value: Value): Parsed<ValidatorSet> {
  const map = argsMapOf(value, ["suite", "validators"]);
  if (!map.ok) return map;
  const suite = choiceField(map.value, "suite", SUITE_NAMES);
  if (!suite.ok) return suite;
  const list = listField(map.value, "validators", VALIDATORS_MAX);
  if (!list.ok) return list;
  const validators: Validator[] = [];
  for (const item of list.value) {
    const validator = argsMapOf(item, ["publicKey", "power"]);
    if (!validator.ok) return validator;
    const publicKey = bytesField(validator.value, "publicKey", 1, PUBLIC_KEY_BYTES_MAX);
    if (!publicKey.ok) return publicKey;
    if (!isValidatorPublicKey(suite.value, publicKey.value)) {
      return refuse("GOV_VALIDATOR_SET_INVALID", "a genesis validator key is not a valid public key");
    }
    const power = integerField(validator.value, "power", 1n, VOTING_POWER_MAX);
    if (!power.ok) return power;
    validators.push({ publicKey: publicKey.value, power: power.value });
  }
  validators.sort((left, right) => compareBytes(left.publicKey, right.publicKey));
  const set: ValidatorSet = { suite: suite.value, validators };
  const problem = validatorSetProblem(set);
  if (problem !== null) return refuse("GOV_VALIDATOR_SET_INVALID", problem);
  return ok(set);
}

/** `initialState.governance`: the committee, and optionally the genesis validator set and parameters. */
function initialize(context: ContractContext, section: Value): GovResult {
  const map = argsMapOf(section, ["committee", "validatorSet", "parameters"]);
  if (!map.ok) return map;
  if (loadCommittee(context) !== undefined) {
    return refuse("GOV_ALREADY_INITIALIZED", "governance already has a committee");
  }
  const committeeValueArg = mapField(map.value, "committee");
  if (!committeeValueArg.ok) return committeeValueArg;
  const rules = parseCommitteeRules(committeeValueArg.value);
  if (!rules.ok) return rules;
  let validatorSet: ValidatorSet | null = null;
  if (Object.hasOwn(map.value, "validatorSet")) {
    const parsed = parseGenesisValidatorSet(map.value.validatorSet!);
    if (!parsed.ok) return parsed;
    validatorSet = parsed.value;
  }
  const parameters: Array<{ name: ChainParameterName; value: bigint }> = [];
  if (Object.hasOwn(map.value, "parameters")) {
    const parametersMap = argsMapOf(map.value.parameters!, PARAMETER_NAMES);
    if (!parametersMap.ok) return parametersMap;
    for (const name of PARAMETER_NAMES) {
      if (!Object.hasOwn(parametersMap.value, name)) continue;
      const parameter = parseParameter({ name, value: parametersMap.value[name]! });
      if (!parameter.ok) return parameter;
      parameters.push(parameter.value);
    }
  }
  const committee: Committee = { ...rules.value, proposalId: 0n, height: context.height };
  context.state.set(GOVERNANCE_TABLES.committee, COMMITTEE_ID, encodeValue(committeeValue(committee)));
  if (validatorSet !== null) {
    context.state.set(GOVERNANCE_TABLES.validators, GENESIS_VALIDATORS_ID, encodeValidatorSet(validatorSet));
  }
  for (const parameter of parameters) {
    context.state.set(
      GOVERNANCE_TABLES.parameter,
      UTF8.encode(parameter.name),
      encodeValue({
        version: GOVERNANCE_RECORD_VERSION,
        name: parameter.name,
        value: parameter.value,
        proposalId: 0n,
        height: context.height,
      }),
    );
  }
  return ok(null);
}

export interface GovernanceGenesis {
  readonly committee: CommitteeRules;
  /** The genesis validator set; without it `validator.set` proposals fail. */
  readonly validatorSet?: ValidatorSet;
  readonly parameters?: Partial<ChainParameters>;
}

/** The governance section of a genesis `initialState`. */
export function governanceInitialSection(genesis: GovernanceGenesis): ValueMap {
  const section: Record<string, Value> = {
    committee: {
      seats: seatsValue(genesis.committee.seats),
      quorumPercent: genesis.committee.quorumPercent,
      thresholdPercent: genesis.committee.thresholdPercent,
      votingPeriodMs: genesis.committee.votingPeriodMs,
    },
  };
  if (genesis.validatorSet !== undefined) {
    section.validatorSet = {
      suite: genesis.validatorSet.suite,
      validators: genesis.validatorSet.validators.map((validator) => ({
        publicKey: validator.publicKey,
        power: validator.power,
      })),
    };
  }
  if (genesis.parameters !== undefined) {
    const parameters: Record<string, Value> = {};
    for (const name of PARAMETER_NAMES) {
      const value = genesis.parameters[name];
      if (value !== undefined) parameters[name] = value;
    }
    section.parameters = parameters;
  }
  return section;
}

export const governanceContract: NativeContract = {
  name: GOVERNANCE_CONTRACT,
  execute(context, method, args) {
    switch (method) {
      case "propose":
        return propose(context, args);
      case "vote":
        return vote(context, args);
      case "close":
        return close(context, args);
      default:
        return refuse("EXEC_METHOD_UNKNOWN", "governance has no such method", {
          method: method.slice(0, 64),
        });
    }
  },
  initialize,
};
