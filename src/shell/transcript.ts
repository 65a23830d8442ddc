/**
 * Recorded shell sessions as tests: a transcript is the commands ("$ " lines) each followed by
 * the output expected of it. An optional first line "#! ram=64MiB swap=64MiB cpus=2" sets the
 * machine; other lines starting with "#" before the first command are comments; an expected line
 * "..." matches any number of lines. Used by the Node test (test/shell/) and the playground.
 *
 * Owns: the transcript format and the comparison.
 */
import type { ShellOptions } from "./engine.js";

/** One command of a transcript and the lines it is expected to print. */
export interface TranscriptStep {
  command: string;
  expected: string[];
  /** 1-based line of the command in the file. */
  line: number;
}

/** A parsed transcript. */
export interface Transcript {
  options: ShellOptions;
  steps: TranscriptStep[];
}

/** A step whose output differs from the expected. */
export interface TranscriptMismatch {
  step: TranscriptStep;
  actual: string[];
}

/** Parse a transcript's text. @throws Error for an option line it cannot read */
export function parseTranscript(text: string): Transcript {
  const lines = text.replace(/\n$/, "").split("\n");
  const options: ShellOptions = {};
  const steps: TranscriptStep[] = [];
  lines.forEach((l, i) => {
    if (steps.length === 0 && l.startsWith("#!")) {
      for (const kv of l.slice(2).trim().split(/\s+/).filter((x) => x.length > 0)) {
        const [k, v] = kv.split("=");
        if (k === "ram" || k === "swap") options[k] = v;
        else if (k === "cpus" || k === "rows") options[k] = Number(v);
        else throw new Error(`transcript line ${i + 1}: unknown option ${k}`);
      }
    } else if (l.startsWith("$ ")) steps.push({ command: l.slice(2), expected: [], line: i + 1 });
    else if (steps.length > 0) steps[steps.length - 1].expected.push(l);
    else if (!l.startsWith("#") && l.trim() !== "") throw new Error(`transcript line ${i + 1}: text before the first "$ " command`);
  });
  return { options, steps };
}

/** Whether `actual` lines match `expected` ones, "..." matching any run of lines. */
export function linesMatch(expected: readonly string[], actual: readonly string[]): boolean {
  const go = (e: number, a: number): boolean => {
    if (e === expected.length) return a === actual.length;
    if (expected[e] === "...") {
      for (let k = a; k <= actual.length; k++) if (go(e + 1, k)) return true;
      return false;
    }
    return a < actual.length && expected[e] === actual[a] && go(e + 1, a + 1);
  };
  return go(0, 0);
}

/** Output text as transcript lines (no trailing empty line). */
export function outputLines(output: string): string[] {
  return output === "" ? [] : output.replace(/\n$/, "").split("\n");
}

/**
 * Run every step through `run` (a shell's run, in Node or in the page) and collect mismatches.
 */
export function checkTranscript(t: Transcript, run: (line: string) => string): TranscriptMismatch[] {
  const out: TranscriptMismatch[] = [];
  for (const step of t.steps) {
    const actual = outputLines(run(step.command));
    if (!linesMatch(step.expected, actual)) out.push({ step, actual });
  }
  return out;
}

/** A transcript of what the shell printed for `commands` (to record one). */
export function recordTranscript(commands: readonly string[], run: (line: string) => string, header = ""): string {
  let text = header;
  for (const c of commands) {
    text += `$ ${c}\n`;
    const o = run(c);
    text += o.endsWith("\n") || o === "" ? o : `${o}\n`;
  }
  return text;
}
