/**
 * BuddyTableSource: page-table frames from the buddy allocator, marked PG_table, zeroed (backed
 * in tables-only mode) — what Linux's pte_alloc_one / __get_free_page(GFP_PGTABLE_KERNEL) give.
 * Shared by the kernel model and the trace-replay demand mapper, so /proc/meminfo's PageTables
 * counts every table either makes.
 */
import type { Machine } from "./Machine.js";
import { zeroFrame, type TableFrameSource } from "./pagetables.js";
import { pageFlag } from "./frames.js";
import { WasmmuError } from "../errors.js";

export class BuddyTableSource implements TableFrameSource {
  private readonly machine: Machine;
  private pages = 0;

  constructor(machine: Machine) {
    this.machine = machine;
  }

  /** A zeroed frame marked PG_table, or null when memory is exhausted. */
  allocTable(): bigint | null {
    const pfn = this.machine.frames.alloc(0);
    if (pfn === null) return null;
    this.machine.frames.setFlags(pfn, 1, pageFlag("table"));
    const pa = BigInt(pfn) * 4096n;
    zeroFrame(this.machine, pa);
    this.pages++;
    return pa;
  }

  /** Free a table frame: clears PG_table and returns it to the buddy allocator. */
  freeTable(pa: bigint): void {
    const pfn = Number(pa / 4096n);
    if ((this.machine.frames.flagsOf(pfn) & pageFlag("table")) === 0) {
      throw new WasmmuError("BAD_FREE", `freeTable(0x${pa.toString(16)}): frame is not a page table`);
    }
    this.machine.frames.clearFlags(pfn, 1, pageFlag("table"));
    if (this.machine.config.memory === "tables-only") this.machine.phys.unback(BigInt(pfn));
    this.machine.frames.free(pfn, 0);
    this.pages--;
  }

  /** Table frames held now. */
  get tablePages(): number {
    return this.pages;
  }
}
