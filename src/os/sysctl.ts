/**
 * The vm sysctls (/proc/sys/vm/*): one table from each name to the owner that keeps its value.
 * Linux.sysctl, ProcFs's /proc/sys/vm files and the shell's `sysctl` and `echo … >` all go
 * through it, so a tunable is read and range-checked in one place.
 *
 * Owns: the name → owner dispatch and each integer sysctl's range (kernel/sysctl.c
 * proc_dointvec_minmax with extra1/extra2). The values stay with their owners: the overcommit
 * family in VmCommit (mm/util.c), swappiness in Reclaim (mm/vmscan.c: 0..MAX_SWAPPINESS),
 * page-cluster in SwapOps (mm/swap.c: 0..page_cluster_max = 31), min_free_kbytes in the core's
 * buddy allocator (mm/page_alloc.c min_free_kbytes_sysctl_handler: ≥ 0, watermarks recomputed),
 * drop_caches in the page cache (fs/drop_caches.c: 1..4, mode 0200, so never read).
 */
import type { Errno } from "./errno.js";
import { fail } from "./errno.js";
import { isVmCommitSysctl, VM_COMMIT_SYSCTLS } from "./commit.js";
import type { VmCommit, VmCommitSysctl } from "./commit.js";
import { MAX_SWAPPINESS } from "./vmscan.js";
import { KERN_INFO, type KernelLog } from "./klog.js";

/** The integer vm sysctls kept outside VmCommit, with the range their proc handler enforces. */
const RANGED = {
  "vm.swappiness": { min: 0, max: MAX_SWAPPINESS },
  "vm.page-cluster": { min: 0, max: 31 },
  "vm.min_free_kbytes": { min: 0, max: 0x7fff_ffff },
  "vm.drop_caches": { min: 1, max: 4 },
} as const;

/** Every vm sysctl the model has, as sysctl(8) names them. */
export const VM_SYSCTLS = [...VM_COMMIT_SYSCTLS, ...(Object.keys(RANGED) as (keyof typeof RANGED)[])] as const;

/** A vm sysctl name: "vm.swappiness", "vm.overcommit_memory", … */
export type VmSysctl = VmCommitSysctl | keyof typeof RANGED;

/** Is `name` a vm sysctl the model has? */
export function isVmSysctl(name: string): name is VmSysctl {
  return (VM_SYSCTLS as readonly string[]).includes(name);
}

/** Is the sysctl write-only (mode 0200: drop_caches)? A read of its file fails with EACCES; `sysctl -a` leaves it out. */
export function isWriteOnlySysctl(name: VmSysctl): boolean {
  return name === "vm.drop_caches";
}

/** The owners whose values the vm sysctls read and write. */
export interface VmSysctlOwners {
  commit: VmCommit;
  reclaim: { swappiness: number };
  swapOps: { pageCluster: number };
  frames: { minFreeKbytes: number };
  /** drop_caches: bit 1 drops clean unmapped page-cache pages (bit 2, the slab, has nothing reclaimable here). */
  dropCaches(): void;
  /** Where drop_caches_sysctl_handler's line goes. */
  log: KernelLog;
}

/** The task writing a sysctl (`current`): the drop_caches log line names it. */
export interface SysctlWriter {
  comm: string;
  pid: number;
}

/** The vm sysctls over their owners. */
export class VmSysctls {
  /** drop_caches_sysctl_handler's `stfu`: a write with bit 4 silenced every later one. */
  private dropCachesQuiet = false;

  constructor(private readonly o: VmSysctlOwners) {}

  /**
   * The number `cat /proc/sys/vm/<name>` shows (0 for write-only drop_caches; ProcFs refuses
   * its read).
   */
  read(name: VmSysctl): number {
    if (isVmCommitSysctl(name)) return this.o.commit.sysctl(name);
    switch (name) {
      case "vm.swappiness": return this.o.reclaim.swappiness;
      case "vm.page-cluster": return this.o.swapOps.pageCluster;
      case "vm.min_free_kbytes": return this.o.frames.minFreeKbytes;
      case "vm.drop_caches": return 0;
    }
  }

  /**
   * Write a value as the sysctl's proc handler would: an integer within its range, else EINVAL
   * and nothing changes. min_free_kbytes recomputes the zones' watermarks
   * (setup_per_zone_wmarks); drop_caches drops clean page-cache pages when bit 1 is set and,
   * given its `writer`, logs "comm (pid): drop_caches: N" at KERN_INFO until a write sets bit 4.
   * @returns 0, or EINVAL
   */
  write(name: VmSysctl, value: number | bigint, writer?: SysctlWriter): 0 | Errno {
    if (isVmCommitSysctl(name)) return this.o.commit.setSysctl(name, value);
    const { min, max } = RANGED[name];
    const v = typeof value === "bigint" ? (value >= BigInt(min) && value <= BigInt(max) ? Number(value) : NaN) : value;
    if (!Number.isInteger(v) || v < min || v > max) return fail("EINVAL", `sysctl ${name}: ${String(value)} is not in ${min}..${max}`);
    switch (name) {
      case "vm.swappiness": this.o.reclaim.swappiness = v; break;
      case "vm.page-cluster": this.o.swapOps.pageCluster = v; break;
      case "vm.min_free_kbytes": this.o.frames.minFreeKbytes = v; break;
      case "vm.drop_caches":
        if (v & 1) this.o.dropCaches();
        if (writer !== undefined && !this.dropCachesQuiet) this.o.log.printk(KERN_INFO, `${writer.comm} (${writer.pid}): drop_caches: ${v}`);
        if (v & 4) this.dropCachesQuiet = true;
        break;
    }
    return 0;
  }
}
