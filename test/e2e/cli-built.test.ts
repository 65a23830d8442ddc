/**
 * The command line as a user runs it: bin/wasmmu.js over the built dist/, in a child process, with
 * real standard input, exit status and stderr. Exit codes (usage errors and bad values are 2 in
 * every command), option errors in our words with the closest option suggested, `-` for standard
 * input, help for an unknown command, --window without --report, where --report wrote, binary
 * files that are no trace, ChampSim read from text, --version, stack traces through source maps,
 * and record's exit status and progress line (with valgrind and a C compiler).
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/wasmmu.js");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), "wasmmu-cli-built-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the built command; `input` goes to its standard input. */
function wasmmu(args: readonly string[], input?: string | Uint8Array): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, input: input ?? "", encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function have(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

const TEXT_TRACE = "R 0x7fff00001000 8\nW 0x7fff00002000 4\nX 0x401000 1\n".repeat(100);

describe("exit codes: a usage error or a bad option value is 2 in every command", () => {
  const usage: string[][] = [
    ["replay", "--jsn"], ["replay", "--ram"], ["replay", "--json=1"], ["replay", "--cpu", "skylak"], ["replay", "--ram", "7parsecs"],
    ["replay", "--set", "l1d.entries=abc"], ["replay", "--set", "l1d.entrys=64"], ["replay", "--paging", "6"], ["replay", "--window", "0", "--report", "r.html"],
    ["sweep", "--param", "l1d.entrys=16,32"], ["sweep", "--param", "pages=4k,2mb"], ["sweep", "--param", "l1d.entries=16", "--cpu", "zen5"],
    ["convert"], ["convert", "a", "b.wmt", "--formt", "text"], ["walk", "--cpl", "9"], ["walk", "--kynd", "read"],
    ["workload", "--tasks", "x"], ["workload", "--ram", "lots"], ["workload", "--cpu", "zen5"], ["conformance"], ["conformance", "x", "--max-failures", "-1"],
    ["demo", "--foo"], ["demo", "co"], ["record"], ["record", "--foo", "--", "ls"], ["help", "replya"], ["replya"], ["--jsn"],
  ];
  it.each(usage.map((a) => [a.join(" "), a] as const))("wasmmu %s → 2, one message and a pointer to the help", (_name, args) => {
    const r = wasmmu(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^wasmmu: .+\nRun 'wasmmu (\w+ )?--help' for usage\.\n$/);
  });

  it("bad input is 1: a missing trace, a malformed description", () => {
    expect(wasmmu(["replay", "no-such.trace"]).code).toBe(1);
    writeFileSync(join(dir, "bad.json"), "{ nope");
    expect(wasmmu(["walk", "bad.json"]).code).toBe(1);
  });
});

describe("option errors in wasmmu's words, with the closest valid option or value", () => {
  it.each([
    [["replay", "--jsn"], "wasmmu: unknown option --jsn; did you mean --json?"],
    [["replay", "--qiuet"], "wasmmu: unknown option --qiuet; did you mean --quiet?"],
    [["replay", "-x"], "wasmmu: unknown option -x"],
    [["replay", "--ram"], "wasmmu: --ram needs a value (--ram <value>)"],
    [["replay", "--ram", "--json"], 'wasmmu: --ram needs a value, but the next argument is the option --json (for a value starting with "-", write --ram=--json)'],
    [["replay", "--json=yes"], "wasmmu: --json takes no value, got --json=yes"],
    [["replay", "--cpu", "skylak"], "wasmmu: --cpu must be skylake, golden-cove, zen4 or custom, got skylak; did you mean skylake?"],
    [["replay", "--format", "champsm"], "wasmmu: --format must be auto, lackey, text, wmt or champsim, got champsm; did you mean champsim?"],
    [["replay", "--ram", "7parsecs"], 'wasmmu: --ram: cannot read "7parsecs" as a size; write bytes or a number with K/M/G/T (KiB/MiB/GiB/TiB)'],
    [["replay", "--set", "l1d.entrys=64"], /^wasmmu: --set l1d\.entrys: unknown parameter; .*; did you mean l1d\.entries\?$/],
    [["sweep", "--param", "latency.walkMemRf=10,20"], /^wasmmu: --param latency\.walkMemRf: unknown parameter; .*; did you mean latency\.walkMemRef\?$/],
    [["walk", "--kynd", "read"], "wasmmu: unknown option --kynd; did you mean --kind?"],
    [["replya"], 'wasmmu: unknown command "replya" (commands: replay, sweep, merge, presets, convert, record, walk, workload, shell, serve, demo, conformance, help); did you mean "replay"?'],
    [["help", "sweeep"], 'wasmmu: no command "sweeep" (commands: replay, sweep, merge, presets, convert, record, walk, workload, shell, serve, demo, conformance, help); did you mean "sweep"?'],
    [["demo", "cwo"], /^wasmmu: no demo "cwo" \(demos: .*\); did you mean "cow"\?$/],
    [["record", "--cpu", "zen4", "--", "ls"], "wasmmu: --cpu is a replay option: it needs --replay (the program and its arguments go after --)"],
  ] as const)("wasmmu %j", (args, message) => {
    const first = wasmmu(args).err.split("\n")[0];
    if (typeof message === "string") expect(first).toBe(message);
    else expect(first).toMatch(message);
  });
});

describe("help, --version", () => {
  it("help <command> prints its help (exit 0); help <unknown> fails (exit 2); help alone is the main help", () => {
    const replay = wasmmu(["help", "replay"]);
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(/^Usage: wasmmu replay/);
    expect(wasmmu(["help", "nosuch"]).code).toBe(2);
    expect(wasmmu(["help"]).out).toMatch(/^wasmmu — a cycle-approximate/);
  });

  it("--version and -V print the package's version", () => {
    expect(wasmmu(["--version"])).toEqual({ code: 0, out: `wasmmu ${VERSION}\n`, err: "" });
    expect(wasmmu(["-V"])).toEqual({ code: 0, out: `wasmmu ${VERSION}\n`, err: "" });
    expect(wasmmu(["--help"]).out).toContain("wasmmu --version (-V) prints the version");
  });
});

describe("- reads standard input", () => {
  it("replay -: a text trace piped in, named <stdin>", () => {
    const r = wasmmu(["replay", "-", "--json", "--quiet"], TEXT_TRACE);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ trace: "<stdin>", format: "text", compression: "none", accesses: 300 });
  });

  it("replay -: gzip piped in is found from its magic bytes; a bad line names <stdin> and the line", () => {
    const r = wasmmu(["replay", "-", "--json", "--quiet"], gzipSync(TEXT_TRACE));
    expect(JSON.parse(r.out)).toMatchObject({ trace: "<stdin>", compression: "gzip", accesses: 300 });
    const bad = wasmmu(["replay", "-", "--quiet"], "R 0x1000\nR zzz\n");
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("<stdin>:2:");
  });

  it("convert - out.wmt, then the output replays the same accesses", () => {
    const c = wasmmu(["convert", "-", "in.wmt"], TEXT_TRACE);
    expect(c.code).toBe(0);
    expect(c.out).toBe("in.wmt: 300 records (1936 bytes)\n".replace("1936", String(readFileSync(join(dir, "in.wmt")).length)));
    expect(JSON.parse(wasmmu(["replay", "in.wmt", "--json", "--quiet"]).out)).toMatchObject({ accesses: 300 });
  });

  it("sweep - reads standard input once (shared-read); per-worker and replaying - twice are usage errors", () => {
    const s = wasmmu(["sweep", "-", "--param", "l1d.entries=16,32", "--json", "--quiet"], TEXT_TRACE);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({ kind: "wasmmu-sweep", results: [{ trace: "<stdin>", accesses: 300 }, { trace: "<stdin>", accesses: 300 }] });
    expect(wasmmu(["sweep", "-", "--param", "l1d.entries=16,32", "--mode", "per-worker"], TEXT_TRACE).code).toBe(2);
    expect(wasmmu(["replay", "-", "-"], TEXT_TRACE).code).toBe(2);
    expect(wasmmu(["replay", "-", "--os", "linux", "--reclaim", "opt"], TEXT_TRACE).code).toBe(2);
  });
});

describe("--report and --window", () => {
  it("--window without --report warns on stderr and replays", () => {
    const r = wasmmu(["replay", "--limit", "1000", "--window", "100", "--quiet"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("wasmmu: warning: --window has no effect without --report (it sets the report's plot resolution)\n");
  });

  it("replay --report says where it wrote, whatever the output format", () => {
    for (const extra of [[], ["--json"]]) {
      const r = wasmmu(["replay", "--limit", "2000", "--quiet", "--report", "r.html", ...extra]);
      expect(r.code).toBe(0);
      expect(r.err).toBe(`wasmmu: report written to ${join(dir, "r.html")}\n`);
      expect(readFileSync(join(dir, "r.html"), "utf8")).toMatch(/^<!DOCTYPE html>/i);
    }
  });
});

describe("binary files that are no trace are named, not dumped", () => {
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0xff, 0xfe, 0x00, 0x80]);
  beforeAll(() => {
    writeFileSync(join(dir, "image.png"), png);
    writeFileSync(join(dir, "prog.gz"), gzipSync(readFileSync(process.execPath).subarray(0, 4096)));
    writeFileSync(join(dir, "doc.pdf"), "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n");
  });

  it.each([
    [["replay", process.execPath], "this is an ELF file (an executable, shared library, object file or core dump), not a memory trace (to trace a program's accesses, run it under wasmmu record -- <program> [args])"],
    [["replay", "--format", "lackey", process.execPath], "this is an ELF file"],
    [["replay", "image.png"], "this is a PNG image, not a memory trace"],
    [["replay", "prog.gz"], "this is an ELF file (an executable, shared library, object file or core dump), gzip-compressed, not a memory trace"],
    [["replay", "doc.pdf"], "this is a PDF document, not a memory trace"],
    [["convert", "image.png", "x.wmt"], "this is a PNG image"],
  ] as const)("wasmmu %j", (args, what) => {
    const r = wasmmu(args);
    expect(r.code).toBe(1);
    expect(r.err).toContain(what);
    expect(r.err.split("\n")).toHaveLength(2); // one line
    // Nothing of the file itself: no control characters, no replacement characters.
    expect([...r.err].filter((c) => (c < " " && c !== "\n") || c === "\ufffd")).toEqual([]);
  });
});

describe("--format champsim on a text trace", () => {
  it("fails at the first record, saying it looks like text (exit 1, nothing replayed)", () => {
    writeFileSync(join(dir, "t.txt"), TEXT_TRACE);
    const r = wasmmu(["replay", "--format", "champsim", "t.txt", "--json"]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^wasmmu: t\.txt: byte 0: record 1 is not a ChampSim instruction record: is_branch is 48 and branch_taken 48, where ChampSim writes 0 or 1; it looks like text .*--format auto finds which\)\n$/);
  });
});

describe("--debug", () => {
  it("prints the stack through the source maps: src/ files and lines, not dist/ chunks", () => {
    const r = wasmmu(["replay", "no-such.trace", "--debug"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/at openTrace \(.*src\/trace\/open\.ts:\d+:\d+\)/);
    expect(r.err).not.toMatch(/dist\/chunk-/);
    expect(wasmmu(["--debug", "replay", "no-such.trace"]).err).toMatch(/src\/trace\/open\.ts/);
  });
});

const VALGRIND = have("valgrind");
const CC = ["cc", "gcc", "clang"].find(have);
const SCRIPT = have("script");
if (!VALGRIND || CC === undefined) console.warn("cli-built.test.ts: skipping record's exit status and progress: valgrind or a C compiler is not installed");

describe.runIf(VALGRIND && CC !== undefined)("record (valgrind)", () => {
  const prog = join(dir, "exit-with");
  beforeAll(() => {
    writeFileSync(`${prog}.c`, "#include <stdlib.h>\n#include <signal.h>\nint main(int c, char **v) { if (c > 2) raise(SIGSEGV); return c > 1 ? atoi(v[1]) : 0; }\n");
    spawnSync(CC as string, ["-O0", "-o", prog, `${prog}.c`]);
  });

  it("exits with the program's status (128 + N for signal N), keeping the recording", () => {
    expect(wasmmu(["record", "-o", "ok.wmt", "--", prog]).code).toBe(0);
    const three = wasmmu(["record", "-o", "three.wmt", "--", prog, "3"]);
    expect(three.code).toBe(3);
    expect(three.err).toMatch(/exited with status 3; the \d+ accesses it made are kept/);
    expect(existsSync(join(dir, "three.wmt"))).toBe(true);
    const segv = wasmmu(["record", "-o", "segv.wmt", "--", prog, "0", "crash"]);
    expect(segv.code).toBe(128 + 11);
    expect(segv.err).toMatch(/was killed by SIGSEGV/);
    expect(wasmmu(["record", "--replay", "--quiet", "--", prog, "4"]).code).toBe(4);
  });

  it.runIf(SCRIPT)("shows progress on a terminal (under script(1)), and none with --quiet", () => {
    const tty = (args: string) => spawnSync("script", ["-qec", `${process.execPath} ${BIN} record ${args} -- ${prog}`, "/dev/null"], { cwd: dir, encoding: "utf8", timeout: 60_000 }).stdout;
    expect(tty("-o tty.wmt")).toMatch(/recording exit-with: \d+\.\d M accesses/);
    expect(tty("-o tty.wmt --quiet")).not.toMatch(/recording exit-with/);
  });
});
