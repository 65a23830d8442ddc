/**
 * BuddyTableSource: page-table frames from the buddy allocator, marked PG_table, zeroed (backed
 * in tables-only mode) — what Linux's pte_alloc_one / __get_free_page(GFP_PGTABLE_KERNEL) give.
 * Every table, whoever builds it (the kernel model, processes, the trace-replay demand mapper or
 * the core's ptMap), comes from the core's ptAllocTable and goes back through ptFreeTable, so
 * the one count of table frames (/proc/meminfo PageTables) lives in the core.
 */
import type { Machine } from "./Machine.js";
import type { TableFrameSource } from "./pagetables.js";
import { WasmmuError } from "../errors.js";

export class BuddyTableSource implements TableFrameSource {
  private readonly machine: Machine;

  constructor(machine: Machine) {
    this.machine = machine;
  }

  /** A zeroed frame marked PG_table, or null when memory is exhausted. */
  allocTable(): bigint | null {
    const pfn = this.machine._core.exports.ptAllocTable(0);
    return pfn < 0n ? null : BigInt.asUintN(64, pfn) << 12n;
  }

  /** Free a table frame: clears PG_table and returns it to the buddy allocator. */
  freeTable(pa: bigint): void {
    const pfn = Number(pa >> 12n);
    const r = pa & 0xfffn || pfn >= this.machine.frames.managedFrames ? -1 : this.machine._core.exports.ptFreeTable(pfn);
    if (r === -1) throw new WasmmuError("BAD_FREE", `freeTable(0x${pa.toString(16)}): frame is not a page table`);
    if (r !== 0) throw new WasmmuError("BAD_FREE", `freeTable(0x${pa.toString(16)}): the buddy allocator refused the frame (status ${r})`);
  }

  /** Table frames held now, by every owner (the core's count). */
  get tablePages(): number {
    return this.machine._core.exports.ptTableFrames() >>> 0;
  }
}
