/**
 * Processes: a task with an address space, the system calls that change it, fork/exec/exit, and
 * guest memory access through the MMU (TLB, walk, faults) so that protections and copy-on-write
 * are observable byte for byte from outside.
 *
 * Owns: task identity and state, per-task fault counts (min_flt/maj_flt), signal handlers. The
 * exec layout is exec.ts's, fork's copy fork.ts's; a task reaches the kernel through the narrow
 * TaskKernel interface.
 */
import type { Mm } from "./mm.js";
import type { Machine } from "../machine/Machine.js";
import { PAGE_SIZE } from "./vma.js";
import {
  sysMmap, sysMunmap, sysBrk, type MmapFile,
} from "./mmap.js";
import { sysMprotect, sysMlock, sysMunlock, sysMlockall, sysMunlockall } from "./mprotect.js";
import { sysMremap } from "./mremap.js";
import { sysMadvise, sysMsync } from "./madvise.js";
import type { Addr, MmContext } from "./args.js";
import type { FaultAccess, FaultResult } from "./fault.js";
import { buildExecMm, type ProgramImage, type ExecKernel } from "./exec.js";
import { dupMmap } from "./fork.js";
import { Errno, fail } from "./errno.js";
import { retryWithReclaim } from "./pagealloc.js";
import { SIGKILL, SIGSEGV, SIGSTOP, NSIG, sigInfo, type SigInfo, type SignalHandler } from "./signals.js";
import { toU64 } from "../machine/Machine.js";
import type { AccessKind } from "../types.js";
import { WasmmuError } from "../errors.js";
import type { MemCgroup } from "./memcg.js";
import { Files, type FileContext } from "./fdtable.js";

export { ELF_ET_DYN_BASE, ELF_EXEC_BASE, STACK_TOP, type ProgramImage } from "./exec.js";

const PAGE = PAGE_SIZE;

/** What a task needs of the kernel: the mm system calls' context, exec's, scheduling, faults, the task table. */
export interface TaskKernel extends MmContext, ExecKernel, FileContext {
  readonly machine: Machine;
  /** The task running on `cpu`, or null. */
  current(cpu: number): Task | null;
  /** Context switch: run `task` on `cpu`. */
  switchTo(task: Task, cpu: number): void;
  /** The fault handler, with the kernel's out-of-memory policy applied. */
  fault(task: Task, va: number, access: FaultAccess): FaultResult;
  /** Allocate a pid and register the task `make` builds. */
  registerTask(make: (pid: number) => Task): Task;
  unregisterTask(t: Task): void;
  /** kswapd's turn, after a system call that allocated below the low watermark. */
  balance(): number;
  /** The task enters the kernel (a system call): it is `current`. @returns the task that was */
  enter(task: Task | null): Task | null;
  /** …and leaves it: `prev` is current again. */
  leave(prev: Task | null): void;
  /** The task leaves every CPU for good (exit): idle CPUs load swapper_pg_dir. */
  descheduleExiting(t: Task): void;
  /** A signal reached a task (the event stream). */
  noteSignal(t: Task, info: SigInfo, handled: boolean): void;
  /** cgroup_post_fork: `child` (its memory group set from its parent's) joins its group's task list. */
  cgroupFork?(child: Task): void;
  /** cgroup_exit: the exiting task leaves its group's task list. */
  cgroupExit?(t: Task): void;
  /** Run `fn` with the memory it allocates charged to `t`'s memory group (set_active_memcg). */
  chargeAs?<T>(t: Task, fn: () => T): T;
}

/** The result of a guest memory access: the bytes, or the signal the access raised. */
export type GuestAccess =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; signal: SigInfo };

export type TaskState = "R" | "S" | "Z";

/** One step of a guest access: finished, or a device read to wait for before retrying. */
type Step = GuestAccess | { wait: Promise<void> };

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
  /**
   * Holds CAP_SYS_ADMIN (the model has no credentials otherwise: every task is root by default).
   * Clear it to model an unprivileged task: in vm.overcommit_memory=2 the admin reserve
   * (vm.admin_reserve_kbytes) is then kept from its mappings, as __vm_enough_memory does. fork
   * passes it on; exec keeps it.
   */
  capSysAdmin = true;
  /** @internal is current on `cpu`. */
  onCpu = false;
  /** Set when the task died of a signal. */
  exitSignal: number | null = null;
  exitCode: number | null = null;
  /** The signal that killed it, with its siginfo. */
  deathInfo: SigInfo | null = null;
  /** The user it runs as (0: root, which may lower oom_score_adj and use the admin reserve). */
  uid = 0;
  /** /proc/<pid>/oom_score_adj (-1000..1000; inherited by fork). */
  oomScoreAdj = 0;
  /** The floor an unprivileged writer may not go below (set by privileged writes; inherited by fork). */
  oomScoreAdjMin = 0;
  /** @internal the OOM killer chose this task while it was in the kernel: SIGKILL on the way out. */
  oomKillPending = false;
  /** @internal the memory group the task is in (memcg.ts); null: the root group. */
  memcg: MemCgroup | null = null;
  /**
   * @internal current->memcg_in_oom: a charge of this task's fault found its group at the limit
   * with the OOM killer disabled (memory.oom_control): the fault waits for the group to shrink.
   */
  memcgInOom: MemCgroup | null = null;
  private readonly os: TaskKernel;
  private readonly handlers = new Map<number, SignalHandler>();
  /** The task's open files: open, read, write, pread, pwrite, lseek, ftruncate, fsync, fadvise, fstat… through the page cache (fdtable.ts). */
  readonly files: Files;

  /** @internal Create through Linux.spawn or fork. */
  constructor(os: TaskKernel, pid: number, ppid: number, comm: string) {
    this.os = os;
    this.pid = pid;
    this.ppid = ppid;
    this.comm = comm;
    this.files = new Files(os, undefined, (call) => this.sys(call));
  }

  get alive(): boolean {
    return this.state !== "Z";
  }

  /** The memory group the task is in, as its path ("/": the root group). */
  get memcgPath(): string {
    return this.memcg?.path ?? "/";
  }

  private liveMm(): Mm {
    if (this.mm === null) throw new WasmmuError("INVALID_ARGUMENT", `pid ${this.pid} has exited`);
    return this.mm;
  }

  // ---- signals ----------------------------------------------------------------------------------

  /**
   * sigaction: run `handler` instead of dying on `signo` (null restores the default). SIGKILL and
   * SIGSTOP cannot be caught, and a number outside 1..64 is no signal: EINVAL (do_sigaction).
   */
  sigaction(signo: number, handler: SignalHandler | null): 0 | Errno {
    if (signo === SIGKILL || signo === SIGSTOP || !Number.isInteger(signo) || signo < 1 || signo > NSIG) return fail("EINVAL", `sigaction: signal ${signo} cannot be caught`);
    if (handler === null) this.handlers.delete(signo); else this.handlers.set(signo, handler);
    return 0;
  }

  /**
   * @internal Deliver a signal raised by this task's access. SIGKILL (the OOM policy's, or any)
   * cannot be caught. @returns true if a handler ran (the task lives on), false if the task died.
   */
  deliver(info: SigInfo): boolean {
    const h = info.signo === SIGKILL ? undefined : this.handlers.get(info.signo);
    this.os.noteSignal(this, info, h !== undefined);
    if (h !== undefined) {
      h(info);
      return true;
    }
    this.deathInfo = info;
    this.exitWith(null, info.signo);
    return false;
  }

  /**
   * kill(pid, signo) on this task (kill_pid_info): signal 0 only checks that the task exists, a
   * number outside 0..64 is EINVAL, a caught signal runs its handler, any other ends the task.
   * @returns 0, or ESRCH (the task has exited) or EINVAL
   */
  kill(signo = SIGKILL): 0 | Errno {
    if (!Number.isInteger(signo) || signo < 0 || signo > NSIG) return fail("EINVAL", `kill: ${signo} is not a signal`);
    if (!this.alive) return fail("ESRCH", `kill: pid ${this.pid} has exited`);
    if (signo === 0) return 0;
    const info = sigInfo(signo, 0, 0);
    const h = signo === SIGKILL ? undefined : this.handlers.get(signo);
    this.os.noteSignal(this, info, h !== undefined);
    if (h !== undefined) { h(info); return 0; }
    this.deathInfo = info;
    this.exitWith(null, signo);
    return 0;
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /**
   * execve: replace the address space with `image`'s layout (exec.ts). The new address space is
   * built before the old one goes, so a failure (EINVAL, ENOMEM…) leaves the task as it was.
   */
  exec(image: ProgramImage = {}): 0 | Errno {
    if (!this.alive) return fail("ESRCH", "exec: the process has exited");
    const build = () => buildExecMm(this.os, this, image);
    const mm = this.os.chargeAs === undefined ? build() : this.os.chargeAs(this, build);
    if (mm instanceof Errno) return mm;
    if (image.name !== undefined) this.comm = image.name.slice(0, 15);
    if (this.mm !== null) this.releaseMm();
    this.mm = mm;
    this.files.table.closeOnExec(); // do_close_on_exec
    if (this.onCpu || this.os.current(this.cpu) === null) this.os.switchTo(this, this.cpu);
    return 0;
  }

  /**
   * fork: a child with a copy of this address space (fork.ts: dup_mmap). @returns the child, or
   * ENOMEM when memory ran out (nothing of the child is left behind)
   */
  fork(): Task | Errno {
    const os = this.os;
    const pmm = this.liveMm();
    // dup_mmap's allocations (page tables) reclaim, OOM-kill and retry as any allocation does; a
    // copy that still fails is torn down whole. A refusal by the overcommit policy is final:
    // reclaim cannot change it.
    const cmm = this.sys(() => retryWithReclaim(os, (): Mm | null | Errno => {
      const mm = os.newMm();
      if (mm === null) return null;
      const r = dupMmap(os, pmm, mm, this);
      if (r === "ok") return mm;
      os.dropMm(mm);
      return r === "commit" ? fail("ENOMEM", "fork: the child's private writable memory would exceed the commit limit (vm.overcommit_memory)") : null;
    }, (mm) => mm === null, (mm) => (mm === null ? "pgtable" : null)));
    if (!this.alive) {
      if (cmm !== null && !(cmm instanceof Errno)) os.dropMm(cmm);
      return fail("ENOMEM", "fork: the OOM killer chose the parent");
    }
    if (cmm instanceof Errno) return cmm;
    if (cmm === null) return fail("ENOMEM", "fork: out of memory copying the address space");
    const child = os.registerTask((pid) => new Task(os, pid, this.pid, this.comm));
    child.cpu = this.cpu;
    child.capSysAdmin = this.capSysAdmin;
    child.mm = cmm;
    child.uid = this.uid;
    child.oomScoreAdj = this.oomScoreAdj; // copy_signal
    child.oomScoreAdjMin = this.oomScoreAdjMin;
    child.memcg = this.memcg; // the child starts in its parent's cgroups
    os.cgroupFork?.(child);
    for (const [s, h] of this.handlers) child.handlers.set(s, h);
    child.files.table = this.files.table.fork(); // copy_files: the same open files, offsets shared
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
    this.files.table.closeAll(); // exit_files
    this.releaseMm();
    this.state = "Z";
    this.os.cgroupExit?.(this);
    this.os.unregisterTask(this);
  }

  /** mmput → exit_mmap → pgd_free, after leaving every CPU. */
  private releaseMm(): void {
    const mm = this.mm;
    if (mm === null) return;
    this.os.descheduleExiting(this);
    this.os.dropMm(mm);
    this.mm = null;
    this.onCpu = false;
  }

  // ---- guest memory access through the MMU -----------------------------------------------------

  /** Read `len` bytes at `vaddr` as user-mode loads. @throws WasmmuError WOULD_BLOCK when a page must be read from a device (use readAsync) */
  read(vaddr: Addr, len: number): GuestAccess {
    return this.sync(this.accessSteps(vaddr, len, "read", null));
  }

  /** Write `bytes` at `vaddr` as user-mode stores (copy-on-write breaks happen here). */
  write(vaddr: Addr, bytes: Uint8Array | string): GuestAccess {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    return this.sync(this.accessSteps(vaddr, b.length, "write", b));
  }

  /** Fetch `len` instruction bytes at `vaddr` (default 1). */
  fetch(vaddr: Addr, len = 1): GuestAccess {
    return this.sync(this.accessSteps(vaddr, len, "fetch", null));
  }

  /** read(), waiting for device reads (a file or swap on a real device) instead of refusing them. */
  readAsync(vaddr: Addr, len: number): Promise<GuestAccess> {
    return this.async(this.accessSteps(vaddr, len, "read", null));
  }

  /** write(), waiting for device reads. */
  writeAsync(vaddr: Addr, bytes: Uint8Array | string): Promise<GuestAccess> {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    return this.async(this.accessSteps(vaddr, b.length, "write", b));
  }

  /** fetch(), waiting for device reads. */
  fetchAsync(vaddr: Addr, len = 1): Promise<GuestAccess> {
    return this.async(this.accessSteps(vaddr, len, "fetch", null));
  }

  private sync(steps: Generator<Step, GuestAccess>): GuestAccess {
    const s = steps.next();
    if (!s.done && "wait" in s.value) {
      throw new WasmmuError("WOULD_BLOCK", `pid ${this.pid}: the access must wait — for a device (a read, or swap writeback to free memory, on an asynchronous file or swap backend), or for its memory group to shrink below its limit (memory.oom_control oom_kill_disable 1): use readAsync/writeAsync/fetchAsync`);
    }
    return s.value as GuestAccess;
  }

  private async async(steps: Generator<Step, GuestAccess>): Promise<GuestAccess> {
    for (let s = steps.next(); ; s = steps.next()) {
      if (s.done || !("wait" in s.value)) return s.value as GuestAccess;
      await s.value.wait;
    }
  }

  /**
   * The access, page by page, through the CPU's TLBs and walker; each #PF goes to the fault
   * handler and the access retries. Yields a wait when a fault must wait for a device read.
   */
  private *accessSteps(vaddr: Addr, len: number, kind: AccessKind, src: Uint8Array | null): Generator<Step, GuestAccess> {
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
        const r = os.fault(this, Number(va), { write: ex.bits.write, fetch: ex.bits.instructionFetch, protection: ex.bits.present, pkey: ex.bits.protectionKey });
        if (r.kind === "wait") {
          yield { wait: r.until };
          if (!this.alive) return { ok: false, signal: this.deathInfo ?? sigInfo(SIGKILL, 0, va) };
          if (os.current(this.cpu) !== this) os.switchTo(this, this.cpu);
        } else if (r.kind !== "mapped") {
          const info = r.kind === "signal" ? r.info : sigInfo(SIGKILL, 0, va);
          this.deliver(info);
          return { ok: false, signal: info };
        }
        if (tries > 8 && r.kind !== "wait") throw new WasmmuError("CORE_TRAP", `pid ${this.pid}: 0x${va.toString(16)} still faults after the handler mapped it`);
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

  /** A system call: the task is `current` in the kernel while it runs; after it kswapd runs if the call's allocations woke it, and an OOM kill of this task lands. */
  private sys<T>(call: () => T): T {
    const prev = this.os.enter(this);
    try {
      return call();
    } finally {
      this.os.leave(prev);
      this.os.balance();
      this.oomKill();
    }
  }

  /** A kill the OOM killer chose this task for while it was in the kernel takes effect on the way out. */
  private oomKill(): void {
    if (!this.oomKillPending || !this.alive) return;
    this.oomKillPending = false;
    this.deliver(sigInfo(SIGKILL, 0, 0));
  }

  /** mmap(addr, length, prot, flags, fd, offset); `file` stands for the fd. */
  mmap(addr: Addr, length: Addr, prot: number, flags: number, file: MmapFile | null = null, offset: Addr = 0): bigint | Errno {
    return this.sys(() => sysMmap(this.os, this, addr, length, prot, flags, file, offset));
  }

  munmap(addr: Addr, length: Addr): 0 | Errno {
    return this.sys(() => sysMunmap(this.os, this, addr, length));
  }

  mprotect(addr: Addr, length: Addr, prot: number): 0 | Errno {
    return this.sys(() => sysMprotect(this.os, this, addr, length, prot));
  }

  /** brk(addr): the new break, or the unchanged one when refused (brk(0) asks for the current break). */
  brk(addr: Addr): bigint {
    return this.sys(() => sysBrk(this.os, this, addr));
  }

  /** sbrk(increment) as glibc implements it on brk: the old break, or ENOMEM. */
  sbrk(increment: number): bigint | Errno {
    const mm = this.liveMm();
    if (!Number.isSafeInteger(increment)) return fail("EINVAL", `sbrk: ${increment} is not a whole number of bytes`);
    const old = mm.brk;
    if (increment === 0) return BigInt(old);
    const r = this.brk(old + increment);
    return Number(r) === old + increment ? BigInt(old) : fail("ENOMEM", `sbrk(${increment}): the heap cannot grow there`);
  }

  mremap(oldAddr: Addr, oldLength: Addr, newLength: Addr, flags = 0, newAddr: Addr = 0): bigint | Errno {
    return this.sys(() => sysMremap(this.os, this, oldAddr, oldLength, newLength, flags, newAddr));
  }

  mlock(addr: Addr, length: Addr): 0 | Errno {
    return this.sys(() => sysMlock(this.os, this, addr, length));
  }

  /** mlock2(addr, len, MLOCK_ONFAULT). */
  mlockOnFault(addr: Addr, length: Addr): 0 | Errno {
    return this.sys(() => sysMlock(this.os, this, addr, length, true));
  }

  munlock(addr: Addr, length: Addr): 0 | Errno {
    return this.sys(() => sysMunlock(this.os, this, addr, length));
  }

  mlockall(flags: number): 0 | Errno {
    return this.sys(() => sysMlockall(this.os, this, flags));
  }

  munlockall(): 0 | Errno {
    return this.sys(() => sysMunlockall(this.os, this));
  }

  madvise(addr: Addr, length: Addr, advice: number): 0 | Errno {
    return this.sys(() => sysMadvise(this.os, this, addr, length, advice));
  }

  msync(addr: Addr, length: Addr, flags: number): 0 | Errno {
    return this.sys(() => sysMsync(this.os, this, addr, length, flags));
  }

  /** Number of VMAs (map_count). */
  get vmaCount(): number {
    return this.mm?.vmas.count ?? 0;
  }
}
