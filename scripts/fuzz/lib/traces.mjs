/**
 * Structure-aware trace generators for the fuzzers: each format's cases are built from its own
 * units (Lackey and text lines with their fields, wmt's preamble, JSON header and 16-byte records,
 * ChampSim's 64-byte records), then mutated at that level — a field out of range, a separator
 * missing, a line at the length limit, a header length that lies, a reserved byte set — rather
 * than as anonymous bytes, so that most cases get past the first check and reach the deeper ones.
 * Compression comes last (gzip, xz, zstd, with several members or frames), and may itself be
 * mutated structure-aware (a zstd frame header's window, a gzip trailer) or as bytes.
 *
 * Pure: no wasmmu imports; the targets (targets.mjs) run what these produce.
 */
import { spawnSync } from "node:child_process";
import { gzipSync } from "node:zlib";

const enc = new TextEncoder();
const HEX = "0123456789abcdef";

/** Which external compressors exist here (xz and zstd files are made with the real tools). */
export const HAS = {
  xz: spawnSync("sh", ["-c", "command -v xz"]).status === 0,
  zstd: spawnSync("sh", ["-c", "command -v zstd"]).status === 0,
};

/** The formats and compressions the project reads. */
export const FORMATS = ["lackey", "text", "wmt", "champsim"];
export const COMPRESSIONS = ["none", "gzip", ...(HAS.xz ? ["xz"] : []), ...(HAS.zstd ? ["zstd"] : [])];

/** The line-format limit (src/trace/decoder.ts MAX_LINE_BYTES): lines are built around it. */
const LINE_LIMIT = 65536;

function hexDigits(rng, n) {
  let s = "";
  for (let i = 0; i < n; i++) s += HEX[rng.int(16)];
  return s;
}

/** An address as hex digits: usual widths, the extremes, and the malformed. */
function address(rng) {
  switch (rng.int(12)) {
    case 0: return "0";
    case 1: return "f".repeat(16);
    case 2: return hexDigits(rng, 17); // wider than 64 bits
    case 3: return "0".repeat(rng.range(17, 40)) + hexDigits(rng, rng.range(1, 16)); // leading zeros are fine
    case 4: return "";
    case 5: return hexDigits(rng, rng.range(1, 8)) + rng.pick(["g", "x", "-", "é", "\0"]);
    case 6: return "ffff8" + hexDigits(rng, 11); // kernel half
    case 7: return "0000800000000000"; // non-canonical
    default: return hexDigits(rng, rng.range(1, 12));
  }
}

/** An access size as decimal text: usual, limits, out of range, malformed. */
function size(rng) {
  return rng.pick(["1", "2", "4", "8", "16", "255", "3", "0", "256", "999999999999999999999", "", "-1", "1e3", "08", " 8", "8 "]);
}

/** Spaces and tabs: usually one space. */
function gap(rng) {
  return rng.chance(0.85) ? " " : rng.pick(["  ", "\t", " \t ", "", " ".repeat(rng.range(3, 50))]);
}

/** A line padded to about the length limit: just under, at, or just over it, or far over. */
function longLine(rng, head) {
  const target = rng.pick([LINE_LIMIT - 1, LINE_LIMIT, LINE_LIMIT + 1, LINE_LIMIT + 2, rng.range(LINE_LIMIT - 64, LINE_LIMIT + 64), 70_000, 200_000]);
  return head + rng.pick(["a", " ", "0", "#"]).repeat(Math.max(0, target - head.length));
}

function lackeyLine(rng) {
  const r = rng.int(100);
  if (r < 4) return `==${rng.range(1, 99999)}== ${rng.pick(["Lackey, an example Valgrind tool", "", "Counted 1 call"])}`;
  if (r < 6) return `--${rng.range(1, 99999)}-- WARNING: unhandled amd64-linux syscall: ${rng.int(1000)}`;
  if (r < 7) return `**${rng.range(1, 99999)}** ${rng.pick(["odd", ""])}`;
  if (r < 10) return "";
  const kind = rng.pick(["I ", " L", " S", " M", " M", " L", " S"]);
  return `${kind}${gap(rng)}${address(rng).padStart(rng.chance(0.5) ? 8 : 0, "0")},${rng.chance(0.8) ? rng.pick(["1", "2", "4", "8", "3", "15"]) : size(rng)}`;
}

function textLine(rng) {
  const r = rng.int(100);
  if (r < 6) return `#${rng.pick(["", " comment", " R 0x1000"])}`;
  if (r < 9) return rng.pick(["", "  ", "\t"]);
  const kind = rng.chance(0.92) ? rng.pick(["R", "W", "X"]) : rng.pick(["r", "Q", "", "RW", "#R"]);
  const fields = [];
  if (rng.chance(0.5)) fields.push(rng.chance(0.8) ? String(rng.range(1, 255)) : size(rng));
  if (rng.chance(0.4)) fields.push(`cpu=${rng.chance(0.8) ? rng.int(64) : rng.pick(["65535", "65536", "", "x", "99999999999", "-1"])}`);
  if (rng.chance(0.05)) fields.push(fields[0] ?? "8"); // a field given twice
  if (rng.chance(0.5)) fields.reverse();
  const comment = rng.chance(0.1) ? `${gap(rng)}# ${rng.pick(["c", "R 0x1", ""])}` : "";
  return `${gap(rng).trimStart()}${kind}${gap(rng)}${rng.chance(0.6) ? rng.pick(["0x", "0X"]) : ""}${address(rng)}${fields.map((f) => gap(rng) + f).join("")}${comment}`;
}

/** A line-format body: lines, some mutated as text, joined with LF or CRLF. */
function lineBody(rng, makeLine) {
  const lines = Array.from({ length: rng.skewed(300) + 1 }, () => makeLine(rng));
  const longs = rng.chance(0.08) ? rng.range(1, 2) : 0;
  for (let k = 0; k < longs; k++) {
    const at = rng.int(lines.length);
    lines[at] = longLine(rng, lines[at]);
  }
  for (let k = rng.chance(0.3) ? rng.range(1, 4) : 0; k > 0; k--) {
    const at = rng.int(lines.length);
    const l = lines[at];
    const i = rng.int(l.length + 1);
    lines[at] = rng.pick([
      () => l.slice(0, i), // cut short
      () => l.slice(0, i) + rng.pick(["\0", "\r", "\u00ff", "é", ",", " ", "\t", "\r\r"]) + l.slice(i), // a byte inserted
      () => l + rng.pick([" junk", ",8", "\r", " # x"]), // trailing text
      () => l.slice(0, i) + l.slice(i + 1), // a byte dropped
    ])();
  }
  const eol = rng.chance(0.15) ? "\r\n" : "\n";
  return enc.encode(lines.join(eol) + (rng.chance(0.9) ? eol : ""));
}

function u32le(v) {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

function concatBytes(parts) {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A wmt file: preamble, JSON header and records, each part perhaps lying or broken. */
function wmtBody(rng) {
  const meta = { source: "fuzz", cpus: rng.range(1, 8), records: rng.int(100), ...(rng.chance(0.2) ? { note: "x".repeat(rng.skewed(5000)) } : {}) };
  let json = enc.encode(JSON.stringify(meta));
  if (rng.chance(0.08)) {
    json = enc.encode(rng.pick(["[]", "\"s\"", "null", "{", "{\"a\":}", "1"]));
  } else if (rng.chance(0.04)) {
    json = concatBytes([json.subarray(0, 3), Uint8Array.of(0xff, 0xfe), json.subarray(3)]); // not UTF-8
  }
  let length = json.length;
  if (rng.chance(0.1)) length = rng.pick([0, length - 1, length + 1, length + rng.range(2, 100), 16 << 20, (16 << 20) + 1, 0xffffffff]) >>> 0;
  const magic = enc.encode("WASMMUTR");
  if (rng.chance(0.04)) magic[rng.int(8)] ^= 1 << rng.int(8);
  const version = rng.chance(0.04) ? rng.pick([0, 2, 0xffffffff]) : 1;
  const n = rng.skewed(600);
  const records = new Uint8Array(16 * n);
  const dv = new DataView(records.buffer);
  for (let i = 0; i < n; i++) {
    const o = 16 * i;
    dv.setUint32(o, rng.u32(), true);
    dv.setUint32(o + 4, rng.chance(0.7) ? rng.int(0x8000) : rng.u32(), true);
    records[o + 8] = rng.chance(0.9) ? rng.range(1, 16) : rng.int(256);
    records[o + 9] = rng.int(3) | (rng.chance(0.3) ? 0x10 : 0) | (rng.chance(0.1) ? 0x20 : 0);
    dv.setUint16(o + 10, rng.chance(0.8) ? rng.int(4) : rng.int(65536), true);
  }
  for (let k = rng.chance(0.2) ? rng.range(1, 3) : 0; k > 0 && n > 0; k--) {
    const o = 16 * rng.int(n);
    if (rng.chance(0.5)) records[o + 12 + rng.int(4)] = rng.range(1, 255); // reserved bytes
    else records[o + 9] = rng.pick([3, 0x40, 0x80, 0x13, 0xff]); // kind bits
  }
  const tail = rng.chance(0.1) ? rng.bytes(rng.range(1, 15)) : new Uint8Array(0); // a torn last record
  return concatBytes([magic, u32le(version), u32le(length), json, records, tail]);
}

/** A ChampSim trace: 64-byte records of an ip and memory slots, the last perhaps torn. */
function champsimBody(rng) {
  const n = rng.skewed(200) + (rng.chance(0.9) ? 1 : 0);
  const b = new Uint8Array(64 * n);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    const o = 64 * i;
    dv.setUint32(o, rng.u32(), true);
    dv.setUint32(o + 4, rng.chance(0.8) ? 0 : rng.u32(), true);
    for (let s = 0; s < 6; s++) {
      if (rng.chance(0.6)) continue;
      const at = o + 16 + 8 * s;
      dv.setUint32(at, rng.u32(), true);
      dv.setUint32(at + 4, rng.chance(0.8) ? rng.int(0x8000) : rng.u32(), true);
    }
    if (rng.chance(0.05)) b.set(rng.bytes(64), o);
  }
  return rng.chance(0.12) ? b.subarray(0, Math.max(0, b.length - rng.range(1, 63))) : b;
}

/**
 * A trace body of `format`, structure-aware (see the file comment).
 * @returns the decompressed bytes
 */
export function traceBody(rng, format) {
  switch (format) {
    case "lackey": return lineBody(rng, lackeyLine);
    case "text": return lineBody(rng, textLine);
    case "wmt": return wmtBody(rng);
    default: return champsimBody(rng);
  }
}

/** `body` cut into 1–3 parts, for several gzip members or zstd frames. */
function parts(rng, body) {
  const k = rng.chance(0.7) ? 1 : rng.range(2, 3);
  const cuts = Array.from({ length: k - 1 }, () => rng.int(body.length + 1)).sort((a, b) => a - b);
  const out = [];
  let prev = 0;
  for (const c of [...cuts, body.length]) {
    out.push(body.subarray(prev, c));
    prev = c;
  }
  return out;
}

function tool(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return new Uint8Array(r.stdout);
}

/**
 * `body` compressed as asked: gzip in one or more members, xz, zstd in one or more frames (now
 * and then with a 256 MiB window, which the reader must refuse).
 * @returns the bytes, and whether a frame asks for that window
 */
export function compress(rng, body, compression) {
  switch (compression) {
    case "none": return { bytes: body, longWindow: false };
    case "gzip": return { bytes: concatBytes(parts(rng, body).map((p) => gzipSync(p, { level: rng.pick([1, 6, 9]) }))), longWindow: false };
    case "xz": return { bytes: tool("xz", ["-c", "-q", `-${rng.pick([0, 1, 6])}`], body), longWindow: false };
    default: {
      const longWindow = rng.chance(0.05);
      const frames = parts(rng, body).map((p) => tool("zstd", ["-c", "-q", ...(longWindow ? ["--long=28"] : []), rng.pick(["-1", "-3", "-19"])], p));
      return { bytes: concatBytes(frames), longWindow };
    }
  }
}

/** A zstd frame header's window made hostile: a huge window descriptor or content size. */
function zstdHeader(rng, b) {
  const starts = [];
  for (let i = 0; i + 6 <= b.length; i++) if (b[i] === 0x28 && b[i + 1] === 0xb5 && b[i + 2] === 0x2f && b[i + 3] === 0xfd) starts.push(i);
  if (starts.length === 0) return b;
  const c = b.slice();
  const at = rng.pick(starts);
  if (rng.chance(0.5)) {
    c[at + 4] &= ~0x20; // not single-segment: the window descriptor decides
    c[at + 5] = (rng.range(17, 31) << 3) | rng.int(8);
  } else {
    c[at + 4] = 0xe0 | (c[at + 4] & 0x1f); // single segment, 8-byte content size
    for (let k = 0; k < 8 && at + 5 + k < c.length; k++) c[at + 5 + k] = rng.int(256);
  }
  return c;
}

/**
 * A mutation of compressed bytes: structure-aware for zstd (a frame header's window) and gzip
 * (flags, trailer), or as bytes (cut, flipped bits, overwritten, spliced, garbage appended).
 */
export function mutateCompressed(rng, b, compression) {
  if (compression === "zstd" && rng.chance(0.3)) return zstdHeader(rng, b);
  if (compression === "gzip" && rng.chance(0.2) && b.length >= 18) {
    const c = b.slice();
    if (rng.chance(0.5)) c[3] = rng.int(256); // FLG: FEXTRA/FNAME/FCOMMENT bits say fields follow
    else c[c.length - 1 - rng.int(8)] ^= 1 << rng.int(8); // CRC32 or ISIZE
    return c;
  }
  const c = b.slice();
  switch (rng.int(5)) {
    case 0: return b.subarray(0, rng.int(b.length + 1));
    case 1:
      for (let k = rng.range(1, 8); k > 0 && c.length > 0; k--) c[rng.int(c.length)] ^= 1 << rng.int(8);
      return c;
    case 2:
      for (let k = rng.range(1, 4); k > 0 && c.length > 0; k--) c[rng.int(c.length)] = rng.int(256);
      return c;
    case 3: {
      const at = rng.int(b.length + 1);
      return concatBytes([b.subarray(0, at), rng.bytes(rng.int(32)), b.subarray(Math.min(b.length, at + rng.int(32)))]);
    }
    default: return concatBytes([b, rng.chance(0.5) ? rng.bytes(rng.range(1, 64)) : b.subarray(0, rng.int(b.length + 1))]);
  }
}
