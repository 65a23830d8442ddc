// malloc growing the heap with brk, then switching to mmap for large blocks (glibc's
// M_MMAP_THRESHOLD, 128 KiB). Run: node examples/linux/malloc.mjs
import { Machine, Linux, ProcFs, Malloc } from "wasmmu";

const linux = Linux.boot(await Machine.create({ ram: "256MiB" }));
const proc = new ProcFs(linux);
const p = linux.spawn({ name: "malloc" });
const heap = new Malloc(p);
const line = (what) => console.log(`${what.padEnd(28)} brk=0x${p.brk(0).toString(16)}  VMAs=${p.vmaCount}  minor faults=${p.minFlt}`);

line("start");
const small = [];
for (let i = 0; i < 8; i++) small.push(heap.malloc(4000));
line("8 × malloc(4000)");
for (const ptr of small) p.write(ptr, "x".repeat(4000));
line("wrote them (demand paging)");
const big = heap.malloc(256 * 1024);
line("malloc(256 KiB) → mmap");
p.write(big, "big");
line("touched 1 page of it");
heap.free(big);
line("free(256 KiB) → munmap");
console.log("\nhow each request was served:");
for (const e of heap.log) console.log(`  malloc(${e.size}) = 0x${e.addr.toString(16)} via ${e.via}`);
console.log(`\n$ grep heap /proc/${p.pid}/maps`);
process.stdout.write(proc.maps(p.pid).split("\n").filter((l) => l.includes("[heap]")).join("\n") + "\n");
