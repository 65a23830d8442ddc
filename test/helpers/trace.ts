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

/** `n` varied records: addresses spread by a multiplicative hash, sizes 1..8, kinds with and without the user bit, CPUs 0..6. */
export function variedChunk(n: number): TraceChunk {
  const c: TraceChunk = { count: n, lo: new Uint32Array(n), hi: new Uint32Array(n), size: new Uint8Array(n), kind: new Uint8Array(n), cpu: new Uint16Array(n) };
  for (let i = 0; i < n; i++) {
    c.lo[i] = (i * 2654435761) >>> 0;
    c.hi[i] = i & 0xffff;
    c.size[i] = 1 << (i % 4);
    c.kind[i] = [0, 1, 2, 0x10, 0x21][i % 5];
    c.cpu[i] = i % 7;
  }
  return c;
}

/** The bytes of a wmt file holding `chunks`, written by WmtWriter with header metadata `meta`. */
export async function wmtBytes(meta: object, chunks: TraceChunk[]): Promise<Uint8Array> {
  const { WmtWriter } = await import("../../src/trace/wmt.js");
  const parts: Uint8Array[] = [];
  const w = new WmtWriter({ write: (b: Uint8Array) => { parts.push(b.slice()); } }, meta);
  for (const c of chunks) w.write(c);
  await w.close();
  const r = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { r.set(p, at); at += p.length; }
  return r;
}
