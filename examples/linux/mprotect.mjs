// mprotect splits a VMA: changing the rights of the middle page of a three-page mapping leaves
// three VMAs; giving the rights back merges them again. Run: node examples/linux/mprotect.mjs
import { Machine, Linux, ProcFs, mman, PROT_READ, PROT_WRITE, SIGSEGV } from "wasmmu";

const linux = Linux.boot(await Machine.create({ ram: "256MiB" }));
const proc = new ProcFs(linux);
const p = linux.spawn({ name: "mprotect" });
const va = p.mmap(0x10000000, 3 * 4096, PROT_READ | PROT_WRITE, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS | mman.MAP_FIXED);
const region = () => proc.maps(p.pid).split("\n").filter((l) => l.startsWith("1000")).join("\n");

console.log("after mmap(3 pages, PROT_READ|PROT_WRITE):");
console.log(region());
p.mprotect(va + 4096n, 4096, PROT_READ);
console.log("\nafter mprotect(middle page, PROT_READ):");
console.log(region());
p.sigaction(SIGSEGV, () => {});                  // survive the fault below
const r = p.write(va + 4096n + 8n, "x");
console.log(`\nwriting the middle page: ${r.ok ? "ok" : `${r.signal.name} (${r.signal.codeName}) at 0x${r.signal.addr.toString(16)}`}`);
p.mprotect(va + 4096n, 4096, PROT_READ | PROT_WRITE);
console.log("\nafter mprotect(middle page, PROT_READ|PROT_WRITE): merged again");
console.log(region());
