/**
 * The simulator's one source of randomness: xoshiro128** (Blackman, Vigna), seeded through
 * splitmix64. Same seed, same sequence, on every platform: only 32-bit integer operations.
 */
import { assert } from "../src/base/assert.ts";

const MASK_64 = (1n << 64n) - 1n;

function splitmix64(state: bigint): { state: bigint; value: bigint } {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK_64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK_64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK_64;
  return { state: next, value: z ^ (z >> 31n) };
}

function rotl(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number | bigint) {
    assert(BigInt(seed) >= 0n, "seeds are non-negative");
    let state = BigInt(seed) & MASK_64;
    const words: number[] = [];
    for (let index = 0; index < 2; index++) {
      const result = splitmix64(state);
      state = result.state;
      words.push(Number(result.value & 0xffff_ffffn), Number(result.value >> 32n));
    }
    this.s0 = words[0]!;
    this.s1 = words[1]!;
    this.s2 = words[2]!;
    this.s3 = words[3]!;
    assert((this.s0 | this.s1 | this.s2 | this.s3) !== 0, "xoshiro state is never all zero");
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  float(): number {
    return this.nextU32() / 4_294_967_296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    assert(Number.isInteger(min) && Number.isInteger(max) && min <= max, "int range");
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, "pick from a non-empty list");
    return items[this.int(0, items.length - 1)]!;
  }

  /** Exponentially distributed with the given mean (rounded to whole milliseconds). */
  exponential(mean: number): number {
    return Math.round(-Math.log(1 - this.float()) * mean);
  }

  shuffle<T>(items: T[]): T[] {
    for (let index = items.length - 1; index > 0; index--) {
      const other = this.int(0, index);
      [items[index], items[other]] = [items[other]!, items[index]!];
    }
    return items;
  }
}
