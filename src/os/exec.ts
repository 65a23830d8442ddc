/**
 * execve's address space: the layout Linux gives a new program (fs/binfmt_elf.c load_elf_binary,
 * arch/x86/mm/mmap.c arch_pick_mmap_layout, fs/exec.c setup_arg_pages, the vDSO's mappings).
 * The new mm is built whole before the old one goes: a failure leaves the task as it was
 * (Linux's point of no return comes after the new mm is ready).
 *
 * Owns: the exec layout constants and the made-up executables' bytes.
 */
import type { Mm } from "./mm.js";
import { Vma, PAGE_SIZE, VM_MAY_ALL, PROT_READ, PROT_WRITE, PROT_EXEC } from "./vma.js";
import { VM_READ, VM_WRITE, VM_EXEC, VM_GROWSDOWN, VM_ACCOUNT, VM_IO, VM_PFNMAP, VM_DONTEXPAND, VM_DONTDUMP, VM_MAYREAD } from "./proc/vmflags.js";
import { sysMmap, DEFAULT_MAP_WINDOW, MAP_FIXED, MAP_PRIVATE, MAP_ANONYMOUS, type MmapFile } from "./mmap.js";
import type { MmContext, SyscallTask } from "./args.js";
import { Errno, fail } from "./errno.js";
import type { Backing, FileSource } from "./pagecache.js";

const PAGE = PAGE_SIZE;
/** ELF_ET_DYN_BASE on x86-64: where a PIE is loaded without ASLR (2/3 of TASK_SIZE, page aligned). */
export const ELF_ET_DYN_BASE = 0x5555_5555_4000;
/** Where a non-PIE x86-64 executable is linked. */
export const ELF_EXEC_BASE = 0x40_0000;
/** STACK_TOP without ASLR (TASK_SIZE_LOW). */
export const STACK_TOP = DEFAULT_MAP_WINDOW;
/** Largest executable the model makes up (its text + data), as ELF's p_filesz is bounded by the file. */
export const MAX_IMAGE_BYTES = 2 ** 40;

/** A program to exec: sizes of its segments; its file is created in the model when not registered. */
export interface ProgramImage {
  /** Name (comm) and default path /usr/bin/<name>. */
  name?: string;
  /** The executable's path; registered with Linux.addFile, or created with the segment sizes. */
  path?: string;
  /** Bytes of the read-only headers + text segment (r-x). Default 8192. */
  text?: number;
  /** Bytes of initialised data (rw-, file-backed, private); 0 for none. Default 4096. */
  data?: number;
  /** Bytes of bss (anonymous, rw-) after the data. Default 8192. */
  bss?: number;
  /** Position-independent (loaded at ELF_ET_DYN_BASE) or linked at 0x400000. Default true. */
  pie?: boolean;
}

/** What exec needs of the kernel besides the mm system calls. */
export interface ExecKernel extends MmContext {
  readonly aslr: boolean;
  random(limit: number): number;
  /** A new mm (pgd with the kernel half), or null when no frame is left for its pgd. */
  newMm(): Mm | null;
  /** Tear an mm down completely (exit_mmap + pgd_free). */
  dropMm(mm: Mm): void;
  file(path: string): Backing | undefined;
  addFile(path: string, content: FileSource): Backing;
}

export function pageUp(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}

/**
 * An executable's bytes, made on demand rather than held: an ELF magic, then a pattern per page
 * (so a 256 MiB text costs nothing until its pages are read).
 */
export class ProgramSource implements FileSource {
  readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  read(offset: number, into: Uint8Array): void {
    into.fill(0);
    const magic = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1];
    for (let i = 0; i < into.length && offset + i < this.size; i++) {
      const at = offset + i;
      into[i] = at < magic.length ? magic[at] : at < 64 ? 0 : (at >> 12) & 0xff;
    }
  }

  write(): void {
    // Executables are mapped privately: nothing writes them back.
  }
}

/**
 * Build the address space of `image` for `task` (pid and CPU for accounting): text (r-x) and data
 * (rw-) mapped privately from the executable, bss and the heap (brk) after them, a top-down mmap
 * area below mmap_base, [vvar]/[vdso], and a [stack] that grows down. Deterministic unless the
 * kernel was booted with aslr. @returns the new mm, or an Errno (nothing left behind then)
 */
export function buildExecMm(k: ExecKernel, task: { readonly pid: number; readonly cpu: number; comm: string; readonly capSysAdmin?: boolean }, image: ProgramImage): Mm | Errno {
  const sizes = [image.text ?? 8192, image.data ?? 4096, image.bss ?? 8192];
  if (!sizes.every((n) => Number.isSafeInteger(n) && n >= 0) || sizes[0] === 0) return fail("EINVAL", "exec: segment sizes must be non-negative integers, text > 0");
  const text = pageUp(sizes[0]);
  const data = pageUp(sizes[1]);
  const bss = sizes[2];
  if (text + data > MAX_IMAGE_BYTES) return fail("ENOEXEC", `exec: an image of ${text + data} bytes is larger than the model's ${MAX_IMAGE_BYTES}`);
  const path = image.path ?? `/usr/bin/${image.name?.slice(0, 15) ?? task.comm}`;
  const file = k.file(path) ?? k.addFile(path, new ProgramSource(text + data));
  const mm = k.newMm();
  if (mm === null) return fail("ENOMEM", "exec: no frame for the new address space's pgd");
  const bprm: SyscallTask = { pid: task.pid, cpu: task.cpu, mm, minFlt: 0, majFlt: 0, comm: task.comm, capSysAdmin: task.capSysAdmin };
  const rnd = (pages: number) => (k.aslr ? k.random(pages) * PAGE : 0);
  // arch_pick_mmap_layout: mmap_base = TASK_SIZE - max(stack rlimit + guard gap (+ stack randomisation), 128 MiB) - rnd.
  const stackRandom = k.aslr ? 2 ** 22 * PAGE : 0;
  const gap = Math.max(8 * 2 ** 20 + 256 * PAGE + stackRandom, 128 * 2 ** 20);
  mm.mmapBase = STACK_TOP - gap - rnd(2 ** 28);
  const base = image.pie === false ? ELF_EXEC_BASE : ELF_ET_DYN_BASE + rnd(2 ** 28 / 8);
  const fileRef: MmapFile = { file, writable: false };
  const F = MAP_FIXED | MAP_PRIVATE;
  const segments: [number, number, number, number, MmapFile | null, number][] = [
    [base, text, PROT_READ | PROT_EXEC, F, fileRef, 0],
    [base + text, data, PROT_READ | PROT_WRITE, F, fileRef, text],
  ];
  let end = base + text + data;
  if (bss > 0) {
    const bssEnd = pageUp(end + bss);
    segments.push([end, bssEnd - end, PROT_READ | PROT_WRITE, F | MAP_ANONYMOUS, null, 0]);
    end = bssEnd;
  }
  for (const [addr, len, prot, flags, f, off] of segments) {
    if (len === 0) continue; // a segment with no bytes (p_filesz 0) is not mapped
    const r = sysMmap(k, bprm, addr, len, prot, flags, f, off);
    if (r instanceof Errno) { k.dropMm(mm); return fail(r.code, `exec: mapping 0x${addr.toString(16)}: ${r.message}`); }
  }
  mm.startCode = base;
  mm.endCode = base + text;
  mm.startData = base + text;
  mm.endData = base + text + data;
  // The heap starts after bss (randomize_va_space 2 moves it up by up to 32 MiB).
  mm.startBrk = mm.brk = end + rnd(0x0200_0000 / PAGE);
  // [vvar] + [vvar_vclock] + [vdso] at the top of the mmap area, as the vDSO setup maps them.
  const vdsoBase = mm.mmapBase - 8 * PAGE;
  const special = (s: number, n: number, flags: number, name: string) => mm.vmas.insert(new Vma(s, s + n * PAGE, flags, 0, null, name));
  special(vdsoBase, 4, VM_READ | VM_MAYREAD | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP, "[vvar]");
  special(vdsoBase + 4 * PAGE, 2, VM_READ | VM_MAYREAD | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP, "[vvar_vclock]");
  special(vdsoBase + 6 * PAGE, 2, VM_READ | VM_EXEC | VM_MAY_ALL | VM_DONTEXPAND, "[vdso]");
  mm.mmapBase = vdsoBase;
  // setup_arg_pages: the stack VMA covers the argument page plus 128 KiB of room below it. It is
  // VM_ACCOUNT (VM_STACK_FLAGS): insert_vm_struct commits its first page and expand_stack the
  // rest, either of which the overcommit policy may refuse.
  const stackTop = STACK_TOP - rnd(2 ** 22);
  if (!k.commit.vmEnoughMemory(mm, 33, bprm)) { k.dropMm(mm); return fail("ENOMEM", "exec: committing the stack is refused by the overcommit policy"); }
  mm.vmas.insert(new Vma(stackTop - 33 * PAGE, stackTop, VM_READ | VM_WRITE | VM_MAY_ALL | VM_GROWSDOWN | VM_ACCOUNT, (stackTop - 33 * PAGE) / PAGE, null, "[stack]"));
  mm.startStack = stackTop - PAGE;
  mm.updateHiwater();
  return mm;
}
