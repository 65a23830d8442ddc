/** The playground's data (src/shell/inspect.ts): translation with the TLB path, page states, frame owners, charts. */
import { describe, it, expect } from "vitest";
import { Shell } from "../../src/shell/engine.js";
import { translateFor, vmaView, frameMap, swapSlots, chartSample } from "../../src/shell/inspect.js";

describe("inspect", () => {
  it("translateFor: a first access misses the TLBs and walks (A set); the second hits the L1 dTLB (SDM §4.10.2)", async () => {
    const sh = await Shell.create();
    const stack = 0x7fffffffe000n - 8n; // bash's stack page, touched at boot
    sh.machine.cpu(0).invlpg(stack); // boot touched it: forget the TLB entry
    const first = translateFor(sh, 2, stack, "read", 3);
    expect(first.tlb.steps[0]).toBe("L1 dTLB: miss");
    expect(first.tlb.steps).toContain("TLB fill");
    expect(first.walk.levels.map((l) => `${l.intelName}/${l.linuxName}`)).toEqual(["PML4E/pgd", "PDPTE/pud", "PDE/pmd", "PTE/pte"]);
    expect(first.tlb.result.ok).toBe(true);
    const second = translateFor(sh, 2, stack, "read", 3);
    expect(second.tlb.steps).toEqual(["L1 dTLB: hit"]);
    // A write to read-only text: the walk ends in a protection fault, error code P|W|U = 7.
    const text = translateFor(sh, 2, 0x555555554000n, "write", 3);
    expect(text.tlb.result.ok).toBe(false);
    if (!text.tlb.result.ok && text.tlb.result.exception.vector === "PF") expect(text.tlb.result.exception.errorCode).toBe(7);
    expect(() => translateFor(sh, 99, 0n, "read", 3)).toThrow(/no process 99/);
  });

  it("vmaView classifies pages: after fork they are shared, after the child's writes its own", async () => {
    const sh = await Shell.create();
    sh.run("cowdemo --pages 16 --pause 1 &");
    sh.run("sleep 0.5");
    const anon = (pid: number) => vmaView(sh, pid).find((v) => v.start === 0x7ffff7fe7000n)!;
    expect(anon(4).counts.shared).toBe(16);
    sh.run("sleep 1");
    expect(anon(4).counts.present).toBe(16);
    expect(anon(4).counts.shared).toBe(0);
    expect(vmaView(sh, 2).find((v) => v.name === "[stack]")!.pages.length).toBe(33);
  });

  it("frameMap counts every frame once and agrees with MemFree; swapSlots and chartSample read the model", async () => {
    const sh = await Shell.create({ ram: "32MiB" });
    const f = frameMap(sh);
    expect(Object.values(f.counts).reduce((a, b) => a + b, 0)).toBe(f.owners.length);
    expect(f.counts.free * 4).toBe(Number(/^MemFree:\s+(\d+)/m.exec(sh.proc.meminfo())![1]));
    expect(f.counts.pgtable).toBeGreaterThan(0);
    expect(swapSlots(sh)).toEqual([expect.objectContaining({ path: "/swapfile", slots: 16384, used: 0 })]);
    const s = chartSample(sh);
    expect(s.free).toBe(f.counts.free * 4);
    expect(s.swap).toBe(0);
  });
});
