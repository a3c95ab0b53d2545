/**
 * The API's request schemas (path parameters, query strings, bodies) and response wrappers, in
 * TypeBox. Response bodies are the SDK's wire schemas (src/sdk/wire.ts). Inputs accept hex in
 * either case; outputs are always lower-case.
 * @module
 */
import { type TSchema, Type } from "@sinclair/typebox";
import { LOG_SIZE_MAX, NAME_BYTES_MAX, TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import { CONTRACT_NAME_PATTERN } from "../ledger/validate-transaction.ts";
import { ProblemJson, U64_DECIMAL_PATTERN } from "../sdk/wire.ts";
import { EVENT_KEY_BYTES_MAX } from "../storage/limits.ts";
import { API_BATCH_TXS_MAX, API_EVENTS_PAGE_DEFAULT, API_EVENTS_PAGE_MAX } from "./limits.ts";

/** Title marking a schema of raw bytes: validated as anything, documented as binary (see server.ts). */
export const RAW_BYTES_TITLE = "RawBytes";
export const OCTET_STREAM = "application/octet-stream";
export const JSON_TYPE = "application/json";

const HEX_INPUT_PATTERN = "^[0-9a-fA-F]*$";

export const HashInput = Type.String({
  pattern: "^[0-9a-fA-F]{64}$",
  minLength: 64,
  maxLength: 64,
  description: "32-byte hash as hex",
});
export const U64Input = Type.String({
  pattern: U64_DECIMAL_PATTERN,
  maxLength: 20,
  description: "unsigned 64-bit integer, decimal",
});
export const TransactionHexInput = Type.String({
  pattern: HEX_INPUT_PATTERN,
  minLength: 2,
  maxLength: 2 * TX_SIZE_BYTES_MAX,
  description: "the encoded transaction as hex (docs/PROTOCOL.md, 'Transaction')",
});

export const HashParams = Type.Object({ hash: HashInput });
export const HeightParams = Type.Object({ height: U64Input });
export const StateKeyParams = Type.Object({ keyHex: HashInput });
export const DocumentParams = Type.Object({ documentHash: HashInput });

/** A string out of a closed list, documented as an OpenAPI enum. */
function StringEnum<const Value extends string>(values: readonly Value[], description: string) {
  return Type.Unsafe<Value>({ type: "string", enum: [...values], description });
}

export const BlockQuery = Type.Object({
  format: Type.Optional(
    StringEnum(
      ["json", "raw"],
      "raw: the encoded block as application/octet-stream (so does Accept: application/octet-stream)",
    ),
  ),
});
export const ValidatorsQuery = Type.Object({
  height: Type.Optional({
    ...U64Input,
    description: "the height whose signers to give; default the next height",
  }),
});
export const EventsQuery = Type.Object({
  contract: Type.Optional(Type.String({ pattern: CONTRACT_NAME_PATTERN.source, maxLength: NAME_BYTES_MAX })),
  type: Type.Optional(Type.String({ minLength: 1, maxLength: NAME_BYTES_MAX })),
  key: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: EVENT_KEY_BYTES_MAX,
      description:
        "the event's indexed key: its data's `key` field (text, bytes as hex, integers in decimal)",
    }),
  ),
  after: Type.Optional(
    Type.Integer({ minimum: 0, maximum: LOG_SIZE_MAX, description: "only events after this log index" }),
  ),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: API_EVENTS_PAGE_MAX,
      description: `default ${API_EVENTS_PAGE_DEFAULT}`,
    }),
  ),
});

export const SubmitBody = Type.Object({ transaction: TransactionHexInput }, { additionalProperties: false });
export const BatchBody = Type.Object(
  { transactions: Type.Array(TransactionHexInput, { minItems: 1, maxItems: API_BATCH_TXS_MAX }) },
  { additionalProperties: false },
);

/** Raw bytes in a body or a reply (validated as anything; the route checks them). */
export function RawBytes(description: string) {
  return Type.Unsafe<Uint8Array>({ title: RAW_BYTES_TITLE, description });
}

/** A JSON reply. */
export function jsonReply<Schema extends TSchema>(schema: Schema, description: string) {
  return { description, content: { [JSON_TYPE]: { schema } } };
}

const problemReply = {
  description: "RFC 9457 problem details with a stable `code` (docs/API.md)",
  content: { "application/problem+json": { schema: ProblemJson } },
};

/** The error replies every route may give. */
export const PROBLEM_REPLIES = { "4xx": problemReply, "5xx": problemReply } as const;
