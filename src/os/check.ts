/**
 * Consistency checks of the kernel model (what CONFIG_DEBUG_VM's VM_BUG_ONs and page_mapcount
 * audits would catch): every PTE that maps a frame is in the reverse map and vice versa, every
 * frame's mapcount is its number of PTEs and its refcount those plus the page cache's reference,
 * rss counters match the PTEs, VMAs are ordered and page-aligned.
 *
 * Owns: nothing; reads everything. Cost is a walk of every address space: for tests and debugging.
 */
import type { Linux } from "./linux.js";
import type { Mm } from "./mm.js";
import { _PAGE_SPECIAL, ptePfn, pteMapsFrame } from "./mm.js";
import { pageFlag } from "../machine/frames.js";

/** @returns a description of each broken invariant (empty when all hold). */
export function checkInvariants(os: Linux): string[] {
  const problems: string[] = [];
  const seen = new Map<number, { mm: Mm; va: number }[]>();
  const d = os.machine.frames.descriptors;
  const allocated = pageFlag("allocated");
  for (const t of os.processes) {
    const mm = t.mm;
    if (mm === null) continue;
    let prevEnd = 0;
    let anon = 0;
    let file = 0;
    let shmem = 0;
    for (const v of mm.vmas.all) {
      if (v.start % 4096 !== 0 || v.end % 4096 !== 0 || v.start >= v.end) problems.push(`pid ${t.pid}: VMA ${v.start.toString(16)}-${v.end.toString(16)} is not a page-aligned non-empty range`);
      if (v.start < prevEnd) problems.push(`pid ${t.pid}: VMA at ${v.start.toString(16)} overlaps the one before`);
      prevEnd = v.end;
      mm.forEachPte(v.start, v.end, (va, pte) => {
        if (!pteMapsFrame(pte) || (pte & _PAGE_SPECIAL) !== 0n) return;
        const pfn = ptePfn(pte);
        if ((d[pfn * 8] & allocated) === 0) problems.push(`pid ${t.pid}: PTE at ${va.toString(16)} maps free frame ${pfn}`);
        let l = seen.get(pfn);
        if (l === undefined) seen.set(pfn, (l = []));
        l.push({ mm, va });
        if (os.rmap.isAnon(pfn)) anon++; else if (v.backing?.isShmem) shmem++; else file++;
      });
    }
    if (anon !== mm.rssAnon || file !== mm.rssFile || shmem !== mm.rssShmem) {
      problems.push(`pid ${t.pid}: rss counters anon/file/shmem ${mm.rssAnon}/${mm.rssFile}/${mm.rssShmem}, PTEs say ${anon}/${file}/${shmem}`);
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
    const ptes = seen.get(pfn) ?? [];
    if (ptes.length !== links.length) problems.push(`frame ${pfn}: ${links.length} rmap links but ${ptes.length} PTEs map it`);
    for (const l of links) if (!ptes.some((p) => p.mm === l.mm && p.va === l.va)) problems.push(`frame ${pfn}: rmap link to mm ${l.mm.id} at ${l.va.toString(16)} has no PTE`);
    if (os.rmap.mapcount(pfn) !== links.length) problems.push(`frame ${pfn}: mapcount ${os.rmap.mapcount(pfn)} ≠ ${links.length} mappings`);
    const want = links.length + (cached.has(pfn) ? 1 : 0);
    if (os.rmap.refcount(pfn) !== want) problems.push(`frame ${pfn}: refcount ${os.rmap.refcount(pfn)} ≠ ${want}`);
  }
  for (const pfn of seen.keys()) if (os.rmap.of(pfn).length === 0) problems.push(`frame ${pfn}: mapped by PTEs but not in the rmap`);
  for (const pfn of cached) if (os.rmap.of(pfn).length === 0 && os.rmap.refcount(pfn) !== 1) problems.push(`cached frame ${pfn}: refcount ${os.rmap.refcount(pfn)} ≠ 1 with no mappings`);
  return problems;
}
