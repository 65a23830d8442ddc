/**
 * Vector files found by fuzzing (issue #12; ../shared/reproducers/c-*): a stream error after a bad
 * line once crashed the process, a vector the machine refused aborted the whole file without its
 * line, a one-line gzip bomb was inflated whole, and a string size was taken. Each is now a
 * result: the file's counts, each bad line with its file and line, the run going on.
 */
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createGzip } from "node:zlib";
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { readVectors, runVectorFile } from "../../src/conformance/files.js";
import { MAX_LINE_BYTES } from "../../src/trace/decoder.js";
import { run } from "../helpers/cli.js";
import { EXIT_BAD_INPUT } from "../../src/cli/exit.js";

const ROOT = resolve(import.meta.dirname, "../..");
const FIXTURES = join(ROOT, "test/fixtures/reproducers");
const fixture = (name: string) => join(FIXTURES, name);
const dir = mkdtempSync(join(tmpdir(), "wasmmu-vector-files-"));
/** Long enough for a stream error or a stray rejection to surface after a read ends. */
const settle = () => new Promise((r) => setTimeout(r, 200));

describe("a bad line, then a corrupt or truncated gzip stream", () => {
  for (const name of ["c-badline-then-corrupt-gzip.jsonl.gz", "c-truncated-after-badline.jsonl.gz"]) {
    it(`${name}: readVectors rejects at the bad line, and the stream's later error is handled`, async () => {
      const read = async () => { for await (const _ of readVectors(fixture(name))) void _; };
      await expect(read()).rejects.toThrow(`${fixture(name)}:1: not JSON`);
      await settle();
    });

    it(`${name}: runVectorFile counts the bad line as invalid, runs the 943 good ones, and stops at the broken stream naming it`, async () => {
      const r = await runVectorFile(fixture(name));
      expect(r.invalid).toBe(1);
      expect(r.errors[0]).toEqual({ line: 1, message: expect.stringMatching(new RegExp(`^${escape(fixture(name))}:1: not JSON`)) as unknown });
      expect(r.passed).toBe(943);
      // The corrupt member inflates to garbage without a newline (refused as line 945) or ends early.
      expect(r.stopped).toMatch(new RegExp(`^${escape(fixture(name))}(:945: line longer than ${MAX_LINE_BYTES} bytes|: corrupt or truncated gzip stream after line 944: )`));
      await settle();
    });

    it(`${name}: wasmmu conformance, as a process, reports both and exits 1 without crashing`, () => {
      const p = spawnSync(process.execPath, [join(ROOT, "bin/wasmmu.js"), "conformance", fixture(name)], { encoding: "utf8" });
      expect(p.status).toBe(EXIT_BAD_INPUT);
      expect(p.stdout).toContain(`${fixture(name)}: 943 passed, 0 failed, 1 invalid`);
      expect(p.stdout).toContain(`INVALID ${fixture(name)}:1: not JSON`);
      expect(p.stdout).toContain(`STOPPED ${fixture(name)}`);
      expect(p.stderr).not.toMatch(/Unhandled|node:events|at /);
    });
  }
});

describe("a vector the machine cannot take is that line's error; the next vectors still run", () => {
  // Each file: a good vector, the bad one on line 2, the good one again.
  const cases: Array<[string, RegExp]> = [
    ["c-cr3-beyond-maxphyaddr.jsonl", /:2: kvm4-perm-002580: cr3 0xfff0000000000000 \(MAXPHYADDR 46\): cannot be set up: writing cr3 raised #GP$/],
    ["c-maxphyaddr-60.jsonl", /:2: kvm4-perm-002580: mode\.maxphyaddr: expected an integer 36\.\.52, got 60$/],
    ["c-pkru-2e40.jsonl", /:2: kvm4-perm-002580: mode\.pkru: 0x10000000000 is out of range \(at most 0xffffffff\)$/],
    ["c-memory-paddr-2e64.jsonl", /:2: kvm4-perm-002580: memory\[4\]\[0\]: 0x10000000000000000 is out of range \(at most 0xffffffffffffffff\)$/],
    ["c-pcide.jsonl", /:2: kvm4-perm-002580: mode\.cr4_pcide: vectors with CR4\.PCIDE=1 are outside the format \(README: PCIDE is 0\)$/],
    ["c-size-string.jsonl", /:2: kvm4-perm-002580: access\.size: expected an integer 1\.\.4096, got "eight"$/],
  ];
  for (const [name, why] of cases) {
    it(`${name}: 2 passed, 1 invalid at line 2 with its reason`, async () => {
      const r = await runVectorFile(fixture(name));
      expect([r.passed, r.failed, r.invalid, r.stopped]).toEqual([2, 0, 1, undefined]);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0].line).toBe(2);
      expect(r.errors[0].message.startsWith(`${fixture(name)}:2: `)).toBe(true);
      expect(r.errors[0].message).toMatch(why);
    });
  }

  it("the machine is left clean: the good vector passes after each refused one", async () => {
    const lines = cases.map(([name]) => readFileSync(fixture(name), "utf8").trim().split("\n")[1]);
    const good = readFileSync(fixture("c-good.jsonl"), "utf8").trim();
    const path = join(dir, "mixed.jsonl");
    writeFileSync(path, lines.flatMap((l) => [l, good]).join("\n"));
    const r = await runVectorFile(path);
    expect([r.passed, r.failed, r.invalid]).toEqual([cases.length, 0, cases.length]);
  });

  it("wasmmu conformance prints each invalid line and exits 1", async () => {
    const r = await run("conformance", fixture("c-size-string.jsonl"));
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.out).toContain(`${fixture("c-size-string.jsonl")}: 2 passed, 0 failed, 1 invalid`);
    expect(r.out).toContain(`INVALID ${fixture("c-size-string.jsonl")}:2: kvm4-perm-002580: access.size`);
    expect(r.err).toContain(`wasmmu: ${fixture("c-size-string.jsonl")}:2: `);
  });

  it("found by fuzzing: an oracle or category that is an object (with its own toString) is an invalid line, not a TypeError", async () => {
    const good = JSON.parse(readFileSync(fixture("c-good.jsonl"), "utf8")) as Record<string, unknown>;
    const path = join(dir, "object-oracle.jsonl");
    writeFileSync(path, [{ ...good, oracle: { toString: "s" } }, { ...good, category: [1] }, good].map((v) => JSON.stringify(v)).join("\n"));
    const r = await runVectorFile(path);
    expect([r.passed, r.invalid]).toEqual([1, 2]);
    expect(r.errors.map((e) => e.message)).toEqual([
      `${path}:1: kvm4-perm-002580: oracle: expected a string, got {"toString":"s"}`,
      `${path}:2: kvm4-perm-002580: category: expected a string, got [1]`,
    ]);
  });

  it("a huge value is named, not echoed", async () => {
    const good = readFileSync(fixture("c-good.jsonl"), "utf8").trim();
    const path = join(dir, "huge-kind.jsonl");
    writeFileSync(path, good.replace('"kind":"fetch"', `"kind":"${"x".repeat(50_000)}"`));
    const r = await runVectorFile(path);
    expect(r.errors[0].message).toMatch(/access\.kind: expected read, write or fetch, got "x{40,60}…$/);
  });
});

describe(`a line over ${MAX_LINE_BYTES} bytes ends the file at that line, without inflating the rest`, () => {
  it("a gzip bomb of one 256 MiB line: refused as file:1 after at most a few MiB, in well under a second", async () => {
    const path = join(dir, "bomb.jsonl.gz");
    // Written as a stream: 256 MiB of one line compress to about 250 KB.
    const piece = Buffer.alloc(1 << 20, 0x61);
    await pipeline(Readable.from((function* () { yield Buffer.from('{"id":"'); for (let i = 0; i < 256; i++) yield piece; })()), createGzip({ level: 1 }), createWriteStream(path));
    const before = process.memoryUsage().rss;
    const started = performance.now();
    const r = await runVectorFile(path);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
    expect(r.stopped).toBe(`${path}:1: line longer than ${MAX_LINE_BYTES} bytes, got "{\\"id\\":\\"${"a".repeat(73)}…"`);
    await settle();
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
