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

it("setPacked copies records already in the batch layout in one block, CPU ids modulo the CPU count unless cpuBits rules that out", async () => {
  const { PackedChunk } = await import("../../src/trace/decoder.js");
  const m = await Machine.create({ ram: "16MiB", cpus: 2, traceBatch: 16, build: "debug" });
  const r = new Replayer(m, new DemandMapper(m).policy);
  const words = Uint32Array.from([
    0x1000, 0, 8 | (REC_KIND.read | REC_USER) << 8 | 0 << 16, 0,
    0x2008, 0x7fff, 4 | (REC_KIND.write | REC_USER) << 8 | 1 << 16, 0,
    0xffff_fff8, 1, 8 | REC_KIND.fetch << 8 | 2 << 16, 0,
    0x10, 0, 1 | 0 << 8 | 3 << 16, 0,
  ]);
  r.batch.setPacked(words, 1, 3, 2);
  expect([0, 1, 2].map((i) => r.batch.get(i))).toEqual([
    { vaddr: 0x7fff_0000_2008n, size: 4, kind: REC_KIND.write | REC_USER, cpu: 1 },
    { vaddr: 0x1_ffff_fff8n, size: 8, kind: REC_KIND.fetch, cpu: 0 },
    { vaddr: 0x10n, size: 1, kind: 0, cpu: 1 },
  ]);
  // The same records through setArrays land in the same bytes.
  const c = new PackedChunk(words, 4);
  const viaPacked = [0, 1, 2].map((i) => r.batch.get(i));
  r.batch.setArrays(c, 1, 3, 2);
  expect([0, 1, 2].map((i) => r.batch.get(i))).toEqual(viaPacked);
  // cpuBits 1 with 2 CPUs: no id can reach 2, so the ids are left as they are.
  r.batch.setPacked(words.subarray(0, 8), 0, 2, 2, 1);
  expect(r.batch.get(1).cpu).toBe(1);
  expect(() => r.batch.setPacked(words, 0, 17)).toThrow(/at most 16 records/);
});

it("PackedChunk decodes its struct-of-arrays view from the packed words on first use", async () => {
  const { PackedChunk } = await import("../../src/trace/decoder.js");
  const w = Uint32Array.from([0xabc0, 0x7f, 8 | 0x11 << 8 | 5 << 16, 0, 0x10, 0, 2 | 2 << 8, 0]);
  const c = new PackedChunk(w, 2);
  expect([...c.lo]).toEqual([0xabc0, 0x10]);
  expect([...c.hi]).toEqual([0x7f, 0]);
  expect([...c.size]).toEqual([8, 2]);
  expect([...c.kind]).toEqual([0x11, 2]);
  expect([...c.cpu]).toEqual([5, 0]);
  expect(c.lo).toBe(c.lo); // decoded once
});

it("ingest checks records copied in unchecked (wmt rules), ORs the kind bits, folds CPU ids, and stops at the first malformed one untouched", async () => {
  const m = await Machine.create({ ram: "16MiB", cpus: 3, traceBatch: 16, build: "debug" });
  const r = new Replayer(m, new DemandMapper(m).policy);
  const rec = (lo: number, size: number, kind: number, cpu: number, reserved = 0) => [lo, 0, size | kind << 8 | cpu << 16, reserved];
  const good = [rec(0x1000, 8, REC_KIND.read, 0), rec(0x2000, 4, REC_KIND.write | REC_USER, 4), rec(0x3000, 1, REC_KIND.fetch | 0x20, 2)];
  r.batch.setPacked(Uint32Array.from(good.flat()), 0, 3, 1, 0);
  expect(r.batch.ingest(3, REC_USER, 3)).toBe(3);
  expect([0, 1, 2].map((i) => r.batch.get(i))).toEqual([
    { vaddr: 0x1000n, size: 8, kind: REC_KIND.read | REC_USER, cpu: 0 },
    { vaddr: 0x2000n, size: 4, kind: REC_KIND.write | REC_USER, cpu: 1 },   // CPU 4 of 3: 4 mod 3
    { vaddr: 0x3000n, size: 1, kind: REC_KIND.fetch | 0x20 | REC_USER, cpu: 2 },
  ]);
  // Each malformed shape, after two good records: the index comes back, the bad record's bytes
  // are as copied, the records before it are taken.
  for (const bad of [rec(0x4000, 8, 0, 0, 1), rec(0x4000, 8, 0x40, 0), rec(0x4000, 8, 0x04, 0), rec(0x4000, 8, REC_KIND.read | 3, 0)]) {
    const words = Uint32Array.from([...good[0], ...good[1], ...bad, ...good[2]]);
    r.batch.setPacked(words, 0, 4, 1, 0);
    expect(r.batch.ingest(4, REC_USER, 3)).toBe(2);
    expect(Array.from(new Uint32Array(r.batch.recordBytes(2).buffer))).toEqual(bad);
    expect(r.batch.get(1).cpu).toBe(1);
  }
  expect(() => r.batch.ingest(17, 0)).toThrow(/n must be 0\.\.16/);
});

it("ingest checks eight records at a time the same as one at a time: a malformed record, a missing kind bit or a CPU id to fold at any place of a 16-record batch", async () => {
  const m = await Machine.create({ ram: "16MiB", cpus: 2, traceBatch: 16, build: "release" });
  const r = new Replayer(m, new DemandMapper(m).policy);
  const rec = (lo: number, size: number, kind: number, cpu: number, reserved = 0) => [lo, 0, size | kind << 8 | cpu << 16, reserved];
  const goodAt = (i: number) => rec(0x1000 * (i + 1), 8, REC_KIND.write | REC_USER, i & 1);
  const bads = [rec(0x9000, 8, REC_USER, 0, 1), rec(0x9000, 8, REC_USER | 0x40, 0), rec(0x9000, 8, REC_USER | 0x04, 0), rec(0x9000, 8, REC_USER | 3, 1)];
  for (let p = 0; p < 16; p++) {
    for (const bad of bads) {
      const words = Uint32Array.from(Array.from({ length: 16 }, (_, i) => (i === p ? bad : goodAt(i))).flat());
      r.batch.setPacked(words, 0, 16, 2, 0);
      expect(r.batch.ingest(16, REC_USER, 2)).toBe(p);
      expect(Array.from(new Uint32Array(r.batch.recordBytes(p).buffer))).toEqual(bad);
    }
    // Every record good; only record p lacks REC_USER (kindOr adds it) or has CPU id 5 of 2 (folded to 1).
    const lacks = Array.from({ length: 16 }, (_, i) => (i === p ? rec(0x1000 * (i + 1), 8, REC_KIND.write, i & 1) : goodAt(i)));
    r.batch.setPacked(Uint32Array.from(lacks.flat()), 0, 16, 2, 0);
    expect(r.batch.ingest(16, REC_USER, 2)).toBe(16);
    expect(r.batch.get(p)).toEqual({ vaddr: BigInt(0x1000 * (p + 1)), size: 8, kind: REC_KIND.write | REC_USER, cpu: p & 1 });
    const far = Array.from({ length: 16 }, (_, i) => (i === p ? rec(0x1000 * (i + 1), 8, REC_KIND.write | REC_USER, 5) : goodAt(i)));
    r.batch.setPacked(Uint32Array.from(far.flat()), 0, 16, 2, 0);
    expect(r.batch.ingest(16, REC_USER, 2)).toBe(16);
    expect(r.batch.get(p).cpu).toBe(1);
    expect(r.batch.get(p ^ 1).cpu).toBe((p ^ 1) & 1);
  }
  // A count below eight: every record one at a time.
  r.batch.setPacked(Uint32Array.from([goodAt(0), goodAt(1), goodAt(2), goodAt(3), goodAt(4), bads[3]].flat()), 0, 6, 2, 0);
  expect(r.batch.ingest(6, REC_USER, 2)).toBe(5);
});
