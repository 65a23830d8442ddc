/** The event history (src/shell/history.ts): what the model emitted, when, during which command, and the tallies. */
import { describe, it, expect } from "vitest";
import { Shell } from "../../src/shell/engine.js";
import { EventHistory, describeEvent } from "../../src/shell/history.js";

describe("EventHistory", () => {
  it("records the faults of a fork and copy-on-write with their command and model time, and tallies them", async () => {
    const sh = await Shell.create();
    const h = new EventHistory(sh);
    sh.run("cowdemo --pages 8 --pause 1 &");
    sh.run("sleep 2");
    const faults = h.list.filter((e) => e.event.type === "fault");
    const cow = faults.filter((e) => e.event.type === "fault" && e.event.kind === "cow-copy");
    expect(cow.length).toBe(8);
    expect(cow.every((e) => e.line === "sleep 2" && e.t >= 1)).toBe(true);
    expect(describeEvent(cow[0].event)).toMatch(/^pid 4 cpu \d: minor fault, write of 0x7ffff7f[ef][0-9a-f]000 → cow-copy$/);
    const all = h.talliesAt(h.list.length - 1);
    expect(all.cow).toBe(8);
    expect(all.minor + all.major).toBe(faults.filter((e) => e.event.type === "fault" && (e.event.result === "minor" || e.event.result === "major")).length);
    expect(h.talliesAt(-1).cow).toBe(0);
    const firstCow = h.list.indexOf(cow[0]);
    expect(h.talliesAt(firstCow).cow).toBe(1);
    expect(h.list.map((e) => e.seq)).toEqual(h.list.map((_, i) => i));
    h.close();
  });

  it("keeps the last `capacity` events, the dropped ones still counted", async () => {
    const sh = await Shell.create();
    const h = new EventHistory(sh, 10);
    sh.run("cowdemo --pages 16 --pause 0 &");
    sh.run("sleep 1");
    expect(h.list.length).toBe(10);
    expect(h.talliesAt(9).cow).toBe(16);
    expect(h.list[0].seq).toBeGreaterThan(0);
  });
});
