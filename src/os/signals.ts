/**
 * Signals the memory model delivers, with the siginfo a real handler would see
 * (include/uapi/asm-generic/siginfo.h, signal.h).
 */
export const SIGBUS = 7;
export const SIGKILL = 9;
export const SIGSEGV = 11;
export const SIGSTOP = 19;
/** _NSIG on x86-64: signals are 1..64. */
export const NSIG = 64;

/** si_code values for SIGSEGV. */
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const SEGV_PKUERR = 4;
/** si_code values for SIGBUS. */
export const BUS_ADRERR = 2;
/** A hardware memory error consumed by the access (a poisoned page): force_sig_mceerr. */
export const BUS_MCEERR_AR = 4;

export type SignalName = "SIGSEGV" | "SIGBUS" | "SIGKILL";

/** What a handler receives: the signal, why, and the faulting address. */
export interface SigInfo {
  signo: number;
  name: SignalName;
  code: number;
  /** SEGV_MAPERR, SEGV_ACCERR, SEGV_PKUERR, BUS_ADRERR, BUS_MCEERR_AR, or "" for SIGKILL. */
  codeName: string;
  /** si_addr: the address the access faulted on. */
  addr: bigint;
}

/** A handler registered with sigaction; it runs instead of the default action (death). */
export type SignalHandler = (info: SigInfo) => void;

const NAMES: Record<number, SignalName> = { [SIGBUS]: "SIGBUS", [SIGKILL]: "SIGKILL", [SIGSEGV]: "SIGSEGV" };
const CODES: Record<number, Record<number, string>> = {
  [SIGSEGV]: { [SEGV_MAPERR]: "SEGV_MAPERR", [SEGV_ACCERR]: "SEGV_ACCERR", [SEGV_PKUERR]: "SEGV_PKUERR" },
  [SIGBUS]: { [BUS_ADRERR]: "BUS_ADRERR", [BUS_MCEERR_AR]: "BUS_MCEERR_AR" },
};

/** Build a siginfo. */
export function sigInfo(signo: number, code: number, addr: number | bigint): SigInfo {
  return { signo, name: NAMES[signo] ?? "SIGSEGV", code, codeName: CODES[signo]?.[code] ?? "", addr: BigInt(addr) };
}
