/**
 * Nested paging on the host: EPT tables written into the machine's physical memory the way a
 * hypervisor writes them (EptBuilder). A CPU's VMX controls are in vmx.ts.
 *
 * Follows Intel SDM Vol. 3C §29.3 (EPT), §29.4 (cached translations, INVEPT/INVVPID) and
 * Table 28-7 (exit qualification); the bits come from the core (assembly/arch/x86/ept.ts).
 * What the core models and assumes is in docs/nested-paging.md.
 */
import type { Machine } from "./Machine.js";
import { toU64 } from "./u64.js";
import { WasmmuError } from "../errors.js";
import type { Address, MemoryType } from "../types.js";
import type { PageSize, TableFrameSource } from "./pagetables.js";
import { RangeTableSource } from "./pagetables.js";
import { PTE_ADDR_FIELD, physMask } from "./pgtable.js";
import * as A from "../abi/core.generated.js";

const bit = (n: number): bigint => 1n << BigInt(n);
export const EPT_READ = bit(A.EPT_BIT_READ);
export const EPT_WRITE = bit(A.EPT_BIT_WRITE);
export const EPT_EXEC = bit(A.EPT_BIT_EXEC);
export const EPT_IGNORE_PAT = bit(A.EPT_BIT_IGNORE_PAT);
export const EPT_LARGE = bit(A.EPT_BIT_LARGE);
export const EPT_ACCESSED = bit(A.EPT_BIT_ACCESSED);
export const EPT_DIRTY = bit(A.EPT_BIT_DIRTY);
export const EPT_USER_EXEC = bit(A.EPT_BIT_USER_EXEC);

/** EPT memory-type encodings (bits 5:3 of a leaf; bits 2:0 of the EPTP). */
const EPT_MEMTYPE: Record<"UC" | "WC" | "WT" | "WP" | "WB", bigint> = { UC: 0n, WC: 1n, WT: 4n, WP: 5n, WB: 6n };

/** What an EPT leaf allows and carries. Default: read, write, execute, WB, PAT honoured. */
export interface EptLeafFlags {
  read?: boolean;
  write?: boolean;
  execute?: boolean;
  /** Bit 10: execute for user-mode linear addresses (used only with mode-based execute control). */
  userExecute?: boolean;
  memoryType?: Exclude<MemoryType, "UC-">;
  /** Bit 6: the EPT memory type alone decides (the guest's PAT is ignored). */
  ignorePat?: boolean;
}

const LEAF_LEVEL: Record<PageSize, number> = { "4K": 1, "2M": 2, "1G": 3 };
const LEAF_KEYS = new Set(["read", "write", "execute", "userExecute", "memoryType", "ignorePat"]);

/** Encode an EPT leaf for host-physical `hpa` at `level` (SDM Vol. 3C Tables 29-3, 29-5, 29-7). */
export function makeEptLeaf(hpa: bigint, level: number, flags: EptLeafFlags = {}): bigint {
  for (const k of Object.keys(flags)) if (!LEAF_KEYS.has(k)) throw new WasmmuError("INVALID_ARGUMENT", `unknown EPT leaf flag ${k}; known: ${[...LEAF_KEYS].join(", ")}`);
  const mt = flags.memoryType ?? "WB";
  if (!(mt in EPT_MEMTYPE)) throw new WasmmuError("INVALID_ARGUMENT", `EPT memoryType must be one of ${Object.keys(EPT_MEMTYPE).join(", ")}, got ${String(mt)}`);
  let e = hpa | (EPT_MEMTYPE[mt] << BigInt(A.EPT_BIT_MEMTYPE));
  if (flags.read ?? true) e |= EPT_READ;
  if (flags.write ?? true) e |= EPT_WRITE;
  if (flags.execute ?? true) e |= EPT_EXEC;
  if (flags.userExecute) e |= EPT_USER_EXEC;
  if (flags.ignorePat) e |= EPT_IGNORE_PAT;
  if (level > 1) e |= EPT_LARGE;
  return e;
}

/** Options of an EPT hierarchy: its depth, EPT A/D flags, and the memory type of EPT table accesses. */
export interface EptOptions {
  /** 4 (default) or 5 levels: EPTP bits 5:3 = levels − 1. Five need the machine's LA57 feature. */
  levels?: 4 | 5;
  /** EPTP bit 6: accessed and dirty flags for EPT (default false). */
  accessedDirty?: boolean;
  /** EPTP bits 2:0: UC or WB (default WB). */
  memoryType?: "UC" | "WB";
}

/**
 * EptBuilder: an EPT hierarchy in host-physical memory. Non-leaf entries are created with R, W,
 * X and UX set (so leaves alone decide; UX is ignored without mode-based execute control), as
 * KVM's EPT code does.
 */
export class EptBuilder {
  /** Host-physical address of the EPT PML4 (or PML5) table. */
  readonly root: bigint;
  /** The EPT pointer to enter a guest with. */
  readonly eptp: bigint;
  readonly levels: 4 | 5;
  private readonly machine: Machine;
  private readonly source: TableFrameSource;
  /** Host-physical addresses of every EPT table frame, root first. */
  readonly tables: bigint[] = [];

  constructor(machine: Machine, source: { start: Address; end: Address } | TableFrameSource, options: EptOptions = {}) {
    for (const k of Object.keys(options)) if (!["levels", "accessedDirty", "memoryType"].includes(k)) throw new WasmmuError("INVALID_ARGUMENT", `unknown EPT option ${k}; known: levels, accessedDirty, memoryType`);
    this.machine = machine;
    this.source = "allocTable" in source ? source : new RangeTableSource(machine, source);
    const levels = options.levels ?? 4;
    if (levels !== 4 && levels !== 5) throw new WasmmuError("INVALID_ARGUMENT", `EPT levels must be 4 or 5, got ${String(levels)}`);
    this.levels = levels;
    this.root = this.allocTable();
    const mt = options.memoryType ?? "WB";
    if (mt !== "UC" && mt !== "WB") throw new WasmmuError("INVALID_ARGUMENT", `EPT pointer memoryType must be UC or WB, got ${String(mt)}`);
    this.eptp = this.root | (BigInt(levels - 1) << BigInt(A.EPTP_WALK_SHIFT)) | (options.accessedDirty ? A.EPTP_AD : 0n) | EPT_MEMTYPE[mt];
  }

  private allocTable(): bigint {
    const pa = this.source.allocTable();
    if (pa === null) throw new WasmmuError("OUT_OF_MEMORY", "no frame left for an EPT table");
    this.tables.push(pa);
    return pa;
  }

  /**
   * Map `size` bytes (default one page) of guest-physical addresses at `gpa` to host-physical
   * `hpa` with EPT leaves of `pageSize`. Missing EPT tables are created.
   */
  map(gpa: Address, hpa: Address, flags: EptLeafFlags = {}, pageSize: PageSize = "4K", size?: Address): void {
    const level = LEAF_LEVEL[pageSize];
    if (level === undefined) throw new WasmmuError("INVALID_ARGUMENT", `pageSize must be 4K, 2M or 1G, got ${String(pageSize)}`);
    const step = 1n << BigInt(12 + 9 * (level - 1));
    let g = toU64(gpa, "gpa");
    let h = toU64(hpa, "hpa");
    const total = size === undefined ? step : toU64(size, "size");
    if (g % step !== 0n || h % step !== 0n || total % step !== 0n || total === 0n) {
      throw new WasmmuError("INVALID_ARGUMENT", `gpa, hpa and size must be multiples of the ${pageSize} page size`);
    }
    for (let done = 0n; done < total; done += step, g += step, h += step) this.setEntry(g, level, makeEptLeaf(h, level, flags));
  }

  /**
   * Identity map guest-physical [0, bytes) with leaves of `pageSize` (the `--vm` host page size),
   * read/write/execute, WB unless `flags` say otherwise. `bytes` is rounded up to the page size.
   * Each table of leaves is written whole through its frame's bytes (fast enough for GiBs).
   */
  identityMap(bytes: Address, pageSize: PageSize, flags: EptLeafFlags = {}): void {
    const level = LEAF_LEVEL[pageSize];
    if (level === undefined) throw new WasmmuError("INVALID_ARGUMENT", `pageSize must be 4K, 2M or 1G, got ${String(pageSize)}`);
    const step = 1n << BigInt(12 + 9 * (level - 1));
    const total = ((toU64(bytes, "bytes") + step - 1n) / step) * step;
    const span = step * 512n;
    const template = makeEptLeaf(0n, level, flags);
    for (let g = 0n; g < total; g += span) {
      const first = this.setEntry(g, level, template | g);     // creates the table, writes entry 0
      const n = Number((total - g < span ? total - g : span) / step);
      const frame = this.machine.phys.frame(first >> 12n);
      if (frame === null) { for (let i = 1; i < n; i++) this.machine.phys.write64(first + BigInt(i) * 8n, template | (g + BigInt(i) * step)); continue; }
      const words = new BigUint64Array(frame.buffer, frame.byteOffset + Number(first & 0xfffn), n);
      for (let i = 1; i < n; i++) words[i] = template | (g + BigInt(i) * step);
    }
  }

  /** Host-physical address of the EPT entry for `gpa` at `level`, or null when a table above is missing. */
  lookup(gpa: Address, level: number): bigint | null {
    const g = toU64(gpa, "gpa");
    let table = this.root;
    for (let l = this.levels; l > level; l--) {
      const e = this.machine.phys.read64(table + eptIndex(g, l) * 8n);
      if ((e & 7n) === 0n || (l <= 3 && (e & EPT_LARGE) !== 0n)) return null;
      table = e & PTE_ADDR_FIELD & physMask(this.machine.config.maxPhyAddr);
    }
    return table + eptIndex(g, level) * 8n;
  }

  /** Write the raw `entry` for `gpa` at `level`, creating tables above it. @returns its host-physical address */
  setEntry(gpa: Address, level: number, entry: bigint): bigint {
    const g = toU64(gpa, "gpa");
    let table = this.root;
    for (let l = this.levels; l > level; l--) {
      const epa = table + eptIndex(g, l) * 8n;
      let e = this.machine.phys.read64(epa);
      if ((e & 7n) === 0n) {
        e = this.allocTable() | EPT_READ | EPT_WRITE | EPT_EXEC | EPT_USER_EXEC;
        this.machine.phys.write64(epa, e);
      } else if (l <= 3 && (e & EPT_LARGE) !== 0n) {
        throw new WasmmuError("INVALID_ARGUMENT", `guest-physical 0x${g.toString(16)} is already mapped by a large EPT page at level ${l}`);
      }
      table = e & PTE_ADDR_FIELD & physMask(this.machine.config.maxPhyAddr);
    }
    const epa = table + eptIndex(g, level) * 8n;
    this.machine.phys.write64(epa, entry);
    return epa;
  }
}

function eptIndex(gpa: bigint, level: number): bigint {
  return (gpa >> BigInt(12 + 9 * (level - 1))) & 511n;
}

/** Host page sizes of `--vm`. */
export type HostPageSize = "4k" | "2m" | "1g";
const HOST_PAGE: Record<HostPageSize, PageSize> = { "4k": "4K", "2m": "2M", "1g": "1G" };

/**
 * Frames a 4-level identity EPT over `ramBytes` with `hostPage` leaves takes: one table per 512
 * entries at each level down to the leaves. What `runAsGuest` needs reserved.
 */
export function identityEptFrames(ramBytes: bigint, hostPage: HostPageSize): number {
  const leafLevel = LEAF_LEVEL[HOST_PAGE[hostPage]];
  let frames = 1;   // the PML4
  for (let level = leafLevel; level <= 3; level++) {
    const span = 1n << BigInt(12 + 9 * level);    // bytes one table at this level covers
    frames += Number((ramBytes + span - 1n) / span);
  }
  return frames;
}

/**
 * Run the machine's CPUs as a guest, as `wasmmu replay --vm` does: an identity EPT over all of
 * RAM with `hostPage` leaves (read, write, execute; WB; EPT A/D off, as KVM without PML) written
 * into `area`, which the caller keeps from the guest (reserved at machine creation), then VM
 * entry on every CPU with VPID 1. From then on every walk is two-dimensional and a TLB entry
 * covers at most a host page.
 * @throws WasmmuError("INVALID_ARGUMENT") for 1 GiB host pages on a CPU without them, or an area too small
 */
export function runAsGuest(machine: Machine, hostPage: HostPageSize, area: { start: Address; end: Address }): EptBuilder {
  const size = HOST_PAGE[hostPage];
  if (size === undefined) throw new WasmmuError("INVALID_ARGUMENT", `host page size must be 4k, 2m or 1g, got ${String(hostPage)}`);
  if (size === "1G" && !machine.config.features.page1gb) {
    throw new WasmmuError("INVALID_ARGUMENT", `--vm 1g: the machine has no 1 GiB pages (features.page1gb; EPT 1 GiB leaves need them)`);
  }
  const ept = new EptBuilder(machine, area);
  ept.identityMap(machine.config.ramBytes, size);
  for (let cpu = 0; cpu < machine.config.cpus; cpu++) {
    const failure = machine.cpu(cpu).vmx.enter({ eptp: ept.eptp, vpid: 1 });
    if (failure !== null) throw new WasmmuError("CORE_TRAP", `CPU ${cpu}: ${failure.message}`);
  }
  return ept;
}
