/**
 * The input fuzz targets. Each is `{ name, group, run(rng, caseIndex) }`: `run` builds one case
 * from `rng` (traces.mjs, json.mjs), feeds it to wasmmu, and throws an Error describing the
 * finding when wasmmu misbehaves; it returns normally otherwise. The runner (scripts/fuzz.mjs)
 * and the vitest suites (test/fuzz/) run the same targets: the runner over dist/, the tests over
 * src/, each handing its modules in as `lib`.
 *
 * What every case asserts (issue #12):
 *   - no exception but a WasmmuError BAD_INPUT whose message names the file (CLI: exit 0, 1 or 2,
 *     one line naming the file; never 70);
 *   - bounded output: a decoder yields at most one record per 2 input bytes; messages are short;
 *   - the same outcome whatever the chunking: decoding in pieces or whole, reading through
 *     openTrace in this thread, in the decompression worker, or with lent chunks; a vector file
 *     plain or gzip;
 *   - no hang and no memory blow-up: the runner times each case and watches the RSS.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { COMPRESSIONS, FORMATS, compress, mutateCompressed, traceBody } from "./traces.mjs";
import { jsonText, mutateJson } from "./json.mjs";

/** A case that went wrong: what was expected, what happened, and the input to replay it. */
class Finding extends Error {
  constructor(message, input) {
    super(input === undefined ? message : `${message} (input: ${input})`);
    this.name = "Finding";
  }
}

function check(ok, message, input) {
  if (!ok) throw new Finding(message, input);
}

/** Longest error message a case may print: values in messages are cut (errors.ts quoteValue). */
const MAX_MESSAGE = 1000;
/** RSS a single case may add (the zstd window bug took 1.6 GB for a 62-byte file). */
const MAX_RSS_GROWTH = 512 << 20;

/** An expected BAD_INPUT WasmmuError naming `path`: its message; anything else is a finding. */
function badInput(lib, e, path) {
  if (!(e instanceof lib.WasmmuError)) throw new Finding(`unexpected ${e?.name ?? typeof e}: ${e?.message ?? String(e)}`, path);
  check(e.code === "BAD_INPUT", `WasmmuError ${e.code} instead of BAD_INPUT: ${e.message}`, path);
  check(e.message.startsWith(path), `the message does not name the file: ${e.message.slice(0, 200)}`, path);
  check(e.message.length <= MAX_MESSAGE + path.length, `a message of ${e.message.length} characters`, path);
  return e.message;
}

/** FNV-1a over every field of a chunk's records, continuing from `h`. */
function digest(h, c) {
  const { lo, hi, size, kind, cpu } = c;
  for (let i = 0; i < c.count; i++) {
    for (const v of [lo[i], hi[i], size[i], kind[i], cpu[i]]) h = Math.imul(h ^ v, 0x01000193) >>> 0;
  }
  return h;
}

/** `body` decoded as `format` in the pieces `cuts` make: record count, digest, error text. */
function decode(lib, format, body, cuts, chunkRecords, path) {
  const out = new lib.ChunkBuilder(chunkRecords);
  const d = lib.makeDecoder(format, out, path);
  let h = 0x811c9dc5;
  let count = 0;
  const drain = () => { for (const c of out.take()) { h = digest(h, c); count += c.count; } };
  let error = null;
  try {
    let prev = 0;
    for (const p of [...cuts, body.length]) {
      d.push(body.subarray(prev, p));
      prev = p;
      drain();
    }
    d.end();
  } catch (e) {
    error = badInput(lib, e, path);
  }
  drain();
  const last = out.flush();
  if (last !== null) { h = digest(h, last); count += last.count; }
  return { count, digest: h, error };
}

/** `path` read through openTrace with `opts`: record count, digest, error text. */
async function read(lib, path, opts) {
  let h = 0x811c9dc5;
  let count = 0;
  let error = null;
  try {
    const t = await lib.openTrace(path, opts);
    try {
      for await (const c of t.chunks) { h = digest(h, c); count += c.count; }
    } finally {
      await t.close();
    }
  } catch (e) {
    error = badInput(lib, e, path);
  }
  return { count, digest: h, error };
}

function same(a, b, what, path) {
  check(a.count === b.count && a.digest === b.digest && a.error === b.error,
    `${what}: ${a.count} records${a.error ? `, then ${a.error.slice(0, 160)}` : ""} vs ${b.count}${b.error ? `, then ${b.error.slice(0, 160)}` : ""}`, path);
}

const EXT = { none: "", gzip: ".gz", xz: ".xz", zstd: ".zst" };

/**
 * Trace files of every format and compression (see the file comment).
 * @param lib openTrace, setDecompressWorker, makeDecoder, ChunkBuilder, replayTrace, WasmmuError
 * @param opts.dir where case files are written; opts.workerUrl the decompression worker entry
 *   (undefined: the library's default)
 */
export function traceTarget(lib, { dir, workerUrl }) {
  return {
    name: "traces",
    group: "inputs",
    async run(rng, index) {
      const format = rng.pick(FORMATS);
      const compression = rng.pick(COMPRESSIONS);
      const body = traceBody(rng, format);
      const compressed = compress(rng, body, compression);
      let bytes = compressed.bytes;
      const intact = compression === "none" || rng.chance(0.6);
      if (!intact) bytes = mutateCompressed(rng, bytes, compression);
      const path = join(dir, `trace-${index}.${format}${EXT[compression]}`);
      writeFileSync(path, bytes);
      const rss = process.memoryUsage().rss;

      // The body, whole and in pieces: the same records and error.
      const whole = decode(lib, format, body, [], 1 << 16, path);
      const cuts = Array.from({ length: rng.int(6) }, () => rng.int(body.length + 1)).sort((a, b) => a - b);
      same(decode(lib, format, body, cuts, rng.range(1, 64), path), whole, "decoded in pieces vs whole", path);
      check(whole.count <= body.length / 2, `${whole.count} records from ${body.length} bytes`, path);

      // The file through openTrace: in this thread, then in the worker, then lent.
      lib.setDecompressWorker(null);
      const chunkRecords = rng.pick([1, 7, 1000, 65536]);
      const thread = await read(lib, path, { format, chunkRecords });
      // zstd --long=28 asks for a 256 MiB window, refused, unless the frame is too small to need one.
      const refused = compressed.longWindow && thread.error?.includes("MiB window, more than the 128 MiB this reader allows");
      if (intact && !refused) same(thread, whole, `openTrace (${compression}) vs the decoder on the body`, path);
      if ((compression === "xz" || compression === "zstd") && rng.chance(0.25)) {
        lib.setDecompressWorker(workerUrl ?? undefined);
        same(await read(lib, path, { format, chunkRecords }), thread, "decompressed in the worker vs in this thread", path);
        lib.setDecompressWorker(null);
      }
      if (rng.chance(0.3)) same(await read(lib, path, { format, chunkRecords, lend: true }), thread, "lent chunks vs fresh ones", path);
      if (rng.chance(0.2)) await read(lib, path, {}); // format detected: any outcome, if it is BAD_INPUT naming the file

      if (rng.chance(0.1)) {
        try {
          const s = await lib.replayTrace(path, {
            cpu: "skylake", overrides: {}, paging: 4, ram: "64MiB", memory: "full", pages: rng.pick(["4k", "2m"]), cpus: rng.range(1, 4),
            format, limit: null, skip: rng.int(4), warmup: rng.int(4), progress: false, interrupted: () => false, err: () => undefined,
          });
          check(s.accesses <= thread.count, `the replay counted ${s.accesses} accesses of ${thread.count} records`, path);
          if (s.partial) check(s.partialReason.startsWith(path), `partial without the file: ${s.partialReason}`, path);
        } catch (e) {
          badInput(lib, e, path);
        }
      }
      if (rng.chance(0.05)) {
        // The CLI: replay exits 0 or 1, naming the file; convert writes the records read, or refuses.
        const flags = [["--skip", "2"], ["--limit", "5"], ["--warmup", "3"], ["--pages", "2m"], ["--cpus", "3"], ["--paging", "5"]].filter(() => rng.chance(0.3)).flat();
        const r = await cli(lib, ["replay", path, "--format", format, "--json", "--ram", "64MiB", ...flags]);
        check(r.code === 0 || (r.code === 1 && r.err.startsWith(`wasmmu: ${path}`)), `wasmmu replay exit ${r.code}: ${r.err.slice(0, 300)}`, path);
        const out = `${path}.wmt.gz`;
        const c = await cli(lib, ["convert", path, out, "--format", format, "--quiet"]);
        check(c.code === (thread.error === null ? 0 : 1), `wasmmu convert exit ${c.code} (${thread.error === null ? "no" : "an"} error reading): ${c.err.slice(0, 300)}`, path);
        if (c.code === 0) same(await read(lib, out, { chunkRecords }), thread, "the converted trace vs the original", path);
        rmSync(out, { force: true });
      }
      check(process.memoryUsage().rss - rss < MAX_RSS_GROWTH, `the RSS grew by ${(process.memoryUsage().rss - rss) >> 20} MiB`, path);
      rmSync(path, { force: true }); // a finding's input is kept
    },
  };
}

/** What `wasmmu <argv>` printed and returned, in-process. */
async function cli(lib, argv) {
  const out = [];
  const err = [];
  const code = await lib.main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Command-line addresses for `wasmmu walk`, well- and ill-formed. */
const VADDRS = ["0x401234", "0x_", "0x", "123", "0x1_0000_0000_0000_0000", "0xffffffffffffffff", "0x00007ffffffdeff8", "1_2", "0x-1"];

/**
 * The valid descriptions the walk target mutates: `bases` (the bundled examples) and two that use
 * every other field and machine option, so that the deeper checks are reached.
 */
export function walkDocs(lib, bases) {
  return [...bases, {
    machine: { ram: "64MiB", cpu: structuredClone(lib.PRESETS.skylake), memory: "tables-only", maxPhyAddr: 40, backedFrames: 2048 },
    controls: { pke: true, pkru: "0xc" }, tables: { start: "0x200000", end: "0x300000" },
    mappings: [{ vaddr: "0x7f0000000000", paddr: "0x40000000", pageSize: "1G", flags: { user: true, protectionKey: 3 } }],
    memory: [["0x1000", "0x2003"]], registers: { pat: "0x0007040600070406" },
    walks: [{ vaddr: "0x7f0000001000", kind: "write", cpl: 3, implicit: false, probe: true }],
  }, {
    // Every other machine option, so that the config's own checks are reached.
    machine: {
      ram: "32MiB", cpus: 2, paging: 4, build: "release", managedRam: "32MiB", reserved: [{ start: 0, end: 0x100000 }], cpu: "skylake",
      overrides: { "l1d.entries": 128, "stlb[0].policy": "random", "psc.pde": 8, "latency.walkMemRef": 30 }, tlbs: true, traceBatch: 1024, seed: 7,
      features: { la57: false, pcid: true, smep: true, smap: true, pku: true, nx: true, page1gb: true, pge: true },
    },
    mappings: [{ vaddr: "0x400000", paddr: "0x800000", pageSize: "2M", size: "0x400000", flags: { write: true, dirty: true, accessed: true, pwt: true, pcd: true, pat: true } }],
    walks: [{ vaddr: "0x400000", kind: "fetch" }],
  }];
}

/**
 * Machine descriptions for `wasmmu walk` (run in-process through the CLI's main).
 * @param lib main (the CLI), PRESETS
 * @param opts.dir where case files are written; opts.bases the valid descriptions to mutate
 */
export function walkTarget(lib, { dir, bases }) {
  const docs = walkDocs(lib, bases);
  return {
    name: "walk",
    group: "inputs",
    async run(rng, index) {
      const doc = mutateJson(rng, rng.pick(docs));
      const path = join(dir, `walk-${index}.json`);
      writeFileSync(path, jsonText(rng, doc));
      const args = [];
      for (let k = rng.chance(0.2) ? rng.range(1, 2) : 0; k > 0; k--) args.push(rng.pick(VADDRS));
      if (rng.chance(0.2)) args.push(rng.pick(["--json", "--probe", "--user", "--write", "--implicit"]));
      const started = performance.now();
      const r = await cli(lib, ["walk", path, ...args]);
      const ms = performance.now() - started;
      check([0, 1, 2].includes(r.code), `exit ${r.code}: ${r.err.slice(0, 300)}`, path);
      check(ms < 3000, `took ${ms.toFixed(0)} ms`, path);
      if (r.code === 1) {
        check(r.err.startsWith(`wasmmu: ${path}: `) && !r.err.includes("\n"), `the error does not name the file on one line: ${r.err.slice(0, 300)}`, path);
        check(r.err.length <= MAX_MESSAGE + path.length, `a message of ${r.err.length} characters`, path);
      }
      if (r.code === 2) check(/\nRun 'wasmmu walk --help' for usage\.$/.test(r.err) && r.err.length <= MAX_MESSAGE + path.length, `a usage error without its pointer: ${r.err.slice(0, 300)}`, path);
      if (r.code === 0) check(r.out.length > 0, "exit 0 without output", path);
      rmSync(path, { force: true });
    },
  };
}

/**
 * Conformance vector files: lines of mutated vectors, plain or gzip (sometimes corrupt), read by
 * runVectorFile; the same lines plain and gzip must give the same counts and messages.
 * @param lib runVectorFile, VectorMachines, main (the CLI)
 * @param opts.dir where case files are written; opts.bases valid vectors (parsed JSON)
 */
export function vectorTarget(lib, { dir, bases }) {
  // Machines are shared across cases, as `wasmmu conformance` shares them across files: a vector
  // refused half-way must leave its machine clean for the next.
  const machines = new lib.VectorMachines();
  return {
    name: "vectors",
    group: "inputs",
    async run(rng, index) {
      const lines = Array.from({ length: rng.range(1, 6) }, () => {
        const v = rng.pick(bases);
        return rng.chance(0.25) ? JSON.stringify(v) : jsonText(rng, mutateJson(rng, v));
      });
      if (rng.chance(0.05)) lines.splice(rng.int(lines.length + 1), 0, "x".repeat(rng.pick([65536, 65537, 200_000])));
      if (rng.chance(0.1)) lines.splice(rng.int(lines.length + 1), 0, "");
      const text = Buffer.from(lines.join(rng.chance(0.1) ? "\r\n" : "\n"));
      const plain = join(dir, `vectors-${index}.jsonl`);
      const gz = join(dir, `vectors-${index}.jsonl.gz`);
      writeFileSync(plain, text);
      let gzBytes = gzipSync(text);
      const corrupt = rng.chance(0.2);
      if (corrupt) gzBytes = mutateCompressed(rng, gzBytes, "gzip");
      writeFileSync(gz, gzBytes);

      const results = [];
      for (const path of [plain, gz]) {
        // A mutated gzip stream may hold other lines (a member appended), or none.
        const known = path === plain || !corrupt;
        let r;
        try {
          r = await lib.runVectorFile(path, { keepFailures: 3, machines });
        } catch (e) {
          throw new Finding(`runVectorFile threw ${e?.name}: ${e?.message}`, path);
        }
        for (const e of r.errors) check(e.message.startsWith(`${path}:${e.line}: `) && e.message.length <= MAX_MESSAGE + path.length, `an invalid line's message: ${e.message.slice(0, 300)}`, path);
        if (r.stopped !== undefined) check(r.stopped.startsWith(path), `stopped without the file: ${r.stopped}`, path);
        const judged = r.passed + r.failed + r.invalid;
        if (known) check(judged <= lines.length, `${judged} vectors judged from ${lines.length} lines`, path);
        if (known && r.stopped === undefined) check(judged === lines.filter((l) => l.trim() !== "").length, `${judged} vectors judged, ${lines.length} lines written`, path);
        results.push({ ...r, errors: r.errors.map((e) => e.message.slice(path.length)), file: "" });
      }
      if (!corrupt) {
        const [a, b] = results;
        check(JSON.stringify([a.passed, a.failed, a.invalid, a.errors, a.stopped === undefined]) === JSON.stringify([b.passed, b.failed, b.invalid, b.errors, b.stopped === undefined]),
          `plain and gzip differ: ${JSON.stringify([a.passed, a.failed, a.invalid, a.errors[0], a.stopped])} vs ${JSON.stringify([b.passed, b.failed, b.invalid, b.errors[0], b.stopped])}`, plain);
      }
      if (rng.chance(0.1)) {
        const r = await cli(lib, ["conformance", rng.pick([plain, gz])]);
        check(r.code === 0 || r.code === 1, `wasmmu conformance exit ${r.code}: ${r.err.slice(0, 300)}`, plain);
      }
      for (const p of [plain, gz]) rmSync(p, { force: true });
    },
  };
}
