/**
 * The batch-replay driver: the host side of the core's replay loop. Trace readers write records
 * straight into the core's batch buffer (TraceBatch); Replayer runs the batch in one core call,
 * and on a fault hands it to a policy (default: DemandMapper, which maps any touched page on first
 * touch, so a raw trace of virtual addresses just works), then resumes at the faulting record.
 * No JS↔Wasm crossing per access.
 */
import type { Machine } from "./Machine.js";
import { BuddyTableSource } from "./tablesource.js";
import { WasmmuError } from "../errors.js";
import type { AccessKind, CpuException } from "../types.js";
import { decodePageFaultError } from "./decode.js";
import { X86_PF_PROT, XLAT_PF, PAGE_PRESENT, PAGE_RW, PAGE_USER, PAGE_ACCESSED, PAGE_DIRTY, PAGE_PSE } from "./pgtable.js";
import type { CoreExports } from "./core.js";

import { REC_KIND_NAMES, REC_USER, REC_KIND_MASK } from "../abi/records.js";
import { REPLAY_DONE, REPLAY_BAD_RECORD, REPLAY_EVENTS_FULL, FAULT_POLICY_HOST, FAULT_POLICY_SKIP, FAULT_POLICY_DEMAND_4K } from "../abi/core.generated.js";
export { REC_KIND, REC_USER, REC_IMPLICIT } from "../abi/records.js";

/**
 * A view of the core's trace batch buffer: records of 16 bytes (vaddr u64, size u8, kind u8,
 * cpu u16, reserved u32). Setters take the address as two 32-bit halves so parsers that hold
 * addresses as numbers never build a bigint.
 */
export class TraceBatch {
  /** Records the buffer holds. */
  readonly capacity: number;
  private readonly u32: Uint32Array;
  private readonly u8: Uint8Array;
  private readonly u16: Uint16Array;
  private readonly stage: { lo: Uint32Array; hi: Uint32Array; size: Uint8Array; kind: Uint8Array; cpu: Uint16Array };
  private readonly pack: (n: number) => void;
  private readonly ingestFn: (n: number, kindOr: number, cpus: number) => number;

  /** @internal */
  constructor(memory: WebAssembly.Memory, base: number, capacity: number, stage: number, pack: (n: number) => void,
    ingest: (n: number, kindOr: number, cpus: number) => number) {
    this.capacity = capacity;
    this.u32 = new Uint32Array(memory.buffer, base, capacity * 4);
    this.u8 = new Uint8Array(memory.buffer, base, capacity * 16);
    this.u16 = new Uint16Array(memory.buffer, base, capacity * 8);
    const b = memory.buffer;
    this.stage = {
      lo: new Uint32Array(b, stage, capacity), hi: new Uint32Array(b, stage + 4 * capacity, capacity),
      size: new Uint8Array(b, stage + 8 * capacity, capacity), kind: new Uint8Array(b, stage + 9 * capacity, capacity),
      cpu: new Uint16Array(b, stage + 10 * capacity, capacity),
    };
    this.pack = pack;
    this.ingestFn = ingest;
  }

  /**
   * Take records [0, n), copied in unchecked (setPacked with `cpuBits` 0), as a trace file holds
   * them: check that each is well-formed (reserved bytes 0; kind bits only read/write/fetch,
   * REC_USER, REC_IMPLICIT), OR `kindOr` into its kind and take its CPU id modulo `cpus` — one
   * pass in the core. @returns n, or the index of the first malformed record, left as it was read
   * (see recordBytes) with the records before it taken
   */
  ingest(n: number, kindOr: number, cpus = 1): number {
    if (!Number.isInteger(n) || n < 0 || n > this.capacity) throw new WasmmuError("INVALID_ARGUMENT", `n must be 0..${this.capacity}, got ${n}`);
    return this.ingestFn(n, kindOr & 0xff, Math.max(1, cpus)) >>> 0;
  }

  /** A copy of record `i`'s 16 bytes, as they are in the batch. */
  recordBytes(i: number): Uint8Array {
    return this.u8.slice(i * 16, i * 16 + 16);
  }

  /**
   * Write records [0, n) from struct-of-arrays (as the trace readers decode them), starting at
   * `from` in each array: five block copies, then one core call interleaves them. CPU ids are
   * taken modulo `cpus`.
   */
  setArrays(src: { lo: Uint32Array; hi: Uint32Array; size: Uint8Array; kind: Uint8Array; cpu: Uint16Array }, from: number, n: number, cpus = 1): void {
    if (n > this.capacity) throw new WasmmuError("INVALID_ARGUMENT", `at most ${this.capacity} records fit the batch, got ${n}`);
    const st = this.stage;
    st.lo.set(src.lo.subarray(from, from + n));
    st.hi.set(src.hi.subarray(from, from + n));
    st.size.set(src.size.subarray(from, from + n));
    st.kind.set(src.kind.subarray(from, from + n));
    const cpu = src.cpu.subarray(from, from + n);
    if (cpus === 1) st.cpu.fill(0, 0, n);
    else if (cpu.every((c) => c < cpus)) st.cpu.set(cpu);
    else for (let i = 0; i < n; i++) st.cpu[i] = cpu[i] % cpus;
    this.pack(n);
  }

  /**
   * Write records [0, n) from records already in the batch layout (4 words each, as wmt files and
   * PackedChunk hold them), starting at record `from` of `words`: one block copy. CPU ids are
   * taken modulo `cpus` (with one CPU, all are 0), as setArrays does; `cpuBits`, an OR of the ids
   * (PackedChunk.cpuBits), lets that pass be skipped when no id can reach `cpus`.
   */
  setPacked(words: Uint32Array, from: number, n: number, cpus = 1, cpuBits = 0xffff): void {
    if (n > this.capacity) throw new WasmmuError("INVALID_ARGUMENT", `at most ${this.capacity} records fit the batch, got ${n}`);
    const u32 = this.u32;
    u32.set(words.subarray(from * 4, (from + n) * 4), 0);
    if (cpuBits < cpus && (cpuBits & (cpuBits + 1)) === 0) return; // every id ≤ cpuBits < cpus
    for (let i = 0; i < n; i++) {
      const w2 = u32[4 * i + 2];
      const cpu = w2 >>> 16;
      if (cpu >= cpus) u32[4 * i + 2] = (w2 & 0xffff) | ((cpu % cpus) << 16);
    }
  }

  /** Write record `i`: address halves, size in bytes, kind byte (REC_KIND | REC_USER …), CPU. */
  set(i: number, lo: number, hi: number, size: number, kind: number, cpu: number): void {
    const w = i << 2;
    this.u32[w] = lo;
    this.u32[w + 1] = hi;
    const b = i << 4;
    this.u8[b + 8] = size;
    this.u8[b + 9] = kind;
    this.u16[(i << 3) + 5] = cpu;
    this.u32[w + 3] = 0;
  }

  /** Write record `i` from a number (< 2^53) or bigint address. */
  setAddress(i: number, vaddr: number | bigint, size: number, kind: number, cpu: number): void {
    if (typeof vaddr === "bigint") this.set(i, Number(vaddr & 0xffff_ffffn), Number((vaddr >> 32n) & 0xffff_ffffn), size, kind, cpu);
    else this.set(i, vaddr >>> 0, Math.floor(vaddr / 4294967296) >>> 0, size, kind, cpu);
  }

  /** Kind byte of record `i`. */
  kindAt(i: number): number {
    return this.u8[(i << 4) + 9];
  }

  /** CPU of record `i`. */
  cpuAt(i: number): number {
    return this.u16[(i << 3) + 5];
  }

  /** Read back record `i` (for error messages and tests). */
  get(i: number): { vaddr: bigint; size: number; kind: number; cpu: number } {
    const w = i << 2;
    return {
      vaddr: (BigInt(this.u32[w + 1]) << 32n) | BigInt(this.u32[w]),
      size: this.u8[(i << 4) + 8],
      kind: this.u8[(i << 4) + 9],
      cpu: this.u16[(i << 3) + 5],
    };
  }
}

/** A fault the replay loop stopped on. */
export interface ReplayFault {
  /** Index of the record in the batch. */
  index: number;
  cpu: number;
  vaddr: bigint;
  kind: AccessKind;
  user: boolean;
  exception: CpuException;
}

/**
 * What a fault policy decided: resume at the same record, skip it, stop the replay, or wait for
 * an I/O (a page read from a device) and then resume at the same record. Only runAsync waits;
 * run() stops at such a fault (ReplayResult.stopped.reason "wait").
 */
export type FaultDecision = "retry" | "skip" | "stop" | { wait: Promise<unknown> };
/**
 * Decides what a fault means. It may carry `notPresent`, a shortcut for the commonest fault of a
 * replay, a not-present #PF: Replayer then calls it with the faulting address as two 32-bit
 * halves (from the CPU's result record) and the #PF error code (X86_PF_*, P clear) instead of
 * building a ReplayFault, with its bigints and objects, a million times per run. It must decide
 * exactly as the function would for that fault.
 */
export type FaultPolicy = ((fault: ReplayFault) => FaultDecision) & {
  notPresent?: (vaddrLo: number, vaddrHi: number, cpu: number, errorCode: number) => FaultDecision;
  /**
   * Why the policy's last "stop" was decided, when the fault itself is not the reason: the policy
   * could not resolve it for want of memory (DemandMapper out of frames). Replayer asks right
   * after a "stop" and reports it as ReplayResult.stopped; null (or no function) means the policy
   * refused the fault.
   */
  stopReason?: () => { reason: "out-of-memory"; message: string } | null;
  /**
   * The part of the policy the core can apply itself, so that those faults never return to
   * JavaScript one by one (see CoreFaultPolicy). Faults it does not cover still come to the
   * function, which must decide them as it always would.
   */
  core?: CoreFaultPolicy;
};

/**
 * A fault policy the replay loop applies inside the core, to not-present #PFs only (error code
 * P=0; every other fault still goes to the policy function):
 * - "skip": count the fault and go on with the next record (the access is dropped);
 * - "demand-4k": map the 4 KiB page under `root` (a frame from the buddy allocator; the leaf and
 *   any missing table P|RW|US with A and D clear), then retry the record. When there is no frame,
 *   the fault goes to the policy function. `resolved` is told how many faults the core resolved
 *   after each core call.
 */
export type CoreFaultPolicy =
  | { kind: "skip" }
  | { kind: "demand-4k"; root: bigint; levels: number; resolved?: (n: number) => void };

/**
 * Count-and-skip: a not-present #PF is counted (ReplayResult.faults) and its record skipped, in
 * the core; any other fault stops the replay. For traces whose unmapped addresses are to be
 * dropped, not mapped.
 */
export const countAndSkip: FaultPolicy = Object.assign(
  (f: ReplayFault): FaultDecision => (f.exception.vector === "PF" && !f.exception.bits.present ? "skip" : "stop"),
  { notPresent: (): FaultDecision => "skip", core: { kind: "skip" } as CoreFaultPolicy },
);

/**
 * The default policy for raw traces: map any touched page on first touch (user, writable,
 * executable), 4 KiB pages or 2 MiB pages where asked, frames and tables from the buddy allocator.
 * By default all CPUs share one address space (threads of one process), whose top-level table
 * this creates and loads into every CPU's CR3; `spaces` gives CPUs address spaces of their own
 * (processes: one top-level table per space, loaded on the CPUs of that space). Entries are
 * written by the core's ptMap (one call per fault).
 *
 * Pages are mapped clean (P|RW|US, A and D left for the walker to set), as a first touch finds
 * them; with `accessedDirty` leaves are mapped with A and D set and tables with A (what
 * `--premap` wants: a warmed-up process whose pages have all been used).
 *
 * Running out of frames is the trace's doing (it touches more than the machine's RAM), not a host
 * error: the policy then says "stop" and its stopReason() is "out-of-memory" with a message, so
 * the replay ends with ReplayResult.stopped and the records before the fault counted; nothing is
 * thrown and no frame is left allocated for the page that could not be mapped.
 */
export class DemandMapper {
  /** The top-level table of address space 0 (every CPU's, unless `spaces` says otherwise). */
  readonly root: bigint;
  /** The top-level table of each address space. */
  readonly roots: readonly bigint[];
  private readonly machine: Machine;
  private readonly huge: boolean;
  private readonly levels: number;
  private readonly ptMap: CoreExports["ptMap"];
  /** Per CPU: the root of its address space. */
  private readonly cpuRoot: bigint[];
  private readonly leaf4k: bigint;
  private readonly leaf4kBits: number;
  private readonly leaf2m: bigint;
  private readonly table: bigint;
  /** Pages mapped, by size. */
  readonly mapped = { "4K": 0, "2M": 0 };
  /** Set when a fault could not be resolved for want of frames: what ran out. */
  private exhausted: string | null = null;

  /**
   * Create the address spaces and load them into the CPUs' CR3.
   * @param opts.spaces per CPU, the index of its address space (default: all 0, one shared space)
   * @throws WasmmuError OUT_OF_MEMORY when there is no frame for a top-level table
   */
  constructor(machine: Machine, opts: { pages?: "4k" | "2m"; spaces?: readonly number[]; accessedDirty?: boolean } = {}) {
    this.machine = machine;
    this.huge = opts.pages === "2m";
    this.levels = machine.config.paging;
    this.ptMap = machine._core.exports.ptMap;
    const ad = opts.accessedDirty === true;
    this.leaf4k = ad ? LEAF_4K | PAGE_A_D : LEAF_4K;
    this.leaf4kBits = Number(this.leaf4k);
    this.leaf2m = ad ? LEAF_2M | PAGE_A_D : LEAF_2M;
    this.table = ad ? TABLE | PAGE_A : TABLE;
    const cpus = machine.config.cpus;
    const spaces = opts.spaces ?? new Array<number>(cpus).fill(0);
    if (spaces.length !== cpus || spaces.some((x) => !Number.isInteger(x) || x < 0 || x >= cpus)) {
      throw new WasmmuError("INVALID_ARGUMENT", `spaces must give each of the ${cpus} CPUs a space 0..${cpus - 1}`);
    }
    const roots: bigint[] = [];
    for (let sp = 0; sp <= Math.max(...spaces); sp++) {
      const root = new BuddyTableSource(machine).allocTable();
      if (root === null) throw new WasmmuError("OUT_OF_MEMORY", "no frame for the replay address space's top-level table");
      roots.push(root);
    }
    this.roots = roots;
    this.root = roots[0];
    this.cpuRoot = spaces.map((sp) => roots[sp]);
    // 4 KiB pages, clean, in one shared space: the core maps them itself (the same frame from the
    // buddy allocator and the same P|RW|US entries mapHalves writes). Mapping A/D set
    // (accessedDirty) or into several spaces stays with the host.
    if (!this.huge && !ad && roots.length === 1) {
      this.policy.core = { kind: "demand-4k", root: this.root, levels: this.levels, resolved: (n: number) => { this.mapped["4K"] += n; } };
    }
    for (let i = 0; i < cpus; i++) {
      const e = machine.cpu(i).writeCr3(this.cpuRoot[i]);
      if (e) throw new WasmmuError("CORE_TRAP", `loading the replay address space into CR3 raised #${e.vector}`);
    }
  }

  /** The policy function: maps not-present faults, refuses everything else; "stop" when out of frames. */
  readonly policy: FaultPolicy = Object.assign((f: ReplayFault): FaultDecision => {
    if (f.exception.vector !== "PF" || f.exception.bits.present) {
      this.exhausted = null;
      return "stop";
    }
    return this.map(f.vaddr, f.cpu) ? "retry" : "stop";
  }, {
    notPresent: (lo: number, hi: number, cpu: number): FaultDecision => (this.mapHalves(lo, hi, cpu) ? "retry" : "stop"),
    stopReason: () => (this.exhausted === null ? null : { reason: "out-of-memory" as const, message: this.exhausted }),
  });

  /**
   * map() for an address given as 32-bit halves: with 4 KiB pages the page's address and its PTE
   * are each built as one bigint from numbers (what the fault shortcut of Replayer saves).
   * @returns false when there was no frame for the page or a page table (nothing mapped)
   */
  mapHalves(lo: number, hi: number, cpu = 0): boolean {
    // Exact as a number below 2^53: every user-half address of 4- and 5-level paging.
    if (this.huge || hi >= 0x20_0000) return this.map((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), cpu);
    const pfn = this.machine.frames.allocPage();
    if (pfn === null) return this.outOfFrames("a page");
    const va = BigInt(hi * 4294967296 + ((lo & ~PAGE_OFFSET_MASK) >>> 0));
    return this.mapped4k(this.ptMap(this.cpuRoot[cpu], this.levels, va, 1, BigInt(pfn * 4096 + this.leaf4kBits), this.table), pfn);
  }

  /**
   * Map the page containing `vaddr` in CPU `cpu`'s address space (2 MiB when asked and that 2 MiB
   * region has no 4 KiB table yet).
   * @returns false when there was no frame for the page or a page table (nothing mapped)
   */
  map(vaddr: bigint, cpu = 0): boolean {
    const e = this.machine._core.exports;
    const va = BigInt.asUintN(64, vaddr);
    const root = this.cpuRoot[cpu];
    if (this.huge) {
      const pmd = BigInt.asUintN(64, e.ptEntryAddress(root, this.levels, va, 2));
      if (pmd === 0n || this.machine.phys.read64(pmd) === 0n) {
        const pfn = this.machine.frames.alloc(9);
        if (pfn !== null) {
          const status = e.ptMap(root, this.levels, va & ~0x1f_ffffn, 2, (BigInt(pfn) << 12n) | this.leaf2m, this.table);
          if (status === 0) {
            this.mapped["2M"]++;
            return true;
          }
          this.machine.frames.free(pfn, 9);
          if (status !== PTMAP_NO_MEMORY) throw refused(status);
          return this.outOfFrames("a page table");
        }
      }
    }
    const pfn = this.machine.frames.allocPage();
    if (pfn === null) return this.outOfFrames("a page");
    return this.mapped4k(e.ptMap(root, this.levels, va & ~0xfffn, 1, (BigInt(pfn) << 12n) | this.leaf4k, this.table), pfn);
  }

  /** Account for ptMap's `status` of a 4 KiB mapping of frame `pfn`; on failure the frame is freed. */
  private mapped4k(status: number, pfn: number): boolean {
    if (status === 0) {
      this.mapped["4K"]++;
      return true;
    }
    this.machine.frames.freePage(pfn);
    if (status !== PTMAP_NO_MEMORY) throw refused(status);
    return this.outOfFrames("a page table");
  }

  private outOfFrames(what: string): false {
    this.exhausted = `demand paging ran out of frames (no frame for ${what}) after mapping ${this.mapped["4K"]} 4 KiB and ${this.mapped["2M"]} 2 MiB pages: the trace touches more than the machine's RAM`;
    return false;
  }
}

/** ptMap's status when the buddy allocator has no frame for a table it needs (assembly/mmu/ptmap.ts). */
const PTMAP_NO_MEMORY = -1;

function refused(status: number): WasmmuError {
  return new WasmmuError("CORE_TRAP", `ptMap refused a demand mapping (status ${status})`);
}

/** P|RW|US: leaves and tables of the demand-mapped address space (A and D left for the walker). */
const TABLE = PAGE_PRESENT | PAGE_RW | PAGE_USER;
const LEAF_4K = TABLE;
/** A: what a table needs to look used; A|D: a leaf that was written. */
const PAGE_A = PAGE_ACCESSED;
const PAGE_A_D = PAGE_ACCESSED | PAGE_DIRTY;
/** Bits of an address below its 4 KiB page. */
const PAGE_OFFSET_MASK = 0xfff;
const LEAF_2M = TABLE | PAGE_PSE;

/**
 * Why a replay stopped before the end of the batch:
 * - "fault": the policy refused a fault (`fault` says which);
 * - "bad-record": the record is malformed (reserved bits set, an unknown kind);
 * - "out-of-memory": the policy could not resolve the fault for want of memory (DemandMapper: no
 *   frame left for the page or a page table); `fault` and `message` say which and what ran out;
 * - "wait" (run() only): the fault must wait for an I/O; `wait` is the promise (runAsync waits).
 * The records before `index` were replayed; the one at `index` was not.
 */
export type ReplayStopReason = "fault" | "bad-record" | "out-of-memory" | "wait";

export interface ReplayResult {
  /** Records completed. */
  completed: number;
  /** Faults resolved by the policy (retried or skipped). */
  faults: number;
  /** Set when the replay stopped early (see ReplayStopReason); `wait` (reason "wait", run() only) is the I/O to wait for before running again from `index`. */
  stopped?: { index: number; reason: ReplayStopReason; fault?: ReplayFault; message?: string; wait?: Promise<unknown> };
}

/** Runs batches through the core's replay loop, resolving faults with a policy. */
export class Replayer {
  readonly batch: TraceBatch;
  private readonly machine: Machine;
  private readonly policy: FaultPolicy;
  /** Per CPU: byte addresses of its result record's status, error code and address (resultFields). */
  private readonly results: { status: number; errorCode: number; vaddr: number }[];

  constructor(machine: Machine, policy: FaultPolicy) {
    this.machine = machine;
    this.policy = policy;
    const e = machine._core.exports;
    this.batch = new TraceBatch(e.memory, e.traceBuffer() >>> 0, e.traceCapacityRecords() >>> 0, e.traceStage() >>> 0, (n) => e.packRecords(n),
      (n, kindOr, cpus) => e.ingestRecords(n, kindOr, cpus));
    this.results = Array.from({ length: machine.config.cpus }, (_, i) => machine.cpu(i).resultFields());
  }

  /** Replay records [0, count) of the batch buffer. A fault that must wait stops it (reason "wait"). */
  run(count: number): ReplayResult {
    return this.runFrom(0, count, 0);
  }

  /**
   * Replay records [0, count), waiting where a fault must wait for an I/O (a file or swap backend
   * on a real device) and resuming at that record. Without such faults it does exactly what run()
   * does, in one synchronous stretch.
   */
  async runAsync(count: number): Promise<ReplayResult> {
    let r = this.runFrom(0, count, 0);
    while (r.stopped?.reason === "wait") {
      await r.stopped.wait;
      r = this.runFrom(r.stopped.index, count, r.faults);
    }
    return r;
  }

  private runFrom(first: number, count: number, faultsSoFar: number): ReplayResult {
    if (!Number.isInteger(count) || count < 0 || count > this.batch.capacity) {
      throw new WasmmuError("INVALID_ARGUMENT", `count must be 0..${this.batch.capacity}, got ${count}`);
    }
    const e = this.machine._core.exports;
    const core = this.policy.core;
    if (core === undefined) return this.runLoop(first, count, faultsSoFar);
    if (core.kind === "skip") e.replaySetFaultPolicy(FAULT_POLICY_SKIP, 0n, 4);
    else e.replaySetFaultPolicy(FAULT_POLICY_DEMAND_4K, core.root, core.levels);
    try {
      return this.runLoop(first, count, faultsSoFar);
    } finally {
      // The policy belongs to this call: the core is shared with every other user of the machine.
      e.replaySetFaultPolicy(FAULT_POLICY_HOST, 0n, 4);
      this.takeResolved();
    }
  }

  /** Faults the core's policy resolved since the last call, reported to the policy. */
  private takeResolved(): number {
    const n = this.machine._core.exports.replayTakeResolved() >>> 0;
    const core = this.policy.core;
    if (n > 0 && core?.kind === "demand-4k") core.resolved?.(n);
    return n;
  }

  private runLoop(first: number, count: number, faultsSoFar: number): ReplayResult {
    const e = this.machine._core.exports;
    const withCore = this.policy.core !== undefined;
    let start = first;
    let faults = faultsSoFar;
    while (start < count) {
      let at: number;
      try {
        at = e.replay(start, count) >>> 0;
      } catch (err) {
        // A trap is a core bug: name the call (guard's message) without a closure per resume.
        this.machine._core.guard("replay", [start, count], () => { throw err; });
        throw err;
      }
      if (withCore) faults += this.takeResolved();
      const status = e.replayStatusWord() >>> 0;
      if (status === REPLAY_EVENTS_FULL) {
        this.machine.events.flush();
        start = at;
        continue;
      }
      if (this.machine.events.capacity > 0) this.machine.events.flush();
      if (status === REPLAY_DONE) return { completed: count, faults };
      if (status === REPLAY_BAD_RECORD) return { completed: at, faults, stopped: { index: at, reason: "bad-record" } };
      let decision: FaultDecision | null = null;
      const notPresent = this.policy.notPresent;
      if (notPresent !== undefined) {
        // The shortcut: a not-present #PF, read from the result record as numbers.
        const cpu = this.batch.cpuAt(at);
        const r = this.results[cpu];
        const core = this.machine._core;
        const errorCode = core.u32(r.errorCode);
        if (core.u32(r.status) === XLAT_PF && (errorCode & X86_PF_PROT) === 0) {
          decision = notPresent(core.u32(r.vaddr), core.u32(r.vaddr + 4), cpu, errorCode);
        }
      }
      if (decision === null || decision === "stop") {
        const fault = this.faultAt(at);
        decision ??= this.policy(fault);
        if (decision === "stop") {
          const why = this.policy.stopReason?.() ?? null;
          return { completed: at, faults, stopped: why === null ? { index: at, reason: "fault", fault } : { index: at, reason: why.reason, fault, message: why.message } };
        }
      }
      if (typeof decision === "object") return { completed: at, faults, stopped: { index: at, reason: "wait", wait: decision.wait } };
      faults++;
      start = decision === "skip" ? at + 1 : at;
    }
    return { completed: count, faults };
  }

  /** The fault record `index` stopped on, read from the batch and the CPU's result record. */
  private faultAt(index: number): ReplayFault {
    const b = this.batch;
    const kind = b.kindAt(index);
    const cpu = b.cpuAt(index);
    const t = this.machine.cpu(cpu).lastResult();
    return {
      index,
      cpu,
      vaddr: t.vaddr,
      kind: REC_KIND_NAMES[kind & REC_KIND_MASK] ?? "read",
      user: (kind & REC_USER) !== 0,
      exception: t.ok ? { vector: "PF", vectorNumber: 14, errorCode: 0, bits: decodePageFaultError(0), cr2: t.vaddr } : t.exception,
    };
  }

}
