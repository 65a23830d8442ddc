/**
 * swapon and swapoff (mm/swapfile.c): adding an area, and taking one away — try_to_unuse brings
 * every page the area holds back into memory (unuse_pte for each swap entry of it in every address
 * space, with readahead, reclaiming into the other areas as needed), frees what is left in the swap
 * cache, and fails with ENOMEM, leaving the area in place, when the pages do not fit.
 *
 * Owns: nothing; works on the swap areas (swap.ts), swap-in (swapops.ts), the page tables.
 */
import type { Mm } from "./mm.js";
import type { FaultContext } from "./context.js";
import type { KernelLog } from "./klog.js";
import { KERN_INFO, KERN_ERR } from "./klog.js";
import { type SwapSpace, type SwapBackend, type SwapLatency, type SwapDevice, swpType, swpOffset } from "./swap.js";
import { pteSwapEntry } from "./swapops.js";
import { retryWithReclaim } from "./pagealloc.js";
import { Errno, fail } from "./errno.js";
import { pteMapsFrame, swapPte } from "../machine/pgtable.js";
import { anonVmaPrepare } from "./fault.js";
import { protLow, protHigh } from "./prot.js";
import { pageFlag } from "../machine/frames.js";

const PG_WRITEBACK = pageFlag("writeback");

/** The PTE marker type (SWP_PTE_MARKER: the last of the 32 swap types on x86-64). */
export const SWP_PTE_MARKER = 31;
/** PTE_MARKER_POISONED: a page swapoff could not read back; touching it is SIGBUS. */
export const PTE_MARKER_POISONED = 1 << 1;

/** Options of swapon. */
export interface SwaponOptions {
  /** swapon -p: -1..32767; default: the next lower priority (-2, -3, …). */
  priority?: number;
  /** What /proc/swaps calls it: a regular file (default) or a partition. */
  kind?: "file" | "partition";
  /** The block device (major, minor) error messages name; default 259:1. */
  dev?: readonly [number, number];
  /** A rotating disk: swap-in then uses cluster readahead instead of VMA readahead. Default false (an SSD). */
  rotational?: boolean;
  /**
   * The device's service times (a preset of SWAP_DEVICE_LATENCY or the numbers); default: the
   * backend's `latency`, else none (a major fault costs Linux.majorFaultCycles).
   */
  latency?: SwapLatency | SwapDevice;
}

/** What swapon and swapoff need of the kernel. */
export interface SwapKernel extends FaultContext {
  readonly swap: SwapSpace;
  readonly log: KernelLog;
  /** Every task; their address spaces are searched for the area's entries. */
  readonly processes: readonly { readonly mm: Mm | null }[];
}

/** sys_swapon: the area is added and announced in the kernel log, as swapon(8) makes the kernel say. */
export function sysSwapon(k: SwapKernel, path: string, backend: SwapBackend, opts: SwaponOptions = {}): number | Errno {
  const type = k.swap.swapon(path, backend, opts);
  if (type instanceof Errno) return type;
  const a = k.swap.areas[type]!;
  const kb = a.slots * 4;
  k.log.printk(KERN_INFO, `Adding ${kb}k swap on ${path}.  Priority:${a.priority} extents:1 across:${kb}k ${a.rotational ? "" : "SS"}`.trimEnd());
  return type;
}

/**
 * sys_swapoff → try_to_unuse. With `wait`, reads an asynchronous backend must finish are awaited
 * (the result is then a promise); without it, such a read makes the call return the promise it
 * would have to wait for, which the caller refuses.
 */
export function sysSwapoff(k: SwapKernel, path: string, wait: boolean): 0 | Errno | Promise<0 | Errno> {
  const a = k.swap.byPath(path);
  if (a === undefined) return fail("EINVAL", `swapoff: ${path} is not a swap area in use`);
  // The commitment must fit without this area: security_vm_enough_memory_mm for its pages (the
  // caller is swapoff(8), root, with no address space of the model's), given straight back.
  if (!k.commit.vmEnoughMemory(null, a.slots, { pid: 0, comm: "swapoff" })) return fail("ENOMEM", `swapoff: the memory committed (Committed_AS) would not fit in CommitLimit without ${path}`);
  k.commit.unacct(a.slots);
  a.writeOk = false; // del_from_avail_list: no new slots from it
  // try_to_unuse goes round again while slots are in use: reclaim, running to make room for the
  // pages coming back, may put a page still in this area's swap cache back into a PTE. A pass that
  // frees nothing means the pages do not fit.
  let before = Infinity;
  const finish = (r: 0 | Errno): 0 | Errno | Promise<0 | Errno> => {
    if (r === 0 && a.inuse !== 0) {
      if (a.inuse >= before) r = fail("ENOMEM", `swapoff: ${a.inuse} pages of ${path} do not fit in memory`);
      else { before = a.inuse; return run(); }
    }
    if (r !== 0) { a.writeOk = true; return r; } // reinsert_swap_info
    k.swap.remove(a.type);
    return closeBackend(k, a.backend, path, wait);
  };
  const run = (): 0 | Errno | Promise<0 | Errno> => {
    const r = unuseAll(k, a.type);
    if (!(r instanceof Promise)) return finish(r);
    if (!wait) { a.writeOk = true; return r.then(() => 0 as const); }
    return r.then(run);
  };
  return run();
}

/**
 * filp_close of the area's file once swapoff has emptied it: the backend lets go of what it holds.
 * swapoff has succeeded by then, so a failed close is logged, not returned. With `wait`, a close
 * that finishes later is awaited; without it, it finishes on its own.
 */
function closeBackend(k: SwapKernel, b: SwapBackend, path: string, wait: boolean): 0 | Promise<0> {
  const logged = (e: unknown): 0 => {
    k.log.printk(KERN_ERR, `swapoff: closing ${path}: ${e instanceof Error ? e.message : String(e)}`);
    return 0;
  };
  let c: void | Promise<void>;
  try {
    c = b.close?.();
  } catch (e) {
    return logged(e);
  }
  if (c === undefined) return 0;
  const closed = Promise.resolve(c).then(() => 0 as const, logged);
  return wait ? closed : 0;
}

/**
 * One pass of try_to_unuse over every address space and then the swap cache. @returns 0 when the
 * area holds nothing more, ENOMEM, or a read to wait for (then the pass is run again)
 */
function unuseAll(k: SwapKernel, type: number): 0 | Errno | Promise<void> {
  const seen = new Set<Mm>();
  for (const t of k.processes) {
    const mm = t.mm;
    if (mm === null || seen.has(mm)) continue;
    seen.add(mm);
    for (const v of mm.vmas.all) {
      if (v.anonVma === null && v.backing === null) continue;
      let result: 0 | Errno | Promise<void> = 0;
      mm.pt.walkRange(v.start, v.end, {
        pteEntry(w, i, addr) {
          const lo = w[i];
          const hi = w[i + 1];
          if ((lo | hi) === 0 || pteMapsFrame(lo)) return;
          const entry = pteSwapEntry(lo, hi);
          if (swpType(entry) !== type) return;
          const got = retryWithReclaim(k, () => k.swapOps.swapIn(lo, hi, mm, v, addr), (x) => x === null);
          if (got === null) { result = fail("ENOMEM", `swapoff: no memory for the page at 0x${addr.toString(16)} of an address space`); return 1; }
          if ("wait" in got) { result = got.wait.catch(() => undefined); return 1; }
          if ("error" in got) {
            // unuse_pte on a page that cannot be read: the PTE becomes a poison marker, the slot goes.
            const m = swapPte(SWP_PTE_MARKER, PTE_MARKER_POISONED);
            mm.pt.setPte(i, addr, m.lo, m.hi, "swap");
            mm.swapEnts--;
            k.swapOps.swap.area(entry).put(swpOffset(entry));
            k.log.printk(KERN_ERR, `swapoff: ${got.error}; the page at 0x${addr.toString(16)} is lost`);
            return;
          }
          if (v.anonVma === null) anonVmaPrepare(k, mm, v);
          // unuse_pte: mapped as the VMA's protection gives it, old and clean (copy-on-write stays armed).
          k.swapOps.mapIn(mm, v, addr, i, got.pfn, lo, protLow(v), protHigh(k, v), false, true);
          return;
        },
      });
      if (result !== 0) return result;
    }
  }
  // The swap cache's pages of the area that no PTE holds leave it (folio_free_swap).
  for (const [entry, pfn] of [...k.swap.cache]) {
    if (swpType(entry) !== type) continue;
    const f = k.frames;
    if (f.test(pfn, PG_WRITEBACK)) continue;
    if (f.mapcount(pfn) === 0) k.swapOps.freeSwapCache(pfn); else k.swapOps.freeSwap(pfn);
  }
  const a = k.swap.areas[type]!;
  if (a.inuse === 0) return 0;
  const writing = [...a.writing.values()];
  if (writing.length > 0) return Promise.all(writing).then(() => undefined);
  return 0;
}
