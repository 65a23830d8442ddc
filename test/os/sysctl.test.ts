// The vm sysctls behind Linux.sysctl and /proc/sys/vm (src/os/sysctl.ts). Ranges are the proc
// handlers' (kernel/sysctl.c proc_dointvec_minmax with extra1/extra2): mm/vmscan.c swappiness
// 0..MAX_SWAPPINESS (200), mm/swap.c page-cluster 0..page_cluster_max (31), mm/page_alloc.c
// min_free_kbytes_sysctl_handler (≥ 0, then setup_per_zone_wmarks), fs/drop_caches.c 1..4 with
// mode 0200.
import { describe, it, expect } from "vitest";
import { bootLinux, kbField, ok } from "../helpers/linux.js";
import { O_RDONLY } from "../../src/os/fdtable.js";
import { Errno } from "../../src/os/errno.js";
import { VmSysctls, VM_SYSCTLS, isVmSysctl, isWriteOnlySysctl } from "../../src/os/sysctl.js";
import type { VmCommit } from "../../src/os/commit.js";
import { WasmmuError } from "../../src/errors.js";
import { KernelLog } from "../../src/os/klog.js";

describe("Linux.sysctl: every vm tunable through one table", () => {
  it("reads the defaults the owners keep (vm_swappiness 60, page_cluster 3, init_per_zone_wmark_min)", async () => {
    const { os, proc } = await bootLinux();
    expect(os.sysctl("vm.swappiness")).toBe(60);
    expect(os.sysctl("vm.page-cluster")).toBe(3);
    expect(os.sysctl("vm.min_free_kbytes")).toBe(os.machine.frames.defaultMinFreeKbytes);
    // /proc/sys/vm/<name> prints the same number and a newline (proc_dointvec's "%d\n").
    expect(proc.read("/proc/sys/vm/swappiness")).toBe("60\n");
    expect(proc.read("/proc/sys/vm/page-cluster")).toBe("3\n");
    expect(proc.read("/proc/sys/vm/min_free_kbytes")).toBe(`${os.machine.frames.defaultMinFreeKbytes}\n`);
    expect(proc.read("/proc/sys/vm/overcommit_ratio")).toBe("50\n");
  });

  it("writes within the proc handler's range and refuses the rest with EINVAL, changing nothing", async () => {
    const { os } = await bootLinux();
    expect(os.sysctl("vm.swappiness", 200)).toBe(0);
    expect(os.reclaim.swappiness).toBe(200);
    for (const bad of [201, -1, 1.5]) {
      const r = os.sysctl("vm.swappiness", bad);
      expect(r).toBeInstanceOf(Errno);
      expect((r as Errno).code).toBe("EINVAL");
    }
    expect(os.sysctl("vm.swappiness")).toBe(200);
    expect(os.sysctl("vm.page-cluster", 31n)).toBe(0);
    expect(os.swapOps.pageCluster).toBe(31);
    expect((os.sysctl("vm.page-cluster", 32) as Errno).code).toBe("EINVAL");
    expect((os.sysctl("vm.drop_caches", 0) as Errno).code).toBe("EINVAL");
    expect((os.sysctl("vm.drop_caches", 5) as Errno).code).toBe("EINVAL");
    // The overcommit family keeps its own handlers (overcommit_ratio_handler zeroes kbytes).
    expect(os.sysctl("vm.overcommit_kbytes", 1024)).toBe(0);
    expect(os.sysctl("vm.overcommit_ratio", 80)).toBe(0);
    expect(os.sysctl("vm.overcommit_kbytes")).toBe(0);
  });

  it("min_free_kbytes recomputes every zone's watermarks (setup_per_zone_wmarks)", async () => {
    const { os } = await bootLinux();
    const mins = () => os.machine.frames.zones().reduce((s, z) => s + z.watermarks.min, 0);
    const before = os.sysctl("vm.min_free_kbytes");
    const minBefore = mins();
    expect(os.sysctl("vm.min_free_kbytes", before * 4)).toBe(0);
    // The zones share pages_min = min_free_kbytes / 4 in proportion to their managed pages.
    expect(mins()).toBeGreaterThan(minBefore * 3.9);
    expect(mins()).toBeLessThanOrEqual(Math.ceil((before * 4) / 4) + os.machine.frames.zones().length);
  });

  it("drop_caches 1 drops clean unmapped page-cache pages; the file is write-only (mode 0200)", async () => {
    const { os, proc } = await bootLinux();
    os.addFile("/data", new Uint8Array(64 * 4096).fill(7));
    const t = os.spawn();
    const fd = ok(t.files.open("/data", O_RDONLY));
    expect(ok(t.files.read(fd, 64 * 4096)).length).toBe(64 * 4096);
    ok(t.files.close(fd));
    const cachedBefore = kbField(proc.meminfo(), "Cached");
    expect(cachedBefore).toBeGreaterThanOrEqual(64 * 4);
    expect(os.sysctl("vm.drop_caches", 1)).toBe(0);
    expect(kbField(proc.meminfo(), "Cached")).toBeLessThan(cachedBefore - 64 * 4 + 1);
    expect(() => proc.read("/proc/sys/vm/drop_caches")).toThrow(WasmmuError);
    expect(isWriteOnlySysctl("vm.drop_caches")).toBe(true);
    expect(isWriteOnlySysctl("vm.swappiness")).toBe(false);
  });

  it("an unknown name is an INVALID_ARGUMENT that lists the known ones", async () => {
    const { os } = await bootLinux();
    expect(() => os.sysctl("vm.dirty_ratio" as never)).toThrow(/unknown name "vm.dirty_ratio" \(known: .*vm\.swappiness.*\)/);
    expect(isVmSysctl("vm.page-cluster")).toBe(true);
    expect(isVmSysctl("vm.page_cluster")).toBe(false);
    expect(isVmSysctl("toString")).toBe(false);
  });
});

describe("VmSysctls over its owners", () => {
  it("routes each name to its owner and checks bigint values without losing precision", () => {
    const owners = {
      commit: { sysctl: () => 7, setSysctl: () => 0 } as unknown as VmCommit,
      reclaim: { swappiness: 60 },
      swapOps: { pageCluster: 3 },
      frames: { minFreeKbytes: 1024 },
      drops: 0,
      dropCaches() { this.drops++; },
      log: new KernelLog(() => 0),
    };
    const s = new VmSysctls(owners);
    expect(s.read("vm.overcommit_memory")).toBe(7);
    expect(s.write("vm.min_free_kbytes", 2048n)).toBe(0);
    expect(owners.frames.minFreeKbytes).toBe(2048);
    expect((s.write("vm.min_free_kbytes", 1n << 64n) as Errno).code).toBe("EINVAL");
    expect(owners.frames.minFreeKbytes).toBe(2048);
    expect(s.write("vm.drop_caches", 2)).toBe(0); // bit 1 clear: the page cache is left alone
    expect(owners.drops).toBe(0);
    expect(s.write("vm.drop_caches", 3)).toBe(0);
    expect(owners.drops).toBe(1);
    expect(s.read("vm.drop_caches")).toBe(0);
    expect(VM_SYSCTLS).toContain("vm.user_reserve_kbytes");
    // drop_caches_sysctl_handler: the writer is named until a write with bit 4 (stfu), never after.
    const texts = () => owners.log.records.map((r) => r.text);
    expect(texts()).toEqual([]);   // no writer given: nobody to name
    expect(s.write("vm.drop_caches", 1, { comm: "sh", pid: 7 })).toBe(0);
    expect(s.write("vm.drop_caches", 4, { comm: "sh", pid: 7 })).toBe(0);
    expect(s.write("vm.drop_caches", 1, { comm: "sh", pid: 7 })).toBe(0);
    expect(texts()).toEqual(["sh (7): drop_caches: 1", "sh (7): drop_caches: 4"]);
  });
});
