/**
 * `wasmmu record` end to end: a tiny C program (compiled here) recorded under Valgrind Lackey into
 * .wmt.gz and replayed straight away; the program's exit status; the Valgrind-message filter; the
 * usage errors; and the message when valgrind is missing. The tests that run valgrind are skipped
 * (with a warning naming the tool) where valgrind or a C compiler is not installed.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE } from "../../src/cli/main.js";
import { ValgrindMessageFilter } from "../../src/cli/record.js";
import { REC_KIND } from "../../src/index.js";
import { openTrace } from "../../src/trace/index.js";
import { run } from "../helpers/cli.js";

function have(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

const VALGRIND = have("valgrind");
const CC = ["cc", "gcc", "clang"].find(have);
const missing = [VALGRIND ? null : "valgrind", CC ? null : "a C compiler (cc, gcc or clang)"].filter((x) => x !== null);
if (missing.length > 0) console.warn(`record.test.ts: skipping the recordings: ${missing.join(" and ")} not installed`);

/** Sums a 64 KiB array twice (loads), bumps every 64th byte (stores), exits with argv[1] if given. */
const PROGRAM = `
#include <stdlib.h>
static unsigned char a[65536];
int main(int argc, char **argv) {
  unsigned long s = 0;
  for (int r = 0; r < 2; r++)
    for (int i = 0; i < 65536; i += 64) { a[i] += (unsigned char)i; s += a[i]; }
  return argc > 1 ? atoi(argv[1]) : (int)(s & 0);
}
`;

describe.runIf(VALGRIND && CC !== undefined)("wasmmu record (valgrind)", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmmu-record-"));
  const prog = join(dir, "touch64k");
  beforeAll(() => {
    writeFileSync(`${prog}.c`, PROGRAM);
    execFileSync(CC as string, ["-O0", "-o", prog, `${prog}.c`]);
  });

  it("records a program into .wmt.gz: fetches, loads and stores, the header counting them", async () => {
    const out = join(dir, "x.wmt.gz");
    const r = await run("record", "--output", out, "--", prog);
    expect(r.err).toBe("");
    expect(r.code).toBe(EXIT_OK);
    const t = await openTrace(out);
    expect(t.info).toMatchObject({ format: "wmt", compression: "gzip" });
    const kinds = [0, 0, 0];
    let n = 0;
    let array = 0;
    for await (const c of t.chunks) {
      for (let i = 0; i < c.count; i++) kinds[c.kind[i] & 3]++;
      n += c.count;
      // The array's stores: one every 64 bytes, twice over, all in user mode.
      for (let i = 0; i < c.count; i++) if ((c.kind[i] & 3) === REC_KIND.write && c.size[i] === 1) array++;
    }
    expect(n).toBeGreaterThan(10_000);
    expect(kinds[REC_KIND.fetch]).toBeGreaterThan(1000);
    expect(kinds[REC_KIND.read]).toBeGreaterThan(1000);
    expect(kinds[REC_KIND.write]).toBeGreaterThan(1000);
    expect(array).toBeGreaterThanOrEqual(2048);
    expect(t.info.metadata).toMatchObject({ source: "touch64k", sourceFormat: "lackey", records: n, command: [prog] });
    expect(r.out).toMatch(new RegExp(`x\\.wmt\\.gz: ${n} records \\(\\d+ bytes\\)$`));
  });

  it("--replay replays the recording at once and prints the statistics, keeping no file", async () => {
    const r = await run("record", "--replay", "--cpu", "zen4", "--quiet", "--", prog);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("Translation statistics for 'touch64k.wmt' (wmt):");
    expect(r.out).toContain("cpu zen4, 4-level paging");
    expect(r.out).toMatch(/accesses\s+#\s+records replayed/);
    // zen4 prints AMD's names; a recording of a program runs under the kernel model.
    expect(r.out).toMatch(/ls_l1_d_tlb_miss\.all_l2_miss/);
    expect(r.out).toContain("pages: a process of the Linux model (--os linux) — the default for a wmt from lackey trace");
    // OPT reads the trace in advance: after the recording, not before (it used to look for the file too early).
    const opt = await run("record", "--replay", "--json", "--reclaim", "opt", "--ram", "3MiB", "--swap", "16MiB", "--", prog);
    expect(opt.code).toBe(EXIT_OK);
    expect((JSON.parse(opt.out) as { kernel: { reclaim: string } }).kernel.reclaim).toBe("opt");
    const j = await run("record", "--replay", "--json", "--", prog);
    const s = JSON.parse(j.out) as { accesses: number; counters: Record<string, number> };
    expect(s.accesses).toBeGreaterThan(10_000);
    expect(s.counters.access_store).toBeGreaterThan(1000);
  });

  it("exits with the program's non-zero status, reports it on stderr and keeps the recording", async () => {
    const out = join(dir, "fail.wmt");
    const r = await run("record", "-o", out, "--", prog, "3");
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/touch64k 3 exited with status 3; the \d+ accesses it made are kept/);
    expect((await openTrace(out)).info.metadata?.records).toBeGreaterThan(10_000);
  });

  it("a program that writes to fd 3 (valgrind's log, inherited) gets a clear error naming the line", async () => {
    const writer = join(dir, "fd3");
    writeFileSync(`${writer}.c`, `
#include <unistd.h>
int main(void) { return write(3, "not a lackey line\\n", 18) == 18 ? 0 : 1; }
`);
    execFileSync(CC as string, ["-O0", "-o", writer, `${writer}.c`]);
    const r = await run("record", "-o", join(dir, "fd3.wmt"), "--", writer);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/<valgrind lackey output>:\d+: .*did it write there\?/);
  });

  it("checks replay options before running the program; a command valgrind cannot run is an error", async () => {
    const bad = await run("record", "--replay", "--paging", "6", "--", prog);
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.err).toMatch(/--paging must be 4 or 5/);
    const preset = await run("record", "--replay", "--cpu", "potato", "--", prog);
    expect(preset.code).toBe(EXIT_USAGE);
    expect(preset.err).toMatch(/--cpu must be skylake, golden-cove, zen4 or custom, got potato/);
    const out = join(dir, "none.wmt.gz");
    const none = await run("record", "-o", out, "--", join(dir, "no-such-program"));
    expect(none.code).toBe(127); // valgrind's status for a program it cannot run, as a shell's
    expect(none.err).toMatch(/valgrind recorded no accesses: .*no-such-program exited with status 127/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("wasmmu record (no valgrind needed)", () => {
  it("says to install valgrind when it is not on the PATH", async () => {
    const path = process.env.PATH;
    process.env.PATH = join(tmpdir(), "wasmmu-no-such-dir");
    try {
      const r = await run("record", "--", "ls");
      expect(r.code).toBe(EXIT_BAD_INPUT);
      expect(r.err).toMatch(/valgrind is not installed.*apt-get install valgrind/);
    } finally {
      process.env.PATH = path;
    }
  });

  it("usage errors: no command, --output with --replay, replay options without --replay, .xz output", async () => {
    for (const argv of [
      ["record"], ["record", "./prog"], ["record", "--"], ["record", "--replay", "-o", "x.wmt", "--", "ls"],
      ["record", "--cpu", "zen4", "--", "ls"], ["record", "-o", "x.wmt.xz", "--", "ls"], ["record", "--output"],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(" ")).toBe(EXIT_USAGE);
      expect(r.err).toMatch(/Run 'wasmmu record --help' for usage\./);
    }
    const help = await run("record", "--help");
    expect(help.code).toBe(EXIT_OK);
    expect(help.out).toMatch(/^Usage: wasmmu record \[--output <out\.wmt\[\.gz\]>\] -- <command> \[args…\]/);
    expect(help.out).toMatch(/apt-get install valgrind/);
    expect((await run("help", "record")).out).toBe(help.out);
  });

  it("the Valgrind-message filter passes Lackey lines through and valgrind's warnings on, cut anywhere", () => {
    const text = "==12== Lackey\nI  0400,3\n--12-- WARNING: unhandled amd64-linux syscall: 999\n L 10,8\n**12** odd\n S 20,4\n--12-- last";
    const whole = Buffer.from(text);
    for (let cut = 0; cut <= whole.length; cut++) {
      const messages: string[] = [];
      const f = new ValgrindMessageFilter((m) => messages.push(m));
      const kept = [...f.push(whole.subarray(0, cut)), ...f.push(whole.subarray(cut))];
      f.end();
      expect(Buffer.concat(kept).toString(), `cut at ${cut}`).toBe("==12== Lackey\nI  0400,3\n L 10,8\n S 20,4\n");
      expect(messages).toEqual(["--12-- WARNING: unhandled amd64-linux syscall: 999", "**12** odd", "--12-- last"]);
    }
  });
});
