/**
 * The one module that touches WebAssembly: compiles the core, instantiates it, and owns the views
 * of its linear memory (the hash-wasm "WASMInterface" role).
 *
 * Binding choice: raw exports behind this thin layer. Every core export is a number or a bigint,
 * so `@assemblyscript/loader` and asc's generated JS glue have nothing to convert; the glue would
 * also wrap each export in a JS function on the per-access path. We keep asc's generated
 * declarations (core-exports.generated.d.ts) as the single source of the export types.
 */
import type { instantiate as generatedInstantiate } from "./core-exports.generated.js";
import { CORE_DEBUG_BASE64, CORE_RELEASE_BASE64 } from "./core-wasm.generated.js";
import { WasmmuError } from "../errors.js";
import type { CoreBuild } from "../types.js";

type AdaptedExports = Awaited<ReturnType<typeof generatedInstantiate>>;
/** The core's exports as WebAssembly delivers them: globals are WebAssembly.Global, functions raw. */
export type CoreExports = {
  [K in keyof AdaptedExports]: AdaptedExports[K] extends { readonly value: number } ? WebAssembly.Global : AdaptedExports[K];
};

const modules = new Map<CoreBuild, Promise<WebAssembly.Module>>();

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Compile the core once per build and share the Module between machines. */
function coreModule(build: CoreBuild): Promise<WebAssembly.Module> {
  let m = modules.get(build);
  if (!m) {
    m = WebAssembly.compile(decodeBase64(build === "debug" ? CORE_DEBUG_BASE64 : CORE_RELEASE_BASE64));
    modules.set(build, m);
  }
  return m;
}

/**
 * The compiled core of a build, compiling it on first use: a worker thread can be handed this
 * Module (it crosses postMessage and workerData) and adopt it instead of compiling again.
 */
export function compiledCore(build: CoreBuild): Promise<WebAssembly.Module> {
  return coreModule(build);
}

/**
 * Use a core compiled elsewhere (a Module from compiledCore, posted from another thread) for
 * every later machine of this build; does nothing when this thread has one already.
 */
export function adoptCompiledCore(build: CoreBuild, module: WebAssembly.Module): void {
  if (!modules.has(build)) modules.set(build, Promise.resolve(module));
}

/** Read an AssemblyScript string (UTF-16, byte length in the header word before it). */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return "";
  const p = ptr >>> 0;
  const bytes = new Uint32Array(memory.buffer, p - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer, p, bytes >>> 1));
}

/** An instantiated core and the views over its memory (valid once init has sized it). */
export class Core {
  readonly exports: CoreExports;
  readonly build: CoreBuild;
  private views?: { u8: Uint8Array; u32: Uint32Array; u64: BigUint64Array; dv: DataView };

  private constructor(exports: CoreExports, build: CoreBuild) {
    this.exports = exports;
    this.build = build;
  }

  static async instantiate(build: CoreBuild): Promise<Core> {
    const module = await coreModule(build);
    // Filled in right after instantiation; abort() can only run after that.
    const late: { memory?: WebAssembly.Memory } = {};
    const imports = {
      env: {
        // AssemblyScript's abort(): an assertion in the debug core. Report where, never crash the host.
        abort(message: number, file: number, line: number, column: number): never {
          const msg = late.memory ? readAsString(late.memory, message) : "(no message)";
          const where = late.memory ? readAsString(late.memory, file) : "?";
          throw new WasmmuError("CORE_TRAP", `core assertion failed: ${msg} at ${where}:${line}:${column}`, { message: msg, file: where, line, column });
        },
      },
    };
    const instance = await WebAssembly.instantiate(module, imports);
    const exports = instance.exports as unknown as CoreExports;
    late.memory = exports.memory;
    return new Core(exports, build);
  }

  /** Create the views after init sized memory; memory never grows again, so they stay valid. */
  attachViews(): void {
    const buf = this.exports.memory.buffer;
    this.views = { u8: new Uint8Array(buf), u32: new Uint32Array(buf), u64: new BigUint64Array(buf), dv: new DataView(buf) };
  }

  private get v() {
    if (!this.views) throw new WasmmuError("CORE_TRAP", "core memory used before init");
    return this.views;
  }

  u32(byteOffset: number): number {
    return this.v.u32[byteOffset >>> 2];
  }

  u64(byteOffset: number): bigint {
    // Through the DataView: Node 20's TurboFan crashes optimising some callers of a BigUint64Array
    // element load (RepresentationChangerError: Phi of kRepTagged (UnsignedBigInt64) → kRepWord64).
    return this.v.dv.getBigUint64(byteOffset, true);
  }

  bytes(byteOffset: number, length: number): Uint8Array {
    return this.v.u8.subarray(byteOffset, byteOffset + length);
  }

  /** Copy `src` into linear memory at `byteOffset` (no view of the destination is made). */
  setBytes(src: Uint8Array, byteOffset: number): void {
    this.v.u8.set(src, byteOffset);
  }

  u64Array(byteOffset: number, count: number): BigUint64Array {
    return new BigUint64Array(this.exports.memory.buffer, byteOffset, count);
  }

  /** Bytes of linear memory in use. */
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  readString(ptr: number): string {
    return readAsString(this.exports.memory, ptr);
  }

  /**
   * Run a core call, turning a Wasm trap into a WasmmuError that names the call and its
   * arguments. A trap means a core bug; the machine's state is then suspect.
   */
  guard<T>(what: string, args: readonly unknown[], fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof WasmmuError) throw e;
      if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
        const shown = args.map((a) => (typeof a === "bigint" ? `0x${a.toString(16)}` : String(a))).join(", ");
        throw new WasmmuError("CORE_TRAP", `core trapped in ${what}(${shown}): ${e.message}`, { call: what, args }, { cause: e });
      }
      throw e;
    }
  }
}
