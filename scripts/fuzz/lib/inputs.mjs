/**
 * The "inputs" group of fuzz targets (issue #12): trace files, machine descriptions and
 * conformance vector files, each built on valid examples that the mutators then take apart.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { traceTarget, vectorTarget, walkTarget } from "./targets.mjs";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * Valid vectors to mutate: an ok walk that sets A/D (KVM's kvm4-perm-000004), a #PF with an
 * unspecified A bit (kvm4-perm-000000), and a #GP for a non-canonical address.
 */
export const VECTORS = [
  { id: "kvm4-perm-000004", oracle: "kvm-pvm-shadow-mmu", mode: { cr0_wp: 0, cr4_pse: 0, cr4_pge: 0, cr4_smep: 0, cr4_smap: 0, cr4_pke: 0, cr4_la57: 0, cr4_pcide: 0, efer_nxe: 1, rflags_ac: 0, pkru: "0x0", maxphyaddr: 46 }, cr3: "0x71b7000", memory: [["0x71b70a8", "0x7083025"], ["0x7083318", "0x5361003"], ["0x5361f10", "0x6a90003"], ["0x6a90950", "0x28000000349cb1a7"]], access: { vaddr: "0xa98fc52a928", kind: "write", cpl: 0, size: 8 }, expect: { outcome: "ok", paddr: "0x349cb928", memory_after: [["0x71b70a8", "0x7083025"], ["0x7083318", "0x5361023"], ["0x5361f10", "0x6a90023"], ["0x6a90950", "0x28000000349cb1e7"]] }, category: "perm" },
  { id: "kvm4-perm-000000", oracle: "kvm-pvm-shadow-mmu", mode: { cr0_wp: 1, cr4_pse: 0, cr4_pge: 0, cr4_smep: 0, cr4_smap: 1, cr4_pke: 0, cr4_la57: 0, cr4_pcide: 0, efer_nxe: 0, rflags_ac: 1, pkru: "0x0", maxphyaddr: 46 }, cr3: "0x42cc000", memory: [["0x42ccf98", "0x6f79027"], ["0x6f79128", "0x6e07027"], ["0x6e07c00", "0x4135027"], ["0x4135fc8", "0x1800000018c5a023"]], access: { vaddr: "0xfffff989701f9700", kind: "fetch", cpl: 3, size: 8 }, expect: { outcome: "pf", error_code: "0x5", cr2: "0xfffff989701f9700", memory_after: [["0x42ccf98", "0x6f79027"], ["0x6f79128", "0x6e07027"], ["0x6e07c00", "0x4135027"], ["0x4135fc8", "0x1800000018c5a023"]], a_bit_unspecified: ["0x6f79128"] }, category: "perm" },
  { id: "fuzz-gp-000000", oracle: "sdm", mode: { cr0_wp: 1, cr4_pse: 1, cr4_pge: 1, cr4_smep: 1, cr4_smap: 1, cr4_pke: 1, cr4_la57: 0, cr4_pcide: 0, efer_nxe: 1, rflags_ac: 0, pkru: "0x55555554", maxphyaddr: 40 }, cr3: "0x4000000", memory: [], access: { vaddr: "0x0000800000000000", kind: "read", cpl: 3, size: 8 }, expect: { outcome: "gp", error_code: "0x0", memory_after: [] }, category: "noncanon" },
];

/** The bundled machine descriptions (examples/walk-*.json), parsed. */
export function exampleDescriptions() {
  return ["walk-4level.json", "walk-5level.json"].map((f) => JSON.parse(readFileSync(join(ROOT, "examples", f), "utf8")));
}

/**
 * The three input targets over `lib` (see targets.mjs).
 * @param opts.dir where case files go; opts.workerUrl the decompression worker entry (tests)
 */
export function inputTargets(lib, { dir, workerUrl }) {
  const bases = exampleDescriptions();
  return [
    traceTarget(lib, { dir, workerUrl }),
    walkTarget(lib, { dir, bases }),
    vectorTarget(lib, { dir, bases: VECTORS }),
  ];
}
