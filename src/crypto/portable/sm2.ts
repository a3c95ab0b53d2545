/**
 * SM2 digital signatures (GB/T 32918.2-2016, GM/T 0003.2-2012) on the recommended curve
 * sm2p256v1 (GB/T 32918.5-2017), in pure TypeScript over @noble/curves' Weierstrass arithmetic.
 * The hash is a parameter so that the node (OpenSSL SM3) and the browser SDK (portable SM3)
 * share this one implementation: see createSm2().
 *
 * Symbols follow the standard: d is the private scalar, P = [d]G the public point, n the group
 * order, Z_A = H(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A) the signer's identity
 * digest and e = H(Z_A || M) the message digest read as an integer.
 *
 * Encodings (fixed width, big-endian):
 * - private key: 32 bytes, d in [1, n - 2] (d = n - 1 would make 1 + d non-invertible);
 * - public key: 65 bytes, 0x04 || x || y, a point on the curve (never the point at infinity);
 * - signature: 64 bytes, r || s with r and s in [1, n - 1].
 *
 * Determinism: signing takes no randomness. The nonce k comes from RFC 6979's HMAC-DRBG
 * (section 3.2) instantiated with HMAC-H over the private key and e; candidates that the
 * standard rejects (r = 0, r + k = n, s = 0) just draw the next DRBG output. noble's scalar
 * blinding is switched off because it would read a random source (the suite contract says none
 * is read); multiplication by secret scalars still uses noble's constant-time path.
 *
 * Speed: verification computes [s]G + [t]P with its own variable-time arithmetic (all inputs
 * are public): Jacobian coordinates with the a = -3 doubling, one shared doubling chain, a wNAF
 * table of G built once per curve and a small one of P per call, and an x-coordinate check that
 * needs no field inversion. That is about 2x noble's generic complete formulas here.
 * @module
 */
import { Field, mod } from "@noble/curves/abstract/modular.js";
import { type WeierstrassPointCons, weierstrass } from "@noble/curves/abstract/weierstrass.js";
import { bytesToNumberBE, numberToBytesBE } from "@noble/curves/utils.js";
import { assert } from "../../base/assert.ts";
import { concatBytes, equalBytes, utf8 } from "../../base/bytes.ts";
import type { HashFunction } from "../suite.ts";

export const SM2_PRIVATE_KEY_BYTES = 32;
export const SM2_COORDINATE_BYTES = 32;
export const SM2_PUBLIC_KEY_BYTES = 1 + 2 * SM2_COORDINATE_BYTES;
export const SM2_SIGNATURE_BYTES = 2 * SM2_COORDINATE_BYTES;
/** Bytes of the seed that privateKeyFromSeed() takes. */
export const SM2_SEED_BYTES = 32;
/** ENTL_A is the identity's length in bits, as 16 bits: 8191 bytes is the most it can say. */
export const SM2_IDENTITY_BYTES_MAX = 8191;
/** The standard's default distinguishing identity (GB/T 35276-2017, GM/T 0009-2012). */
export const SM2_DEFAULT_IDENTITY: Uint8Array = utf8("1234567812345678");
/**
 * DRBG outputs tried as nonces before signing gives up. A candidate fails with probability
 * about 2^-32 (out of [1, n - 1]) plus 3/n (the rejection rules), so 16 never run out in
 * practice; running out means the hash is broken.
 */
export const SM2_NONCE_CANDIDATES_MAX = 16;
/** HMAC block size: SM3 (and SHA-256) use 64-byte blocks. */
const HMAC_BLOCK_BYTES = 64;
/** The hash must produce 32-byte digests: e, Z_A and the DRBG all assume it. */
const DIGEST_BYTES = 32;
const SCALAR_BITS = 8 * SM2_COORDINATE_BYTES;
/** wNAF window of the generator's table, built once per curve: 2^(8-2) = 64 affine points. */
const BASE_WINDOW_BITS = 8;
/** wNAF window of the public key's table, built per verification: 2^(5-2) = 8 affine points. */
const PUBLIC_WINDOW_BITS = 5;

assert(SM2_DEFAULT_IDENTITY.length <= SM2_IDENTITY_BYTES_MAX);
assert(SM2_IDENTITY_BYTES_MAX * 8 <= 0xffff, "ENTL_A fits in 16 bits");
assert(SM2_PUBLIC_KEY_BYTES === 65);
assert(SM2_SIGNATURE_BYTES === 64);
assert(BASE_WINDOW_BITS >= 2 && BASE_WINDOW_BITS <= 8, "wNAF digits fit in an Int8Array");
assert(PUBLIC_WINDOW_BITS >= 2 && PUBLIC_WINDOW_BITS <= 8, "wNAF digits fit in an Int8Array");

/** Domain parameters of a prime-field SM2 curve y^2 = x^3 + ax + b with cofactor 1. */
export interface Sm2CurveParameters {
  readonly p: bigint;
  readonly a: bigint;
  readonly b: bigint;
  readonly n: bigint;
  readonly gx: bigint;
  readonly gy: bigint;
}

/** The recommended curve (GB/T 32918.5-2017, GM/T 0003.5-2012): "sm2p256v1". */
export const SM2P256V1: Sm2CurveParameters = Object.freeze({
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
});

/** Domain tag of privateKeyFromSeed(); changing it changes every derived key. */
const SEED_DOMAIN_TAG = utf8("CityLedger SM2 private key from seed v1");

export interface AffinePoint {
  readonly x: bigint;
  readonly y: bigint;
}

/** (X, Y, Z) stands for the affine point (X / Z^2, Y / Z^3); Z = 0 is the point at infinity. */
interface JacobianPoint {
  readonly x: bigint;
  readonly y: bigint;
  readonly z: bigint;
}

const INFINITY: JacobianPoint = Object.freeze({ x: 1n, y: 1n, z: 0n });

/** The curve, independent of the hash: noble's point type plus the verification arithmetic. */
export interface Sm2Curve {
  readonly parameters: Sm2CurveParameters;
  /** noble's point constructor: constant-time multiplication by secret scalars. */
  readonly Point: WeierstrassPointCons<bigint>;
  /** True when (x, y) are canonical field elements satisfying the curve equation. */
  isOnCurve(point: AffinePoint): boolean;
  /**
   * [s]G + [t]Q in Jacobian coordinates, variable time (public inputs only). Q must be on the
   * curve and s, t in [0, n).
   */
  linearCombination(s: bigint, t: bigint, point: AffinePoint): JacobianPoint;
  /** The affine form of a Jacobian point, or null for the point at infinity. */
  toAffine(point: JacobianPoint): AffinePoint | null;
}

const curves = new WeakMap<Sm2CurveParameters, Sm2Curve>();

/** The curve of these parameters; built once per parameters object and shared. */
export function sm2CurveOf(parameters: Sm2CurveParameters): Sm2Curve {
  let curve = curves.get(parameters);
  if (curve === undefined) {
    curve = createCurve(parameters);
    curves.set(parameters, curve);
  }
  return curve;
}

function createCurve(parameters: Sm2CurveParameters): Sm2Curve {
  const { p, a, b, n, gx, gy } = parameters;
  assert(p < 1n << BigInt(SCALAR_BITS), "field elements fit in 32 bytes");
  assert(n < 1n << BigInt(SCALAR_BITS), "scalars fit in 32 bytes");
  assert(n < p, "x mod n has at most two preimages below p (Hasse, cofactor 1)");
  assert(p < 2n * n, "x mod n has at most two preimages below p (Hasse, cofactor 1)");
  const fieldP = Field(p);
  const Point = weierstrass<bigint>(
    { p, n, h: 1n, a, b, Gx: gx, Gy: gy },
    {
      Fp: fieldP,
      Fn: Field(n),
      // No random source: noble probes this once, gets an error and from then on multiplies
      // secret scalars with its unblinded constant-time path (see the module comment).
      randomBytes: () => {
        throw new Error("the SM2 core reads no random source");
      },
    },
  );
  const aIsMinusThree = a === p - 3n;

  function isOnCurve(point: AffinePoint): boolean {
    const { x, y } = point;
    if (x < 0n || x >= p) return false;
    if (y < 0n || y >= p) return false;
    return mod(y * y - ((x * x + a) * x + b), p) === 0n;
  }

  /** value mod p for |value| < p^3: one bigint division, and the sign fix-up of `%`. */
  function reduce(value: bigint): bigint {
    const remainder = value % p;
    return remainder < 0n ? remainder + p : remainder;
  }

  /**
   * dbl-2001-b for a = -3, dbl-2007-bl otherwise (hyperelliptic.org/EFD, Jacobian), with
   * Z3 = (Y + Z)^2 - Y^2 - Z^2 computed as 2YZ: bigint squaring is no cheaper than multiplying.
   */
  function double(point: JacobianPoint): JacobianPoint {
    const { x, y, z } = point;
    if (z === 0n || y === 0n) return INFINITY;
    const zz = (z * z) % p;
    const yy = (y * y) % p;
    const slope = aIsMinusThree ? reduce(3n * (x - zz) * (x + zz)) : (3n * x * x + a * ((zz * zz) % p)) % p;
    const fourXYy = (4n * x * yy) % p;
    const x3 = reduce(slope * slope - 2n * fourXYy);
    const y3 = reduce(slope * (fourXYy - x3) - 8n * yy * yy);
    const z3 = (2n * y * z) % p;
    return { x: x3, y: y3, z: z3 };
  }

  /**
   * madd-2007-bl: Jacobian plus affine, with the equal and opposite cases handled, and
   * Z3 = (Z1 + H)^2 - Z1^2 - H^2 computed as 2 Z1 H.
   */
  function addAffine(point: JacobianPoint, other: AffinePoint): JacobianPoint {
    const { x: x1, y: y1, z: z1 } = point;
    if (z1 === 0n) return { x: other.x, y: other.y, z: 1n };
    const z1z1 = (z1 * z1) % p;
    const u2 = (other.x * z1z1) % p;
    const s2 = (other.y * z1 * z1z1) % p;
    const h = u2 >= x1 ? u2 - x1 : u2 - x1 + p;
    const slopeHalf = s2 >= y1 ? s2 - y1 : s2 - y1 + p;
    if (h === 0n) return slopeHalf === 0n ? double(point) : INFINITY;
    const i = 4n * ((h * h) % p);
    const j = (h * i) % p;
    const slope = 2n * slopeHalf;
    const v = (x1 * i) % p;
    const x3 = reduce(slope * slope - j - 2n * v);
    const y3 = reduce(slope * (v - x3) - 2n * y1 * j);
    const z3 = (2n * z1 * h) % p;
    return { x: x3, y: y3, z: z3 };
  }

  function negate(point: AffinePoint): AffinePoint {
    return { x: point.x, y: point.y === 0n ? 0n : p - point.y };
  }

  function toAffine(point: JacobianPoint): AffinePoint | null {
    if (point.z === 0n) return null;
    const zInverse = fieldP.inv(point.z);
    const zInverseSquared = (zInverse * zInverse) % p;
    return { x: (point.x * zInverseSquared) % p, y: (point.y * zInverseSquared * zInverse) % p };
  }

  /** P, 3P, 5P, ..., (2^(width-1) - 1)P, affine (one batched inversion). */
  function oddMultiples(point: AffinePoint, windowBits: number): AffinePoint[] {
    const count = 1 << (windowBits - 2);
    const twice = toAffine(double({ x: point.x, y: point.y, z: 1n }));
    // n is odd, so 2P is never the point at infinity for a point of order n.
    assert(twice !== null);
    const multiples: JacobianPoint[] = [{ x: point.x, y: point.y, z: 1n }];
    for (let index = 1; index < count; index++) multiples.push(addAffine(multiples[index - 1]!, twice));
    const zInverses = fieldP.invertBatch(multiples.map((multiple) => multiple.z));
    const affine = multiples.map((multiple, index) => {
      const zInverse = zInverses[index];
      assert(zInverse !== undefined, "odd multiples below n are never the point at infinity");
      const zInverseSquared = (zInverse * zInverse) % p;
      return { x: (multiple.x * zInverseSquared) % p, y: (multiple.y * zInverseSquared * zInverse) % p };
    });
    assert(affine.length === count);
    return affine;
  }

  let baseTable: AffinePoint[] | null = null;

  function linearCombination(s: bigint, t: bigint, point: AffinePoint): JacobianPoint {
    assert(s >= 0n && s < n);
    assert(t >= 0n && t < n);
    if (baseTable === null) baseTable = oddMultiples({ x: gx, y: gy }, BASE_WINDOW_BITS);
    const publicTable = oddMultiples(point, PUBLIC_WINDOW_BITS);
    const baseDigits = wnafDigits(s, BASE_WINDOW_BITS);
    const publicDigits = wnafDigits(t, PUBLIC_WINDOW_BITS);
    let sum = INFINITY;
    for (let index = SCALAR_BITS; index >= 0; index--) {
      sum = double(sum);
      const baseDigit = baseDigits[index]!;
      if (baseDigit > 0) sum = addAffine(sum, baseTable[baseDigit >> 1]!);
      if (baseDigit < 0) sum = addAffine(sum, negate(baseTable[-baseDigit >> 1]!));
      const publicDigit = publicDigits[index]!;
      if (publicDigit > 0) sum = addAffine(sum, publicTable[publicDigit >> 1]!);
      if (publicDigit < 0) sum = addAffine(sum, negate(publicTable[-publicDigit >> 1]!));
    }
    return sum;
  }

  return { parameters, Point, isOnCurve, linearCombination, toAffine };
}

/**
 * Width-w NAF of a scalar below 2^256, least significant digit first: every nonzero digit is
 * odd and below 2^(w-1) in magnitude, and any w consecutive digits hold at most one nonzero.
 * Works on a bit array rather than with bigint shifts (several times faster).
 */
function wnafDigits(scalar: bigint, windowBits: number): Int8Array {
  assert(scalar >= 0n);
  assert(scalar < 1n << BigInt(SCALAR_BITS));
  const bytes = numberToBytesBE(scalar, SM2_COORDINATE_BYTES);
  const bits = new Uint8Array(SCALAR_BITS + windowBits + 1);
  for (let index = 0; index < SCALAR_BITS; index++) {
    bits[index] = (bytes[SM2_COORDINATE_BYTES - 1 - (index >> 3)]! >> (index & 7)) & 1;
  }
  const windowSize = 1 << windowBits;
  const digits = new Int8Array(SCALAR_BITS + 1);
  for (let index = 0; index <= SCALAR_BITS; index++) {
    if (bits[index] === 0) continue;
    let window = 0;
    for (let offset = windowBits - 1; offset >= 0; offset--) window = (window << 1) | bits[index + offset]!;
    assert(window % 2 === 1);
    const digit = window >= windowSize / 2 ? window - windowSize : window;
    digits[index] = digit;
    bits.fill(0, index, index + windowBits);
    // A negative digit took 2^w too much from the window: carry one into the next bit up.
    if (digit < 0) {
      let position = index + windowBits;
      while (bits[position] === 1) {
        bits[position] = 0;
        position++;
      }
      bits[position] = 1;
    }
  }
  assert(
    bits.every((bit) => bit === 0),
    "wNAF consumed every bit",
  );
  return digits;
}

export interface Sm2 {
  readonly curve: Sm2Curve;
  /** True when the bytes are a private key: 32 bytes, d in [1, n - 2]. */
  isPrivateKey(privateKey: Uint8Array): boolean;
  /** True when the bytes are 0x04 || x || y with (x, y) on the curve. Never throws. */
  isPublicKey(publicKey: Uint8Array): boolean;
  /** P = [d]G, encoded 0x04 || x || y. The private key must be valid (see isPrivateKey). */
  publicKeyOf(privateKey: Uint8Array): Uint8Array;
  /**
   * A private key derived from a 32-byte seed: d = (OS2IP(H(tag || 0x00 || seed) ||
   * H(tag || 0x01 || seed)) mod (n - 2)) + 1. Reducing 512 bits modulo a 256-bit number leaves
   * a bias below 2^-250, and the result is always in [1, n - 2].
   */
  privateKeyFromSeed(seed: Uint8Array): Uint8Array;
  /** Z_A of a valid public key and an identity (default: "1234567812345678"). */
  identityDigest(publicKey: Uint8Array, identity?: Uint8Array): Uint8Array;
  /** e = H(Z_A || M), as bytes. */
  messageDigest(publicKey: Uint8Array, message: Uint8Array, identity?: Uint8Array): Uint8Array;
  /** Deterministic signature r || s of the message under the identity. */
  sign(privateKey: Uint8Array, message: Uint8Array, identity?: Uint8Array): Uint8Array;
  /**
   * The signature with an explicit nonce k in [1, n - 1], or null when the standard rejects k
   * (r = 0, r + k = n or s = 0). For known-answer tests only: reusing k leaks the private key.
   */
  signWithNonce(
    privateKey: Uint8Array,
    message: Uint8Array,
    nonce: bigint,
    identity?: Uint8Array,
  ): Uint8Array | null;
  /** True only for a valid signature. Never throws: malformed inputs give false. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, identity?: Uint8Array): boolean;
}

/** HMAC (RFC 2104) over a one-shot hash with 64-byte blocks, for keys of at most one block. */
export function hmac(hash: HashFunction, key: Uint8Array, message: Uint8Array): Uint8Array {
  assert(key.length <= HMAC_BLOCK_BYTES, "hmac: keys longer than a block are not supported");
  const inner = new Uint8Array(HMAC_BLOCK_BYTES + message.length);
  const outer = new Uint8Array(HMAC_BLOCK_BYTES + DIGEST_BYTES);
  inner.fill(0x36, 0, HMAC_BLOCK_BYTES);
  outer.fill(0x5c, 0, HMAC_BLOCK_BYTES);
  for (let index = 0; index < key.length; index++) {
    inner[index] = inner[index]! ^ key[index]!;
    outer[index] = outer[index]! ^ key[index]!;
  }
  inner.set(message, HMAC_BLOCK_BYTES);
  const innerDigest = hash(inner);
  assert(innerDigest.length === DIGEST_BYTES);
  outer.set(innerDigest, HMAC_BLOCK_BYTES);
  return hash(outer);
}

function encodeScalar(value: bigint): Uint8Array {
  assert(value >= 0n);
  assert(value < 1n << BigInt(SCALAR_BITS));
  return numberToBytesBE(value, SM2_COORDINATE_BYTES);
}

/** Builds the SM2 operations over a hash (SM3 for a conformant SM2) and a curve. */
export function createSm2(hash: HashFunction, parameters: Sm2CurveParameters = SM2P256V1): Sm2 {
  assert(hash(new Uint8Array(0)).length === DIGEST_BYTES, "the hash must give 32-byte digests");
  const curve = sm2CurveOf(parameters);
  const { n, a, b, gx, gy } = parameters;
  const base = curve.Point.BASE;
  /** a || b || x_G || y_G, the curve's part of every Z_A. */
  const curveBytes = concatBytes(encodeScalar(a), encodeScalar(b), encodeScalar(gx), encodeScalar(gy));

  /** The point of a public key, or null when the bytes are not one. Never throws. */
  function decodePublicKey(publicKey: Uint8Array): AffinePoint | null {
    if (publicKey.length !== SM2_PUBLIC_KEY_BYTES) return null;
    if (publicKey[0] !== 0x04) return null;
    const point = {
      x: bytesToNumberBE(publicKey.subarray(1, 1 + SM2_COORDINATE_BYTES)),
      y: bytesToNumberBE(publicKey.subarray(1 + SM2_COORDINATE_BYTES)),
    };
    // With b != 0, (0, 0) is not on the curve, so the point at infinity has no encoding; with
    // cofactor 1, every point on the curve is in the group of order n.
    if (!curve.isOnCurve(point)) return null;
    return point;
  }

  function decodePrivateScalar(privateKey: Uint8Array): bigint | null {
    if (privateKey.length !== SM2_PRIVATE_KEY_BYTES) return null;
    const secretScalar = bytesToNumberBE(privateKey);
    if (secretScalar < 1n || secretScalar > n - 2n) return null;
    return secretScalar;
  }

  function privateScalarOf(privateKey: Uint8Array): bigint {
    const secretScalar = decodePrivateScalar(privateKey);
    assert(secretScalar !== null, "SM2: not a private key (32 bytes, d in [1, n - 2])");
    return secretScalar;
  }

  function identityDigestOf(publicKey: Uint8Array, identity: Uint8Array): Uint8Array {
    assert(publicKey.length === SM2_PUBLIC_KEY_BYTES);
    assert(identity.length <= SM2_IDENTITY_BYTES_MAX, "SM2: identity too long for ENTL_A");
    const identityBits = identity.length * 8;
    const input = new Uint8Array(2 + identity.length + curveBytes.length + 2 * SM2_COORDINATE_BYTES);
    input[0] = identityBits >>> 8;
    input[1] = identityBits & 0xff;
    input.set(identity, 2);
    input.set(curveBytes, 2 + identity.length);
    input.set(publicKey.subarray(1), 2 + identity.length + curveBytes.length);
    const digest = hash(input);
    assert(digest.length === DIGEST_BYTES);
    return digest;
  }

  function messageDigestOf(identityDigest: Uint8Array, message: Uint8Array): Uint8Array {
    assert(identityDigest.length === DIGEST_BYTES);
    return hash(concatBytes(identityDigest, message));
  }

  function publicKeyOf(privateKey: Uint8Array): Uint8Array {
    const { x, y } = base.multiply(privateScalarOf(privateKey)).toAffine();
    const publicKey = concatBytes(Uint8Array.of(0x04), encodeScalar(x), encodeScalar(y));
    assert(decodePublicKey(publicKey) !== null);
    return publicKey;
  }

  /**
   * One signing cache entry: signing needs Z_A, hence the public key, hence a scalar
   * multiplication as costly as the signature itself. A signer usually signs with one key, so
   * the last (private key, identity) pair keeps its Z_A.
   */
  let signerCache: { privateKey: Uint8Array; identity: Uint8Array; identityDigest: Uint8Array } | null = null;

  function signerIdentityDigest(privateKey: Uint8Array, identity: Uint8Array): Uint8Array {
    const cache = signerCache;
    if (cache !== null && equalBytes(cache.privateKey, privateKey) && equalBytes(cache.identity, identity)) {
      return cache.identityDigest;
    }
    const identityDigest = identityDigestOf(publicKeyOf(privateKey), identity);
    signerCache = { privateKey: privateKey.slice(), identity: identity.slice(), identityDigest };
    return identityDigest;
  }

  /** Steps A4 to A7 of GB/T 32918.2-2016 section 6.1; null when the standard rejects k. */
  function signDigest(secretScalar: bigint, digest: Uint8Array, nonce: bigint): Uint8Array | null {
    assert(nonce >= 1n, "SM2: nonce out of range");
    assert(nonce < n, "SM2: nonce out of range");
    assert(digest.length === DIGEST_BYTES);
    const x1 = base.multiply(nonce).toAffine().x;
    const r = mod(bytesToNumberBE(digest) + x1, n);
    if (r === 0n || r + nonce === n) return null;
    const s = mod(curve.Point.Fn.inv(1n + secretScalar) * (nonce - r * secretScalar), n);
    if (s === 0n) return null;
    assert(r > 0n && r < n);
    assert(s > 0n && s < n);
    return concatBytes(encodeScalar(r), encodeScalar(s));
  }

  function sign(privateKey: Uint8Array, message: Uint8Array, identity = SM2_DEFAULT_IDENTITY): Uint8Array {
    const secretScalar = privateScalarOf(privateKey);
    const digest = messageDigestOf(signerIdentityDigest(privateKey, identity), message);
    // RFC 6979 section 3.2, steps b to h, with qlen = hlen = 256: int2octets(x) is the private
    // key itself and bits2octets(h1) is e mod n.
    const digestReduced = encodeScalar(mod(bytesToNumberBE(digest), n));
    let value: Uint8Array = new Uint8Array(DIGEST_BYTES).fill(0x01);
    let key: Uint8Array = new Uint8Array(DIGEST_BYTES).fill(0x00);
    key = hmac(hash, key, concatBytes(value, Uint8Array.of(0x00), privateKey, digestReduced));
    value = hmac(hash, key, value);
    key = hmac(hash, key, concatBytes(value, Uint8Array.of(0x01), privateKey, digestReduced));
    value = hmac(hash, key, value);
    for (let candidate = 0; candidate < SM2_NONCE_CANDIDATES_MAX; candidate++) {
      value = hmac(hash, key, value);
      const nonce = bytesToNumberBE(value);
      if (nonce >= 1n && nonce < n) {
        const signature = signDigest(secretScalar, digest, nonce);
        if (signature !== null) return signature;
      }
      key = hmac(hash, key, concatBytes(value, Uint8Array.of(0x00)));
      value = hmac(hash, key, value);
    }
    assert(false, "SM2: no acceptable nonce: the hash is broken");
  }

  function signWithNonce(
    privateKey: Uint8Array,
    message: Uint8Array,
    nonce: bigint,
    identity = SM2_DEFAULT_IDENTITY,
  ): Uint8Array | null {
    const secretScalar = privateScalarOf(privateKey);
    const digest = messageDigestOf(signerIdentityDigest(privateKey, identity), message);
    return signDigest(secretScalar, digest, nonce);
  }

  /** GB/T 32918.2-2016 section 7.1, steps B1 to B7. */
  function verify(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    identity = SM2_DEFAULT_IDENTITY,
  ): boolean {
    if (signature.length !== SM2_SIGNATURE_BYTES) return false;
    if (identity.length > SM2_IDENTITY_BYTES_MAX) return false;
    const r = bytesToNumberBE(signature.subarray(0, SM2_COORDINATE_BYTES));
    const s = bytesToNumberBE(signature.subarray(SM2_COORDINATE_BYTES));
    if (r < 1n || r >= n) return false; // B1
    if (s < 1n || s >= n) return false; // B2
    const point = decodePublicKey(publicKey);
    if (point === null) return false;
    const digest = messageDigestOf(identityDigestOf(publicKey, identity), message); // B3, B4
    const t = mod(r + s, n); // B5
    if (t === 0n) return false;
    const sum = curve.linearCombination(s, t, point); // B6
    if (sum.z === 0n) return false;
    // B7: r = (e + x1) mod n, so x1 is r - e (mod n) or that plus n, and x1 = X / Z^2. Check
    // X = x1 * Z^2 (mod p) for both candidates instead of inverting Z.
    const { p } = parameters;
    const zz = (sum.z * sum.z) % p;
    for (let candidate = mod(r - bytesToNumberBE(digest), n); candidate < p; candidate += n) {
      if ((candidate * zz) % p === sum.x) return true;
    }
    return false;
  }

  return {
    curve,
    isPrivateKey: (privateKey) => decodePrivateScalar(privateKey) !== null,
    isPublicKey: (publicKey) => decodePublicKey(publicKey) !== null,
    publicKeyOf,
    privateKeyFromSeed(seed) {
      assert(seed.length === SM2_SEED_BYTES, "SM2: seeds are 32 bytes");
      const wide = concatBytes(
        hash(concatBytes(SEED_DOMAIN_TAG, Uint8Array.of(0x00), seed)),
        hash(concatBytes(SEED_DOMAIN_TAG, Uint8Array.of(0x01), seed)),
      );
      const secretScalar = mod(bytesToNumberBE(wide), n - 2n) + 1n;
      assert(secretScalar >= 1n);
      assert(secretScalar <= n - 2n);
      return encodeScalar(secretScalar);
    },
    identityDigest(publicKey, identity = SM2_DEFAULT_IDENTITY) {
      assert(decodePublicKey(publicKey) !== null, "SM2: not a public key");
      return identityDigestOf(publicKey, identity);
    },
    messageDigest(publicKey, message, identity = SM2_DEFAULT_IDENTITY) {
      assert(decodePublicKey(publicKey) !== null, "SM2: not a public key");
      return messageDigestOf(identityDigestOf(publicKey, identity), message);
    },
    sign,
    signWithNonce,
    verify,
  };
}
