/**
 * Overcommit: the system-wide memory commitment (vm_committed_as, what /proc/meminfo calls
 * Committed_AS), the vm.overcommit_* and vm.*_reserve_kbytes sysctls, and the admission check
 * every accountable mapping passes (mm/util.c: __vm_enough_memory, vm_commit_limit,
 * vm_memory_committed, the sysctl handlers; mm/mmap.c: init_user_reserve, init_admin_reserve).
 *
 * Owns: the committed page count, the five tunables, and the pages each shmem object was charged
 * when it was made (shmem_acct_size). The callers decide *what* is accountable, where Linux does:
 * mmap of private writable memory and of shmem (mmap.ts), brk (mmap.ts), mremap growth
 * (mremap.ts), mprotect making a private mapping writable (mprotect.ts), fork (fork.ts), exec's
 * stack (exec.ts), stack growth (fault.ts), swapoff (swapfile.ts); unmap, exit and shmem
 * teardown give the pages back (unmap.ts).
 *
 * The invariant the callers keep: committed = the pages of every VMA with VM_ACCOUNT, in every
 * address space, plus the pages charged for every live shmem object (check.ts verifies it).
 *
 * Linux keeps the counter per CPU and reads it approximately (percpu_counter_read_positive); the
 * model has one exact counter, so the mode-2 boundary is exact.
 */
import { Errno, fail } from "./errno.js";
import { type KernelLog, KERN_WARNING } from "./klog.js";
import type { Backing } from "./pagecache.js";
import { WasmmuError } from "../errors.js";
import { PAGE_SIZE } from "../machine/pgtable.js";

/** vm.overcommit_memory = 0: refuse only what could never fit (one request larger than RAM + swap). */
export const OVERCOMMIT_GUESS = 0;
/** vm.overcommit_memory = 1: never refuse. */
export const OVERCOMMIT_ALWAYS = 1;
/** vm.overcommit_memory = 2: refuse what would take the commitment past CommitLimit. */
export const OVERCOMMIT_NEVER = 2;

/** The overcommit policies (include/uapi/linux/mman.h OVERCOMMIT_*). */
export type OvercommitMode = typeof OVERCOMMIT_GUESS | typeof OVERCOMMIT_ALWAYS | typeof OVERCOMMIT_NEVER;

/** The sysctls this module owns, as sysctl(8) names them (files under /proc/sys/vm/). */
export const VM_COMMIT_SYSCTLS = [
  "vm.overcommit_memory", "vm.overcommit_ratio", "vm.overcommit_kbytes", "vm.admin_reserve_kbytes", "vm.user_reserve_kbytes",
] as const;

/** A sysctl of the overcommit machinery: "vm.overcommit_memory", "vm.overcommit_ratio", … */
export type VmCommitSysctl = (typeof VM_COMMIT_SYSCTLS)[number];

/** The caller of an accountable operation (`current`): who the warning names, and whether it holds CAP_SYS_ADMIN. */
export interface CommitTask {
  readonly pid: number;
  /** The task's name for the warning; default "?" */
  readonly comm?: string;
  /** CAP_SYS_ADMIN in the initial user namespace; default true (tasks are root in the model). */
  readonly capSysAdmin?: boolean;
}

/** What the reserve against one address space needs: its size (mm->total_vm, in pages). */
export interface CommitMm {
  readonly totalVm: number;
}

/** kB per page (1 << (PAGE_SHIFT - 10)); the tunables are in kB. Divided, not shifted: they may exceed 32 bits. */
const KB_PER_PAGE = PAGE_SIZE / 1024;
const INT_MAX = 2 ** 31 - 1;
/** init_admin_reserve's cap: 8 MiB (SZ_8K kB). */
const ADMIN_RESERVE_MAX_KB = 8192;
/** init_user_reserve's cap: 128 MiB (SZ_128K kB). */
const USER_RESERVE_MAX_KB = 131072;

/**
 * The memory commitment and its policy. One per kernel (`Linux.commit`).
 *
 * Accounting rule (Documentation/mm/overcommit-accounting.rst): a private writable mapping
 * (VM_ACCOUNT) commits its size, a shmem object its size when made (unless VM_NORESERVE), read-only
 * and shared file mappings commit nothing; MAP_NORESERVE commits nothing unless the mode is 2,
 * where it is ignored.
 */
export class VmCommit {
  private committed = 0;
  private mode: OvercommitMode = OVERCOMMIT_GUESS;
  private ratio = 50;
  private kbytes = 0;
  private adminReserveKb: number;
  private userReserveKb: number;
  /** Shmem objects' charges by object id (shmem_acct_size; 0 is not kept). */
  private readonly shmem = new Map<number, number>();
  private readonly totalRam: () => number;
  private readonly totalSwap: () => number;
  private readonly log: KernelLog | null;

  /**
   * @param totalRamPages totalram_pages(): the zones' managed pages (MemTotal)
   * @param totalSwapPages total_swap_pages: usable slots of the swap areas in use
   * @param freePages free pages when the reserves are initialised (NR_FREE_PAGES at subsys_initcall)
   * @param log where __vm_enough_memory's refusals are reported (pr_warn_ratelimited), or null
   */
  constructor(totalRamPages: () => number, totalSwapPages: () => number, freePages: number, log: KernelLog | null = null) {
    this.totalRam = totalRamPages;
    this.totalSwap = totalSwapPages;
    this.log = log;
    // init_admin_reserve / init_user_reserve: 1/32 of free memory (the "3%"), capped at 8 MiB / 128 MiB.
    const freeKb = freePages * KB_PER_PAGE;
    this.adminReserveKb = Math.min(Math.floor(freeKb / 32), ADMIN_RESERVE_MAX_KB);
    this.userReserveKb = Math.min(Math.floor(freeKb / 32), USER_RESERVE_MAX_KB);
  }

  /** vm.overcommit_memory. */
  get overcommitMemory(): OvercommitMode {
    return this.mode;
  }

  /** vm_memory_committed: pages committed now (Committed_AS). */
  get committedPages(): number {
    return this.committed;
  }

  /**
   * vm_commit_limit: overcommit_kbytes (in pages) when non-zero, else overcommit_ratio percent of
   * RAM (less huge pages, none in the model), plus every usable swap page. In pages.
   */
  commitLimit(): number {
    const swap = this.totalSwap();
    if (this.kbytes !== 0) return Math.floor(this.kbytes / KB_PER_PAGE) + swap;
    return Number((BigInt(this.totalRam()) * BigInt(this.ratio)) / 100n) + swap;
  }

  /** vm_acct_memory: commit `pages` with no check. */
  acct(pages: number): void {
    this.committed += pages;
  }

  /** vm_unacct_memory: give `pages` back. @throws WasmmuError BAD_FREE when more is given back than was committed (a model bug) */
  unacct(pages: number): void {
    this.committed -= pages;
    if (this.committed < 0) throw new WasmmuError("BAD_FREE", `vm_committed_as underflow: ${this.committed} pages after giving back ${pages}`);
  }

  /**
   * __vm_enough_memory (via security_vm_enough_memory_mm → cap_vm_enough_memory): commit `pages`,
   * then ask the policy whether that was allowed. Mode 1: always. Mode 0: unless `pages` alone
   * exceeds RAM + swap. Mode 2: if the commitment, now including `pages`, stays strictly below
   * CommitLimit less the admin reserve (for a caller without CAP_SYS_ADMIN) and less
   * min(total_vm / 32, user reserve) of `mm` (when there is one). A refusal gives the pages back
   * and logs "__vm_enough_memory: pid: …, comm: …, bytes: … not enough memory for the allocation".
   * @param mm the address space the request grows (current->mm), or null
   * @returns true when the pages are now committed, false (nothing committed) for ENOMEM
   */
  vmEnoughMemory(mm: CommitMm | null, pages: number, task: CommitTask): boolean {
    this.acct(pages);
    if (this.mode === OVERCOMMIT_ALWAYS) return true;
    if (this.mode === OVERCOMMIT_GUESS) {
      if (pages <= this.totalRam() + this.totalSwap()) return true;
    } else {
      let allowed = this.commitLimit();
      if (task.capSysAdmin === false) allowed -= Math.floor(this.adminReserveKb / KB_PER_PAGE);
      if (mm !== null) allowed -= Math.min(Math.floor(mm.totalVm / 32), Math.floor(this.userReserveKb / KB_PER_PAGE));
      if (this.committed < allowed) return true;
    }
    this.log?.printkRatelimited("__vm_enough_memory", KERN_WARNING, `__vm_enough_memory: pid: ${task.pid}, comm: ${task.comm ?? "?"}, bytes: ${pages * PAGE_SIZE} not enough memory for the allocation`);
    this.unacct(pages);
    return false;
  }

  /**
   * shmem_acct_size for a new shmem object of `pages` pages: none under VM_NORESERVE, else
   * __vm_enough_memory. @returns whether the object may be made (its charge is then recorded)
   */
  acctShmem(b: Backing, pages: number, noreserve: boolean, mm: CommitMm | null, task: CommitTask): boolean {
    if (noreserve || pages === 0) return true;
    if (!this.vmEnoughMemory(mm, pages, task)) return false;
    this.shmem.set(b.id, pages);
    return true;
  }

  /** shmem_unacct_size when a shmem object is destroyed (its last mapping went): its charge goes back. */
  unacctShmem(b: Backing): void {
    const pages = this.shmem.get(b.id);
    if (pages === undefined) return;
    this.shmem.delete(b.id);
    this.unacct(pages);
  }

  /** The pages shmem object `b` is charged (0 under VM_NORESERVE or once destroyed). */
  shmemCharge(b: Backing): number {
    return this.shmem.get(b.id) ?? 0;
  }

  /** Pages charged for every live shmem object. */
  get shmemPages(): number {
    let n = 0;
    for (const p of this.shmem.values()) n += p;
    return n;
  }

  /** Read a sysctl: the number `cat /proc/sys/vm/<name>` shows. */
  sysctl(name: VmCommitSysctl): number {
    switch (name) {
      case "vm.overcommit_memory": return this.mode;
      case "vm.overcommit_ratio": return this.ratio;
      case "vm.overcommit_kbytes": return this.kbytes;
      case "vm.admin_reserve_kbytes": return this.adminReserveKb;
      case "vm.user_reserve_kbytes": return this.userReserveKb;
    }
  }

  /**
   * Write a sysctl as its proc handler would:
   *  - vm.overcommit_memory: 0, 1 or 2 (proc_dointvec_minmax over 0..2), else EINVAL;
   *  - vm.overcommit_ratio: an int; writing it sets overcommit_kbytes to 0 (overcommit_ratio_handler);
   *  - vm.overcommit_kbytes: an unsigned long; writing it — even 0 — sets overcommit_ratio to 0
   *    (overcommit_kbytes_handler): the two are mutually exclusive;
   *  - vm.admin_reserve_kbytes, vm.user_reserve_kbytes: unsigned longs (proc_doulongvec_minmax).
   * The model refuses a negative ratio (Linux's proc_dointvec takes one, and vm_commit_limit then
   * wraps to an absurd limit) and values above 2^53 − 1 with EINVAL; a failed write changes nothing.
   * @returns 0, or EINVAL
   */
  setSysctl(name: VmCommitSysctl, value: number | bigint): 0 | Errno {
    const v = typeof value === "bigint" ? (value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : -1) : value;
    const bad = (range: string) => fail("EINVAL", `sysctl ${name}: ${String(value)} is not ${range}`);
    if (!Number.isSafeInteger(v) || v < 0) return bad("a non-negative integer");
    switch (name) {
      case "vm.overcommit_memory":
        if (v > 2) return bad("0, 1 or 2");
        this.mode = v as OvercommitMode;
        return 0;
      case "vm.overcommit_ratio":
        if (v > INT_MAX) return bad(`an int (at most ${INT_MAX})`);
        this.ratio = v;
        this.kbytes = 0;
        return 0;
      case "vm.overcommit_kbytes":
        this.kbytes = v;
        this.ratio = 0;
        return 0;
      case "vm.admin_reserve_kbytes":
        this.adminReserveKb = v;
        return 0;
      case "vm.user_reserve_kbytes":
        this.userReserveKb = v;
        return 0;
    }
  }
}

/** Is `name` one of the sysctls VmCommit owns? */
export function isVmCommitSysctl(name: string): name is VmCommitSysctl {
  return (VM_COMMIT_SYSCTLS as readonly string[]).includes(name);
}
