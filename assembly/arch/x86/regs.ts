// Control registers, EFER, RFLAGS and PAT: bit names and the architectural checks that
// MOV to CR0/CR3/CR4 and WRMSR perform (SDM Vol. 3A §2.5, §4.1.1, §4.10.4.1; Vol. 2B MOV—Move
// to/from Control Registers; Vol. 4 IA32_EFER, IA32_PAT).
//
// Owns: the bit constants. The checks live in cpu.ts, which owns the register file.

// CR0 (SDM §2.5)
@inline export const CR0_PE: u64 = 1 << 0;
@inline export const CR0_MP: u64 = 1 << 1;
@inline export const CR0_EM: u64 = 1 << 2;
@inline export const CR0_TS: u64 = 1 << 3;
@inline export const CR0_ET: u64 = 1 << 4;
@inline export const CR0_NE: u64 = 1 << 5;
@inline export const CR0_WP: u64 = 1 << 16;
@inline export const CR0_AM: u64 = 1 << 18;
@inline export const CR0_NW: u64 = 1 << 29;
@inline export const CR0_CD: u64 = 1 << 30;
@inline export const CR0_PG: u64 = 1 << 31;
@inline export const CR0_DEFINED: u64 = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;
/** Linux's CR0 in long mode: PE MP ET NE WP AM PG (0x80050033). */
@inline export const CR0_RESET_LONG_MODE: u64 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;

// CR3 (SDM §4.5, Table 4-12 and 4-13)
@inline export const CR3_PWT: u64 = 1 << 3;
@inline export const CR3_PCD: u64 = 1 << 4;
@inline export const CR3_PCID_MASK: u64 = 0xfff;
@inline export const CR3_NOFLUSH: u64 = <u64>1 << 63;

// CR4 (SDM §2.5)
@inline export const CR4_VME: u64 = 1 << 0;
@inline export const CR4_PVI: u64 = 1 << 1;
@inline export const CR4_TSD: u64 = 1 << 2;
@inline export const CR4_DE: u64 = 1 << 3;
@inline export const CR4_PSE: u64 = 1 << 4;
@inline export const CR4_PAE: u64 = 1 << 5;
@inline export const CR4_MCE: u64 = 1 << 6;
@inline export const CR4_PGE: u64 = 1 << 7;
@inline export const CR4_PCE: u64 = 1 << 8;
@inline export const CR4_OSFXSR: u64 = 1 << 9;
@inline export const CR4_OSXMMEXCPT: u64 = 1 << 10;
@inline export const CR4_UMIP: u64 = 1 << 11;
@inline export const CR4_LA57: u64 = 1 << 12;
@inline export const CR4_VMXE: u64 = 1 << 13;
@inline export const CR4_SMXE: u64 = 1 << 14;
@inline export const CR4_FSGSBASE: u64 = 1 << 16;
@inline export const CR4_PCIDE: u64 = 1 << 17;
@inline export const CR4_OSXSAVE: u64 = 1 << 18;
@inline export const CR4_SMEP: u64 = 1 << 20;
@inline export const CR4_SMAP: u64 = 1 << 21;
@inline export const CR4_PKE: u64 = 1 << 22;
/** CR4 bits this model accepts (others are reserved or features it does not model: #GP). */
@inline export const CR4_MODELLED: u64 = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE |
  CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_UMIP | CR4_LA57 | CR4_VMXE | CR4_SMXE |
  CR4_FSGSBASE | CR4_PCIDE | CR4_OSXSAVE | CR4_SMEP | CR4_SMAP | CR4_PKE;

// IA32_EFER (MSR 0xC0000080)
@inline export const EFER_SCE: u64 = 1 << 0;
@inline export const EFER_LME: u64 = 1 << 8;
@inline export const EFER_LMA: u64 = 1 << 10;
@inline export const EFER_NXE: u64 = 1 << 11;
@inline export const EFER_DEFINED: u64 = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;

// RFLAGS
@inline export const RFLAGS_AC: u64 = 1 << 18;
@inline export const RFLAGS_FIXED1: u64 = 1 << 1;

/** Power-on value of IA32_PAT: WB, WT, UC-, UC, WB, WT, UC-, UC (SDM §11.12.4). */
@inline export const PAT_RESET: u64 = 0x0007_0406_0007_0406;

// Memory types (SDM Table 11-10); PAT entries accept exactly these encodings.
@inline export const MEMTYPE_UC: u32 = 0;
@inline export const MEMTYPE_WC: u32 = 1;
@inline export const MEMTYPE_WT: u32 = 4;
@inline export const MEMTYPE_WP: u32 = 5;
@inline export const MEMTYPE_WB: u32 = 6;
@inline export const MEMTYPE_UC_MINUS: u32 = 7;

/** CPU features (CPUID) the machine advertises; a register write that enables an absent one is #GP. */
@inline export const FEAT_LA57: u32 = 1 << 0;
@inline export const FEAT_PCID: u32 = 1 << 1;
@inline export const FEAT_SMEP: u32 = 1 << 2;
@inline export const FEAT_SMAP: u32 = 1 << 3;
@inline export const FEAT_PKU: u32 = 1 << 4;
@inline export const FEAT_NX: u32 = 1 << 5;
@inline export const FEAT_PAGE1GB: u32 = 1 << 6;
@inline export const FEAT_PGE: u32 = 1 << 7;
@inline export const FEAT_ALL: u32 = (1 << 8) - 1;
