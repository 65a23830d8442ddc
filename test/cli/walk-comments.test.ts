/** Machine descriptions may carry comments (src/cli/commands/walk.ts blankComments), as the README's does. */
import { describe, it, expect } from "vitest";
import { blankComments } from "../../src/cli/commands/walk.js";

describe("walk descriptions with comments", () => {
  it("// and /* */ comments become spaces, strings (with // or an escaped quote inside) are kept, and offsets stay", () => {
    const text = '{ "a": "http://x/*y*/", // line\n  /* block\n over lines */ "b": "q\\"//" }';
    const blanked = blankComments(text);
    expect(blanked.length).toBe(text.length);
    expect(blanked.split("\n").length).toBe(text.split("\n").length);
    expect(JSON.parse(blanked)).toEqual({ a: "http://x/*y*/", b: 'q"//' });
  });

  it("an unterminated block comment is left for JSON.parse to report", () => {
    expect(() => JSON.parse(blankComments('{ "a": 1 /* open'))).toThrow(SyntaxError);
  });
});
