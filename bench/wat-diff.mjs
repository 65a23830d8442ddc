// Which functions of the core differ between two builds, ignoring what only renumbers (inlining
// labels `$__inlined_func$…$N` and `…|inlined.N`, indirect-call type indices):
//   node bench/wat-diff.mjs <A/build/core.release.wat> <B/build/core.release.wat>
// The replay loop's default path is claimed to be untouched by a change when its functions
// (fastRun, memoRun, fastMiss, fastFetch, tlbTranslate…) are listed as the same here.
import { readFileSync } from "node:fs";

const [a, b] = process.argv.slice(2);
if (!a || !b) { console.error("usage: node bench/wat-diff.mjs <A.wat> <B.wat>"); process.exit(2); }
// Binaryen numbers the labels of inlined blocks (`…|inlined.16`) per module: a new inlining
// anywhere renumbers them in functions that did not change.
// Loop and block labels (`$for-loop|18`, `$for-break18`) are numbered per module too.
const norm = (body) => body.replace(/\$__inlined_func\$([^\s$]+)\$\d+/g, "$__inlined_func$$$1$$N").replace(/\|inlined\.\d+/g, "|inlined.N").replace(/call_indirect \(type \$\d+\)/g, "call_indirect (type $T)")
  .replace(/\$((?:for|while|do)-(?:loop|break|continue))\|?\d+/g, "$$$1|N");
const funcs = (path) => {
  const parts = readFileSync(path, "utf8").split(/\n \(func /).slice(1);
  return new Map(parts.map((p) => [p.slice(0, p.indexOf(" ")), p]));
};
const A = funcs(a), B = funcs(b);
const names = [...new Set([...A.keys(), ...B.keys()])].sort();
const lines = (s) => s.split("\n").length;
for (const n of names) {
  if (!A.has(n)) console.log(`new      ${n} (${lines(B.get(n))} lines)`);
  else if (!B.has(n)) console.log(`gone     ${n}`);
  else if (norm(A.get(n)) !== norm(B.get(n))) console.log(`changed  ${n} (${lines(A.get(n))} → ${lines(B.get(n))} lines)`);
}
const same = names.filter((n) => A.has(n) && B.has(n) && norm(A.get(n)) === norm(B.get(n)));
console.log(`same     ${same.length} of ${names.length} functions${same.some((n) => n.includes("fastRun")) ? ", fastRun among them" : ""}`);
for (const n of same.filter((x) => /replay\/loop|mmu\/access\/tlbTranslate/.test(x))) console.log(`  same   ${n}`);
