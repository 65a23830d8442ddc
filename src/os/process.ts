/**
 * Processes: a task with an address space, the system calls that change it, fork/exec/exit, and
 * guest memory access through the MMU (TLB, walk, faults) so that protections and copy-on-write
 * are observable byte for byte from outside.
 *
 * Owns: task identity and state, per-task fault counts (min_flt/maj_flt), signal handlers, the
 * exec layout (fs/binfmt_elf.c load_elf_binary, arch/x86/mm/mmap.c arch_pick_mmap_layout,
 * fs/exec.c setup_arg_pages) and fork's copy of the address space (kernel/fork.c dup_mmap,
 * mm/memory.c copy_page_range).
 */
import type { Linux } from "./linux.js";
import type { Mm } from "./mm.js";
import { PTE_LO } from "./mm.js";
import { Vma, PAGE_SIZE, VM_MAY_ALL, PROT_READ, PROT_WRITE, PROT_EXEC } from "./vma.js";
import {
  VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_GROWSDOWN, VM_ACCOUNT, VM_DONTCOPY, VM_WIPEONFORK, VM_LOCKED, VM_LOCKONFAULT,
  VM_IO, VM_PFNMAP, VM_DONTEXPAND, VM_DONTDUMP, VM_MAYREAD,
} from "./proc/vmflags.js";
import {
  sysMmap, sysMunmap, sysMprotect, sysBrk, sysMremap, sysMlock, sysMunlock, sysMlockall, sysMunlockall, sysMadvise, sysMsync,
  exitMmap, type Addr, type MmapFile, DEFAULT_MAP_WINDOW, MAP_FIXED, MAP_PRIVATE, MAP_ANONYMOUS,
} from "./mmap.js";
import { isCowMapping } from "./fault.js";
import { Errno, fail } from "./errno.js";
import { SIGKILL, SIGSEGV, sigInfo, type SigInfo, type SignalHandler } from "./signals.js";
import { toU64 } from "../machine/Machine.js";
import type { AccessKind } from "../types.js";
import { WasmmuError } from "../errors.js";

const PAGE = PAGE_SIZE;
/** ELF_ET_DYN_BASE on x86-64: where a PIE is loaded without ASLR (2/3 of TASK_SIZE, page aligned). */
export const ELF_ET_DYN_BASE = 0x5555_5555_4000;
/** Where a non-PIE x86-64 executable is linked. */
export const ELF_EXEC_BASE = 0x40_0000;
/** STACK_TOP without ASLR (TASK_SIZE_LOW). */
export const STACK_TOP = DEFAULT_MAP_WINDOW;

/** A program to exec: sizes of its segments; its file is created in the model when not registered. */
export interface ProgramImage {
  /** Name (comm) and default path /usr/bin/<name>. */
  name?: string;
  /** The executable's path; registered with Linux.addFile, or created with the segment sizes. */
  path?: string;
  /** Bytes of the read-only headers + text segment (r-x). Default 8192. */
  text?: number;
  /** Bytes of initialised data (rw-, file-backed, private). Default 4096. */
  data?: number;
  /** Bytes of bss (anonymous, rw-) after the data. Default 8192. */
  bss?: number;
  /** Position-independent (loaded at ELF_ET_DYN_BASE) or linked at 0x400000. Default true. */
  pie?: boolean;
}

/** The result of a guest memory access: the bytes, or the signal the access raised. */
export type GuestAccess =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; signal: SigInfo };

export type TaskState = "R" | "S" | "Z";

export class Task {
  readonly pid: number;
  ppid: number;
  comm: string;
  mm: Mm | null = null;
  state: TaskState = "R";
  /** Minor and major page faults of this task (what getrusage and /proc/<pid>/stat show). */
  minFlt = 0;
  majFlt = 0;
  /** CPU it runs or last ran on. */
  cpu = 0;
  /** @internal is current on `cpu`. */
  onCpu = false;
  /** Set when the task died of a signal. */
  exitSignal: number | null = null;
  exitCode: number | null = null;
  /** The signal that killed it, with its siginfo. */
  deathInfo: SigInfo | null = null;
  private readonly os: Linux;
  private readonly handlers = new Map<number, SignalHandler>();

  /** @internal Create through Linux.spawn or fork. */
  constructor(os: Linux, pid: number, ppid: number, comm: string) {
    this.os = os;
    this.pid = pid;
    this.ppid = ppid;
    this.comm = comm;
  }

  get alive(): boolean {
    return this.state !== "Z";
  }

  private liveMm(): Mm {
    if (this.mm === null) throw new WasmmuError("INVALID_ARGUMENT", `pid ${this.pid} has exited`);
    return this.mm;
  }

  // ---- signals ----------------------------------------------------------------------------------

  /** sigaction: run `handler` instead of dying on `signo` (null restores the default). SIGKILL cannot be caught. */
  sigaction(signo: number, handler: SignalHandler | null): 0 | Errno {
    if (signo === SIGKILL || !Number.isInteger(signo) || signo < 1 || signo > 64) return fail("EINVAL", `sigaction: signal ${signo} cannot be caught`);
    if (handler === null) this.handlers.delete(signo); else this.handlers.set(signo, handler);
    return 0;
  }

  /**
   * @internal Deliver a signal raised by this task's access (null: out of memory, a SIGKILL).
   * @returns true if a handler ran (the task lives on), false if the task died.
   */
  deliver(info: SigInfo | null): boolean {
    const h = info === null ? undefined : this.handlers.get(info.signo);
    if (h !== undefined && info !== null) {
      h(info);
      return true;
    }
    this.deathInfo = info ?? sigInfo(SIGKILL, 0, 0);
    this.exitWith(null, this.deathInfo.signo);
    return false;
  }

  /** kill(pid, SIGKILL) on this task. */
  kill(signo = SIGKILL): void {
    if (!this.alive) return;
    if (signo !== SIGKILL && this.handlers.has(signo)) { this.handlers.get(signo)!(sigInfo(signo, 0, 0)); return; }
    this.deathInfo = sigInfo(signo, 0, 0);
    this.exitWith(null, signo);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /**
   * execve: replace the address space with `image`'s layout — text (r-x) and data (rw-) mapped
   * privately from the executable, bss and the heap (brk) after them, a top-down mmap area below
   * mmap_base, [vvar]/[vdso], and a [stack] that grows down. Deterministic unless the kernel was
   * booted with aslr.
   */
  exec(image: ProgramImage = {}): 0 | Errno {
    if (!this.alive) return fail("ESRCH", "exec: the process has exited");
    const os = this.os;
    const text = pageUp(image.text ?? 8192);
    const data = pageUp(image.data ?? 4096);
    const bss = image.bss ?? 8192;
    if (![text, data, bss].every((n) => Number.isInteger(n) && n >= 0) || text === 0) return fail("EINVAL", "exec: segment sizes must be non-negative integers, text > 0");
    if (image.name !== undefined) this.comm = image.name.slice(0, 15);
    const path = image.path ?? `/usr/bin/${this.comm}`;
    const file = os.file(path) ?? os.addFile(path, programBytes(text + data));
    if (this.mm !== null) this.releaseMm();
    const mm = os.newMm();
    this.mm = mm;
    const rnd = (pages: number) => (os.aslr ? os.random(pages) * PAGE : 0);
    // arch_pick_mmap_layout: mmap_base = TASK_SIZE - max(stack rlimit + guard gap (+ stack randomisation), 128 MiB) - rnd.
    const stackRandom = os.aslr ? 2 ** 22 * PAGE : 0;
    const gap = Math.max(8 * 2 ** 20 + 256 * PAGE + stackRandom, 128 * 2 ** 20);
    mm.mmapBase = STACK_TOP - gap - rnd(2 ** 28);
    const base = image.pie === false ? ELF_EXEC_BASE : ELF_ET_DYN_BASE + rnd(2 ** 28 / 8);
    const fileRef: MmapFile = { file, writable: false };
    const F = MAP_FIXED | MAP_PRIVATE;
    const t = this.mmapChecked(base, text, PROT_READ | PROT_EXEC, F, fileRef, 0);
    this.mmapChecked(t + text, data, PROT_READ | PROT_WRITE, F, fileRef, text);
    mm.startCode = base;
    mm.endCode = base + text;
    mm.startData = base + text;
    mm.endData = base + text + data;
    let end = base + text + data;
    if (bss > 0) {
      const bssEnd = pageUp(end + bss);
      this.mmapChecked(end, bssEnd - end, PROT_READ | PROT_WRITE, F | MAP_ANONYMOUS, null, 0);
      end = bssEnd;
    }
    // The heap starts after bss (randomize_va_space 2 moves it up by up to 32 MiB).
    mm.startBrk = mm.brk = end + rnd(0x0200_0000 / PAGE);
    // [vvar] + [vvar_vclock] + [vdso] at the top of the mmap area, as the vDSO setup maps them.
    const vdsoBase = mm.mmapBase - 8 * PAGE;
    const special = (s: number, n: number, flags: number, name: string) => {
      const v = new Vma(s, s + n * PAGE, flags, 0, null, name);
      mm.vmas.insert(v);
    };
    special(vdsoBase, 4, VM_READ | VM_MAYREAD | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP, "[vvar]");
    special(vdsoBase + 4 * PAGE, 2, VM_READ | VM_MAYREAD | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP, "[vvar_vclock]");
    special(vdsoBase + 6 * PAGE, 2, VM_READ | VM_EXEC | VM_MAY_ALL | VM_DONTEXPAND, "[vdso]");
    mm.mmapBase = vdsoBase;
    // setup_arg_pages: the stack VMA covers the argument page plus 128 KiB of room below it.
    const stackTop = STACK_TOP - rnd(2 ** 22);
    const stack = new Vma(stackTop - 33 * PAGE, stackTop, VM_READ | VM_WRITE | VM_MAY_ALL | VM_GROWSDOWN | VM_ACCOUNT, (stackTop - 33 * PAGE) / PAGE, null, "[stack]");
    mm.vmas.insert(stack);
    mm.startStack = stackTop - PAGE;
    mm.updateHiwater();
    if (this.onCpu || this.os.current(this.cpu) === null) this.os.switchTo(this, this.cpu);
    return 0;
  }

  private mmapChecked(addr: number, len: number, prot: number, flags: number, file: MmapFile | null, off: number): number {
    const r = sysMmap(this.os, this, addr, len, prot, flags, file, off);
    if (r instanceof Errno) throw new WasmmuError("INVALID_ARGUMENT", `exec: mapping 0x${addr.toString(16)}: ${r.toString()}`);
    return Number(r);
  }

  /**
   * fork: a child with a copy of this address space. VMAs are duplicated (VM_DONTCOPY ones left
   * out, VM_WIPEONFORK ones empty); PTEs are copied only where vma_needs_copy says so (the VMA has
   * anonymous pages); private writable pages become read-only in both, sharing the frame (mapcount
   * and refcount raised); the parent's TLB is flushed (flush_tlb_mm in dup_mmap).
   */
  fork(): Task {
    const os = this.os;
    const pmm = this.liveMm();
    const child = os.registerTask((pid) => new Task(os, pid, this.pid, this.comm));
    child.cpu = this.cpu;
    for (const [s, h] of this.handlers) child.handlers.set(s, h);
    const cmm = os.newMm();
    child.mm = cmm;
    for (const k of ["startCode", "endCode", "startData", "endData", "startBrk", "brk", "startStack", "mmapBase", "hiwaterRss", "hiwaterVm", "defFlags"] as const) cmm[k] = pmm[k];
    cmm.defFlags &= ~(VM_LOCKED | VM_LOCKONFAULT); // mlockall is not inherited
    let writeProtected = 0;
    for (const pv of pmm.vmas.all) {
      if (pv.flags & VM_DONTCOPY) continue;
      const cv = pv.clone();
      cv.flags &= ~(VM_LOCKED | VM_LOCKONFAULT); // locks are not inherited
      if (pv.backing !== null) pv.backing.mappers++;
      if (pv.flags & VM_WIPEONFORK) { cv.anonVma = null; cmm.vmas.insert(cv); continue; }
      if (pv.anonVma !== null) { pv.anonChainShared = true; cv.anonChainShared = true; }
      cmm.vmas.insert(cv);
      if (pv.anonVma === null) continue; // vma_needs_copy: faults will fill the child from the file
      const cow = isCowMapping(pv.flags);
      const shared = (pv.flags & VM_SHARED) !== 0;
      const shmem = pv.backing?.isShmem === true;
      const w = pmm.words;
      // copy_pte_range on 32-bit halves: the flags live in the low word, the pfn spans both.
      pmm.forEachPteRun(pv.start, pv.end, false, (va, word, count) => {
        const cword = cmm.pteSlot(va, true) * 2;
        for (let k = 0; k < count; k++) {
          const pw = word + 2 * k;
          let lo = w[pw];
          const hi = w[pw + 1];
          if (lo === 0 && hi === 0) continue;
          if ((lo & (PTE_LO.PRESENT | PTE_LO.PROTNONE)) !== 0 && (lo & PTE_LO.SPECIAL) === 0) {
            const pfn = (lo >>> 12) + (hi & 0xf_ffff) * 0x10_0000;
            os.rmap.add(pfn, cmm, va + k * PAGE);
            if (os.rmap.isAnon(pfn)) cmm.rssAnon++; else if (shmem) cmm.rssShmem++; else cmm.rssFile++;
          }
          if (cow && (lo & PTE_LO.RW) !== 0) { lo &= ~PTE_LO.RW; w[pw] = lo; writeProtected++; }
          let c = lo & ~PTE_LO.ACCESSED; // pte_mkold in the child
          if (shared) c &= ~PTE_LO.DIRTY;
          w[cword + 2 * k] = c >>> 0;
          w[cword + 2 * k + 1] = hi;
        }
      });
    }
    if (writeProtected > 0) os.flushMm(pmm);
    cmm.updateHiwater();
    return child;
  }

  /** exit(code): the address space is torn down (every frame and table freed), the task is reaped. */
  exit(code = 0): void {
    if (!this.alive) return;
    this.exitWith(code & 0xff, null);
  }

  private exitWith(code: number | null, signal: number | null): void {
    this.exitCode = code;
    this.exitSignal = signal;
    this.releaseMm();
    this.state = "Z";
    this.os.unregisterTask(this);
  }

  /** mmput → exit_mmap → pgd_free, after leaving every CPU. */
  private releaseMm(): void {
    const mm = this.mm;
    if (mm === null) return;
    this.os.descheduleExiting(this);
    exitMmap(this.os, mm);
    this.os.kernel.pgdFree(mm.pgd);
    this.mm = null;
    this.onCpu = false;
  }

  // ---- guest memory access through the MMU -----------------------------------------------------

  /** Read `len` bytes at `vaddr` as user-mode loads. */
  read(vaddr: Addr, len: number): GuestAccess {
    return this.access(vaddr, len, "read", null);
  }

  /** Write `bytes` at `vaddr` as user-mode stores (copy-on-write breaks happen here). */
  write(vaddr: Addr, bytes: Uint8Array | string): GuestAccess {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    return this.access(vaddr, b.length, "write", b);
  }

  /** Fetch `len` instruction bytes at `vaddr` (default 1). */
  fetch(vaddr: Addr, len = 1): GuestAccess {
    return this.access(vaddr, len, "fetch", null);
  }

  private access(vaddr: Addr, len: number, kind: AccessKind, src: Uint8Array | null): GuestAccess {
    if (!Number.isInteger(len) || len < 0) throw new WasmmuError("INVALID_ARGUMENT", `length must be a non-negative integer, got ${len}`);
    this.liveMm();
    const os = this.os;
    if (os.current(this.cpu) !== this) os.switchTo(this, this.cpu);
    const cpu = os.machine.cpu(this.cpu);
    const out = new Uint8Array(src === null ? len : 0);
    let va = toU64(vaddr, "vaddr");
    let done = 0;
    while (done < len) {
      const chunk = Math.min(len - done, PAGE - Number(va & 0xfffn));
      let t = cpu.access(va, { kind, cpl: 3 });
      for (let tries = 0; !t.ok; tries++) {
        const ex = t.exception;
        if (ex.vector !== "PF") {
          const info = sigInfo(SIGSEGV, 128, 0); // #GP on a non-canonical address: SIGSEGV, SI_KERNEL
          this.deliver(info);
          return { ok: false, signal: info };
        }
        const r = os.fault(this, Number(va & ~0xfffn), { write: ex.bits.write, fetch: ex.bits.instructionFetch, protection: ex.bits.present, pkey: ex.bits.protectionKey });
        if (r.kind !== "mapped") {
          const info = r.kind === "signal" ? r.info : sigInfo(SIGKILL, 0, va);
          this.deliver(r.kind === "signal" ? r.info : null);
          return { ok: false, signal: info };
        }
        if (tries > 8) throw new WasmmuError("CORE_TRAP", `pid ${this.pid}: 0x${va.toString(16)} still faults after the handler mapped it`);
        t = cpu.access(va, { kind, cpl: 3 });
      }
      const frame = os.machine.phys.frame(t.paddr >> 12n);
      const off = Number(t.paddr & 0xfffn);
      if (frame !== null) {
        if (src !== null) frame.set(src.subarray(done, done + chunk), off);
        else out.set(frame.subarray(off, off + chunk), done);
      }
      done += chunk;
      va = BigInt.asUintN(64, va + BigInt(chunk));
    }
    return { ok: true, bytes: src ?? out };
  }

  // ---- system calls -----------------------------------------------------------------------------

  /** mmap(addr, length, prot, flags, fd, offset); `file` stands for the fd. */
  mmap(addr: Addr, length: Addr, prot: number, flags: number, file: MmapFile | null = null, offset: Addr = 0): bigint | Errno {
    return sysMmap(this.os, this, addr, length, prot, flags, file, offset);
  }

  munmap(addr: Addr, length: Addr): 0 | Errno {
    return sysMunmap(this.os, this, addr, length);
  }

  mprotect(addr: Addr, length: Addr, prot: number): 0 | Errno {
    return sysMprotect(this.os, this, addr, length, prot);
  }

  /** brk(addr): the new break, or the unchanged one when refused (brk(0) asks for the current break). */
  brk(addr: Addr): bigint {
    return sysBrk(this.os, this, addr);
  }

  /** sbrk(increment) as glibc implements it on brk: the old break, or ENOMEM. */
  sbrk(increment: number): bigint | Errno {
    const mm = this.liveMm();
    const old = mm.brk;
    if (increment === 0) return BigInt(old);
    const r = this.brk(old + increment);
    return Number(r) === old + increment ? BigInt(old) : fail("ENOMEM", `sbrk(${increment}): the heap cannot grow there`);
  }

  mremap(oldAddr: Addr, oldLength: Addr, newLength: Addr, flags = 0, newAddr: Addr = 0): bigint | Errno {
    return sysMremap(this.os, this, oldAddr, oldLength, newLength, flags, newAddr);
  }

  mlock(addr: Addr, length: Addr): 0 | Errno {
    return sysMlock(this.os, this, addr, length);
  }

  /** mlock2(addr, len, MLOCK_ONFAULT). */
  mlockOnFault(addr: Addr, length: Addr): 0 | Errno {
    return sysMlock(this.os, this, addr, length, true);
  }

  munlock(addr: Addr, length: Addr): 0 | Errno {
    return sysMunlock(this.os, this, addr, length);
  }

  mlockall(flags: number): 0 | Errno {
    return sysMlockall(this.os, this, flags);
  }

  munlockall(): 0 | Errno {
    return sysMunlockall(this.os, this);
  }

  madvise(addr: Addr, length: Addr, advice: number): 0 | Errno {
    return sysMadvise(this.os, this, addr, length, advice);
  }

  msync(addr: Addr, length: Addr, flags: number): 0 | Errno {
    return sysMsync(this.os, this, addr, length, flags);
  }

  /** Number of VMAs (map_count). */
  get vmaCount(): number {
    return this.mm?.vmas.count ?? 0;
  }
}

function pageUp(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}

/** Bytes for an executable the model makes up: a recognisable ELF magic, then a pattern per page. */
function programBytes(size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  for (let i = 64; i < size; i++) b[i] = (i >> 12) & 0xff;
  return b;
}

