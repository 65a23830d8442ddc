/** The "did you mean" of the command line (src/cli/suggest.ts): distance, closeness, prefixes. */
import { describe, it, expect } from "vitest";
import { closest, editDistance } from "../../src/cli/suggest.js";

describe("suggestions", () => {
  it("editDistance counts insertions, deletions, substitutions and neighbour swaps as 1 each", () => {
    expect(editDistance("json", "json")).toBe(0);
    expect(editDistance("jsn", "json")).toBe(1);
    expect(editDistance("cwo", "cow")).toBe(1);
    expect(editDistance("skylake", "zen4")).toBe(7);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("closest: a near word, a unique prefix, or nothing when nothing is near or the word is too short", () => {
    const opts = ["--json", "--csv", "--quiet", "--report", "--ram", "--reclaim"];
    expect(closest("--jsn", opts)).toBe("--json");
    expect(closest("--qiuet", opts)).toBe("--quiet");
    expect(closest("--recl", opts)).toBe("--reclaim");
    expect(closest("--re", opts)).toBeNull();
    expect(closest("-x", ["-h", "-o"])).toBeNull();
    expect(closest("--frobnicate", opts)).toBeNull();
    expect(closest("SKYLAK", ["skylake", "zen4"])).toBe("skylake");
  });
});
