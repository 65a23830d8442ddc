/**
 * The shell's command-line grammar: a small subset of POSIX sh, enough for the commands the seeds
 * show — words with '…', "…" and \ quoting, `#` comments, `$$` `$!` `$?` expansion, lists
 * separated by `;` (or newlines), one output redirection `> file` (or `>> file`), and a trailing
 * `&` that runs the command in the background. No pipes, no globbing, no variables beyond those.
 *
 * Owns: tokenising a line into simple commands. Pure; no Node or browser APIs.
 */

/** One simple command of a list. */
export interface SimpleCommand {
  /** The words after quote removal and expansion; words[0] is the command's name. */
  words: string[];
  /** `> file` / `>> file`: where its output goes, or null (the terminal). */
  redirect: { path: string; append: boolean } | null;
  /** Ends with `&`: run in the background. */
  background: boolean;
}

/** Values `$$`, `$!` and `$?` expand to. */
export interface Expansions {
  /** `$$`: the shell's pid. */
  pid: number;
  /** `$!`: the pid of the last background command (empty when none). */
  lastBackground: number | null;
  /** `$?`: the last command's exit status. */
  status: number;
}

/** A line the grammar rejects; the message reads like bash's. */
export class ShellSyntaxError extends Error {
  override name = "ShellSyntaxError";
}

interface Token {
  kind: "word" | "op";
  text: string;
}

/** Stands for "$" of a special parameter until expandWords replaces it (a private-use character). */
const MARK = "\uE000";

/**
 * The words of a command with $$, $! and $? replaced by their values now (bash expands each
 * command of a list just before running it, so `false; echo $?` prints 1).
 */
export function expandWords(words: readonly string[], env: Expansions): string[] {
  return words.map((w) => w.replace(/\uE000([$!?])/g, (_, c: string) => (c === "$" ? String(env.pid) : c === "!" ? (env.lastBackground === null ? "" : String(env.lastBackground)) : String(env.status))));
}

/** Split `line` into words and operators (; & > >>), removing quotes and marking $$ $! $?. */
function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let word = "";
  let inWord = false;
  const flush = (): void => {
    if (inWord) out.push({ kind: "word", text: word });
    word = "";
    inWord = false;
  };
  // $$ $! $? are expanded when the command runs (expandWords), not when the line is read: a
  // marker stands for them meanwhile.
  const expand = (c: string): string | null => (c === "$" || c === "!" || c === "?" ? MARK + c : null);
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "#" && !inWord) break;
    if (c === " " || c === "\t") { flush(); continue; }
    if (c === ";" || c === "&" || c === "\n") { flush(); out.push({ kind: "op", text: c === "\n" ? ";" : c }); continue; }
    if (c === ">") {
      flush();
      if (line[i + 1] === ">") { out.push({ kind: "op", text: ">>" }); i++; } else out.push({ kind: "op", text: ">" });
      continue;
    }
    if (c === "|" || c === "<") throw new ShellSyntaxError(`syntax error near unexpected token \`${c}': pipes and input redirection are not supported`);
    inWord = true;
    if (c === "\\") {
      if (i + 1 < line.length) word += line[++i];
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError("unexpected EOF while looking for matching `''");
      word += line.slice(i + 1, end);
      i = end;
    } else if (c === "\"") {
      let j = i + 1;
      for (; j < line.length && line[j] !== "\""; j++) {
        if (line[j] === "\\" && (line[j + 1] === "\"" || line[j + 1] === "\\" || line[j + 1] === "$")) word += line[++j];
        else if (line[j] === "$" && expand(line[j + 1] ?? "") !== null) word += expand(line[++j]);
        else word += line[j];
      }
      if (j >= line.length) throw new ShellSyntaxError("unexpected EOF while looking for matching `\"'");
      i = j;
    } else if (c === "$" && expand(line[i + 1] ?? "") !== null) {
      word += expand(line[++i]);
    } else word += c;
  }
  flush();
  return out;
}

/**
 * Parse one line (or a script: newlines separate commands) into its simple commands, in order;
 * their words still hold markers for $$ $! $? (see expandWords).
 * @throws ShellSyntaxError for an unterminated quote, a redirection without a file, an operator
 *   with no command before it, a pipe or an input redirection
 */
export function parseLine(line: string): SimpleCommand[] {
  const tokens = tokenize(line);
  const cmds: SimpleCommand[] = [];
  let cur: SimpleCommand = { words: [], redirect: null, background: false };
  const end = (op: string): void => {
    if (cur.words.length === 0) {
      if (op === ";" && cur.redirect === null) return; // empty command between separators
      throw new ShellSyntaxError(`syntax error near unexpected token \`${op}'`);
    }
    cmds.push(cur);
    cur = { words: [], redirect: null, background: false };
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "word") { cur.words.push(t.text); continue; }
    if (t.text === ">" || t.text === ">>") {
      const target = tokens[i + 1];
      if (target === undefined || target.kind !== "word") throw new ShellSyntaxError(`syntax error near unexpected token \`${target?.text ?? "newline"}'`);
      cur.redirect = { path: target.text, append: t.text === ">>" };
      i++;
    } else if (t.text === "&") {
      cur.background = true;
      end("&");
    } else end(";");
  }
  if (cur.words.length > 0) cmds.push(cur);
  else if (cur.redirect !== null) throw new ShellSyntaxError("syntax error near unexpected token `newline'");
  return cmds;
}
