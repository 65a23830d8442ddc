/**
 * A replay's input: one trace, or several traces replayed together, one per CPU (`wasmmu replay
 * a.trace b.trace --per-cpu`), as ChampSim runs a multi-core simulation from one trace per core.
 *
 * The interleaving rule (documented in the README, "Multi-core traces"): the traces take turns in
 * CPU order, round robin, each turn a quantum of
 *   - `record`: one record (--quantum N: N records), or
 *   - `instruction`: one instruction — an instruction fetch and the data accesses that follow it
 *     up to the next fetch (--quantum N: N instructions), so that each CPU advances by the same
 *     number of instructions, the closest a trace without timestamps comes to equal progress.
 *     Records before a trace's first fetch go with its first turn.
 * `auto` (the default) is `instruction` when every trace carries instruction fetches for every
 * instruction (Lackey; ChampSim, whose every record is an instruction; wmt converted or recorded
 * from those), `record` otherwise. None of the formats read here carries a timestamp; a trace
 * that ends drops out of the rotation and the others go on. Trace i runs on CPU i: its records'
 * own CPU ids are replaced.
 *
 * Owns: opening the inputs, the merge, and the traces' identities (size, checksum). Not the
 * replay (replay.ts) nor the readers (src/trace/).
 */
import { basename } from "node:path";
import { openTrace } from "../trace/open.js";
import type { TraceChunk, TraceFormat, TraceInfo } from "../trace/types.js";
import { DEFAULT_CHUNK_RECORDS } from "../trace/decoder.js";
import { REC_KIND, REC_KIND_MASK } from "../abi/records.js";
import { WasmmuError } from "../errors.js";
import type { TraceIdentity } from "./provenance.js";

/** How several traces share the CPUs' time (see the file header). */
export type InterleaveRule = "record" | "instruction";
export const INTERLEAVE_CHOICES = ["auto", "record", "instruction"] as const;

/** What to open. */
export interface InputSpec {
  /** One trace, or (perCpu) one per CPU. */
  paths: string[];
  perCpu: boolean;
  format: TraceFormat | "auto";
  interleave?: InterleaveRule | "auto";
  /** Records or instructions per turn (default 1). */
  quantum?: number;
}

/** An opened input: the records, and what the outputs say about its files. */
export interface OpenedInput {
  chunks: AsyncGenerator<TraceChunk>;
  /** Each file's format and compression, in CPU order. */
  infos: TraceInfo[];
  /** The rule the merge used (per-CPU inputs only). */
  interleave?: InterleaveRule;
  /** Compressed bytes read so far, over all files. */
  bytesRead(): number;
  /** The files' total size, or null when one is a pipe. */
  totalBytes: number | null;
  /** The files' identities (size, checksum): call when the chunks are done with. */
  identities(): Promise<TraceIdentity[]>;
  close(): Promise<void>;
}

export interface OpenInputOptions {
  chunkRecords?: number;
  /** Single traces only: lent chunks (see OpenTraceOptions.lend). */
  lend?: boolean;
  deferCheck?: boolean;
  checksum?: boolean;
}

/** The rule `auto` resolves to for these files. */
export function autoInterleave(infos: readonly TraceInfo[]): InterleaveRule {
  const instructions = (i: TraceInfo) => i.format === "lackey" || i.format === "champsim" ||
    (i.format === "wmt" && (i.metadata?.sourceFormat === "lackey" || i.metadata?.sourceFormat === "champsim"));
  return infos.every(instructions) ? "instruction" : "record";
}

/**
 * Open `spec`'s traces.
 * @throws WasmmuError BAD_INPUT when a file cannot be opened (the others are closed)
 */
export async function openInput(spec: InputSpec, o: OpenInputOptions = {}): Promise<OpenedInput> {
  const checksum = o.checksum ?? false;
  if (!spec.perCpu) {
    if (spec.paths.length !== 1) throw new WasmmuError("INVALID_ARGUMENT", "one trace per replay without perCpu");
    const path = spec.paths[0];
    const t = await openTrace(path, {
      format: spec.format, checksum, ...(o.chunkRecords !== undefined ? { chunkRecords: o.chunkRecords } : {}),
      ...(o.lend ? { lend: true } : {}), ...(o.deferCheck ? { deferCheck: true } : {}),
    });
    return {
      chunks: t.chunks, infos: [t.info], bytesRead: () => t.bytesRead(), totalBytes: t.info.totalBytes, close: () => t.close(),
      identities: async () => [{ ...identityOf(t.info), ...(await t.identity()) }],
    };
  }
  const opened: Awaited<ReturnType<typeof openTrace>>[] = [];
  try {
    for (const path of spec.paths) opened.push(await openTrace(path, { format: spec.format, checksum }));
  } catch (e) {
    await Promise.all(opened.map((t) => t.close()));
    throw e;
  }
  const infos = opened.map((t) => t.info);
  const rule = spec.interleave === undefined || spec.interleave === "auto" ? autoInterleave(infos) : spec.interleave;
  const total = infos.every((i) => i.totalBytes !== null) ? infos.reduce((s, i) => s + (i.totalBytes as number), 0) : null;
  return {
    chunks: merged(opened.map((t) => t.chunks), rule, spec.quantum ?? 1, o.chunkRecords ?? DEFAULT_CHUNK_RECORDS),
    infos, interleave: rule, totalBytes: total,
    bytesRead: () => opened.reduce((s, t) => s + t.bytesRead(), 0),
    close: async () => { await Promise.all(opened.map((t) => t.close())); },
    identities: async () => Promise.all(opened.map(async (t, cpu) => ({ ...identityOf(t.info), ...(await t.identity()), cpu }))),
  };
}

function identityOf(i: TraceInfo): Omit<TraceIdentity, "bytes" | "sha256"> {
  return { name: basename(i.path), path: i.path, format: i.format, compression: i.compression };
}

/** A cursor over one trace's chunks. */
class Cursor {
  chunk: TraceChunk | null = null;
  at = 0;
  done = false;
  private readonly it: AsyncGenerator<TraceChunk>;

  constructor(it: AsyncGenerator<TraceChunk>) {
    this.it = it;
  }

  /** Make a record available. @returns false at the end of the trace */
  async ready(): Promise<boolean> {
    while (!this.done && (this.chunk === null || this.at >= this.chunk.count)) {
      const r = await this.it.next();
      if (r.done) { this.done = true; this.chunk = null; } else { this.chunk = r.value; this.at = 0; }
    }
    return !this.done;
  }

}

/**
 * The records of `sources`, interleaved by `rule` (see the file header), source i as CPU i, in
 * chunks of `chunkRecords`.
 */
export async function* merged(sources: AsyncGenerator<TraceChunk>[], rule: InterleaveRule, quantum: number, chunkRecords: number): AsyncGenerator<TraceChunk> {
  const cursors = sources.map((s) => new Cursor(s));
  const fresh = (): TraceChunk => ({
    count: 0, lo: new Uint32Array(chunkRecords), hi: new Uint32Array(chunkRecords), size: new Uint8Array(chunkRecords),
    kind: new Uint8Array(chunkRecords), cpu: new Uint16Array(chunkRecords),
  });
  let out = fresh();
  try {
    let live = cursors.length;
    while (live > 0) {
      live = 0;
      for (let cpu = 0; cpu < cursors.length; cpu++) {
        const c = cursors[cpu];
        if (!(await c.ready())) continue;
        live++;
        // One turn: `quantum` records, or `quantum` instructions (a fetch and what follows it).
        let fetches = 0;
        let taken = 0;
        for (;;) {
          let src = c.chunk;
          if (src === null || c.at >= src.count) {
            if (!(await c.ready())) break;
            src = c.chunk as TraceChunk;
          }
          if (rule === "record") {
            if (taken === quantum) break;
          } else if ((src.kind[c.at] & REC_KIND_MASK) === REC_KIND.fetch) {
            if (fetches === quantum) break;
            fetches++;
          }
          const i = c.at++;
          const k = out.count++;
          out.lo[k] = src.lo[i]; out.hi[k] = src.hi[i]; out.size[k] = src.size[i]; out.kind[k] = src.kind[i]; out.cpu[k] = cpu;
          taken++;
          if (out.count === chunkRecords) { yield out; out = fresh(); }
        }
      }
    }
    if (out.count > 0) yield out;
  } finally {
    await Promise.all(sources.map((s) => s.return(undefined).catch(() => undefined)));
  }
}
