// Every row of ../shared/reproducers/errno-vs-linux.md: the system-call results that differed from
// a real Linux 6.18.44 kernel, each answered as Linux does, with the kernel function that decides.
import { describe, it, expect } from "vitest";
import { bootLinux, ok } from "../helpers/linux.js";
import {
  MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_HUGETLB,
  MAP_POPULATE, MAP_LOCKED, MAP_SYNC, MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_FREE,
} from "../../src/os/mmap.js";
import { PROT_SEM, PROT_GROWSDOWN } from "../../src/os/mprotect.js";
import { PROT_READ, PROT_WRITE, PROT_NONE } from "../../src/os/vma.js";
import { Errno } from "../../src/os/errno.js";
import type { Linux } from "../../src/os/linux.js";
import type { Task } from "../../src/os/process.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const PAGE = 4096;
const ARENA = 0x2000_0000;

function code(r: unknown): string {
  return r instanceof Errno ? r.code : "ok";
}

async function setup(ram = "64MiB"): Promise<{ os: Linux; t: Task; file: ReturnType<Linux["addFile"]> }> {
  const { os } = await bootLinux({}, { ram });
  const t = os.spawn();
  const file = os.addFile("/data/f", new Uint8Array(2 * PAGE).fill(0x41));
  return { os, t, file };
}

describe("mmap (mm/mmap.c do_mmap, ksys_mmap_pgoff, __get_unmapped_area)", () => {
  it("MAP_SHARED_VALIDATE|MAP_ANONYMOUS is EINVAL (the anonymous switch knows no SHARED_VALIDATE), with or without an unknown flag", async () => {
    const { t } = await setup();
    expect(code(t.mmap(0, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS))).toBe("EINVAL");
    expect(code(t.mmap(0, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x80))).toBe("EINVAL");
  });

  it("MAP_SHARED_VALIDATE on a file: 0x80 (MAP_ABOVE4G, in LEGACY_MAP_MASK) is fine, MAP_SYNC is EOPNOTSUPP (errno 95)", async () => {
    const { t, file } = await setup();
    expect(code(t.mmap(0, PAGE, PROT_READ, MAP_SHARED_VALIDATE | 0x80, { file }))).toBe("ok");
    const r = t.mmap(0, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, { file });
    expect([code(r), (r as Errno).errno]).toEqual(["EOPNOTSUPP", 95]);
  });

  it("prot PROT_SEM, 0x10 or PROT_GROWSDOWN: mmap does not check prot bits (calc_vm_prot_bits keeps R/W/X)", async () => {
    const { t } = await setup();
    for (const prot of [PROT_READ | PROT_SEM, PROT_READ | 0x10, PROT_READ | PROT_GROWSDOWN]) expect(code(t.mmap(0, PAGE, prot, ANON))).toBe("ok");
  });

  it("MAP_FIXED at an unaligned address above TASK_SIZE is ENOMEM (the TASK_SIZE check comes before alignment)", async () => {
    const { t } = await setup();
    expect(code(t.mmap(2 ** 47 + 123, PAGE, RW, ANON | MAP_FIXED))).toBe("ENOMEM");
  });

  it("1 TiB MAP_SHARED|MAP_ANONYMOUS is ENOMEM: shmem_acct_size charges it to the overcommit heuristic", async () => {
    const { t } = await setup();
    expect(code(t.mmap(0, 2 ** 40, RW, MAP_SHARED | MAP_ANONYMOUS))).toBe("ENOMEM");
  });

  it("length 0 with a bad fd is EBADF (ksys_mmap_pgoff looks up the fd before do_mmap checks the length)", async () => {
    const { t } = await setup();
    expect(code(t.mmap(0, 0, PROT_READ, MAP_PRIVATE, null))).toBe("EBADF");
  });

  it("file offset 2^63 − 4096 is EOVERFLOW (file_mmap_ok: beyond MAX_LFS_FILESIZE)", async () => {
    const { t, file } = await setup();
    expect(code(t.mmap(0, PAGE, PROT_READ, MAP_PRIVATE, { file }, 2n ** 63n - 4096n))).toBe("EOVERFLOW");
  });

  it("MAP_FIXED_NOREPLACE|MAP_FIXED over an existing mapping is EEXIST and the mapping stays (NOREPLACE takes precedence)", async () => {
    const { t } = await setup();
    ok(t.mmap(ARENA, PAGE, RW, ANON | MAP_FIXED));
    t.write(ARENA, "keep");
    expect(code(t.mmap(ARENA, PAGE, RW, ANON | MAP_FIXED | MAP_FIXED_NOREPLACE))).toBe("EEXIST");
    expect(new TextDecoder().decode((t.read(ARENA, 4) as { bytes: Uint8Array }).bytes)).toBe("keep");
  });

  it("MAP_GROWSDOWN with shared anon, shared file or private file is EINVAL", async () => {
    const { t, file } = await setup();
    expect(code(t.mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN))).toBe("EINVAL");
    expect(code(t.mmap(0, PAGE, PROT_READ, MAP_SHARED | MAP_GROWSDOWN, { file }))).toBe("EINVAL");
    expect(code(t.mmap(0, PAGE, PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN, { file }))).toBe("EINVAL");
  });

  it("MAP_HUGETLB with no huge pages reserved is ENOMEM (hugetlb_file_setup)", async () => {
    const { t } = await setup();
    expect(code(t.mmap(0, 2 << 20, RW, ANON | MAP_HUGETLB))).toBe("ENOMEM");
  });

  it("MAP_POPULATE or MAP_LOCKED past the end of the file succeeds: mm_populate's errors are ignored, the mapping stands", async () => {
    const { t, file } = await setup();
    const a = t.mmap(0, 8 * PAGE, PROT_READ, MAP_PRIVATE | MAP_POPULATE, { file });
    expect(code(a)).toBe("ok");
    const b = t.mmap(0, 8 * PAGE, PROT_READ, MAP_PRIVATE | MAP_LOCKED, { file });
    expect(code(b)).toBe("ok");
    expect(t.mm!.vmas.find(Number(a))).not.toBeNull();
  });
});

describe("mprotect (mm/mprotect.c do_mprotect_pkey)", () => {
  it("PROT_SEM is accepted (arch_validate_prot); a zero length returns 0 before the prot bits are checked", async () => {
    const { t } = await setup();
    const a = ok(t.mmap(0, PAGE, RW, ANON));
    expect(t.mprotect(a, PAGE, PROT_READ | PROT_SEM)).toBe(0);
    expect(t.mprotect(a, 0, 0x40)).toBe(0);
    expect(code(t.mprotect(a, PAGE, 0x40))).toBe("EINVAL");
  });

  it("a hole in the range is ENOMEM after the VMAs before it were changed; a range starting in a hole changes nothing (do_mprotect_pkey's VMA loop)", async () => {
    const { t } = await setup();
    ok(t.mmap(ARENA, 2 * PAGE, RW, ANON | MAP_FIXED));
    ok(t.mmap(ARENA + 3 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED));
    expect(code(t.mprotect(ARENA, 5 * PAGE, PROT_READ))).toBe("ENOMEM");
    const vmas = t.mm!.vmas.all.filter((v) => v.start >= ARENA && v.end <= ARENA + 5 * PAGE);
    expect(vmas.map((v) => [v.start - ARENA, v.flags & 3])).toEqual([[0, 1], [3 * PAGE, 3]]); // first read-only, second untouched
    // Past the end of the last VMA: everything mapped is changed, then ENOMEM.
    expect(code(t.mprotect(ARENA + 3 * PAGE, 4 * PAGE, PROT_NONE))).toBe("ENOMEM");
    expect(t.mm!.vmas.find(ARENA + 3 * PAGE)!.flags & 3).toBe(0);
    // Starting in the hole: nothing changes.
    expect(code(t.mprotect(ARENA + 2 * PAGE, 3 * PAGE, RW))).toBe("ENOMEM");
    expect(t.mm!.vmas.find(ARENA + 3 * PAGE)!.flags & 3).toBe(0);
  });
});

describe("mremap (mm/mremap.c check_mremap_params, vma_to_resize, mremap_to)", () => {
  it("growing a shared anonymous mapping keeps the shmem object's size: the new part is SIGBUS (shmem_fault past i_size)", async () => {
    const { t } = await setup();
    const a = ok(t.mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS));
    const b = ok(t.mremap(a, PAGE, 2 * PAGE, MREMAP_MAYMOVE));
    expect(t.write(b, "in").ok).toBe(true);
    const r = t.write(b + BigInt(PAGE), "past");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.signal.name).toBe("SIGBUS");
  });

  it("MREMAP_DONTUNMAP of a locked mapping: the new one stays VM_LOCKED, the old one loses VM_LOCKED (move_vma)", async () => {
    const { t } = await setup();
    ok(t.mmap(ARENA, 2 * PAGE, RW, ANON | MAP_FIXED));
    expect(t.mlock(ARENA, 2 * PAGE)).toBe(0);
    const dst = ok(t.mremap(ARENA, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
    expect(t.mm!.vmas.find(ARENA)!.flags & 0x2000).toBe(0);
    expect(t.mm!.vmas.find(Number(dst))!.flags & 0x2000).toBe(0x2000);
  });

  it("MREMAP_FIXED with an old range beyond its VMA and an unaligned new address: EINVAL (new_addr is checked first)", async () => {
    const { t } = await setup();
    ok(t.mmap(ARENA, PAGE, RW, ANON | MAP_FIXED));
    expect(code(t.mremap(ARENA, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, ARENA + 0x10_0123))).toBe("EINVAL");
  });

  it("MREMAP_FIXED from an unmapped old range onto an overlapping new one: EINVAL (the overlap check comes before the VMA lookup)", async () => {
    const { t } = await setup();
    expect(code(t.mremap(ARENA, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, ARENA + PAGE))).toBe("EINVAL");
  });

  it("a new length above TASK_SIZE with an unmapped old range is EINVAL", async () => {
    const { t } = await setup();
    expect(code(t.mremap(ARENA, PAGE, 2 ** 48, MREMAP_MAYMOVE))).toBe("EINVAL");
  });

  it("MREMAP_FIXED to address 0 is EPERM (security_mmap_addr: below vm.mmap_min_addr)", async () => {
    const { t } = await setup();
    ok(t.mmap(ARENA, PAGE, RW, ANON | MAP_FIXED));
    expect(code(t.mremap(ARENA, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, 0))).toBe("EPERM");
    expect(t.mm!.vmas.find(0)).toBeNull();
  });

  it("old length 0 on shared anonymous memory duplicates the mapping, with and without MREMAP_FIXED", async () => {
    const { t } = await setup();
    const s = ok(t.mmap(ARENA, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED));
    expect(code(t.mremap(s, 0, PAGE, MREMAP_MAYMOVE))).toBe("ok");
    expect(code(t.mremap(s, 0, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, ARENA + 0x10_0000))).toBe("ok");
  });
});

describe("madvise (mm/madvise.c do_madvise, madvise_populate, madvise_free_single_vma)", () => {
  it("a length that wraps, or 2^64 − 1 (PAGE_ALIGN rounds it to 0), is EINVAL", async () => {
    const { t } = await setup();
    const a = ok(t.mmap(0, PAGE, RW, ANON));
    expect(code(t.madvise(a, 2n ** 64n - a, MADV_FREE))).toBe("EINVAL");
    expect(code(t.madvise(a, 2n ** 64n - 1n, MADV_FREE))).toBe("EINVAL");
  });

  it("POPULATE_WRITE on PROT_READ, POPULATE_READ/WRITE on PROT_NONE are EINVAL, and nothing becomes writable", async () => {
    const { t } = await setup();
    const ro = ok(t.mmap(0, PAGE, PROT_READ, ANON));
    const none = ok(t.mmap(0, PAGE, PROT_NONE, ANON));
    expect(code(t.madvise(ro, PAGE, MADV_POPULATE_WRITE))).toBe("EINVAL");
    expect(code(t.madvise(none, PAGE, MADV_POPULATE_READ))).toBe("EINVAL");
    expect(code(t.madvise(none, PAGE, MADV_POPULATE_WRITE))).toBe("EINVAL");
    expect(code(t.madvise(ro, PAGE, MADV_POPULATE_READ))).toBe("ok");
  });

  it("MADV_FREE on a private file mapping or shared anonymous memory is EINVAL (not vma_is_anonymous)", async () => {
    const { t, file } = await setup();
    expect(code(t.madvise(ok(t.mmap(0, PAGE, RW, MAP_PRIVATE, { file })), PAGE, MADV_FREE))).toBe("EINVAL");
    expect(code(t.madvise(ok(t.mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS)), PAGE, MADV_FREE))).toBe("EINVAL");
  });
});

describe("mlock and brk (mm/mlock.c __mlock_posix_error_return, mm/mmap.c do_brk_flags)", () => {
  it("mlock of a file mapping past its end, or of a PROT_NONE mapping, is ENOMEM (-EFAULT from populating, turned into ENOMEM)", async () => {
    const { t, file } = await setup();
    const f = ok(t.mmap(0, 8 * PAGE, PROT_READ, MAP_PRIVATE, { file }));
    expect(code(t.mlock(f, 8 * PAGE))).toBe("ENOMEM");
    const none = ok(t.mmap(0, PAGE, PROT_NONE, ANON));
    expect(code(t.mlock(none, PAGE))).toBe("ENOMEM");
  });

  it("brk to the current break + 1 TiB on a 64 MiB machine is refused by the overcommit heuristic (the break does not move)", async () => {
    const { t } = await setup();
    const cur = t.brk(0);
    expect(t.brk(cur + 2n ** 40n)).toBe(cur);
  });
});
