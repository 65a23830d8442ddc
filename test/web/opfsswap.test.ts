/**
 * OpfsSwapBackend's checks that need no browser (the OPFS round trip itself runs in Chromium:
 * test/e2e/playground.test.ts, "Swap in browser storage"): a size that is not whole pages, or
 * smaller than a header and one slot, is refused before any worker starts, with swapon's rule.
 */
import { describe, it, expect } from "vitest";
import { OpfsSwapBackend } from "../../src/web/opfsswap.js";
import { WasmmuError } from "../../src/errors.js";

describe("OpfsSwapBackend.open", () => {
  for (const bytes of [0, 4096, 4096 * 2 + 1, -8192, 12287, Number.MAX_SAFE_INTEGER + 1]) {
    it(`refuses a ${bytes}-byte area (not whole pages, or under two)`, async () => {
      const err = await OpfsSwapBackend.open("x", bytes, "unused.js").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WasmmuError);
      expect((err as WasmmuError).code).toBe("INVALID_ARGUMENT");
      expect((err as WasmmuError).message).toBe(`a swap area must be a whole number of pages, at least 8 KiB, got ${bytes}`);
    });
  }
});
