// Fault policies the host registers with the replay loop, so that the faults they resolve never
// return to JavaScript one by one (a trace whose accesses fault by the thousand would otherwise
// cross into the host per fault).
//
// Owns: the registered policy, the address space it maps into, and the count of faults it
// resolved since the host last took it. The replay loop (loop.ts, and its miss path in miss.ts)
// asks resolveFault after a fault.

import {
  CPU_RESULT, CPU_CR3, CPU_CR4, CPU_WALK, RES_STATUS, RES_ERROR_CODE, RES_VADDR, RES_STOP, RES_STOP_LEVEL, RES_PSC_LEVEL,
  WALK_ENTRY_SIZE, WALK_LEVEL, WALK_PA,
} from "../abi/layout";
import { XLAT_PF, X86_PF_PROT, STOP_NOT_PRESENT } from "../arch/x86/fault";
import { CR4_LA57 } from "../arch/x86/regs";
import { physMask, PTE_ADDR_FIELD } from "../arch/x86/pgtable";
import { maxPhyAddr, numCpus } from "../arch/x86/cpu";
import { FAULT_POLICY_HOST, FAULT_POLICY_SKIP, FAULT_POLICY_DEMAND_4K } from "../abi/records";
import { buddyAllocPage, buddyFree } from "../phys/buddy";
import { physStoreEntry, tablesOnly } from "../phys/ram";
import { inGuest } from "../mmu/nested";
import { ptMap, PTMAP_OK } from "../mmu/ptmap";
import { counterBlock } from "../stats/counters";

/**
 * The registered policy. Only not-present #PFs (error code P=0, SDM §4.7) are resolved here;
 * every other fault, and one the policy cannot resolve (no frame), stops the replay as before.
 * The policies (abi/records.ts):
 *   FAULT_POLICY_HOST: none, every fault returns to the host;
 *   FAULT_POLICY_SKIP: count the fault and go on with the next record (the access is dropped);
 *   FAULT_POLICY_DEMAND_4K: map the 4 KiB page (a frame from the buddy allocator, leaf and any
 *     missing tables P|RW|US with A and D clear, under `policyRoot`) and retry the record — what
 *     the host's DemandMapper does for 4 KiB pages, do_anonymous_page without the kernel model.
 */
export let faultPolicy: u32 = FAULT_POLICY_HOST;
let policyRoot: u64 = 0;
let policyLevels: u32 = 4;
/**
 * The leaf resolveNotPresent's last mapping wrote into the PTE it was told (the tables above
 * untouched), else 0: fastAbsent's walk again starts from it (walkuser.ts walkUserAgain).
 */
export let demandLeaf: u64 = 0;
/** Faults the registered policy resolved since the host last took the count. */
let policyResolved: u32 = 0;
/** The P|RW|US bits of demand-mapped leaves and tables (DemandMapper's TABLE and LEAF_4K). */
@inline const DEMAND_BITS: u64 = 0x7;

/** Register the fault policy (FAULT_POLICY_*); `root`, `levels`: the address space it maps into. */
export function replaySetFaultPolicy(policy: u32, root: u64, levels: u32): void {
  faultPolicy = policy <= FAULT_POLICY_DEMAND_4K ? policy : FAULT_POLICY_HOST;
  policyRoot = root;
  policyLevels = levels;
}

/** Faults the registered policy resolved since the last call (and reset the count). */
export function replayTakeResolved(): u32 {
  const n = policyResolved;
  policyResolved = 0;
  return n;
}

/**
 * Resolve the fault CPU record `c` just took with the registered policy. @returns 1 to go on with
 * the next record (skipped), 0 to retry the same record (mapped), 2 when the host must decide
 * (always, when no policy is registered)
 */
export function resolveFault(c: usize): u32 {
  if (faultPolicy == FAULT_POLICY_HOST) return 2;
  const res = c + CPU_RESULT;
  if (load<u32>(res + RES_STATUS) != XLAT_PF || (load<u32>(res + RES_ERROR_CODE) & X86_PF_PROT) != 0) return 2;
  return resolveNotPresent(c, load<u64>(res + RES_VADDR), faultPteAddress(c));
}

/**
 * Resolve a not-present #PF of CPU record `c` at `va` with the registered policy (what
 * resolveFault does once it knows the fault is one), when the caller knows the fault and, for
 * the demand policy, maybe where to map: `pte`, the physical address of the not-present PTE
 * that a walk from the CPU's CR3 read on its way down with every table present (a level-1 stop),
 * or 0 to map through ptMap. The PTE is written only if CR3 is the policy's root with its number
 * of levels; else the mapping goes through ptMap under the policy's root as before. Inline: its
 * demand-fault caller (replay/miss.ts fastAbsent) makes no call per fault.
 * @returns as resolveFault
 */
@inline export function resolveNotPresent(c: usize, va: u64, pte: u64): u32 {
  demandLeaf = 0;
  if (faultPolicy == FAULT_POLICY_HOST) return 2;
  if (faultPolicy == FAULT_POLICY_SKIP) { policyResolved++; return 1; }
  const pfn = buddyAllocPage(2);
  if (pfn < 0) return 2;   // out of frames: the host's policy says why
  const leaf = (<u64>pfn << 12) | DEMAND_BITS;
  if (pte != 0 && policyWalk(c)) {
    physStoreEntry(pte, leaf, counterBlock(numCpus));
    demandLeaf = leaf;
  } else if (ptMap(policyRoot, policyLevels, va & ~<u64>0xfff, 1, leaf, DEMAND_BITS) != PTMAP_OK) {
    buddyFree(<u32>pfn, 0);
    return 2;
  }
  policyResolved++;
  return 0;
}

/** Whether CPU record `c` walks the policy's address space: CR3 is its root, with its number of levels. */
@inline function policyWalk(c: usize): bool {
  const levels: u32 = (load<u64>(c + CPU_CR4) & CR4_LA57) != 0 ? 5 : 4;
  const addrMask = physMask(maxPhyAddr) & PTE_ADDR_FIELD;
  return levels == policyLevels && ((load<u64>(c + CPU_CR3) ^ policyRoot) & addrMask) == 0;
}

/**
 * The physical address of the PTE whose P=0 stopped the walk of CPU record `c` that just faulted,
 * when the walk read every level from CR3 (no paging-structure-cache hit: a PSC entry may be
 * stale), not nested, and the stop was at level 1 (every table exists). Full RAM mode only,
 * where ptMap's reads of those present entries count nothing. The walk recorded the entries it
 * read (CPU_WALK), so the mapping writes that one entry instead of reading its way down again
 * (resolveNotPresent checks that CR3 is the policy's root).
 * @returns the address, or 0 to map through ptMap
 */
function faultPteAddress(c: usize): u64 {
  const res = c + CPU_RESULT;
  if (tablesOnly || load<u32>(res + RES_STOP) != STOP_NOT_PRESENT || load<u32>(res + RES_STOP_LEVEL) != 1 ||
    load<u32>(res + RES_PSC_LEVEL) != 0 || inGuest(c)) return 0;
  const levels: u32 = (load<u64>(c + CPU_CR4) & CR4_LA57) != 0 ? 5 : 4;
  // Walk entries are top level first: the PTE is entry levels - 1.
  const w = c + CPU_WALK + <usize>(levels - 1) * WALK_ENTRY_SIZE;
  if (load<u32>(w + WALK_LEVEL) != 1) return 0;
  return load<u64>(w + WALK_PA);
}
