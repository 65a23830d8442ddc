// readFully (src/trace/decompress.ts): positioned reads until the buffer is full or the file ends,
// as the wmt reader and the decode worker use it on their reused buffers.
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFully } from "../../src/trace/decompress.js";

describe("readFully", () => {
  it("fills the buffer from the given offset, and comes back short only at the end of the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-readfully-"));
    try {
      const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
      const path = join(dir, "f");
      writeFileSync(path, bytes);
      const fh = await open(path, "r");
      try {
        const b = new Uint8Array(4096);
        expect(await readFully(fh, b, 1000)).toBe(4096);
        expect(b).toEqual(bytes.subarray(1000, 5096));
        expect(await readFully(fh, b, 8192)).toBe(10_000 - 8192);
        expect(b.subarray(0, 10_000 - 8192)).toEqual(bytes.subarray(8192));
        expect(await readFully(fh, b, 20_000)).toBe(0);
      } finally {
        await fh.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
