/**
 * /proc/<pid>/status and statm (src/os/proc/status.ts) against the Linux 6.18 samples of the
 * capture script's python3 (fs/proc/array.c proc_pid_status, fs/proc/task_mmu.c task_mem and
 * task_statm), and the kernel's derivations (VmPeak = max(hiwater_vm, total_vm), VmExe capped at
 * exec_vm, kernel threads without an mm).
 */
import { describe, it, expect } from "vitest";
import { formatStatm, formatStatus, formatTaskMem, CAP_FULL_SET, type StatusInput, type StatusMm } from "../../../src/os/proc/status.js";
import { caught } from "../../helpers/errors.js";
import { SAMPLES_NOTE, sample } from "./samples.js";

/** A status text (default: the proc_self_status sample) as "Key" → "value" (text after the first tab). */
function statusFields(text = sample("proc_self_status.sample.txt")): Map<string, string> {
  return new Map(text.split("\n").slice(0, -1).map((l) => {
    const i = l.indexOf(":\t");
    return [l.slice(0, i), l.slice(i + 2)];
  }));
}

/** The sample's mm_struct counters, rebuilt from the kB lines (pages = kB / 4). */
function sampleMm(f: Map<string, string>): StatusMm {
  const kb = (k: string) => BigInt(f.get(k)!.trim().split(" ")[0]);
  const pages = (k: string) => kb(k) / 4n;
  return {
    totalVm: pages("VmSize"), hiwaterVm: pages("VmPeak"), lockedVm: pages("VmLck"), pinnedVm: pages("VmPin"),
    hiwaterRss: pages("VmHWM"), anonPages: pages("RssAnon"), filePages: pages("RssFile"), shmemPages: pages("RssShmem"),
    dataVm: pages("VmData"), stackVm: pages("VmStk"), execVm: (kb("VmExe") + kb("VmLib")) / 4n,
    // One page of text: start_code and end_code inside one page.
    startCode: 0x55000000_1000n, endCode: 0x55000000_1000n + kb("VmExe") * 1024n - 0x155n,
    pgtablesBytes: kb("VmPTE") * 1024n, swapEnts: pages("VmSwap"), hugetlbBytes: kb("HugetlbPages") * 1024n,
  };
}

function sampleInput(f: Map<string, string>): StatusInput {
  const num = (k: string) => Number(f.get(k)!);
  const hex = (k: string) => BigInt(`0x${f.get(k)!}`);
  const [sigQueued, sigQueueLimit] = f.get("SigQ")!.split("/").map(Number);
  const uid = f.get("Uid")!.split("\t").map(Number) as [number, number, number, number];
  const gid = f.get("Gid")!.split("\t").map(Number) as [number, number, number, number];
  return {
    name: f.get("Name")!, umask: parseInt(f.get("Umask")!, 8), state: f.get("State")![0] as "R",
    tgid: num("Tgid"), ngid: num("Ngid"), pid: num("Pid"), ppid: num("PPid"), tracerPid: num("TracerPid"),
    uid, gid, fdSize: num("FDSize"), groups: f.get("Groups")!.trim().split(" ").filter(Boolean).map(Number),
    nsTgid: f.get("NStgid")!.split("\t").map(Number), nsPid: f.get("NSpid")!.split("\t").map(Number),
    nsPgid: f.get("NSpgid")!.split("\t").map(Number), nsSid: f.get("NSsid")!.split("\t").map(Number),
    kthread: f.get("Kthread") === "1", mm: sampleMm(f), coreDumping: f.get("CoreDumping") === "1",
    thpEnabled: f.get("THP_enabled") === "1", untagMask: BigInt(f.get("untag_mask")!), threads: num("Threads"),
    sigQueued, sigQueueLimit,
    sigPnd: hex("SigPnd"), shdPnd: hex("ShdPnd"), sigBlk: hex("SigBlk"), sigIgn: hex("SigIgn"), sigCgt: hex("SigCgt"),
    capInh: hex("CapInh"), capPrm: hex("CapPrm"), capEff: hex("CapEff"), capBnd: hex("CapBnd"), capAmb: hex("CapAmb"),
    noNewPrivs: f.get("NoNewPrivs") === "1", seccomp: num("Seccomp"), seccompFilters: num("Seccomp_filters"),
    speculationStoreBypass: f.get("Speculation_Store_Bypass"), speculationIndirectBranch: f.get("SpeculationIndirectBranch"),
    nrCpuIds: 2, cpusAllowed: [0, 1], memsAllowed: [0],
    voluntaryCtxtSwitches: num("voluntary_ctxt_switches"), nonvoluntaryCtxtSwitches: num("nonvoluntary_ctxt_switches"),
  };
}

describe(`/proc/<pid>/status and statm equal the Linux 6.18 samples${SAMPLES_NOTE}`, () => {
  it("status: every line of proc_self_status.sample.txt, in order, re-created from its parsed values (proc_pid_status)", () => {
    expect(formatStatus(sampleInput(statusFields()))).toBe(sample("proc_self_status.sample.txt"));
  });

  it("status of a process with 6 MiB on swap (pressure sample): VmSwap 6144 kB = MM_SWAPENTS 1536 × 4, every other line as parsed (task_mem)", () => {
    const text = sample("pressure/proc_pid_status_swapped.sample.txt").replaceAll("<pid:P>", "31337");
    const f = statusFields(text);
    expect(sampleMm(f).swapEnts).toBe(1536n);
    expect(formatStatus(sampleInput(f))).toBe(text);
  });

  it("statm: '4957 4319 1693 1 0 2804 0' from the same mm as status (task_statm: shared = file + shmem, data = data_vm + stack_vm)", () => {
    expect(formatStatm(sampleMm(statusFields()))).toBe(sample("proc_self_statm.sample.txt"));
  });
});

const MM: StatusMm = { totalVm: 100, anonPages: 10, filePages: 5, execVm: 3, startCode: 0x400123n, endCode: 0x401001n };

describe("task_mem derivations", () => {
  it("VmPeak is max(hiwater_vm, total_vm) and VmHWM is max(hiwater_rss, anon + file + shmem): stale hiwaters never print lower", () => {
    const text = formatTaskMem({ ...MM, hiwaterVm: 50, hiwaterRss: 1 });
    expect(text).toContain("VmPeak:\t     400 kB\nVmSize:\t     400 kB\n");
    expect(text).toContain("VmHWM:\t      60 kB\nVmRSS:\t      60 kB\n");
    expect(formatTaskMem({ ...MM, hiwaterVm: 500, hiwaterRss: 20 })).toContain("VmPeak:\t    2000 kB\n");
  });

  it("VmExe = PAGE_ALIGN(end_code) - (start_code & PAGE_MASK) capped at exec_vm, VmLib the rest of exec_vm", () => {
    // 0x400000..0x402000 = 8 kB of text inside 12 kB of exec_vm → VmExe 8, VmLib 4.
    expect(formatTaskMem(MM)).toContain("VmExe:\t       8 kB\nVmLib:\t       4 kB\n");
    // text wider than exec_vm is capped: VmExe 4, VmLib 0.
    expect(formatTaskMem({ ...MM, execVm: 1 })).toContain("VmExe:\t       4 kB\nVmLib:\t       0 kB\n");
  });

  it("VmPTE and HugetlbPages take bytes; all other counters pages", () => {
    const text = formatTaskMem({ totalVm: 0, pgtablesBytes: 3 * 4096, hugetlbBytes: 2 << 20, swapEnts: 2 });
    expect(text).toContain("VmPTE:\t      12 kB\nVmSwap:\t       8 kB\nHugetlbPages:\t    2048 kB\n");
  });

  it("counters wider than 8 digits print in full", () => {
    expect(formatTaskMem({ totalVm: 1n << 40n })).toContain("VmSize:\t4398046511104 kB\n");
  });
});

describe("status defaults and kernel threads", () => {
  const base: StatusInput = { name: "init", pid: 1, ppid: 0 };

  it("a kernel thread (no mm) has no Vm*/Rss* lines and no CoreDumping/THP_enabled/untag_mask; Kthread 1", () => {
    const text = formatStatus({ ...base, name: "kswapd0", kthread: true });
    expect(text).not.toMatch(/Vm|Rss|CoreDumping|THP_enabled|untag_mask/);
    expect(text).toContain("\nKthread:\t1\nThreads:\t1\n");
    expect(formatStatm(undefined)).toBe("0 0 0 0 0 0 0\n");
  });

  it("defaults: umask 0022, state R, FDSize 64, no groups ('Groups:\\t '), root caps = CAP_FULL_SET (0x1ffffffffff), one CPU, node 0", () => {
    const text = formatStatus({ ...base, mm: MM });
    expect(text.startsWith("Name:\tinit\nUmask:\t0022\nState:\tR (running)\nTgid:\t1\nNgid:\t0\nPid:\t1\nPPid:\t0\nTracerPid:\t0\n")).toBe(true);
    expect(text).toContain("\nFDSize:\t64\nGroups:\t \nNStgid:\t1\nNSpid:\t1\nNSpgid:\t1\nNSsid:\t1\n");
    expect(CAP_FULL_SET).toBe(0x1ffffffffffn);
    expect(text).toContain("\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n");
    expect(text).toContain("\nuntag_mask:\t0xffffffffffffffff\n");
    expect(text).toContain("\nCpus_allowed:\t1\nCpus_allowed_list:\t0\n");
    expect(text).toContain(`\nMems_allowed:\t${"00000000,".repeat(31)}00000001\nMems_allowed_list:\t0\n`);
  });

  it("a non-root uid gets empty permitted/effective caps; groups print space-separated with the kernel's trailing space", () => {
    const text = formatStatus({ ...base, uid: 1000, gid: [1000, 1000, 1000, 1000], groups: [4, 24, 27] });
    expect(text).toContain("\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n");
    expect(text).toContain("\nGroups:\t4 24 27 \n");
    expect(text).toContain("\nCapPrm:\t0000000000000000\n");
  });

  it("Cpus_allowed: 36 CPUs give a 1-digit leading chunk then 8 ('f,ffffffff'); a sparse set lists ranges", () => {
    const text = formatStatus({ ...base, nrCpuIds: 36, cpusAllowed: [0, 1, 2, 4, 32, 33, 34, 35] });
    expect(text).toContain("\nCpus_allowed:\tf,00000017\nCpus_allowed_list:\t0-2,4,32-35\n");
  });

  it("'\\n' and '\\\\' in the name are escaped; umask prints '%#04o'", () => {
    const text = formatStatus({ ...base, name: "a\nb\\c", umask: 0o777 });
    expect(text.startsWith("Name:\ta\\nb\\\\c\nUmask:\t0777\n")).toBe(true);
    expect(formatStatus({ ...base, umask: 0 })).toContain("\nUmask:\t0000\n");
  });

  it("a negative pid is an INVALID_ARGUMENT", () => {
    expect(caught(() => formatStatus({ ...base, pid: -1 })).code).toBe("INVALID_ARGUMENT");
  });
});
