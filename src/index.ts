/**
 * wasmmu: a cycle-approximate x86-64 MMU emulator on WebAssembly.
 * This entry works in Node and in browsers; Node-only helpers (files) are in `wasmmu/node`.
 */
export { Machine, Cpu, PhysicalMemory } from "./machine/Machine.js";
export { PageTableBuilder, RangeTableSource, makeLeaf, type LeafFlags, type PageSize, type TableFrameSource } from "./machine/pagetables.js";
export { BuddyTableSource } from "./machine/tablesource.js";
export { EptBuilder, makeEptLeaf, runAsGuest, identityEptFrames, type EptLeafFlags, type EptOptions, type HostPageSize } from "./machine/ept.js";
export { Vmx, type VmxFailure } from "./machine/vmx.js";
export { FrameAllocator, PAGE_FLAG_NAMES, pageFlag, type FrameDescriptor, type ZoneInfo, type ZoneName, type Watermark, type PageFlagName } from "./machine/frames.js";
export { Replayer, DemandMapper, TraceBatch, countAndSkip, REC_KIND, REC_USER, REC_IMPLICIT, type CoreFaultPolicy, type ReplayResult, type ReplayStopReason, type ReplayFault, type FaultPolicy, type FaultDecision } from "./machine/replay.js";
export { PRESETS, presetNames } from "./machine/presets/index.js";
export type { CpuPreset, TlbArrayConfig, PscConfig, LatencyConfig, ReplacementPolicy, PageSizeName, CacheHierarchyConfig, CacheLevelConfig, CacheMode, CacheInclusion, CachePolicy, NestedTlbConfig } from "./machine/presets/types.js";
export { applyOverrides } from "./machine/tlbconfig.js";
export { Kernel, KERNEL_LAYOUT } from "./os/kernel.js";
export { SlabAllocator, KmemCache, procSlabinfo, KMALLOC_SIZES } from "./os/slab.js";
export { procBuddyinfo, extfragIndexText, unusableIndexText } from "./os/proc/buddyinfo.js";
export { Linux, TLB_NR_DYN_ASIDS, TLB_SINGLE_PAGE_FLUSH_CEILING, type LinuxOptions, type VmEvents, type OomPolicy } from "./os/linux.js";
export {
  LINUX_POLICY, FIFO_POLICY, CLOCK_POLICY, LruPolicy, OptPolicy, PAGE_REPLACEMENT_NAMES,
  type PageReplacementPolicy, type PageReplacementName, type PolicyHost, type ReplayClock, type Reference,
} from "./os/policy.js";
export { FutureReferences, FutureReferencesBuilder } from "./os/future.js";
export { TraceProcess, TRACE_VMA_REGION, type TraceProcessOptions, type TraceKernelCounts } from "./os/traceproc.js";
export { AccessStamps } from "./machine/stamps.js";
export { diffTlbSnapshots, plruMostRecentWay, type TlbSnapshot, type TlbArrayView, type TlbEntryView, type TlbRole, type TlbCellEvent, type TlbCellChange } from "./machine/tlbview.js";
/**
 * Overcommit (mm/util.c): the memory commitment behind /proc/meminfo Committed_AS, CommitLimit,
 * the vm.overcommit_* and vm.*_reserve_kbytes sysctls (`Linux.sysctl`), and __vm_enough_memory
 * (`VmCommit.vmEnoughMemory`). See docs/overcommit.md.
 */
export {
  VmCommit, OVERCOMMIT_GUESS, OVERCOMMIT_ALWAYS, OVERCOMMIT_NEVER, VM_COMMIT_SYSCTLS, isVmCommitSysctl,
  type OvercommitMode, type VmCommitSysctl, type CommitTask, type CommitMm,
} from "./os/commit.js";
/** The vm sysctls (/proc/sys/vm/*) behind `Linux.sysctl`: names, ranges and the owners of their values. */
export { VmSysctls, VM_SYSCTLS, isVmSysctl, isWriteOnlySysctl, type VmSysctl, type VmSysctlOwners, type SysctlWriter } from "./os/sysctl.js";
export { Task, ELF_ET_DYN_BASE, ELF_EXEC_BASE, STACK_TOP, type ProgramImage, type GuestAccess } from "./os/process.js";
export { Tlb, TlbGather } from "./os/tlb.js";
export { EventBus, type KernelEvent, type KernelEventType, type FaultEvent, type PteEvent, type FrameEvent, type TlbFlushEvent, type VmaEvent, type SignalEvent } from "./os/events.js";
export { VmStat } from "./os/vmstat.js";
export { PageTables, WALK_HUGE, type PageWalkOps } from "./os/pagewalk.js";
export { FrameTable } from "./machine/frametable.js";
export type { FaultResult, FaultAccess } from "./os/fault.js";
export { ProcFs } from "./os/procfs.js";
export {
  MemCgroups, MemCgroup,
  type CgroupVersion, type MemCgroupOptions, type MemcgEvents, type MemcgSwapEvents, type MemcgVmEvents, type MemcgKernel,
} from "./os/memcg.js";
export { CgroupFs } from "./os/cgroupfs.js";
export type { MemcgStat } from "./os/memcgstat.js";
export { PageCounter, PAGE_COUNTER_MAX, memparse, pageCounterMemparse } from "./os/pagecounter.js";
export type { MemcgCharge, MemcgChargeKind, MemcgRetry } from "./os/context.js";
export { Workload, runWorkload, resolveWorkload, type WorkloadOptions, type WorkloadPattern, type WorkloadAccess, type WorkloadPass, type WorkloadProgress, type WorkloadReport, type ResolvedWorkload, type WorkloadCgroup } from "./os/workload.js";
export { Malloc, MMAP_THRESHOLD, TOP_PAD } from "./os/malloc.js";
export { Vma, VmaList, PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC } from "./os/vma.js";
export { Mm } from "./os/mm.js";
export { PageCache, Backing, MemFileSource, type FileSource, type CachePage } from "./os/pagecache.js";
export { ReverseMap, type RmapLink } from "./os/rmap.js";
export { MemorySwapBackend, SWAP_DEVICE_LATENCY, type SwapBackend, type SwapLatency, type SwapDevice } from "./os/swap.js";
export type { SwaponOptions } from "./os/swapfile.js";
export { Errno, ERRNO, isErrno, type ErrnoName } from "./os/errno.js";
export { checkInvariants } from "./os/check.js";
export { SIGSEGV, SIGBUS, SIGKILL, SEGV_MAPERR, SEGV_ACCERR, SEGV_PKUERR, BUS_ADRERR, type SigInfo, type SignalHandler } from "./os/signals.js";
export * as mman from "./os/mmap.js";
export { REC_KIND_NAMES, RECORD_BYTES, recordKindValid } from "./abi/records.js";
export * as vmflags from "./os/proc/vmflags.js";
export { formatMaps, formatMapsLine, type MapsEntry } from "./os/proc/maps.js";
export { formatSmaps, formatSmapsEntry, formatSmapsRollup, type SmapsEntry, type SmapsRollup } from "./os/proc/smaps.js";
export { formatStatus, formatStatm, type StatusInput, type StatusMm } from "./os/proc/status.js";
export { formatMeminfo, MEMINFO_FIELDS, type MeminfoInput } from "./os/proc/meminfo.js";
export { formatVmstat, VMSTAT_FIELDS, type VmstatInput } from "./os/proc/vmstat.js";
export { pagemapEntry, decodePagemapEntry, pagemapBytes } from "./os/proc/pagemap.js";
export * as kpageflags from "./os/proc/kpageflags.js";
export * as fcntl from "./os/fdtable.js";
export { getInitRaSize, getNextRaSize, type FileRaState } from "./os/readahead.js";
export { formatFree, type FreeOptions, type FreeUnit } from "./os/proc/free.js";
/** The vmstat command of procps-ng 4.0.2: one-shot, sampled over model time (VmstatSampler), and -s. */
export {
  formatVmstatCommand, formatVmstatRun, formatVmstatSum, VmstatSampler, vmstatHeader, USER_HZ,
  type VmstatSnapshot, type VmstatOptions, type VmstatCommandRow, type ProcStatCounters, type VmstatIoCounters,
} from "./os/proc/vmstatcmd.js";
/** /proc/swaps (swap_show). */
export { formatSwaps, formatSwapsLine, SWAPS_HEADER, type SwapsEntry } from "./os/proc/swaps.js";
/** /proc/pressure/{memory,io,cpu} (psi_show) and the stall accounting behind it (kernel/sched/psi.c). */
export { formatPressure, FIXED_1, type PressureInput, type PressureLine } from "./os/proc/pressure.js";
export { Psi, calcLoad, calcLoadN, PSI_PERIOD_NS, EXP_10s, EXP_60s, EXP_300s, RECLAIM_CYCLES_PER_PAGE, type PsiResource } from "./os/psi.js";
/** The kernel log behind dmesg and /dev/kmsg. */
export { KernelLog, type LogRecord } from "./os/klog.js";
export { fragmentationIndex, unusableFreeIndex } from "./os/fragmentation.js";
export { decodeEntry, decodePageFaultError, formatFlags } from "./machine/decode.js";
export { parseByteSize, formatBytes } from "./machine/config.js";
export { loadMachineDescription, type MachineDescription, type LoadedDescription } from "./machine/description.js";
export { parseVector, judge, runVector, type PagingVector, type VectorOutcome, type Verdict } from "./conformance/vector.js";
export type { TraceFormat, TraceCompression, TraceChunk, TraceInfo, OpenTraceOptions, DecodeOptions } from "./trace/types.js";
export { TRACE_FORMATS, makeDecoder, decodeTrace, concatChunks, detectCompression, detectFormat } from "./trace/formats.js";
export { ChunkBuilder, MAX_LINE_BYTES } from "./trace/decoder.js";
export { LackeyDecoder } from "./trace/lackey.js";
export { TextTraceDecoder } from "./trace/text.js";
export { WmtDecoder, WmtWriter, parseWmtHeader, type WmtSink, type NodeWritableLike } from "./trace/wmt.js";
export { ChampSimDecoder } from "./trace/champsim.js";
export { WasmmuError, type WasmmuErrorCode } from "./errors.js";
export type * from "./types.js";
