// The runnable examples of examples/linux/: each runs as a user would run it (node, importing the
// built package by name) and prints what the classic explanations of Linux memory claim.
import { describe, it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

function example(name: string): string {
  return execFileSync(process.execPath, [resolve(ROOT, "examples/linux", name)], { cwd: ROOT, encoding: "utf8" });
}

describe("examples/linux", () => {
  it("layout.mjs: text, data, [heap], a library, the mmap area, [vdso], [stack], [vsyscall]", () => {
    const out = example("layout.mjs");
    expect(out).toMatch(/^555555554000-555555558000 r-xp 00000000 103:01 \d+ +\/usr\/bin\/layout$/m);
    expect(out).toMatch(/^555555558000-55555555a000 rw-p 00004000 .*\/usr\/bin\/layout$/m);
    expect(out).toMatch(/^55555555a000-[0-9a-f]+ rw-p 00000000 00:00 0 +\[heap\]$/m);
    expect(out).toMatch(/ r-xp 00000000 103:01 \d+ +\/usr\/lib\/libc\.so\.6$/m);
    expect(out).toMatch(/^7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 +\[stack\]$/m);
    expect(out).toMatch(/\[vdso\]$/m);
    expect(out).toMatch(/^VmExe:\s+16 kB$/m);
  });

  it("malloc.mjs: small blocks move brk, 256 KiB gets its own mmap and munmap on free", () => {
    const out = example("malloc.mjs");
    expect(out).toMatch(/^start +brk=0x555555559000 +VMAs=7 +minor faults=0$/m);
    expect(out).toMatch(/^8 × malloc\(4000\) +brk=0x55555557a000 +VMAs=7/m);
    expect(out).toMatch(/^wrote them \(demand paging\) +brk=0x55555557a000 +VMAs=7 +minor faults=8$/m);
    expect(out).toMatch(/^malloc\(256 KiB\) → mmap +brk=0x55555557a000 +VMAs=8/m);
    expect(out).toMatch(/^free\(256 KiB\) → munmap +brk=0x55555557a000 +VMAs=7/m);
    expect(out).toMatch(/malloc\(262144\) = 0x7ffff7[0-9a-f]+ via mmap/);
  });

  it("file-sharing.mjs: one major fault in the first process (read-around), none in the second, one frame for both", () => {
    const out = example("file-sharing.mjs");
    expect(out).toMatch(/^first: +1 major fault \(read-around read 32 pages of the file\), 2 minor$/m); // the mapping starts mid 64 KiB window: two fault-around windows
    expect(out).toMatch(/^second: 0 major faults/m);
    expect(out).toMatch(/the same frame/);
    expect(out).toMatch(/^Rss: +64 kB$/m);
    expect(out).toMatch(/^Pss: +32 kB$/m);
  });

  it("cow.mjs: fork shares, each first write copies one page, Pss goes from 16 to 32 kB", () => {
    const out = example("cow.mjs");
    expect(out).toMatch(/^after fork +parent: faults {2}8 Pss 16 kB \[ssssssss\] +child: faults {2}0 Pss 16 kB \[ssssssss\]$/m);
    expect(out).toMatch(/^child writes page 0 +parent: faults {2}8 Pss 18 kB \[Xsssssss\] +child: faults {2}1 Pss 18 kB \[Xsssssss\]$/m);
    expect(out).toMatch(/^child writes pages 2-7 +parent: faults {2}9 Pss 32 kB \[XXXXXXXX\] +child: faults {2}7 Pss 32 kB \[XXXXXXXX\]$/m);
    expect(out).toMatch(/parent still reads "page 0", child reads "child was here"/);
  });

  it("mprotect.mjs: one VMA becomes three and merges back", () => {
    const out = example("mprotect.mjs");
    expect(out).toContain("10000000-10001000 rw-p 00000000 00:00 0 \n10001000-10002000 r--p 00000000 00:00 0 \n10002000-10003000 rw-p 00000000 00:00 0 \n");
    expect(out).toMatch(/SIGSEGV \(SEGV_ACCERR\) at 0x10001008/); // si_addr: the byte written (CR2), not its page
    expect(out.trimEnd().endsWith("merged again\n10000000-10003000 rw-p 00000000 00:00 0")).toBe(true);
  });

  it("segfault.mjs: SEGV_MAPERR kills, SEGV_ACCERR runs the handler", () => {
    const out = example("segfault.mjs");
    expect(out).toMatch(/read of 0x0: SIGSEGV si_code=SEGV_MAPERR si_addr=0x0; process 1 killed by signal 11/);
    expect(out).toMatch(/handler: caught SIGSEGV SEGV_ACCERR/);
    expect(out).toMatch(/process 2 alive \(the handler ran\)/);
  });
});

describe("examples/linux/pcid.mjs", () => {
  it("with PCIDs every read hits the L1 DTLB after the switch; without, every turn walks each page again", () => {
    const out = example("pcid.mjs");
    expect(out).toMatch(/^with PCID +3200 +3200 +0 +0 +100 +0$/m);
    expect(out).toMatch(/^without PCID +3200 +0 +0 +3200 +0 +100$/m);
  });
});

describe("examples/linux: memory pressure", () => {
  it("thrashing.mjs: no major fault while the set fits, then one per 8 pages (seq) and one per refault (random), cycles per access ×1000", () => {
    const out = example("thrashing.mjs");
    const rows = new Map(out.split("\n").filter((l) => /^ *\d+M /.test(l)).map((l) => {
      const n = l.trim().split(/\s+/);
      // wss, % of RAM, then per pattern: majflt pswpin pswpout cyc/acc slowdown
      const cols = (i: number) => ({ majflt: Number(n[i]), pswpin: Number(n[i + 1]), pswpout: Number(n[i + 2]), cpa: Number(n[i + 3]), slowdown: Number(n[i + 4].replace("×", "")) });
      return [n[0], { seq: cols(2), random: cols(7) }];
    }));
    expect([...rows.keys()]).toEqual(["4M", "8M", "12M", "14M", "16M", "20M", "24M"]);
    for (const wss of ["4M", "8M", "12M", "14M"]) {
      for (const p of ["seq", "random"] as const) expect(rows.get(wss)![p]).toMatchObject({ majflt: 0, pswpin: 0, pswpout: 0 });
    }
    for (const wss of ["16M", "20M", "24M"]) {
      const { seq, random } = rows.get(wss)!;
      const pages = Number(wss.replace("M", "")) * 256;
      // Every page of the sequential pass comes back from swap, 8 per major fault; written pages go out again.
      expect(seq.pswpin).toBeGreaterThanOrEqual(pages * 0.99);
      expect(seq.majflt).toBeGreaterThanOrEqual(seq.pswpin / 8);
      expect(seq.majflt).toBeLessThan((seq.pswpin / 8) * 1.05);
      expect(seq.pswpout).toBeGreaterThanOrEqual(pages * 0.95);
      // Random: one page read per major fault.
      expect(random.pswpin).toBeLessThanOrEqual(random.majflt * 1.1);
      expect(seq.slowdown).toBeGreaterThan(100);
      expect(random.slowdown).toBeGreaterThan(100);
    }
    expect(rows.get("24M")!.random.majflt).toBeGreaterThan(rows.get("16M")!.random.majflt);
  });

  it("oom.mjs: the largest task is killed (oom_score 1011 against 688), then with oom_score_adj -1000 the database lives and the worker dies; the report in dmesg", () => {
    const out = example("oom.mjs");
    const [first, second] = out.split("== oom_score_adj -1000");
    expect(first).toMatch(/^\$ cat \/proc\/2\/oom_score \/proc\/3\/oom_score\n(\d+)\n(\d+)$/m);
    const [, db, worker] = /^\$ cat \/proc\/2\/oom_score \/proc\/3\/oom_score\n(\d+)\n(\d+)$/m.exec(first)!;
    expect(Number(db)).toBeGreaterThan(Number(worker));
    expect(first).toMatch(/database: killed by SIGKILL; worker: alive/);
    expect(first).toMatch(/\] Out of memory: Killed process 2 \(database\) total-vm:\d+kB, anon-rss:16384kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:\d+kB oom_score_adj:0$/m);
    expect(second).toMatch(/^\$ echo -1000 > \/proc\/2\/oom_score_adj\n\$ cat \/proc\/2\/oom_score\n0$/m);
    expect(second).toMatch(/database: alive; worker: killed by SIGKILL/);
    expect(second).toMatch(/^\[[ \d.]+\] worker invoked oom-killer: gfp_mask=0x140dca\(GFP_HIGHUSER_MOVABLE\|__GFP_COMP\|__GFP_ZERO\), order=0, oom_score_adj=0$/m);
    expect(second).toMatch(/^\[[ \d.]+\] \[ {6}2\] {5}0 {5}2 +\d+ +4096 +4096 +0 +0 +\d+ +0 +-1000 database$/m);
    expect(second).toMatch(/oom-kill:constraint=CONSTRAINT_NONE,nodemask=\(null\),cpuset=\/,mems_allowed=0,global_oom,task_memcg=\/,task=worker,pid=3,uid=0$/m);
    expect(second).toMatch(/^oom_kill 1$/m);
  });

  it("page-life.mjs: mapped, activated, aged (A cleared, inactive), swapped (pagemap bit 62, type/offset), swapped in by a major fault into the swap cache, freed", () => {
    const out = example("page-life.mjs");
    const row = (step: string) => {
      const l = out.split("\n").find((x) => x.startsWith(`${step} `));
      if (l === undefined) throw new Error(`no ${step} line in:\n${out}`);
      return l;
    };
    const entry = (step: string) => BigInt(/ (0x[0-9a-f]{16}) /.exec(row(step))![1]);
    expect(row("mapped")).toMatch(/present, pfn 0x[0-9a-f]+ +A=1 D=1 inactive_anon +lru swapbacked$/);
    expect(entry("mapped") >> 63n).toBe(1n);
    expect(row("hot")).toMatch(/ A=\d D=1 active_anon +referenced lru active swapbacked$/);
    expect(row("aged")).toMatch(/ A=0 D=1 inactive_anon +.*\bworkingset\b/);
    // pagemap of a swapped page: bit 62, the swap type in bits 0-4, the offset from bit 5.
    const sw = entry("swapped out");
    expect(sw >> 62n).toBe(1n);
    const m = /swapped: type (\d+), offset (\d+)$/.exec(row("swapped out"));
    expect(m).not.toBeNull();
    expect(sw & 31n).toBe(BigInt(m![1]));
    expect((sw >> 5n) & ((1n << 50n) - 1n)).toBe(BigInt(m![2]));
    expect(out).toMatch(new RegExp(`wrote frame 0x[0-9a-f]+ to slot ${m![2]} of swap area ${m![1]}`));
    expect(row("swapped in")).toMatch(/present, pfn 0x[0-9a-f]+ +A=1 D=0 \w+ +.*\bswapcache$/);
    expect(out).toMatch(/read "hello from a page" back: 1 major fault/);
    expect(out).toMatch(new RegExp(`slot ${m![2]} keeps its copy`));
    expect(out).toMatch(/\(0 PTE references, SWAP_HAS_CACHE set\)/);
    expect(row("freed")).toMatch(/0x0{16} +not mapped$/);
    expect(out).toMatch(new RegExp(`back in the buddy allocator, slot ${m![2]} free`));
  });
});

describe("wasmmu demo", () => {
  it("lists the walkthroughs with their first comment line, and runs one by name", async () => {
    const { run } = await import("../helpers/cli.js");
    const list = await run("demo");
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^ {2}cow {12}fork and copy-on-write/m);
    expect(list.out.split("\n").filter((l) => /^ {2}\w/.test(l))).toHaveLength(11);
    expect(list.out).toMatch(/^ {2}container-oom +A container runs out of memory/m);
    const bad = await run("demo", "nope");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no demo "nope" \(demos: container-oom, cow, file-sharing, layout, malloc, mprotect, oom, page-life, pcid, segfault, thrashing/);
    const out = execFileSync(process.execPath, [resolve(ROOT, "bin/wasmmu.js"), "demo", "mprotect"], { cwd: ROOT, encoding: "utf8" });
    expect(out).toMatch(/merged again/);
  });
});

describe("examples/linux: memory cgroups", () => {
  it("container-oom.mjs: T is OOM-killed inside its group's 32 MiB, the bigger db outside lives on; the files and the report as Linux 6.18 prints them", () => {
    const out = example("container-oom.mjs");
    expect(out).toMatch(/^T \(in it\) wrote [\d.]+ MiB of 64 MiB, then: killed by signal 9 \(SIGKILL\)$/m);
    expect(out).toContain("$ cat /sys/fs/cgroup/memory/demo_oom/memory.limit_in_bytes\n33554432\n");
    expect(out).toContain("$ cat /sys/fs/cgroup/memory/demo_oom/memory.max_usage_in_bytes\n33554432\n");
    expect(out).toContain("memory.oom_control\noom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    expect(out).toMatch(/^1:memory:\/demo_oom$/m);
    expect(out).toMatch(/\] T invoked oom-killer: gfp_mask=0xcc0\(GFP_KERNEL\), order=0, oom_score_adj=0\n/);
    expect(out).toMatch(/\] memory: usage 32768kB, limit 32768kB, failcnt 0\n.*\] memory\+swap: usage 32768kB, limit 32768kB, failcnt 0\n.*\] kmem: usage \d+kB, limit 9007199254740988kB, failcnt 0\n.*\] Memory cgroup stats for \/demo_oom:\n.*\] cache 0\n/);
    expect(out).toMatch(/oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=\(null\),cpuset=\/,mems_allowed=0,oom_memcg=\/demo_oom,task_memcg=\/demo_oom,task=T,pid=\d+,uid=0\n/);
    expect(out).toMatch(/Memory cgroup out of memory: Killed process \d+ \(T\) total-vm:\d+kB, anon-rss:\d+kB/);
    expect(out).toMatch(/^db: alive, reads "db 0" back, 0 pages of it swapped; H: alive$/m);
  });
});
