/**
 * One replay on one machine (ReplaySession): its page policy set up, the trace's records fed in
 * chunks, the counting windows (skip, warm-up, limit), the report's time series and the interval
 * rows, and the summary with what ran. The driver (replay.ts) feeds it from one reader; `wasmmu
 * sweep --mode shared-read` feeds many sessions from one reader.
 */
import { basename } from "node:path";
import { Machine } from "../machine/Machine.js";
import { Replayer, DemandMapper, type FaultDecision, type FaultPolicy, type ReplayFault } from "../machine/replay.js";
import type { DeferredCheck, TraceChunk } from "../trace/index.js";
import { PackedChunk } from "../trace/decoder.js";
import { STDIN_NAME } from "../trace/open.js";
import { deferredCheckError } from "../trace/wmt.js";
import { WasmmuError } from "../errors.js";
import { walkCounts, type ReplaySummary } from "./summary.js";
import type { MachineConfig } from "../types.js";
import { UsageError } from "./args.js";
import { checkReportPath, renderReplayReport, writeReport, type WindowCounts } from "./report.js";
import { TraceProcess, type TraceKernelCounts } from "../os/traceproc.js";
import { FutureReferencesBuilder, type FutureReferences } from "../os/future.js";
import { openInput, type InputSpec, type InterleaveRule, type OpenedInput } from "./input.js";
import { SCHEMA_VERSION, effectivePreset, wasmmuVersion, type EffectiveConfig, type TraceIdentity } from "./provenance.js";
import { delta, INTERVAL_CYCLES_BATCH, type IntervalRow, type IntervalSpec } from "./intervals.js";
import { vendorCounts, vendorEvents } from "../machine/presets/events.js";
import { premapPages } from "./premap.js";
import { optionsRecord } from "./config-file.js";
import { resolveConfig } from "../machine/config.js";
import { identityEptFrames, runAsGuest } from "../machine/ept.js";
import type { JobOptions, ReplayOptions } from "./replay.js";

/** Where a replay whose --ram was not given goes when 1 GiB of full memory is too little. */
export const AUTO_RAM = "16GiB";

interface Snapshot {
  all: Record<string, number>;
  per: Record<string, number>[];
}

function numbers(c: Record<string, bigint>): Record<string, number> {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Number(v)]));
}

function snapshot(m: Machine, perCpu: boolean): Snapshot {
  return { all: numbers(m.counters("all")), per: perCpu ? Array.from({ length: m.config.cpus }, (_, i) => numbers(m.counters(i))) : [] };
}

const WALK_CAUSES = ["dtlb_load_misses.miss_causes_a_walk", "dtlb_store_misses.miss_causes_a_walk", "itlb_misses.miss_causes_a_walk"];

/** One window of the report's time series: the counters' change between two samples. */
function windowBetween(a: Record<string, number>, b: Record<string, number>, end: number, accesses: number,
  mappedA: { "4K": number; "2M": number }, mappedB: { "4K": number; "2M": number }): WindowCounts {
  const d = (k: string) => (b[k] ?? 0) - (a[k] ?? 0);
  return {
    end, accesses,
    fetches: d("access_fetch"), data: d("access_load") + d("access_store"),
    l1iHit: d("tlb_l1i_hit"), l1dHit: d("tlb_l1d_hit"),
    walks: WALK_CAUSES.reduce((t, k) => t + d(k), 0),
    cycles: d("cycles"), cyclesTranslation: d("cycles_translation"),
    new4k: mappedB["4K"] - mappedA["4K"], new2m: mappedB["2M"] - mappedA["2M"],
  };
}

/** Per CPU, the index of its address space. */
export function spacesOf(o: Pick<JobOptions, "cpus" | "addressSpaces" | "perCpu">): number[] {
  const priv = (o.addressSpaces ?? (o.perCpu ? "private" : "shared")) === "private";
  return Array.from({ length: o.cpus }, (_, i) => (priv ? i : 0));
}

/**
 * One configuration's replay, fed chunk by chunk: a fresh machine under the page policy, the
 * skip, warm-up and limit windows, the report's time series and the interval rows, and the
 * summary at the end. replayInput drives one session from its own reader; `wasmmu sweep --mode
 * shared-read` drives many sessions from one reader, each seeing the same chunks, so both give
 * the same numbers. Life: create (the machine: options checked) → prepare (reads the trace in
 * advance when the policy needs it: OPT's future, --premap's pages) → feed… → finish.
 */
export class ReplaySession {
  private readonly o: ReplayOptions;
  private readonly paths: string[];
  private readonly m: Machine;
  private readonly perCpuCounters: boolean;
  /** Demand mapping (first touch or premap), or the kernel model's processes (--os linux): exactly one is set once prepared. */
  private mapper: DemandMapper | null = null;
  private proc: TraceProcess | null = null;
  private r: Replayer | null = null;
  /** Report windows in accesses; 0 turns sampling off (the loop pays one comparison with Infinity). */
  private readonly win: number;
  private nonCanonical = 0;
  private seen = 0;        // records read from the trace (skipped ones included)
  private replayed = 0;    // records replayed
  private base: Snapshot | null = null;
  private baseKernel: TraceKernelCounts | null = null;
  private baseMapped = { "4K": 0, "2M": 0 };
  private premapped = { "4K": 0, "2M": 0 };
  private baseSkipped = 0;
  private baseReplayed = 0;
  private partialReason: string | undefined;
  /** Stopped by Ctrl-C or by running out of memory: the statistics so far are the answer, even if empty. */
  private stoppedEarly = false;
  /** Stopped for want of memory (the auto-RAM retry's cue). */
  private outOfMemory = false;
  /** The record (1-based, skipped ones included) the replay stopped at, when something stopped it. */
  private stoppedAt: number | null = null;
  private done = false;
  // Time series for the report: the counters every `win` accesses after warm-up.
  private readonly windows: WindowCounts[] = [];
  private nextWindow = Infinity;
  private prevWindow: Record<string, number> | null = null;
  private prevMapped = { "4K": 0, "2M": 0 };
  private prevAt = 0;
  // Interval rows.
  private nextInterval = Infinity;
  private nextCycleMark = Infinity;
  private prevInterval: Snapshot | null = null;
  private intervalAt = 0;
  private intervals = 0;
  /** When the session began (for OPT, before the trace was read in advance: that pass is part of its time). */
  private readonly started: number;

  private constructor(paths: string[], o: ReplayOptions, m: Machine, win: number) {
    this.started = performance.now();
    this.paths = paths;
    this.o = o;
    this.m = m;
    this.win = win;
    this.perCpuCounters = o.cpus > 1;
  }

  /**
   * A session on a fresh machine built from `o` (its policy set up by prepare()).
   * @param paths the trace, or one per CPU: for messages and the summary
   * @throws UsageError on a bad --window; WasmmuError on a bad configuration or report path
   */
  static async create(paths: string | string[], o: ReplayOptions): Promise<ReplaySession> {
    const list = typeof paths === "string" ? [paths] : paths;
    // OPT's future and --premap's pages are read in a pass before the replay: a pipe cannot be.
    if (list.includes("-") && o.os?.reclaim === "opt") {
      throw new WasmmuError("INVALID_CONFIG", "os.reclaim: opt reads the trace once in advance, so it cannot replay standard input (-); give a file", { option: "os.reclaim" });
    }
    if (list.includes("-") && o.premap === true) {
      throw new WasmmuError("INVALID_CONFIG", "premap: reads the trace once in advance, so it cannot replay standard input (-); give a file", { option: "premap" });
    }
    const win = o.report !== undefined ? (o.window ?? 10000) : 0;
    if (o.report !== undefined) {
      if (!Number.isInteger(win) || win < 1) throw new UsageError(`--window must be a positive integer, got ${o.window}`);
      await checkReportPath(o.report);
    }
    const config: MachineConfig = {
      cpu: o.cpu, overrides: o.overrides, paging: o.paging, ram: o.ram, memory: o.memory, cpus: o.cpus,
      ...(o.os?.reclaim === "lru" ? { accessStamps: true } : {}), ...(o.caches !== undefined ? { caches: o.caches } : {}),
    };
    // --vm: the EPT's frames at the top of RAM, kept from the guest (the hypervisor's memory).
    let eptArea: { start: bigint; end: bigint } | undefined;
    let m: Machine;
    try {
      if (o.vm !== undefined) {
        const ramBytes = resolveConfig(config).ramBytes;
        eptArea = { start: ramBytes - BigInt(identityEptFrames(ramBytes, o.vm)) * 4096n, end: ramBytes };
        config.reserved = [{ start: 0, end: 0x10_0000 }, eptArea];
      }
      m = await Machine.create(config);
      if (o.vm !== undefined && eptArea !== undefined) runAsGuest(m, o.vm, eptArea);
    } catch (e) {
      throw asFlagError(e);
    }
    return new ReplaySession(list, o, m, win);
  }

  /**
   * Set up the page policy; reads the trace in advance when it must (OPT's future; --premap's
   * pages), through `open` (default: the session's paths as its options say).
   * @throws WasmmuError for a configuration the policy refuses (RAM too small to boot the kernel model…)
   */
  async prepare(open?: () => Promise<OpenedInput>): Promise<void> {
    if (this.r !== null) return;
    const o = this.o;
    const m = this.m;
    const reopen = open ?? (() => openInput(this.spec(), {}));
    const spaces = spacesOf(o);
    if (o.os !== undefined) {
      const future = o.os.reclaim === "opt" ? await readFuture(await reopen(), o) : undefined;
      try {
        this.proc = TraceProcess.start(m, { ...o.os, frames: o.os.frames ?? undefined, spaces, ...(future !== undefined ? { future } : {}) });
      } catch (e) {
        throw asFlagError(e);
      }
      this.r = new Replayer(m, this.proc.policy);
    } else {
      const mapper = new DemandMapper(m, { pages: o.pages === "4k" ? "4k" : "2m", spaces, accessedDirty: o.premap === true });
      this.mapper = mapper;
      // A not-present #PF goes to the mapper either way; with 4 KiB pages in one clean space the
      // core resolves it itself (mapper.policy.core, as for a DemandMapper used alone), so only
      // other faults (a non-canonical #GP, counted and skipped here) come back to this function.
      const policy: FaultPolicy = Object.assign((f: ReplayFault): FaultDecision => {
        if (f.exception.vector === "GP") { this.nonCanonical++; return "skip"; }
        return mapper.policy(f);
      }, { notPresent: mapper.policy.notPresent, stopReason: mapper.policy.stopReason, ...(mapper.policy.core !== undefined ? { core: mapper.policy.core } : {}) });
      this.r = new Replayer(m, policy);
      if (o.premap) {
        const r = await premapPages(await reopen(), mapper, o, m.config.paging, spaces);
        if (r.outOfMemory !== null) this.stop(`--premap: ${r.outOfMemory} (--ram ${o.ram}${o.memory === "full" ? "" : `, --memory ${o.memory}`})`, true);
        this.premapped = { ...mapper.mapped };
      }
    }
    if (o.warmup === 0) this.takeBase();
  }

  /** The input the session's options describe. */
  private spec(): InputSpec {
    return { paths: this.paths, perCpu: this.o.perCpu === true, format: this.o.format, interleave: this.o.interleave ?? "auto", quantum: this.o.quantum ?? 1 };
  }

  /** Records one core call takes: the chunk size a reader should produce for this session. */
  get batchRecords(): number {
    return this.m._core.exports.traceCapacityRecords() >>> 0;
  }

  /** Whether the replay stopped for want of memory with --ram not given (replayInput then runs it again with more). */
  get wantsMoreMemory(): boolean {
    return this.outOfMemory && this.o.ramAuto === true && this.o.memory === "full";
  }

  /** What the header says when wantsMoreMemory sent the replay round again with AUTO_RAM. */
  get moreMemoryNote(): string {
    const at = this.stoppedAt !== null ? `ran out at record ${this.stoppedAt.toLocaleString("en-US")}` : "was too little";
    return `--ram not given: ${this.o.ram} ${at}, so the trace was replayed again with ${AUTO_RAM} in tables-only mode (page tables have bytes, data pages do not)`;
  }

  /**
   * Pages mapped so far: by the demand mapper, or by the kernel model's faults (one 4 KiB page
   * each, or a 2 MiB one for each huge page a fault allocated: thp_fault_alloc).
   */
  private mapped(): { "4K": number; "2M": number } {
    if (this.mapper !== null) return { ...this.mapper.mapped };
    const c = (this.proc as TraceProcess).counts();
    return { "4K": c.minorFaults + c.majorFaults - c.thp_fault_alloc, "2M": c.thp_fault_alloc };
  }

  /** Non-canonical records skipped so far. */
  private skippedNonCanonical(): number {
    return this.proc !== null ? this.proc.counts().nonCanonical : this.nonCanonical;
  }

  /** Records replayed so far (warm-up included). */
  get replayedRecords(): number {
    return this.replayed;
  }

  /** Counting begins: the counters' base, and the first window and interval marks. */
  private takeBase(): void {
    this.base = snapshot(this.m, this.perCpuCounters);
    this.baseKernel = this.proc?.counts() ?? null;
    this.baseMapped = this.mapped();
    this.baseSkipped = this.skippedNonCanonical();
    this.baseReplayed = this.replayed;
    this.prevAt = this.replayed;
    if (this.win > 0) { this.nextWindow = this.replayed + this.win; this.prevWindow = this.base.all; this.prevMapped = { ...this.baseMapped }; }
    const iv = this.o.interval;
    if (iv !== undefined) {
      this.prevInterval = this.base;
      this.intervalAt = this.replayed;
      if (iv.unit === "accesses") this.nextInterval = this.replayed + iv.every;
      else this.nextCycleMark = this.cpuCycles() + iv.every;
    }
  }

  /**
   * Replay a chunk (any size: it is cut into batches).
   * @returns false once the session wants no more chunks (limit reached, interrupted, stopped)
   * @throws WasmmuError BAD_INPUT when a record stops the replay (a fault the mapper refuses)
   */
  feed(chunk: TraceChunk): boolean {
    if (this.done) return false;
    const r = this.r;
    if (r === null) throw new WasmmuError("INVALID_ARGUMENT", "ReplaySession.feed before prepare()");
    const o = this.o;
    const cap = o.interval?.unit === "cycles" ? Math.min(r.batch.capacity, INTERVAL_CYCLES_BATCH) : r.batch.capacity;
    // An unchecked chunk (openTrace's deferCheck: an uncompressed wmt file): its records are
    // checked in the core as they are taken into the batch; skipped ones here.
    const check = chunk instanceof PackedChunk ? chunk.deferredCheck : undefined;
    let i = 0;
    while (i < chunk.count) {
      if (o.interrupted()) { this.stop("interrupted"); return false; }
      if (o.limit !== null && this.replayed >= o.limit) { this.done = true; return false; }
      // Skip, then fill the batch with up to the warm-up boundary or the limit.
      if (this.seen < o.skip) {
        const n = Math.min(o.skip - this.seen, chunk.count - i);
        if (check !== undefined) this.checkSkipped(chunk as PackedChunk, check, i, n);
        this.seen += n; i += n; continue;
      }
      let n = Math.min(chunk.count - i, cap);
      if (o.limit !== null) n = Math.min(n, o.limit - this.replayed);
      if (this.base === null) n = Math.min(n, o.warmup - this.replayed);
      const boundary = Math.min(this.nextWindow, this.nextInterval);
      if (n > boundary - this.replayed) n = boundary - this.replayed;
      let malformed: Error | null = null;
      if (check !== undefined) {
        r.batch.setPacked(chunk.packed as Uint32Array, i, n, 1, 0);
        const k = r.batch.ingest(n, check.kindOr, o.cpus);
        if (k < n) { malformed = deferredCheckError(check, i + k, r.batch.recordBytes(k)); n = k; }
      } else if (chunk.packed !== undefined) r.batch.setPacked(chunk.packed, i, n, o.cpus, chunk.cpuBits);
      else r.batch.setArrays(chunk, i, n, o.cpus);
      this.proc?.beforeBatch(this.replayed);
      const res = r.run(n);
      // The records before a stop were replayed: they count, whatever stopped the replay.
      const done = res.stopped ? res.stopped.index : n;
      this.seen += done; i += done; this.replayed += done;
      this.crossed();
      if (res.stopped) {
        const vaddr = `0x${r.batch.get(res.stopped.index).vaddr.toString(16)}`;
        const record = `${this.name}: record ${this.seen + 1} (vaddr ${vaddr})`;
        this.stoppedAt = this.seen + 1;
        if (res.stopped.reason === "out-of-memory" && this.proc !== null) {
          this.stop(`${record}: ${res.stopped.message ?? "out of memory"} (--ram ${o.ram}, --swap ${o.os?.swap ?? 0} bytes): raise --swap or --ram`, true);
          return false;
        }
        if (res.stopped.reason === "out-of-memory") {
          // The trace's doing, not a broken input: the statistics so far, marked partial.
          this.stop(`${record}: ${res.stopped.message ?? "demand paging ran out of frames"} (--ram ${o.ram}${o.memory === "full" ? "" : `, --memory ${o.memory}`}): ` +
            (o.memory === "full" ? "raise --ram, or model more RAM than this host can hold with --memory tables-only (e.g. --ram 64GiB --memory tables-only)" : "raise --ram"), true);
          return false;
        }
        const fault = res.stopped.fault;
        const why = res.stopped.reason === "bad-record" ? "a malformed record" : `a fault the ${this.proc !== null ? "kernel model" : "demand mapper"} cannot resolve (#${fault?.exception.vector}, error code 0x${fault && "errorCode" in fault.exception ? fault.exception.errorCode.toString(16) : "?"})`;
        throw new WasmmuError("BAD_INPUT", `${record} stopped the replay: ${why}`);
      }
      // The records before a malformed one are replayed and counted; then it ends the replay.
      if (malformed !== null) throw malformed;
    }
    if (o.limit !== null && this.replayed >= o.limit) this.done = true;
    return !this.done;
  }

  /** The traces' names, for messages (standard input as STDIN_NAME, as openTrace names it). */
  private get name(): string {
    return this.paths.map((p) => (p === "-" ? STDIN_NAME : p)).join(" + ");
  }

  /** After records were replayed: take the warm-up's base when it was reached, sample the report's windows and the intervals. */
  private crossed(): void {
    if (this.base === null) {
      if (this.replayed >= this.o.warmup) this.takeBase();
      return;
    }
    if (this.replayed === this.nextWindow) { this.sampleWindow(); this.nextWindow += this.win; }
    if (this.replayed === this.nextInterval) { this.emitInterval(); this.nextInterval += (this.o.interval as IntervalSpec).every; }
    if (this.nextCycleMark !== Infinity) {
      const now = this.cpuCycles();
      if (now >= this.nextCycleMark) {
        this.emitInterval();
        const every = (this.o.interval as IntervalSpec).every;
        while (this.nextCycleMark <= now) this.nextCycleMark += every;
      }
    }
  }

  /** Cycles of every CPU so far (the clock of --interval-cycles). */
  private cpuCycles(): number {
    let n = 0;
    for (let i = 0; i < this.o.cpus; i++) n += this.m.cycles(i);
    return n;
  }

  /** Check skipped records [i, i + n) of an unchecked chunk as the core would; throw for a malformed one. */
  private checkSkipped(chunk: PackedChunk, check: DeferredCheck, i: number, n: number): void {
    const bytes = new Uint8Array(chunk.packed.buffer, chunk.packed.byteOffset, chunk.count * 16);
    for (let k = i; k < i + n; k++) {
      const e = deferredCheckError(check, k, bytes.subarray(k * 16, k * 16 + 16));
      if (e !== null) throw e;
    }
  }

  /**
   * The replay ended on an error (from the reader or from feed): a WasmmuError after some records
   * were replayed makes the statistics partial, with the error as the reason; anything else is
   * rethrown.
   */
  fail(e: unknown): void {
    if (!(e instanceof WasmmuError) || this.replayed === 0) throw e;
    // A corrupt or truncated stream: report what was replayed, flagged partial, then the error.
    this.partialReason = e.message;
    this.done = true;
  }

  /** The reader stopped early on Ctrl-C: the statistics so far are partial (unless already complete). */
  interrupt(): void {
    if (!this.done) this.stop("interrupted");
  }

  private stop(reason: string, outOfMemory = false): void {
    this.partialReason = reason;
    this.stoppedEarly = true;
    this.outOfMemory = outOfMemory;
    this.done = true;
  }

  /**
   * The statistics; writes the report when one was asked for.
   * @param traces the traces' identities (format, compression, size, checksum), in CPU order
   * @param interleave the rule the traces were merged by (one per CPU)
   * @throws WasmmuError BAD_INPUT for an empty trace, or one that is all skip and warm-up
   */
  async finish(traces: TraceIdentity[], interleave?: InterleaveRule): Promise<ReplaySummary> {
    const o = this.o;
    const m = this.m;
    // Ctrl-C (or running out of memory) before anything was counted still gives (empty)
    // statistics with the reason, not a bad-input error.
    const stopped = this.stoppedEarly;
    if (this.replayed === 0 && !stopped) throw new WasmmuError("BAD_INPUT", `${this.name}: the trace has no accesses${o.skip ? ` after skipping ${o.skip}` : ""}`);
    if (this.base === null) {
      if (!stopped) throw new WasmmuError("BAD_INPUT", `${this.name}: the trace has ${this.replayed} accesses, all used as warm-up (--warmup ${o.warmup})`);
      this.takeBase();
    }
    if (this.win > 0 && this.replayed > this.prevAt) this.sampleWindow();
    if (this.prevInterval !== null && this.replayed > this.intervalAt) this.emitInterval();
    const now = snapshot(m, this.perCpuCounters);
    const base = this.base as Snapshot;
    const counters = delta(base.all, now.all);
    const partialReason = this.partialReason;
    const mapped = this.mapped();
    const vendor = vendorEvents(m.config.preset.name);
    const first = traces[0];
    const summary: ReplaySummary = {
      schemaVersion: SCHEMA_VERSION, wasmmu: { version: wasmmuVersion() },
      trace: traces.map((t) => t.name).join(" + ") || basename(this.paths[0] === "-" ? STDIN_NAME : this.paths[0]), traces,
      format: first?.format ?? "unknown", compression: first?.compression ?? "none", cpu: o.cpu, paging: o.paging,
      pages: o.os?.thp === "always" ? "4 KiB and 2 MiB (THP always)" : o.pages === "4k" ? "4 KiB" : o.pages === "2m" ? "2 MiB" : "THP (2 MiB where possible)", cpus: o.cpus,
      config: this.effectiveConfig(interleave), options: optionsRecord(o, this.paths),
      partial: partialReason !== undefined, ...(partialReason !== undefined ? { partialReason } : {}),
      seconds: (performance.now() - this.started) / 1000, accesses: this.replayed - this.baseReplayed,
      skipped: { nonCanonical: this.skippedNonCanonical() - this.baseSkipped },
      mappedPages: { "4K": mapped["4K"] - this.baseMapped["4K"], "2M": mapped["2M"] - this.baseMapped["2M"] },
      walks: walkCounts(counters),
      counters,
    };
    if (o.premap) summary.premapped = { ...this.premapped };
    if (vendor.length > 0) summary.events = vendorCounts(vendor, counters);
    if (this.perCpuCounters) {
      summary.perCpu = now.per.map((p, cpu) => {
        const c = delta(base.per[cpu], p);
        return { cpu, counters: c, ...(vendor.length > 0 ? { events: vendorCounts(vendor, c) } : {}) };
      });
    }
    if (this.proc !== null && o.os !== undefined) {
      const k = this.proc.counts();
      const b = this.baseKernel ?? k;
      const kernelCounts = Object.fromEntries(Object.entries(k).map(([key, v]) => [key, v - b[key as keyof TraceKernelCounts]])) as unknown as TraceKernelCounts;
      summary.kernel = { reclaim: o.os.reclaim, ram: o.ram, swap: o.os.swap, swappiness: o.os.swappiness, frames: o.os.frames, pageCluster: o.os.pageCluster, thp: o.os.thp, ...kernelCounts };
    }
    if (o.report !== undefined) {
      await writeReport(o.report, renderReplayReport({
        summary, window: this.win, windows: this.windows,
        config: {
          preset: m.config.preset, latency: m.latency, paging: o.paging, pages: o.pages, cpus: o.cpus, ram: o.ram, memory: o.memory,
          overrides: o.overrides, warmup: o.warmup, skip: o.skip, limit: o.limit,
        },
      }));
      summary.report = o.report;
    }
    return summary;
  }

  /** The machine and policies as they ran. */
  private effectiveConfig(interleave: InterleaveRule | undefined): EffectiveConfig {
    const o = this.o;
    const m = this.m;
    const c: EffectiveConfig = {
      preset: effectivePreset(m.config.preset, m.latency), overrides: { ...o.overrides }, paging: o.paging, cpus: o.cpus,
      ram: { bytes: Number(m.config.ramBytes), given: o.ramAuto ? null : o.ram, memory: o.memory, auto: o.ramChosen ?? null },
      pagePolicy: {
        policy: o.os !== undefined ? "linux" : o.premap ? "premap" : "first-touch", pages: o.pages, chosen: o.osChosen ?? null,
        ...(o.os !== undefined ? { kernel: { ...o.os } } : {}),
      },
      window: { skip: o.skip, warmup: o.warmup, limit: o.limit },
      ...(o.vm !== undefined ? { vm: { hostPages: o.vm } } : {}),
    };
    const caches = m.config.preset.caches;
    if (caches !== undefined) c.caches = { ...structuredClone(caches), mode: m.caches.mode };
    if (o.cpus > 1 || o.perCpu) {
      c.multi = { perCpu: o.perCpu === true, interleave: interleave ?? "record", addressSpaces: o.addressSpaces ?? (o.perCpu ? "private" : "shared") };
    }
    return c;
  }

  private sampleWindow(): void {
    const now = snapshot(this.m, false).all;
    const mapped = this.mapped();
    this.windows.push(windowBetween(this.prevWindow as Record<string, number>, now, this.replayed - this.baseReplayed, this.replayed - this.prevAt, this.prevMapped, mapped));
    this.prevWindow = now;
    this.prevMapped = mapped;
    this.prevAt = this.replayed;
  }

  private emitInterval(): void {
    const prev = this.prevInterval as Snapshot;
    const now = snapshot(this.m, this.perCpuCounters);
    const counters = delta(prev.all, now.all);
    const vendor = vendorEvents(this.m.config.preset.name);
    const row: IntervalRow = {
      type: "interval", interval: ++this.intervals, start: this.intervalAt - this.baseReplayed, end: this.replayed - this.baseReplayed,
      accesses: this.replayed - this.intervalAt, counters,
      ...(vendor.length > 0 ? { events: vendorCounts(vendor, counters) } : {}),
      ...(this.perCpuCounters ? { perCpu: now.per.map((p, cpu) => ({ cpu, counters: delta(prev.per[cpu], p) })) } : {}),
    };
    this.prevInterval = now;
    this.intervalAt = this.replayed;
    this.o.onInterval?.(row);
  }
}

/** A Machine or kernel-model configuration error, in the CLI's flag names (--ram, --memory tables-only). */
function asFlagError(e: unknown): unknown {
  if (!(e instanceof WasmmuError) || e.code !== "INVALID_CONFIG") return e;
  const msg = e.message
    .replace(/^ram: /, "--ram: ").replace(/^memory: /, "--memory: ").replace(/^cpus: /, "--cpus: ").replace(/^paging: /, "--paging: ")
    .replace(/use memory: "tables-only"/g, "use --memory tables-only").replace(/^cpu: /, "--cpu: ");
  return msg === e.message ? e : new WasmmuError(e.code, msg, e.details, { cause: e });
}

/**
 * The future of the input as a replay with `o` numbers its records (after --skip, up to --limit),
 * for OPT: one pass over the whole trace before the replay starts.
 */
async function readFuture(input: OpenedInput, o: JobOptions): Promise<FutureReferences> {
  const b = new FutureReferencesBuilder();
  let seen = 0;
  try {
    read: for await (const chunk of input.chunks) {
      for (let i = 0; i < chunk.count; i++, seen++) {
        if (seen < o.skip) continue;
        if (o.limit !== null && b.length >= o.limit) break read;
        b.add(chunk.lo[i], chunk.hi[i], chunk.size[i]);
      }
    }
  } finally {
    await input.close();
  }
  return b.build();
}

