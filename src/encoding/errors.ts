import { CityLedgerError } from "../base/errors.ts";

export type DecodeErrorCode =
  | "DECODE_TRUNCATED"
  | "DECODE_TRAILING_BYTES"
  | "DECODE_TOO_LONG"
  | "DECODE_TOO_DEEP"
  | "DECODE_INVALID_UTF8"
  | "DECODE_UNKNOWN_VERSION"
  | "DECODE_UNKNOWN_TAG"
  | "DECODE_NON_CANONICAL"
  | "DECODE_INVALID_VALUE";

/** Input bytes are not a canonical encoding of the expected structure. Nothing was decoded. */
export class DecodeError extends CityLedgerError<DecodeErrorCode> {
  override name = "DecodeError";
}

export type EncodeErrorCode = "ENCODE_TOO_LONG" | "ENCODE_OUT_OF_RANGE" | "ENCODE_INVALID_VALUE";

/** A value cannot be encoded: a field exceeds its limit or is not of the encodable form. */
export class EncodeError extends CityLedgerError<EncodeErrorCode> {
  override name = "EncodeError";
}
