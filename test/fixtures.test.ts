/**
 * The data vendored from ../shared (test/fixtures/conformance, test/fixtures/linux-formats) is a
 * faithful copy: whenever ../shared is beside the repository, every file of it is in the vendored
 * copy byte for byte and the copy holds nothing else. Without ../shared there is nothing to
 * compare with: the tests then use the vendored copy (test/helpers/shared.ts), and this says so.
 */
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { bothCopies, sharedData, type SharedData } from "./helpers/shared.js";

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => statSync(join(dir, f)).isFile()).sort();
}

for (const name of ["conformance", "linux-formats"] as SharedData[]) {
  const { vendored, shared } = bothCopies(name);
  describe(`test/fixtures/${name}`, () => {
    it("holds the data set with its README (provenance and format)", () => {
      expect(files(vendored)).toContain("README.md");
      expect(files(vendored).length).toBeGreaterThan(3);
    });

    it(shared === null ? `is what the tests use (../shared/${name} is absent)` : `equals ../shared/${name} file for file, byte for byte`, () => {
      if (shared === null) {
        expect(relative(vendored, sharedData(name).dir)).toBe("");
        return;
      }
      expect(files(vendored)).toEqual(files(shared));
      for (const f of files(shared)) expect(readFileSync(join(vendored, f)).equals(readFileSync(join(shared, f))), f).toBe(true);
    });
  });
}
