/**
 * "Did you mean …?" for the command line: the closest of a list of valid words to a mistyped one,
 * by Levenshtein distance (insertions, deletions and substitutions each cost 1), as git and cargo
 * suggest commands. Small lists only (options, commands, presets): O(n·m) per candidate.
 */

/**
 * Edit distance between `a` and `b`: insertions, deletions, substitutions and swaps of two
 * neighbouring letters each cost 1 (Levenshtein with transpositions, the "optimal string
 * alignment" distance: "cwo" is 1 from "cow").
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `word`, when it is close enough to be what was meant: at most a third
 * of the longer word's letters differ (at least 1, at most 3), or `word` is a prefix of exactly one
 * candidate (--jso for --json). Leading dashes are not letters, and a word of fewer than three
 * letters (-x) gets no suggestion: anything is near it. Ties go to the earlier candidate.
 * @returns the suggestion, or null
 */
export function closest(word: string, candidates: readonly string[]): string | null {
  const core = (s: string) => s.toLowerCase().replace(/^-+/, "");
  const w = core(word);
  if (w.length < 3) return null;
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, core(c));
    if (d < bestD) { best = c; bestD = d; }
  }
  if (best !== null && bestD <= Math.min(3, Math.max(1, Math.floor(Math.max(w.length, core(best).length) / 3)))) return best;
  const prefixed = candidates.filter((c) => core(c).startsWith(w));
  return prefixed.length === 1 ? prefixed[0] : null;
}

/** "; did you mean X?" for a message, or "" when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[], show: (c: string) => string = (c) => c): string {
  const c = closest(word, candidates);
  return c === null ? "" : `; did you mean ${show(c)}?`;
}
