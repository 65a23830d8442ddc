/**
 * Doc-tests: every fenced code block of a Markdown file, run against the built package.
 *
 * A block is what CommonMark calls a fenced code block (``` at the start of a line, an info
 * string, the code, a closing ```). What happens to it depends on its language and on an optional
 * marker, an HTML comment on the line just above the fence (invisible on GitHub):
 *
 *   ```js / ```ts / ```mjs      run with node as an ES module in a scratch project where `wasmmu`
 *                               resolves to this repository's package (its exports map and
 *                               dist/); ts blocks are type-checked first (strict, with the
 *                               package's .d.ts files) and then stripped of their types. A block
 *                               passes when it exits 0 and prints nothing on stderr.
 *   <!-- doctest: output of: wasmmu ARGS -->
 *                               the block is output: `wasmmu ARGS` (bin/wasmmu.js) must exit 0 and
 *                               print each of the block's non-blank lines, in order (other lines
 *                               may come between; a line "…" stands for any lines).
 *   <!-- doctest: run: wasmmu ARGS {file} -->
 *                               the block is an input file: written to a scratch file (named
 *                               with the block's language as extension), `wasmmu ARGS` run with
 *                               {file} replaced by its path, which must exit 0.
 *   <!-- doctest: skip: REASON -->
 *                               not run (shell commands, a synopsis); the reason is required.
 *   <!-- doctest: name: NAME -->
 *                               (on a js/ts block) a name by which a test can check its output.
 *
 * A block of any other language without a marker is an error: every block is run or says why not.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ts from "typescript";

export const ROOT = resolve(import.meta.dirname, "../..");
const RUNNABLE = new Set(["js", "mjs", "ts"]);

/** What a marker asks for. */
export type DocMarker =
  | { kind: "skip"; reason: string }
  | { kind: "output"; args: string[] }
  | { kind: "run"; args: string[] }
  | { kind: "name"; name: string };

/** One fenced code block. */
export interface DocBlock {
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word ("" when none). */
  lang: string;
  code: string;
  marker: DocMarker | null;
}

const MARKER = /^<!--\s*doctest:\s*(skip|output of|run|name):\s*(.*?)\s*-->\s*$/;

/**
 * The fenced code blocks of `markdown`, each with the marker on the line above it.
 * @throws Error for a malformed marker, an unclosed fence, or a marker that is not above a fence
 */
export function docBlocks(markdown: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  let pending: { marker: DocMarker; line: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (/^<!--\s*doctest/.test(l)) {
      const m = MARKER.exec(l);
      if (m === null) throw new Error(`line ${i + 1}: malformed doctest marker: ${l}`);
      const [, key, value] = m;
      if (value === "") throw new Error(`line ${i + 1}: the doctest marker "${key}" needs a value`);
      const args = () => {
        const words = value.split(/\s+/);
        if (words[0] !== "wasmmu") throw new Error(`line ${i + 1}: "${key}" takes a wasmmu command line, got ${value}`);
        return words.slice(1);
      };
      pending = {
        line: i + 1,
        marker: key === "skip" ? { kind: "skip", reason: value } : key === "name" ? { kind: "name", name: value }
          : key === "output of" ? { kind: "output", args: args() } : { kind: "run", args: args() },
      };
      continue;
    }
    const open = /^(`{3,}|~{3,})\s*([^\s`]*)/.exec(l);
    if (open === null) {
      if (pending !== null && l.trim() !== "") throw new Error(`line ${pending.line}: a doctest marker must be right above a code fence`);
      continue;
    }
    const fence = open[1];
    const start = i;
    const code: string[] = [];
    const close = new RegExp(`^ {0,3}\\${fence[0]}{${fence.length},}\\s*$`);
    for (i++; i < lines.length && !close.test(lines[i]); i++) code.push(lines[i]);
    if (i >= lines.length) throw new Error(`line ${start + 1}: the code fence is never closed`);
    blocks.push({ line: start + 1, lang: open[2].toLowerCase(), code: code.join("\n") + "\n", marker: pending?.marker ?? null });
    pending = null;
  }
  return blocks;
}

/** Why a block is not run, or null when it is (by its language or its marker). */
export function unmarkedReason(b: DocBlock): string | null {
  if (b.marker !== null && b.marker.kind !== "name") return null;
  if (RUNNABLE.has(b.lang)) return null;
  return `the \`\`\`${b.lang || "(no language)"} block at line ${b.line} is neither js/ts nor marked (<!-- doctest: output of | run | skip: … -->)`;
}

/** A scratch project in which `import "wasmmu"` is this repository's package, as an installed one would be. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), "wasmmu-doctest-"));

  constructor() {
    writeFileSync(join(this.dir, "package.json"), JSON.stringify({ name: "doctest", private: true, type: "module" }));
    mkdirSync(join(this.dir, "node_modules"));
    symlinkSync(ROOT, join(this.dir, "node_modules/wasmmu"), "dir");
  }

  /** The file a block is written to (its line makes it unique). */
  file(b: DocBlock, ext = b.lang === "ts" ? "ts" : "mjs"): string {
    return join(this.dir, `readme-${b.line}.${ext}`);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Type-check the ts blocks together, each as its own module, strict, against the package's
 * declarations (through the exports map) and @types/node.
 * @returns the diagnostics, each "README.md:LINE: message" with the line in the README
 */
export function typecheck(scratch: Scratch, blocks: readonly DocBlock[], readme = "README.md"): string[] {
  const files = new Map<string, DocBlock>();
  for (const b of blocks) {
    const f = scratch.file(b);
    writeFileSync(f, b.code);
    files.set(f, b);
  }
  const program = ts.createProgram([...files.keys()], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext, lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: ["node"], typeRoots: [join(ROOT, "node_modules/@types")], skipLibCheck: true,
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const b = d.file !== undefined ? files.get(resolve(d.file.fileName)) : undefined;
    if (d.file === undefined || b === undefined || d.start === undefined) return `${d.file?.fileName ?? readme}: ${text}`;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${readme}:${b.line + 1 + line}: ${text}`;
  });
}

/** The result of running something. */
export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a js/ts block with node in the scratch project (ts stripped of its types first). */
export function runBlock(scratch: Scratch, b: DocBlock, timeoutMs = 120_000): Ran {
  const js = b.lang === "ts" ? ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false } }).outputText : b.code;
  const f = scratch.file(b, "mjs");
  writeFileSync(f, js);
  const r = spawnSync(process.execPath, [f], { cwd: scratch.dir, encoding: "utf8", timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? String(r.error) : "") };
}

/** Run the built command line (bin/wasmmu.js) in the scratch project. */
export function runWasmmu(scratch: Scratch, args: readonly string[], timeoutMs = 120_000): Ran {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/wasmmu.js"), ...args], { cwd: scratch.dir, encoding: "utf8", timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? String(r.error) : "") };
}

/**
 * The lines of `expected` that `actual` lacks: each non-blank line of `expected` (right-trimmed)
 * must be a line of `actual`, in order; "…" lines are skipped.
 * @returns the first expected line not found after the previous match, or null when all are
 */
export function missingLine(expected: string, actual: string): string | null {
  const have = actual.split("\n").map((l) => l.trimEnd());
  let at = 0;
  for (const want of expected.split("\n").map((l) => l.trimEnd())) {
    if (want.trim() === "" || want.trim() === "…") continue;
    const i = have.indexOf(want, at);
    if (i < 0) return want;
    at = i + 1;
  }
  return null;
}
