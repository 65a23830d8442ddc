/**
 * /proc for the kernel model: gathers what fs/proc/task_mmu.c, fs/proc/array.c,
 * fs/proc/meminfo.c, mm/swapfile.c, mm/vmstat.c and kernel/sched/psi.c gather — per-VMA page walks
 * (smaps_pte_range), task and mm counters, global page counts, the swap areas, the pressure
 * figures — and hands it to the text formatters of src/os/proc/, so every view reads exactly like
 * the Linux 6.18 files (and the procps-ng 4.0.2 commands free and vmstat like their output).
 * `read(path)` serves them by path, like `cat`.
 *
 * Owns: the accounting rules of the views (what counts as Rss, Pss, shared, dirty, referenced,
 * anonymous, lazy-free, swapped; which pagemap bits are set; how the model's cycles become
 * /proc/stat CPU ticks). Owns no state.
 */
import type { Linux } from "./linux.js";
import type { Task } from "./process.js";
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import { PTE_RW, PTE_SPECIAL, PTE_DIRTY, PTE_ACCESSED, PAGE_SIZE, ptePfn, pteMapsFrame, pteHuge, swapPteType, swapPteOffset } from "../machine/pgtable.js";
import { HPAGE_PMD_NR, pmdPfn } from "./huge.js";
import { VM_WRITE, VM_EXEC, VM_SHARED, VM_GROWSDOWN, VM_LOCKED } from "./proc/vmflags.js";
import { isVmSysctl, isWriteOnlySysctl } from "./sysctl.js";

const VM_STACK_FLAGS = VM_GROWSDOWN;
import { formatMaps, type MapsEntry } from "./proc/maps.js";
import { formatSmaps, formatSmapsRollup, PSS_SHIFT, type SmapsEntry, type SmapsRollup } from "./proc/smaps.js";
import { formatStatus, formatStatm, type StatusMm } from "./proc/status.js";
import { formatMeminfo, type MeminfoInput } from "./proc/meminfo.js";
import { THP_SYSFS_FILES, type ThpSysfsFile } from "./thp.js";
import { formatVmstat } from "./proc/vmstat.js";
import { pagemapEntry, pagemapBytes, SWP_PTE_MARKER, PTE_MARKER_GUARD } from "./proc/pagemap.js";
import { formatFree, type FreeOptions } from "./proc/free.js";
import { VmstatSampler, formatVmstatSum, USER_HZ, type VmstatOptions, type VmstatSnapshot, type ProcStatCounters } from "./proc/vmstatcmd.js";
import { formatSwaps } from "./proc/swaps.js";
import { formatPressure } from "./proc/pressure.js";
import type { PsiResource } from "./psi.js";
import { pteHoldsSwap, pteSwapEntry } from "./swapops.js";
import { swpType, swpOffset } from "./swap.js";
import { procBuddyinfo } from "./proc/buddyinfo.js";
import { pageFlag } from "../machine/frames.js";
import { oomScore, readOomAdj, writeOomScoreAdj, writeOomAdj } from "./oom.js";
import { Errno, fail } from "./errno.js";
import { WasmmuError } from "../errors.js";
import { readKpage, type KpageSource } from "./proc/kpageflags.js";

const PAGE = PAGE_SIZE;
const PAGE_FIXED = BigInt(PAGE) << BigInt(PSS_SHIFT);
/** The vsyscall page: the gate VMA every x86-64 process shows last (vsyscall=xonly). */
const VSYSCALL: MapsEntry = { vmStart: 0xffff_ffff_ff60_0000n, vmEnd: 0xffff_ffff_ff60_1000n, vmFlags: VM_EXEC, name: "[vsyscall]" };

/** Counters of one VMA's pages, gathered as smaps_pte_entry → smaps_account does. */
interface VmaStats {
  rss: number; pss: bigint; pssDirty: bigint; pssAnon: bigint; pssFile: bigint; pssShmem: bigint;
  sharedClean: number; sharedDirty: number; privateClean: number; privateDirty: number;
  referenced: number; anonymous: number; lazyFree: number; locked: bigint; anonHuge: number;
  /** Bytes of swap entries in the VMA's PTEs; their Pss (each slot's page shared by its swap count), fixed-point. */
  swap: number; swapPss: bigint;
}

const emptyStats = (): VmaStats => ({
  rss: 0, pss: 0n, pssDirty: 0n, pssAnon: 0n, pssFile: 0n, pssShmem: 0n, sharedClean: 0, sharedDirty: 0, privateClean: 0, privateDirty: 0,
  referenced: 0, anonymous: 0, lazyFree: 0, locked: 0n, anonHuge: 0, swap: 0, swapPss: 0n,
});

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
    const s = emptyStats();
    const frames = this.os.frames;
    const os = this.os;
    const areas = this.os.swap.areas;
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
        const hi = w[i + 1];
        if (!pteMapsFrame(lo)) {
          // is_swap_pte of a real swap entry (not a PTE marker): Swap, and SwapPss = the page
          // shared by the slot's swap count (swp_swapcount; an area already gone counts 0).
          if ((lo | hi) === 0 || !pteHoldsSwap(hi)) return;
          const e = pteSwapEntry(lo, hi);
          const count = areas[swpType(e)]?.count(swpOffset(e)) ?? 0;
          s.swap += PAGE;
          s.swapPss += count >= 2 ? PAGE_FIXED / BigInt(count) : PAGE_FIXED;
          return;
        }
        if ((lo & PTE_SPECIAL) !== 0) return; // vm_normal_page: the zero page is not counted
        account(lo, ptePfn(lo, hi), 1);
      },
      pmdEntry(w, i) {
        const pfn = pmdPfn(w[i], w[i + 1]);
        if (os.thp.isHugeZero(pfn)) return; // vm_normal_page_pmd: the huge zero page is not counted
        // A PMD over a folio split under it (Thp.folioOf): each page has its own counts.
        if (frames.order(pfn) > 0) account(w[i], pfn, HPAGE_PMD_NR);
        else for (let k = 0; k < HPAGE_PMD_NR; k++) account(w[i], pfn + k, 1);
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
      lazyFree: s.lazyFree, locked: s.locked, anonHugePages: s.anonHuge, swap: s.swap, swapPss: s.swapPss, thpEligible: this.thpEligible(v),
    };
    if (this.os.machine.config.features.pku) e.protectionKey = 0;
    return e;
  }

  /** THPeligible: thp_vma_allowable_orders(vma, TVA_SMAPS) under the current sysfs settings. */
  private thpEligible(v: Vma): boolean {
    return this.os.thp.allowable(v, "smaps");
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
    const sum = emptyStats();
    for (const v of all) {
      const s = this.vmaStats(mm, v);
      for (const k of Object.keys(sum) as (keyof VmaStats)[]) (sum as unknown as Record<string, number | bigint>)[k] = (sum[k] as never) + (s[k] as never);
    }
    const { anonHuge, ...rest } = sum;
    return formatSmapsRollup({ ...r, ...rest, anonHugePages: anonHuge });
  }

  /**
   * /proc/<pid>/pagemap entries for the pages of [start, end) (pte_to_pagemap_entry). PFNs and
   * swap type/offset are shown, as to a CAP_SYS_ADMIN reader. A swap entry (or PTE marker) is
   * bit 62 with the type in bits 0-4 and the offset in bits 5-54, never "exclusively mapped".
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
        const hi = pt.w[i + 1];
        if (!pteMapsFrame(lo) && (lo | hi) !== 0) {
          const type = swapPteType(hi);
          const offset = swapPteOffset(lo, hi);
          out.push(pagemapEntry({ swapped: true, swapType: type, swapOffset: offset, guardRegion: type === SWP_PTE_MARKER && (offset & PTE_MARKER_GUARD) !== 0 }));
          continue;
        }
        pfn = ptePfn(lo, hi);
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

  /**
   * A read(2) of /proc/kpageflags or /proc/kpagecount: `length` bytes at `offset` (multiples of
   * 8: the entry of pfn N is at N * 8), as a CAP_SYS_ADMIN reader gets them (proc/kpageflags.ts).
   * @returns the bytes (fewer past the last frame), or EINVAL
   */
  kpage(which: "kpageflags" | "kpagecount", offset: number, length: number): Uint8Array | Errno {
    const os = this.os;
    const src: KpageSource = {
      frames: os.frames,
      zeroPfn: os.zeroPfn,
      hugeZeroPfn: (os as { hugeZeroPfn?: number | null }).hugeZeroPfn ?? null,
      // PageAnonExclusive: one mapping, writable without a COW fault (fork clears it in both, a
      // reuse sets it again; a page made read-only by mprotect counts as shared here).
      anonExclusive(pfn) {
        const links = os.rmap.of(pfn);
        if (links.length !== 1) return false;
        const mm = links[0].mm as Mm;
        const i = mm.pt.pteWord(links[0].va);
        const word = i >= 0 ? i : mm.pt.pmdWord(links[0].va);
        return word >= 0 && (mm.pt.w[word] & PTE_RW) !== 0;
      },
    };
    return readKpage(src, which, offset, length);
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
      shmemPages: mm.rssShmem, hiwaterRss: mm.hiwaterRss, swapEnts: mm.swapEnts, dataVm: data, stackVm: stack, execVm: exec,
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

  /**
   * The /proc/meminfo numbers (bytes), as meminfo_proc_show gathers them: the LRU lists give
   * Active/Inactive/Unevictable, PG_mlocked pages Mlocked, the swap areas SwapTotal/SwapFree
   * (si_swapinfo: an area being swapped off still counts its used slots in both), the swap cache
   * SwapCached; MemAvailable is si_mem_available and CommitLimit vm_commit_limit.
   */
  meminfoValues(): MeminfoInput {
    const os = this.os;
    const m = os.machine;
    const zones = m.frames.zones();
    const managed = zones.reduce((s, z) => s + z.managed, 0);
    const free = m.frames.freePages;
    const cache = os.cache.stats;
    const slab = os.kernel.slab;
    const lru = os.reclaim.listSizes();
    let mapped = 0;
    for (const [pfn, links] of os.rmap.entries()) {
      if (!os.rmap.isAnon(pfn) && links.length > 0) mapped++;
    }
    let toBeUnused = 0; // si_swapinfo: slots still used in areas being swapped off
    for (const a of os.swap.areas) if (a !== null && !a.writeOk) toBeUnused += a.inuse;
    const P = (n: number) => BigInt(Math.round(n)) * BigInt(PAGE);
    const slabPages = slab.framesInUse.slab;
    return {
      MemTotal: P(managed), MemFree: P(free), MemAvailable: P(this.memAvailable(zones, free, lru.activeFile + lru.inactiveFile)), Buffers: 0,
      Cached: P(cache.file + cache.shmem), SwapCached: P(os.swap.cache.size),
      Active: P(lru.activeAnon + lru.activeFile), Inactive: P(lru.inactiveAnon + lru.inactiveFile),
      "Active(anon)": P(lru.activeAnon), "Inactive(anon)": P(lru.inactiveAnon), "Active(file)": P(lru.activeFile), "Inactive(file)": P(lru.inactiveFile),
      Unevictable: P(lru.unevictable), Mlocked: P(os.reclaim.mlockedPages()),
      SwapTotal: P(os.swap.totalPages + toBeUnused), SwapFree: P(os.swap.freePages),
      Dirty: P(cache.dirty), AnonPages: P(os.stat.nr_anon_pages), AnonHugePages: P(os.thp.anonThps() * HPAGE_PMD_NR), Mapped: P(mapped), Shmem: P(cache.shmem),
      Slab: P(slabPages), SUnreclaim: P(slabPages), PageTables: P(os.kernel.pageTablePages),
      // vm_commit_limit (overcommit_kbytes, or overcommit_ratio % of RAM, plus swap) and vm_memory_committed.
      CommitLimit: P(os.commit.commitLimit()), Committed_AS: P(os.commit.committedPages), VmallocUsed: P(os.kernel.vmallocPages),
      DirectMap4k: BigInt(os.kernel.directMapLeaves["4K"]) * 4096n, DirectMap2M: BigInt(os.kernel.directMapLeaves["2M"]) << 21n, DirectMap1G: BigInt(os.kernel.directMapLeaves["1G"]) << 30n,
      ...(m.config.paging === 5 ? { VmallocTotal: os.kernel.vmallocEnd - os.kernel.vmallocStart } : {}),
    };
  }

  /**
   * si_mem_available (mm/show_mem.c): free pages above totalreserve_pages, plus the file LRU
   * pages less min(half of them, the low watermarks), plus reclaimable slab likewise (none in the
   * model). totalreserve_pages is calculate_totalreserve_pages: per zone, its largest lowmem
   * reserve plus its high watermark, at most its managed pages. In pages, never negative.
   */
  private memAvailable(zones: ReturnType<Linux["machine"]["frames"]["zones"]>, free: number, fileLru: number): number {
    let wmarkLow = 0;
    let totalReserve = 0;
    zones.forEach((z, i) => {
      wmarkLow += z.watermarks.low;
      const reserve = Math.max(0, ...z.lowmemReserve.slice(i)) + z.watermarks.high;
      totalReserve += Math.min(reserve, z.managed);
    });
    const pagecache = fileLru - Math.min(Math.floor(fileLru / 2), wmarkLow);
    return Math.max(0, free - totalReserve + pagecache);
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
   * /proc/stat's CPU times and counts as the model accounts them. Each CPU's cycles are its task's
   * time: direct reclaim's cycles are **system**, a major fault's device read **iowait** (the
   * task sleeps; its CPU has nothing else to run), the rest **user**; a CPU is **idle** for the
   * cycles it lags behind the busiest CPU (whose count is model time). Ticks are USER_HZ (100 per
   * second of model time at clockHz), summed over CPUs. nice, irq, softirq, steal and guest stay
   * 0; "intr" counts the TLB-shootdown IPIs the CPUs received (the only interrupts the model has);
   * "ctxt" is 0 (the model keeps no context-switch count); "btime" is 0 (no wall clock);
   * "processes" counts the pids handed out; procs_running the tasks on a CPU; procs_blocked 0
   * (a task's waits for a device take no model time while it waits).
   */
  procStat(): ProcStatCounters {
    const os = this.os;
    const m = os.machine;
    const cycles = Array.from({ length: m.config.cpus }, (_, c) => Number(m.counters(c).cycles ?? 0n));
    const max = Math.max(0, ...cycles);
    let user = 0;
    let system = 0;
    let iowait = 0;
    let idle = 0;
    cycles.forEach((cyc, c) => {
      const t = os.psi.cpuTime(c);
      system += t.system;
      iowait += t.iowait;
      user += Math.max(0, cyc - t.system - t.iowait);
      idle += max - cyc;
    });
    const ticks = (cyc: number) => BigInt(Math.floor((cyc / os.clockHz) * USER_HZ));
    return {
      user: ticks(user), nice: 0, system: ticks(system), idle: ticks(idle), iowait: ticks(iowait), irq: 0, softirq: 0, steal: 0, guest: 0, guestNice: 0,
      intr: m.counters("all").tlb_shootdown_ipi ?? 0n, ctxt: 0, btime: 0, processes: os.forks,
      procsRunning: os.processes.filter((t) => t.onCpu).length, procsBlocked: 0,
    };
  }

  /** What vmstat reads now: /proc/meminfo, the paging and swapping counters, and procStat(). */
  vmstatSnapshot(): VmstatSnapshot {
    const st = this.os.stat;
    return { meminfo: this.meminfoValues(), vmstat: { pgpgin: st.pgpgin, pgpgout: st.pgpgout, pswpin: st.pswpin, pswpout: st.pswpout }, stat: this.procStat() };
  }

  /**
   * What a one-shot `vmstat` prints (procps-ng 4.0.2): memory now, the other columns averaged
   * since boot over the CPUs' ticks (see procStat for how the model's cycles become ticks).
   * @param opts active (-a), wide (-w)
   */
  vmstatCommand(opts: Pick<VmstatOptions, "active" | "wide"> = {}): string {
    return new VmstatSampler(opts).sample(this.vmstatSnapshot());
  }

  /**
   * `vmstat [opts] delay [count]` in model time: each `sample()` reads the model now and returns
   * what vmstat prints for that sample — the header and since-boot row first, then rates over
   * `delay` seconds. Call it once per `delay` seconds of model time (Linux.uptimeUsec).
   */
  vmstatSampler(opts: VmstatOptions = {}): { sample(): string } {
    const sampler = new VmstatSampler(opts);
    return { sample: () => sampler.sample(this.vmstatSnapshot()) };
  }

  /** What `vmstat -s` prints (procps-ng 4.0.2). */
  vmstatSum(): string {
    return formatVmstatSum(this.vmstatSnapshot());
  }

  /** /proc/swaps: every swap area in swap-type order, sizes and use in kB (swap_show). */
  swaps(): string {
    return formatSwaps(this.os.swap.areas.filter((a) => a !== null).map((a) => ({
      path: a.path, kind: a.kind, size: a.slots * PAGE, used: a.inuse * PAGE, priority: a.priority,
    })));
  }

  /** /proc/pressure/<resource> (psi_show): reading it brings the running averages up to date, as in Linux. */
  pressure(resource: PsiResource): string {
    return formatPressure(this.os.psi.show(resource));
  }

  /** What `dmesg` prints: the kernel log with "[seconds.micros]" timestamps of model time. */
  dmesg(): string {
    return this.os.log.dmesg();
  }

  /** The records a read of /dev/kmsg returns ("level,seq,usec,-;text"). */
  kmsg(): string {
    return this.os.log.kmsg();
  }

  /** /proc/buddyinfo. */
  buddyinfo(): string {
    return procBuddyinfo(this.os.machine.frames.zones());
  }

  /**
   * Read a /proc file by path, as `cat` would: /proc/meminfo, /proc/vmstat, /proc/buddyinfo,
   * /proc/swaps, /proc/pressure/{memory,io,cpu}, /proc/<pid>/{maps,smaps,smaps_rollup,status,statm,
   * oom_score,oom_score_adj,oom_adj,cgroup}, /proc/sys/vm/{overcommit_memory,overcommit_ratio,
   * overcommit_kbytes,admin_reserve_kbytes,user_reserve_kbytes,swappiness,page-cluster,
   * min_free_kbytes} and /dev/kmsg; `self` means `selfPid`.
   */
  read(path: string, selfPid?: number): string {
    if (path === "/dev/kmsg") return this.kmsg();
    const thp = /^\/sys\/kernel\/mm\/transparent_hugepage\/(.+)$/.exec(path);
    if (thp !== null && (THP_SYSFS_FILES as readonly string[]).includes(thp[1])) return this.os.thp.sysfs(thp[1] as ThpSysfsFile);
    const sys = /^\/proc\/sys\/vm\/([a-z_-]+)$/.exec(path);
    if (sys !== null) {
      const name = `vm.${sys[1]}`;
      // proc_dointvec / proc_doulongvec_minmax print "%d\n"; drop_caches (mode 0200) cannot be read.
      if (isVmSysctl(name) && !isWriteOnlySysctl(name)) return `${this.os.sysctl(name)}\n`;
    }
    const pr = /^\/proc\/pressure\/(memory|io|cpu)$/.exec(path);
    if (pr !== null) return this.pressure(pr[1] as PsiResource);
    const m = /^\/proc\/(?:(\d+|self)\/)?([a-z_]+)$/.exec(path);
    if (m === null) throw new WasmmuError("INVALID_ARGUMENT", `${path}: not a /proc file the model serves`);
    const [, who, file] = m;
    if (who === undefined) {
      if (file === "meminfo") return this.meminfo();
      if (file === "vmstat") return this.vmstat();
      if (file === "buddyinfo") return this.buddyinfo();
      if (file === "swaps") return this.swaps();
    } else {
      const pid = who === "self" ? selfPid : Number(who);
      if (pid === undefined) throw new WasmmuError("INVALID_ARGUMENT", `${path}: no process is "self" here`);
      switch (file) {
        case "maps": return this.maps(pid);
        case "smaps": return this.smaps(pid);
        case "smaps_rollup": return this.smapsRollup(pid);
        case "status": return this.status(pid);
        case "statm": return this.statm(pid);
        case "oom_score": return this.oomScore(pid);
        case "oom_score_adj": return `${this.task(pid).oomScoreAdj}\n`;
        case "oom_adj": return `${readOomAdj(this.task(pid))}\n`;
        case "cgroup": return this.cgroup(pid);
      }
    }
    throw new WasmmuError("INVALID_ARGUMENT", `${path}: not served; known: /proc/{meminfo,vmstat,buddyinfo,swaps}, /proc/pressure/{memory,io,cpu}, /proc/<pid>/{maps,smaps,smaps_rollup,status,statm,oom_score,oom_score_adj,oom_adj,cgroup}, /proc/sys/vm/{overcommit_*,*_reserve_kbytes,swappiness,page-cluster,min_free_kbytes}, /sys/kernel/mm/transparent_hugepage/*, /dev/kmsg`);
  }

  /**
   * /proc/<pid>/cgroup (proc_cgroup_show): one line per mounted hierarchy. The model mounts only
   * the memory controller, on the unified hierarchy ("0::/path", cgroup v2) or on a v1 hierarchy
   * of its own, hierarchy ID 1 ("1:memory:/path").
   */
  cgroup(pid: number): string {
    const path = this.task(pid).memcgPath;
    return this.os.cgroups.version === "v2" ? `0::${path}\n` : `1:memory:${path}\n`;
  }

  /**
   * /proc/<pid>/oom_score (proc_oom_score): oom_badness over totalram + total swap, scaled to
   * 0..2000.
   */
  oomScore(pid: number): string {
    return `${oomScore(this.task(pid), this.os.totalRamPages + this.os.swap.totalPages)}\n`;
  }

  /**
   * Write `text` to a /proc file, as `echo text > path` does: /proc/<pid>/oom_score_adj and the
   * legacy oom_adj (their kernel parsing: base-0 integers, EINVAL out of range, ERANGE on
   * overflow, EACCES when an unprivileged writer lowers them). `writer` is the task writing
   * (default: a root shell, with CAP_SYS_RESOURCE).
   * @returns 0 or the errno the write(2) returns
   */
  write(path: string, text: string, writer?: Task): 0 | Errno {
    const m = /^\/proc\/(\d+|self)\/(oom_score_adj|oom_adj)$/.exec(path);
    if (m === null) throw new WasmmuError("INVALID_ARGUMENT", `${path}: not a /proc file the model lets you write; known: /proc/<pid>/{oom_score_adj,oom_adj}`);
    const pid = m[1] === "self" ? writer?.pid : Number(m[1]);
    const t = pid === undefined ? undefined : this.os.task(pid);
    if (t === undefined || !t.alive) return fail("ESRCH", `${path}: no such process`);
    const privileged = writer === undefined || writer.uid === 0;
    if (m[2] === "oom_score_adj") return writeOomScoreAdj(t, text, privileged);
    return writeOomAdj(t, text, privileged, this.os.log, writer === undefined ? null : { comm: writer.comm, pid: writer.pid });
  }
}

