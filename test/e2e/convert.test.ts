/**
 * `wasmmu convert` end to end: the bundled Lackey trace to .wmt and .wmt.gz replays to the very same
 * counters, the header carries the source and the exact record count, --limit, refused outputs
 * (.xz, .zst, the input itself) and bad input with their exit codes.
 */
import { describe, it, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE } from "../../src/cli/main.js";
import { replayTrace, type ReplayOptions } from "../../src/cli/replay.js";
import { openTrace, parseWmtHeader, WMT_RECORD_BYTES, type TraceChunk } from "../../src/trace/index.js";
import { run } from "../helpers/cli.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BUNDLED = join(ROOT, "examples/traces/qsort.lackey.gz");

const OPTIONS: ReplayOptions = {
  cpu: "skylake", overrides: {}, paging: 4, ram: "1GiB", memory: "full", pages: "4k", cpus: 1, format: "auto",
  limit: null, skip: 0, warmup: 0, progress: false, interrupted: () => false, err: () => undefined,
};

/** Every record of a trace, flattened, for comparing two files record by record. */
async function records(path: string): Promise<{ n: number; digest: number[] }> {
  const t = await openTrace(path);
  let n = 0;
  // A cheap order-sensitive digest of all fields.
  const digest = [0, 0, 0, 0, 0];
  const mix = (i: number, v: number) => { digest[i] = (Math.imul(digest[i], 31) + v) >>> 0; };
  for await (const c of t.chunks as AsyncGenerator<TraceChunk>) {
    for (let i = 0; i < c.count; i++) {
      mix(0, c.lo[i]); mix(1, c.hi[i]); mix(2, c.size[i]); mix(3, c.kind[i]); mix(4, c.cpu[i]);
    }
    n += c.count;
  }
  return { n, digest };
}

describe("wasmmu convert", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-convert-"));

  it("converts the bundled Lackey trace to .wmt and .wmt.gz, which replay to identical counters", async () => {
    const plain = join(dir, "qsort.wmt");
    const gz = join(dir, "qsort.wmt.gz");
    const a = await run("convert", BUNDLED, plain, "--quiet");
    const b = await run("convert", BUNDLED, gz);
    expect(a.code).toBe(EXIT_OK);
    expect(b.code).toBe(EXIT_OK);
    const source = await records(BUNDLED);
    expect(source.n).toBeGreaterThan(100_000);
    expect(a.out).toBe(`${plain}: ${source.n} records (${statSync(plain).size} bytes)`);
    expect(b.out).toBe(`${gz}: ${source.n} records (${statSync(gz).size} bytes)`);
    expect(statSync(gz).size).toBeLessThan(statSync(plain).size / 4);

    // The header: source, format, the exact count (patched in after streaming), creation time.
    const h = parseWmtHeader(readFileSync(plain), plain);
    expect(h?.metadata).toMatchObject({ source: "qsort.lackey.gz", sourceFormat: "lackey", records: source.n });
    expect(Date.parse(h?.metadata.created as string)).toBeGreaterThan(Date.parse("2024-01-01"));
    expect(statSync(plain).size).toBe((h?.length ?? 0) + source.n * WMT_RECORD_BYTES);
    // The .gz decompresses (header member + records member) to the same bytes as the .wmt,
    // header included, apart from the creation time.
    const unzipped = gunzipSync(readFileSync(gz));
    expect(parseWmtHeader(unzipped, gz)?.metadata).toMatchObject({ source: "qsort.lackey.gz", records: source.n });
    expect(unzipped.subarray(h?.length).equals(readFileSync(plain).subarray(h?.length))).toBe(true);

    for (const f of [plain, gz]) expect(await records(f)).toEqual(source);
    const [want, got1, got2] = await Promise.all([BUNDLED, plain, gz].map((f) => replayTrace(f, OPTIONS)));
    expect(want.accesses).toBe(source.n);
    for (const got of [got1, got2]) {
      expect(got.format).toBe("wmt");
      expect(got.accesses).toBe(want.accesses);
      expect(got.counters).toEqual(want.counters);
      expect(got.mappedPages).toEqual(want.mappedPages);
    }
    expect(got2.compression).toBe("gzip");

    // wmt → wmt.gz works too, and keeps every record.
    const again = join(dir, "again.wmt.gz");
    expect((await run("convert", plain, again, "--quiet")).code).toBe(EXIT_OK);
    expect(await records(again)).toEqual(source);
    expect(parseWmtHeader(gunzipSync(readFileSync(again)), again)?.metadata).toMatchObject({ source: "qsort.wmt", sourceFormat: "wmt", records: source.n });
  });

  it("--limit keeps the first N records; an existing output is overwritten", async () => {
    const out = join(dir, "first.wmt.gz");
    writeFileSync(out, "old contents, much longer than nothing ".repeat(10_000));
    const r = await run("convert", BUNDLED, out, "--limit", "1000");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toMatch(/: 1000 records \(\d+ bytes\)$/);
    const got = await records(out);
    expect(got.n).toBe(1000);
    const whole = await openTrace(BUNDLED);
    const first = (await whole.chunks.next()).value as TraceChunk;
    await whole.close();
    const t = await openTrace(out);
    expect(t.info.metadata?.records).toBe(1000);
    const c = (await t.chunks.next()).value as TraceChunk;
    await t.close();
    expect(c.count).toBe(1000);
    expect([...c.lo]).toEqual([...first.lo.subarray(0, 1000)]);
    expect([...c.kind]).toEqual([...first.kind.subarray(0, 1000)]);

    const zero = join(dir, "zero.wmt");
    expect((await run("convert", BUNDLED, zero, "--limit", "0")).out).toBe(`${zero}: 0 records (${statSync(zero).size} bytes)`);
  });

  it("converts a text trace given with --format", async () => {
    const text = join(dir, "t.txt");
    writeFileSync(text, "R 0x1000 8\nW 0x2000 4\nX 0x401000 2\n");
    const out = join(dir, "t.wmt");
    const r = await run("convert", text, out, "--format", "text");
    expect(r.err).toBe("");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toMatch(/: 3 records/);
    expect((await openTrace(out)).info.metadata).toMatchObject({ source: "t.txt", sourceFormat: "text", records: 3 });
  });

  it("refuses to write .xz or .zst, and the input onto itself (usage errors, exit 2)", async () => {
    for (const name of ["out.wmt.xz", "out.wmt.zst"]) {
      const r = await run("convert", BUNDLED, join(dir, name));
      expect(r.code).toBe(EXIT_USAGE);
      expect(r.err).toMatch(/only \.wmt \(plain\) and \.wmt\.gz \(gzip\) outputs can be written/);
      expect(existsSync(join(dir, name))).toBe(false);
    }
    const copy = join(dir, "copy.lackey.gz");
    writeFileSync(copy, readFileSync(BUNDLED));
    const self = await run("convert", copy, copy);
    expect(self.code).toBe(EXIT_USAGE);
    expect(self.err).toMatch(/is the input itself/);
    expect(readFileSync(copy).equals(readFileSync(BUNDLED))).toBe(true);
    expect((await run("convert", BUNDLED)).code).toBe(EXIT_USAGE);
    expect((await run("convert", BUNDLED, join(dir, "x.wmt"), "--format", "pcap")).code).toBe(EXIT_USAGE);
    expect((await run("convert", BUNDLED, join(dir, "x.wmt"), "--limit", "-3")).code).toBe(EXIT_USAGE);
    const help = await run("convert", "--help");
    expect(help.code).toBe(EXIT_OK);
    expect(help.out).toMatch(/^Usage: wasmmu convert <input> <output\.wmt\[\.gz\]>/);
    expect(help.out).toMatch(/--limit N/);
  });

  it("bad input exits 1 naming the file, and leaves no output behind", async () => {
    const missing = await run("convert", join(dir, "nope.lackey"), join(dir, "nope.wmt"));
    expect(missing.code).toBe(EXIT_BAD_INPUT);
    expect(missing.err).toMatch(/nope\.lackey: cannot read the trace/);
    expect(existsSync(join(dir, "nope.wmt"))).toBe(false);

    const bad = join(dir, "bad.lackey");
    writeFileSync(bad, "I  04022e25,3\n L 1ffefffc80,8\nthis is not lackey\n");
    const out = join(dir, "bad.wmt.gz");
    const r = await run("convert", bad, out, "--format", "lackey");
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toMatch(/bad\.lackey:3: expected "I"/);
    expect(existsSync(out)).toBe(false);

    const unwritable = await run("convert", BUNDLED, join(dir, "no-such-dir", "x.wmt"));
    expect(unwritable.code).toBe(EXIT_BAD_INPUT);
    expect(unwritable.err).toMatch(/x\.wmt: cannot write: ENOENT/);
  });
});
