/**
 * Text rendering of a walk for people: the PGD → PUD → PMD → PTE path of one address, each entry
 * with its address, raw value, decoded flags and what it points to, then the outcome.
 */
import type { Walk } from "../types.js";
import { formatFlags } from "../machine/decode.js";

const hex16 = (v: bigint) => `0x${v.toString(16).padStart(16, "0")}`;
const hex = (v: bigint | number) => `0x${v.toString(16)}`;
const SIZE_NAMES: Record<number, string> = { 4096: "4 KiB", 2097152: "2 MiB", 1073741824: "1 GiB" };

/** Names of the set bits of a #PF error code, in SDM order. */
export function describeErrorCode(code: number): string {
  const parts = [(code & 1) ? "protection" : "not-present"];
  if (code & 2) parts.push("write");
  if (code & 4) parts.push("user");
  if (code & 8) parts.push("reserved-bit");
  if (code & 16) parts.push("instruction-fetch");
  if (code & 32) parts.push("protection-key");
  return parts.join(", ");
}

const STOP_TEXT: Record<Walk["stop"], string> = {
  "leaf": "reached the leaf; access allowed",
  "not-present": "entry not present (P=0)",
  "reserved-bit": "a reserved bit is set",
  "rights": "the combined rights deny this access (U/S, R/W with CR0.WP, XD, SMEP or SMAP)",
  "protection-key": "PKRU denies this access to the page's protection key",
  "non-canonical": "address is not canonical: #GP(0), no walk",
  "ept": "nested paging: the EPT walk for this guest-physical address exited (level 0: the final address)",
};

/** Render a walk as an aligned table. */
export function renderWalk(w: Walk, header: { kind: string; cpl: number; paging: number; cr3: bigint }): string {
  const lines: string[] = [];
  lines.push(`walk ${hex16(w.vaddr)}  ${header.kind} at CPL${header.cpl}  (${header.paging}-level paging, CR3 ${hex(header.cr3)})`);
  if (w.levels.length > 0) {
    lines.push("");
    const rows = [["level", "entry", "index", "entry address", "value", "flags", "points to"]];
    for (const l of w.levels) {
      const target = !l.flags.present ? "-" : l.leaf ? `page ${hex(l.flags.address)}` : l.level === 1 ? `page ${hex(l.flags.address)}` : `table ${hex(l.flags.address)}`;
      rows.push([l.linuxName, l.intelName, String(l.index), hex16(l.entryAddress), hex16(l.value), formatFlags(l.flags), target]);
      if (l.valueAfter !== l.value) {
        const set = [];
        if ((l.valueAfter & ~l.value & 0x20n) !== 0n) set.push("A");
        if ((l.valueAfter & ~l.value & 0x40n) !== 0n) set.push("D");
        rows.push(["", "", "", "  after access", hex16(l.valueAfter), `${set.join(",")} set`, ""]);
      }
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) lines.push("  " + r.map((cell, c) => (c === 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ").trimEnd());
  }
  lines.push("");
  lines.push(`  stopped: ${STOP_TEXT[w.stop]}${w.stopLevel ? ` (level ${w.stopLevel})` : ""}`);
  if (w.ok) {
    lines.push(`  result:  ${hex16(w.vaddr)} → ${hex16(w.paddr)}  (${SIZE_NAMES[w.pageSize]} page, memory type ${w.memoryType})`);
  } else if (w.exception.vector === "PF") {
    lines.push(`  result:  #PF  error code ${hex(w.exception.errorCode)} (${describeErrorCode(w.exception.errorCode)}), CR2 ${hex(w.exception.cr2)}`);
  } else if (w.exception.vector === "VMEXIT") {
    const x = w.exception.exit;
    lines.push(`  result:  VM exit ${x.reasonNumber} (${x.reason}), qualification ${hex(x.qualification)}, guest-physical ${hex(x.guestPhysical)}`);
  } else {
    lines.push(`  result:  #GP(0)  (CR2 unchanged)`);
  }
  return lines.join("\n");
}
