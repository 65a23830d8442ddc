/**
 * The playground's terminal: xterm.js (a maintained terminal emulator, rather than a hand-made
 * one: cursor, wrapping, scrollback, selection and screen-reader mode come with it) over the
 * shell engine, with a small line editor — printable keys, Backspace, Enter, ↑/↓ history,
 * Ctrl-C (drops the line), Ctrl-L (clears).
 *
 * Owns: the line being edited and the history.
 */
import { Terminal } from "@xterm/xterm";

const PROMPT = "root@wasmmu:~# ";

/** A terminal that hands each entered line to `run` and prints what it returns. */
export class ShellTerminal {
  readonly term: Terminal;
  private line = "";
  private readonly history: string[] = [];
  private at = 0;
  private readonly run: (line: string) => string;

  constructor(host: HTMLElement, run: (line: string) => string, banner: string) {
    this.run = run;
    this.term = new Terminal({
      convertEol: true, cursorBlink: true, rows: 28, cols: 110, scrollback: 5000, screenReaderMode: true,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", fontSize: 13,
      theme: { background: "#10141a", foreground: "#d8dee9" },
    });
    this.term.open(host);
    this.term.write(`${banner}\r\n${PROMPT}`);
    this.term.onData((d) => this.input(d));
    // Tab leaves the terminal (no keyboard trap, WCAG 2.1.2): the shell has no completion here.
    this.term.attachCustomKeyEventHandler((e) => e.key !== "Tab");
  }

  /** Run `line` as if typed (the tours do), echoing it after the prompt. */
  type(line: string): string {
    this.term.write(line + "\r\n");
    return this.enter(line);
  }

  /** Print what happened between commands (a job's output), then the prompt and the line being typed again. */
  notify(text: string): void {
    this.term.write(`\r\x1b[K${text}${PROMPT}${this.line}`);
  }

  private enter(line: string): string {
    const out = this.run(line);
    this.term.write(out + PROMPT);
    if (line.trim() !== "") this.history.push(line);
    this.at = this.history.length;
    return out;
  }

  private input(data: string): void {
    if (data === "\r") {
      this.term.write("\r\n");
      const l = this.line;
      this.line = "";
      this.enter(l);
    } else if (data === "\x7f" || data === "\b") {
      if (this.line.length > 0) { this.line = this.line.slice(0, -1); this.term.write("\b \b"); }
    } else if (data === "\x03") {
      this.line = "";
      this.term.write("^C\r\n" + PROMPT);
    } else if (data === "\x0c") {
      this.term.clear();
    } else if (data === "\x1b[A" || data === "\x1b[B") {
      if (this.history.length === 0) return;
      this.at = Math.max(0, Math.min(this.history.length, this.at + (data === "\x1b[A" ? -1 : 1)));
      this.replaceLine(this.history[this.at] ?? "");
    } else if (!data.startsWith("\x1b")) {
      // Typed or pasted text: a pasted newline runs the line so far, as a shell does.
      for (const ch of data) {
        if (ch === "\r" || ch === "\n") { this.input("\r"); continue; }
        if (ch >= " ") { this.line += ch; this.term.write(ch); }
      }
    }
  }

  private replaceLine(text: string): void {
    this.term.write("\b \b".repeat(this.line.length) + text);
    this.line = text;
  }
}
