/**
 * `--premap`: before counting, map every page the replay will touch — present, accessed and dirty,
 * with accessed tables above it — so the replay takes no fault and no walk sets an A or D bit:
 * what a TLB study of a warmed-up process wants (its working set resident and already used).
 * One pass over the records the replay will take (after --skip, up to --limit, warm-up included),
 * before the replay; a record that straddles a page boundary maps both pages. Non-canonical
 * addresses are left alone (the replay skips them with #GP, as always).
 *
 * Owns: the pre-pass. The mapping itself is DemandMapper's (accessedDirty).
 */
import type { DemandMapper } from "../machine/replay.js";
import type { OpenedInput } from "./input.js";

const PAGE_SHIFT = 12;
const PAGE_BYTES = 1 << PAGE_SHIFT;
const TWO_POW_32 = 4294967296;

/**
 * Whether an address given as 32-bit halves is canonical under `levels`-level paging (bits 63..47,
 * or 63..56 with 5 levels, all equal).
 */
export function canonicalHalves(hi: number, levels: 4 | 5): boolean {
  const top = levels === 5 ? hi >>> 24 : hi >>> 15;
  return top === 0 || top === (levels === 5 ? 0xff : 0x1ffff);
}

/**
 * Map every page `input`'s records touch (the window `o` replays) in CPU `cpu`'s address space.
 * Closes the input.
 * @param spaces per CPU, its address space (pages are told apart per space)
 * @returns pages (or 2 MiB regions) mapped, and what ran out when the RAM was too small (null when all fit)
 */
export async function premapPages(input: OpenedInput, mapper: DemandMapper, o: { skip: number; limit: number | null; cpus: number; pages: "4k" | "2m" | "thp" },
  levels: 4 | 5, spaces: readonly number[]): Promise<{ pages: number; outOfMemory: string | null }> {
  const seen = spaces.map(() => new Set<number>());
  // With 2 MiB pages the mapper maps a whole 2 MiB region at its first page: one call per region.
  const group = o.pages === "4k" ? 1 : 512;
  let pages = 0;
  let records = 0;
  let taken = 0;
  const touch = (page4k: number, cpu: number): boolean => {
    const set = seen[spaces[cpu]];
    const key = Math.floor(page4k / group);
    if (set.has(key)) return true;
    set.add(key);
    pages++;
    const page = key * group;
    const lo = (page % (TWO_POW_32 / PAGE_BYTES)) * PAGE_BYTES;
    const hi = Math.floor(page / (TWO_POW_32 / PAGE_BYTES));
    return mapper.mapHalves(lo >>> 0, hi >>> 0, cpu);
  };
  try {
    read: for await (const chunk of input.chunks) {
      for (let i = 0; i < chunk.count; i++, records++) {
        if (records < o.skip) continue;
        if (o.limit !== null && taken >= o.limit) break read;
        taken++;
        const hi = chunk.hi[i];
        if (!canonicalHalves(hi, levels)) continue;
        const lo = chunk.lo[i];
        const cpu = chunk.cpu[i] % o.cpus;
        const page = hi * (TWO_POW_32 / PAGE_BYTES) + (lo >>> PAGE_SHIFT);
        if (!touch(page, cpu)) return { pages, outOfMemory: "there is not enough RAM to map every page the trace touches" };
        const end = (lo & (PAGE_BYTES - 1)) + Math.max(1, chunk.size[i]);
        if (end > PAGE_BYTES && canonicalHalves(Math.floor((page + 1) / (TWO_POW_32 / PAGE_BYTES)) >>> 0, levels) && !touch(page + 1, cpu)) {
          return { pages, outOfMemory: "there is not enough RAM to map every page the trace touches" };
        }
      }
    }
  } finally {
    await input.close();
  }
  return { pages, outOfMemory: null };
}
