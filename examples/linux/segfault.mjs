// Segmentation faults: an access with no VMA (SEGV_MAPERR) and a write to a read-only page
// (SEGV_ACCERR). The first kills the process; the second runs a handler the process registered.
// Run: node examples/linux/segfault.mjs
import { Machine, Linux, mman, PROT_READ, SIGSEGV } from "wasmmu";

const linux = Linux.boot(await Machine.create({ ram: "256MiB" }));

const a = linux.spawn({ name: "null-deref" });
const r1 = a.read(0x0, 8);
console.log(`read of 0x0: ${r1.signal.name} si_code=${r1.signal.codeName} si_addr=0x${r1.signal.addr.toString(16)}; process ${a.pid} ${a.alive ? "alive" : `killed by signal ${a.exitSignal}`}`);

const b = linux.spawn({ name: "handler" });
const ro = b.mmap(0, 4096, PROT_READ, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS);
b.sigaction(SIGSEGV, (info) => console.log(`  handler: caught ${info.name} ${info.codeName} at 0x${info.addr.toString(16)}`));
const r2 = b.write(ro, "x");
console.log(`write to a read-only page: ${r2.signal.name} si_code=${r2.signal.codeName}; process ${b.pid} ${b.alive ? "alive (the handler ran)" : "killed"}`);
