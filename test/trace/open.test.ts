/**
 * openTrace (src/trace/open.ts) on real files: plain, gzip, xz and zstd copies of one trace give
 * the same chunks; chunk boundaries; format and compression detection; option checks; and bad
 * files (unknown format, corrupt or truncated streams, malformed lines) as BAD_INPUT with exact
 * messages, after every record decoded before the fault was yielded.
 *
 * The xz and zstd copies are made with the system's `xz` and `zstd` commands; tests that need
 * one are skipped, with a message, where it is missing.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { openTrace, ZSTD_MAX_WINDOW_BYTES } from "../../src/trace/open.js";
import { concatChunks, decodeTrace } from "../../src/trace/formats.js";
import { WmtWriter } from "../../src/trace/wmt.js";
import { WasmmuError } from "../../src/errors.js";
import type { OpenTraceOptions, TraceChunk } from "../../src/trace/types.js";
import { rejection } from "../helpers/errors.js";

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const HAS_XZ = has("xz");
const HAS_ZSTD = has("zstd");
if (!HAS_XZ) console.warn("open.test.ts: no `xz` command here; skipping the .xz cases");
if (!HAS_ZSTD) console.warn("open.test.ts: no `zstd` command here; skipping the .zst cases");

const dir = mkdtempSync(join(tmpdir(), "wasmmu-open-"));
const at = (name: string) => join(dir, name);

/** A Lackey trace of `n` records (no M lines, so one record per line), addresses spread out. */
function lackeyText(n: number, seed = 1): string {
  const lines = ["==4242== Lackey, an example Valgrind tool"];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const addr = (0x7ff0_0000_0000 + x * 8).toString(16);
    lines.push(i % 3 === 0 ? `I  ${(0x40_0000 + i * 4).toString(16).padStart(8, "0")},${1 + (x % 15)}` : ` ${"LS"[x & 1]} ${addr},${1 << (x % 4)}`);
  }
  return lines.join("\n") + "\n";
}

/** Write `text` as name, name.gz, name.xz and name.zst (the last two when the commands exist). */
function writeAll(name: string, text: string): Record<"none" | "gzip" | "xz" | "zstd", string> {
  writeFileSync(at(name), text);
  writeFileSync(at(name + ".gz"), gzipSync(text));
  if (HAS_XZ) execFileSync("xz", ["-k", "-f", at(name)]);
  if (HAS_ZSTD) execFileSync("zstd", ["-q", "-f", at(name), "-o", at(name + ".zst")]);
  return { none: at(name), gzip: at(name + ".gz"), xz: at(name + ".xz"), zstd: at(name + ".zst") };
}

async function readAll(path: string, opts?: OpenTraceOptions): Promise<{ chunks: TraceChunk[]; error: unknown }> {
  const t = await openTrace(path, opts);
  const chunks: TraceChunk[] = [];
  try {
    for await (const c of t.chunks) chunks.push(c);
  } catch (e) {
    return { chunks, error: e };
  }
  return { chunks, error: null };
}

/** Await `p` and return the WasmmuError it rejected with. */
const plain = (c: TraceChunk) => [c.count, Array.from(c.lo), Array.from(c.hi), Array.from(c.size), Array.from(c.kind), Array.from(c.cpu)];

describe("openTrace: compressions give identical chunks", () => {
  const text = lackeyText(2500);
  let files: ReturnType<typeof writeAll>;
  let reference: TraceChunk;
  beforeAll(() => {
    files = writeAll("t.lackey", text);
    reference = decodeTrace("lackey", text);
  });

  for (const compression of ["none", "gzip", "xz", "zstd"] as const) {
    const skip = (compression === "xz" && !HAS_XZ) || (compression === "zstd" && !HAS_ZSTD);
    it.skipIf(skip)(`${compression}: 2.5 chunks of 1000 come out as 1000, 1000, 500 records equal to the plain decode`, async () => {
      const t = await openTrace(files[compression], { chunkRecords: 1000 });
      expect(t.info).toEqual({ path: files[compression], format: "lackey", compression, totalBytes: readFileSync(files[compression]).length });
      expect(t.bytesRead()).toBeLessThanOrEqual(t.info.totalBytes as number);
      const chunks: TraceChunk[] = [];
      for await (const c of t.chunks) chunks.push(c);
      expect(chunks.map((c) => c.count)).toEqual([1000, 1000, 500]);
      expect(plain(concatChunks(chunks))).toEqual(plain(reference));
      expect(t.bytesRead()).toBe(t.info.totalBytes);
    });
  }

  it("each chunk owns its arrays (callers may keep them)", async () => {
    const { chunks } = await readAll(files.none, { chunkRecords: 1000 });
    const buffers = new Set(chunks.flatMap((c) => [c.lo.buffer, c.hi.buffer, c.size.buffer, c.kind.buffer, c.cpu.buffer]));
    expect(buffers.size).toBeGreaterThanOrEqual(3);
    expect(chunks[0].lo.buffer).not.toBe(chunks[1].lo.buffer);
    const before = Array.from(chunks[1].lo);
    chunks[0].lo.fill(0);
    expect(Array.from(chunks[1].lo)).toEqual(before);
  });

  it("a trace of exactly 2 chunks gives 2 chunks (no empty third); default chunkRecords is 65536", async () => {
    writeFileSync(at("two.lackey"), lackeyText(2000));
    expect((await readAll(at("two.lackey"), { chunkRecords: 1000 })).chunks.map((c) => c.count)).toEqual([1000, 1000]);
    expect((await readAll(files.none)).chunks.map((c) => c.count)).toEqual([2500]);
  });

  it("user: false leaves REC_USER off; a format override is obeyed", async () => {
    const { chunks } = await readAll(files.gzip, { user: false, format: "lackey" });
    expect(chunks[0].kind.every((k) => k < 3)).toBe(true);
  });

  it("stopping early releases the file without an error", async () => {
    const t = await openTrace(files.gzip, { chunkRecords: 100 });
    let n = 0;
    for await (const c of t.chunks) {
      n += c.count;
      if (n >= 300) break;
    }
    expect(n).toBe(300);
    await t.close();
    const u = await openTrace(files.none);
    await u.close(); // never iterated
  });
});

describe("openTrace: format detection", () => {
  it("finds lackey, text, wmt and champsim from the first bytes (and champsim from the name)", async () => {
    writeFileSync(at("a.trace"), "I  0040abcd,3\n L 10,8\n");
    writeFileSync(at("banner.trace"), "==99== Lackey\n");
    writeFileSync(at("b.trace"), "# comment first\n\nR 0x1000 4\nW 0x2000\n");
    const wmtParts: Uint8Array[] = [];
    const ww = new WmtWriter({ write: (b: Uint8Array) => { wmtParts.push(b.slice()); } }, { cpus: 2 });
    ww.write({ count: 1, lo: Uint32Array.of(0x1000), hi: Uint32Array.of(0), size: Uint8Array.of(8), kind: Uint8Array.of(0x11), cpu: Uint16Array.of(1) });
    await ww.close();
    writeFileSync(at("c.bin"), Buffer.concat(wmtParts));
    const instr = new Uint8Array(64);
    new DataView(instr.buffer).setBigUint64(0, 0x401000n, true);
    writeFileSync(at("d.champsimtrace"), instr);
    writeFileSync(at("e.champsimtrace.gz"), gzipSync(instr));
    const formats = [];
    for (const f of ["a.trace", "banner.trace", "b.trace", "c.bin", "d.champsimtrace", "e.champsimtrace.gz"]) {
      const t = await openTrace(at(f));
      formats.push(t.info.format);
      if (f === "c.bin") expect(t.info.metadata).toEqual({ cpus: 2 });
      await t.close();
    }
    expect(formats).toEqual(["lackey", "lackey", "text", "wmt", "champsim", "champsim"]);
  });

  it("an empty file (whatever its extension), or a compressed empty one, is an empty trace: no chunks, no error", async () => {
    writeFileSync(at("empty"), "");
    writeFileSync(at("empty.gz"), gzipSync(""));
    writeFileSync(at("zero.lackey.xz"), "");
    for (const f of ["empty", "empty.gz", "zero.lackey.xz"]) {
      const r = await readAll(at(f));
      expect(r).toEqual({ chunks: [], error: null });
    }
    const t = await openTrace(at("zero.lackey.xz"));
    expect(t.info).toMatchObject({ format: "text", compression: "none", totalBytes: 0 });
    await t.close();
  });

  it("an unknown format is BAD_INPUT listing the formats and --format", async () => {
    writeFileSync(at("unknown.dat"), "hello world\nR 0x1000\n");
    const e = await rejection(openTrace(at("unknown.dat")));
    expect(e.code).toBe("BAD_INPUT");
    expect(e.message).toBe(`${at("unknown.dat")}: unknown trace format (it starts "hello world"). Supported formats: lackey (valgrind --tool=lackey --trace-mem=yes), ` +
      'text ("R 0x7fff0000 8" lines), wmt ("WASMMUTR" files), champsim (*.champsimtrace); choose one with --format <name>');
  });

  it("format: 'wmt' on a file that is not wmt fails at open, naming what was found", async () => {
    writeFileSync(at("notwmt.wmt"), "R 0x1000\n");
    expect((await rejection(openTrace(at("notwmt.wmt"), { format: "wmt" }))).message)
      .toBe(`${at("notwmt.wmt")}: byte 0: not a wmt trace: expected magic "WASMMUTR", found 52 20 30 78 31 30 30 30 ("R 0x1000")`);
  });
});

describe("openTrace: bad files", () => {
  it("a malformed line ends the chunks after every record before it: 1000, 1000, 500, then the error", async () => {
    writeFileSync(at("bad.lackey"), lackeyText(2500) + "bogus line\nI  1,1\n");
    const r = await readAll(at("bad.lackey"), { chunkRecords: 1000 });
    expect(r.chunks.map((c) => c.count)).toEqual([1000, 1000, 500]);
    expect(r.error).toBeInstanceOf(WasmmuError);
    expect((r.error as WasmmuError).message).toBe(`${at("bad.lackey")}:2502: expected "I", " L", " S" or " M" record, got "bogus line"`);
  });

  it("a plain file named .gz is reported as a corrupt gzip stream", async () => {
    writeFileSync(at("fake.lackey.gz"), "I  1,1\n");
    const e = await rejection(openTrace(at("fake.lackey.gz")));
    expect(e.code).toBe("BAD_INPUT");
    expect(e.message).toBe(`${at("fake.lackey.gz")}: corrupt or truncated gzip stream: incorrect header check; 0 bytes were decoded (7 of 7 compressed bytes read)`);
  });

  const big = lackeyText(60000, 7);
  const reference = decodeTrace("lackey", big);
  for (const compression of ["gzip", "xz", "zstd"] as const) {
    const skip = (compression === "xz" && !HAS_XZ) || (compression === "zstd" && !HAS_ZSTD);
    it.skipIf(skip)(`a truncated ${compression} stream yields the records decoded so far, then BAD_INPUT naming the file and the bytes decoded`, async () => {
      const sub = join(dir, `trunc-${compression}`);
      mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, "big.lackey"), big);
      const full = compression === "gzip" ? gzipSync(big) : readFileSync(compressWith(compression, join(sub, "big.lackey")));
      const path = join(sub, `cut.lackey.${{ gzip: "gz", xz: "xz", zstd: "zst" }[compression]}`);
      const cut = Math.floor(full.length * 0.6);
      writeFileSync(path, full.subarray(0, cut));
      const r = await readAll(path, { chunkRecords: 4096 });
      const got = concatChunks(r.chunks);
      expect(got.count).toBeGreaterThan(0);
      expect(got.count).toBeLessThan(reference.count);
      expect(plain(got)).toEqual(plain(sliceChunk(reference, got.count)));
      expect(r.error).toBeInstanceOf(WasmmuError);
      const e = r.error as WasmmuError;
      expect(e.code).toBe("BAD_INPUT");
      const why = { gzip: "unexpected end of file", xz: "truncated stream \\(xz error 8\\)", zstd: "unexpected EOF" }[compression];
      expect(e.message).toMatch(new RegExp(`^${escape(path)}: corrupt or truncated ${compression} stream: ${why}; (\\d+) bytes were decoded \\(${cut} of ${cut} compressed bytes read\\)$`));
      const decoded = Number(/; (\d+) bytes were decoded/.exec(e.message)?.[1]);
      expect(decoded).toBeGreaterThan(0);
      expect(decoded).toBeLessThan(big.length);
    });
  }

  it("a zstd frame asking for a window over 128 MiB is refused before any allocation", async () => {
    // Frame header: magic, descriptor 0 (no single segment), window descriptor exponent 31 → 2 TiB.
    writeFileSync(at("huge.zst"), Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 31 << 3, 0, 0, 0, 0));
    const r = await readAll(at("huge.zst")).catch((e: unknown) => ({ chunks: [], error: e }));
    expect((r.error as WasmmuError).message).toBe(`${at("huge.zst")}: byte 0: the zstd frame asks for a 2097152 MiB window, more than the ${ZSTD_MAX_WINDOW_BYTES >> 20} MiB this reader allows (zstd -d's default limit): recompress without --long, or decompress it first`);
  });

  it("a missing file or a directory is BAD_INPUT naming it", async () => {
    expect((await rejection(openTrace(at("nope.lackey")))).message).toMatch(new RegExp(`^${escape(at("nope.lackey"))}: cannot read the trace: ENOENT`));
    expect((await rejection(openTrace(dir))).message).toBe(`${dir}: is a directory, not a trace file`);
  });

  it("bad options are INVALID_CONFIG naming the option", async () => {
    writeFileSync(at("ok.lackey"), "I  1,1\n");
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ formats: "lackey" }, 'unknown openTrace option "formats" (known: format, chunkRecords, user, lend, deferCheck, checksum)'],
      [{ format: "pin" }, 'format must be "auto" or one of "lackey", "text", "wmt", "champsim", got "pin"'],
      [{ chunkRecords: 0 }, "chunkRecords must be an integer 1..16777216, got 0"],
      [{ chunkRecords: 1.5 }, "chunkRecords must be an integer 1..16777216, got 1.5"],
      [{ user: "yes" }, 'user must be a boolean, got "yes"'],
      [{ lend: 1 }, "lend must be a boolean, got 1"],
      [{ lend: true, deferCheck: "yes" }, 'deferCheck must be a boolean, got "yes"'],
      [{ deferCheck: true }, "deferCheck needs lend: true (only a consumer that copies each chunk checks it)"],
    ];
    for (const [opts, message] of cases) {
      const e = await rejection(openTrace(at("ok.lackey"), opts as OpenTraceOptions));
      expect([e.code, e.message]).toEqual(["INVALID_CONFIG", message]);
    }
  });
});

function compressWith(compression: "xz" | "zstd", path: string): string {
  if (compression === "xz") {
    execFileSync("xz", ["-k", "-f", path]);
    return path + ".xz";
  }
  execFileSync("zstd", ["-q", "-f", path, "-o", path + ".zst"]);
  return path + ".zst";
}

function sliceChunk(c: TraceChunk, n: number): TraceChunk {
  return { count: n, lo: c.lo.slice(0, n), hi: c.hi.slice(0, n), size: c.size.slice(0, n), kind: c.kind.slice(0, n), cpu: c.cpu.slice(0, n) };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
