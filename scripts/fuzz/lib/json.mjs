/**
 * A structure-aware mutator of JSON documents for the fuzzers (machine descriptions, conformance
 * vectors): it walks the document, picks values by their path, and replaces each with what its
 * type invites — a "0x…" number with its neighbours at the edges (2^64 − 1, 2^64, a lone "0x_"),
 * a boolean with a string, an array with a longer or shorter one, an object with a key missing or
 * an unknown one — or with a value of another type altogether. Now and then the text itself is
 * broken (cut, a byte inserted), so that the JSON parser's errors are reached too.
 *
 * Pure: no wasmmu imports.
 */

/** Every [parent, key] of `doc` whose value may be replaced, depth first. */
function slots(doc) {
  const out = [];
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach((x, i) => { out.push([v, i]); walk(x); });
    else if (v !== null && typeof v === "object") for (const k of Object.keys(v)) { out.push([v, k]); walk(v[k]); }
  };
  walk(doc);
  return out;
}

/** Values of no particular type: each breaks an assumption some parser makes. */
function stranger(rng) {
  return rng.pick([
    null, true, false, 0, -1, 1.5, -0, 2 ** 53, 2 ** 64, 1e308, "", " ", "0x", "0x_", "0x-1", "-0x1", "0xg",
    "0x" + "f".repeat(16), "0x1" + "0".repeat(16), "18446744073709551616", "1e3", "NaN", "Infinity", "__proto__",
    [], {}, [null], { a: 1 }, [[[[[]]]]], "x".repeat(rng.pick([61, 1000, 100_000])), "é\u0000\uffff",
  ]);
}

/** A hex string near `v`: its neighbours, powers of two, the 64-bit edges. */
function nearHex(rng, v) {
  const n = rng.pick([v, v + 1n, v > 0n ? v - 1n : 0n, v * 2n, v << 12n, 1n << BigInt(rng.range(0, 70)), (1n << 64n) - 1n, 1n << 64n, 1n << 63n, (1n << 57n) - 1n, 1n << 47n]);
  const text = `0x${n.toString(16)}`;
  return rng.chance(0.1) ? text.replace(/(..)/g, "$1_") : rng.chance(0.05) ? text.toUpperCase() : text;
}

/** A replacement for `v` that keeps (mostly) its type. */
function sameKind(rng, v) {
  if (typeof v === "string" && /^0x[0-9a-f]+$/i.test(v)) return nearHex(rng, BigInt(v));
  if (typeof v === "string") return rng.pick([v + v, v.slice(0, rng.int(v.length + 1)), v.toUpperCase(), `${v}x`, ""]);
  if (typeof v === "number") return rng.pick([v + 1, v - 1, v * 2, -v, v + 0.5, 2 ** rng.range(0, 64), Number.MAX_SAFE_INTEGER]);
  if (typeof v === "boolean") return rng.pick([!v, 0, 1, "true"]);
  if (Array.isArray(v)) {
    if (v.length === 0 || rng.chance(0.3)) return rng.chance(0.5) ? [] : [...v, ...v];
    const c = v.slice();
    if (rng.chance(0.5)) c.splice(rng.int(c.length), 1);
    else c.push(...Array.from({ length: rng.pick([1, 5, 500]) }, () => structuredClone(rng.pick(v))));
    return c;
  }
  if (v !== null && typeof v === "object") {
    const c = { ...v };
    const ks = Object.keys(c);
    if (ks.length > 0 && rng.chance(0.6)) delete c[rng.pick(ks)];
    else c[rng.pick(["extra", "__proto__", "constructor", "toString", "comment", "x".repeat(500)])] = rng.pick([1, "s", null]);
    return c;
  }
  return stranger(rng);
}

/**
 * A mutated copy of the JSON-able `doc`: 1–4 values replaced (see the file comment).
 * @returns the mutated document (the input is left alone)
 */
export function mutateJson(rng, doc) {
  const d = structuredClone(doc);
  if (rng.chance(0.03)) return rng.pick([null, [], [d], "doc", 0]);
  for (let k = rng.range(1, 4); k > 0; k--) {
    const s = slots(d);
    if (s.length === 0) break;
    const [parent, key] = rng.pick(s);
    parent[key] = rng.chance(0.75) ? sameKind(rng, parent[key]) : stranger(rng);
  }
  return d;
}

/**
 * `doc` as text, usually as JSON.stringify writes it, now and then broken as text: cut, a byte
 * inserted, a trailing comma, a BOM.
 */
export function jsonText(rng, doc) {
  const t = JSON.stringify(doc) ?? "null";
  if (!rng.chance(0.08)) return t;
  const at = rng.int(t.length + 1);
  return rng.pick([
    () => t.slice(0, at),
    () => t.slice(0, at) + rng.pick(["\0", ",", "}", "]", "\"", "\\", "\u00ff"]) + t.slice(at),
    () => `\ufeff${t}`,
    () => t.replace(/}$/, ",}"),
  ])();
}
