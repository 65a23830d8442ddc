/**
 * Consistency checks of the kernel model (what CONFIG_DEBUG_VM's VM_BUG_ONs and page_mapcount
 * audits would catch): every PTE (or huge PMD) that maps a frame is in the reverse map and vice
 * versa, every frame's mapcount is its number of mappings and its refcount those plus the page
 * cache's reference, rss counters match the page tables, VMAs are ordered and page-aligned, no
 * PTE lies outside a VMA, no mapping points at a free frame.
 *
 * Owns: nothing; reads everything. Cost is a walk of every address space: for tests and debugging.
 */
import type { Linux } from "./linux.js";
import type { Mm } from "./mm.js";
import { PTE_SPECIAL, PAGE_SIZE, ptePfn, pteMapsFrame } from "../machine/pgtable.js";
import { pageFlag } from "../machine/frames.js";
import { HPAGE_PMD_NR, pmdPfn } from "./huge.js";

/** @returns a description of each broken invariant (empty when all hold). */
export function checkInvariants(os: Linux): string[] {
  const problems: string[] = [];
  const seen = new Map<number, { mm: Mm; va: number }[]>();
  const frames = os.frames;
  const allocated = pageFlag("allocated");
  for (const t of os.processes) {
    const mm = t.mm;
    if (mm === null) continue;
    let prevEnd = 0;
    let anon = 0;
    let file = 0;
    let shmem = 0;
    const note = (pfn: number, va: number, pages: number, isShmem: boolean): void => {
      if ((frames.flags(pfn) & allocated) === 0) problems.push(`pid ${t.pid}: mapping at ${va.toString(16)} maps free frame ${pfn}`);
      let l = seen.get(pfn);
      if (l === undefined) seen.set(pfn, (l = []));
      l.push({ mm, va });
      if (frames.isAnon(pfn)) anon += pages; else if (isShmem) shmem += pages; else file += pages;
    };
    for (const v of mm.vmas.all) {
      if (v.start % PAGE_SIZE !== 0 || v.end % PAGE_SIZE !== 0 || v.start >= v.end) problems.push(`pid ${t.pid}: VMA ${v.start.toString(16)}-${v.end.toString(16)} is not a page-aligned non-empty range`);
      if (v.start < prevEnd) problems.push(`pid ${t.pid}: VMA at ${v.start.toString(16)} overlaps the one before`);
      // Gaps between VMAs must map nothing.
      mm.pt.walkRange(prevEnd, v.start, {
        pteEntry(w, i, va) { if ((w[i] | w[i + 1]) !== 0) problems.push(`pid ${t.pid}: PTE at ${va.toString(16)} lies outside every VMA`); },
        pmdEntry(_w, _i, va) { problems.push(`pid ${t.pid}: huge PMD at ${va.toString(16)} lies outside every VMA`); },
      });
      prevEnd = v.end;
      const isShmem = v.backing?.isShmem === true;
      mm.pt.walkRange(v.start, v.end, {
        pteEntry(w, i, va) {
          const lo = w[i];
          if (!pteMapsFrame(lo) || (lo & PTE_SPECIAL) !== 0) return;
          note(ptePfn(lo, w[i + 1]), va, 1, isShmem);
        },
        pmdEntry(w, i, va) {
          note(pmdPfn(w[i], w[i + 1]), va, HPAGE_PMD_NR, isShmem);
        },
      });
    }
    mm.pt.walkRange(prevEnd, mm.taskSize, {
      pteEntry(w, i, va) { if ((w[i] | w[i + 1]) !== 0) problems.push(`pid ${t.pid}: PTE at ${va.toString(16)} lies outside every VMA`); },
      pmdEntry(_w, _i, va) { problems.push(`pid ${t.pid}: huge PMD at ${va.toString(16)} lies outside every VMA`); },
    });
    if (anon !== mm.rssAnon || file !== mm.rssFile || shmem !== mm.rssShmem) {
      problems.push(`pid ${t.pid}: rss counters anon/file/shmem ${mm.rssAnon}/${mm.rssFile}/${mm.rssShmem}, page tables say ${anon}/${file}/${shmem}`);
    }
  }
  const holders = new Map<number, number>();
  for (const t of os.processes) for (const v of t.mm?.vmas.all ?? []) if (v.backing !== null) holders.set(v.backing.id, (holders.get(v.backing.id) ?? 0) + 1);
  for (const b of os.cache.objects.values()) {
    const n = holders.get(b.id) ?? 0;
    if (b.mappers !== n) problems.push(`${b.path} (object ${b.id}): mappers ${b.mappers} ≠ ${n} VMAs mapping it`);
  }
  const cached = new Set<number>();
  for (const b of os.cache.objects.values()) for (const pfn of b.pages.values()) cached.add(pfn);
  for (const [pfn, links] of os.rmap.entries()) {
    const maps = seen.get(pfn) ?? [];
    if (maps.length !== links.length) problems.push(`frame ${pfn}: ${links.length} rmap links but ${maps.length} page-table entries map it`);
    for (const l of links) if (!maps.some((p) => p.mm === l.mm && p.va === l.va)) problems.push(`frame ${pfn}: rmap link to mm ${l.mm.id} at ${l.va.toString(16)} has no PTE`);
    if (frames.mapcount(pfn) !== links.length) problems.push(`frame ${pfn}: mapcount ${frames.mapcount(pfn)} ≠ ${links.length} mappings`);
    const want = links.length + (cached.has(pfn) ? 1 : 0);
    if (frames.refcount(pfn) !== want) problems.push(`frame ${pfn}: refcount ${frames.refcount(pfn)} ≠ ${want}`);
  }
  for (const pfn of seen.keys()) if (os.rmap.of(pfn).length === 0) problems.push(`frame ${pfn}: mapped by page tables but not in the rmap`);
  for (const pfn of cached) if (os.rmap.of(pfn).length === 0 && frames.refcount(pfn) !== 1) problems.push(`cached frame ${pfn}: refcount ${frames.refcount(pfn)} ≠ 1 with no mappings`);
  const anonInUse = os.stat.nr_anon_pages;
  let anonFrames = 0;
  for (let pfn = 0; pfn < frames.count; pfn++) if ((frames.flags(pfn) & allocated) !== 0 && frames.isAnon(pfn)) anonFrames += 1 << frames.order(pfn);
  if (anonFrames !== anonInUse) problems.push(`nr_anon_pages ${anonInUse} ≠ ${anonFrames} anonymous frames allocated`);
  return problems;
}
