import { expect } from "vitest";
import { WasmmuError } from "../../src/errors.js";

/** Run `fn` and return the WasmmuError it threw (failing the test if it threw nothing or something else). */
export function caught(fn: () => unknown): WasmmuError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WasmmuError);
    return e as WasmmuError;
  }
  throw new Error("expected a WasmmuError, nothing was thrown");
}

/** Await `p` and return the WasmmuError it rejected with (failing the test otherwise). */
export async function rejection(p: Promise<unknown>): Promise<WasmmuError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WasmmuError);
    return e as WasmmuError;
  }
  throw new Error("expected a WasmmuError, the promise resolved");
}
