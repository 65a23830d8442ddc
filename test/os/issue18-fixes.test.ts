// Issue 18, "Fixes": each checked through the views a user reads — Committed_AS in /proc/meminfo,
// the "ac"/"lo" VmFlags in smaps, the counters in /proc/vmstat — not through the model's fields.
import { describe, it, expect } from "vitest";
import { bootLinux, kbField, ok, bytes, smapsBlock } from "../helpers/linux.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MREMAP_MAYMOVE, MREMAP_DONTUNMAP, MADV_FREE } from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../src/os/vma.js";
import type { ProcFs } from "../../src/os/procfs.js";

const P = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const committedKb = (proc: ProcFs) => kbField(proc.meminfo(), "Committed_AS");
const vmFlags = (proc: ProcFs, pid: number, at: bigint) => /VmFlags: (.*)/.exec(smapsBlock(proc.smaps(pid), at))![1].trim().split(" ");
const vmstatValue = (proc: ProcFs, name: string) => {
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(proc.vmstat());
  if (m === null) throw new Error(`${name} not printed`);
  return Number(m[1]);
};

describe("issue 18 fixes", () => {
  it("mprotect_fixup: an anonymous VMA with no anon_vma made read-only drops VM_ACCOUNT (smaps loses 'ac', Committed_AS −64 kB)", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const c0 = committedKb(proc);
    const a = ok(p.mmap(0, 16 * P, RW, ANON));
    expect(committedKb(proc) - c0).toBe(64);
    expect(vmFlags(proc, p.pid, a)).toContain("ac");
    expect(p.mprotect(a, 16 * P, PROT_READ)).toBe(0);
    expect(vmFlags(proc, p.pid, a)).not.toContain("ac");
    expect(committedKb(proc) - c0).toBe(0);
    // Written first (anon_vma exists): read-only keeps the charge.
    const b = ok(p.mmap(0, 16 * P, RW, ANON));
    bytes(p.write(b, "x"));
    expect(p.mprotect(b, 16 * P, PROT_READ)).toBe(0);
    expect(vmFlags(proc, p.pid, b)).toContain("ac");
    expect(committedKb(proc) - c0).toBe(64);
  });

  it("mremap(MREMAP_DONTUNMAP): the old VMA keeps 'ac' and loses 'lo'; Committed_AS counts both (move_vma)", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const c0 = committedKb(proc);
    const a = ok(p.mmap(0, 4 * P, RW, ANON));
    expect(p.mlock(a, 4 * P)).toBe(0);
    expect(vmFlags(proc, p.pid, a)).toEqual(expect.arrayContaining(["ac", "lo"]));
    const d = ok(p.mremap(a, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
    const old = vmFlags(proc, p.pid, a);
    expect(old).toContain("ac");
    expect(old).not.toContain("lo");
    expect(vmFlags(proc, p.pid, d)).toEqual(expect.arrayContaining(["ac", "lo"]));
    expect(committedKb(proc) - c0).toBe(32);
    expect(kbField(proc.status(p.pid), "VmLck")).toBe(16);
  });

  it("/proc/vmstat prints pgreuse (wp_can_reuse_anon_folio) and pglazyfree (MADV_FREE) with their values", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const reuse0 = vmstatValue(proc, "pgreuse");
    const lazy0 = vmstatValue(proc, "pglazyfree");
    const a = ok(p.mmap(0, 8 * P, RW, ANON));
    for (let i = 0; i < 8; i++) bytes(p.write(a + BigInt(i * P), "x"));
    const c = ok(p.fork());
    c.exit(0);
    // The child is gone: each of the 8 write-protected pages is reused on the parent's write.
    for (let i = 0; i < 8; i++) bytes(p.write(a + BigInt(i * P), "y"));
    expect(vmstatValue(proc, "pgreuse") - reuse0).toBe(8);
    expect(p.madvise(a, 5 * P, MADV_FREE)).toBe(0);
    expect(vmstatValue(proc, "pglazyfree") - lazy0).toBe(5);
  });
});
