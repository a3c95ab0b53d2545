/**
 * The JSON wire format of the node's API, as TypeBox schemas: one definition that the API uses
 * to validate requests, serialize responses and generate its OpenAPI document, and that clients
 * use to check what a node sends them. Browser-safe (TypeBox is plain JavaScript).
 *
 * Conventions (docs/API.md): bytes are lower-case hex; 64-bit integers (heights, times, nonces,
 * log sizes, voting power) are decimal strings, because JSON numbers lose precision above 2^53;
 * counts and indexes bounded far below 2^53 by a limit are JSON numbers.
 * @module
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import {
  BLOCK_TXS_MAX,
  CHAIN_ID_BYTES_MAX,
  LOG_PROOF_HASHES_MAX,
  LOG_SIZE_MAX,
  NAME_BYTES_MAX,
  PUBLIC_KEY_BYTES_MAX,
  SIGNATURE_BYTES_MAX,
  STATE_VALUE_BYTES_MAX,
  TX_SIZE_BYTES_MAX,
  VALIDATORS_MAX,
} from "../base/limits.ts";
import { STATE_PROOF_BYTES_MAX } from "../state/state-proof.ts";

/** Identifies the receipt JSON format (docs/PROTOCOL.md, "Receipts"). */
/** An encoded execution receipt: its events (8 KiB of data at most) plus codes and framing. */
export const EXECUTION_RECEIPT_BYTES_MAX = 16 * 1024;
export const RECEIPT_FORMAT = "cityledger/receipt/v2";
/** Largest encoded block header (fixed fields plus the longest chain id), with room to spare. */
export const HEADER_ENCODED_BYTES_MAX = 1024;
/** Largest encoded commit certificate: VALIDATORS_MAX signatures with their indexes and lengths. */
export const CERTIFICATE_ENCODED_BYTES_MAX = 64 + VALIDATORS_MAX * (8 + SIGNATURE_BYTES_MAX);
/** Largest u64, the bound of every decimal-string integer. */
export const U64_MAX = (1n << 64n) - 1n;
/** An event's data (the storage layer's EVENT_DATA_BYTES_MAX). */
export const EVENT_DATA_BYTES_MAX = 64 * 1024;
/** Length of a correlation id a client attaches to a WebSocket message. */
export const WS_MESSAGE_ID_LENGTH_MAX = 64;
/** Subscription ids a socket can be given (a counter per socket). */
const SUBSCRIPTION_ID_MAX = 2 ** 31 - 1;

/** Decimal digits of an unsigned 64-bit integer, without leading zeros. */
export const U64_DECIMAL_PATTERN = "^(0|[1-9][0-9]{0,19})$";
/** Lower-case hex; the even length is checked by the decoders (a regex group would backtrack). */
export const HEX_PATTERN = "^[0-9a-f]*$";
/** Exactly 32 bytes of lower-case hex. */
export const HASH_HEX_PATTERN = "^[0-9a-f]{64}$";

/** `bytesMax` bytes at most, as lower-case hex. */
export function BytesHex(bytesMax: number, description = "bytes, lower-case hex") {
  return Type.String({ pattern: HEX_PATTERN, maxLength: 2 * bytesMax, description });
}

export const HashHex = Type.String({
  pattern: HASH_HEX_PATTERN,
  minLength: 64,
  maxLength: 64,
  description: "32-byte hash, lower-case hex",
});
export const U64String = Type.String({
  pattern: U64_DECIMAL_PATTERN,
  maxLength: 20,
  description: "unsigned 64-bit integer as a decimal string",
});
/** A hash a client sends: either case is accepted. */
export const HashHexInput = Type.String({
  pattern: "^[0-9a-fA-F]{64}$",
  minLength: 64,
  maxLength: 64,
  description: "32-byte hash as hex",
});
const Nullable = <Schema extends TSchema>(schema: Schema) => Type.Union([schema, Type.Null()]);
const Closed = { additionalProperties: false } as const;

export const ExecutionResultJson = Type.Object(
  {
    ok: Type.Boolean(),
    errorCode: Nullable(Type.String({ maxLength: 128 })),
    errorMessage: Nullable(Type.String({ maxLength: 1024 })),
  },
  { ...Closed, description: "outcome of executing the transaction (not committed to by the header)" },
);

export const BlockHeaderJson = Type.Object(
  {
    chainId: Type.String({ minLength: 1, maxLength: CHAIN_ID_BYTES_MAX }),
    height: U64String,
    timeMs: U64String,
    previousBlockHash: HashHex,
    previousCommitHash: HashHex,
    txRoot: HashHex,
    txCount: Type.Integer({ minimum: 0, maximum: BLOCK_TXS_MAX }),
    logRoot: HashHex,
    logSize: U64String,
    stateRoot: HashHex,
    receiptRoot: HashHex,
    validatorSetHash: HashHex,
    nextValidatorSetHash: HashHex,
    evidenceRoot: HashHex,
    proposer: HashHex,
  },
  { ...Closed, description: "a block header (docs/PROTOCOL.md, 'Block header and block')" },
);

export const CommitCertificateJson = Type.Object(
  {
    height: U64String,
    round: Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 }),
    blockHash: HashHex,
    signatures: Type.Array(
      Type.Object(
        {
          validatorIndex: Type.Integer({ minimum: 0, maximum: VALIDATORS_MAX - 1 }),
          signature: BytesHex(SIGNATURE_BYTES_MAX),
        },
        Closed,
      ),
      { maxItems: VALIDATORS_MAX },
    ),
  },
  { ...Closed, description: "precommits of more than 2/3 of the voting power over one block hash" },
);

export const SuiteNameJson = Type.Union([Type.Literal("ed25519"), Type.Literal("sm2-sm3")]);

export const ValidatorSetJson = Type.Object(
  {
    suite: SuiteNameJson,
    validators: Type.Array(
      Type.Object({ publicKey: BytesHex(PUBLIC_KEY_BYTES_MAX), power: U64String }, Closed),
      { minItems: 1, maxItems: VALIDATORS_MAX },
    ),
  },
  Closed,
);

export const ReceiptJson = Type.Object(
  {
    format: Type.Literal(RECEIPT_FORMAT),
    chainId: Type.String({ minLength: 1, maxLength: CHAIN_ID_BYTES_MAX }),
    transaction: BytesHex(TX_SIZE_BYTES_MAX, "the encoded transaction"),
    hash: HashHex,
    height: U64String,
    indexInBlock: Type.Integer({ minimum: 0, maximum: BLOCK_TXS_MAX - 1 }),
    logIndex: Type.Integer({ minimum: 0, maximum: LOG_SIZE_MAX }),
    logSize: U64String,
    inclusionProof: Type.Array(HashHex, { maxItems: LOG_PROOF_HASHES_MAX }),
    header: BlockHeaderJson,
    encodedHeader: BytesHex(HEADER_ENCODED_BYTES_MAX),
    certificate: CommitCertificateJson,
    encodedCertificate: BytesHex(CERTIFICATE_ENCODED_BYTES_MAX),
    validatorSet: ValidatorSetJson,
    result: ExecutionResultJson,
    execution: Type.Union([
      Type.Object(
        {
          receipt: BytesHex(EXECUTION_RECEIPT_BYTES_MAX, "the encoded execution receipt (PROTOCOL 13.5)"),
          proof: Type.Array(HashHex, {
            maxItems: LOG_PROOF_HASHES_MAX,
            description: "RFC 9162 inclusion proof of the receipt's hash in the header's receiptRoot",
          }),
        },
        Closed,
      ),
      Type.Null({ description: "the node does not hold the block's execution receipts" }),
    ]),
  },
  {
    ...Closed,
    description: "everything needed to verify offline that a transaction is in the ledger and what it did",
  },
);

const TransactionPendingJson = Type.Object({ status: Type.Literal("pending"), hash: HashHex }, Closed);
const TransactionCommittedJson = Type.Object(
  {
    status: Type.Literal("committed"),
    hash: HashHex,
    height: U64String,
    indexInBlock: Type.Integer({ minimum: 0, maximum: BLOCK_TXS_MAX - 1 }),
    logIndex: Type.Integer({ minimum: 0, maximum: LOG_SIZE_MAX }),
    result: ExecutionResultJson,
  },
  Closed,
);
const TransactionUnknownJson = Type.Object({ status: Type.Literal("unknown"), hash: HashHex }, Closed);
export const TransactionStatusJson = Type.Union([
  TransactionPendingJson,
  TransactionCommittedJson,
  TransactionUnknownJson,
]);

export const SubmitAcceptedJson = Type.Object({ hash: HashHex, status: Type.Literal("pending") }, Closed);

/** Free-form details of a refusal: short scalar values only. */
export const ProblemDetailsJson = Type.Record(
  Type.String({ maxLength: 64 }),
  Type.Union([Type.String({ maxLength: 256 }), Type.Number(), Type.Boolean()]),
);

/** RFC 9457 problem details, with CityLedger's stable `code` and optional extensions. */
export const ProblemJson = Type.Object(
  {
    type: Type.String({ description: "URI naming the kind of problem: urn:cityledger:problem:<code>" }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    code: Type.String({ description: "stable machine-readable code (docs/API.md, 'Problem codes')" }),
    instance: Type.Optional(Type.String()),
    hash: Type.Optional(HashHex),
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
    details: Type.Optional(ProblemDetailsJson),
  },
  { description: "RFC 9457 problem details (application/problem+json)" },
);

export const BatchItemAcceptedJson = Type.Object(
  {
    index: Type.Integer({ minimum: 0 }),
    accepted: Type.Literal(true),
    hash: HashHex,
    status: Type.Literal("pending"),
  },
  Closed,
);
export const BatchItemRefusedJson = Type.Object(
  {
    index: Type.Integer({ minimum: 0 }),
    accepted: Type.Literal(false),
    hash: Nullable(HashHex),
    code: Type.String(),
    status: Type.Integer({
      minimum: 400,
      maximum: 599,
      description: "the HTTP status a single submit gives",
    }),
    message: Type.String(),
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  Closed,
);
export const BatchResultJson = Type.Object(
  {
    acceptedCount: Type.Integer({ minimum: 0 }),
    results: Type.Array(Type.Union([BatchItemAcceptedJson, BatchItemRefusedJson])),
  },
  Closed,
);

export const BlockJson = Type.Object(
  {
    height: U64String,
    hash: HashHex,
    header: BlockHeaderJson,
    encodedHeader: BytesHex(HEADER_ENCODED_BYTES_MAX),
    certificate: CommitCertificateJson,
    encodedCertificate: BytesHex(CERTIFICATE_ENCODED_BYTES_MAX),
    transactionHashes: Type.Array(HashHex, { maxItems: BLOCK_TXS_MAX }),
    evidenceCount: Type.Integer({ minimum: 0 }),
    sizeBytes: Type.Integer({ minimum: 0 }),
  },
  Closed,
);

export const ValidatorsJson = Type.Object(
  { validatorSet: ValidatorSetJson, validatorSetHash: HashHex, totalPower: U64String },
  Closed,
);

export const StateReadJson = Type.Object(
  {
    key: HashHex,
    value: Nullable(BytesHex(STATE_VALUE_BYTES_MAX)),
    height: U64String,
    stateRoot: HashHex,
    proof: BytesHex(STATE_PROOF_BYTES_MAX, "encoded state proof (docs/PROTOCOL.md, 'State tree')"),
  },
  { ...Closed, description: "a value (null when absent) with its (non-)membership proof" },
);

export const NotaryJson = Type.Object(
  {
    documentHash: HashHex,
    record: Nullable(Type.Record(Type.String(), Type.Unknown())),
    read: StateReadJson,
  },
  Closed,
);

export const EventJson = Type.Object(
  {
    height: U64String,
    txIndex: Type.Integer({ minimum: 0 }),
    eventIndex: Type.Integer({ minimum: 0 }),
    logIndex: Type.Integer({ minimum: 0, maximum: LOG_SIZE_MAX }),
    contract: Type.String({ maxLength: NAME_BYTES_MAX }),
    type: Type.String({ maxLength: NAME_BYTES_MAX }),
    key: Type.Union([Type.String({ maxLength: 128 }), Type.Null()], {
      description: "the indexed key: the data's `key` field (text, bytes as hex, integer in decimal)",
    }),
    data: BytesHex(EVENT_DATA_BYTES_MAX),
    value: Type.Unknown({
      description:
        "the data decoded, in the value JSON form (docs/PROTOCOL.md 1.1.1); null when it is not a canonical value",
    }),
  },
  Closed,
);
export const EventsPageJson = Type.Object(
  {
    events: Type.Array(EventJson),
    next: Nullable(
      Type.Integer({ minimum: 0, maximum: LOG_SIZE_MAX, description: "`after` for the next page" }),
    ),
  },
  Closed,
);

export const NodeStatusJson = Type.Object(
  {
    chainId: Type.String(),
    suite: Type.String(),
    nodePublicKey: BytesHex(PUBLIC_KEY_BYTES_MAX),
    validator: Type.Boolean(),
    height: U64String,
    headHash: Nullable(HashHex),
    headTimeMs: Nullable(U64String),
    logSize: U64String,
    stateRoot: HashHex,
    consensus: Type.Object(
      { height: U64String, round: Type.Integer({ minimum: 0 }), step: Type.String() },
      Closed,
    ),
    mempool: Type.Object(
      { count: Type.Integer({ minimum: 0 }), sizeBytes: Type.Integer({ minimum: 0 }) },
      Closed,
    ),
    peers: Type.Integer({ minimum: 0 }),
    syncing: Type.Boolean(),
    startedAtMs: Type.Integer({ minimum: 0 }),
  },
  Closed,
);

export const HealthJson = Type.Object({ ready: Type.Boolean() }, Closed);

/** A block as pushed to WebSocket subscribers: the header and counts, not the transactions. */
export const BlockNoticeJson = Type.Object(
  {
    height: U64String,
    hash: HashHex,
    header: BlockHeaderJson,
    txCount: Type.Integer({ minimum: 0 }),
    /** The block's transaction hashes, in order: a client waiting for many needs no block fetch. */
    transactionHashes: Type.Array(HashHex, { maxItems: BLOCK_TXS_MAX }),
    eventCount: Type.Integer({ minimum: 0 }),
    sizeBytes: Type.Integer({ minimum: 0 }),
  },
  Closed,
);

const MessageId = Type.Union([
  Type.String({ maxLength: WS_MESSAGE_ID_LENGTH_MAX }),
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
]);
const SubscriptionId = Type.Integer({ minimum: 1, maximum: SUBSCRIPTION_ID_MAX });

/** What a client may send over /v1/ws. */
export const WsClientMessageJson = Type.Union([
  Type.Object({ subscribe: Type.Literal("blocks"), id: Type.Optional(MessageId) }, Closed),
  Type.Object({ subscribe: Type.Literal("tx"), hash: HashHexInput, id: Type.Optional(MessageId) }, Closed),
  Type.Object(
    {
      subscribe: Type.Literal("events"),
      contract: Type.Optional(Type.String({ minLength: 1, maxLength: NAME_BYTES_MAX })),
      type: Type.Optional(Type.String({ minLength: 1, maxLength: NAME_BYTES_MAX })),
      id: Type.Optional(MessageId),
    },
    Closed,
  ),
  Type.Object({ unsubscribe: SubscriptionId, id: Type.Optional(MessageId) }, Closed),
  Type.Object(
    {
      submit: Type.String({ pattern: "^[0-9a-fA-F]*$", maxLength: 2 * TX_SIZE_BYTES_MAX }),
      id: Type.Optional(MessageId),
    },
    Closed,
  ),
]);

/** What the server sends over /v1/ws: replies (echoing `id`) and pushes (naming `subscription`). */
export const WsServerMessageJson = Type.Union([
  Type.Object(
    {
      type: Type.Literal("subscribed"),
      id: Type.Optional(MessageId),
      subscription: SubscriptionId,
      topic: Type.Union([Type.Literal("blocks"), Type.Literal("tx"), Type.Literal("events")]),
    },
    Closed,
  ),
  Type.Object(
    { type: Type.Literal("unsubscribed"), id: Type.Optional(MessageId), subscription: SubscriptionId },
    Closed,
  ),
  Type.Object(
    {
      type: Type.Literal("submitted"),
      id: Type.Optional(MessageId),
      hash: HashHex,
      status: Type.Literal("pending"),
    },
    Closed,
  ),
  Type.Object(
    {
      type: Type.Literal("error"),
      id: Type.Optional(MessageId),
      code: Type.String(),
      message: Type.String(),
      hash: Type.Optional(HashHex),
      retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    Closed,
  ),
  Type.Object({ type: Type.Literal("block"), subscription: SubscriptionId, block: BlockNoticeJson }, Closed),
  Type.Object(
    { type: Type.Literal("tx"), subscription: SubscriptionId, status: TransactionCommittedJson },
    Closed,
  ),
  Type.Object(
    {
      type: Type.Literal("events"),
      subscription: SubscriptionId,
      height: U64String,
      events: Type.Array(EventJson),
      truncated: Type.Boolean({ description: "more events matched than one push carries: page with GET" }),
    },
    Closed,
  ),
]);

export type ExecutionResultJson = Static<typeof ExecutionResultJson>;
export type BlockHeaderJson = Static<typeof BlockHeaderJson>;
export type CommitCertificateJson = Static<typeof CommitCertificateJson>;
export type ValidatorSetJson = Static<typeof ValidatorSetJson>;
export type ReceiptJson = Static<typeof ReceiptJson>;
export type TransactionStatusJson = Static<typeof TransactionStatusJson>;
export type TransactionCommittedJson = Static<typeof TransactionCommittedJson>;
export type SubmitAcceptedJson = Static<typeof SubmitAcceptedJson>;
export type ProblemJson = Static<typeof ProblemJson>;
export type BatchResultJson = Static<typeof BatchResultJson>;
export type BatchItemJson = BatchResultJson["results"][number];
export type BlockJson = Static<typeof BlockJson>;
export type ValidatorsJson = Static<typeof ValidatorsJson>;
export type StateReadJson = Static<typeof StateReadJson>;
export type NotaryJson = Static<typeof NotaryJson>;
export type EventJson = Static<typeof EventJson>;
export type EventsPageJson = Static<typeof EventsPageJson>;
export type NodeStatusJson = Static<typeof NodeStatusJson>;
export type HealthJson = Static<typeof HealthJson>;
export type BlockNoticeJson = Static<typeof BlockNoticeJson>;
export type WsClientMessageJson = Static<typeof WsClientMessageJson>;
export type WsServerMessageJson = Static<typeof WsServerMessageJson>;
