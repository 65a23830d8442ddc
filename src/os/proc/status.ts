/**
 * /proc/<pid>/status and /proc/<pid>/statm in Linux 6.18's exact text (fs/proc/array.c:
 * proc_pid_status, task_state, task_sig, task_cap, task_seccomp, task_cpus_allowed,
 * task_context_switch_counts; fs/proc/task_mmu.c: task_mem, task_statm; mm/hugetlb.c:
 * hugetlb_report_usage; kernel/cgroup/cpuset.c: cpuset_task_status_allowed). Pure.
 *
 * The memory lines come from a StatusMm (the mm_struct counters task_mem reads, in pages as the
 * kernel keeps them). The task identity comes from the input. Everything wasmmu does not model
 * (signals, capabilities, seccomp, speculation mitigations, CPU and node masks, context switches)
 * has a fixed default, documented on its field, chosen to be what a fresh single-threaded root
 * process on a one-CPU, one-node machine without LAM shows. Callers may override any of them.
 */
import { PAGE_SHIFT } from "../../machine/pgtable.js";
import { type Count, bitmapList, bitmapString, decWidth, hexWidth, u64 } from "./seq.js";

/**
 * The mm_struct counters task_mem() and task_statm() read. Pages unless marked otherwise.
 */
export interface StatusMm {
  /** mm->total_vm: pages of all VMAs (VmSize). */
  totalVm: Count;
  /** mm->hiwater_vm: VmPeak is max(hiwater_vm, total_vm); default total_vm. */
  hiwaterVm?: Count;
  /** mm->locked_vm (VmLck). */
  lockedVm?: Count;
  /** mm->pinned_vm (VmPin). */
  pinnedVm?: Count;
  /** MM_ANONPAGES (RssAnon). */
  anonPages?: Count;
  /** MM_FILEPAGES (RssFile). */
  filePages?: Count;
  /** MM_SHMEMPAGES (RssShmem). */
  shmemPages?: Count;
  /** mm->hiwater_rss: VmHWM is max(hiwater_rss, anon + file + shmem); default that sum. */
  hiwaterRss?: Count;
  /** MM_SWAPENTS (VmSwap). */
  swapEnts?: Count;
  /** mm->data_vm: private writable non-stack pages (VmData). */
  dataVm?: Count;
  /** mm->stack_vm: VM_GROWSDOWN/GROWSUP pages (VmStk). */
  stackVm?: Count;
  /** mm->exec_vm: executable non-writable non-stack pages (VmExe + VmLib). */
  execVm?: Count;
  /** mm->start_code, a byte address. */
  startCode?: bigint;
  /** mm->end_code, a byte address. */
  endCode?: bigint;
  /** mm_pgtables_bytes(mm): **bytes** of page-table pages (VmPTE). */
  pgtablesBytes?: Count;
  /** mm->hugetlb_usage: **bytes** of hugetlb pages mapped (HugetlbPages). */
  hugetlbBytes?: Count;
}

/** A task state letter; printed with its name from task_state_array[]. */
export type TaskState = "R" | "S" | "D" | "T" | "t" | "X" | "Z" | "P" | "I";

const TASK_STATE_NAMES: Record<TaskState, string> = {
  R: "R (running)", S: "S (sleeping)", D: "D (disk sleep)", T: "T (stopped)", t: "t (tracing stop)",
  X: "X (dead)", Z: "Z (zombie)", P: "P (parked)", I: "I (idle)",
};

/** CAP_LAST_CAP in 6.18 (CAP_CHECKPOINT_RESTORE = 40): CAP_FULL_SET has bits 0..40. */
export const CAP_LAST_CAP = 40;
export const CAP_FULL_SET = (1n << BigInt(CAP_LAST_CAP + 1)) - 1n;

/** MAX_NUMNODES with CONFIG_NODES_SHIFT = 10 (x86-64 defconfig): Mems_allowed prints 1024 bits. */
export const MAX_NUMNODES = 1024;

/** Everything /proc/<pid>/status prints besides the mm. */
export interface StatusInput {
  /** Name: task->comm (at most 15 bytes in Linux; '\n' and '\\' are escaped). */
  name: string;
  /** Pid: the thread id. */
  pid: number;
  /** Tgid: default pid. */
  tgid?: number;
  /** PPid: 0 for init. */
  ppid: number;
  /** Process group id for NSpgid; default tgid. */
  pgid?: number;
  /** Session id for NSsid; default tgid. */
  sid?: number;
  /** State letter; default "R" (the reader is running it). */
  state?: TaskState;
  /** Umask: default 0o022. */
  umask?: number;
  /** Ngid (NUMA balancing preferred group leader); default 0. */
  ngid?: number;
  /** TracerPid; default 0. */
  tracerPid?: number;
  /** Uid: real, effective, saved, fs; default all 0. A single number sets all four. */
  uid?: number | readonly [number, number, number, number];
  /** Gid: as uid. */
  gid?: number | readonly [number, number, number, number];
  /** FDSize: fdtable max_fds; default 64 (NR_OPEN_DEFAULT, the initial table). */
  fdSize?: number;
  /** Groups: supplementary group ids; default none. */
  groups?: readonly number[];
  /** NStgid/NSpid/NSpgid/NSsid per pid-namespace level; default one level with tgid/pid/pgid/sid. */
  nsTgid?: readonly number[];
  nsPid?: readonly number[];
  nsPgid?: readonly number[];
  nsSid?: readonly number[];
  /** Kthread: default false. */
  kthread?: boolean;
  /** The address space; absent for kernel threads (the memory, CoreDumping, THP_enabled and untag_mask lines are then omitted). */
  mm?: StatusMm;
  /** CoreDumping; default false. */
  coreDumping?: boolean;
  /** THP_enabled: !mm_flags_test(MMF_DISABLE_THP); default true. */
  thpEnabled?: boolean;
  /** untag_mask (x86 LAM); default 0xffffffffffffffff (no LAM). */
  untagMask?: bigint;
  /** Threads; default 1. */
  threads?: number;
  /** SigQ: queued signals / RLIMIT_SIGPENDING; default 0 / 0 (Linux sets the limit to max_threads/2 at boot). */
  sigQueued?: number;
  sigQueueLimit?: number;
  /** SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt masks (bit n-1 = signal n); default 0. */
  sigPnd?: bigint;
  shdPnd?: bigint;
  sigBlk?: bigint;
  sigIgn?: bigint;
  sigCgt?: bigint;
  /** CapInh/CapPrm/CapEff/CapBnd/CapAmb; defaults: 0, full set if uid 0 else 0, same, full set, 0. */
  capInh?: bigint;
  capPrm?: bigint;
  capEff?: bigint;
  capBnd?: bigint;
  capAmb?: bigint;
  /** NoNewPrivs; default false. */
  noNewPrivs?: boolean;
  /** Seccomp mode (0 disabled, 1 strict, 2 filter) and Seccomp_filters; default 0 and 0. */
  seccomp?: number;
  seccompFilters?: number;
  /** Speculation_Store_Bypass; default "thread vulnerable" (as on the sample machine). */
  speculationStoreBypass?: string;
  /** SpeculationIndirectBranch; default "conditional enabled" (as on the sample machine). */
  speculationIndirectBranch?: string;
  /** nr_cpu_ids: bits of Cpus_allowed; default 1. */
  nrCpuIds?: number;
  /** Cpus_allowed as CPU numbers; default every CPU below nrCpuIds. */
  cpusAllowed?: readonly number[];
  /** Mems_allowed as node numbers; default [0]. */
  memsAllowed?: readonly number[];
  /** voluntary_ctxt_switches / nonvoluntary_ctxt_switches; default 0. */
  voluntaryCtxtSwitches?: Count;
  nonvoluntaryCtxtSwitches?: Count;
}

const PAGE_MASK = ~((1n << BigInt(PAGE_SHIFT)) - 1n);
const PAGE_ALIGN = (a: bigint) => (a + (1n << BigInt(PAGE_SHIFT)) - 1n) & PAGE_MASK;
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The numbers task_mem() and task_statm() derive from an mm, in pages (text and lib in bytes). */
function mmNumbers(mm: StatusMm) {
  const p = (v: Count | undefined, what: string) => u64(v ?? 0, `mm.${what}`);
  const anon = p(mm.anonPages, "anonPages");
  const file = p(mm.filePages, "filePages");
  const shmem = p(mm.shmemPages, "shmemPages");
  const totalVm = p(mm.totalVm, "totalVm");
  const totalRss = anon + file + shmem;
  const execBytes = p(mm.execVm, "execVm") << BigInt(PAGE_SHIFT);
  const textSpan = BigInt.asUintN(64, PAGE_ALIGN(p(mm.endCode, "endCode")) - (p(mm.startCode, "startCode") & PAGE_MASK));
  const text = min(textSpan, execBytes);
  return {
    anon, file, shmem, totalVm, totalRss, text, textSpan,
    hiwaterVm: max(totalVm, p(mm.hiwaterVm, "hiwaterVm")),
    hiwaterRss: max(totalRss, p(mm.hiwaterRss, "hiwaterRss")),
    lib: execBytes - text,
    lockedVm: p(mm.lockedVm, "lockedVm"),
    pinnedVm: p(mm.pinnedVm, "pinnedVm"),
    dataVm: p(mm.dataVm, "dataVm"),
    stackVm: p(mm.stackVm, "stackVm"),
    swap: p(mm.swapEnts, "swapEnts"),
    pgtables: p(mm.pgtablesBytes, "pgtablesBytes"),
    hugetlb: p(mm.hugetlbBytes, "hugetlbBytes"),
  };
}

/**
 * task_mem() plus hugetlb_report_usage(): VmPeak … VmSwap and HugetlbPages, each
 * "Label:\t%8lu kB\n".
 */
export function formatTaskMem(mm: StatusMm): string {
  const n = mmNumbers(mm);
  const toKb = BigInt(PAGE_SHIFT - 10);
  const line = (label: string, kb: bigint) => `${label}:\t${decWidth(kb, 8)} kB\n`;
  return line("VmPeak", n.hiwaterVm << toKb) +
    line("VmSize", n.totalVm << toKb) +
    line("VmLck", n.lockedVm << toKb) +
    line("VmPin", n.pinnedVm << toKb) +
    line("VmHWM", n.hiwaterRss << toKb) +
    line("VmRSS", n.totalRss << toKb) +
    line("RssAnon", n.anon << toKb) +
    line("RssFile", n.file << toKb) +
    line("RssShmem", n.shmem << toKb) +
    line("VmData", n.dataVm << toKb) +
    line("VmStk", n.stackVm << toKb) +
    line("VmExe", n.text >> 10n) +
    line("VmLib", n.lib >> 10n) +
    line("VmPTE", n.pgtables >> 10n) +
    line("VmSwap", n.swap << toKb) +
    line("HugetlbPages", n.hugetlb >> 10n);
}

/** seq_escape_str(m, comm, ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\"): only '\n' and '\\' are escaped. */
function escapeComm(name: string): string {
  return name.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

const hex16 = (v: bigint | undefined, what: string) => hexWidth(u64(v ?? 0n, what), 16);
const ids = (v: number | readonly [number, number, number, number] | undefined, what: string) =>
  (typeof v === "object" ? v : [v ?? 0, v ?? 0, v ?? 0, v ?? 0]).map((x) => u64(x, what).toString()).join("\t");

/**
 * /proc/<pid>/status (proc_pid_status), every line of Linux 6.18 in order:
 * Name … Kthread (task_state), VmPeak … HugetlbPages (task_mem, only with an mm), CoreDumping,
 * THP_enabled, untag_mask (only with an mm), Threads, SigQ, SigPnd … SigCgt (task_sig),
 * CapInh … CapAmb (task_cap), NoNewPrivs, Seccomp, Seccomp_filters, Speculation_Store_Bypass,
 * SpeculationIndirectBranch (task_seccomp), Cpus_allowed, Cpus_allowed_list, Mems_allowed,
 * Mems_allowed_list, voluntary_ctxt_switches, nonvoluntary_ctxt_switches.
 */
export function formatStatus(input: StatusInput): string {
  const tgid = input.tgid ?? input.pid;
  const uid0 = (typeof input.uid === "object" ? input.uid[1] : input.uid ?? 0) === 0;
  const ns = (list: readonly number[] | undefined, dflt: number, what: string) =>
    (list ?? [dflt]).map((v) => `\t${u64(v, what)}`).join("");
  const nrCpuIds = input.nrCpuIds ?? 1;
  const cpus = input.cpusAllowed ?? Array.from({ length: nrCpuIds }, (_, i) => i);
  const mems = input.memsAllowed ?? [0];
  let s =
    `Name:\t${escapeComm(input.name)}\n` +
    `Umask:\t${(input.umask ?? 0o022).toString(8).padStart(4, "0")}\n` +
    `State:\t${TASK_STATE_NAMES[input.state ?? "R"]}\n` +
    `Tgid:\t${u64(tgid, "tgid")}\n` +
    `Ngid:\t${u64(input.ngid ?? 0, "ngid")}\n` +
    `Pid:\t${u64(input.pid, "pid")}\n` +
    `PPid:\t${u64(input.ppid, "ppid")}\n` +
    `TracerPid:\t${u64(input.tracerPid ?? 0, "tracerPid")}\n` +
    `Uid:\t${ids(input.uid, "uid")}\n` +
    `Gid:\t${ids(input.gid, "gid")}\n` +
    `FDSize:\t${u64(input.fdSize ?? 64, "fdSize")}\n` +
    `Groups:\t${(input.groups ?? []).map((g) => u64(g, "groups").toString()).join(" ")} \n` +
    `NStgid:${ns(input.nsTgid, tgid, "nsTgid")}\n` +
    `NSpid:${ns(input.nsPid, input.pid, "nsPid")}\n` +
    `NSpgid:${ns(input.nsPgid, input.pgid ?? tgid, "nsPgid")}\n` +
    `NSsid:${ns(input.nsSid, input.sid ?? tgid, "nsSid")}\n` +
    `Kthread:\t${input.kthread ? 1 : 0}\n`;
  if (input.mm) {
    s += formatTaskMem(input.mm) +
      `CoreDumping:\t${input.coreDumping ? 1 : 0}\n` +
      `THP_enabled:\t${input.thpEnabled ?? true ? 1 : 0}\n` +
      `untag_mask:\t0x${u64(input.untagMask ?? (1n << 64n) - 1n, "untagMask").toString(16)}\n`;
  }
  s +=
    `Threads:\t${u64(input.threads ?? 1, "threads")}\n` +
    `SigQ:\t${u64(input.sigQueued ?? 0, "sigQueued")}/${u64(input.sigQueueLimit ?? 0, "sigQueueLimit")}\n` +
    `SigPnd:\t${hex16(input.sigPnd, "sigPnd")}\n` +
    `ShdPnd:\t${hex16(input.shdPnd, "shdPnd")}\n` +
    `SigBlk:\t${hex16(input.sigBlk, "sigBlk")}\n` +
    `SigIgn:\t${hex16(input.sigIgn, "sigIgn")}\n` +
    `SigCgt:\t${hex16(input.sigCgt, "sigCgt")}\n` +
    `CapInh:\t${hex16(input.capInh, "capInh")}\n` +
    `CapPrm:\t${hex16(input.capPrm ?? (uid0 ? CAP_FULL_SET : 0n), "capPrm")}\n` +
    `CapEff:\t${hex16(input.capEff ?? (uid0 ? CAP_FULL_SET : 0n), "capEff")}\n` +
    `CapBnd:\t${hex16(input.capBnd ?? CAP_FULL_SET, "capBnd")}\n` +
    `CapAmb:\t${hex16(input.capAmb, "capAmb")}\n` +
    `NoNewPrivs:\t${input.noNewPrivs ? 1 : 0}\n` +
    `Seccomp:\t${u64(input.seccomp ?? 0, "seccomp")}\n` +
    `Seccomp_filters:\t${u64(input.seccompFilters ?? 0, "seccompFilters")}\n` +
    `Speculation_Store_Bypass:\t${input.speculationStoreBypass ?? "thread vulnerable"}\n` +
    `SpeculationIndirectBranch:\t${input.speculationIndirectBranch ?? "conditional enabled"}\n` +
    `Cpus_allowed:\t${bitmapString(cpus, nrCpuIds)}\n` +
    `Cpus_allowed_list:\t${bitmapList(cpus)}\n` +
    `Mems_allowed:\t${bitmapString(mems, MAX_NUMNODES)}\n` +
    `Mems_allowed_list:\t${bitmapList(mems)}\n` +
    `voluntary_ctxt_switches:\t${u64(input.voluntaryCtxtSwitches ?? 0, "voluntaryCtxtSwitches")}\n` +
    `nonvoluntary_ctxt_switches:\t${u64(input.nonvoluntaryCtxtSwitches ?? 0, "nonvoluntaryCtxtSwitches")}\n`;
  return s;
}

/**
 * /proc/<pid>/statm (proc_pid_statm via task_statm), in pages:
 * "size resident shared text lib data dt\n" where size = total_vm, shared = file + shmem pages,
 * resident = shared + anon, text = (PAGE_ALIGN(end_code) - (start_code & PAGE_MASK)) >> PAGE_SHIFT,
 * data = data_vm + stack_vm, and lib and dt are always 0.
 * @param mm the address space; undefined (a kernel thread) prints "0 0 0 0 0 0 0".
 */
export function formatStatm(mm: StatusMm | undefined): string {
  if (!mm) return "0 0 0 0 0 0 0\n";
  const n = mmNumbers(mm);
  const shared = n.file + n.shmem;
  return `${n.totalVm} ${shared + n.anon} ${shared} ${n.textSpan >> BigInt(PAGE_SHIFT)} 0 ${n.dataVm + n.stackVm} 0\n`;
}
