/**
 * Transport frames (docs/PROTOCOL.md, "Peer transport"):
 *   u32 length (big-endian) ‖ ChaCha20-Poly1305(key, nonce = frame counter, ad = the 4 length
 *   bytes, plaintext = u8 channel ‖ u8 flags ‖ payload) ‖ 16-byte tag
 * with 18 ≤ length ≤ NET_FRAME_BYTES_MAX. Flag bit 0 marks the last frame of a message; the
 * other bits are reserved and must be zero. Each direction has its own key and counter, so a
 * frame replayed, dropped, reordered or moved to the other direction fails authentication.
 * A message is the payloads of consecutive frames of one channel up to a final frame; frames of
 * different channels interleave (MessageAssembler). Pure: no sockets, no clock.
 * @module
 */
import { assert } from "../base/assert.ts";
import { ByteQueue } from "./byte-queue.ts";
import { CHANNEL_COUNT, type ChannelId, channelMessageBytesMax, isChannelId } from "./channels.ts";
import { NetError, NetErrorCode } from "./errors.ts";
import {
  NET_FRAME_BYTES_MAX,
  NET_FRAME_BYTES_MIN,
  NET_FRAME_HEADER_BYTES,
  NET_FRAME_LENGTH_BYTES,
  NET_FRAME_NONCE_MAX,
  NET_FRAME_PAYLOAD_BYTES_MAX,
  NET_TAG_BYTES,
} from "./limits.ts";
import { aeadDecrypt, aeadEncrypt, NOISE_KEY_BYTES } from "./noise.ts";

export const FRAME_FLAG_FINAL = 0x01;
const FRAME_FLAGS_RESERVED = 0xff & ~FRAME_FLAG_FINAL;

export interface Frame {
  readonly channel: ChannelId;
  /** The last frame of its message. */
  readonly final: boolean;
  readonly payload: Uint8Array;
}

function lengthPrefix(length: number): Uint8Array {
  const prefix = new Uint8Array(NET_FRAME_LENGTH_BYTES);
  new DataView(prefix.buffer).setUint32(0, length, false);
  return prefix;
}

/** Encrypts frames of one direction of one connection. */
export class FrameEncoder {
  private readonly key: Uint8Array;
  private counter = 0;

  constructor(key: Uint8Array) {
    assert(key.length === NOISE_KEY_BYTES, "a transport key is 32 bytes");
    this.key = key;
  }

  get framesEncoded(): number {
    return this.counter;
  }

  /** The whole frame as sent: length prefix and ciphertext. */
  encode(channel: ChannelId, final: boolean, payload: Uint8Array): Uint8Array {
    assert(isChannelId(channel), "frames carry a known channel");
    assert(payload.length <= NET_FRAME_PAYLOAD_BYTES_MAX, "a payload fits one frame");
    if (this.counter >= NET_FRAME_NONCE_MAX) {
      throw new NetError(NetErrorCode.NONCE_EXHAUSTED, "this connection sent every frame its keys allow");
    }
    const length = NET_FRAME_HEADER_BYTES + payload.length + NET_TAG_BYTES;
    const prefix = lengthPrefix(length);
    const plaintext = new Uint8Array(NET_FRAME_HEADER_BYTES + payload.length);
    plaintext[0] = channel;
    plaintext[1] = final ? FRAME_FLAG_FINAL : 0;
    plaintext.set(payload, NET_FRAME_HEADER_BYTES);
    const ciphertext = aeadEncrypt(this.key, this.counter, prefix, plaintext);
    this.counter++;
    assert(ciphertext.length === length, "the ciphertext has the announced length");
    const frame = new Uint8Array(NET_FRAME_LENGTH_BYTES + length);
    frame.set(prefix, 0);
    frame.set(ciphertext, NET_FRAME_LENGTH_BYTES);
    return frame;
  }
}

/**
 * Decrypts frames of one direction of one connection from the bytes as they arrive. A NetError
 * (oversized, malformed, failed authentication) is final: the connection must be closed, and
 * the decoder refuses further use.
 */
export class FrameDecoder {
  private readonly key: Uint8Array;
  private readonly buffered = new ByteQueue();
  private counter = 0;
  private failed = false;

  constructor(key: Uint8Array) {
    assert(key.length === NOISE_KEY_BYTES, "a transport key is 32 bytes");
    this.key = key;
  }

  get bufferedBytes(): number {
    return this.buffered.length;
  }

  get framesDecoded(): number {
    return this.counter;
  }

  push(chunk: Uint8Array): void {
    assert(!this.failed, "a failed decoder takes no more bytes");
    this.buffered.push(chunk);
  }

  /** The next frame, or null when more bytes are needed. */
  next(): Frame | null {
    assert(!this.failed, "a failed decoder decodes no more");
    if (this.buffered.length < NET_FRAME_LENGTH_BYTES) return null;
    const length = this.peekLength();
    if (length > NET_FRAME_BYTES_MAX) {
      throw this.fail(
        NetErrorCode.FRAME_OVERSIZED,
        `frame length ${length} exceeds ${NET_FRAME_BYTES_MAX} bytes`,
        length,
      );
    }
    if (length < NET_FRAME_BYTES_MIN) {
      throw this.fail(
        NetErrorCode.FRAME_MALFORMED,
        `frame length ${length} is below ${NET_FRAME_BYTES_MIN} bytes`,
        length,
      );
    }
    if (this.buffered.length < NET_FRAME_LENGTH_BYTES + length) return null;
    if (this.counter >= NET_FRAME_NONCE_MAX) {
      throw this.fail(NetErrorCode.NONCE_EXHAUSTED, "the remote sent every frame its keys allow", length);
    }
    const prefix = this.buffered.read(NET_FRAME_LENGTH_BYTES).slice();
    const ciphertext = this.buffered.read(length);
    const plaintext = aeadDecrypt(this.key, this.counter, prefix, ciphertext);
    if (plaintext === null) {
      throw this.fail(
        NetErrorCode.FRAME_AUTHENTICATION_FAILED,
        "a frame failed authentication (bad tag)",
        length,
      );
    }
    this.counter++;
    const channel = plaintext[0]!;
    const flags = plaintext[1]!;
    if (!isChannelId(channel)) {
      throw this.fail(
        NetErrorCode.FRAME_MALFORMED,
        `frame names channel ${channel}; channels are 0..${CHANNEL_COUNT - 1}`,
        length,
      );
    }
    if ((flags & FRAME_FLAGS_RESERVED) !== 0) {
      throw this.fail(NetErrorCode.FRAME_MALFORMED, "frame sets reserved flag bits", length);
    }
    return {
      channel,
      final: (flags & FRAME_FLAG_FINAL) !== 0,
      payload: plaintext.subarray(NET_FRAME_HEADER_BYTES),
    };
  }

  private peekLength(): number {
    let length = 0;
    for (let index = 0; index < NET_FRAME_LENGTH_BYTES; index++)
      length = length * 256 + this.buffered.byteAt(index);
    assert(length >= 0 && length <= 0xffff_ffff, "a u32 length");
    return length;
  }

  private fail(code: NetErrorCode, message: string, sizeBytes: number): NetError {
    this.failed = true;
    return new NetError(code, message, { sizeBytes, frame: this.counter });
  }
}

/**
 * Joins frames into messages, per channel, within each channel's limit. A NetError
 * (MESSAGE_OVERSIZED) is final, like the decoder's.
 */
export class MessageAssembler {
  private readonly parts: Uint8Array[][] = Array.from({ length: CHANNEL_COUNT }, () => []);
  private readonly sizes: number[] = new Array<number>(CHANNEL_COUNT).fill(0);

  /** Bytes of unfinished messages held, all channels together. */
  get bufferedBytes(): number {
    let total = 0;
    for (const size of this.sizes) total += size;
    return total;
  }

  /** The message this frame completes, or null. */
  push(frame: Frame): Uint8Array | null {
    const parts = this.parts[frame.channel]!;
    const size = this.sizes[frame.channel]! + frame.payload.length;
    const sizeMax = channelMessageBytesMax(frame.channel);
    if (size > sizeMax) {
      throw new NetError(
        NetErrorCode.MESSAGE_OVERSIZED,
        `a message on channel ${frame.channel} exceeds its limit of ${sizeMax} bytes`,
        { channel: frame.channel, sizeBytes: size },
      );
    }
    if (frame.final && parts.length === 0) return frame.payload;
    parts.push(frame.payload);
    this.sizes[frame.channel] = size;
    if (!frame.final) return null;
    const message = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) {
      message.set(part, offset);
      offset += part.length;
    }
    assert(offset === size, "a message is its parts");
    parts.length = 0;
    this.sizes[frame.channel] = 0;
    return message;
  }
}
