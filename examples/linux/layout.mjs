// A process's address space, as /proc/<pid>/maps shows it: text and data mapped from the
// executable, bss and the brk heap after them, the mmap area growing down from below the stack,
// the vDSO, and the stack at the top of user space. Run: node examples/linux/layout.mjs
import { Machine, Linux, ProcFs, Malloc } from "wasmmu";

const machine = await Machine.create({ ram: "256MiB" });
const linux = Linux.boot(machine);               // deterministic layout (setarch -R); { aslr: true } randomises
const proc = new ProcFs(linux);

const p = linux.spawn({ name: "layout", text: 16384, data: 8192, bss: 40960 });
const heap = new Malloc(p);
heap.malloc(1000);                                // small: the brk heap grows (sbrk)
heap.malloc(1 << 20);                             // 1 MiB: its own anonymous mmap below the vDSO
linux.addFile("/usr/lib/libc.so.6", new Uint8Array(2 << 20));
p.mmap(0, 2 << 20, 0x5, 0x02, { file: linux.file("/usr/lib/libc.so.6") }); // a "shared library", r-x, MAP_PRIVATE

console.log(`$ cat /proc/${p.pid}/maps`);
process.stdout.write(proc.maps(p.pid));
console.log(`\nbrk: start_brk 0x${p.mm.startBrk.toString(16)}, brk 0x${p.mm.brk.toString(16)}; mmap_base below 0x${p.mm.mmapBase.toString(16)}`);
console.log(`\n$ grep -E 'Vm|Rss' /proc/${p.pid}/status`);
process.stdout.write(proc.status(p.pid).split("\n").filter((l) => /^(Vm|Rss)/.test(l)).join("\n") + "\n");
