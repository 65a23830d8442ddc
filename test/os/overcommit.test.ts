// Overcommit (issue 14): the memory commitment Committed_AS, CommitLimit, the vm.overcommit_*
// sysctls and where each system call is refused. Each test names the kernel function whose rule
// it checks (mm/util.c __vm_enough_memory, vm_commit_limit and the sysctl handlers; mm/mmap.c
// init_*_reserve; mm/vma.c __mmap_region, do_brk_flags; mm/mremap.c; mm/mprotect.c
// mprotect_fixup; kernel/fork.c dup_mmap; mm/shmem.c shmem_acct_size). Expected boundaries are
// computed here from the formula and the numbers /proc shows, not from the model's code.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { bootLinux, kbField, ok, bytes } from "../helpers/linux.js";
import { checkInvariants } from "../../src/os/check.js";
import {
  MAP_PRIVATE, MAP_SHARED, MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP,
} from "../../src/os/mmap.js";
import { PROT_READ, PROT_WRITE, PROT_NONE } from "../../src/os/vma.js";
import { VM_ACCOUNT, VM_NORESERVE } from "../../src/os/proc/vmflags.js";
import { Errno } from "../../src/os/errno.js";
import { SIGSEGV } from "../../src/os/signals.js";
import type { Linux } from "../../src/os/linux.js";
import type { ProcFs } from "../../src/os/procfs.js";
import type { Task } from "../../src/os/process.js";
import type { Backing } from "../../src/os/pagecache.js";

const P = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const SHANON = MAP_SHARED | MAP_ANONYMOUS;

/** A /proc/meminfo line in pages. */
const pagesOf = (proc: ProcFs, field: string) => kbField(proc.meminfo(), field) / 4;
const committed = (proc: ProcFs) => pagesOf(proc, "Committed_AS");

/** The pages of every VMA with VM_ACCOUNT, in every process. */
function accountedPages(os: Linux): number {
  let n = 0;
  for (const t of os.processes) for (const v of t.mm?.vmas.all ?? []) if (v.flags & VM_ACCOUNT) n += v.pages;
  return n;
}

/**
 * __vm_enough_memory, mode 2: a request of n pages by `t` is allowed when Committed_AS + n <
 * CommitLimit − min(total_vm / 32, user_reserve_kbytes / 4) − (no CAP_SYS_ADMIN ? admin_reserve_kbytes / 4 : 0).
 * @returns the largest n allowed now
 */
function headroom(os: Linux, proc: ProcFs, t: Task, totalVm = t.mm!.totalVm): number {
  const user = Math.floor(os.sysctl("vm.user_reserve_kbytes") / 4);
  const admin = t.capSysAdmin ? 0 : Math.floor(os.sysctl("vm.admin_reserve_kbytes") / 4);
  const allowed = pagesOf(proc, "CommitLimit") - Math.min(Math.floor(totalVm / 32), user) - admin;
  return allowed - committed(proc) - 1;
}

function isEnomem(r: unknown): boolean {
  return r instanceof Errno && r.code === "ENOMEM";
}

async function strict(ram = "128MiB") {
  const env = await bootLinux({}, { ram });
  expect(env.os.sysctl("vm.overcommit_memory", 2)).toBe(0);
  return env;
}

describe("tunables (mm/util.c sysctl handlers, mm/mmap.c init_admin_reserve / init_user_reserve)", () => {
  it("defaults: overcommit_memory 0, ratio 50, kbytes 0; the reserves are min(free kB at boot / 32, 8 MiB) and min(…, 128 MiB)", async () => {
    const { os, proc } = await bootLinux();
    expect(os.sysctl("vm.overcommit_memory")).toBe(0);
    expect(os.sysctl("vm.overcommit_ratio")).toBe(50);
    expect(os.sysctl("vm.overcommit_kbytes")).toBe(0);
    const freeKb = os.bootFreePages * 4;
    expect(os.sysctl("vm.admin_reserve_kbytes")).toBe(Math.min(Math.floor(freeKb / 32), 8192));
    expect(os.sysctl("vm.user_reserve_kbytes")).toBe(Math.min(Math.floor(freeKb / 32), 131072));
    expect(proc.read("/proc/sys/vm/overcommit_memory")).toBe("0\n");
    expect(proc.read("/proc/sys/vm/overcommit_ratio")).toBe("50\n");
    expect(proc.read("/proc/sys/vm/overcommit_kbytes")).toBe("0\n");
    expect(proc.read("/proc/sys/vm/admin_reserve_kbytes")).toBe(`${os.sysctl("vm.admin_reserve_kbytes")}\n`);
    expect(() => proc.read("/proc/sys/vm/dirty_ratio")).toThrow(/not/);
  });

  it("overcommit_memory takes 0..2 only (proc_dointvec_minmax); a refused write changes nothing", async () => {
    const { os, proc } = await bootLinux();
    for (const bad of [3, -1, 1.5, 2 ** 40]) expect((os.sysctl("vm.overcommit_memory", bad) as Errno).code).toBe("EINVAL");
    expect(os.sysctl("vm.overcommit_memory")).toBe(0);
    expect(os.sysctl("vm.overcommit_memory", 2n)).toBe(0);
    expect(proc.read("/proc/sys/vm/overcommit_memory")).toBe("2\n");
    expect(() => os.sysctl("vm.dirty_ratio" as never, 1)).toThrow(/unknown name/);
  });

  it("overcommit_kbytes and overcommit_ratio exclude each other (overcommit_kbytes_handler / overcommit_ratio_handler); CommitLimit follows vm_commit_limit", async () => {
    const { os, proc } = await bootLinux();
    const ram = pagesOf(proc, "MemTotal");
    expect(pagesOf(proc, "CommitLimit")).toBe(Math.floor((ram * 50) / 100));
    expect(os.sysctl("vm.overcommit_kbytes", 40_002)).toBe(0);
    expect(os.sysctl("vm.overcommit_ratio")).toBe(0);
    expect(pagesOf(proc, "CommitLimit")).toBe(10_000); // kbytes >> (PAGE_SHIFT - 10)
    expect(os.swapon("/swapfile", { bytes: 16 << 20 })).toBe(0);
    const swap = pagesOf(proc, "SwapTotal");
    expect(pagesOf(proc, "CommitLimit")).toBe(10_000 + swap); // plus total_swap_pages
    expect(os.sysctl("vm.overcommit_ratio", 80)).toBe(0);
    expect(os.sysctl("vm.overcommit_kbytes")).toBe(0);
    expect(pagesOf(proc, "CommitLimit")).toBe(Math.floor((ram * 80) / 100) + swap);
    // Writing kbytes 0 still zeroes the ratio, as the handler does: the limit is the swap alone.
    expect(os.sysctl("vm.overcommit_kbytes", 0)).toBe(0);
    expect(pagesOf(proc, "CommitLimit")).toBe(swap);
    expect((os.sysctl("vm.overcommit_ratio", -1) as Errno).code).toBe("EINVAL");
    expect((os.sysctl("vm.overcommit_kbytes", -4) as Errno).code).toBe("EINVAL");
    expect((os.sysctl("vm.admin_reserve_kbytes", 0.5) as Errno).code).toBe("EINVAL");
    expect(os.sysctl("vm.user_reserve_kbytes", 0)).toBe(0);
    expect(proc.read("/proc/sys/vm/user_reserve_kbytes")).toBe("0\n");
  });
});

describe("what is committed (accountable_mapping, shmem_acct_size, vm_unacct_memory)", () => {
  it("Committed_AS is 0 at boot and rises and falls exactly with accountable mappings (accountable_mapping, shmem_acct_size, exit_mmap)", async () => {
    const { os, proc } = await bootLinux();
    expect(committed(proc)).toBe(0);
    const p = os.spawn();
    const c0 = committed(proc);
    expect(c0).toBe(accountedPages(os)); // data + bss + stack
    const a = ok(p.mmap(0, 64 * P, RW, ANON));
    expect(committed(proc) - c0).toBe(64);
    // MAP_NORESERVE (modes 0 and 1) and read-only private mappings commit nothing.
    const nr = ok(p.mmap(0, 64 * P, RW, ANON | MAP_NORESERVE));
    expect(p.mm!.vmas.find(Number(nr))!.flags & VM_NORESERVE).toBe(VM_NORESERVE);
    ok(p.mmap(0, 64 * P, PROT_READ, ANON));
    const f = os.addFile("/data/f", "y".repeat(16 * P));
    ok(p.mmap(0, 16 * P, PROT_READ, MAP_PRIVATE, { file: f }));
    ok(p.mmap(0, 16 * P, RW, MAP_SHARED, { file: f })); // shared file: the file is the backing store
    expect(committed(proc) - c0).toBe(64);
    // A private writable file mapping commits (its COW copies may all be written).
    const pf = ok(p.mmap(0, 16 * P, RW, MAP_PRIVATE, { file: f }));
    expect(committed(proc) - c0).toBe(80);
    // Shared anonymous memory: the shmem object commits its size once, whatever maps it.
    const s = ok(p.mmap(0, 8 * P, RW, SHANON));
    expect(committed(proc) - c0).toBe(88);
    ok(p.mmap(0, 8 * P, RW, SHANON | MAP_NORESERVE)); // VM_NORESERVE: shmem_acct_size skips it
    expect(committed(proc) - c0).toBe(88);
    const c = ok(p.fork()); // the child's VM_ACCOUNT VMAs commit again; the shmem object does not
    expect(committed(proc)).toBe(2 * (c0 + 80) + 8);
    expect(ok(p.munmap(s, 8 * P))).toBe(0); // the child still maps the object
    expect(committed(proc)).toBe(2 * (c0 + 80) + 8);
    c.exit(0); // its last mapping goes: shmem_unacct_size
    expect(committed(proc)).toBe(c0 + 80);
    expect(ok(p.munmap(a + 16n * BigInt(P), 8 * P))).toBe(0); // a hole in the middle
    expect(committed(proc)).toBe(c0 + 72);
    expect(ok(p.munmap(pf, 16 * P))).toBe(0);
    expect(committed(proc)).toBe(c0 + 56);
    expect(committed(proc)).toBe(accountedPages(os));
    p.exit(0);
    expect(committed(proc)).toBe(0); // back to the boot value
    expect(checkInvariants(os)).toEqual([]);
  });

  it("MAP_FIXED over committed pages takes their commitment over (__mmap_region: charged = pglen − nr_accounted)", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = Number(ok(p.mmap(0x10_0000_0000, 8 * P, RW, ANON)));
    const c1 = committed(proc);
    ok(p.mmap(a + 2 * P, 8 * P, RW, ANON | MAP_FIXED)); // 6 pages replaced, 2 new
    expect(committed(proc) - c1).toBe(2);
    ok(p.mmap(a, 4 * P, PROT_READ, ANON | MAP_FIXED)); // a read-only mapping gives the 4 back
    expect(committed(proc) - c1).toBe(-2);
    expect(committed(proc)).toBe(accountedPages(os));
  });

  it("mprotect: making private memory writable commits it; taking write away from anonymous memory nothing was written to gives it back (mprotect_fixup)", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0, 8 * P, PROT_READ, ANON));
    const c0 = committed(proc);
    expect(p.mprotect(a, 8 * P, RW)).toBe(0);
    expect(committed(proc) - c0).toBe(8);
    expect(p.mprotect(a, 8 * P, PROT_READ)).toBe(0); // no anon_vma yet: uncommitted
    expect(committed(proc) - c0).toBe(0);
    expect(p.mprotect(a, 8 * P, RW)).toBe(0);
    bytes(p.write(a, "x")); // anon_vma_prepare: the pages may now hold data
    expect(p.mprotect(a, 8 * P, PROT_NONE)).toBe(0);
    expect(committed(proc) - c0).toBe(8); // stays committed
    expect(committed(proc)).toBe(accountedPages(os));
  });

  it("brk commits the heap's growth and shrinking gives it back (do_brk_flags, do_vmi_align_munmap)", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const c0 = committed(proc);
    const b0 = p.brk(0);
    expect(p.brk(b0 + 32n * BigInt(P))).toBe(b0 + 32n * BigInt(P));
    expect(committed(proc) - c0).toBe(32);
    expect(p.brk(b0 + 8n * BigInt(P))).toBe(b0 + 8n * BigInt(P));
    expect(committed(proc) - c0).toBe(8);
  });

  it("mremap: growth in place commits the delta; a move passes the commitment on; MREMAP_DONTUNMAP commits the new length and the old range stays accounted", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const a = ok(p.mmap(0x10_0000_0000, 4 * P, RW, ANON));
    const c0 = committed(proc);
    expect(p.mremap(a, 4 * P, 12 * P)).toBe(a);
    expect(committed(proc) - c0).toBe(8);
    ok(p.mmap(a + 12n * BigInt(P), P, PROT_READ, ANON | MAP_FIXED)); // no room above: the next growth moves
    const b = ok(p.mremap(a, 12 * P, 16 * P, MREMAP_MAYMOVE));
    expect(b).not.toBe(a);
    expect(committed(proc) - c0).toBe(12);
    expect(p.mremap(b, 16 * P, 4 * P)).toBe(b); // shrink
    expect(committed(proc) - c0).toBe(0);
    const d = ok(p.mremap(b, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
    expect(committed(proc) - c0).toBe(4);
    expect(p.mm!.vmas.find(Number(b))!.flags & VM_ACCOUNT).toBe(VM_ACCOUNT);
    expect(p.mm!.vmas.find(Number(d))!.flags & VM_ACCOUNT).toBe(VM_ACCOUNT);
    expect(committed(proc)).toBe(accountedPages(os));
    p.exit(0);
    expect(committed(proc)).toBe(0);
  });
});

describe("mode 2, OVERCOMMIT_NEVER (__vm_enough_memory: Committed_AS + pages < CommitLimit − reserves)", () => {
  it("mmap: the largest request that fits succeeds, one page more is ENOMEM and changes nothing (__mmap_region, do_mmap MAP_NORESERVE)", async () => {
    const { os, proc } = await strict();
    const p = os.spawn();
    // do_mmap honours MAP_NORESERVE only while overcommit is allowed: here it is committed.
    const nr = Number(ok(p.mmap(0, P, RW, ANON | MAP_NORESERVE)));
    expect(p.mm!.vmas.find(nr)!.flags & (VM_ACCOUNT | VM_NORESERVE)).toBe(VM_ACCOUNT);
    expect(committed(proc)).toBe(accountedPages(os));
    const h = headroom(os, proc, p);
    expect(h).toBeGreaterThan(1000);
    const c0 = committed(proc);
    const vmas = p.vmaCount;
    expect(isEnomem(p.mmap(0, (h + 1) * P, RW, ANON))).toBe(true);
    expect(committed(proc)).toBe(c0);
    expect(p.vmaCount).toBe(vmas);
    expect(os.log.dmesg()).toMatch(new RegExp(`__vm_enough_memory: pid: ${p.pid}, comm: ${p.comm}, bytes: ${(h + 1) * P} not enough memory for the allocation`));
    ok(p.mmap(0, h * P, RW, ANON));
    expect(committed(proc)).toBe(c0 + h);
    // Full: another private writable page (MAP_NORESERVE or not) is refused; read-only memory is not committed.
    expect(isEnomem(p.mmap(0, P, RW, ANON | MAP_NORESERVE))).toBe(true);
    ok(p.mmap(0, 1 << 20, PROT_READ, ANON));
    expect(committed(proc)).toBe(c0 + h);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("without CAP_SYS_ADMIN the admin reserve is kept back too (__vm_enough_memory: !cap_sys_admin)", async () => {
    const { os, proc } = await strict();
    const p = os.spawn();
    const root = headroom(os, proc, p);
    p.capSysAdmin = false;
    const user = headroom(os, proc, p);
    expect(root - user).toBe(Math.floor(os.sysctl("vm.admin_reserve_kbytes") / 4));
    expect(isEnomem(p.mmap(0, (user + 1) * P, RW, ANON))).toBe(true);
    ok(p.mmap(0, user * P, RW, ANON));
  });

  it("shared anonymous memory commits its size, refused past the headroom (shmem_zero_setup → shmem_acct_size)", async () => {
    const { os, proc } = await strict();
    const p = os.spawn();
    const h = headroom(os, proc, p);
    expect(isEnomem(p.mmap(0, (h + 1) * P, RW, SHANON))).toBe(true);
    expect(isEnomem(p.mmap(0, (h + 1) * P, PROT_READ, SHANON))).toBe(true); // read-only too: the object is sized
    const before = os.cache.objects.size;
    ok(p.mmap(0, h * P, PROT_READ, SHANON));
    expect(os.cache.objects.size).toBe(before + 1);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("brk: growth to the headroom succeeds, one page more leaves the break where it was (do_brk_flags)", async () => {
    const { os, proc } = await strict();
    const p = os.spawn();
    const b0 = p.brk(0);
    const h = headroom(os, proc, p);
    expect(p.brk(b0 + BigInt((h + 1) * P))).toBe(b0);
    expect(isEnomem(p.sbrk((h + 1) * P))).toBe(true);
    expect(p.brk(b0 + BigInt(h * P))).toBe(b0 + BigInt(h * P));
    expect(headroom(os, proc, p, p.mm!.totalVm - h)).toBe(0); // full, as of the request
  });

  it("mremap: growth in place and a growing move are refused past the headroom, allowed at it (vrm_calc_charge)", async () => {
    const { os, proc } = await strict();
    const p = os.spawn();
    const a = ok(p.mmap(0x10_0000_0000, 4 * P, RW, ANON));
    const h = headroom(os, proc, p);
    const c0 = committed(proc);
    expect(isEnomem(p.mremap(a, 4 * P, (4 + h + 1) * P))).toBe(true);
    expect(committed(proc)).toBe(c0);
    expect(p.mm!.vmas.find(Number(a))!.end).toBe(Number(a) + 4 * P);
    // Block the room above: growth must move (vrm_calc_charge in move_vma).
    ok(p.mmap(a + 4n * BigInt(P), P, PROT_READ, ANON | MAP_FIXED));
    const h2 = headroom(os, proc, p);
    expect(isEnomem(p.mremap(a, 4 * P, (4 + h2 + 1) * P, MREMAP_MAYMOVE))).toBe(true);
    expect(committed(proc)).toBe(c0);
    const b = ok(p.mremap(a, 4 * P, (4 + h2) * P, MREMAP_MAYMOVE));
    expect(b).not.toBe(a);
    expect(committed(proc)).toBe(c0 + h2);
    // Past the limit (total_vm grew, so did the user reserve), even a move that adds nothing asks
    // __vm_enough_memory (for 0 pages, vrm_calc_charge) and is refused.
    expect(headroom(os, proc, p)).toBeLessThan(0);
    expect(isEnomem(p.mremap(b, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x20_0000_0000))).toBe(true);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("mremap growth in place at exactly the headroom succeeds (expand_vma_in_place → vrm_calc_charge)", async () => {
    const { os, proc } = await strict();
    const p = os.spawn();
    const a = ok(p.mmap(0x10_0000_0000, 4 * P, RW, ANON));
    const h = headroom(os, proc, p);
    expect(p.mremap(a, 4 * P, (4 + h) * P)).toBe(a);
    expect(headroom(os, proc, p, p.mm!.totalVm - h)).toBe(0);
  });

  it("mprotect making private memory writable is refused past the headroom; nothing changes (mprotect_fixup)", async () => {
    const { os, proc } = await strict();
    const p = os.spawn();
    const h0 = headroom(os, proc, p);
    const a = ok(p.mmap(0, (h0 + 1) * P, PROT_READ, ANON));
    const h = headroom(os, proc, p);
    expect(h).toBeLessThan(h0 + 1);
    const c0 = committed(proc);
    const r = p.mprotect(a, (h + 1) * P, RW);
    expect(isEnomem(r)).toBe(true);
    expect(committed(proc)).toBe(c0);
    expect(p.mm!.vmas.find(Number(a))!.flags & 0x2).toBe(0); // still read-only
    expect(p.mprotect(a, h * P, RW)).toBe(0);
    expect(committed(proc)).toBe(c0 + h);
    expect(checkInvariants(os)).toEqual([]);
  });

  it("fork commits the child's copy of each VM_ACCOUNT VMA against the parent's mm and fails whole with ENOMEM past the limit (dup_mmap)", async () => {
    const { os, proc } = await strict();
    const p = os.spawn();
    const c0 = committed(proc);
    const x0 = accountedPages(os);
    const t0 = p.mm!.totalVm;
    const user = Math.floor(os.sysctl("vm.user_reserve_kbytes") / 4);
    const limit = pagesOf(proc, "CommitLimit");
    // After mapping n more pages the copy commits Committed_AS + X where X = the parent's VM_ACCOUNT pages.
    const fits = (n: number) => c0 + n + x0 + n < limit - Math.min(Math.floor((t0 + n) / 32), user);
    let n = Math.floor((limit - c0 - x0) / 2);
    while (!fits(n)) n--;
    expect(fits(n + 1)).toBe(false);
    const a = ok(p.mmap(0, (n + 1) * P, RW, ANON));
    const tasks = os.processes.length;
    const before = committed(proc);
    const free = os.machine.frames.freePages;
    expect(isEnomem(p.fork())).toBe(true);
    expect(committed(proc)).toBe(before);
    expect(os.processes.length).toBe(tasks);
    expect(os.machine.frames.freePages).toBe(free); // nothing of the child is left behind
    expect(checkInvariants(os)).toEqual([]);
    expect(ok(p.munmap(a + BigInt(n * P), P))).toBe(0);
    const c = ok(p.fork());
    expect(committed(proc)).toBe(2 * (c0 + n));
    c.exit(0);
    expect(committed(proc)).toBe(c0 + n);
  });

  it("exec commits the new program's stack: a limit one page short fails the spawn, nothing is left (insert_vm_struct / expand_stack)", async () => {
    const { os, proc } = await strict();
    // data (1 page), bss (2) and the stack (33) are the accountable pages of the default image.
    expect(os.sysctl("vm.overcommit_kbytes", 36 * 4)).toBe(0);
    expect(() => os.spawn()).toThrow(/stack/);
    expect(committed(proc)).toBe(0);
    expect(os.processes.length).toBe(0);
    expect(os.sysctl("vm.overcommit_kbytes", 37 * 4)).toBe(0);
    const p = os.spawn();
    expect(committed(proc)).toBe(36);
    expect(isEnomem(p.exec({}))).toBe(true); // the new image does not fit next to the old one
    expect(p.mm).not.toBeNull();
    expect(committed(proc)).toBe(36);
  });

  it("stack growth below the stack VMA is committed, and refused (SIGSEGV) past the limit (acct_stack_growth)", async () => {
    const { os, proc } = await strict();
    const p = os.spawn();
    p.sigaction(SIGSEGV, () => {});
    const stack = p.mm!.vmas.all.find((v) => v.name === "[stack]")!;
    const c0 = committed(proc);
    const top = stack.start;
    bytes(p.write(top - 4 * P, "s")); // grows by 4 pages
    expect(stack.start).toBe(top - 4 * P);
    expect(committed(proc) - c0).toBe(4);
    // Take the headroom, then touch further down: the growth cannot be committed.
    const h = headroom(os, proc, p);
    ok(p.mmap(0, h * P, RW, ANON));
    expect(headroom(os, proc, p)).toBeLessThan(4);
    const r = p.write(top - 8 * P, "s");
    expect(r.ok ? 0 : r.signal.signo).toBe(SIGSEGV);
    expect(stack.start).toBe(top - 4 * P);
    expect(committed(proc)).toBe(accountedPages(os));
  });
});

describe("mode 1, OVERCOMMIT_ALWAYS, and mode 0, OVERCOMMIT_GUESS", () => {
  it("mode 1 maps far beyond RAM + swap; the commitment is still counted (__vm_enough_memory: OVERCOMMIT_ALWAYS after vm_acct_memory)", async () => {
    const { os, proc } = await bootLinux();
    expect(os.sysctl("vm.overcommit_memory", 1)).toBe(0);
    const p = os.spawn();
    const c0 = committed(proc);
    ok(p.mmap(0, 2 ** 40, RW, ANON)); // 1 TiB on a 128 MiB machine
    ok(p.mmap(0, 2 ** 40, RW, SHANON));
    expect(committed(proc) - c0).toBe(2 * 2 ** 28);
    const b0 = p.brk(0);
    expect(p.brk(b0 + 2n ** 40n)).toBe(b0 + 2n ** 40n);
    expect(committed(proc) - c0).toBe(3 * 2 ** 28);
    expect(ok(p.fork())).toBeTruthy(); // the copy commits 2 TiB more
    expect(committed(proc)).toBe(accountedPages(os) + 2 ** 28);
  });

  it("mode 0 refuses only a single request larger than RAM + swap (pages > totalram_pages + total_swap_pages)", async () => {
    const { os, proc } = await bootLinux();
    const p = os.spawn();
    const ram = pagesOf(proc, "MemTotal");
    expect(isEnomem(p.mmap(0, (ram + 1) * P, RW, ANON))).toBe(true);
    expect(isEnomem(p.mmap(0, (ram + 1) * P, RW, SHANON))).toBe(true);
    const b0 = p.brk(0);
    expect(p.brk(b0 + BigInt((ram + 1) * P))).toBe(b0);
    ok(p.mmap(0, ram * P, RW, ANON));
    ok(p.mmap(0, ram * P, RW, ANON)); // each fits alone: the sum is not checked
    expect(os.swapon("/swapfile", { bytes: 8 << 20 })).toBe(0);
    const swap = pagesOf(proc, "SwapTotal");
    ok(p.mmap(0, (ram + swap) * P, RW, ANON));
    expect(isEnomem(p.mmap(0, (ram + swap + 1) * P, RW, ANON))).toBe(true);
    expect(committed(proc)).toBe(accountedPages(os));
  });

  it("swapoff is refused while the commitment would not fit without the area (sys_swapoff in mode 2)", async () => {
    const { os, proc } = await bootLinux();
    expect(os.swapon("/swapfile", { bytes: 8 << 20 })).toBe(0);
    const swap = pagesOf(proc, "SwapTotal");
    expect(os.sysctl("vm.overcommit_memory", 2)).toBe(0);
    const p = os.spawn();
    // swapoff asks for the area's pages with no mm and as root: it fits while Committed_AS + swap < CommitLimit.
    const n = pagesOf(proc, "CommitLimit") - swap - committed(proc);
    const a = ok(p.mmap(0, n * P, RW, ANON));
    expect(committed(proc) + swap).toBe(pagesOf(proc, "CommitLimit"));
    expect(os.swapoff("/swapfile")).toMatchObject({ code: "ENOMEM" });
    expect(pagesOf(proc, "SwapTotal")).toBe(swap);
    expect(ok(p.munmap(a, P))).toBe(0);
    expect(os.swapoff("/swapfile")).toBe(0);
    expect(pagesOf(proc, "SwapTotal")).toBe(0);
  });
});

describe("Committed_AS = Σ VM_ACCOUNT pages + Σ shmem charges (property, fixed seed)", () => {
  type Op =
    | { k: "mmap"; who: number; page: number; pages: number; kind: "anon" | "shared" | "file"; prot: number; noreserve: boolean; fixed: boolean }
    | { k: "munmap"; who: number; page: number; pages: number }
    | { k: "mremap"; who: number; page: number; pages: number; to: number; how: "plain" | "maymove" | "fixed" | "dontunmap" }
    | { k: "mprotect"; who: number; page: number; pages: number; prot: number }
    | { k: "write"; who: number; page: number }
    | { k: "hog"; who: number; pages: number; leave: number }
    | { k: "brk"; who: number; delta: number }
    | { k: "fork"; who: number }
    | { k: "exit"; who: number }
    | { k: "policy"; mode: number; kbytes: number };
  const SEED = 20260414;
  const BASE = 0x2000_0000;
  const SPAN = 64;
  const who = fc.nat(7);
  const page = fc.nat(SPAN - 1);
  const pages = fc.integer({ min: 1, max: 12 });
  const prot = fc.constantFrom(RW, PROT_READ, PROT_NONE);
  // CommitLimit 0 (ratio 50 of 32 MiB), or tight limits: init commits about 100 pages (its image and the arena).
  const policy = fc.record({ k: fc.constant("policy" as const), mode: fc.constantFrom(0, 1, 2, 2), kbytes: fc.constantFrom(0, 130 * 4, 180 * 4, 260 * 4) });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ k: fc.constant("mmap" as const), who, page, pages, kind: fc.constantFrom("anon" as const, "shared" as const, "file" as const), prot, noreserve: fc.boolean(), fixed: fc.boolean() }), weight: 4 },
    { arbitrary: fc.record({ k: fc.constant("munmap" as const), who, page, pages }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant("mremap" as const), who, page, pages: fc.integer({ min: 1, max: 4 }), to: fc.integer({ min: 1, max: 16 }), how: fc.constantFrom("plain" as const, "maymove" as const, "fixed" as const, "dontunmap" as const) }), weight: 3 },
    { arbitrary: fc.record({ k: fc.constant("mprotect" as const), who, page, pages: fc.integer({ min: 1, max: 24 }), prot }), weight: 3 },
    fc.record({ k: fc.constant("write" as const), who, page }),
    // Commitment outside the arena: so many pages, or in mode 2 all the headroom but `leave` pages.
    { arbitrary: fc.record({ k: fc.constant("hog" as const), who, pages: fc.constantFrom(8, 16, 32), leave: fc.constantFrom(0, 2, 8, 16) }), weight: 2 },
    fc.record({ k: fc.constant("brk" as const), who, delta: fc.integer({ min: -64 * P, max: 96 * P }) }),
    fc.record({ k: fc.constant("fork" as const), who }),
    fc.record({ k: fc.constant("exit" as const), who }),
    { arbitrary: policy, weight: 2 },
  );

  it("random mmap/munmap/mremap/mprotect/brk/fork/exit in all three modes keep it at every step; 0 after every exit", async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(policy, fc.array(op, { minLength: 5, maxLength: 60 }), async (first, ops) => {
        const { os, proc } = await bootLinux({}, { ram: "32MiB" });
        const file = os.addFile("/data/prop", "f".repeat(16 * P));
        const init = os.spawn();
        init.sigaction(SIGSEGV, () => {}); // a touch of a hole or PROT_NONE page does not end the run
        ok(init.mmap(BASE, SPAN * P, RW, ANON | MAP_FIXED));
        const tasks: Task[] = [init];
        /** Shmem objects made, with the pages shmem_acct_size charged them. */
        const shmem = new Map<Backing, number>();
        const pick = (i: number) => { const live = tasks.filter((t) => t.alive); return live.length ? live[i % live.length] : null; };
        const va = (p: number) => BASE + p * P;
        for (const o of [first, ...ops]) {
          const mode = os.sysctl("vm.overcommit_memory");
          let r: unknown = 0;
          if (o.k === "policy") {
            os.sysctl("vm.overcommit_memory", o.mode);
            if (o.kbytes === 0) os.sysctl("vm.overcommit_ratio", 50); else os.sysctl("vm.overcommit_kbytes", o.kbytes);
          } else {
            const t = pick(o.who);
            if (t === null) break;
            switch (o.k) {
              case "mmap": {
                const base = o.kind === "shared" ? SHANON : o.kind === "anon" ? ANON : MAP_PRIVATE;
                const flags = base | (o.noreserve ? MAP_NORESERVE : 0) | (o.fixed ? MAP_FIXED : 0);
                r = t.mmap(va(o.page), o.pages * P, o.prot, flags, o.kind === "file" ? { file } : null);
                if (!(r instanceof Errno) && o.kind === "shared") {
                  const noreserve = o.noreserve && os.sysctl("vm.overcommit_memory") !== 2;
                  if (!noreserve) shmem.set(t.mm!.vmas.find(Number(r))!.backing!, o.pages);
                }
                break;
              }
              case "munmap": t.munmap(va(o.page), o.pages * P); break;
              case "mremap": {
                const flags = o.how === "plain" ? 0 : o.how === "maymove" ? MREMAP_MAYMOVE : o.how === "fixed" ? MREMAP_MAYMOVE | MREMAP_FIXED : MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
                const to = o.how === "dontunmap" ? o.pages : o.to;
                r = t.mremap(va(o.page), o.pages * P, to * P, flags, o.how === "fixed" || o.how === "dontunmap" ? va((o.page + 32) % SPAN) + SPAN * P : 0);
                break;
              }
              case "mprotect": r = t.mprotect(va(o.page), o.pages * P, o.prot); break;
              case "write": t.write(va(o.page), "w"); break;
              case "hog": {
                const n = mode === 2 ? headroom(os, proc, t) - o.leave : o.pages;
                if (n > 0) r = t.mmap(0, n * P, RW, ANON);
                break;
              }
              case "brk": {
                const b0 = t.brk(0);
                const end = Math.ceil(Number(b0) / P) * P;
                const room = t.mm!.vmas.overlapping(end, Number(b0) + o.delta + 2 * P).length === 0;
                if (t.brk(b0 + BigInt(o.delta)) === b0 && o.delta >= P && room) r = new Errno("ENOMEM", "brk: the overcommit policy refused the growth");
                break;
              }
              case "fork": { r = t.fork(); if (!(r instanceof Errno)) tasks.push(r as Task); break; }
              case "exit": t.exit(0); break;
            }
          }
          // A refusal by the policy, told from other ENOMEMs (a hole for mprotect, no room) by its message.
          const outcome = `${o.k}:${mode}:${r instanceof Errno ? (/overcommit|commit limit/.test(r.message) ? "refused" : r.code) : "ok"}`;
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          let live = 0;
          for (const [b, n] of shmem) if (os.cache.objects.has(b.id)) live += n;
          expect(committed(proc), `after ${JSON.stringify(o)}`).toBe(accountedPages(os) + live);
          expect(checkInvariants(os), `after ${JSON.stringify(o)}`).toEqual([]);
        }
        for (const t of tasks) t.exit(0);
        expect(committed(proc)).toBe(0);
      }),
      { seed: SEED, numRuns: 120 },
    );
    // Not vacuous: each accountable call was both allowed and refused by OVERCOMMIT_NEVER.
    for (const k of ["mmap", "mremap", "mprotect", "brk", "fork"]) {
      expect(outcomes.get(`${k}:2:ok`) ?? 0, `${k} allowed in mode 2`).toBeGreaterThan(0);
      expect(outcomes.get(`${k}:2:refused`) ?? 0, `${k} refused in mode 2`).toBeGreaterThan(0);
      expect(outcomes.get(`${k}:1:refused`) ?? 0, `${k} never refused in mode 1`).toBe(0);
    }
  }, 120_000);
});
