// mmap of a file: pages come through the page cache (the first fault is major and reads 32 pages
// around it from the "disk", the next maps the cached neighbours), and a second process mapping
// the same file shares the very same frames — how shared libraries work.
// Run: node examples/linux/file-sharing.mjs
import { Machine, Linux, ProcFs, mman, PROT_READ, PROT_EXEC } from "wasmmu";

const linux = Linux.boot(await Machine.create({ ram: "256MiB" }));
const proc = new ProcFs(linux);
const lib = linux.addFile("/usr/lib/libdemo.so", new Uint8Array(64 * 4096).fill(0x90));
const pages = 16;
const rx = PROT_READ | PROT_EXEC;

const a = linux.spawn({ name: "first" });
const va = a.mmap(0, pages * 4096, rx, mman.MAP_PRIVATE, { file: lib });
for (let i = 0; i < pages; i++) a.read(va + BigInt(i * 4096), 1);
console.log(`first:  ${a.majFlt} major fault (read-around read ${linux.cache.stats.file} pages of the file), ${a.minFlt} minor`);

const b = linux.spawn({ name: "second" });
const vb = b.mmap(0, pages * 4096, rx, mman.MAP_PRIVATE, { file: lib });
for (let i = 0; i < pages; i++) b.read(vb + BigInt(i * 4096), 1);
console.log(`second: ${b.majFlt} major faults, ${b.minFlt} minor (fault-around mapped cached neighbours)`);

const pfn = (e) => e & ((1n << 55n) - 1n);
const ea = proc.pagemapEntries(a.pid, va, va + 4096n)[0];
const eb = proc.pagemapEntries(b.pid, vb, vb + 4096n)[0];
console.log(`page 0: pfn 0x${pfn(ea).toString(16)} in first, 0x${pfn(eb).toString(16)} in second — ${pfn(ea) === pfn(eb) ? "the same frame" : "different frames"}`);
console.log(`\n$ grep -A6 libdemo /proc/${b.pid}/smaps`);
const smaps = proc.smaps(b.pid).split("\n");
const i = smaps.findIndex((l) => l.includes("libdemo"));
console.log(smaps.slice(i, i + 7).join("\n"));
console.log(`\n$ grep -E '^(Cached|Mapped)' /proc/meminfo`);
console.log(proc.meminfo().split("\n").filter((l) => /^(Cached|Mapped):/.test(l)).join("\n"));
