import type { TraceChunk } from "../../src/trace/types.js";
import { REC_USER } from "../../src/machine/replay.js";

const KIND_NAMES = ["read", "write", "fetch"];

/** Records as readable strings: "fetch user 0x4022e25/3 cpu0". */
export function show(c: TraceChunk): string[] {
  const r: string[] = [];
  for (let i = 0; i < c.count; i++) {
    const addr = (BigInt(c.hi[i]) << 32n) | BigInt(c.lo[i]);
    r.push(`${KIND_NAMES[c.kind[i] & 3]}${c.kind[i] & REC_USER ? " user" : ""} 0x${addr.toString(16)}/${c.size[i]} cpu${c.cpu[i]}`);
  }
  return r;
}
