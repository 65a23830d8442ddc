/**
 * "Did you mean …?" for the command line: the closest of a list of valid words to a mistyped one,
 * by Levenshtein distance (insertions, deletions and substitutions each cost 1), as git and cargo
 * suggest commands. Small lists only (options, commands, presets): O(n·m) per candidate.
 */

/** Levenshtein distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word`, when it is close enough to be what was meant: at most a third
 * of the longer word's letters differ (at least 1, at most 3), or `word` is a prefix of exactly one
 * candidate (--jso for --json). Ties go to the earlier candidate.
 * @returns the suggestion, or null
 */
export function closest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) { best = c; bestD = d; }
  }
  if (best !== null && bestD <= Math.min(3, Math.max(1, Math.floor(Math.max(w.length, best.length) / 3)))) return best;
  const prefixed = w.length >= 2 ? candidates.filter((c) => c.toLowerCase().startsWith(w)) : [];
  return prefixed.length === 1 ? prefixed[0] : null;
}

/** "; did you mean X?" for a message, or "" when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[], show: (c: string) => string = (c) => c): string {
  const c = closest(word, candidates);
  return c === null ? "" : `; did you mean ${show(c)}?`;
}
