import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { concatBytes } from "../base/bytes.ts";
import { Channel, type ChannelId } from "./channels.ts";
import { NetError, type NetErrorCode } from "./errors.ts";
import { type Frame, FrameDecoder, FrameEncoder, MessageAssembler } from "./frame.ts";
import {
  NET_FRAME_BYTES_MAX,
  NET_FRAME_PAYLOAD_BYTES_MAX,
  NET_MESSAGE_BYTES_MAX,
  NET_TRANSACTIONS_MESSAGE_BYTES_MAX,
} from "./limits.ts";
import { aeadEncrypt } from "./noise.ts";
import { filledBytes } from "./test-fixtures.ts";

const KEY = filledBytes(0xa5);
const OTHER_KEY = filledBytes(0x5a);

const frameArbitrary: fc.Arbitrary<Frame> = fc.record({
  channel: fc.constantFrom<ChannelId>(0, 1, 2, 3, 4),
  final: fc.boolean(),
  payload: fc.uint8Array({ maxLength: 300 }),
});

function encodeAll(frames: readonly Frame[], key = KEY): Uint8Array {
  const encoder = new FrameEncoder(key);
  return concatBytes(...frames.map((frame) => encoder.encode(frame.channel, frame.final, frame.payload)));
}

/** Feeds the bytes in chunks ending at `cuts`; returns the frames and the error, if any. */
function decodeAll(wire: Uint8Array, cuts: readonly number[] = [], key = KEY) {
  const decoder = new FrameDecoder(key);
  const frames: Frame[] = [];
  const boundaries = [...new Set([...cuts.map((cut) => cut % (wire.length + 1)), wire.length])].sort(
    (a, b) => a - b,
  );
  let start = 0;
  try {
    for (const end of boundaries) {
      decoder.push(wire.subarray(start, end));
      start = end;
      for (let frame = decoder.next(); frame !== null; frame = decoder.next()) frames.push(frame);
    }
  } catch (error) {
    assert.ok(error instanceof NetError, `only NetError escapes a decoder, got ${String(error)}`);
    return { frames, error };
  }
  return { frames, error: null };
}

function sameFrame(left: Frame, right: Frame): boolean {
  return (
    left.channel === right.channel &&
    left.final === right.final &&
    Buffer.from(left.payload).equals(Buffer.from(right.payload))
  );
}

function lengthPrefixed(length: number, body = new Uint8Array(0)): Uint8Array {
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, length, false);
  return concatBytes(prefix, body);
}

function expectCode(wire: Uint8Array, code: NetErrorCode): void {
  const { error } = decodeAll(wire);
  assert.ok(error !== null, `expected ${code}`);
  assert.equal(error.code, code);
}

describe("frame codec", () => {
  it("round trip: frames come out as they went in, however the bytes are cut", () => {
    fc.assert(
      fc.property(
        fc.array(frameArbitrary, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (frames, cuts) => {
          const { frames: decoded, error } = decodeAll(encodeAll(frames), cuts);
          assert.equal(error, null);
          assert.equal(decoded.length, frames.length);
          decoded.forEach((frame, index) => {
            assert.ok(sameFrame(frame, frames[index]!), `frame ${index}`);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a mutated stream gives the frames before the mutation, then only a NetError or a wait", () => {
    fc.assert(
      fc.property(
        fc.array(frameArbitrary, { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (frames, position, mask) => {
          const wire = encodeAll(frames);
          const mutated = wire.slice();
          const index = position % mutated.length;
          mutated[index] = mutated[index]! ^ mask;
          const { frames: decoded } = decodeAll(mutated);
          assert.ok(decoded.length < frames.length, "the mutated frame never decodes");
          decoded.forEach((frame, at) => {
            assert.ok(sameFrame(frame, frames[at]!), `frame ${at} unchanged`);
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it("random bytes give only a NetError or a wait, never a frame", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        assert.equal(decodeAll(bytes).frames.length, 0);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses an oversized length before reading the body", () => {
    expectCode(lengthPrefixed(NET_FRAME_BYTES_MAX + 1), "NET_FRAME_OVERSIZED");
    expectCode(lengthPrefixed(0xffff_ffff), "NET_FRAME_OVERSIZED");
  });

  it("refuses a length shorter than header and tag", () => {
    expectCode(lengthPrefixed(17, new Uint8Array(17)), "NET_FRAME_MALFORMED");
    expectCode(lengthPrefixed(0), "NET_FRAME_MALFORMED");
  });

  it("refuses an unknown channel and reserved flag bits, even when authentic", () => {
    for (const header of [
      Uint8Array.of(5, 1),
      Uint8Array.of(255, 1),
      Uint8Array.of(1, 0x02),
      Uint8Array.of(1, 0x81),
    ]) {
      const plaintext = concatBytes(header, Uint8Array.of(7, 7));
      const prefix = lengthPrefixed(plaintext.length + 16);
      expectCode(concatBytes(prefix, aeadEncrypt(KEY, 0, prefix, plaintext)), "NET_FRAME_MALFORMED");
    }
  });

  it("refuses reordered, replayed and reflected frames (nonces count per direction)", () => {
    const encoder = new FrameEncoder(KEY);
    const first = encoder.encode(Channel.consensus, true, Uint8Array.of(1));
    const second = encoder.encode(Channel.consensus, true, Uint8Array.of(2));
    expectCode(concatBytes(second, first), "NET_FRAME_AUTHENTICATION_FAILED");
    expectCode(concatBytes(first, first), "NET_FRAME_AUTHENTICATION_FAILED");
    const reflected = decodeAll(first, [], OTHER_KEY);
    assert.equal(reflected.error?.code, "NET_FRAME_AUTHENTICATION_FAILED");
  });

  it("authenticates the length prefix", () => {
    const frame = new FrameEncoder(KEY).encode(Channel.transactions, true, new Uint8Array(40));
    const body = frame.subarray(4);
    // Announce a shorter length over the same bytes: the tag no longer matches.
    const shorter = concatBytes(lengthPrefixed(body.length - 1), body.subarray(0, body.length - 1));
    expectCode(shorter, "NET_FRAME_AUTHENTICATION_FAILED");
  });

  it("carries a full payload per frame and no more", () => {
    const payload = new Uint8Array(NET_FRAME_PAYLOAD_BYTES_MAX).fill(3);
    const wire = encodeAll([{ channel: Channel.blockSync, final: true, payload }]);
    assert.equal(wire.length, 4 + NET_FRAME_BYTES_MAX);
    assert.equal(decodeAll(wire).frames[0]!.payload.length, NET_FRAME_PAYLOAD_BYTES_MAX);
    assert.throws(() =>
      new FrameEncoder(KEY).encode(Channel.blockSync, true, new Uint8Array(NET_FRAME_PAYLOAD_BYTES_MAX + 1)),
    );
  });
});

describe("message assembler", () => {
  it("joins interleaved frames per channel", () => {
    const assembler = new MessageAssembler();
    const frames: Frame[] = [
      { channel: Channel.blockSync, final: false, payload: Uint8Array.of(1, 2) },
      { channel: Channel.consensus, final: true, payload: Uint8Array.of(9) },
      { channel: Channel.blockSync, final: false, payload: Uint8Array.of(3) },
      { channel: Channel.transactions, final: true, payload: new Uint8Array(0) },
      { channel: Channel.blockSync, final: true, payload: Uint8Array.of(4) },
    ];
    const messages = frames.map((frame) => assembler.push(frame));
    assert.deepEqual(messages, [null, Uint8Array.of(9), null, new Uint8Array(0), Uint8Array.of(1, 2, 3, 4)]);
    assert.equal(assembler.bufferedBytes, 0);
  });

  it("refuses a message over its channel's limit as soon as a frame crosses it", () => {
    const assembler = new MessageAssembler();
    const payload = new Uint8Array(NET_FRAME_PAYLOAD_BYTES_MAX);
    const framesToLimit = Math.floor(NET_TRANSACTIONS_MESSAGE_BYTES_MAX / payload.length);
    for (let index = 0; index < framesToLimit; index++) {
      assert.equal(assembler.push({ channel: Channel.transactions, final: false, payload }), null);
    }
    assert.throws(
      () => assembler.push({ channel: Channel.transactions, final: false, payload }),
      (error: unknown) => error instanceof NetError && error.code === "NET_MESSAGE_OVERSIZED",
    );
    assert.ok(NET_MESSAGE_BYTES_MAX > NET_TRANSACTIONS_MESSAGE_BYTES_MAX);
    assert.throws(
      () => new MessageAssembler().push({ channel: Channel.ping, final: true, payload: new Uint8Array(10) }),
      (error: unknown) => error instanceof NetError && error.code === "NET_MESSAGE_OVERSIZED",
    );
  });
});
