/**
 * Test helpers: a machine with a page-table builder over a fixed table area, so tests state
 * only what they map and what they access.
 */
import { Machine } from "../../src/machine/Machine.js";
import { PageTableBuilder } from "../../src/machine/pagetables.js";
import type { MachineConfig } from "../../src/types.js";

/** Page tables go in [1 MiB, 4 MiB); data frames used by tests sit above 8 MiB. */
export const TABLE_AREA = { start: 0x10_0000n, end: 0x40_0000n };

export async function machineWithTables(config: MachineConfig = {}): Promise<{ m: Machine; pt: PageTableBuilder }> {
  const m = await Machine.create({ ram: "64MiB", build: "debug", ...config });
  const pt = new PageTableBuilder(m, TABLE_AREA);
  const err = m.cpu(0).writeCr3(pt.root);
  if (err) throw new Error(`CR3 load failed: ${JSON.stringify(err)}`);
  return { m, pt };
}
