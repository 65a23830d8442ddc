/**
 * The judge itself: it must fail on every kind of mismatch the README's rules name, honour
 * a_bit_unspecified only for bit 5, and agree with `wasmmu conformance` on a file.
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseVector, judge, runVector, type VectorOutcome } from "../../src/conformance/vector.js";
import { VectorMachines, runVectorFile, readVectors } from "../../src/conformance/files.js";
import { main } from "../../src/cli/main.js";
import { WasmmuError } from "../../src/errors.js";

// kvm4-perm-000004 from paging-4level-a: a supervisor write with CR0.WP=0 to a read-only page
// succeeds and sets A in the PDPTE/PDE and A+D in the PTE.
const OK_LINE = '{"id":"kvm4-perm-000004","oracle":"kvm-pvm-shadow-mmu","mode":{"cr0_wp":0,"cr4_pse":0,"cr4_pge":0,"cr4_smep":0,"cr4_smap":0,"cr4_pke":0,"cr4_la57":0,"cr4_pcide":0,"efer_nxe":1,"rflags_ac":0,"pkru":"0x0","maxphyaddr":46},"cr3":"0x71b7000","memory":[["0x71b70a8","0x7083025"],["0x7083318","0x5361003"],["0x5361f10","0x6a90003"],["0x6a90950","0x28000000349cb1a7"]],"access":{"vaddr":"0xa98fc52a928","kind":"write","cpl":0,"size":8},"expect":{"outcome":"ok","paddr":"0x349cb928","memory_after":[["0x71b70a8","0x7083025"],["0x7083318","0x5361023"],["0x5361f10","0x6a90023"],["0x6a90950","0x28000000349cb1e7"]]},"category":"perm"}';
// A user fetch from a supervisor page (NXE=0, SMEP=0): #PF 0x5, no I/D bit.
const PF_LINE = '{"id":"kvm4-perm-000000","oracle":"kvm-pvm-shadow-mmu","mode":{"cr0_wp":1,"cr4_pse":0,"cr4_pge":0,"cr4_smep":0,"cr4_smap":1,"cr4_pke":0,"cr4_la57":0,"cr4_pcide":0,"efer_nxe":0,"rflags_ac":1,"pkru":"0x0","maxphyaddr":46},"cr3":"0x42cc000","memory":[["0x42ccf98","0x6f79027"],["0x6f79128","0x6e07027"],["0x6e07c00","0x4135027"],["0x4135fc8","0x1800000018c5a023"]],"access":{"vaddr":"0xfffff989701f9700","kind":"fetch","cpl":3,"size":8},"expect":{"outcome":"pf","error_code":"0x5","cr2":"0xfffff989701f9700","memory_after":[["0x42ccf98","0x6f79027"],["0x6f79128","0x6e07027"],["0x6e07c00","0x4135027"],["0x4135fc8","0x1800000018c5a023"]],"a_bit_unspecified":["0x6f79128"]},"category":"perm"}';

const ok = parseVector(OK_LINE);
const pf = parseVector(PF_LINE);
const okOutcome = (): VectorOutcome => ({ outcome: "ok", paddr: ok.expect.paddr, memoryAfter: ok.expect.memoryAfter.map(([a, v]) => [a, v]) });

describe("judge (shared/conformance/README.md rules)", () => {
  it("passes an outcome identical to the expectation", () => {
    expect(judge(ok, okOutcome())).toMatchObject({ pass: true, differences: [] });
  });

  it("rule 1: a different outcome fails", () => {
    const v = judge(ok, { ...okOutcome(), outcome: "pf", errorCode: 3 });
    expect(v.pass).toBe(false);
    expect(v.differences[0]).toBe("outcome: expected ok, got pf");
  });

  it("rule 1: a different physical address fails", () => {
    const v = judge(ok, { ...okOutcome(), paddr: 0x349cb920n });
    expect(v.differences).toEqual(["paddr: expected 0x349cb928, got 0x349cb920"]);
  });

  it("rule 2: a different error code or CR2 fails", () => {
    const base: VectorOutcome = { outcome: "pf", errorCode: 5, cr2: pf.expect.cr2, memoryAfter: pf.expect.memoryAfter };
    expect(judge(pf, base).pass).toBe(true);
    expect(judge(pf, { ...base, errorCode: 0x15 }).differences).toEqual(["error code: expected 0x5, got 0x15"]);
    expect(judge(pf, { ...base, cr2: 0n }).differences).toEqual(["cr2: expected 0xfffff989701f9700, got 0x0"]);
  });

  it("rule 3: a differing memory word fails, and a_bit_unspecified excuses bit 5 only", () => {
    const mem = pf.expect.memoryAfter.map(([a, v]) => [a, v] as [bigint, bigint]);
    const base: VectorOutcome = { outcome: "pf", errorCode: 5, cr2: pf.expect.cr2, memoryAfter: mem };
    // 0x6f79128 is listed: its A bit may differ …
    mem[1] = [mem[1][0], mem[1][1] ^ 0x20n];
    expect(judge(pf, base).pass).toBe(true);
    // … but not its D bit,
    mem[1] = [mem[1][0], mem[1][1] ^ 0x40n];
    expect(judge(pf, base).pass).toBe(false);
    // and an unlisted entry may not differ in any bit (here D).
    const mem2 = pf.expect.memoryAfter.map(([a, v]) => [a, v] as [bigint, bigint]);
    mem2[3] = [mem2[3][0], mem2[3][1] | 0x40n];
    expect(judge(pf, { ...base, memoryAfter: mem2 }).differences).toEqual(["memory 0x4135fc8: expected 0x1800000018c5a023, got 0x1800000018c5a063"]);
  });

  it("runVector reproduces both vectors on the core and restores zeroed memory", async () => {
    const machines = new VectorMachines();
    const m = await machines.get(ok);
    expect(runVector(m, ok)).toMatchObject({ pass: true });
    expect(runVector(m, pf)).toMatchObject({ pass: true });
    for (const [pa] of [...ok.memory, ...pf.memory]) expect(m.phys.read64(pa)).toBe(0n);
  });

  it("parseVector names the vector and field that is malformed", () => {
    expect(() => parseVector(OK_LINE.replace('"kind":"write"', '"kind":"jump"'))).toThrow(/kvm4-perm-000004: access.kind/);
    expect(() => parseVector(OK_LINE.replace('"cr0_wp":0', '"cr0_wp":7'))).toThrow(/mode.cr0_wp: expected 0 or 1/);
    expect(() => parseVector("{not json")).toThrow(WasmmuError);
  });
});

describe("vector files and the conformance command agree", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-vectors-"));
  const wrong = PF_LINE.replace('"error_code":"0x5"', '"error_code":"0x15"').replace("kvm4-perm-000000", "tampered-1");
  writeFileSync(join(dir, "good.jsonl.gz"), gzipSync(`${OK_LINE}\n${PF_LINE}\n`));
  writeFileSync(join(dir, "bad.jsonl"), `${OK_LINE}\n${wrong}\n`);
  writeFileSync(join(dir, "broken.jsonl"), `${OK_LINE}\n{"id":"x",\n`);

  it("runVectorFile counts passes and failures, gzip or plain", async () => {
    expect(await runVectorFile(join(dir, "good.jsonl.gz"))).toMatchObject({ passed: 2, failed: 0 });
    const bad = await runVectorFile(join(dir, "bad.jsonl"));
    expect(bad).toMatchObject({ passed: 1, failed: 1 });
    expect(bad.failures[0].verdict.differences).toEqual(["error code: expected 0x15, got 0x5"]);
  });

  it("a malformed line is an error naming file and line", async () => {
    const read = async () => { for await (const _ of readVectors(join(dir, "broken.jsonl"))) void _; };
    await expect(read()).rejects.toThrow(/broken\.jsonl:2: not JSON/);
  });

  it("wasmmu conformance prints N passed, N failed per file, details failures, exits 1", async () => {
    const out: string[] = [];
    const code = await main(["conformance", dir], (s) => out.push(s), () => {});
    expect(code).toBe(1);
    const text = out.join("\n");
    expect(text).toContain("bad.jsonl: 1 passed, 1 failed");
    expect(text).toContain("FAIL tampered-1 [perm] fetch 0xfffff989701f9700 at CPL3");
    expect(text).toContain("- error code: expected 0x15, got 0x5");
  });

  it("wasmmu conformance exits 0 when every vector passes", async () => {
    const out: string[] = [];
    expect(await main(["conformance", join(dir, "good.jsonl.gz")], (s) => out.push(s), () => {})).toBe(0);
    expect(out[0]).toMatch(/good\.jsonl\.gz: 2 passed, 0 failed$/);
  });
});
