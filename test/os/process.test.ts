// Processes: exec layout, context switches with PCIDs, replay through the kernel's fault policy,
// /proc views of a live process, the malloc model, real files (fs/binfmt_elf.c, arch/x86/mm/tlb.c).
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootLinux, ok, bytes, text, mapsLines, kbField } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import { Malloc, MMAP_THRESHOLD } from "../../src/os/malloc.js";
import { NodeFileSource } from "../../src/os/nodefile.js";
import { Replayer, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import { TLB_NR_DYN_ASIDS } from "../../src/os/linux.js";
import { SIGKILL } from "../../src/os/signals.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

describe("exec layout (load_elf_binary, arch_pick_mmap_layout, setup_arg_pages)", () => {
  it("without ASLR: PIE at 0x555555554000, heap after bss, mmap area below 0x7ffff7fff000, [stack] ending at 0x7ffffffff000", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn({ name: "demo", text: 8192, data: 4096, bss: 8192 });
    const lines = mapsLines(proc.maps(p.pid));
    expect(lines).toEqual([
      expect.stringMatching(/^555555554000-555555556000 r-xp 00000000 103:01 \d+ +\/usr\/bin\/demo$/),
      expect.stringMatching(/^555555556000-555555557000 rw-p 00002000 103:01 \d+ +\/usr\/bin\/demo$/),
      // bss: show_map_vma names a VMA [heap] when vm_start <= brk && vm_end >= start_brk, true here at the edge
      expect.stringMatching(/^555555557000-555555559000 rw-p 00000000 00:00 0 +\[heap\]$/),
      expect.stringMatching(/^7ffff7ff7000-7ffff7ffb000 r--p 00000000 00:00 0 +\[vvar\]$/),
      expect.stringMatching(/^7ffff7ffb000-7ffff7ffd000 r--p 00000000 00:00 0 +\[vvar_vclock\]$/),
      expect.stringMatching(/^7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0 +\[vdso\]$/),
      expect.stringMatching(/^7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 +\[stack\]$/),
    ]);
    expect(proc.maps(p.pid).endsWith("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n")).toBe(true);
    expect(p.brk(0)).toBe(0x5555_5555_9000n);
    const a = ok(p.mmap(0, 4096, RW, ANON));
    expect(a).toBe(0x7fff_f7ff_6000n); // just below the vDSO, top-down
  });

  it("with ASLR the layout moves, deterministically for a seed", async () => {
    const one = await bootLinux({ aslr: true, seed: 7 });
    const two = await bootLinux({ aslr: true, seed: 7 });
    const three = await bootLinux({ aslr: true, seed: 8 });
    const m1 = one.proc.maps(one.os.spawn().pid);
    expect(two.proc.maps(two.os.spawn().pid)).toBe(m1);
    expect(three.proc.maps(three.os.spawn().pid)).not.toBe(m1);
    expect(m1).not.toMatch(/^555555554000/);
  });

  it("exec replaces the address space and frees the old one's frames", async () => {
    const { os, m } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 16 * 4096, RW, ANON));
    for (let i = 0; i < 16; i++) bytes(p.write(a + BigInt(i * 4096), "x"));
    const used = os.bootFreePages - m.frames.freePages;
    expect(p.exec({ name: "next" })).toBe(0);
    expect(os.bootFreePages - m.frames.freePages).toBeLessThan(used - 16);
    expect(p.read(a, 1).ok).toBe(false);
    expect(p.comm).toBe("next");
  });

  it("kill(SIGKILL) ends a process and frees its memory", async () => {
    const { os, m } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 8 * 4096, RW, ANON));
    for (let i = 0; i < 8; i++) bytes(p.write(a + BigInt(i * 4096), "x"));
    p.kill(SIGKILL);
    expect(p.alive).toBe(false);
    expect(p.exitSignal).toBe(SIGKILL);
    os.cache.dropCaches();
    expect(m.frames.freePages).toBe(os.bootFreePages);
  });
});

describe("context switch and PCIDs (switch_mm_irqs_off, choose_new_asid)", () => {
  it("each mm gets its own PCID; switching back to a cached PCID sets CR3's no-flush bit", async () => {
    const { os, m } = await bootLinux();
    const a = os.spawn();
    const b = os.spawn();
    os.switchTo(a);
    const pcidA = Number(m.cpu(0).registers.cr3 & 0xfffn);
    os.switchTo(b);
    const pcidB = Number(m.cpu(0).registers.cr3 & 0xfffn);
    expect(pcidA).toBeGreaterThan(0);
    expect(pcidB).not.toBe(pcidA);
    const elided = m.counters().tlb_flush_elided;
    os.switchTo(a);
    expect(Number(m.cpu(0).registers.cr3 & 0xfffn)).toBe(pcidA);
    expect(m.counters().tlb_flush_elided).toBe(elided + 1n);
  });

  it("the TLB keeps a process's translations across a switch away and back (no walk), unlike a flush", async () => {
    const { os, m } = await bootLinux();
    const a = os.spawn();
    const b = os.spawn();
    const x = ok(a.mmap(0, 4096, RW, ANON));
    bytes(a.write(x, "a"));
    bytes(a.read(x, 1));
    bytes(b.read(ok(b.mmap(0, 4096, RW, ANON)), 1));
    const walks = m.counters().walk_started;
    bytes(a.read(x, 1));
    expect(m.counters().walk_started).toBe(walks); // hit in the TLB under a's PCID
  });

  it(`a ${TLB_NR_DYN_ASIDS + 1}th address space recycles a PCID with a flush`, async () => {
    const { os, m } = await bootLinux();
    const tasks = Array.from({ length: TLB_NR_DYN_ASIDS + 1 }, () => os.spawn());
    const pcids = tasks.map((t) => { os.switchTo(t); return Number(m.cpu(0).registers.cr3 & 0xfffn); });
    expect(new Set(pcids.slice(0, TLB_NR_DYN_ASIDS)).size).toBe(TLB_NR_DYN_ASIDS);
    expect(pcids.slice(0, TLB_NR_DYN_ASIDS)).toContain(pcids[TLB_NR_DYN_ASIDS]);
  });

  it("a PTE change on an mm running on another CPU is shot down with an IPI (flush_tlb_mm_range)", async () => {
    const { os, m } = await bootLinux({}, { cpus: 2 });
    const p = os.spawn();
    const x = ok(p.mmap(0, 4096, RW, ANON));
    bytes(p.write(x, "v"));
    const c = ok(p.fork());
    os.switchTo(c, 1); // parent runs on CPU 0, child on CPU 1
    expect(os.vmstat.nr_tlb_remote_flush).toBe(0);
    bytes(c.read(x, 1));
    expect(p.munmap(x, 4096)).toBe(0); // only the parent's mm: CPU 0 alone
    expect(os.vmstat.nr_tlb_remote_flush).toBe(0);
    expect(m.counters(1).tlb_shootdown_ipi ?? 0n).toBe(0n);
  });
});

describe("replay through the kernel's fault policy", () => {
  it("a batch of accesses by the current task demand-faults as Linux would; an unmapped access stops with SIGSEGV", async () => {
    const { os, m } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 64 * 4096, RW, ANON));
    const r = new Replayer(m, os.faultPolicy);
    for (let i = 0; i < 64; i++) r.batch.setAddress(i, a + BigInt(i * 4096), 8, REC_KIND.write | REC_USER, 0);
    const res = r.run(64);
    expect(res.completed).toBe(64);
    expect(res.faults).toBe(64);
    expect(p.minFlt).toBe(64);
    r.batch.setAddress(0, 0x10n, 8, REC_KIND.read | REC_USER, 0);
    const bad = r.run(1);
    expect(bad.stopped?.reason).toBe("fault");
    expect(p.alive).toBe(false);
  });
});

describe("/proc of a live process", () => {
  it("status VmRSS = RssAnon + RssFile + RssShmem, VmPTE counts the page tables, VmSize the VMAs", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 10 * 4096, RW, ANON));
    for (let i = 0; i < 10; i++) bytes(p.write(a + BigInt(i * 4096), "x"));
    const st = proc.status(p.pid);
    expect(kbField(st, "VmRSS")).toBe(kbField(st, "RssAnon") + kbField(st, "RssFile") + kbField(st, "RssShmem"));
    expect(kbField(st, "RssAnon")).toBe(40);
    const vmSize = p.mm!.vmas.all.reduce((s, v) => s + v.pages * 4, 0);
    expect(kbField(st, "VmSize")).toBe(vmSize);
    expect(kbField(st, "VmPTE")).toBe(p.mm!.tablePages() * 4);
    expect(kbField(st, "VmPTE")).toBeGreaterThanOrEqual(3 * 4); // pud + pmd + pte at least
    expect(proc.read(`/proc/${p.pid}/status`)).toBe(st);
    expect(proc.read("/proc/self/maps", p.pid)).toBe(proc.maps(p.pid));
    expect(() => proc.read("/proc/nope")).toThrow(/not served/);
  });

  it("meminfo: AnonPages, Shmem and Cached follow the model; free's used grows by the pages touched", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const before = kbField(proc.meminfo(), "AnonPages");
    const a = ok(p.mmap(0, 32 * 4096, RW, ANON));
    for (let i = 0; i < 32; i++) bytes(p.write(a + BigInt(i * 4096), "x"));
    const s = ok(p.mmap(0, 4 * 4096, RW, MAP_SHARED | MAP_ANONYMOUS));
    for (let i = 0; i < 4; i++) bytes(p.write(s + BigInt(i * 4096), "x"));
    const mi = proc.meminfo();
    expect(kbField(mi, "AnonPages") - before).toBe(128);
    expect(kbField(mi, "Shmem")).toBe(16);
    expect(kbField(mi, "MemTotal")).toBeGreaterThan(kbField(mi, "MemFree"));
    expect(proc.vmstat()).toMatch(new RegExp(`^pgfault ${os.vmstat.pgfault}$`, "m"));
    expect(proc.free()).toMatch(/^Mem: +\d+ +\d+ +\d+ +16 +\d+ +\d+$/m);
  });
});

describe("malloc model (glibc defaults)", () => {
  it(`small blocks come from brk, blocks of ${MMAP_THRESHOLD} bytes or more from their own mmap`, async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const m = new Malloc(p);
    const brk0 = p.brk(0);
    const small = ok(m.malloc(100));
    expect(small).toBeGreaterThanOrEqual(brk0);
    expect(p.brk(0)).toBeGreaterThan(brk0);
    const n = p.vmaCount;
    const big = ok(m.malloc(MMAP_THRESHOLD));
    expect(p.vmaCount).toBe(n + 1);
    expect(big).toBeGreaterThan(0x7000_0000_0000n);
    bytes(p.write(big, "big block"));
    expect(text(p.read(big, 9))).toBe("big block");
    m.free(big);
    expect(p.vmaCount).toBe(n);
    expect(m.log.map((e) => e.via)).toEqual(["brk", "mmap"]);
    expect(proc.maps(p.pid)).toMatch(/\[heap\]/);
    expect(() => m.free(big)).toThrow(/double free/);
  });
});

describe("real files (NodeFileSource)", () => {
  it("a MAP_SHARED write to a real file reaches the disk on msync", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmmu-"));
    const path = join(dir, "data.bin");
    writeFileSync(path, "x".repeat(8192));
    const { os } = await bootLinux();
    const src = new NodeFileSource(path, { writable: true });
    const f = os.addFile(path, src);
    const p = os.spawn();
    const a = ok(p.mmap(0, 8192, RW, MAP_SHARED, { file: f }));
    expect(text(p.read(a + 4096n, 3))).toBe("xxx");
    bytes(p.write(a + 4096n, "disk"));
    expect(p.msync(a, 8192, 4)).toBe(0);
    expect(readFileSync(path, "latin1").slice(4096, 4100)).toBe("disk");
    src.close();
  });
});

describe("paging depth and memory mode", () => {
  it("5-level paging: processes, COW and exit work the same (TASK_SIZE 2^56, mmap below 2^47 by default)", async () => {
    const { os, m } = await bootLinux({}, { paging: 5 });
    const p = os.spawn();
    const a = ok(p.mmap(0, 8192, RW, ANON));
    expect(a < 2n ** 47n).toBe(true);
    bytes(p.write(a, "five"));
    const c = ok(p.fork());
    bytes(c.write(a, "FIVE"));
    expect(text(p.read(a, 4))).toBe("five");
    c.exit(0);
    p.exit(0);
    os.cache.dropCaches();
    expect(m.frames.freePages).toBe(os.bootFreePages);
  });

  it("tables-only memory: page tables are real, data frames have no bytes and read as zero", async () => {
    const { os, m } = await bootLinux({}, { memory: "tables-only", ram: "16GiB" });
    const q = os.spawn();
    const b = ok(q.mmap(0, 8192, RW, ANON));
    expect(q.write(b, "x").ok).toBe(true);
    expect(bytes(q.read(b, 1))).toEqual(new Uint8Array([0]));
    expect(q.minFlt).toBe(1);
    q.exit(0);
    os.cache.dropCaches();
    expect(m.frames.freePages).toBe(os.bootFreePages);
  });
});
