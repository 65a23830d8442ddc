#!/usr/bin/env node
/**
 * The fuzzing campaign runner: `npm run fuzz -- --cases N [--seed S] [--only NAME] [--case I]
 * [--timeout MS]`. Runs N cases of every target (or of those whose name or group is NAME) and
 * prints a summary: cases, findings, time, peak RSS. Exit status 1 when anything was found.
 *
 * Targets are the modules scripts/fuzz/*.mjs; each default-exports one target or a list of them:
 *
 *   { name: string, group: string, run(rng, caseIndex): Promise<void>, close?(): void }
 *
 * `run` builds case `caseIndex` from `rng` (lib/rng.mjs, seeded from the campaign's seed, the
 * target's name and the index, so any case replays alone with --case) and throws on a finding.
 * Adding a target (say `kernel`, random system-call sequences) is adding scripts/fuzz/kernel.mjs.
 *
 * Each target runs in a worker thread so that a case that hangs (a synchronous loop included)
 * can be cut: the main thread waits --timeout ms per case (default 20000), then ends the worker,
 * records the hang and goes on from the next case. Targets import the built library (dist/):
 * run `npm run build` first.
 */
import { existsSync, readdirSync } from "node:fs";
import { isMainThread, parentPort, workerData, Worker } from "node:worker_threads";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { caseSeed, makeRng } from "./fuzz/lib/rng.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const TARGETS_DIR = join(HERE, "fuzz");

/** Every target module's targets: [{ file, name, group }]. */
async function listTargets() {
  const out = [];
  for (const f of readdirSync(TARGETS_DIR).filter((n) => n.endsWith(".mjs")).sort()) {
    const mod = await import(pathToFileURL(join(TARGETS_DIR, f)).href);
    for (const t of [mod.default].flat()) out.push({ file: f, name: t.name, group: t.group ?? t.name });
    for (const t of [mod.default].flat()) t.close?.();
  }
  return out;
}

/** In a worker: run cases [from, to) of one target, reporting each. */
async function worker({ file, name, seed, from, to }) {
  const mod = await import(pathToFileURL(join(TARGETS_DIR, file)).href);
  const target = [mod.default].flat().find((t) => t.name === name);
  for (let i = from; i < to; i++) {
    parentPort.postMessage({ t: "start", i });
    try {
      await target.run(makeRng(caseSeed(seed, name, i)), i);
      parentPort.postMessage({ t: "ok", i });
    } catch (e) {
      parentPort.postMessage({ t: "fail", i, message: `${e?.name ?? "Error"}: ${e?.message ?? String(e)}`.slice(0, 2000) });
    }
  }
  for (const t of [mod.default].flat()) t.close?.();
  parentPort.postMessage({ t: "done" });
}

/** Run cases [from, to) of target `t` in workers, restarting after a hang. */
async function campaign(t, seed, from, to, timeoutMs, onFinding) {
  let next = from;
  let cases = 0;
  while (next < to) {
    next = await new Promise((resolve) => {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { file: t.file, name: t.name, seed, from: next, to } });
      let current = next;
      let timer = null;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          onFinding(current, `hang: case ${current} ran over ${timeoutMs} ms`);
          cases++;
          void w.terminate();
          resolve(current + 1);
        }, timeoutMs);
      };
      w.on("message", (m) => {
        if (m.t === "start") { current = m.i; arm(); }
        else if (m.t === "ok" || m.t === "fail") {
          cases++;
          if (m.t === "fail") onFinding(m.i, m.message);
        } else if (m.t === "done") { clearTimeout(timer); resolve(to); }
      });
      w.on("error", (e) => {
        clearTimeout(timer);
        onFinding(current, `the worker died: ${e?.message ?? String(e)}`);
        cases++;
        resolve(current + 1);
      });
    });
  }
  return cases;
}

async function main() {
  const { values } = parseArgs({
    options: {
      cases: { type: "string", default: "1000" }, seed: { type: "string" }, only: { type: "string" },
      case: { type: "string" }, timeout: { type: "string", default: "20000" }, list: { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("Usage: npm run fuzz -- [--cases N] [--seed S] [--only NAME|GROUP] [--case I] [--timeout MS] [--list]");
    return 0;
  }
  if (!existsSync(join(HERE, "../dist/node.js"))) {
    console.error("fuzz: dist/ is missing; run npm run build first");
    return 2;
  }
  const all = await listTargets();
  if (values.list) {
    for (const t of all) console.log(`${t.name.padEnd(12)} group ${t.group.padEnd(10)} scripts/fuzz/${t.file}`);
    return 0;
  }
  const chosen = values.only === undefined ? all : all.filter((t) => t.name === values.only || t.group === values.only);
  if (chosen.length === 0) {
    console.error(`fuzz: no target named or grouped ${values.only}; targets: ${all.map((t) => `${t.name} (${t.group})`).join(", ")}`);
    return 2;
  }
  const cases = Number(values.cases);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(values.seed) >>> 0;
  const timeoutMs = Number(values.timeout);
  const from = values.case === undefined ? 0 : Number(values.case);
  const to = values.case === undefined ? cases : from + 1;
  console.log(`fuzz: seed ${seed}, ${to - from} case(s) per target, targets ${chosen.map((t) => t.name).join(", ")}`);

  const rows = [];
  const findings = [];
  const started = performance.now();
  for (const t of chosen) {
    const t0 = performance.now();
    let found = 0;
    const ran = await campaign(t, seed, from, to, timeoutMs, (i, message) => {
      found++;
      findings.push({ target: t.name, i, message });
      console.log(`  FINDING ${t.name} case ${i}: ${message.split("\n")[0]}`);
    });
    rows.push({ target: t.name, cases: ran, findings: found, seconds: (performance.now() - t0) / 1000 });
  }
  const seconds = (performance.now() - started) / 1000;
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  console.log("");
  console.log("  target        cases   findings    seconds   cases/s");
  for (const r of rows) {
    console.log(`  ${r.target.padEnd(12)}${String(r.cases).padStart(7)}${String(r.findings).padStart(11)}${r.seconds.toFixed(1).padStart(11)}${(r.cases / r.seconds).toFixed(0).padStart(10)}`);
  }
  console.log(`  ${"total".padEnd(12)}${String(rows.reduce((s, r) => s + r.cases, 0)).padStart(7)}${String(findings.length).padStart(11)}${seconds.toFixed(1).padStart(11)}`);
  console.log(`  peak RSS ${peakMiB.toFixed(0)} MiB (the process, all targets)`);
  if (findings.length > 0) {
    console.log(`\n  replay a case: npm run fuzz -- --seed ${seed} --only <target> --case <i>`);
    return 1;
  }
  return 0;
}

if (isMainThread) process.exitCode = await main();
else await worker(workerData);
