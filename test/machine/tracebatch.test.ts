/**
 * TraceBatch: records written one by one and records written struct-of-arrays (packed by the
 * core's packRecords) land in the same 16-byte layout the replay loop reads.
 */
import { it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { Replayer, DemandMapper, REC_KIND, REC_USER } from "../../src/machine/replay.js";

it("setArrays packs lo/hi/size/kind/cpu into the records set() would write, CPU ids modulo the CPU count", async () => {
  const m = await Machine.create({ ram: "16MiB", cpus: 2, traceBatch: 16, build: "debug" });
  const r = new Replayer(m, new DemandMapper(m).policy);
  const n = 5;
  const src = {
    lo: Uint32Array.from([0x1000, 0x2008, 0xffff_fff8, 0x10, 0x20]),
    hi: Uint32Array.from([0, 0x7fff, 0x1, 0, 0]),
    size: Uint8Array.from([8, 4, 8, 1, 2]),
    kind: Uint8Array.from([REC_KIND.read | REC_USER, REC_KIND.write | REC_USER, REC_KIND.fetch, 0, 1]),
    cpu: Uint16Array.from([0, 1, 2, 3, 0]),
  };
  r.batch.setArrays(src, 1, 3, 2);   // records 1..3 of the arrays into batch slots 0..2
  expect([0, 1, 2].map((i) => r.batch.get(i))).toEqual([
    { vaddr: 0x7fff_0000_2008n, size: 4, kind: REC_KIND.write | REC_USER, cpu: 1 },
    { vaddr: 0x1_ffff_fff8n, size: 8, kind: REC_KIND.fetch, cpu: 0 },
    { vaddr: 0x10n, size: 1, kind: 0, cpu: 1 },
  ]);
  r.batch.setAddress(3, 0x7fff_0000_2008n, 4, REC_KIND.write | REC_USER, 1);
  expect(r.batch.get(3)).toEqual(r.batch.get(0));
  expect(n).toBe(src.lo.length);
  expect(() => r.batch.setArrays(src, 0, 17)).toThrow(/at most 16 records/);
});
