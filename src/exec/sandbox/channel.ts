/**
 * The sandbox's two crossings, string in and string out, done with QuickJS's C functions
 * directly instead of through quickjs-emscripten's handle API:
 *
 * - `call(context, fn, text)`: host → VM, `fn(text)`, the string it returns (or why it threw);
 * - `installHost(context, handler)`: VM → host, a function `host(text)` that answers with
 *   `handler(text)`.
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
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export class Channel {
  readonly #ffi: QuickJSFFI;
  readonly #emscripten: QuickJSEmscriptenModule;
  readonly #callbacks: ModuleInternals["callbacks"];
  /** Views of the fixed wasm memory (its buffer never changes). */
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

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
    return new Channel(internals as ModuleInternals, module.getWasmMemory());
  }

  /** `fn(text)` in the context; the string it returns, or its exception as text. */
  call(context: QuickJSContext, fn: QuickJSHandle, text: string): ChannelResult {
    const ctx = contextPointerOf(context);
    const ffi = this.#ffi;
    const argument = this.#newString(ctx, text);
    if (argument === NULL) return { ok: false, error: "InternalError: out of memory" };
    // argv: one pointer to the argument's JSValue.
    const argv = this.#emscripten._malloc(4);
    if (argv === NULL) {
      ffi.QTS_FreeValuePointer(ctx, argument);
      return { ok: false, error: "InternalError: out of memory" };
    }
    this.#view.setUint32(argv, argument, true);
    const returned = ffi.QTS_Call(ctx, fn.value, context.undefined.value, 1, argv as never);
    this.#emscripten._free(argv);
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
   * A function `host(text)` for the context: it answers `handler(text)`. The handler must not
   * throw (it would unwind through the VM's C frames). A text that cannot be allocated becomes
   * QuickJS's pending out-of-memory exception.
   */
  installHost(context: QuickJSContext, handler: (text: string) => string): QuickJSHandle {
    const host = context.newFunction("host", () => undefined);
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
    return host;
  }

  /** A new JSValue* for the string, or NULL when the wasm heap is out of memory. */
  #newString(ctx: JSContextPointer, text: string): JSValuePointer {
    const capacity = text.length * 3 + 1;
    const pointer = this.#emscripten._malloc(capacity);
    if (pointer === NULL) return NULL as JSValuePointer;
    const { written } = textEncoder.encodeInto(text, this.#bytes.subarray(pointer, pointer + capacity));
    this.#bytes[pointer + written] = 0;
    const value = this.#ffi.QTS_NewString(ctx, pointer as never);
    this.#emscripten._free(pointer);
    return value;
  }

  /** The value as text (JS_ToCString), or null when that fails (out of memory). */
  #stringOf(ctx: JSContextPointer, value: JSValuePointer | JSValueConstPointer): string | null {
    const pointer = this.#ffi.QTS_GetString(ctx, value);
    if (pointer === NULL) return null;
    const bytes = this.#bytes;
    const text = textDecoder.decode(bytes.subarray(pointer, bytes.indexOf(0, pointer)));
    this.#ffi.QTS_FreeCString(ctx, pointer);
    return text;
  }
}

function contextPointerOf(context: QuickJSContext): JSContextPointer {
  const lifetime = (context as unknown as { ctx?: { value?: unknown } }).ctx;
  assert(typeof lifetime?.value === "number", "a QuickJS context holds its JSContext pointer");
  return lifetime.value as JSContextPointer;
}
