export { DOMAIN_TAGS, type DomainTag, domainSeparated } from "./domain.ts";
export { DecodeError, type DecodeErrorCode, EncodeError, type EncodeErrorCode } from "./errors.ts";
export { Reader } from "./reader.ts";
export {
  decodeValue,
  encodeValue,
  equalValues,
  readValue,
  VALUE_STRING_BYTES_MAX,
  VALUE_TAG,
  type Value,
  type ValueMap,
  writeValue,
} from "./value.ts";
export {
  type Json,
  ValueJsonError,
  type ValueJsonErrorCode,
  valueFromJson,
  valueToJson,
} from "./value-json.ts";
export { Writer } from "./writer.ts";
