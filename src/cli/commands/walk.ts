/**
 * `wasmmu walk [machine.json] [vaddr…]`: build the machine a description asks for
 * (../../machine/description.ts) and show each walk level by level (../walkview.ts).
 */
import { readFile } from "node:fs/promises";
import { commandWithOptions, type Command } from "../command.js";
import { bundledExample } from "../command.js";
import { EXIT_OK } from "../exit.js";
import { UsageError, oneOf } from "../args.js";
import { WasmmuError, quoteValue } from "../../errors.js";
import { loadMachineDescription } from "../../machine/description.js";
import { renderWalk } from "../walkview.js";
import type { AccessKind, AccessOptions } from "../../types.js";

const HELP = `Usage: wasmmu walk [machine.json] [vaddr…] [options]

Builds the machine described by machine.json (JSON; // and /* */ comments allowed; format: README,
"Machine descriptions"; default:
the bundled examples/walk-4level.json), then walks each vaddr, or the "walks" the file lists, and
prints every paging-structure entry read (PGD → P4D → PUD → PMD → PTE), its flags, and the result.

Options:
  --kind read|write|fetch   access kind for vaddrs given on the command line (default read)
  --write, --fetch          shorthands for --kind
  --cpl N                   privilege level 0..3 (default 0; 3 is user mode)
  --user                    same as --cpl 3
  --implicit                an implicit supervisor access (SMAP ignores RFLAGS.AC)
  --probe                   no side effects: no A/D updates, CR2 untouched
  --json                    print the walks as JSON`;

/** What looks like an address on the command line (then it must be a well-formed one). */
const ADDRESS_LIKE = /^(0x[0-9a-f_]*|\d[\d_]*)$/i;
const U64_MAX = (1n << 64n) - 1n;

/** A vaddr argument: hex with 0x or decimal, "_" between digits. @throws UsageError */
function parseAddress(text: string): bigint {
  const digits = text.replace(/_/g, "");
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(digits)) throw new UsageError(`vaddr ${quoteValue(text)} is not an address: expected hex digits after 0x, or a decimal number`);
  const v = BigInt(digits);
  if (v > U64_MAX) throw new UsageError(`vaddr ${quoteValue(text)} does not fit in 64 bits`);
  return v;
}

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `0x${v.toString(16)}` : v;
}

/**
 * `text` with its `//` and `/* … *\/` comments (outside strings) replaced by spaces, so that a
 * description may carry comments as the README's does (JSON with comments, as VS Code's settings
 * files), and JSON.parse's positions still point into the file as written.
 */
export function blankComments(text: string): string {
  const out = text.split("");
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\"") {
      for (i++; i < text.length && text[i] !== "\""; i++) if (text[i] === "\\") i++;
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      for (; i < text.length && text[i] !== "\n"; i++) out[i] = " ";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) break; // unterminated: JSON.parse reports it
      for (; i < end + 2; i++) if (text[i] !== "\n") out[i] = " ";
    } else i++;
  }
  return out.join("");
}

/** Read and parse a description file (JSON, comments allowed). @throws WasmmuError BAD_INPUT naming the file */
async function readDescription(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new WasmmuError("BAD_INPUT", `${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  try {
    return JSON.parse(blankComments(text));
  } catch (e) {
    throw new WasmmuError("BAD_INPUT", `${file}: not valid JSON: ${(e as Error).message}`, { file });
  }
}

/** `wasmmu walk`. */
export const walkCommand: Command = commandWithOptions({
  name: "walk",
  synopsis: "[machine.json] [vaddr…]",
  summary: "walk addresses through page tables, level by level",
  help: HELP,
}, {
  kind: { type: "string" }, write: { type: "boolean" }, fetch: { type: "boolean" }, cpl: { type: "string" },
  user: { type: "boolean" }, implicit: { type: "boolean" }, probe: { type: "boolean" }, json: { type: "boolean" },
}, async (values, positionals, io) => {
  const rest = [...positionals];
  const file = rest.length > 0 && !ADDRESS_LIKE.test(rest[0]) ? (rest.shift() as string) : bundledExample("walk-4level.json");
  let kind: AccessKind = oneOf("kind", values.kind, ["read", "write", "fetch"], "read");
  if (values.write) kind = "write";
  if (values.fetch) kind = "fetch";
  let cpl: 0 | 1 | 2 | 3 = values.user ? 3 : 0;
  if (values.cpl !== undefined) {
    if (!/^[0-3]$/.test(values.cpl)) throw new UsageError(`--cpl must be 0, 1, 2 or 3, got ${values.cpl}`);
    cpl = Number(values.cpl) as 0 | 1 | 2 | 3;
  }
  const addresses = rest.map(parseAddress);

  const doc = await readDescription(file);
  const loaded = await loadMachineDescription(doc).catch((e: unknown) => {
    if (e instanceof WasmmuError) throw new WasmmuError(e.code, `${file}: ${e.message}`, { ...e.details, file }, { cause: e });
    throw e;
  });
  const options: Omit<AccessOptions, "cpu"> = { kind, cpl, ...(values.implicit ? { implicit: true } : {}), ...(values.probe ? { probe: true } : {}) };
  const walks = addresses.length > 0 ? addresses.map((vaddr) => ({ vaddr, comment: undefined, options })) : loaded.walks;
  if (walks.length === 0) throw new UsageError(`${file} lists no "walks"; give addresses on the command line`);
  const { machine } = loaded;
  const results = walks.map((w) => {
    const header = { kind: w.options.kind ?? "read", cpl: w.options.cpl ?? 0, paging: machine.config.paging, cr3: machine.cpu(0).registers.cr3 };
    return { header, comment: w.comment, walk: machine.walk(w.vaddr, w.options) };
  });
  if (values.json) io.out(JSON.stringify(results.map((r) => ({ access: r.header, comment: r.comment, ...r.walk })), jsonReplacer, 2));
  else io.out(results.map((r) => (r.comment ? `# ${r.comment}\n` : "") + renderWalk(r.walk, r.header)).join("\n\n"));
  return EXIT_OK;
});
