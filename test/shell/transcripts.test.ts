/**
 * The shell's recorded sessions (test/shell/transcripts/*.txt): each command's output must be what
 * the transcript says, line for line ("..." skips lines). WASMMU_RECORD=1 rewrites the expected
 * output from a run (then review the diff: it is the test).
 */
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Shell } from "../../src/shell/engine.js";
import { parseTranscript, checkTranscript, recordTranscript } from "../../src/shell/transcript.js";

const dir = join(import.meta.dirname, "transcripts");
const files = readdirSync(dir).filter((f) => f.endsWith(".txt")).sort();

describe("shell transcripts", () => {
  for (const f of files) {
    it(f, async () => {
      const text = readFileSync(join(dir, f), "utf8");
      const t = parseTranscript(text);
      const shell = await Shell.create(t.options);
      const run = (l: string) => shell.run(l).output;
      if (process.env.WASMMU_RECORD === "1") {
        const header = text.split("\n").filter((l, i, a) => l.startsWith("#") && a.slice(0, i).every((x) => x.startsWith("#"))).map((l) => `${l}\n`).join("");
        writeFileSync(join(dir, f), recordTranscript(t.steps.map((s) => s.command), run, header));
        return;
      }
      const bad = checkTranscript(t, run);
      const report = bad.map((m) => `line ${m.step.line}: $ ${m.step.command}\n--- expected\n${m.step.expected.join("\n")}\n+++ actual\n${m.actual.join("\n")}`).join("\n\n");
      expect(report).toBe("");
      expect(t.steps.length).toBeGreaterThan(0);
    }, 120_000);
  }
});
