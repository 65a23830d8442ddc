/**
 * Machine: one emulated x86-64 machine (RAM, CPUs) over one Wasm core instance.
 *
 * Owns the Core and the objects that present it: Cpu (registers, translate, walk) and
 * PhysicalMemory. Holds no policy: what to map is the caller's (later: src/os).
 */
import { Core } from "./core.js";
import { Vmx, readVmExit } from "./vmx.js";
import { resolveConfig, formatBytes, type ResolvedConfig } from "./config.js";
import { decodeEntry, decodePageFaultError } from "./decode.js";
import {
  ACC_WRITE, ACC_FETCH, ACC_USER, ACC_IMPLICIT, ACC_PROBE, XLAT_OK, XLAT_PF, levelIndex,
  INTEL_LEVEL_NAMES, LINUX_LEVEL_NAMES_4, LINUX_LEVEL_NAMES_5, MEMORY_TYPES,
} from "./pgtable.js";
import { WasmmuError } from "../errors.js";
import * as A from "../abi/core.generated.js";
import { FrameAllocator } from "./frames.js";
import { HardwareEvents } from "./hwevents.js";
import { AccessStamps } from "./stamps.js";
import { CacheHierarchy } from "./caches.js";
import { writeConfigBlock, LATENCY_KEYS } from "./tlbconfig.js";
import { readTlbSnapshot, type TlbSnapshot } from "./tlbview.js";
import type { LatencyConfig } from "./presets/types.js";
import type {
  AccessOptions, AccessSize, Address, CpuException, MachineConfig, Registers, RegisterWrites,
  Translation, Walk, WalkLevel, WalkStop,
} from "../types.js";

const STOPS: readonly WalkStop[] = ["leaf", "not-present", "reserved-bit", "rights", "protection-key", "non-canonical", "ept"];
const ACCESS_KEYS = new Set(["kind", "cpl", "implicit", "probe", "cpu"]);

export { toU64 } from "./u64.js";
import { toU64 } from "./u64.js";

/**
 * Turn AccessOptions into the core's ACC_* flags, validating every field. `cpu` is not an access
 * flag: callers that route by CPU remove it first, so here it is refused like any unknown key.
 */
export function accessFlags(opts: Omit<AccessOptions, "cpu">): number {
  for (const k of Object.keys(opts)) {
    if (!ACCESS_KEYS.has(k) || k === "cpu") throw new WasmmuError("INVALID_ARGUMENT", `unknown access option ${k}; known options are ${[...ACCESS_KEYS].join(", ")}`);
  }
  const kind = opts.kind ?? "read";
  let acc = 0;
  if (kind === "write") acc |= ACC_WRITE;
  else if (kind === "fetch") acc |= ACC_FETCH;
  else if (kind !== "read") throw new WasmmuError("INVALID_ARGUMENT", `kind must be "read", "write" or "fetch", got ${JSON.stringify(kind)}`);
  const cpl = opts.cpl ?? 0;
  if (cpl !== 0 && cpl !== 1 && cpl !== 2 && cpl !== 3) throw new WasmmuError("INVALID_ARGUMENT", `cpl must be 0, 1, 2 or 3, got ${JSON.stringify(cpl)}`);
  if (cpl === 3) acc |= ACC_USER;
  if (opts.implicit) acc |= ACC_IMPLICIT;
  if (opts.probe) acc |= ACC_PROBE;
  return acc;
}

/** The exception a register write returned (0 = accepted). */
function writeResult(vector: number): CpuException | null {
  if (vector === 0) return null;
  if (vector === 13) return { vector: "GP", vectorNumber: 13, errorCode: 0 };
  if (vector === 6) return { vector: "UD", vectorNumber: 6 };
  throw new WasmmuError("CORE_TRAP", `core returned unknown exception vector ${vector}`);
}

/** One logical CPU: its registers and its view of translation. */
export class Cpu {
  readonly id: number;
  private readonly machine: Machine;
  private readonly core: Core;
  private readonly rec: number;
  private readonly off: Record<string, number>;

  /** @internal Created by Machine. */
  constructor(machine: Machine, core: Core, id: number) {
    this.machine = machine;
    this.core = core;
    this.id = id;
    this.rec = core.exports.cpuRecord(id) >>> 0;
    const c = (n: keyof typeof A) => A[n] as number;
    this.off = {
      cr0: c("CPU_CR0"), cr2: c("CPU_CR2"), cr3: c("CPU_CR3"), cr4: c("CPU_CR4"), efer: c("CPU_EFER"),
      rflags: c("CPU_RFLAGS"), pat: c("CPU_PAT"), pkru: c("CPU_PKRU"),
      res: c("CPU_RESULT"), walk: c("CPU_WALK"), status: c("RES_STATUS"), vaddr: c("RES_VADDR"), errorCode: c("RES_ERROR_CODE"),
      paddr: c("RES_PADDR"), pageShift: c("RES_PAGE_SHIFT"), memType: c("RES_MEMTYPE"), levels: c("RES_LEVELS"),
      stop: c("RES_STOP"), stopLevel: c("RES_STOP_LEVEL"), rights: c("RES_RIGHTS"),
      wLevel: c("WALK_LEVEL"), wPa: c("WALK_PA"), wBefore: c("WALK_BEFORE"), wAfter: c("WALK_AFTER"), wSize: c("WALK_ENTRY_SIZE"),
    };
  }

  private vmxControls: Vmx | null = null;

  /** Nested paging: VM entry/exit with an EPT pointer and VPID, INVEPT, INVVPID, the last VM exit (src/machine/ept.ts). */
  get vmx(): Vmx {
    return (this.vmxControls ??= new Vmx(this.core, this.id, this.rec));
  }

  /** Current register values, read from the CPU record in linear memory. */
  get registers(): Registers {
    const r = (k: string) => this.core.u64(this.rec + this.off[k]);
    return { cr0: r("cr0"), cr2: r("cr2"), cr3: r("cr3"), cr4: r("cr4"), efer: r("efer"), rflags: r("rflags"), pat: r("pat"), pkru: this.core.u32(this.rec + this.off.pkru) };
  }

  /** MOV to CR0. @returns null, or the #GP the write raised (nothing changes then). */
  writeCr0(v: Address): CpuException | null {
    return writeResult(this.core.exports.writeCr0(this.id, toU64(v, "cr0")));
  }

  /**
   * MOV to CR3, with its TLB effects (SDM §4.10.4.1): flushes the non-global entries and PSC
   * entries of the new PCID (PCID 0 without CR4.PCIDE), unless CR4.PCIDE=1 and bit 63 (no-flush)
   * is set; bit 63 is never stored.
   */
  writeCr3(v: Address): CpuException | null {
    return writeResult(this.core.exports.movCr3(this.id, toU64(v, "cr3")));
  }

  /**
   * MOV to CR4, with its TLB effects: a change of PGE, or PCIDE 1→0, flushes everything (global
   * entries too); SMEP 0→1 flushes the current PCID. @returns null, or the #GP the write raised.
   */
  writeCr4(v: Address): CpuException | null {
    return writeResult(this.core.exports.movCr4(this.id, toU64(v, "cr4")));
  }

  /** INVLPG: drop `vaddr`'s entries for the current PCID and global ones, and the PCID's PSC entries. */
  invlpg(vaddr: Address): void {
    this.core.exports.invlpg(this.id, toU64(vaddr, "vaddr"));
  }

  /**
   * INVPCID `type` 0 (individual address), 1 (single context), 2 (all contexts with globals),
   * 3 (all contexts without globals). @returns null, or the #GP an invalid type or descriptor raises.
   */
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, vaddr: Address = 0n): CpuException | null {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff_ffff) throw new WasmmuError("INVALID_ARGUMENT", `INVPCID type must be an integer, got ${type}`);
    if (!Number.isInteger(pcid) || pcid < 0) throw new WasmmuError("INVALID_ARGUMENT", `pcid must be a non-negative integer, got ${pcid}`);
    return writeResult(this.core.exports.invpcid(this.id, type, BigInt(pcid), toU64(vaddr, "vaddr")));
  }

  /**
   * One access as the CPU performs it: L1 TLB, second-level TLB, then a page walk starting below
   * the deepest paging-structure-cache hit; fills the TLBs, charges cycles, counts events.
   * (translate() is the architectural walk alone, with no TLB.)
   */
  access(vaddr: Address, opts: Omit<AccessOptions, "cpu" | "probe"> = {}): Translation {
    const va = toU64(vaddr, "vaddr");
    if ("probe" in opts) throw new WasmmuError("INVALID_ARGUMENT", "access() has no probe option: use translate() or walk() with probe for a side-effect-free look");
    const acc = accessFlags(opts);
    const status = this.core.guard("tlbTranslate", [this.id, va, acc], () => this.core.exports.tlbTranslate(this.id, va, acc));
    return this.readTranslation(va, status);
  }

  /** WRMSR IA32_EFER (LMA is read-only). */
  writeEfer(v: Address): CpuException | null {
    return writeResult(this.core.exports.writeEfer(this.id, toU64(v, "efer")));
  }

  /** WRMSR IA32_PAT: #GP if an entry holds a reserved memory type. */
  writePat(v: Address): CpuException | null {
    return writeResult(this.core.exports.writePat(this.id, toU64(v, "pat")));
  }

  /** WRPKRU: #UD while CR4.PKE=0. */
  writePkru(v: number): CpuException | null {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new WasmmuError("INVALID_ARGUMENT", `pkru must be a 32-bit unsigned integer, got ${v}`);
    return writeResult(this.core.exports.writePkru(this.id, v | 0));
  }

  /** Set RFLAGS (only AC, bit 18, affects paging). */
  writeRflags(v: Address): void {
    this.core.exports.writeRflags(this.id, toU64(v, "rflags"));
  }

  /** Set CR2 (as a fault handler may). */
  writeCr2(v: Address): void {
    this.core.exports.writeCr2(this.id, toU64(v, "cr2"));
  }

  /**
   * Apply several register writes in the order an OS does them (EFER, CR0, CR4, CR3, PAT, PKRU,
   * RFLAGS, CR2), so that e.g. CR4.PCIDE is set before CR3 gets a PCID.
   * @throws WasmmuError("INVALID_ARGUMENT") naming the register when a write raises an exception.
   */
  setRegisters(w: RegisterWrites): void {
    const known = ["efer", "cr0", "cr4", "cr3", "pat", "pkru", "rflags", "cr2"] as const;
    for (const k of Object.keys(w)) {
      if (!(known as readonly string[]).includes(k)) throw new WasmmuError("INVALID_ARGUMENT", `unknown register ${k}; known: ${known.join(", ")}`);
    }
    const check = (name: string, e: CpuException | null) => {
      if (e) throw new WasmmuError("INVALID_ARGUMENT", `writing ${name} raised #${e.vector}`, { register: name, exception: e });
    };
    if (w.efer !== undefined) check("efer", this.writeEfer(w.efer));
    if (w.cr0 !== undefined) check("cr0", this.writeCr0(w.cr0));
    if (w.cr4 !== undefined) check("cr4", this.writeCr4(w.cr4));
    if (w.cr3 !== undefined) check("cr3", this.writeCr3(w.cr3));
    if (w.pat !== undefined) check("pat", this.writePat(w.pat));
    if (w.pkru !== undefined) check("pkru", this.writePkru(w.pkru));
    if (w.rflags !== undefined) this.writeRflags(w.rflags);
    if (w.cr2 !== undefined) this.writeCr2(w.cr2);
  }

  /**
   * Translate one linear address as the CPU would for one access, with a full page walk
   * (SDM §4.5–4.9). Sets A/D bits and CR2 as hardware does unless `probe` is set.
   */
  translate(vaddr: Address, opts: Omit<AccessOptions, "cpu"> = {}): Translation {
    const va = toU64(vaddr, "vaddr");
    const acc = accessFlags(opts);
    const status = this.core.guard("translate", [this.id, va, acc], () => this.core.exports.translate(this.id, va, acc));
    return this.readTranslation(va, status);
  }

  /** Like translate(), plus every entry the walk read, decoded, and why it stopped. */
  walk(vaddr: Address, opts: Omit<AccessOptions, "cpu"> = {}): Walk {
    const t = this.translate(vaddr, opts);
    const res = this.rec + this.off.res;
    const n = this.core.u32(res + this.off.levels);
    const levels: WalkLevel[] = [];
    const paging = this.machine.config.paging;
    const linuxNames = paging === 5 ? LINUX_LEVEL_NAMES_5 : LINUX_LEVEL_NAMES_4;
    const stop = STOPS[this.core.u32(res + this.off.stop)];
    const stopLevel = this.core.u32(res + this.off.stopLevel);
    const va = t.vaddr;
    for (let i = 0; i < n; i++) {
      const w = this.rec + this.off.walk + i * this.off.wSize;
      const level = this.core.u32(w + this.off.wLevel) as WalkLevel["level"];
      const value = this.core.u64(w + this.off.wBefore);
      const leaf = i === n - 1 && (t.ok || stop === "rights" || stop === "protection-key");
      levels.push({
        level,
        intelName: INTEL_LEVEL_NAMES[level],
        linuxName: linuxNames[level],
        index: levelIndex(va, level),
        entryAddress: this.core.u64(w + this.off.wPa),
        value,
        valueAfter: this.core.u64(w + this.off.wAfter),
        flags: decodeEntry(value, level, leaf, this.machine.config.maxPhyAddr),
        leaf,
      });
    }
    return { ...t, levels, stop, stopLevel };
  }

  /**
   * @internal Byte addresses in linear memory of the result record's status word (XLAT_*), #PF
   * error code and address (u64, little-endian), for the replay's fault shortcut (Replayer).
   */
  resultFields(): { status: number; errorCode: number; vaddr: number } {
    const res = this.rec + this.off.res;
    return { status: res + this.off.status, errorCode: res + this.off.errorCode, vaddr: res + this.off.vaddr };
  }

  /**
   * Every translation array of this CPU as it is now — L1 ITLB/DTLB, STLB, the paging-structure
   * caches that have entries — each with its sets × ways geometry and its valid entries at their
   * (set, way) cells. A 4 KiB entry of page `vpn` sits in set `vpn mod sets` (the low bits of the
   * page number index the set: mmu/tlbarray.ts). Read-only: no stamp or replacement state moves.
   * Pair two snapshots with diffTlbSnapshots to see fills, evictions and hits.
   */
  tlbSnapshot(): TlbSnapshot {
    return readTlbSnapshot(this.core, this.id, this.rec);
  }

  /** The translation the CPU's result record holds now (after translate, access or a replay stop). */
  lastResult(): Translation {
    const res = this.rec + this.off.res;
    return this.readTranslation(this.core.u64(res + this.off.vaddr), this.core.u32(res + this.off.status));
  }

  private readTranslation(va: bigint, status: number): Translation {
    const res = this.rec + this.off.res;
    if (status === XLAT_OK) {
      const rights = this.core.u32(res + this.off.rights);
      return {
        ok: true,
        vaddr: va,
        paddr: this.core.u64(res + this.off.paddr),
        pageSize: (1 << this.core.u32(res + this.off.pageShift)) as 4096 | 2097152 | 1073741824,
        memoryType: MEMORY_TYPES[this.core.u32(res + this.off.memType)],
        rights: {
          write: (rights & A.RIGHT_WRITE) !== 0, user: (rights & A.RIGHT_USER) !== 0, noExecute: (rights & A.RIGHT_NX) !== 0,
          global: (rights & A.RIGHT_GLOBAL) !== 0, dirty: (rights & A.RIGHT_DIRTY) !== 0, protectionKey: (rights >> A.RIGHT_PKEY_SHIFT) & 15,
        },
      };
    }
    if (status === XLAT_PF) {
      const errorCode = this.core.u32(res + this.off.errorCode);
      return { ok: false, vaddr: va, exception: { vector: "PF", vectorNumber: 14, errorCode, bits: decodePageFaultError(errorCode), cr2: va } };
    }
    if (status === A.XLAT_VMEXIT) {
      const exit = readVmExit(this.core, this.rec);
      if (exit) return { ok: false, vaddr: va, exception: { vector: "VMEXIT", exit } };
    }
    return { ok: false, vaddr: va, exception: { vector: "GP", vectorNumber: 13, errorCode: 0 } };
  }
}

/** Physical memory: RAM bytes, bounds-checked, as the CPUs see them. */
export class PhysicalMemory {
  private readonly core: Core;
  private readonly machine: Machine;

  /** @internal Created by Machine. */
  constructor(machine: Machine, core: Core) {
    this.machine = machine;
    this.core = core;
  }

  /** RAM size in bytes. */
  get size(): bigint {
    return this.machine.config.ramBytes;
  }

  /**
   * Read `size` bytes at `pa`, little-endian. Beyond RAM reads as all ones; an unbacked frame in
   * tables-only mode reads as zero; both are counted (phys_read_oob / phys_read_unbacked).
   */
  read(pa: Address, size: AccessSize = 8): bigint {
    const a = toU64(pa, "paddr");
    checkSize(size);
    return this.core.guard("physRead", [a, size], () => BigInt.asUintN(64, this.core.exports.physRead(a, size)));
  }

  /** Write the low `size` bytes of `value` at `pa`. Beyond RAM or to an unbacked frame: dropped and counted. */
  write(pa: Address, size: AccessSize, value: Address): void {
    const a = toU64(pa, "paddr");
    checkSize(size);
    const v = toU64(value, "value");
    if (v >> BigInt(size * 8) !== 0n) throw new WasmmuError("INVALID_ARGUMENT", `value 0x${v.toString(16)} does not fit in ${size} byte(s)`);
    this.core.guard("physWrite", [a, size, v], () => this.core.exports.physWrite(a, size, v));
  }

  read64(pa: Address): bigint {
    return this.read(pa, 8);
  }

  write64(pa: Address, value: Address): void {
    this.write(pa, 8, value);
  }

  /**
   * The bytes of frame `pfn` as a live view into linear memory, or null when the frame has none
   * (beyond RAM, or unbacked in tables-only mode). Writes through the view are physical writes.
   */
  frame(pfn: Address): Uint8Array | null {
    if (typeof pfn === "number" && Number.isInteger(pfn) && pfn >= 0 && this.fullBase >= 0) {
      // Full mode: RAM is one region, so a frame is arithmetic (the kernel model's hot paths).
      return pfn < this.fullFrames ? this.core.bytes(this.fullBase + pfn * 4096, 4096) : null;
    }
    const p = this.core.exports.physFramePtr(toU64(pfn, "pfn")) >>> 0;
    return p === 0 ? null : this.core.bytes(p, 4096);
  }

  /**
   * @internal Copy the 4096 bytes of `src` into frame `pfn` (zeroes when `src` is null); a frame
   * without bytes is left alone. What frame(pfn).set(src) does, without making the frame's view:
   * the in-memory swap store's swap-in, once per page.
   */
  _fillFrame(pfn: number, src: Uint8Array | null): void {
    if (src !== null && this.fullBase >= 0 && pfn >= 0 && pfn < this.fullFrames && src.length === 4096) {
      this.core.setBytes(src, this.fullBase + pfn * 4096);
      return;
    }
    const f = this.frame(pfn);
    if (f === null) return;
    if (src === null) f.fill(0); else f.set(src.subarray(0, 4096));
  }

  /** Full mode: byte offset of RAM in linear memory; -1 in tables-only mode. */
  private get fullBase(): number {
    if (this.base === undefined) this.base = this.machine.config.memory === "full" ? this.core.exports.ramRegionBase() >>> 0 : -1;
    return this.base;
  }

  private base: number | undefined;

  /** Frames of RAM. */
  private get fullFrames(): number {
    if (this.frames === undefined) this.frames = Number(this.machine.config.ramBytes / 4096n);
    return this.frames;
  }

  private frames: number | undefined;

  /**
   * Tables-only mode: give frame `pfn` bytes (zeroed) from the backing pool.
   * @returns true if backed now, false if it already was.
   * @throws WasmmuError when the machine is in full mode, pfn is beyond RAM, or the pool is full.
   */
  back(pfn: Address): boolean {
    const f = toU64(pfn, "pfn");
    const r = this.core.exports.physBackFrame(f);
    if (r === 0) return true;
    if (r === 1) return false;
    const why = r === -1 ? `every frame already has bytes in memory: "full" mode`
      : r === -2 ? `pfn 0x${f.toString(16)} is beyond RAM (${formatBytes(this.size)})`
        : `the backing pool is full (${this.core.exports.physPoolFrames()} frames; raise backedFrames)`;
    throw new WasmmuError("INVALID_ARGUMENT", `cannot back frame 0x${f.toString(16)}: ${why}`, { pfn: f, status: r });
  }

  /** Tables-only mode: return frame `pfn`'s bytes to the pool. @returns false if it had none. */
  unback(pfn: Address): boolean {
    const r = this.core.exports.physUnbackFrame(toU64(pfn, "pfn"));
    if (r === -1) throw new WasmmuError("INVALID_ARGUMENT", `unback: memory: "full" has no pool`);
    return r === 0;
  }

  /** Tables-only mode: frames backed now, and the pool's size. */
  get backing(): { backed: number; pool: number } {
    return { backed: this.core.exports.physBackedFrames(), pool: this.core.exports.physPoolFrames() };
  }
}

function checkSize(size: number): void {
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw new WasmmuError("INVALID_ARGUMENT", `access size must be 1, 2, 4 or 8, got ${size}`);
}

/** An emulated x86-64 machine. Create with {@link Machine.create}. */
export class Machine {
  /** The validated configuration, defaults filled in. */
  readonly config: Readonly<ResolvedConfig>;
  readonly phys: PhysicalMemory;
  /** The buddy allocator, zones and frame descriptors. */
  readonly frames: FrameAllocator;
  /** The core's event ring (TLB hits, walks, faults, fills, evictions), when created with `eventRing`. */
  readonly events: HardwareEvents;
  /** The core's access stamps (the last record that used each frame), when created with `accessStamps`. */
  readonly stamps: AccessStamps;
  /** The data-cache hierarchy walk references (and, in mode "all", data accesses) go through. */
  readonly caches: CacheHierarchy;
  private readonly core: Core;
  private readonly cpuList: Cpu[];
  private readonly counterNames: readonly string[];

  private constructor(core: Core, config: ResolvedConfig) {
    this.core = core;
    this.config = Object.freeze(config);
    this.phys = new PhysicalMemory(this, core);
    this.frames = new FrameAllocator(core);
    this.events = new HardwareEvents(core, config.eventRing);
    this.stamps = new AccessStamps(core);
    this.caches = new CacheHierarchy(core);
    this.cpuList = Array.from({ length: config.cpus }, (_, i) => new Cpu(this, core, i));
    this.counterNames = A.COUNTER_NAMES;
  }

  /**
   * Create a machine: validate `config`, instantiate the core, size its memory once.
   * @throws WasmmuError("INVALID_CONFIG") naming the option and its allowed range;
   *         WasmmuError("OUT_OF_MEMORY") when the host cannot provide the memory.
   */
  static async create(config: MachineConfig = {}): Promise<Machine> {
    const cfg = resolveConfig(config);
    const core = await Core.instantiate(cfg.build);
    const e = core.exports;
    const tablesOnly = cfg.memory === "tables-only";
    writeConfigBlock(core, cfg.preset, cfg.traceBatch, cfg.seed, cfg.eventRing, cfg.accessStamps, cfg.caches);
    const status = core.guard("init", [], () => e.init(cfg.ramBytes, tablesOnly, cfg.backedFrames, cfg.maxPhyAddr, cfg.cpus, cfg.featureBits, cfg.paging === 5, cfg.managedBytes));
    if (status !== 0) {
      const limit = BigInt.asUintN(64, e.initLimit());
      const messages: Record<number, [string, string]> = {
        [A.INIT_ERR_RAM_TOO_LARGE]: ["ram", `${formatBytes(cfg.ramBytes)} does not fit: wasm32 linear memory allows at most ${formatBytes(limit)} of RAM beside its frame descriptors and the core's regions; use memory: "tables-only" to model larger RAM`],
        [A.INIT_ERR_TLB_CONFIG]: ["cpu", `the core refused TLB configuration entry ${limit} (checked already on the host: please report)`],
        [A.INIT_ERR_TRACE]: ["traceBatch", `at most ${limit} records`],
        [A.INIT_ERR_EVENTS]: ["eventRing", `at most ${limit} records`],
        [A.INIT_ERR_CACHE_CONFIG]: ["cpu", `the core refused cache level ${limit} (checked already on the host; level 4 = the whole hierarchy is too large for linear memory)`],
        [A.INIT_ERR_MANAGED]: ["managedRam", `the frame descriptors of ${formatBytes(cfg.managedBytes || cfg.ramBytes)} of managed RAM do not fit beside the backing pool: at most ${formatBytes(limit)} can be managed (32 B of descriptor per 4 KiB frame); lower managedRam or backedFrames`],
        [A.INIT_ERR_POOL]: ["backedFrames", `${cfg.backedFrames} frames (${formatBytes(BigInt(cfg.backedFrames) * 4096n)}) do not fit: at most ${limit / 4096n} frames (${formatBytes(limit)}) fit in wasm32 linear memory`],
        [A.INIT_ERR_GROW]: ["ram", `the host refused ${formatBytes(tablesOnly ? BigInt(cfg.backedFrames) * 4096n : cfg.ramBytes)} of linear memory`],
      };
      const [option, msg] = messages[status] ?? ["config", `core refused the configuration (init status ${status})`];
      throw new WasmmuError(status === A.INIT_ERR_GROW ? "OUT_OF_MEMORY" : "INVALID_CONFIG", `${option}: ${msg}`, { option, status, limit });
    }
    core.attachViews();
    const m = new Machine(core, cfg);
    m.boot();
    return m;
  }

  /**
   * Hand every managed frame except the reserved ranges to the buddy allocator, then set the
   * watermarks from Linux's default min_free_kbytes (mm_init → memblock_free_all, then
   * init_per_zone_wmark_min).
   */
  private boot(): void {
    const reserved = this.config.reservedPfns.slice().sort((a, b) => a[0] - b[0]);
    const total = this.frames.managedFrames;
    let pfn = 0;
    for (const [start, end] of reserved) {
      if (start > pfn) this.frames.release(pfn, Math.min(start, total) - pfn);
      pfn = Math.max(pfn, end);
      if (pfn >= total) break;
    }
    if (pfn < total) this.frames.release(pfn, total - pfn);
    this.frames.minFreeKbytes = this.frames.defaultMinFreeKbytes;
  }

  /** CPU `id` (default 0). */
  cpu(id = 0): Cpu {
    const c = this.cpuList[id];
    if (!c) throw new WasmmuError("INVALID_ARGUMENT", `cpu must be 0..${this.cpuList.length - 1}, got ${id}`);
    return c;
  }

  /** Shorthand for `cpu(opts.cpu ?? 0).translate(vaddr, opts)`. */
  translate(vaddr: Address, opts: AccessOptions = {}): Translation {
    const { cpu, ...rest } = opts;
    return this.cpu(cpu ?? 0).translate(vaddr, rest);
  }

  /** Shorthand for `cpu(opts.cpu ?? 0).walk(vaddr, opts)`. */
  walk(vaddr: Address, opts: AccessOptions = {}): Walk {
    const { cpu, ...rest } = opts;
    return this.cpu(cpu ?? 0).walk(vaddr, rest);
  }

  /**
   * Event counters: of one CPU, of accesses the host made itself (`"host"`), or summed over all
   * (default). Names are `<unit>_<event>` as in /proc/vmstat.
   */
  counters(which: number | "host" | "all" = "all"): Record<string, bigint> {
    const n = this.counterNames.length;
    const block = (i: number) => this.core.u64Array(this.core.exports.counterRecord(i) >>> 0, n);
    const blocks = which === "all" ? Array.from({ length: this.config.cpus + 1 }, (_, i) => block(i))
      : which === "host" ? [block(this.config.cpus)] : [block(this.cpu(which).id)];
    const out: Record<string, bigint> = {};
    this.counterNames.forEach((name, i) => { out[name] = blocks.reduce((s, b) => s + b[i], 0n); });
    return out;
  }

  /**
   * TLB shootdown: each CPU in `cpus` invalidates `pages` pages from `vaddr` (INVLPG each), or,
   * with `full`, its current PCID's non-global entries. Each CPU other than `initiator` costs an
   * IPI, charged (latency.ipi) to it and to the initiator. Which to ask for is the OS's policy
   * (Linux: a full flush above tlb_single_page_flush_ceiling, src/os/tlb.ts). @returns IPIs sent
   */
  shootdown(opts: { cpus: readonly number[]; vaddr: Address; pages?: number; initiator?: number; full?: boolean }): number {
    for (const k of Object.keys(opts)) if (!["cpus", "vaddr", "pages", "initiator", "full"].includes(k)) throw new WasmmuError("INVALID_ARGUMENT", `unknown shootdown option ${k}`);
    let lo = 0;
    let hi = 0;
    for (const c of opts.cpus) {
      this.cpu(c);
      if (c < 32) lo |= 1 << c; else hi |= 1 << (c - 32);
    }
    const pages = opts.pages ?? 1;
    const initiator = opts.initiator ?? 0;
    this.cpu(initiator);
    if (!Number.isInteger(pages) || pages < 0 || pages > 0xffff_ffff) throw new WasmmuError("INVALID_ARGUMENT", `pages must be a 32-bit unsigned integer, got ${pages}`);
    return this.core.exports.shootdown(initiator, lo | 0, hi | 0, toU64(opts.vaddr, "vaddr"), pages, opts.full === true) >>> 0;
  }

  /**
   * @internal shootdown() for the kernel model's TLB code, which flushes on every reclaimed page:
   * the same core call, without the option checks (its CPUs are the ones it loaded the mm on, and
   * `vaddr` a page-aligned number). @returns IPIs sent
   */
  _shootdown(cpus: Iterable<number>, vaddr: number, pages: number, initiator: number, full: boolean): number {
    let lo = 0;
    let hi = 0;
    for (const c of cpus) if (c < 32) lo |= 1 << c; else hi |= 1 << (c - 32);
    return this.core.exports.shootdown(initiator, lo | 0, hi | 0, BigInt(vaddr), pages, full) >>> 0;
  }

  /**
   * Charge `cycles` of host policy (a major fault's device read, an IPI the host models…) to CPU
   * `cpu`'s cycle total, so per-access cycle figures include what the OS spent for that CPU.
   */
  chargeCycles(cpu: number, cycles: number): void {
    this.cpu(cpu);
    if (!Number.isInteger(cycles) || cycles < 0) throw new WasmmuError("INVALID_ARGUMENT", `cycles must be a non-negative integer, got ${cycles}`);
    const i = this.counterNames.indexOf("cycles");
    const block = this.core.u64Array(this.core.exports.counterRecord(cpu) >>> 0, this.counterNames.length);
    block[i] += BigInt(cycles);
  }

  /**
   * CPU `cpu`'s cycle total as a number (exact below 2^53): what counters(cpu).cycles gives,
   * without building every counter — for the kernel model's clock, read on every stall.
   */
  cycles(cpu: number): number {
    if (this.cyclesIndex < 0) this.cyclesIndex = this.counterNames.indexOf("cycles");
    const base = (this.core.exports.counterRecord(this.cpu(cpu).id) >>> 0) + this.cyclesIndex * 8;
    return this.core.u32(base) + this.core.u32(base + 4) * 2 ** 32;
  }

  private cyclesIndex = -1;

  /** Latencies in cycles, as the core uses them now (from the preset unless changed). */
  get latency(): Required<LatencyConfig> {
    const v = new Uint32Array(this.core.exports.memory.buffer, this.core.exports.latencyRegion() >>> 0, LATENCY_KEYS.length);
    return Object.fromEntries(LATENCY_KEYS.map((k, i) => [k, v[i]])) as unknown as Required<LatencyConfig>;
  }

  /** Change latencies while running (e.g. a device-latency experiment). Unknown keys are refused. */
  setLatency(changes: Partial<LatencyConfig>): void {
    const v = new Uint32Array(this.core.exports.memory.buffer, this.core.exports.latencyRegion() >>> 0, LATENCY_KEYS.length);
    for (const [k, val] of Object.entries(changes)) {
      const i = (LATENCY_KEYS as readonly string[]).indexOf(k);
      if (i < 0) throw new WasmmuError("INVALID_ARGUMENT", `unknown latency ${k}; known: ${LATENCY_KEYS.join(", ")}`);
      if (!Number.isInteger(val) || (val as number) < 0 || (val as number) > 1_000_000) throw new WasmmuError("INVALID_ARGUMENT", `latency.${k} must be 0..1000000 cycles, got ${val}`);
      v[i] = val as number;
    }
  }

  /** Bytes of Wasm linear memory this machine uses (RAM or pool, plus the core's regions). */
  get memoryBytes(): number {
    return this.core.memoryBytes;
  }

  /** @internal The core, for modules of this package (page-table builder, replay). */
  get _core(): Core {
    return this.core;
  }
}
