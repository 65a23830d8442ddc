/**
 * Consistency checks of the kernel model (what CONFIG_DEBUG_VM's VM_BUG_ONs and page_mapcount
 * audits would catch): every PTE (or huge PMD) that maps a frame is in the reverse map and vice
 * versa, every frame's mapcount is its number of mappings and its refcount those plus the page
 * cache's and swap cache's references, rss counters match the page tables, VMAs are ordered and
 * page-aligned, no PTE lies outside a VMA, no mapping points at a free frame; each swap slot's
 * count is the number of PTEs holding its entry and its cache bit says whether the swap cache has
 * it, MM_SWAPENTS counts each mm's entries; every user page is on the LRU list its flags name,
 * and the lists' sizes add up; Committed_AS is the VM_ACCOUNT pages plus the shmem charges; every
 * page is on its memory group's lruvec, and each group's page counters equal what its subtree's
 * frames, page tables and swap slots are charged (checkMemcg).
 *
 * Owns: nothing; reads everything. Cost is a walk of every address space: for tests and debugging.
 */
import type { Linux } from "./linux.js";
import type { Mm } from "./mm.js";
import { PTE_SPECIAL, PTE_RW, PAGE_SIZE, ptePfn, pteMapsFrame } from "../machine/pgtable.js";
import { pageFlag } from "../machine/frames.js";
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, HPAGE_PMD_ORDER, pmdPfn } from "./huge.js";
import { pteSwapEntry, pteHoldsSwap } from "./swapops.js";
import { swpType, swpOffset } from "./swap.js";
import { lruListOf, NR_LRU_LISTS, LRU_NAMES } from "./lru.js";
import { VM_ACCOUNT } from "./proc/vmflags.js";

/** @returns a description of each broken invariant (empty when all hold). */
export function checkInvariants(os: Linux): string[] {
  const problems: string[] = [];
  const seen = new Map<number, { mm: Mm; va: number }[]>();
  /** Swap PTEs per entry. */
  const swapRefs = new Map<number, number>();
  const frames = os.frames;
  const allocated = pageFlag("allocated");
  const swapcache = pageFlag("swapcache");
  for (const t of os.processes) {
    const mm = t.mm;
    if (mm === null) continue;
    let prevEnd = 0;
    let anon = 0;
    let file = 0;
    let shmem = 0;
    let swapEnts = 0;
    let hugePmds = 0;
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
          const hi = w[i + 1];
          if (!pteMapsFrame(lo) && (lo | hi) !== 0 && pteHoldsSwap(hi)) {
            const e = pteSwapEntry(lo, hi);
            swapRefs.set(e, (swapRefs.get(e) ?? 0) + 1);
            swapEnts++;
            if (v.anonVma === null) problems.push(`pid ${t.pid}: swap entry at ${va.toString(16)} in a VMA without an anon_vma`);
            return;
          }
          if (!pteMapsFrame(lo) || (lo & PTE_SPECIAL) !== 0) return;
          note(ptePfn(lo, hi), va, 1, isShmem);
        },
        pmdEntry(w, i, va) {
          const head = pmdPfn(w[i], w[i + 1]);
          if (va % HPAGE_PMD_SIZE !== 0 || va < v.start || va + HPAGE_PMD_SIZE > v.end) problems.push(`pid ${t.pid}: huge PMD at ${va.toString(16)} is not a whole 2 MiB inside its VMA`);
          if (!mm.deposits.has(va - (va % HPAGE_PMD_SIZE))) problems.push(`pid ${t.pid}: huge PMD at ${va.toString(16)} has no deposited page table`);
          if (os.thp.isHugeZero(head)) {
            hugePmds++;
            if ((w[i] & PTE_RW) !== 0) problems.push(`pid ${t.pid}: the huge zero page is mapped writable at ${va.toString(16)}`);
            return;
          }
          hugePmds++;
          if (frames.order(head) === HPAGE_PMD_ORDER) { note(head, va, HPAGE_PMD_NR, isShmem); return; }
          // A PMD over a folio split under it: 512 frames, each mapped (and linked) on its own.
          for (let k = 0; k < HPAGE_PMD_NR; k++) note(head + k, va + k * PAGE_SIZE, 1, isShmem);
          if ((w[i] & PTE_RW) !== 0) problems.push(`pid ${t.pid}: the huge PMD at ${va.toString(16)} over a split folio is writable`);
        },
      });
    }
    mm.pt.walkRange(prevEnd, mm.taskSize, {
      pteEntry(w, i, va) { if ((w[i] | w[i + 1]) !== 0) problems.push(`pid ${t.pid}: PTE at ${va.toString(16)} lies outside every VMA`); },
      pmdEntry(_w, _i, va) { problems.push(`pid ${t.pid}: huge PMD at ${va.toString(16)} lies outside every VMA`); },
    });
    // pgtable_trans_huge_deposit: one table deposited per huge PMD, none left behind.
    if (hugePmds !== mm.deposits.size) problems.push(`pid ${t.pid}: ${mm.deposits.size} page tables deposited for ${hugePmds} huge PMDs`);
    if (swapEnts !== mm.swapEnts) problems.push(`pid ${t.pid}: MM_SWAPENTS ${mm.swapEnts}, page tables hold ${swapEnts} swap entries`);
    if (anon !== mm.rssAnon || file !== mm.rssFile || shmem !== mm.rssShmem) {
      problems.push(`pid ${t.pid}: rss counters anon/file/shmem ${mm.rssAnon}/${mm.rssFile}/${mm.rssShmem}, page tables say ${anon}/${file}/${shmem}`);
    }
  }
  const hz = os.thp.hugeZeroPfn;
  if (hz !== null && (frames.flags(hz) & allocated) === 0) problems.push(`the huge zero page ${hz} is a free frame`);
  for (const [pfn, head] of os.thp.folioOf) {
    if ((frames.flags(pfn) & allocated) === 0 || !frames.isAnon(pfn)) problems.push(`frame ${pfn}: counted in the split folio at ${head} but not an allocated anonymous page`);
  }
  const holders = new Map<number, number>();
  for (const t of os.processes) for (const v of t.mm?.vmas.all ?? []) if (v.backing !== null) holders.set(v.backing.id, (holders.get(v.backing.id) ?? 0) + 1);
  for (const b of os.cache.objects.values()) {
    const n = holders.get(b.id) ?? 0;
    if (b.mappers !== n) problems.push(`${b.path} (object ${b.id}): mappers ${b.mappers} ≠ ${n} VMAs mapping it`);
  }
  // vm_committed_as: the pages of every VM_ACCOUNT VMA plus each live shmem object's charge.
  let accounted = 0;
  for (const t of os.processes) for (const v of t.mm?.vmas.all ?? []) if (v.flags & VM_ACCOUNT) accounted += v.pages;
  let shmemCharged = 0;
  for (const b of os.cache.objects.values()) if (b.isShmem) shmemCharged += os.commit.shmemCharge(b);
  if (os.commit.shmemPages !== shmemCharged) problems.push(`commit: ${os.commit.shmemPages} pages charged for shmem objects, ${shmemCharged} for the live ones`);
  if (os.commit.committedPages !== accounted + shmemCharged) problems.push(`Committed_AS ${os.commit.committedPages} pages ≠ ${accounted} VM_ACCOUNT pages + ${shmemCharged} shmem pages`);
  const cached = new Set<number>();
  for (const b of os.cache.objects.values()) for (const pfn of b.pages.values()) cached.add(pfn);
  for (const [pfn, links] of os.rmap.entries()) {
    const maps = seen.get(pfn) ?? [];
    if (maps.length !== links.length) problems.push(`frame ${pfn}: ${links.length} rmap links but ${maps.length} page-table entries map it`);
    for (const l of links) if (!maps.some((p) => p.mm === l.mm && p.va === l.va)) problems.push(`frame ${pfn}: rmap link to mm ${l.mm.id} at ${l.va.toString(16)} has no PTE`);
    if (frames.mapcount(pfn) !== links.length) problems.push(`frame ${pfn}: mapcount ${frames.mapcount(pfn)} ≠ ${links.length} mappings`);
    const want = links.length + (cached.has(pfn) ? 1 : 0) + (frames.test(pfn, swapcache) ? 1 : 0);
    if (frames.refcount(pfn) !== want) problems.push(`frame ${pfn}: refcount ${frames.refcount(pfn)} ≠ ${want}`);
  }
  for (const pfn of seen.keys()) if (os.rmap.of(pfn).length === 0) problems.push(`frame ${pfn}: mapped by page tables but not in the rmap`);
  for (const pfn of cached) if (os.rmap.of(pfn).length === 0 && frames.refcount(pfn) !== 1) problems.push(`cached frame ${pfn}: refcount ${frames.refcount(pfn)} ≠ 1 with no mappings`);
  const anonInUse = os.stat.nr_anon_pages;
  let anonFrames = 0;
  for (let pfn = 0; pfn < frames.count; pfn++) if ((frames.flags(pfn) & allocated) !== 0 && frames.isAnon(pfn) && frames.mapcount(pfn) > 0) anonFrames += 1 << frames.order(pfn);
  if (anonFrames !== anonInUse) problems.push(`nr_anon_pages ${anonInUse} ≠ ${anonFrames} anonymous frames mapped`);
  checkSwap(os, swapRefs, problems);
  checkLru(os, cached, problems);
  checkMemcg(os, problems);
  return problems;
}

/** Swap slots against the PTEs that hold them and the swap cache. */
function checkSwap(os: Linux, swapRefs: Map<number, number>, problems: string[]): void {
  const frames = os.frames;
  const swapcache = pageFlag("swapcache");
  for (const [entry, n] of swapRefs) {
    const a = os.swap.areas[swpType(entry)];
    if (a === null || a === undefined) { problems.push(`swap entry ${swpType(entry)}:${swpOffset(entry)} held by ${n} PTEs names no area`); continue; }
    if (a.count(swpOffset(entry)) !== n) problems.push(`swap slot ${a.type}:${swpOffset(entry)}: count ${a.count(swpOffset(entry))} ≠ ${n} PTEs holding it`);
  }
  for (const a of os.swap.areas) {
    if (a === null) continue;
    let inuse = 0;
    for (let off = 1; off < a.map.length; off++) {
      if (a.map[off] === 0) continue;
      inuse++;
      const entry = (a.type << 27 | off) >>> 0;
      if (a.count(off) !== (swapRefs.get(entry) ?? 0)) problems.push(`swap slot ${a.type}:${off}: count ${a.count(off)} but ${swapRefs.get(entry) ?? 0} PTEs hold it`);
      if (a.hasCache(off) !== os.swap.cache.has(entry)) problems.push(`swap slot ${a.type}:${off}: SWAP_HAS_CACHE ${a.hasCache(off)} but the swap cache ${os.swap.cache.has(entry) ? "has" : "lacks"} it`);
    }
    if (inuse !== a.inuse) problems.push(`${a.path}: inuse ${a.inuse} ≠ ${inuse} slots in use`);
  }
  for (const [entry, pfn] of os.swap.cache) {
    if (!frames.test(pfn, swapcache) || frames.swapEntry(pfn) !== entry) problems.push(`swap cache: entry ${swpType(entry)}:${swpOffset(entry)} → frame ${pfn}, which is not that entry's swap-cache page`);
  }
}

/** Every user page on the list its flags name; list sizes add up; nothing else on a list. */
function checkLru(os: Linux, cached: Set<number>, problems: string[]): void {
  const frames = os.frames;
  const onList = new Set<number>();
  for (const v of os.reclaim.lruvecs) for (let lru = 0; lru < NR_LRU_LISTS; lru++) {
    let pages = 0;
    for (const pfn of v.pagesOn(lru)) {
      if (frames.memcg(pfn) !== v.id) problems.push(`frame ${pfn} of memory group ${frames.memcg(pfn)} is on lruvec ${v.id}`);
      if (onList.has(pfn)) { problems.push(`frame ${pfn} is on an LRU list twice`); break; }
      onList.add(pfn);
      pages += 1 << frames.order(pfn);
      if (lruListOf(frames, pfn) !== lru) problems.push(`frame ${pfn} is on ${LRU_NAMES[lru]} but its flags say ${LRU_NAMES[lruListOf(frames, pfn)]}`);
      if (!frames.test(pfn, pageFlag("lru"))) problems.push(`frame ${pfn} is on ${LRU_NAMES[lru]} without PG_lru`);
      if (!frames.test(pfn, pageFlag("allocated"))) problems.push(`free frame ${pfn} is on ${LRU_NAMES[lru]}`);
    }
    if (pages !== v.size[lru]) problems.push(`${LRU_NAMES[lru]}: size ${v.size[lru]} ≠ ${pages} pages on it`);
  }
  const locked = pageFlag("locked");
  const user = (pfn: number) => frames.isAnon(pfn) || cached.has(pfn);
  for (const [pfn] of os.rmap.entries()) if (user(pfn) && !onList.has(pfn) && !frames.test(pfn, locked)) problems.push(`mapped frame ${pfn} is on no LRU list`);
  for (const pfn of cached) if (!onList.has(pfn) && !frames.test(pfn, locked)) problems.push(`page-cache frame ${pfn} is on no LRU list`);
  for (const pfn of os.swap.cache.values()) if (!onList.has(pfn) && !frames.test(pfn, locked)) problems.push(`swap-cache frame ${pfn} is on no LRU list`);
}

/**
 * Memory groups: each frame's group exists; a group's own page-table pages and swap records are
 * what its frames and swap_cgroup say; every counter equals what its subtree is charged — memory:
 * pages + page tables (the root's: its children's, it charges nothing of its own), v1 memsw: those
 * + swapped-out slots, v1 kmem: page tables, v2 swap: slots; every swap record names a slot in
 * use, and in v2 every slot in use has one; the task lists match the tasks' groups.
 */
function checkMemcg(os: Linux, problems: string[]): void {
  const cg = os.cgroups;
  const frames = os.frames;
  const allocated = pageFlag("allocated");
  const tail = pageFlag("tail");
  const table = pageFlag("table");
  const own = new Map<number, { pages: number; kmem: number; swap: number }>();
  for (const g of cg.groups()) own.set(g.id, { pages: 0, kmem: 0, swap: 0 });
  for (let pfn = 0; pfn < frames.count; pfn++) {
    if ((frames.flags(pfn) & allocated) === 0 || (frames.flags(pfn) & tail) !== 0) continue;
    const id = frames.memcg(pfn);
    if (id === 0) continue;
    const o = own.get(id);
    if (o === undefined) { problems.push(`frame ${pfn} is charged to memory group ${id}, which does not exist`); continue; }
    if (cg.swappedOut.has(pfn)) continue;
    if ((frames.flags(pfn) & table) !== 0) o.kmem += 1 << frames.order(pfn); else o.pages += 1 << frames.order(pfn);
  }
  for (const [entry, id] of cg.swapCgroup) {
    const o = own.get(id);
    if (o === undefined) { problems.push(`swap record ${swpType(entry)}:${swpOffset(entry)} names memory group ${id}, which does not exist`); continue; }
    o.swap++;
    const a = os.swap.areas[swpType(entry)];
    if (a === null || a === undefined || a.map[swpOffset(entry)] === 0) problems.push(`swap record ${swpType(entry)}:${swpOffset(entry)} (group ${id}) is for a free slot`);
  }
  if (cg.version === "v2") {
    for (const a of os.swap.areas) {
      if (a === null) continue;
      for (let off = 1; off < a.map.length; off++) if (a.map[off] !== 0 && !cg.swapCgroup.has((a.type << 27 | off) >>> 0)) problems.push(`swap slot ${a.type}:${off} is in use but charged to no memory group`);
    }
  }
  for (const g of cg.groups()) {
    const o = own.get(g.id) as { pages: number; kmem: number; swap: number };
    if (!g.isRoot && g.kmemPages !== o.kmem) problems.push(`${g.path}: kmem pages ${g.kmemPages} ≠ ${o.kmem} page tables charged to it`);
    if (g.swapRecords !== o.swap) problems.push(`${g.path}: swap records ${g.swapRecords} ≠ ${o.swap} in swap_cgroup`);
    const sub = g.isRoot ? g.subtree().slice(1) : g.subtree();
    const sum = { pages: 0, kmem: 0, swap: 0 };
    for (const x of sub) { const y = own.get(x.id)!; sum.pages += y.pages; sum.kmem += y.kmem; sum.swap += y.swap; }
    const want = (name: string, have: number, expect: number) => { if (have !== expect) problems.push(`${g.path}: ${name} usage ${have} pages ≠ ${expect} charged to its subtree`); };
    want("memory", g.memory.usage, sum.pages + sum.kmem);
    if (cg.version === "v1") {
      want("memsw", g.memsw.usage, sum.pages + sum.kmem + sum.swap);
      want("kmem", g.kmem.usage, sum.kmem);
    } else {
      want("swap", g.swap.usage, sum.swap);
    }
    for (const t of g.tasks) if (!t.alive || (t.memcg ?? cg.root) !== g) problems.push(`${g.path}: lists pid ${t.pid}, which is ${t.alive ? `in ${t.memcgPath}` : "dead"}`);
  }
  for (const t of os.processes) if (!(t.memcg ?? cg.root).tasks.includes(t)) problems.push(`pid ${t.pid} is in ${t.memcgPath} but not on its task list`);
}
