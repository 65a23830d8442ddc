/**
 * Where the playground's /swapfile lives: host memory (MemorySwapBackend, the default) or the
 * browser's storage (OpfsSwapBackend: an OPFS file held by a worker). Switching swaps the area off
 * (every page comes back into memory, waiting for the old backend's reads) and on again over the
 * new backend, at the same size. The OPFS backend is asynchronous, so the pages go out and come
 * back through the model's async paths (MADV_PAGEOUT, then readAsync): `swapRoundTrip` does that
 * for a process of its own and checks every byte.
 *
 * Owns: the current backend choice.
 */
import type { Shell } from "../../shell/engine.js";
import { OpfsSwapBackend } from "../opfsswap.js";
import { isErrno } from "../../os/errno.js";
import { MAP_PRIVATE, MAP_ANONYMOUS, MADV_PAGEOUT } from "../../os/mmap.js";
import { PROT_READ, PROT_WRITE } from "../../os/vma.js";

const SWAPFILE = "/swapfile";
const OPFS_NAME = "wasmmu-swapfile";
const PAGE = 4096;

/** The choices of the page's swap toggle. */
export type SwapStore = "memory" | "opfs";

/** The bytes of the swap area now (the size /proc/swaps shows, header page included). */
function areaBytes(shell: Shell): number {
  const a = shell.linux.swap.areas.find((x) => x !== null && x.path === SWAPFILE);
  return a === undefined || a === null ? 64 << 20 : a.backend.pages * PAGE;
}

/**
 * Move /swapfile to `store`. @returns the OPFS backend when that is the new home (its I/O counts
 * are shown), else null
 */
export async function setSwapStore(shell: Shell, store: SwapStore): Promise<OpfsSwapBackend | null> {
  const bytes = areaBytes(shell);
  const off = await shell.linux.swapoffAsync(SWAPFILE);
  if (isErrno(off) && off.code !== "EINVAL") throw new Error(`swapoff ${SWAPFILE}: ${off.toString()}`);
  const backend = store === "opfs" ? await OpfsSwapBackend.open(OPFS_NAME, bytes, "opfs-swap-worker.js") : { bytes };
  const on = shell.linux.swapon(SWAPFILE, backend);
  if (on !== 0) throw new Error(`swapon ${SWAPFILE}: ${String(on)}`);
  return backend instanceof OpfsSwapBackend ? backend : null;
}

/** The bytes of page `i`: every byte depends on the page, so a page read back in the wrong place shows. */
function pattern(i: number): Uint8Array {
  const b = new Uint8Array(PAGE);
  let x = (i * 0x9e3779b1 + 1) >>> 0;
  for (let k = 0; k < PAGE; k++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[k] = x & 0xff; }
  return b;
}

/** What a round trip did: pages written, counted out and back in /proc/vmstat, and pages whose bytes differ. */
export interface SwapRoundTrip {
  pages: number;
  pswpout: number;
  pswpin: number;
  mismatches: number;
}

const vmstat = (shell: Shell, key: string) => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(shell.proc.read("/proc/vmstat", shell.pid))?.[1] ?? NaN);

/**
 * A process of its own writes `pages` pages of a pattern, pushes them to swap (MADV_PAGEOUT, the
 * writes awaited, then the swap-cache pages reclaimed as kswapd would), reads every page back (a
 * major fault each, waiting for the backend) and compares it with what it wrote; then exits.
 */
export async function swapRoundTrip(shell: Shell, pages = 64): Promise<SwapRoundTrip> {
  const os = shell.linux;
  const t = os.spawn({}, { name: "swaptest", cpu: 1 });
  try {
    const a = t.mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (isErrno(a)) throw new Error(`mmap: ${a.toString()}`);
    for (let i = 0; i < pages; i++) {
      const r = await t.writeAsync(a + BigInt(i * PAGE), pattern(i));
      if (!r.ok) throw new Error(`write of page ${i}: ${r.signal.name}`);
    }
    const out0 = vmstat(shell, "pswpout");
    const in0 = vmstat(shell, "pswpin");
    const adv = t.madvise(a, pages * PAGE, MADV_PAGEOUT);
    if (adv !== 0) throw new Error(`madvise(MADV_PAGEOUT): ${String(adv)}`);
    for (;;) {
      const w = os.swap.areas.flatMap((x) => (x === null ? [] : [...x.writing.values()]));
      if (w.length === 0) break;
      await Promise.all(w);
    }
    os.reclaim.pageout([...os.swap.cache.values()]);
    const pswpout = vmstat(shell, "pswpout") - out0;
    let mismatches = 0;
    for (let i = 0; i < pages; i++) {
      const r = await t.readAsync(a + BigInt(i * PAGE), PAGE);
      if (!r.ok) throw new Error(`read of page ${i}: ${r.signal.name}`);
      const want = pattern(i);
      if (r.bytes.some((b, k) => b !== want[k])) mismatches++;
    }
    return { pages, pswpout, pswpin: vmstat(shell, "pswpin") - in0, mismatches };
  } finally {
    t.exit(0);
  }
}
