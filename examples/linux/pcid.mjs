// Context switches and the TLB: two processes take turns touching their own 32 pages. With PCIDs
// each keeps its TLB entries across the switch (CR3 loaded with the no-flush bit); without, every
// switch flushes and each turn starts with page walks. Run: node examples/linux/pcid.mjs
import { Machine, Linux, mman, PROT_READ, PROT_WRITE } from "wasmmu";

async function run(pcid) {
  const machine = await Machine.create({ ram: "256MiB", features: { pcid } });
  const linux = Linux.boot(machine);
  const tasks = [linux.spawn({ name: "a" }), linux.spawn({ name: "b" })];
  const areas = tasks.map((t) => t.mmap(0, 32 * 4096, PROT_READ | PROT_WRITE, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS));
  tasks.forEach((t, i) => { for (let p = 0; p < 32; p++) t.write(areas[i] + BigInt(p * 4096), "x"); });
  const before = machine.counters();
  for (let turn = 0; turn < 100; turn++) {
    const i = turn % 2;
    for (let p = 0; p < 32; p++) tasks[i].read(areas[i] + BigInt(p * 4096), 8); // switches on the first read of a turn
  }
  const after = machine.counters();
  const d = (k) => after[k] - before[k];
  return { loads: d("access_load"), l1: d("tlb_l1d_hit"), stlb: d("dtlb_load_misses.stlb_hit"), walks: d("dtlb_load_misses.miss_causes_a_walk"), elided: d("tlb_flush_elided"), flushes: d("tlb_flush_pcid") };
}

console.log("100 turns × 32 pages, alternating between two processes (Skylake TLBs)\n");
console.log("            loads  L1 hits  STLB hits  walks  CR3 no-flush  PCID flushes");
for (const pcid of [true, false]) {
  const r = await run(pcid);
  console.log(`${pcid ? "with PCID   " : "without PCID"}${String(r.loads).padStart(6)}${String(r.l1).padStart(9)}${String(r.stlb).padStart(11)}${String(r.walks).padStart(7)}${String(r.elided).padStart(14)}${String(r.flushes).padStart(14)}`);
}
