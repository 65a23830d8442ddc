// One anonymous page's life under memory pressure: mapped, aged by reclaim, swapped out, read back
// by a major fault, kept in the swap cache, freed — as pagemap, the PTE and its frame show it.
// Run: node examples/linux/page-life.mjs
import { Machine, Linux, ProcFs, mman, PROT_READ, PROT_WRITE, decodePagemapEntry } from "wasmmu";

const machine = await Machine.create({ ram: "16MiB" });
const linux = Linux.boot(machine);
linux.swapon("/swapfile", { bytes: 128 << 20 });
const proc = new ProcFs(linux);
const p = linux.spawn({ name: "page-life" });
const anon = mman.MAP_PRIVATE | mman.MAP_ANONYMOUS;
const rw = PROT_READ | PROT_WRITE;
const page = (base, i) => base + BigInt(i * 4096);
const va = p.mmap(0, 4096, rw, anon);                 // the page we follow
// The rest of the program: a hot set it keeps reading (half the RAM) and a stream it writes once
// and moves on (twice the RAM): the stream makes reclaim run, the hot set keeps the active list full.
const HOT = 2000, STREAM = 8192;
const hot = p.mmap(0, HOT * 4096, rw, anon);
const stream = p.mmap(0, STREAM * 4096, rw, anon);
for (let i = 0; i < HOT; i++) p.write(page(hot, i), "hot");
let streamed = 0;
/** One round of the program's work: read the hot set, write 1024 more pages of the stream. */
function work() {
  for (let i = 0; i < HOT; i++) p.read(page(hot, i), 1);
  for (let i = 0; i < 1024; i++) p.write(page(stream, streamed++ % STREAM), "stream");
}
const LRU = ["inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"];
const SHOWN = ["lru", "active", "referenced", "workingset", "swapbacked", "swapcache", "dirty"];
let frame = null;

/** /proc/<pid>/pagemap's entry for the page (a swapped page: bit 62, swap type in bits 0-4, offset from bit 5). */
function pagemap() {
  return proc.pagemapEntries(p.pid, va, va + 4096n)[0];
}

/** The page as pagemap, its PTE and its frame descriptor (struct page) show it. */
function state() {
  const entry = pagemap();
  const pm = decodePagemapEntry(entry);
  const s = { entry, pm, pfn: null, pte: "", list: "", flags: "" };
  if (pm.present) {
    s.pfn = frame = Number(pm.pfn);
    const pte = machine.walk(va, { cpl: 3, probe: true }).levels.at(-1).flags;
    s.pte = `A=${+pte.accessed} D=${+pte.dirty}`;
    s.list = LRU[linux.reclaim.listOf(s.pfn)] ?? "-";
    s.flags = machine.frames.descriptor(s.pfn).flags.filter((f) => SHOWN.includes(f)).join(" ");
  }
  return s;
}

function show(step, note = "") {
  const s = state();
  const hex = `0x${s.entry.toString(16).padStart(16, "0")}`;
  const where = s.pm.present ? `present, pfn 0x${s.pfn.toString(16)}`
    : s.pm.swapped ? `swapped: type ${s.pm.swapType}, offset ${s.pm.swapOffset}` : "not mapped";
  console.log(`${step.padEnd(12)} ${hex}  ${where.padEnd(28)} ${s.pte.padEnd(7)} ${s.list.padEnd(13)} ${s.flags}`.trimEnd());
  if (note) console.log(`${"".padEnd(13)}${note}`);
  return s;
}

/** Run rounds of work (touching our page too when `touch`) until `done(state)`. @returns the rounds */
function until(done, touch) {
  for (let round = 1; round <= 64; round++) {
    work();
    if (touch) p.read(va, 1);
    if (done(state())) return round;
  }
  throw new Error("the page never got there");
}

console.log("pagemap bits: 63 present, 62 swapped (then bits 0-4 swap type, 5-54 swap offset), 56 mapped exclusively\n");
console.log(`${"step".padEnd(12)} ${"pagemap entry".padEnd(18)}  ${"".padEnd(28)} ${"PTE".padEnd(7)} ${"LRU list".padEnd(13)} page flags`);
p.write(va, "hello from a page");
show("mapped", "a write fault gave it a zeroed frame; new anonymous pages start on the inactive list");

// In use while reclaim runs: reclaim finds its PTE's Accessed bit set on two visits (clearing it
// each time) and activates it.
let rounds = until((s) => s.list === "active_anon", true);
show("hot", `read in each of ${rounds} rounds of work: seen referenced twice by reclaim, activated`);

// Not touched any more. The active list is aged when it outgrows the inactive one: the page comes
// off its tail, Accessed bit cleared, PG_workingset set (it was part of the working set).
rounds = until((s) => s.list === "inactive_anon", false);
show("aged", `${rounds} rounds untouched: reclaim aged it back to the inactive list`);

// Still untouched when reclaim reaches it there: a swap slot, the bytes written to it, the PTE
// replaced by the swap entry, the frame freed.
rounds = until((s) => s.pm.swapped, false);
const wasFrame = frame;
const slot = state().pm;
const out = show("swapped out", `${rounds} rounds later: reclaim wrote frame 0x${wasFrame.toString(16)} to slot ${slot.swapOffset} of swap area ${slot.swapType} and freed the frame`);
const area = linux.swap.areas[out.pm.swapType];
const off = Number(out.pm.swapOffset);

// Read again: a major fault reads the slot into a new frame, through the swap cache.
const maj = p.majFlt;
const text = new TextDecoder().decode(p.read(va, 17).bytes);
const back = show("swapped in", `read "${text}" back: ${p.majFlt - maj} major fault, a new frame; evicted recently enough to be part of the working set, so active at once`);
const cached = /^nr_swapcached +\d+$/m.exec(proc.vmstat())[0];
console.log(`${"".padEnd(13)}still in the swap cache (PG_swapcache; ${cached} in /proc/vmstat): slot ${off} keeps its copy`);
console.log(`${"".padEnd(13)}(${area.count(off)} PTE references, SWAP_HAS_CACHE ${area.hasCache(off) ? "set" : "clear"}), so evicting the clean page again needs no write`);

// munmap: the PTE goes, and with it the frame and the swap copy.
p.munmap(va, 4096);
show("freed", `munmap: frame 0x${back.pfn.toString(16)} ${machine.frames.descriptor(back.pfn).flags.includes("buddy") ? "back in the buddy allocator" : "freed"}, slot ${off} ${area.count(off) === 0 && !area.hasCache(off) ? "free" : "still held"}, ${/^nr_swapcached +\d+$/m.exec(proc.vmstat())[0]}`);
