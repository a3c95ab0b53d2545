/*
 * SHA-256 for the node through the OpenSSL that Node.js itself carries (the one node:crypto
 * uses), called with N-API's smallest overhead: no EVP context, no JavaScript Buffer per call.
 * OpenSSL picks its fastest code for the CPU at run time (SHA extensions where present). The
 * SHA-256 itself is OpenSSL's; this file only moves bytes (docs/adr/0008-native-sha256.md).
 *
 *   digestInto(output: Uint8Array, outputOffset: number, input: Uint8Array): void
 *     writes SHA-256(input) into output[outputOffset, outputOffset + 32)
 *   implementation(): string  OpenSSL's version text
 */
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <stdint.h>

#define DIGEST_BYTES 32

static int bytes_of(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed_array = false;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array) return 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void *pointer = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &pointer, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  /* An empty view may have no data pointer; SHA256_Update reads nothing from it then. */
  static uint8_t empty = 0;
  *data = pointer == NULL ? &empty : (uint8_t *)pointer;
  return 1;
}

static napi_value digest_into(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 3) {
    napi_throw_type_error(env, NULL, "digestInto(output, outputOffset, input)");
    return NULL;
  }
  uint8_t *output;
  size_t output_length;
  uint8_t *input;
  size_t input_length;
  double offset_number;
  if (!bytes_of(env, args[0], &output, &output_length) || !bytes_of(env, args[2], &input, &input_length)) {
    napi_throw_type_error(env, NULL, "output and input are Uint8Arrays");
    return NULL;
  }
  if (napi_get_value_double(env, args[1], &offset_number) != napi_ok || offset_number < 0 ||
      offset_number != (double)(size_t)offset_number ||
      (size_t)offset_number > output_length || output_length - (size_t)offset_number < DIGEST_BYTES) {
    napi_throw_range_error(env, NULL, "the digest must fit in the output at the offset");
    return NULL;
  }
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, input, input_length);
  SHA256_Final(output + (size_t)offset_number, &context);
  return NULL;
}

static napi_value implementation(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value text;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &text);
  return text;
}

NAPI_MODULE_INIT() {
  napi_value function;
  napi_create_function(env, "digestInto", NAPI_AUTO_LENGTH, digest_into, NULL, &function);
  napi_set_named_property(env, exports, "digestInto", function);
  napi_create_function(env, "implementation", NAPI_AUTO_LENGTH, implementation, NULL, &function);
  napi_set_named_property(env, exports, "implementation", function);
  return exports;
}
