/** The transcript format (src/shell/transcript.ts): parsing, "..." matching, recording. */
import { describe, it, expect } from "vitest";
import { parseTranscript, linesMatch, checkTranscript, recordTranscript, outputLines } from "../../src/shell/transcript.js";

describe("transcripts", () => {
  it("parses the option line, comments, commands and their expected lines", () => {
    const t = parseTranscript("#! ram=32MiB swap=0 cpus=1\n# note\n$ echo a\na\n$ true\n");
    expect(t.options).toEqual({ ram: "32MiB", swap: "0", cpus: 1 });
    expect(t.steps).toEqual([{ command: "echo a", expected: ["a"], line: 3 }, { command: "true", expected: [], line: 5 }]);
    expect(() => parseTranscript("#! colour=red\n$ x\n")).toThrow(/unknown option colour/);
    expect(() => parseTranscript("stray\n$ x\n")).toThrow(/before the first/);
  });

  it("matches lines exactly, \"...\" standing for any run of lines", () => {
    expect(linesMatch(["a", "...", "d"], ["a", "b", "c", "d"])).toBe(true);
    expect(linesMatch(["a", "...", "d"], ["a", "d"])).toBe(true);
    expect(linesMatch(["a", "...", "d"], ["a", "b"])).toBe(false);
    expect(linesMatch(["a"], ["a", "b"])).toBe(false);
    expect(outputLines("")).toEqual([]);
    expect(outputLines("x\ny\n")).toEqual(["x", "y"]);
  });

  it("reports the steps whose output differs, and records a run as a transcript", () => {
    const t = parseTranscript("$ one\n1\n$ two\n2\n");
    const run = (l: string) => (l === "one" ? "1\n" : "3\n");
    expect(checkTranscript(t, run).map((m) => [m.step.command, m.actual])).toEqual([["two", ["3"]]]);
    expect(recordTranscript(["one", "two"], run, "# h\n")).toBe("# h\n$ one\n1\n$ two\n3\n");
  });
});
