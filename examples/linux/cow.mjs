// fork and copy-on-write: after fork parent and child share every page read-only; the first
// write from either side faults and copies that one page. Watch fault counts, Pss and pagemap.
// Run: node examples/linux/cow.mjs
import { Machine, Linux, ProcFs, mman, PROT_READ, PROT_WRITE, decodePagemapEntry } from "wasmmu";

const linux = Linux.boot(await Machine.create({ ram: "256MiB" }));
const proc = new ProcFs(linux);
const parent = linux.spawn({ name: "parent" });
const pages = 8;
const va = parent.mmap(0, pages * 4096, PROT_READ | PROT_WRITE, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS);
for (let i = 0; i < pages; i++) parent.write(va + BigInt(i * 4096), `page ${i}`);

const pss = (pid) => /^Pss:\s+(\d+) kB/m.exec(proc.smaps(pid).split(va.toString(16) + "-")[1])[1];
const flags = (pid) => proc.pagemapEntries(pid, va, va + BigInt(pages * 4096)).map((e) => {
  const d = decodePagemapEntry(e);
  return d.present ? (d.exclusive ? "X" : "s") : ".";
}).join("");
const show = (when) => console.log(`${when.padEnd(34)} parent: faults ${String(parent.minFlt).padStart(2)} Pss ${pss(parent.pid).padStart(2)} kB [${flags(parent.pid)}]` +
  (child.alive ? `   child: faults ${String(child.minFlt).padStart(2)} Pss ${pss(child.pid).padStart(2)} kB [${flags(child.pid)}]` : ""));

const child = parent.fork();
console.log("pagemap per page: X = mapped exclusively, s = shared with the other process\n");
show("after fork");
child.write(va, "child was here");
show("child writes page 0");
parent.write(va + 4096n, "parent was here");
show("parent writes page 1");
for (let i = 2; i < pages; i++) child.write(va + BigInt(i * 4096), "child");
show("child writes pages 2-7");
console.log(`\nparent still reads "${new TextDecoder().decode(parent.read(va, 6).bytes)}", child reads "${new TextDecoder().decode(child.read(va, 14).bytes)}"`);
console.log(`COW copies: ${linux.vmstat.cow_copy}, reuses: ${linux.vmstat.cow_reuse}`);
