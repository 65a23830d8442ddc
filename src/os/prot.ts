/**
 * vm_get_page_prot: the PTE bits a VMA's rights give its pages (arch/x86/mm/pgprot.c), as the
 * halves the kernel model writes.
 *
 * Owns: nothing.
 */
import type { Vma } from "./vma.js";
import { PTE_PRESENT, PTE_USER, PTE_ACCESSED, PTE_PROTNONE, PTE_HI_NX } from "../machine/pgtable.js";
import { VM_READ, VM_WRITE, VM_EXEC } from "./proc/vmflags.js";

/**
 * The PTE bits Linux's vm_get_page_prot gives a VMA (write granted separately), as the low
 * word's flags: P|U|A, or PROTNONE|A for a VMA with no rights.
 */
export function protLow(vma: Vma): number {
  return (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0 ? PTE_PROTNONE | PTE_ACCESSED : PTE_PRESENT | PTE_USER | PTE_ACCESSED;
}

/** The high word of vm_get_page_prot: NX for an accessible, non-executable VMA when EFER.NXE is on. */
export function protHigh(ctx: { readonly nx: boolean }, vma: Vma): number {
  return (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0 && (vma.flags & VM_EXEC) === 0 && ctx.nx ? PTE_HI_NX : 0;
}
