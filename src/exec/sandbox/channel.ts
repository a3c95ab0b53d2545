/**
 * The sandbox's two crossings, string in and string out, done with QuickJS's C functions
 * directly instead of through quickjs-emscripten's handle API:
 *
 * - `call(context, fn, text)`: host → VM, `fn(text)`, the string it returns (or why it threw);
 * - `installHost(context, handler)`: VM → host, a function `host(text)` that answers with
 *   `handler(text)`; `route(context, handler)` gives an installed one another handler.
 *
 * Why: on the pinned build (quickjs-emscripten-core 0.32.0, exact in package-lock) the library's
 * host-function path costs 6–15 µs of CPU per crossing before any work is done (a generator-based
 * "maybe async" scope, lifetime objects for `this` and every argument, a duplicated result), and
 * `newString` copies through two JS loops; a counter call crosses twice. Here a crossing is a few
 * FFI calls: the string's UTF-8 is written or read with TextEncoder/TextDecoder straight in the
 * wasm memory. Nothing about results changes: QuickJS receives and returns the same strings.
 *
 * This reaches three fields the library does not declare public: the wasm module's `ffi` and
 * `module` (the QTS_* functions and emscripten's malloc/free, both also in its public types), and
 * `callbacks`, whose public `setContextCallbacks` routes a context's C → host calls. `attach`
 * checks they are there, so an upgrade that moves them fails at load, not at a call. A context
 * given `installHost` must not get other host functions (newFunction, newPromise…): every C →
 * host call of that context goes to the handler.
 *
 * Strings from the VM arrive whole, whatever they hold: JS_ToCString's UTF-8 is read to its byte
 * length (kept in the header of the QuickJS string it returns; `attach` checks where) rather than
 * to its first zero byte, and a lone surrogate (which QuickJS writes as its three UTF-8-like
 * bytes) comes back as that surrogate. The prelude's wire text relies on it (values.ts): a
 * string's length prefix counts the same code units on both sides. Strings to the VM are JSON
 * or digits, written by the host: no zero byte, no lone surrogate.
 * @module
 */
import type {
  JSContextPointer,
  JSValueConstPointer,
  JSValuePointer,
  QuickJSContext,
  QuickJSEmscriptenModule,
  QuickJSFFI,
  QuickJSHandle,
  QuickJSWASMModule,
} from "quickjs-emscripten-core";
import { assert } from "../../base/assert.ts";

/** What `call` gives: the returned string, or the thrown value as text (`String(error)`). */
export type ChannelResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly error: string };

interface ContextCallbacks {
  callFunction(
    ctx: JSContextPointer,
    thisPtr: JSValueConstPointer,
    argc: number,
    argv: JSValueConstPointer,
    fnId: number,
  ): JSValuePointer;
}

interface ModuleInternals {
  readonly ffi: QuickJSFFI;
  readonly module: QuickJSEmscriptenModule;
  readonly callbacks: { setContextCallbacks(ctx: JSContextPointer, callbacks: ContextCallbacks): void };
}

const NULL = 0;
/** Strings to the VM up to this size (UTF-8, with its zero) are written in one reused buffer. */
const SCRATCH_BYTES = 16 * 1024;
const ARGV_BYTES = 4;
/** Where JS_ToCString's result keeps its byte length: the `len` field of its JSString header. */
const STRING_LENGTH_OFFSET_BYTES = 12;
const STRING_LENGTH_MASK = 0x7fff_ffff;
const textEncoder = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

export class Channel {
  readonly #ffi: QuickJSFFI;
  readonly #emscripten: QuickJSEmscriptenModule;
  readonly #callbacks: ModuleInternals["callbacks"];
  /** Views of the fixed wasm memory (its buffer never changes). */
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  /**
   * Buffers in the wasm heap kept between crossings (malloc and free cost as much as the rest of
   * a crossing): the one-pointer argv of `call`, and room for a string on its way to the VM.
   * Allocated at the first crossing of a runtime, so at the same point on every node; gone when
   * the module's memory is restored (`forgetAllocations`).
   */
  #argv = NULL;
  #scratch = NULL;

  private constructor(internals: ModuleInternals, memory: WebAssembly.Memory) {
    this.#ffi = internals.ffi;
    this.#emscripten = internals.module;
    this.#callbacks = internals.callbacks;
    this.#bytes = new Uint8Array(memory.buffer);
    this.#view = new DataView(memory.buffer);
  }

  /** The channel of a loaded module (whose memory is fixed: its buffer never changes). */
  static attach(module: QuickJSWASMModule): Channel {
    const internals = module as unknown as Partial<ModuleInternals>;
    assert(
      typeof internals.ffi?.QTS_Call === "function" &&
        typeof internals.ffi.QTS_NewString === "function" &&
        typeof internals.module?._malloc === "function" &&
        typeof internals.callbacks?.setContextCallbacks === "function",
      "the pinned quickjs-emscripten exposes its FFI, emscripten module and callbacks",
    );
    const channel = new Channel(internals as ModuleInternals, module.getWasmMemory());
    channel.#checkStrings(module);
    return channel;
  }

  /**
   * Checks, in a throwaway runtime, that strings with a zero byte, a lone surrogate and
   * non-ASCII text cross whole: the header layout `#stringOf` reads is the pinned build's. The
   * caller restores the module's memory afterwards.
   */
  #checkStrings(module: QuickJSWASMModule): void {
    const runtime = module.newRuntime();
    const context = runtime.newContext();
    const samples = ["a\u0000b", "z\u00e9\u0000\ud800x\u4e2d\ud83d\ude00", "x".repeat(300)];
    for (const sample of samples) {
      const handle = context.evalCode(JSON.stringify(sample));
      assert(handle.error === undefined, "a string literal evaluates");
      const text = this.#stringOf(contextPointerOf(context), handle.value.value);
      handle.value.dispose();
      assert(text === sample, "the pinned QuickJS keeps a C string's byte length in its header");
    }
    context.dispose();
    runtime.dispose();
  }

  /** After the module's memory was put back as at load: the buffers kept are gone with it. */
  forgetAllocations(): void {
    this.#argv = NULL;
    this.#scratch = NULL;
  }

  /** `fn(text)` in the context; the string it returns, or its exception as text. */
  call(context: QuickJSContext, fn: QuickJSHandle, text: string): ChannelResult {
    const ctx = contextPointerOf(context);
    const ffi = this.#ffi;
    if (this.#argv === NULL) this.#argv = this.#emscripten._malloc(ARGV_BYTES);
    if (this.#argv === NULL) return { ok: false, error: "InternalError: out of memory" };
    const argument = this.#newString(ctx, text);
    if (argument === NULL) return { ok: false, error: "InternalError: out of memory" };
    // argv: one pointer to the argument's JSValue. QTS_Call copies it before running anything,
    // so a nested call may reuse the slot.
    this.#view.setUint32(this.#argv, argument, true);
    const returned = ffi.QTS_Call(ctx, fn.value, context.undefined.value, 1, this.#argv as never);
    ffi.QTS_FreeValuePointer(ctx, argument);
    const exception = ffi.QTS_ResolveException(ctx, returned);
    if (exception !== NULL) {
      ffi.QTS_FreeValuePointer(ctx, returned);
      const error = this.#stringOf(ctx, exception) ?? "InternalError: out of memory";
      ffi.QTS_FreeValuePointer(ctx, exception);
      return { ok: false, error };
    }
    const answer = this.#stringOf(ctx, returned);
    ffi.QTS_FreeValuePointer(ctx, returned);
    return answer === null
      ? { ok: false, error: "InternalError: out of memory" }
      : { ok: true, text: answer };
  }

  /**
   * A function `host(text)` for the context, answering `handler(text)` (see `route`). The handler
   * must not throw (it would unwind through the VM's C frames). A text that cannot be allocated
   * becomes QuickJS's pending out-of-memory exception.
   */
  installHost(context: QuickJSContext, handler: (text: string) => string): QuickJSHandle {
    const host = context.newFunction("host", () => undefined);
    this.route(context, handler);
    return host;
  }

  /**
   * Sends the context's `host(text)` calls to `handler` from now on. Only the host side changes
   * (nothing in the wasm memory): a context kept across blocks is routed to each block's contract.
   */
  route(context: QuickJSContext, handler: (text: string) => string): void {
    const ctx = contextPointerOf(context);
    this.#callbacks.setContextCallbacks(ctx, {
      callFunction: (calledCtx, _thisPtr, argc, argv) => {
        assert(calledCtx === ctx && argc === 1, "the prelude calls host(text)");
        const text = this.#stringOf(ctx, this.#ffi.QTS_ArgvGetJSValueConstPointer(argv, 0));
        assert(text !== null, "the prelude's requests are strings");
        const answer = this.#newString(ctx, handler(text));
        // NULL: QuickJS sees undefined, which the prelude treats as running out of memory.
        return answer as JSValuePointer;
      },
    });
  }

  /**
   * A new JSValue* for the string, or NULL when the wasm heap is out of memory. QTS_NewString
   * copies the bytes at once, so the scratch buffer is free again when it returns.
   */
  #newString(ctx: JSContextPointer, text: string): JSValuePointer {
    const capacity = text.length * 3 + 1;
    if (capacity <= SCRATCH_BYTES && this.#scratch === NULL) {
      this.#scratch = this.#emscripten._malloc(SCRATCH_BYTES);
    }
    const useScratch = capacity <= SCRATCH_BYTES && this.#scratch !== NULL;
    const pointer = useScratch ? this.#scratch : this.#emscripten._malloc(capacity);
    if (pointer === NULL) return NULL as JSValuePointer;
    const { written } = textEncoder.encodeInto(text, this.#bytes.subarray(pointer, pointer + capacity));
    this.#bytes[pointer + written] = 0;
    const value = this.#ffi.QTS_NewString(ctx, pointer as never);
    if (!useScratch) this.#emscripten._free(pointer);
    return value;
  }

  /** The value as text (JS_ToCString), whole; null when that fails (out of memory). */
  #stringOf(ctx: JSContextPointer, value: JSValuePointer | JSValueConstPointer): string | null {
    const pointer = this.#ffi.QTS_GetString(ctx, value);
    if (pointer === NULL) return null;
    const sizeBytes = this.#view.getUint32(pointer - STRING_LENGTH_OFFSET_BYTES, true) & STRING_LENGTH_MASK;
    assert(pointer + sizeBytes < this.#bytes.length, "a C string lies in the wasm memory");
    assert(this.#bytes[pointer + sizeBytes] === 0, "a C string ends with a zero byte");
    const bytes = this.#bytes.subarray(pointer, pointer + sizeBytes);
    let text: string;
    try {
      text = utf8Strict.decode(bytes);
    } catch {
      text = decodeWithSurrogates(bytes);
    }
    this.#ffi.QTS_FreeCString(ctx, pointer);
    return text;
  }
}

/**
 * UTF-8 that may hold surrogate code points, as JS_ToCString writes a string with a lone
 * surrogate: each code point back to its UTF-16 code units, the lone surrogate included.
 */
function decodeWithSurrogates(bytes: Uint8Array): string {
  const units: number[] = [];
  let index = 0;
  while (index < bytes.length) {
    const first = bytes[index]!;
    let sequenceBytes = 1;
    let codePoint = first;
    if (first >= 0xf0) {
      sequenceBytes = 4;
      codePoint = first & 0x07;
    } else if (first >= 0xe0) {
      sequenceBytes = 3;
      codePoint = first & 0x0f;
    } else if (first >= 0xc0) {
      sequenceBytes = 2;
      codePoint = first & 0x1f;
    } else {
      assert(first < 0x80, "QuickJS writes no stray continuation byte");
    }
    assert(index + sequenceBytes <= bytes.length, "QuickJS writes whole sequences");
    for (let next = 1; next < sequenceBytes; next++) {
      const continuation = bytes[index + next]!;
      assert((continuation & 0xc0) === 0x80, "QuickJS writes continuation bytes");
      codePoint = (codePoint << 6) | (continuation & 0x3f);
    }
    index += sequenceBytes;
    if (codePoint >= 0x10000) {
      units.push(0xd800 + ((codePoint - 0x10000) >> 10), 0xdc00 + ((codePoint - 0x10000) & 0x3ff));
    } else {
      units.push(codePoint);
    }
  }
  let text = "";
  const CHUNK_UNITS = 4096;
  for (let start = 0; start < units.length; start += CHUNK_UNITS) {
    text += String.fromCharCode(...units.slice(start, start + CHUNK_UNITS));
  }
  return text;
}

function contextPointerOf(context: QuickJSContext): JSContextPointer {
  const lifetime = (context as unknown as { ctx?: { value?: unknown } }).ctx;
  assert(typeof lifetime?.value === "number", "a QuickJS context holds its JSContext pointer");
  return lifetime.value as JSContextPointer;
}
