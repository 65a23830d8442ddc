/**
 * The shell's workloads over an asynchronous swap backend (as the playground's OPFS swap is): an
 * access that must wait for a swap-in read (do_swap_page with the folio not yet uptodate) or for
 * writeback ends the task's quantum and is retried, so `thrash` keeps going — pages go out and come
 * back — while the reads complete between the shell's commands, and the model stays consistent.
 */
import { describe, it, expect } from "vitest";
import { Shell } from "../../src/shell/engine.js";
import { MemorySwapBackend, type SwapBackend } from "../../src/os/swap.js";
import { checkInvariants } from "../../src/os/check.js";

/** Host memory behind a backend that answers on a later turn of the event loop, as a worker does. */
function laterBackend(bytes: number): SwapBackend & { reads: number } {
  const inner = new MemorySwapBackend(bytes);
  const b = {
    pages: inner.pages,
    reads: 0,
    async read(o: number, into: Uint8Array) { await new Promise((r) => setTimeout(r, 0)); inner.read(o, into); b.reads++; },
    async write(o: number, from: Uint8Array) { const copy = from.slice(); await new Promise((r) => setTimeout(r, 0)); inner.write(o, copy); },
  };
  return b;
}

const vm = (sh: Shell, key: string) => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(sh.run("cat /proc/vmstat").output)![1]);

describe("workloads with an asynchronous swap backend", () => {
  it("thrash waits for swap-in reads instead of stopping: pages come back, invariants hold", async () => {
    const sh = await Shell.create();
    expect(await sh.linux.swapoffAsync("/swapfile")).toBe(0);
    const backend = laterBackend(64 << 20);
    expect(sh.linux.swapon("/swapfile", backend)).toBe(0);
    expect(sh.run("thrash --passes 2 &").output).toBe("thrash: 3 writes 20160 pages (125% of RAM) per pass\n[1] 3\n");
    for (let k = 0; k < 120; k++) {
      expect(sh.run("sleep 0.1").output).not.toMatch(/WOULD_BLOCK|must wait/);
      await new Promise((r) => setTimeout(r, 1)); // the backend's reads and writes complete here
    }
    // A working set of 125 % of RAM: the first pass pushed pages out; the second brings them back.
    expect(vm(sh, "pswpout")).toBeGreaterThan(15000);
    expect(vm(sh, "pswpin")).toBeGreaterThan(100);
    expect(backend.reads).toBe(vm(sh, "pswpin"));
    expect(sh.run("jobs").output).toBe("[1]+  Running                 thrash --passes 2 &\n");
    expect(checkInvariants(sh.linux)).toEqual([]);
    sh.run("kill %1");
  }, 60_000);
});
