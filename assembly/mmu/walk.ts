// THE page walker: architectural x86-64 linear-address translation, 4-level and 5-level.
//
// Owns: nothing but the per-CPU result record and walk entries it writes. Reads registers from
// the CPU record and paging structures from physical memory; sets A/D bits with locked
// compare-and-exchange. There is exactly one walker: probes (no side effects) pass ACC_PROBE
// instead of using a copy (STYLE.md habit 4).
//
// Follows Intel SDM Vol. 3A:
//   §4.5   4-level and 5-level paging: the walk, Tables 4-14…4-20 (entry formats, reserved bits)
//   §4.6   access rights: U/S, R/W with CR0.WP, XD with EFER.NXE, SMEP, SMAP with RFLAGS.AC
//   §4.6.2 protection keys (PKRU AD/WD, user-mode addresses, data accesses only)
//   §4.7   #PF error code; CR2
//   §4.8   accessed and dirty flags
//   §4.9   memory type from PAT, PCD, PWT (with §11.12.3)
//   §3.3.7.1 canonical addresses: a non-canonical address is #GP(0), no walk, CR2 untouched
//
// Choice (SDM §4.8 leaves it open): a faulting walk writes nothing. A/D bits are set only once
// the whole translation is known to succeed, so a fault leaves every entry unchanged.

import {
  CPU_CR0, CPU_CR2, CPU_CR3, CPU_CR4, CPU_EFER, CPU_RFLAGS, CPU_PAT, CPU_PKRU, CPU_RESULT, CPU_WALK,
  RES_STATUS, RES_ERROR_CODE, RES_VADDR, RES_PADDR, RES_PAGE_SHIFT, RES_MEMTYPE, RES_LEVELS,
  RES_STOP, RES_STOP_LEVEL, RES_RIGHTS, RES_LEAF, WALK_LEVEL, WALK_PA, WALK_BEFORE, WALK_AFTER,
  WALK_ENTRY_SIZE, RIGHT_WRITE, RIGHT_USER, RIGHT_NX, RIGHT_GLOBAL, RIGHT_DIRTY, RIGHT_PKEY_SHIFT,
} from "../abi/layout";
import {
  PAGE_PRESENT, PAGE_RW, PAGE_USER, PAGE_ACCESSED, PAGE_DIRTY, PAGE_PSE, PAGE_GLOBAL, PAGE_NX,
  PTE_ADDR_FIELD, PTRS_SHIFT, ENTRY_SHIFT, levelShift, levelIndex, physMask,
  largeLeafReservedBits, entryFrame, entryPkey, entryPatIndex,
} from "../arch/x86/pgtable";
import { CR0_WP, CR0_CD, CR4_LA57, CR4_SMEP, CR4_SMAP, CR4_PKE, EFER_NXE, RFLAGS_AC, MEMTYPE_UC, FEAT_PAGE1GB } from "../arch/x86/regs";
import {
  X86_PF_PROT, X86_PF_WRITE, X86_PF_USER, X86_PF_RSVD, X86_PF_INSTR, X86_PF_PK,
  XLAT_OK, XLAT_PF, XLAT_GP, STOP_LEAF, STOP_NOT_PRESENT, STOP_RESERVED, STOP_RIGHTS, STOP_PKEY,
  STOP_NONCANONICAL,
} from "../arch/x86/fault";
import { cpuPtr, maxPhyAddr, features, physReserved, numCpus } from "../arch/x86/cpu";
import { physLoadEntry, physCmpxchgEntry } from "../phys/ram";
import { count, countN, counterBlock, Counter } from "../stats/counters";

// Access flags: what the access is, and how to run the walk.
@inline export const ACC_WRITE: u32 = 1 << 0;     // a data write
@inline export const ACC_FETCH: u32 = 1 << 1;     // an instruction fetch
@inline export const ACC_USER: u32 = 1 << 2;      // CPL 3 (ignored with ACC_IMPLICIT)
@inline export const ACC_IMPLICIT: u32 = 1 << 3;  // implicit supervisor access (GDT, IDT, TSS…): supervisor at any CPL, SMAP ignores AC
@inline export const ACC_PROBE: u32 = 1 << 4;     // no side effects: no A/D writes, no CR2, no counters

/**
 * Translate `va` on CPU `cpu` for an access described by `acc` (ACC_* flags).
 * Writes the CPU's result record and walk entries; on #PF sets CR2 (unless ACC_PROBE); on
 * success sets A in every entry used and D in the leaf on a write (unless ACC_PROBE).
 * @returns XLAT_OK, XLAT_PF or XLAT_GP (also stored as the result's status).
 */
export function translate(cpu: u32, va: u64, acc: u32): u32 {
  const c = cpuPtr(cpu);
  const res = c + CPU_RESULT;
  const probe = (acc & ACC_PROBE) != 0;
  // A probe counts nothing: even the physical-memory layer's counts go to a scratch block.
  const ctr = probe ? counterBlock(numCpus + 1) : counterBlock(cpu);
  const cr4 = load<u64>(c + CPU_CR4);
  const levels: u32 = (cr4 & CR4_LA57) != 0 ? 5 : 4;
  store<u64>(res + RES_VADDR, va);

  // §3.3.7.1: bits 63:48 (63:57 with LA57) must copy bit 47 (56).
  const unused: u64 = 64 - (levelShift(levels) + PTRS_SHIFT);
  if (<u64>((<i64>(va << unused)) >> unused) != va) {
    store<u32>(res + RES_STATUS, XLAT_GP);
    store<u32>(res + RES_ERROR_CODE, 0);
    store<u32>(res + RES_LEVELS, 0);
    store<u32>(res + RES_STOP, STOP_NONCANONICAL);
    store<u32>(res + RES_STOP_LEVEL, 0);
    if (!probe) count(ctr, Counter.FAULT_GP);
    return XLAT_GP;
  }

  const cr0 = load<u64>(c + CPU_CR0);
  const nxe = (load<u64>(c + CPU_EFER) & EFER_NXE) != 0;
  const write = (acc & ACC_WRITE) != 0;
  const fetch = (acc & ACC_FETCH) != 0;
  const implicit = (acc & ACC_IMPLICIT) != 0;
  const user = (acc & ACC_USER) != 0 && !implicit;
  const rsvdBase = physReserved | (nxe ? 0 : PAGE_NX);
  const addrMask = physMask(maxPhyAddr) & PTE_ADDR_FIELD;
  // Error-code bits that describe the access itself (§4.7): W/R, U/S, and I/D when NXE or SMEP.
  let accessBits: u32 = 0;
  if (write) accessBits |= X86_PF_WRITE;
  if (user) accessBits |= X86_PF_USER;
  if (fetch && (nxe || (cr4 & CR4_SMEP) != 0)) accessBits |= X86_PF_INSTR;

  if (!probe) count(ctr, Counter.WALK_STARTED);
  const walk = c + CPU_WALK;
  while (true) {
    let table = load<u64>(c + CPU_CR3) & addrMask;
    let level = levels;
    let n: u32 = 0;
    let folded: u64 = PAGE_RW | PAGE_USER;   // AND of R/W and U/S over the levels
    let nx: u64 = 0;                          // OR of XD over the levels
    let allA: u64 = PAGE_ACCESSED;            // AND of A: when set, a read needs no A/D write
    let entry: u64 = 0;
    let stop = STOP_LEAF;
    while (true) {
      const epa = table + (levelIndex(va, level) << ENTRY_SHIFT);
      entry = physLoadEntry(epa, ctr);
      const w = walk + <usize>n * WALK_ENTRY_SIZE;
      store<u32>(w + WALK_LEVEL, level);
      store<u64>(w + WALK_PA, epa);
      store<u64>(w + WALK_BEFORE, entry);
      store<u64>(w + WALK_AFTER, entry);
      n++;
      if ((entry & PAGE_PRESENT) == 0) { stop = STOP_NOT_PRESENT; break; }
      let rsvd = entry & rsvdBase;
      const large = (entry & PAGE_PSE) != 0;
      if (level >= 4) {
        rsvd |= entry & PAGE_PSE;               // PS is reserved in PML5E and PML4E
      } else if (level >= 2 && large) {
        rsvd |= entry & largeLeafReservedBits(level);
        if (level == 3 && (features & FEAT_PAGE1GB) == 0) rsvd |= PAGE_PSE;
      }
      if (rsvd != 0) { stop = STOP_RESERVED; break; }
      folded &= entry;
      nx |= entry;
      allA &= entry;
      if (level == 1 || large) break;
      table = entry & addrMask;
      level--;
    }
    store<u32>(res + RES_LEVELS, n);
    store<u32>(res + RES_STOP_LEVEL, level);
    if (!probe) countN(ctr, Counter.WALK_MEM_REF, n);

    const userAddr = (folded & PAGE_USER) != 0;
    const writable = (folded & PAGE_RW) != 0;
    const noExec = nxe && (nx & PAGE_NX) != 0;
    let errorCode: u32 = 0;
    if (stop == STOP_NOT_PRESENT) {
      errorCode = accessBits;
    } else if (stop == STOP_RESERVED) {
      errorCode = X86_PF_PROT | X86_PF_RSVD | accessBits;
    } else {
      // §4.6.1: combine the folded rights with the mode of the access.
      let denied = false;
      if (user) {
        denied = !userAddr || (write && !writable) || (fetch && noExec);
      } else if (fetch) {
        denied = (userAddr && (cr4 & CR4_SMEP) != 0) || noExec;
      } else {
        const ac = !implicit && (load<u64>(c + CPU_RFLAGS) & RFLAGS_AC) != 0;
        denied = (userAddr && (cr4 & CR4_SMAP) != 0 && !ac) || (write && !writable && (cr0 & CR0_WP) != 0);
      }
      // §4.6.2: PKRU guards data accesses to user-mode addresses, from either mode. §4.7 defines
      // the PK error bit by these conditions alone, so it is set even when the page-level rights
      // above also deny the access (as hardware and QEMU report it).
      let pkDenied = false;
      if ((cr4 & CR4_PKE) != 0 && userAddr && !fetch) {
        const pkr = load<u32>(c + CPU_PKRU) >> (entryPkey(entry) << 1);
        pkDenied = (pkr & 1) != 0 || (write && (pkr & 2) != 0 && (user || (cr0 & CR0_WP) != 0));
      }
      if (denied || pkDenied) {
        stop = denied ? STOP_RIGHTS : STOP_PKEY;
        errorCode = X86_PF_PROT | accessBits | (pkDenied ? X86_PF_PK : 0);
      }
    }
    store<u32>(res + RES_STOP, stop);

    if (stop != STOP_LEAF) {
      store<u32>(res + RES_STATUS, XLAT_PF);
      store<u32>(res + RES_ERROR_CODE, errorCode);
      if (!probe) {
        store<u64>(c + CPU_CR2, va);
        count(ctr, Counter.FAULT_PF);
        if (stop == STOP_NOT_PRESENT) count(ctr, Counter.FAULT_PF_NOT_PRESENT);
        else if (stop == STOP_RESERVED) count(ctr, Counter.FAULT_PF_RSVD);
        else if (stop == STOP_PKEY) count(ctr, Counter.FAULT_PF_PK);
        else count(ctr, Counter.FAULT_PF_PROT);
      }
      return XLAT_PF;
    }

    // §4.8: set A in every entry used and D in the leaf on a write, each with a locked
    // read-modify-write; if an entry changed since it was read, walk again.
    let leaf = entry;
    // Most walks find every A already set (and D too for writes): skip the update pass then.
    const needUpdate = allA == 0 || (write && (entry & PAGE_DIRTY) == 0);
    if (!probe && !needUpdate) count(ctr, Counter.WALK_COMPLETED);
    if (!probe && needUpdate) {
      let changed = false;
      for (let i: u32 = 0; i < n; i++) {
        const w = walk + <usize>i * WALK_ENTRY_SIZE;
        const before = load<u64>(w + WALK_BEFORE);
        let after = before | PAGE_ACCESSED;
        if (i == n - 1 && write) after |= PAGE_DIRTY;
        if (after == before) continue;
        if (!physCmpxchgEntry(load<u64>(w + WALK_PA), before, after)) { changed = true; break; }
        store<u64>(w + WALK_AFTER, after);
        if ((before & PAGE_ACCESSED) == 0) count(ctr, Counter.AD_ACCESSED_SET);
        if ((after & ~before & PAGE_DIRTY) != 0) count(ctr, Counter.AD_DIRTY_SET);
      }
      if (changed) { count(ctr, Counter.WALK_RESTART); continue; }
      leaf = load<u64>(walk + <usize>(n - 1) * WALK_ENTRY_SIZE + WALK_AFTER);
      count(ctr, Counter.WALK_COMPLETED);
    }

    const shift = levelShift(level);
    store<u32>(res + RES_STATUS, XLAT_OK);
    store<u32>(res + RES_ERROR_CODE, 0);
    store<u64>(res + RES_PADDR, entryFrame(leaf, level, maxPhyAddr) | (va & ((<u64>1 << shift) - 1)));
    store<u32>(res + RES_PAGE_SHIFT, shift);
    // §11.12.3: the PAT entry selected by PAT:PCD:PWT; MTRRs are not modelled (all WB), and
    // CR0.CD=1 forces UC.
    const memType = (cr0 & CR0_CD) != 0 ? MEMTYPE_UC
      : <u32>(load<u64>(c + CPU_PAT) >> (entryPatIndex(leaf, level) << 3)) & 7;
    store<u32>(res + RES_MEMTYPE, memType);
    let rights: u32 = entryPkey(leaf) << RIGHT_PKEY_SHIFT;
    if (writable) rights |= RIGHT_WRITE;
    if (userAddr) rights |= RIGHT_USER;
    if (noExec) rights |= RIGHT_NX;
    if ((leaf & PAGE_GLOBAL) != 0) rights |= RIGHT_GLOBAL;
    if ((leaf & PAGE_DIRTY) != 0) rights |= RIGHT_DIRTY;
    store<u32>(res + RES_RIGHTS, rights);
    store<u64>(res + RES_LEAF, leaf);
    return XLAT_OK;
  }
}
