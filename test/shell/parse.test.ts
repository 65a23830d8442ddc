/** The shell's grammar (src/shell/parse.ts): lists, quoting, redirection, &, and bash's errors. */
import { describe, it, expect } from "vitest";
import { parseLine, expandWords, ShellSyntaxError } from "../../src/shell/parse.js";

const env = { pid: 2, lastBackground: 7, status: 1 };
const words = (line: string) => parseLine(line).map((c) => expandWords(c.words, env));

describe("parseLine", () => {
  it("splits lists on ; and newlines, skipping empty commands", () => {
    expect(words("ps; free -h\nvmstat 1 2;;")).toEqual([["ps"], ["free", "-h"], ["vmstat", "1", "2"]]);
  });

  it("removes quotes and backslashes; # starts a comment only at a word's start", () => {
    expect(words(`echo 'a  b' "c \\"d\\"" e\\ f x#y # comment`)).toEqual([["echo", "a  b", 'c "d"', "e f", "x#y"]]);
  });

  it("takes > and >> with their file, and marks & commands as background", () => {
    const c = parseLine("echo 3 > /proc/sys/vm/drop_caches; stress --vm 1 & echo x >> /tmp/log");
    expect(c.map((x) => [x.words, x.redirect, x.background])).toEqual([
      [["echo", "3"], { path: "/proc/sys/vm/drop_caches", append: false }, false],
      [["stress", "--vm", "1"], null, true],
      [["echo", "x"], { path: "/tmp/log", append: true }, false],
    ]);
  });

  it("expands $$ $! $? when the command runs, not inside single quotes", () => {
    expect(words(`echo $$ $! $? "$$" '$$'`)).toEqual([["echo", "2", "7", "1", "2", "$$"]]);
    expect(expandWords(parseLine("echo $?")[0].words, { ...env, status: 127 })).toEqual(["echo", "127"]);
  });

  it("rejects what bash rejects, with bash's words", () => {
    expect(() => parseLine("echo 'x")).toThrow(new ShellSyntaxError("unexpected EOF while looking for matching `''"));
    expect(() => parseLine("echo x >")).toThrow("syntax error near unexpected token `newline'");
    expect(() => parseLine("& ps")).toThrow("syntax error near unexpected token `&'");
    expect(() => parseLine("ps | grep x")).toThrow(/pipes and input redirection are not supported/);
  });
});
