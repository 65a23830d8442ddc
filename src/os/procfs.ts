/**
 * /proc for the kernel model: gathers what fs/proc/task_mmu.c, fs/proc/array.c,
 * fs/proc/meminfo.c and mm/vmstat.c gather — per-VMA page walks (smaps_pte_range), task and mm
 * counters, global page counts — and hands it to the text formatters of src/os/proc/, so every
 * view reads exactly like the Linux 6.18 files. `read(path)` serves them by path, like `cat`.
 *
 * Owns: the accounting rules of the views (what counts as Rss, Pss, shared, dirty, referenced,
 * anonymous, lazy-free; which pagemap bits are set). Owns no state.
 */
import type { Linux } from "./linux.js";
import type { Task } from "./process.js";
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import { PTE_SPECIAL, PTE_DIRTY, PTE_ACCESSED, PAGE_SIZE, ptePfn, pteMapsFrame, pteHuge } from "../machine/pgtable.js";
import { HPAGE_PMD_NR, pmdPfn } from "./huge.js";
import { VM_WRITE, VM_EXEC, VM_SHARED, VM_GROWSDOWN, VM_LOCKED, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_ACCOUNT } from "./proc/vmflags.js";

const VM_STACK_FLAGS = VM_GROWSDOWN;
import { formatMaps, type MapsEntry } from "./proc/maps.js";
import { formatSmaps, formatSmapsRollup, PSS_SHIFT, type SmapsEntry, type SmapsRollup } from "./proc/smaps.js";
import { formatStatus, formatStatm, type StatusMm } from "./proc/status.js";
import { formatMeminfo, type MeminfoInput } from "./proc/meminfo.js";
import { formatVmstat } from "./proc/vmstat.js";
import { pagemapEntry, pagemapBytes } from "./proc/pagemap.js";
import { formatFree, formatVmstatCommand, type FreeOptions, type VmstatCommandOptions } from "./proc/free.js";
import type { Count } from "./proc/seq.js";
import { procBuddyinfo } from "./proc/buddyinfo.js";
import { pageFlag } from "../machine/frames.js";
import { WasmmuError } from "../errors.js";

const PAGE = PAGE_SIZE;
const PAGE_FIXED = BigInt(PAGE) << BigInt(PSS_SHIFT);
/** The vsyscall page: the gate VMA every x86-64 process shows last (vsyscall=xonly). */
const VSYSCALL: MapsEntry = { vmStart: 0xffff_ffff_ff60_0000n, vmEnd: 0xffff_ffff_ff60_1000n, vmFlags: VM_EXEC, name: "[vsyscall]" };

/** Counters of one VMA's pages, gathered as smaps_pte_entry → smaps_account does. */
interface VmaStats {
  rss: number; pss: bigint; pssDirty: bigint; pssAnon: bigint; pssFile: bigint; pssShmem: bigint;
  sharedClean: number; sharedDirty: number; privateClean: number; privateDirty: number;
  referenced: number; anonymous: number; lazyFree: number; locked: bigint; anonHuge: number;
}

export class ProcFs {
  private readonly os: Linux;

  constructor(os: Linux) {
    this.os = os;
  }

  private task(pid: number): Task {
    const t = this.os.task(pid);
    if (t === undefined || t.mm === null) throw new WasmmuError("INVALID_ARGUMENT", `no process ${pid}`);
    return t;
  }

  /** The name /proc shows after the inode: the file, or [heap]/[stack]/[vdso]…, or nothing. */
  private mapsEntry(mm: Mm, v: Vma): MapsEntry {
    const e: MapsEntry = { vmStart: BigInt(v.start), vmEnd: BigInt(v.end), vmFlags: v.flags };
    if (v.backing !== null) {
      e.file = { major: v.backing.dev[0], minor: v.backing.dev[1], inode: v.backing.inode };
      e.vmPgoff = v.pgoff;
      e.name = v.backing.path;
    } else if (v.name !== null) {
      e.name = v.name;
    } else if (v.start <= mm.brk && v.end >= mm.startBrk) {
      e.name = "[heap]";
    }
    return e;
  }

  /** /proc/<pid>/maps. */
  maps(pid: number): string {
    const mm = this.task(pid).mm!;
    return formatMaps([...mm.vmas.all.map((v) => this.mapsEntry(mm, v)), VSYSCALL]);
  }

  /** smaps_pte_range over one VMA (smaps_pmd_entry for a huge leaf: its 512 pages at once). */
  private vmaStats(mm: Mm, v: Vma): VmaStats {
    const s: VmaStats = { rss: 0, pss: 0n, pssDirty: 0n, pssAnon: 0n, pssFile: 0n, pssShmem: 0n, sharedClean: 0, sharedDirty: 0, privateClean: 0, privateDirty: 0, referenced: 0, anonymous: 0, lazyFree: 0, locked: 0n, anonHuge: 0 };
    const frames = this.os.frames;
    const dirtyFlag = pageFlag("dirty");
    const swapbacked = pageFlag("swapbacked");
    const referencedFlag = pageFlag("referenced");
    /** smaps_account for `pages` pages of frame `pfn` mapped with `lo`. */
    const account = (lo: number, pfn: number, pages: number): void => {
      const size = PAGE * pages;
      const flags = frames.flags(pfn);
      const anon = frames.isAnon(pfn);
      const dirty = (lo & PTE_DIRTY) !== 0 || (flags & dirtyFlag) !== 0;
      const mapcount = Math.max(1, frames.mapcount(pfn));
      const refcount = frames.refcount(pfn);
      s.rss += size;
      if ((lo & PTE_ACCESSED) !== 0 || (flags & referencedFlag) !== 0) s.referenced += size;
      if (anon) {
        s.anonymous += size;
        if ((flags & swapbacked) === 0 && !dirty) s.lazyFree += size;
      }
      const pss = (refcount === 1 || mapcount === 1 ? PAGE_FIXED : PAGE_FIXED / BigInt(mapcount)) * BigInt(pages);
      if (mapcount >= 2 && refcount !== 1) {
        if (dirty) s.sharedDirty += size; else s.sharedClean += size;
      } else if (dirty) s.privateDirty += size; else s.privateClean += size;
      s.pss += pss;
      if (dirty) s.pssDirty += pss;
      if (anon) s.pssAnon += pss; else if (v.backing?.isShmem) s.pssShmem += pss; else s.pssFile += pss;
      if (v.flags & VM_LOCKED) s.locked += pss;
    };
    mm.pt.walkRange(v.start, v.end, {
      pteEntry(w, i) {
        const lo = w[i];
        if (!pteMapsFrame(lo) || (lo & PTE_SPECIAL) !== 0) return; // vm_normal_page: the zero page is not counted
        account(lo, ptePfn(lo, w[i + 1]), 1);
      },
      pmdEntry(w, i) {
        const pfn = pmdPfn(w[i], w[i + 1]);
        account(w[i], pfn, HPAGE_PMD_NR);
        if (frames.isAnon(pfn)) s.anonHuge += PAGE * HPAGE_PMD_NR;
      },
    });
    return s;
  }

  private smapsEntry(mm: Mm, v: Vma): SmapsEntry {
    const s = this.vmaStats(mm, v);
    const e: SmapsEntry = {
      ...this.mapsEntry(mm, v),
      rss: s.rss, pss: s.pss, pssDirty: s.pssDirty, sharedClean: s.sharedClean, sharedDirty: s.sharedDirty,
      privateClean: s.privateClean, privateDirty: s.privateDirty, referenced: s.referenced, anonymous: s.anonymous,
      lazyFree: s.lazyFree, locked: s.locked, anonHugePages: s.anonHuge, thpEligible: this.thpEligible(v),
    };
    if (this.os.machine.config.features.pku) e.protectionKey = 0;
    return e;
  }

  /**
   * THPeligible under the sample machine's settings (enabled=madvise, shmem_enabled=never, no
   * READ_ONLY_THP_FOR_FS): a private anonymous VMA with VM_HUGEPAGE that contains an aligned 2 MiB range.
   */
  private thpEligible(v: Vma): boolean {
    if (v.backing !== null || (v.flags & VM_HUGEPAGE) === 0 || (v.flags & VM_NOHUGEPAGE) !== 0) return false;
    const huge = 2 * 1024 * 1024;
    return Math.ceil(v.start / huge) * huge + huge <= v.end;
  }

  /** /proc/<pid>/smaps. */
  smaps(pid: number): string {
    const mm = this.task(pid).mm!;
    const gate: SmapsEntry = { ...VSYSCALL };
    if (this.os.machine.config.features.pku) gate.protectionKey = 0;
    return formatSmaps([...mm.vmas.all.map((v) => this.smapsEntry(mm, v)), gate]);
  }

  /** /proc/<pid>/smaps_rollup. */
  smapsRollup(pid: number): string {
    const mm = this.task(pid).mm!;
    const all = mm.vmas.all;
    const r: SmapsRollup = { vmStart: BigInt(all[0]?.start ?? 0), vmEnd: BigInt(all[all.length - 1]?.end ?? 0) };
    const sum = { rss: 0, pss: 0n, pssDirty: 0n, pssAnon: 0n, pssFile: 0n, pssShmem: 0n, sharedClean: 0, sharedDirty: 0, privateClean: 0, privateDirty: 0, referenced: 0, anonymous: 0, lazyFree: 0, locked: 0n, anonHuge: 0 };
    for (const v of all) {
      const s = this.vmaStats(mm, v);
      for (const k of Object.keys(sum) as (keyof VmaStats)[]) (sum as Record<string, number | bigint>)[k] = (sum[k] as never) + (s[k] as never);
    }
    const { anonHuge, ...rest } = sum;
    return formatSmapsRollup({ ...r, ...rest, anonHugePages: anonHuge });
  }

  /**
   * /proc/<pid>/pagemap entries for the pages of [start, end) (default: every VMA's pages, in
   * order). PFNs are shown, as to a CAP_SYS_ADMIN reader.
   */
  pagemapEntries(pid: number, start: number | bigint, end: number | bigint): bigint[] {
    const mm = this.task(pid).mm!;
    const s = Number(start) - (Number(start) % PAGE);
    const e = Number(end);
    const out: bigint[] = [];
    const frames = this.os.frames;
    const pt = mm.pt;
    for (let va = s; va < e; va += PAGE) {
      if (mm.vmas.find(va) === null) { out.push(0n); continue; }
      let lo = 0;
      let pfn = 0;
      const i = pt.pteWord(va);
      if (i >= 0) {
        lo = pt.w[i];
        pfn = ptePfn(lo, pt.w[i + 1]);
      } else {
        const pmd = pt.pmdWord(va);
        if (pmd >= 0 && pteHuge(pt.w[pmd])) {
          lo = pt.w[pmd];
          pfn = pmdPfn(lo, pt.w[pmd + 1]) + Math.floor((va % (PAGE * HPAGE_PMD_NR)) / PAGE);
        }
      }
      if (!pteMapsFrame(lo)) { out.push(0n); continue; }
      const special = (lo & PTE_SPECIAL) !== 0;
      const anon = !special && frames.isAnon(pfn);
      out.push(pagemapEntry({
        present: true,
        pfn,
        fileOrSharedAnon: !special && !anon,
        exclusive: !special && frames.mapcount(pfn) === 1,
        softDirty: false, // CONFIG_MEM_SOFT_DIRTY is off in the reference kernel
      }));
    }
    return out;
  }

  /** The bytes a read of /proc/<pid>/pagemap at offset (start/4096)*8 returns for [start, end). */
  pagemap(pid: number, start: number | bigint, end: number | bigint): Uint8Array {
    return pagemapBytes(this.pagemapEntries(pid, start, end));
  }

  private statusMm(mm: Mm): StatusMm {
    let locked = 0;
    let data = 0;
    let stack = 0;
    let exec = 0;
    for (const v of mm.vmas.all) {
      if (v.flags & VM_LOCKED) locked += v.pages;
      // vm_stat_account's buckets: exec (X, not W), stack (growsdown), data (private W, not stack).
      if ((v.flags & (VM_EXEC | VM_WRITE | VM_STACK_FLAGS)) === VM_EXEC) exec += v.pages;
      else if (v.flags & VM_STACK_FLAGS) stack += v.pages;
      else if ((v.flags & (VM_WRITE | VM_SHARED | VM_STACK_FLAGS)) === VM_WRITE) data += v.pages;
    }
    return {
      totalVm: mm.totalVm, hiwaterVm: mm.hiwaterVm, lockedVm: locked, anonPages: mm.rssAnon, filePages: mm.rssFile,
      shmemPages: mm.rssShmem, hiwaterRss: mm.hiwaterRss, swapEnts: 0, dataVm: data, stackVm: stack, execVm: exec,
      startCode: BigInt(mm.startCode), endCode: BigInt(mm.endCode), pgtablesBytes: mm.tablePages() * PAGE,
    };
  }

  /** /proc/<pid>/status. */
  status(pid: number): string {
    const t = this.task(pid);
    return formatStatus({
      name: t.comm, pid: t.pid, ppid: t.ppid, state: t.state === "Z" ? "Z" : t.onCpu ? "R" : "S", mm: this.statusMm(t.mm!),
      nrCpuIds: this.os.machine.config.cpus, cpusAllowed: Array.from({ length: this.os.machine.config.cpus }, (_, i) => i),
    });
  }

  /** /proc/<pid>/statm. */
  statm(pid: number): string {
    return formatStatm(this.statusMm(this.task(pid).mm!));
  }

  /** The /proc/meminfo numbers (bytes). */
  meminfoValues(): MeminfoInput {
    const os = this.os;
    const m = os.machine;
    const total = BigInt(m.frames.managedFrames) * BigInt(PAGE);
    const zones = m.frames.zones();
    const managed = zones.reduce((s, z) => s + z.managed, 0);
    const free = m.frames.freePages;
    const cache = os.cache.stats;
    const slab = os.kernel.slab;
    const anon = os.rmap.anonPages;
    let mapped = 0;
    let mlocked = 0;
    for (const [pfn, links] of os.rmap.entries()) {
      if (!os.rmap.isAnon(pfn) && links.length > 0) mapped++;
    }
    let committed = 0;
    for (const t of os.processes) {
      for (const v of t.mm?.vmas.all ?? []) {
        if (v.flags & VM_LOCKED) mlocked += this.vmaStats(t.mm!, v).rss / PAGE;
        if (v.flags & VM_ACCOUNT) committed += v.pages; // vm_committed_as: accountable private writable memory
      }
    }
    for (const b of os.cache.objects.values()) if (b.isShmem) committed += Math.ceil(b.size / PAGE); // shmem_acct_size
    const low = zones.reduce((s, z) => s + z.watermarks.low, 0);
    const fileCache = cache.file + cache.shmem;
    // si_mem_available: free above the reserves, plus the reclaimable part of the page cache and slab.
    const reclaimableCache = cache.file - Math.min(cache.file / 2, low);
    const available = Math.max(0, free - low + reclaimableCache);
    const P = (n: number) => BigInt(Math.round(n)) * BigInt(PAGE);
    const slabPages = slab.framesInUse.slab;
    return {
      MemTotal: BigInt(managed) * BigInt(PAGE), MemFree: P(free), MemAvailable: P(available), Buffers: 0, Cached: P(fileCache),
      Active: P(anon + fileCache), "Active(anon)": P(anon + cache.shmem), "Active(file)": P(cache.file), Unevictable: P(mlocked),
      Mlocked: P(mlocked), Dirty: P(cache.dirty), AnonPages: P(anon), Mapped: P(mapped), Shmem: P(cache.shmem),
      Slab: P(slabPages), SUnreclaim: P(slabPages), PageTables: P(os.kernel.pageTablePages),
      CommitLimit: total / 2n, Committed_AS: P(committed), VmallocUsed: P(os.kernel.vmallocPages),
      DirectMap4k: BigInt(os.kernel.directMapLeaves["4K"]) * 4096n, DirectMap2M: BigInt(os.kernel.directMapLeaves["2M"]) << 21n, DirectMap1G: BigInt(os.kernel.directMapLeaves["1G"]) << 30n,
      ...(m.config.paging === 5 ? { VmallocTotal: os.kernel.vmallocEnd - os.kernel.vmallocStart } : {}),
    };
  }

  /** /proc/meminfo. */
  meminfo(): string {
    return formatMeminfo(this.meminfoValues());
  }

  /**
   * /proc/vmstat: the counters the model keeps (the registry, src/os/vmstat.ts), in the kernel's
   * order and format; counters it does not keep are left out. The nr_tlb_* counters exist only
   * with CONFIG_DEBUG_TLBFLUSH, which the reference kernel lacks, so they are not printed.
   */
  vmstat(): string {
    return formatVmstat(this.os.stats.procVmstat(), { given: true });
  }

  /** What `free` prints (procps-ng). */
  free(opts: FreeOptions = {}): string {
    return formatFree(this.meminfoValues(), opts);
  }

  /**
   * What `vmstat` prints: the model has no wall clock, so the rates of vmstat's first line
   * (averages since boot) are given as totals since boot — bi/bo in KiB read and written through
   * the page cache; swap columns stay 0 until swap exists; CPU columns show an idle machine
   * (the model does not account CPU time), r counts tasks on a CPU.
   */
  vmstatCommand(opts: VmstatCommandOptions = {}): string {
    const mi = this.meminfoValues();
    const kb = (v: Count | undefined) => BigInt(v ?? 0) / 1024n;
    const running = this.os.processes.filter((t) => t.onCpu).length;
    return formatVmstatCommand({
      r: running, b: 0, swpd: 0, free: kb(mi.MemFree), buff: kb(mi.Buffers), cache: kb(mi.Cached),
      si: 0, so: 0, bi: this.os.stat.pgpgin, bo: this.os.stat.pgpgout, in: 0, cs: 0,
      us: 0, sy: 0, id: 100, wa: 0, st: 0,
    }, opts);
  }

  /** /proc/buddyinfo. */
  buddyinfo(): string {
    return procBuddyinfo(this.os.machine.frames.zones());
  }

  /**
   * Read a /proc file by path, as `cat` would: /proc/meminfo, /proc/vmstat, /proc/buddyinfo,
   * /proc/<pid>/{maps,smaps,smaps_rollup,status,statm}; `self` means `selfPid`.
   */
  read(path: string, selfPid?: number): string {
    const m = /^\/proc\/(?:(\d+|self)\/)?([a-z_]+)$/.exec(path);
    if (m === null) throw new WasmmuError("INVALID_ARGUMENT", `${path}: not a /proc file the model serves`);
    const [, who, file] = m;
    if (who === undefined) {
      if (file === "meminfo") return this.meminfo();
      if (file === "vmstat") return this.vmstat();
      if (file === "buddyinfo") return this.buddyinfo();
    } else {
      const pid = who === "self" ? selfPid : Number(who);
      if (pid === undefined) throw new WasmmuError("INVALID_ARGUMENT", `${path}: no process is "self" here`);
      switch (file) {
        case "maps": return this.maps(pid);
        case "smaps": return this.smaps(pid);
        case "smaps_rollup": return this.smapsRollup(pid);
        case "status": return this.status(pid);
        case "statm": return this.statm(pid);
      }
    }
    throw new WasmmuError("INVALID_ARGUMENT", `${path}: not served; known: meminfo, vmstat, buddyinfo, <pid>/{maps,smaps,smaps_rollup,status,statm}`);
  }
}

