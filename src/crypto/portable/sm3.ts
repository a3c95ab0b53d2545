/**
 * SM3 (GB/T 32905-2016), the Chinese national hash: 512-bit blocks, 256-bit digests, a
 * Merkle–Damgård construction with SHA-256's padding. Pure TypeScript so it runs in browsers;
 * the node uses the OpenSSL one in ../sm3.ts, which gives identical digests.
 *
 * One call hashes one whole message. The message schedule and the padding block live in
 * module-level buffers allocated once: hashing allocates only the 32-byte digest. The function
 * is synchronous and never calls out, so the shared buffers cannot be used by two calls at once.
 * @module
 */
import { assert } from "../../base/assert.ts";

export const SM3_DIGEST_BYTES = 32;
export const SM3_BLOCK_BYTES = 64;
/** Message words per block after expansion: W[0..67] (W'[j] = W[j] ^ W[j + 4] is computed inline). */
const SCHEDULE_WORDS = 68;
const ROUNDS = 64;
/**
 * Largest message: the standard counts bits in 64 bits; we stay exact in doubles, where the bit
 * count is `sizeBytes * 8` and must stay below 2^53.
 */
export const SM3_MESSAGE_BYTES_MAX = 2 ** 49;

assert(SM3_BLOCK_BYTES === 64, "SM3 blocks are 512 bits");
assert(SM3_MESSAGE_BYTES_MAX * 8 <= Number.MAX_SAFE_INTEGER, "bit count stays exact");

/** Initial value (GB/T 32905-2016, 4.1). */
const INITIAL_VALUE = Uint32Array.of(
  0x7380166f,
  0x4914b2b9,
  0x172442d7,
  0xda8a0600,
  0xa96f30bc,
  0x163138aa,
  0xe38dee4d,
  0xb0fb0e4e,
);

function rotateLeft(word: number, count: number): number {
  return (word << count) | (word >>> (32 - count));
}

/** T_j <<< (j mod 32), precomputed for every round (4.2 and 5.3.3). */
const ROUND_CONSTANTS_ROTATED = new Int32Array(ROUNDS);
for (let round = 0; round < ROUNDS; round++) {
  const constant = round < 16 ? 0x79cc4519 : 0x7a879d8a;
  const count = round % 32;
  ROUND_CONSTANTS_ROTATED[round] = count === 0 ? constant : rotateLeft(constant, count);
}

const schedule = new Int32Array(SCHEDULE_WORDS);
const state = new Int32Array(8);
/** The last one or two blocks: the message tail, 0x80, zeros and the 64-bit bit count. */
const paddingBlocks = new Uint8Array(2 * SM3_BLOCK_BYTES);

/** The compression function CF (5.3.3): folds the block at `offset` of `bytes` into `state`. */
function compress(bytes: Uint8Array, offset: number): void {
  assert(offset >= 0);
  assert(offset + SM3_BLOCK_BYTES <= bytes.length);
  const words = schedule;
  for (let index = 0; index < 16; index++) {
    const at = offset + index * 4;
    words[index] = (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
  }
  for (let index = 16; index < SCHEDULE_WORDS; index++) {
    const mixed = words[index - 16]! ^ words[index - 9]! ^ rotateLeft(words[index - 3]!, 15);
    // P1(X) = X ^ (X <<< 15) ^ (X <<< 23)
    words[index] =
      mixed ^
      rotateLeft(mixed, 15) ^
      rotateLeft(mixed, 23) ^
      rotateLeft(words[index - 13]!, 7) ^
      words[index - 6]!;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  // Rounds 0..15 use FF = GG = X ^ Y ^ Z; rounds 16..63 use majority and choice (4.3). Two
  // loops instead of a branch per round.
  for (let round = 0; round < 16; round++) {
    const aRotated = rotateLeft(a, 12);
    const ss1 = rotateLeft((aRotated + e + ROUND_CONSTANTS_ROTATED[round]!) | 0, 7);
    const tt1 = ((a ^ b ^ c) + d + (ss1 ^ aRotated) + (words[round]! ^ words[round + 4]!)) | 0;
    const tt2 = ((e ^ f ^ g) + h + ss1 + words[round]!) | 0;
    d = c;
    c = rotateLeft(b, 9);
    b = a;
    a = tt1;
    h = g;
    g = rotateLeft(f, 19);
    f = e;
    // P0(X) = X ^ (X <<< 9) ^ (X <<< 17)
    e = tt2 ^ rotateLeft(tt2, 9) ^ rotateLeft(tt2, 17);
  }
  for (let round = 16; round < ROUNDS; round++) {
    const aRotated = rotateLeft(a, 12);
    const ss1 = rotateLeft((aRotated + e + ROUND_CONSTANTS_ROTATED[round]!) | 0, 7);
    const majority = (a & b) | (a & c) | (b & c);
    const choice = (e & f) | (~e & g);
    const tt1 = (majority + d + (ss1 ^ aRotated) + (words[round]! ^ words[round + 4]!)) | 0;
    const tt2 = (choice + h + ss1 + words[round]!) | 0;
    d = c;
    c = rotateLeft(b, 9);
    b = a;
    a = tt1;
    h = g;
    g = rotateLeft(f, 19);
    f = e;
    e = tt2 ^ rotateLeft(tt2, 9) ^ rotateLeft(tt2, 17);
  }
  state[0] = state[0]! ^ a;
  state[1] = state[1]! ^ b;
  state[2] = state[2]! ^ c;
  state[3] = state[3]! ^ d;
  state[4] = state[4]! ^ e;
  state[5] = state[5]! ^ f;
  state[6] = state[6]! ^ g;
  state[7] = state[7]! ^ h;
}

/** SM3 digest (32 bytes) of the whole message. */
export function sm3(data: Uint8Array): Uint8Array {
  const sizeBytes = data.length;
  assert(sizeBytes <= SM3_MESSAGE_BYTES_MAX, "sm3: message too large");
  state.set(INITIAL_VALUE);

  const blocksFull = Math.floor(sizeBytes / SM3_BLOCK_BYTES);
  for (let block = 0; block < blocksFull; block++) compress(data, block * SM3_BLOCK_BYTES);

  // Padding (5.2): the tail, one 1 bit, zeros, then the bit count as 64 bits big-endian.
  const tailBytes = sizeBytes - blocksFull * SM3_BLOCK_BYTES;
  assert(tailBytes >= 0);
  assert(tailBytes < SM3_BLOCK_BYTES);
  const paddingBytes = tailBytes + 1 + 8 <= SM3_BLOCK_BYTES ? SM3_BLOCK_BYTES : 2 * SM3_BLOCK_BYTES;
  paddingBlocks.fill(0);
  paddingBlocks.set(data.subarray(blocksFull * SM3_BLOCK_BYTES), 0);
  paddingBlocks[tailBytes] = 0x80;
  const bitCountHigh = Math.floor(sizeBytes / 2 ** 29);
  const bitCountLow = (sizeBytes * 8) % 2 ** 32;
  writeWord(paddingBlocks, paddingBytes - 8, bitCountHigh);
  writeWord(paddingBlocks, paddingBytes - 4, bitCountLow);
  for (let offset = 0; offset < paddingBytes; offset += SM3_BLOCK_BYTES) compress(paddingBlocks, offset);

  const digest = new Uint8Array(SM3_DIGEST_BYTES);
  for (let index = 0; index < 8; index++) writeWord(digest, index * 4, state[index]!);
  return digest;
}

function writeWord(bytes: Uint8Array, offset: number, word: number): void {
  bytes[offset] = word >>> 24;
  bytes[offset + 1] = word >>> 16;
  bytes[offset + 2] = word >>> 8;
  bytes[offset + 3] = word;
}
