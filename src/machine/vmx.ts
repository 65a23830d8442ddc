/**
 * A CPU's VMX controls for nested paging: VM entry into a guest with an EPT pointer and a VPID,
 * VM exit, INVEPT, INVVPID, and the last VM exit decoded (SDM Vol. 3C §29.3.3, §29.4.3,
 * Table 28-7). The EPT tables themselves are written by EptBuilder (ept.ts).
 */
import type { Core } from "./core.js";
import { toU64 } from "./u64.js";
import { WasmmuError } from "../errors.js";
import type { Address, VmExit } from "../types.js";
import * as A from "../abi/core.generated.js";

/** VM-entry and INVEPT/INVVPID failures: the VM-instruction error number (SDM Vol. 3C §31.4). */
export interface VmxFailure {
  error: 7 | 28;
  message: string;
}

function vmxResult(code: number, what: string): VmxFailure | null {
  if (code === A.VMX_OK) return null;
  if (code === A.VMXERR_ENTRY_INVALID_CONTROL) return { error: 7, message: `${what}: VM entry with invalid control field(s)` };
  if (code === A.VMXERR_INVALID_OPERAND) return { error: 28, message: `${what}: invalid operand to INVEPT/INVVPID` };
  throw new WasmmuError("CORE_TRAP", `core returned unknown VMX status ${code}`);
}

/** One CPU's VMX controls for nested paging. Obtain it as `machine.cpu(n).vmx`. */
export class Vmx {
  private readonly core: Core;
  private readonly id: number;
  private readonly rec: number;

  /** @internal Created by Cpu. */
  constructor(core: Core, id: number, rec: number) {
    this.core = core;
    this.id = id;
    this.rec = rec;
  }

  /** Whether the CPU runs a guest (its walks are two-dimensional). */
  get inGuest(): boolean {
    return (this.core.u32(this.rec + A.CPU_VM_CTL) & A.VM_CTL_GUEST) !== 0;
  }

  /**
   * VM entry: from now on the CPU's registers are the guest's, its CR3 and page tables are
   * guest-physical, and every guest-physical address goes through the EPT of `eptp`. TLB entries
   * are tagged with `vpid` (1..15 in this model).
   * @param modeBasedExecute  mode-based execute control for EPT (bit 10 = user-mode execute)
   * @returns null, or the VM-entry failure (bad EPTP, VPID outside 1..15; nothing changes then)
   */
  enter(opts: { eptp: Address; vpid: number; modeBasedExecute?: boolean }): VmxFailure | null {
    for (const k of Object.keys(opts)) if (!["eptp", "vpid", "modeBasedExecute"].includes(k)) throw new WasmmuError("INVALID_ARGUMENT", `unknown VM-entry option ${k}; known: eptp, vpid, modeBasedExecute`);
    checkVpid(opts.vpid);
    return vmxResult(this.core.exports.vmEnter(this.id, toU64(opts.eptp, "eptp"), opts.vpid, opts.modeBasedExecute ?? false), "VM entry");
  }

  /** VM exit to the host: walks are one-dimensional again; the guest's TLB entries stay, tagged with its VPID. */
  leave(): void {
    this.core.exports.vmLeave(this.id);
  }

  /** INVEPT type 1 (single-context, for `eptp`) or 2 (all-context). @returns null or VMfailValid(28) */
  invept(type: 1 | 2, eptp: Address = 0n): VmxFailure | null {
    if (!Number.isInteger(type)) throw new WasmmuError("INVALID_ARGUMENT", `INVEPT type must be an integer, got ${type}`);
    return vmxResult(this.core.exports.invept(this.id, type, toU64(eptp, "eptp")), "INVEPT");
  }

  /**
   * INVVPID type 0 (individual address), 1 (single context), 2 (all contexts), 3 (single
   * context retaining globals). @returns null or VMfailValid(28)
   */
  invvpid(type: 0 | 1 | 2 | 3, vpid: number, gla: Address = 0n): VmxFailure | null {
    if (!Number.isInteger(type)) throw new WasmmuError("INVALID_ARGUMENT", `INVVPID type must be an integer, got ${type}`);
    if (!Number.isInteger(vpid) || vpid < 0 || vpid > 0xffff) throw new WasmmuError("INVALID_ARGUMENT", `vpid must be 0..65535, got ${vpid}`);
    return vmxResult(this.core.exports.invvpid(this.id, type, vpid, toU64(gla, "gla")), "INVVPID");
  }

  /** The last VM exit the CPU recorded, or null when none since the last VM entry. */
  lastExit(): VmExit | null {
    return readVmExit(this.core, this.rec);
  }

  /** EPT entries the last nested walk read (guest entries are in the walk's `levels`). */
  get lastEptReferences(): number {
    return this.core.u32(this.rec + A.CPU_EPT_REFS);
  }
}

function checkVpid(vpid: number): void {
  if (!Number.isInteger(vpid) || vpid < 1 || vpid > A.VPID_MAX) {
    throw new WasmmuError("INVALID_ARGUMENT", `vpid must be 1..${A.VPID_MAX} (the model's TLB tags hold 4 bits of VPID), got ${vpid}`);
  }
}

/** Decode the VM-exit record of the CPU record at `rec` (null when none). */
export function readVmExit(core: Core, rec: number): VmExit | null {
  const x = rec + A.CPU_EXIT;
  const reason = core.u32(x + A.EXIT_REASON);
  if (reason === A.EXIT_REASON_NONE) return null;
  const q = core.u64(x + A.EXIT_QUALIFICATION);
  const has = (m: bigint) => (q & m) !== 0n;
  const glaValid = has(A.EPT_QUAL_GLA_VALID);
  const translation = glaValid && has(A.EPT_QUAL_GLA_XLAT);
  const exit: VmExit = {
    reason: reason === A.EXIT_REASON_EPT_VIOLATION ? "ept-violation" : "ept-misconfiguration",
    reasonNumber: reason === A.EXIT_REASON_EPT_VIOLATION ? 48 : 49,
    qualification: q,
    access: { read: has(A.EPT_QUAL_READ), write: has(A.EPT_QUAL_WRITE), fetch: has(A.EPT_QUAL_FETCH) },
    permissions: { read: has(A.EPT_QUAL_READABLE), write: has(A.EPT_QUAL_WRITABLE), execute: has(A.EPT_QUAL_EXECUTABLE), userExecute: has(A.EPT_QUAL_USER_EXEC) },
    guestLinearValid: glaValid,
    translationAccess: translation,
    guestPhysical: core.u64(x + A.EXIT_GPA),
    guestLinear: glaValid ? core.u64(x + A.EXIT_GLA) : null,
    eptLevel: core.u32(x + A.EXIT_EPT_LEVEL),
    eptEntry: core.u64(x + A.EXIT_EPT_ENTRY),
  };
  if (translation) exit.guestRights = { user: has(A.EPT_QUAL_GLA_USER), write: has(A.EPT_QUAL_GLA_WRITABLE), noExecute: has(A.EPT_QUAL_GLA_NX) };
  return exit;
}
